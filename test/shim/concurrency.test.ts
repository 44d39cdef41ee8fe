/**
 * `concurrency: Replace` against a holder whose shim is gone (kill -9) while its job runs on, and
 * against a run inside another process (the daemon's embedded scheduler).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { admit, takeReplaceRequest } from '../../src/shim/concurrency.js';
import { runExec } from '../../src/shim/run.js';
import type { LockHolder } from '../../src/shim/lock.js';
import type { Runner } from '../../src/system/runner.js';
import { createFsStateStore } from '../../src/state/fs-store.js';
import { processStartTime } from '../../src/shim/lock.js';
import { killTree } from '../../src/system/runner.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { FakeHttp } from '../fakes/FakeHttp.js';
import { install, makeJob, memoryLog, tempStateDir } from './fixtures.js';

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
    // The daemon's run is asked to end, not to retry: it finds the request when its child exits.
    expect(JSON.parse(readFileSync(`${lock.key}.replace`, 'utf8'))).toEqual({ runId: 'embedded' });
    expect(takeReplaceRequest(lock.key, 'another-run')).toBe(false);
    expect(takeReplaceRequest(lock.key, 'embedded')).toBe(true);
    expect(existsSync(`${lock.key}.replace`)).toBe(false);
  });

  it('a daemon run whose job a Replace ended stops as cancelled instead of retrying, and frees the lock for the new run', async () => {
    const dir = tempStateDir();
    const id = await install(dir, makeJob('job', { checkin: { enabled: false, timeout: 60 }, retry: { enabled: true, attempts: 3, backoff: 'fixed', delay: '1s', maxDelay: '5m' } }));
    const lock = createFsStateStore(dir).jobLock(id);
    let runs = 0;
    const runner: Runner = {
      async run() {
        runs++;
        // What a Replace from another process does to a daemon's run: the request, then SIGTERM to the job's group.
        const held = await lock.holder();
        writeFileSync(`${lock.key}.replace`, JSON.stringify({ runId: held?.runId }));
        return { exitCode: 143, signal: 'SIGTERM', stdout: '', stderr: '', timedOut: false, cancelled: false };
      },
    };

    const code = await runExec({ jobId: id, stateDir: dir, inProcess: true, clock: new FakeClock(), http: new FakeHttp(), log: memoryLog(), env: {}, stdout: { write: () => true }, stderr: { write: () => true }, runner });

    expect(runs).toBe(1);
    expect(code).toBe(143);
    expect((await createFsStateStore(dir).readLastRun(id))?.status).toBe('cancelled');
    expect(await lock.holder()).toBeNull();
  });

  it('a daemon run\'s lock record drops the child pid once the child exits: during a retry\'s backoff a Replace cannot end the process that reused it', async () => {
    const dir = tempStateDir();
    const id = await install(dir, makeJob('job', { checkin: { enabled: false, timeout: 60 }, retry: { enabled: true, attempts: 1, backoff: 'fixed', delay: '10s', maxDelay: '5m' } }));
    const lock = createFsStateStore(dir).jobLock(id);
    const seen: Array<LockHolder | null> = [];
    let attempt = 0;
    const runner: Runner = {
      async run(_cmd, opts) {
        // Attempt 2 looks at the record left by attempt 1, whose child (pid 8000008) has exited.
        if (attempt++ > 0) seen.push(await lock.holder());
        opts?.onSpawn?.(8000008);
        return { exitCode: attempt === 1 ? 1 : 0, signal: null, stdout: '', stderr: '', timedOut: false, cancelled: false };
      },
    };

    const code = await runExec({ jobId: id, stateDir: dir, inProcess: true, clock: new FakeClock(), http: new FakeHttp(), log: memoryLog(), env: {}, stdout: { write: () => true }, stderr: { write: () => true }, runner });

    expect(code).toBe(0);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.childPid).toBeUndefined();
    expect(seen[0]?.inProcess).toBe(true);
  });
});
