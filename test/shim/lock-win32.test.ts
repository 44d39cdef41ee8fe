/** The run lock judged through a Windows platform (fakes): no process groups, the shim alone. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lockHolder, tryAcquireLock } from '../../src/shim/lock.js';
import { createPosixPlatform, createWin32Platform } from '../../src/system/platform.js';
import { killTree } from '../../src/system/runner.js';
import { fakeWindowsTools as tools } from '../fakes/FakeWindowsTools.js';
import { tempStateDir } from './fixtures.js';

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) killTree(pid, 'SIGKILL');
});

describe('shim/lock on Windows', () => {
  it('judges a holder by its shim alone: a live job group of the same pid is not consulted', async () => {
    // A real process group on this (POSIX) host whose id is the recorded child pid: a POSIX
    // platform sees the run alive through it; a Windows one has no groups and must not look.
    const job = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    started.push(job.pid!);
    const path = join(tempStateDir(), 'locks', 'acme', 'job.lock');
    await tryAcquireLock(path, { pid: 4242, startTime: 'node.exe', runId: 'old', startedAt: 'x', childPid: job.pid! }, { isAlive: () => true });
    const liveShim = createWin32Platform({ tools: tools(new Set([4242])), exists: (pid) => pid === 4242 });
    const deadShim = createWin32Platform({ tools: tools(new Set()), exists: () => false });

    expect(await lockHolder(path, { platform: liveShim })).toMatchObject({ runId: 'old' });
    expect(await lockHolder(path, { platform: deadShim })).toBeNull();
    expect(await lockHolder(path, { platform: createPosixPlatform({ kill: (pid) => { if (pid === 4242) throw Object.assign(new Error('ESRCH'), { code: 'ESRCH' }); } }) })).toMatchObject({ runId: 'old' });
  });

  it('takes over once the shim is gone, whatever the recorded child pid', async () => {
    const path = join(tempStateDir(), 'locks', 'acme', 'job.lock');
    await tryAcquireLock(path, { pid: 4242, startTime: 'node.exe', runId: 'old', startedAt: 'x', childPid: process.pid }, { isAlive: () => true });
    const live = new Set([4242]);
    const platform = createWin32Platform({ tools: tools(live), exists: (pid) => live.has(pid) });
    const me = { pid: 4300, startTime: 'node.exe', runId: 'new', startedAt: 'y' };

    const before = await tryAcquireLock(path, me, { platform });
    live.delete(4242);
    const after = await tryAcquireLock(path, me, { platform });

    expect(before).toMatchObject({ acquired: false, holder: { runId: 'old' } });
    expect(after.acquired).toBe(true);
  });

});
