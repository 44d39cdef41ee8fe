import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isProcessAlive, lockHolder, processStartTime, selfIdentity, tryAcquireLock } from '../../src/shim/lock.js';
import { createPosixPlatform } from '../../src/system/platform.js';
import { tempStateDir } from './fixtures.js';

const me = (runId: string) => ({ pid: process.pid, startTime: processStartTime(process.pid), runId, startedAt: '2026-01-01T00:00:00Z' });

function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

describe('shim/lock', () => {
  it('reads its own identity once per platform (a run needs it for the lock and the spool entry)', () => {
    let reads = 0;
    const platform = { ...createPosixPlatform(), processIdentity: (pid: number) => (reads++, `start-of-${pid}`) };

    const a = selfIdentity(platform);
    const b = selfIdentity(platform);

    expect(a).toEqual({ pid: process.pid, startTime: `start-of-${process.pid}` });
    expect(b).toEqual(a);
    expect(reads).toBe(1);
    expect(selfIdentity()).toEqual({ pid: process.pid, startTime: processStartTime(process.pid) });
  });

  it('is exclusive while the holder lives, and free after release', async () => {
    const path = join(tempStateDir(), 'locks', 'acme', 'job.lock');

    const a = await tryAcquireLock(path, me('a'));
    const b = await tryAcquireLock(path, me('b'));
    if (!a.acquired) throw new Error('a not acquired');
    await a.lock.update({ ...me('a'), childPid: 42 });
    const holder = await lockHolder(path);
    await a.lock.release();
    const c = await tryAcquireLock(path, me('c'));

    expect(b).toEqual({ acquired: false, holder: { ...me('a') } });
    expect(holder).toMatchObject({ runId: 'a', childPid: 42 });
    expect(c.acquired).toBe(true);
  });

  it('takes over a lock whose holder died (kill -9 leaves the file)', async () => {
    const path = join(tempStateDir(), 'job.lock');
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, JSON.stringify({ pid: deadPid(), startTime: null, runId: 'dead', startedAt: 'x' }));

    const r = await tryAcquireLock(path, me('new'));

    expect(r.acquired).toBe(true);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ runId: 'new' });
  });

  it('treats a reused pid (other start time) as dead', async () => {
    const path = join(tempStateDir(), 'job.lock');
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, JSON.stringify({ pid: process.pid, startTime: '1', runId: 'old', startedAt: 'x' }));

    expect(isProcessAlive(process.pid, processStartTime(process.pid))).toBe(true);
    expect(isProcessAlive(process.pid, '1')).toBe(processStartTime(process.pid) === null);
    expect((await tryAcquireLock(path, me('new'))).acquired).toBe(processStartTime(process.pid) !== null);
  });

  it('an empty lock file is fresh (being written) until it ages', async () => {
    const path = join(tempStateDir(), 'job.lock');
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, '');

    expect(await tryAcquireLock(path, me('x'))).toEqual({ acquired: false, holder: null });
  });
});
