/**
 * The provenance each entry records in its marker (SPEC §4): source id, URL without
 * credentials, ref, commit, path, document index, manifest hash and the time the job's version
 * was first applied, the same time as its snapshot in the state dir. Real cron.d files in a temp
 * dir, a state dir in memory, a fake clock that moves between syncs.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createReconciler } from '../../src/reconcile/reconciler.js';
import type { ReconcileSource } from '../../src/reconcile/types.js';
import type { JobId } from '../../src/manifest/types.js';
import { createCronDAdapter } from '../../src/scheduler/crond/index.js';
import { parseCronD } from '../../src/scheduler/crond/parse.js';
import { MemoryStateStore } from '../../src/state/memory-store.js';
import { nullLogger } from '../../src/log.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { MemorySource } from '../fakes/MemorySource.js';
import { options } from '../scheduler/fixtures.js';
import { testTempDir } from '../system/tempdir.js';
import { agentConfig } from './fixtures.js';

const HOUR = 3_600_000;

function manifest(name: string, schedule = '0 2 * * *'): string {
  return `apiVersion: v1\nkind: Job\nmetadata:\n  name: ${name}\n  tenant: acme\nspec:\n  schedule: "${schedule}"\n  command: /opt/${name}.sh\n`;
}

function world(files: Record<string, string>) {
  const cronDir = join(testTempDir('cronsync-marker-prov-'), 'cron.d');
  mkdirSync(cronDir);
  const clock = new FakeClock();
  const source = new MemorySource(files);
  /** The ref the source reports (its default branch, when source.ref is not set). */
  const ref = { name: 'main' };
  const reporting: ReconcileSource = { id: source.id, fetch: async (signal, previous) => ({ ...(await source.fetch(signal, previous)), ref: ref.name }) };
  let state = new MemoryStateStore();
  const reconciler = () => createReconciler({
    config: agentConfig(state.dir), state, source: reporting, clock, log: nullLogger,
    adapter: createCronDAdapter(options({ cronDir, sourceId: source.id, stateDir: state.dir })),
    scheduler: { kind: 'cron.d', reason: 'test' },
  });
  let rec = reconciler();
  const file = join(cronDir, 'cronsync');
  return {
    clock, source, file, ref,
    state: () => state,
    sync: () => rec.reconcile(),
    /** A new process: a new reconciler on the same state dir. */
    restart: () => {
      rec = reconciler();
    },
    /** The state dir is lost: a new, empty one and a new reconciler (a new process). */
    loseState: () => {
      state = new MemoryStateStore();
      rec = reconciler();
    },
    text: () => readFileSync(file, 'utf8'),
    markers: () => Object.fromEntries(parseCronD(readFileSync(file, 'utf8'), 'cronsync', '').entries.flatMap((e) => (e.marker ? [[e.marker.jobId, e.marker]] : []))),
    appliedAt: async (id: string) => (await state.readSnapshot(id))?.appliedAt,
  };
}

describe('reconcile: the provenance in each entry', () => {
  it('records URL, ref and applied time beside the commit; a re-sync later writes nothing; a changed job alone gets a new time', async () => {
    const w = world({ 'a.yaml': manifest('a'), 'b.yaml': manifest('b') });
    const t0 = w.clock.now().toISOString();

    await w.sync();
    const first = w.text();
    w.clock.advance(HOUR);
    const again = await w.sync();
    const unchanged = w.text();
    w.source.files.set('b.yaml', manifest('b', '0 3 * * *'));
    w.source.commit();
    w.clock.advance(HOUR);
    const t2 = w.clock.now().toISOString();
    await w.sync();
    const m = w.markers();

    expect(first).toContain(`"url":"https://git.example/jobs.git","ref":"main","applied":"${t0}"`);
    expect(again.changes).toBe(false);
    expect(unchanged).toBe(first);
    expect(m['acme/a']).toMatchObject({ url: 'https://git.example/jobs.git', ref: 'main', appliedAt: t0, path: 'a.yaml', index: 0 });
    expect(m['acme/b']).toMatchObject({ appliedAt: t2, commit: w.source.sha() });
    expect([await w.appliedAt('acme/a'), await w.appliedAt('acme/b')]).toEqual([t0, t2]);
  });

  it('a lost state dir takes the applied times back from the entries, and rewrites none of them', async () => {
    const w = world({ 'a.yaml': manifest('a') });
    const t0 = w.clock.now().toISOString();
    await w.sync();
    const before = w.text();

    w.loseState();
    w.clock.advance(5 * HOUR);
    const res = await w.sync();

    expect(res.result).toBe('ok');
    expect(w.text()).toBe(before);
    expect(await w.appliedAt('acme/a')).toBe(t0);
  });

  it('a renamed default branch at the same commit rewrites each entry once, as a provenance change, in the same process', async () => {
    const w = world({ 'a.yaml': manifest('a') });
    await w.sync();

    w.ref.name = 'trunk';
    const renamed = await w.sync();
    const after = await w.sync();

    expect(renamed.context?.planned?.plan.update.map((u) => [u.desired.id, u.changes])).toEqual([['acme/a', ['provenance']]]);
    expect(w.markers()['acme/a']?.ref).toBe('trunk');
    expect(after.changes).toBe(false);
  });

  it('a snapshot whose applied time is not one a marker holds takes the entry\'s time, and the next sync changes nothing', async () => {
    const w = world({ 'a.yaml': manifest('a') });
    const t0 = w.clock.now().toISOString();
    await w.sync();
    const rel = 'jobs/acme/a.json';
    const snap = JSON.parse(w.state().text(rel)!) as { appliedAt: string };
    w.state().files.set(rel, { text: JSON.stringify({ ...snap, appliedAt: 'yesterday' }), mode: 0o600 });
    // Without the last sync's batch, which the next process would restore the file from.
    w.state().files.delete('jobs.batch.json');

    w.restart();
    w.clock.advance(HOUR);
    const fixed = await w.sync();
    const again = await w.sync();

    expect(fixed.result).toBe('ok');
    expect(fixed.context?.applied?.get('acme/a' as JobId)?.appliedAt).toBe(t0);
    expect(await w.appliedAt('acme/a')).toBe(t0);
    expect(w.markers()['acme/a']?.appliedAt).toBe(t0);
    expect(again.changes).toBe(false);
  });

  it('entries an earlier version wrote (no URL, ref or time) are written once more with them, as a provenance change, then left alone', async () => {
    const w = world({ 'a.yaml': manifest('a') });
    const t0 = w.clock.now().toISOString();
    await w.sync();
    const full = w.text();
    // The marker as versions before 2026-12 wrote it; the entry's own hash still matches its lines.
    writeFileSync(w.file, full.replace(/,"url":"[^"]*","ref":"[^"]*","applied":"[^"]*"/g, ''));
    expect(w.markers()['acme/a']?.url).toBeUndefined();

    w.clock.advance(HOUR);
    const upgrade = await w.sync();
    const after = await w.sync();

    expect(upgrade.context?.planned?.plan.update.map((u) => [u.desired.id, u.changes])).toEqual([['acme/a', ['provenance']]]);
    expect(w.text()).toBe(full);
    expect(w.markers()['acme/a']?.appliedAt).toBe(t0);
    expect(after.changes).toBe(false);
  });
});
