/** `concurrency: Replace` against a Windows holder, through the platform's fakes (taskkill, tasklist). */
import { describe, expect, it } from 'vitest';
import { admit } from '../../src/shim/concurrency.js';
import { createFsStateStore } from '../../src/state/fs-store.js';
import { createWin32Platform, type ToolRunner } from '../../src/system/platform.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { memoryLog, tempStateDir } from './fixtures.js';

// `tasklist /FI "PID eq n" /FO CSV /NH`, format documented at
// https://learn.microsoft.com/windows-server/administration/windows-commands/tasklist
const NODE = (pid: number): string => `"node.exe","${pid}","Services","0","45,312 K"\r\n`;
const NONE = 'INFO: No tasks are running which match the specified criteria.\r\n';

/**
 * A Windows host: `live` pids run node.exe; taskkill /T without /F is refused (console
 * processes have no window to close), with /F it ends `live`'s members of the tree.
 */
function windowsHost(live: Set<number>, tree: Record<number, number[]>): ToolRunner & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    runSync(file, args) {
      calls.push([file, ...args]);
      const pid = Number(/PID eq (\d+)/.exec(args.join(' '))?.[1]);
      return { status: 0, stdout: live.has(pid) ? NODE(pid) : NONE };
    },
    start(file, args) {
      calls.push([file, ...args]);
      const root = Number(args[1]);
      if (file === 'taskkill' && args.includes('/T') && args.includes('/F')) for (const p of [root, ...(tree[root] ?? [])]) live.delete(p);
    },
  };
}

describe('shim/concurrency on Windows', () => {
  it('Replace kills the holder\'s whole tree (taskkill /T, then /T /F) and runs once it is gone', async () => {
    // Shim 8000004 runs cmd.exe 8000008, which runs the job 8000012 (pids above Linux's pid_max, so
    // nothing on this host is ever signalled).
    const live = new Set([8000004, 8000008, 8000012]);
    const tools = windowsHost(live, { 8000004: [8000008, 8000012] });
    const platform = createWin32Platform({ tools, exists: (pid) => live.has(pid), selfImage: 'node.exe' });
    const lock = createFsStateStore(tempStateDir(), { platform }).jobLock('acme/job');
    await lock.tryAcquire({ pid: 8000004, startTime: 'node.exe', runId: 'old', startedAt: 'x', childPid: 8000008 });

    const r = await admit('Replace', lock, { pid: 8000016, startTime: 'node.exe', runId: 'new', startedAt: 'y' }, { clock: new FakeClock(), log: memoryLog(), graceMs: 200, platform });

    expect(r.run).toBe(true);
    expect(tools.calls.filter(([f]) => f === 'taskkill')).toEqual([
      ['taskkill', '/PID', '8000004', '/T'],
      ['taskkill', '/PID', '8000004', '/T', '/F'],
    ]);
    expect([...live]).toEqual([]);
  });

  it('Replace never signals a dead holder\'s pid on Windows (its job died with it, in libuv\'s kill-on-close job)', async () => {
    const live = new Set<number>();
    const tools = windowsHost(live, {});
    const platform = createWin32Platform({ tools, exists: (pid) => live.has(pid) });
    const lock = createFsStateStore(tempStateDir(), { platform }).jobLock('acme/job');
    await lock.tryAcquire({ pid: 8000004, startTime: 'node.exe', runId: 'old', startedAt: 'x', childPid: 8000008 }, { isAlive: () => true });

    const r = await admit('Replace', lock, { pid: 8000016, startTime: 'node.exe', runId: 'new', startedAt: 'y' }, { clock: new FakeClock(), log: memoryLog(), graceMs: 200, platform });

    expect(r.run).toBe(true);
    expect(tools.calls.filter(([f]) => f === 'taskkill')).toEqual([]);
  });
});
