import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tryAcquireLock } from '../../src/shim/lock.js';
import { readSecretsFile } from '../../src/shim/secrets.js';
import { createWin32Platform, type ToolRunner } from '../../src/system/platform.js';
import { TASKLIST_NONE, system32Tool, tasklistNode } from '../fakes/FakeWindowsTools.js';
import { tempStateDir } from './fixtures.js';

/** Windows tools answering from a table; records every call. */
function tools(answers: Record<string, { status: number; stdout: string }>): ToolRunner & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    runSync: (file, args) => (calls.push([file, ...args]), answers[system32Tool(file) ?? ''] ?? { status: 1, stdout: '' }),
    start: (file, args) => void calls.push([file, ...args]),
  };
}

const holder = (pid: number, runId: string) => ({ pid, startTime: 'node.exe', runId, startedAt: '2026-01-01T00:00:00Z' });

describe('shim on Windows (platform fakes)', () => {
  it('takes over a lock whose holder is dead', async () => {
    const path = join(tempStateDir(), 'locks', 'acme', 'job.lock');
    await tryAcquireLock(path, holder(4242, 'old'));
    const platform = createWin32Platform({ tools: tools({ tasklist: { status: 0, stdout: TASKLIST_NONE } }), exists: (pid) => pid !== 4242 });

    const r = await tryAcquireLock(path, holder(4300, 'new'), { platform });

    expect(r.acquired).toBe(true);
  });

  it('takes over a lock whose pid now runs another image, and keeps one held by a live node.exe', async () => {
    const path = join(tempStateDir(), 'locks', 'acme', 'job.lock');
    await tryAcquireLock(path, holder(4242, 'old'));
    const live = createWin32Platform({ tools: tools({ tasklist: { status: 0, stdout: tasklistNode(4242) } }), exists: () => true });
    const reused = createWin32Platform({ tools: tools({ tasklist: { status: 0, stdout: '"notepad.exe","4242","Console","1","9,000 K"\r\n' } }), exists: () => true });

    const kept = await tryAcquireLock(path, holder(4300, 'a'), { platform: live });
    const taken = await tryAcquireLock(path, holder(4300, 'b'), { platform: reused });

    expect(kept).toMatchObject({ acquired: false, holder: { pid: 4242, runId: 'old' } });
    expect(taken.acquired).toBe(true);
  });

  it('refuses a secrets file that BUILTIN\\Users can read, whatever its mode', () => {
    const f = join(tempStateDir(), 'secrets.env');
    writeFileSync(f, 'TOKEN=hunter2\n', { mode: 0o600 });
    // `icacls <file>` output, format documented at
    // https://learn.microsoft.com/windows-server/administration/windows-commands/icacls
    const acl = (extra: string) => `${f} NT AUTHORITY\\SYSTEM:(I)(F)\r\n    BUILTIN\\Administrators:(I)(F)\r\n${extra}\r\nSuccessfully processed 1 files; Failed processing 0 files\r\n`;
    const open = createWin32Platform({ tools: tools({ icacls: { status: 0, stdout: acl('    BUILTIN\\Users:(I)(RX)\r\n') } }) });
    const closed = createWin32Platform({ tools: tools({ icacls: { status: 0, stdout: acl('') } }) });

    expect(() => readSecretsFile(f, open)).toThrow(expect.objectContaining({ code: 'CRONSYNC_SECRETS', data: expect.objectContaining({ reason: 'unsafe' }) }));
    expect(() => readSecretsFile(f, open)).toThrow(/BUILTIN\\Users can read it/);
    expect(readSecretsFile(f, closed).get('TOKEN')).toBe('hunter2');
  });
});
