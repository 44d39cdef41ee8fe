/**
 * Interleavings of lock contenders, driven step by step through the `onStep` seam: the previous
 * takeover's race replayed, and seeded random schedules of three contenders with a planted stale
 * lock (and guard) in which any contender may be killed at any step. Liveness is a fake
 * (`isAlive`), so nothing here depends on timing or on real processes.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { processStartTime, tryAcquireLock } from '../../src/shim/lock.js';
import type { AcquireResult, LockHolder, LockStep } from '../../src/shim/lock.js';
import { prng } from '../schedule/random.js';
import { tempStateDir } from './fixtures.js';

const DEAD = 900_000;
const record = (pid: number, runId: string, startTime: string | null = null): LockHolder => ({ pid, startTime, runId, startedAt: '2026-01-01T00:00:00Z' });

/** A lock file (and, with `guard`, a takeover guard) left behind by the dead process `pid`. */
function plantStale(pid: number, guard: boolean): string {
  const path = join(tempStateDir(), 'locks', 'job.lock');
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, JSON.stringify(record(pid, 'dead')));
  if (guard) {
    mkdirSync(`${path}.takeover`);
    writeFileSync(join(`${path}.takeover`, `${pid}-0.owner`), JSON.stringify({ pid, startTime: null }));
  }
  return path;
}

/** Lets every resumed contender run up to its next gate: the lock code does no real async I/O. */
const settle = () => new Promise<void>((r) => setImmediate(r));

/** A contender paused before each step; `to(step)` resumes it until it pauses at `step` again. */
function puppet(path: string, pid: number, isAlive: (pid: number) => boolean) {
  let at: LockStep | 'done' = 'create';
  let go: (() => void) | null = null;
  const result = tryAcquireLock(path, record(pid, `run-${pid}`), {
    isAlive,
    onStep: (s) => new Promise<void>((r) => ((at = s), (go = r))),
  }).then((r) => ((at = 'done'), r));
  return {
    result,
    async to(step: LockStep | 'done'): Promise<void> {
      await settle();
      do {
        if (at === 'done' || !go) throw new Error(`contender ${pid} finished before ${step}`);
        const resume: () => void = go;
        go = null;
        resume();
        await settle();
      } while (at !== step);
    },
  };
}

interface Outcome { violations: string[]; acquired: number; killed: number; steps: Set<LockStep> }

/**
 * Three contenders try three times each; at every step the seeded schedule resumes one paused
 * contender or (at most once) kills one, whose files stay behind and whose pid is dead from then on.
 */
async function explore(seed: number, guard: boolean): Promise<Outcome> {
  const rand = prng(seed);
  const path = plantStale(DEAD, guard);
  const dead = new Set([DEAD]);
  const gates = new Map<number, () => void>();
  const inside = new Set<number>();
  const out: Outcome = { violations: [], acquired: 0, killed: 0, steps: new Set() };
  const gate = (pid: number) => new Promise<void>((go) => gates.set(pid, go));
  const isAlive = (pid: number) => !dead.has(pid);
  const contender = async (pid: number) => {
    for (let i = 0; i < 3; i++) {
      const onStep = (s: LockStep) => (out.steps.add(s), gate(pid));
      const r = await tryAcquireLock(path, record(pid, `${pid}-${i}`), { isAlive, onStep });
      if (!r.acquired) continue;
      if (inside.size > 0) out.violations.push(`seed ${seed}: ${pid} acquired while ${[...inside].join(',')} held`);
      inside.add(pid);
      out.acquired++;
      await gate(pid); // Hold the lock for a step.
      inside.delete(pid);
      await r.lock.release();
    }
  };
  const pids = [DEAD + 1, DEAD + 2, DEAD + 3];
  for (const pid of pids) void contender(pid);
  for (let n = 0; n < 10_000; n++) {
    await settle();
    const ready = [...gates.keys()];
    if (ready.length === 0) break;
    const pid = ready[Math.floor(rand() * ready.length)]!;
    const go = gates.get(pid)!;
    gates.delete(pid);
    if (out.killed === 0 && rand() < 0.04) {
      dead.add(pid);
      inside.delete(pid);
      out.killed++;
    } else {
      go();
    }
  }
  // Whatever the dead left behind (lock, guard) must not wedge the next run.
  const next = await tryAcquireLock(path, record(DEAD + 9, 'next'), { isAlive });
  if (!next.acquired) out.violations.push(`seed ${seed}: lock wedged after the schedule`);
  return out;
}

describe('shim/lock interleavings', () => {
  it('replays the old takeover race: a fresh lock is never removed, one holder at the end', async () => {
    const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());
    const path = plantStale(dead, false);
    const me = (runId: string) => record(process.pid, runId, processStartTime(process.pid));
    const others: Array<{ who: string; at: LockStep; r: AcquireResult }> = [];
    // B judges the planted lock stale and pauses; A takes it over meanwhile. Then, before each
    // of B's later steps (where the old code had moved A's file aside), C tries as well.
    const b = await tryAcquireLock(path, me('b'), {
      onStep: async (at) => {
        if (at === 'judged' && others.length === 0) others.push({ who: 'a', at, r: await tryAcquireLock(path, me('a')) });
        else if (others.length > 0 && at !== 'create') others.push({ who: 'c', at, r: await tryAcquireLock(path, me('c')) });
      },
    });

    const a = others[0]!;
    expect(others.map((o) => o.at)).toEqual(['judged', 'guard', 'recheck', 'guard-release']);
    expect(a.r.acquired).toBe(true);
    for (const c of others.slice(1)) expect(c.r).toEqual({ acquired: false, holder: me('a') });
    expect(b).toEqual({ acquired: false, holder: me('a') });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ runId: 'a' });
  });

  it('a dead guard cleared by two contenders at once is taken by one of them only', async () => {
    const path = plantStale(DEAD, true);
    const isAlive = (pid: number) => pid !== DEAD;
    const x = puppet(path, DEAD + 1, isAlive);
    const y = puppet(path, DEAD + 2, isAlive);

    await x.to('guard-clear'); // X has read the guard's dead owner.
    await y.to('remove'); // Y cleared it, took the guard and proved the lock stale.
    await x.to('done');
    await y.to('done');

    expect([(await x.result).acquired, (await y.result).acquired]).toEqual([false, true]);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ runId: `run-${DEAD + 2}` });
  });

  it('random schedules with kills at any step: never two holders, never wedged', async () => {
    const steps = new Set<LockStep>();
    let acquired = 0;
    let killed = 0;
    const violations: string[] = [];
    for (let seed = 1; seed <= 200; seed++) {
      for (const guard of [false, true]) {
        const o = await explore(seed, guard);
        violations.push(...o.violations);
        acquired += o.acquired;
        killed += o.killed;
        for (const s of o.steps) steps.add(s);
      }
    }

    expect(violations).toEqual([]);
    expect(acquired).toBeGreaterThan(400);
    expect(killed).toBeGreaterThan(30);
    expect([...steps].sort()).toEqual(['create', 'guard', 'guard-clear', 'guard-release', 'judged', 'recheck', 'release', 'remove']);
    // ~1.3 s alone; generous for a loaded 2-core CI run (a guard, not a timing assertion).
  }, 30_000);
});
