/**
 * A reconciler that runs for months over a repository whose jobs churn: what it remembers
 * between syncs, and what the state dir and the cron.d dir hold, follow the current jobs, not
 * every job ever seen. Real parts: a directory source, the cron.d adapter on a temp dir and the
 * file-system state store.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobId } from '../../src/manifest/types.js';
import { createReconciler } from '../../src/reconcile/reconciler.js';
import type { Reconciler } from '../../src/reconcile/reconciler.js';
import { createCronDAdapter } from '../../src/scheduler/crond/index.js';
import { parseCronD } from '../../src/scheduler/crond/parse.js';
import { createDirSource } from '../../src/source/dir.js';
import { createFsStateStore } from '../../src/state/fs-store.js';
import type { StateStore } from '../../src/state/store.js';
import { nullLogger } from '../../src/log.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { options } from '../scheduler/fixtures.js';
import { testTempDir } from '../system/tempdir.js';
import { agentConfig, churnedJobs, jobManifest } from './fixtures.js';

const files = (dir: string): string[] => {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
};

/** A source dir, a cron.d dir and a state dir, with a reconciler over them; `wrap` changes the state store. */
function world(wrap: (s: StateStore) => StateStore = (s) => s) {
  const root = testTempDir('cronsync-longrun-');
  const src = join(root, 'src');
  const stateDir = join(root, 'state');
  const cronDir = join(root, 'cron.d');
  mkdirSync(src);
  mkdirSync(cronDir);
  const clock = new FakeClock();
  const config = agentConfig(stateDir, { source: { url: src, paths: ['**/*.yaml'], exclude: [], interval: '60s', timeout: '60s' } });
  const source = createDirSource({ url: src, paths: ['**/*.yaml'], exclude: [] }, src, { now: () => clock.now() });
  const adapter = createCronDAdapter(options({ cronDir, sourceId: source.id, stateDir }));
  const rec = createReconciler({ config, source, adapter, scheduler: { kind: 'cron.d', reason: 'test' }, clock, log: nullLogger, state: wrap(createFsStateStore(stateDir)) });
  /** Job names in the source now, oldest first. */
  const { live, add } = churnedJobs(src, '0 2 * * *');
  /** Removes the `remove` oldest jobs, adds `add` new ones, and reschedules and pauses or resumes five others. */
  const churn = (cycle: number, remove: number, add_: number): void => {
    for (const name of live.splice(0, remove)) rmSync(join(src, `${name}.yaml`));
    for (let i = 0; i < add_; i++) add();
    for (const name of live.slice(remove, remove + 5)) writeFileSync(join(src, `${name}.yaml`), jobManifest(name, `${cycle % 60} 3 * * *`, cycle % 2 === 0));
  };
  const installed = (): string[] => files(cronDir).flatMap((f) => parseCronD(readFileSync(join(cronDir, f), 'utf8'), f, source.id).entries.flatMap((e) => (e.marker ? [e.marker.jobId] : []))).sort();
  return { src, stateDir, clock, rec, live, add, churn, installed };
}

/** Each per-job record of the reconciler's memory holds at most `jobs` entries. */
function expectBounded(rec: Reconciler, jobs: number): void {
  const sizes = rec.memorySizes();
  expect(Math.max(...Object.values(sizes)), JSON.stringify(sizes)).toBeLessThanOrEqual(jobs);
}

describe('reconcile/long-run', () => {
  it('after 80 syncs that each add 12 jobs, remove 12 and change some (988 jobs seen), it remembers and keeps only the current 40', async () => {
    const w = world();
    for (let i = 0; i < 40; i++) w.add();

    const worst = { written: 0, writtenFrom: 0, applied: 0, rendered: 0, files: 0 };
    for (let cycle = 0; cycle < 80; cycle++) {
      if (cycle > 0) w.churn(cycle, 12, 12);
      w.clock.advance(60_000);
      const out = await w.rec.reconcile();
      expect(out.result, `cycle ${cycle}: ${out.context.error?.message}`).toBe('ok');
      for (const [k, v] of Object.entries(w.rec.memorySizes())) worst[k as keyof typeof worst] = Math.max(worst[k as keyof typeof worst], v);
    }
    const out = await w.rec.reconcile();

    const ids = w.live.map((n) => `acme/${n}`).sort();
    expect(worst).toEqual({ written: 40, writtenFrom: 40, applied: 40, rendered: 40, files: 40 });
    expect(w.installed()).toEqual(ids);
    expect(files(join(w.stateDir, 'jobs', 'acme')).map((f) => `acme/${f.replace(/\.json$/, '')}`)).toEqual(ids);
    expect(out.status.jobs.map((j) => j.id)).toEqual(ids);
    expect(out.status.problems).toEqual([]);
  }, 30_000);

  it('through failed fetches and invalid manifests, the memory and the status follow the current jobs', async () => {
    const w = world();
    for (let i = 0; i < 30; i++) w.add();

    let problems = 0;
    for (let cycle = 0; cycle < 40; cycle++) {
      w.churn(cycle, 10, 10);
      // A new job whose manifest is invalid (never applied), and an invalid edit of a current one (kept).
      writeFileSync(join(w.src, `bad${cycle}.yaml`), jobManifest(`bad${cycle}`, 'not a schedule'));
      rmSync(join(w.src, `bad${cycle - 1}.yaml`), { force: true });
      writeFileSync(join(w.src, `${w.live[10]}.yaml`), jobManifest(w.live[10]!, 'not a schedule'));
      w.clock.advance(60_000);
      const ok = await w.rec.reconcile();
      renameSync(w.src, `${w.src}.gone`);
      const failed = await w.rec.reconcile();
      renameSync(`${w.src}.gone`, w.src);
      // 30 jobs, and one file more (the invalid one) in the manifest cache.
      expectBounded(w.rec, 31);
      expect([ok.result, failed.result, failed.status.jobs.length]).toEqual(['partial', 'error', ok.status.jobs.length]);
      expect(ok.status.jobs.length).toBeLessThanOrEqual(32);
      // A failed attempt carries the problems of the commit it kept, and adds its own error; none of earlier commits.
      expect(failed.status.problems.slice(0, -1)).toEqual(ok.status.problems);
      problems = Math.max(problems, ok.status.problems.length);
    }

    // The three invalid files of the current commit, two of them of installed jobs (kept-invalid).
    expect(problems).toBe(5);
  }, 30_000);

  it('a sync that fails while it forgets removed jobs leaves no memory of them for the next', async () => {
    let failing = false;
    const w = world((s) => ({
      ...s,
      // The job's files are gone, but the state dir reports an error (EIO after the unlink).
      deleteLastRun: async (id: JobId | string) => {
        const had = await s.deleteLastRun(id);
        if (failing) throw new Error('EIO: i/o error');
        return had;
      },
    }));
    for (let i = 0; i < 30; i++) w.add();

    for (let cycle = 0; cycle < 40; cycle++) {
      w.churn(cycle, 10, 10);
      failing = cycle % 2 === 0;
      w.clock.advance(60_000);
      await w.rec.reconcile();
      failing = false;
      await w.rec.reconcile();
      expectBounded(w.rec, 30);
    }

    expect(w.installed()).toEqual(w.live.map((n) => `acme/${n}`).sort());
  }, 30_000);
});
