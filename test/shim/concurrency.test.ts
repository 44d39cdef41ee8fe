/**
 * `concurrency: Replace` against a holder whose shim is gone (kill -9) while its job runs on, and
 * against a run inside another process (the daemon's embedded scheduler).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { admit } from '../../src/shim/concurrency.js';
import { createFsStateStore } from '../../src/state/fs-store.js';
import { processStartTime } from '../../src/shim/lock.js';
import { killTree } from '../../src/system/runner.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { memoryLog, tempStateDir } from './fixtures.js';

const started: Array<ReturnType<typeof spawn>> = [];
afterEach(() => {
  for (const c of started.splice(0)) if (c.pid) killTree(c.pid, 'SIGKILL');
});

function sleeper(detached: boolean): number {
  const c = spawn('sleep', ['30'], { detached, stdio: 'ignore' });
  started.push(c);
  return c.pid!;
}

describe('shim/concurrency', () => {
  it.skipIf(processStartTime(process.pid) === null)('Replace signals the dead holder\'s job group, never a process that reused the holder\'s pid', async () => {
    const innocent = sleeper(false);
    const job = sleeper(true);
    const lock = createFsStateStore(tempStateDir()).jobLock('acme/job');
    const path = lock.key;
    mkdirSync(join(path, '..'), { recursive: true });
    // The shim was killed with -9 and its pid now belongs to another process (other start time).
    writeFileSync(path, JSON.stringify({ pid: innocent, startTime: '1', runId: 'old', startedAt: 'x', childPid: job }));
    const sent: Array<[number, string, boolean]> = [];
    const kill = (pid: number, sig: NodeJS.Signals, group: boolean): void => {
      sent.push([pid, sig, group]);
      if (group) killTree(pid, sig);
    };

    await admit('Replace', lock, { pid: process.pid, startTime: processStartTime(process.pid), runId: 'new', startedAt: 'y' }, { clock: new FakeClock(), log: memoryLog(), graceMs: 0, kill });

    expect(sent.filter(([pid, , group]) => pid === innocent && !group)).toEqual([]);
    expect(sent[0]).toEqual([job, 'SIGTERM', true]);
  });

  it.skipIf(processStartTime(process.pid) === null)('Replace of a run inside a live daemon signals only that run\'s job group, never the daemon', async () => {
    const daemon = sleeper(false);
    const job = sleeper(true);
    const lock = createFsStateStore(tempStateDir()).jobLock('acme/job');
    mkdirSync(join(lock.key, '..'), { recursive: true });
    writeFileSync(lock.key, JSON.stringify({ pid: daemon, startTime: processStartTime(daemon), runId: 'embedded', startedAt: 'x', childPid: job, inProcess: true }));
    const sent: Array<[number, string, boolean]> = [];
    const kill = (pid: number, sig: NodeJS.Signals, group: boolean): void => {
      sent.push([pid, sig, group]);
      if (group) killTree(pid, sig);
    };

    await admit('Replace', lock, { pid: process.pid, startTime: processStartTime(process.pid), runId: 'by-hand', startedAt: 'y' }, { clock: new FakeClock(), log: memoryLog(), graceMs: 0, kill });

    expect(sent.filter(([pid]) => pid === daemon)).toEqual([]);
    expect(sent[0]).toEqual([job, 'SIGTERM', true]);
  });
});
