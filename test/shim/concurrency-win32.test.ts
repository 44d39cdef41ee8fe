/** `concurrency: Replace` against a Windows holder, through the platform's fakes (taskkill, tasklist). */
import { describe, expect, it } from 'vitest';
import { admit } from '../../src/shim/concurrency.js';
import { createFsStateStore } from '../../src/state/fs-store.js';
import { createWin32Platform } from '../../src/system/platform.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { TASKKILL, fakeWindowsTools } from '../fakes/FakeWindowsTools.js';
import { memoryLog, tempStateDir } from './fixtures.js';

describe('shim/concurrency on Windows', () => {
  it('Replace terminates the holder\'s whole tree at once (taskkill /T /F) and runs once it is gone', async () => {
    // Shim 8000004 runs cmd.exe 8000008, which runs the job 8000012 (pids above Linux's pid_max, so
    // nothing on this host is ever signalled).
    const live = new Set([8000004, 8000008, 8000012]);
    const tools = fakeWindowsTools(live, { 8000004: [8000008, 8000012] });
    const platform = createWin32Platform({ tools, exists: (pid) => live.has(pid), selfImage: 'node.exe' });
    const lock = createFsStateStore(tempStateDir(), { platform }).jobLock('acme/job');
    await lock.tryAcquire({ pid: 8000004, startTime: 'node.exe', runId: 'old', startedAt: 'x', childPid: 8000008 });

    const r = await admit('Replace', lock, { pid: 8000016, startTime: 'node.exe', runId: 'new', startedAt: 'y' }, { clock: new FakeClock(), log: memoryLog(), graceMs: 200, platform });

    expect(r.run).toBe(true);
    // A graceful /T first would only have made the new run wait the grace period: the shim is a
    // console program.
    expect(tools.calls.filter(([f]) => f === TASKKILL)).toEqual([[TASKKILL, '/PID', '8000004', '/T', '/F']]);
    expect([...live]).toEqual([]);
  });

  it('Replace of a run inside a live daemon ends that run\'s tree (taskkill /T /F on its child), never the daemon', async () => {
    // Daemon 8000004 runs cmd.exe 8000008 for the job 8000012.
    const live = new Set([8000004, 8000008, 8000012]);
    const tools = fakeWindowsTools(live, { 8000004: [8000008, 8000012], 8000008: [8000012] });
    const platform = createWin32Platform({ tools, exists: (pid) => live.has(pid), selfImage: 'node.exe' });
    const lock = createFsStateStore(tempStateDir(), { platform }).jobLock('acme/job');
    await lock.tryAcquire({ pid: 8000004, startTime: 'node.exe', runId: 'embedded', startedAt: 'x', childPid: 8000008, inProcess: true });

    await admit('Replace', lock, { pid: 8000016, startTime: 'node.exe', runId: 'by-hand', startedAt: 'y' }, { clock: new FakeClock(), log: memoryLog(), graceMs: 200, platform });

    expect(tools.calls.filter(([f]) => f === TASKKILL)).toEqual([[TASKKILL, '/PID', '8000008', '/T', '/F']]);
    expect(live.has(8000004)).toBe(true);
  });

  it('Replace never signals a dead holder\'s pid on Windows (its job died with it, in libuv\'s kill-on-close job)', async () => {
    const live = new Set<number>();
    const tools = fakeWindowsTools(live, {});
    const platform = createWin32Platform({ tools, exists: (pid) => live.has(pid) });
    const lock = createFsStateStore(tempStateDir(), { platform }).jobLock('acme/job');
    await lock.tryAcquire({ pid: 8000004, startTime: 'node.exe', runId: 'old', startedAt: 'x', childPid: 8000008 }, { isAlive: () => true });

    const r = await admit('Replace', lock, { pid: 8000016, startTime: 'node.exe', runId: 'new', startedAt: 'y' }, { clock: new FakeClock(), log: memoryLog(), graceMs: 200, platform });

    expect(r.run).toBe(true);
    expect(tools.calls.filter(([f]) => f === TASKKILL)).toEqual([]);
  });
});
