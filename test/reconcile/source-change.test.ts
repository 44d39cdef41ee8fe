/**
 * A change of the source id between syncs (an edited `source.paths`, `exclude` or `ref`):
 * the entries installed under the old id stay this agent's and move to the new one.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createReconciler } from '../../src/reconcile/reconciler.js';
import type { ReconcileSource } from '../../src/reconcile/types.js';
import { createCronDAdapter } from '../../src/scheduler/crond/index.js';
import { parseCronD } from '../../src/scheduler/crond/parse.js';
import type { SchedulerAdapter } from '../../src/scheduler/types.js';
import { MemoryStateStore } from '../../src/state/memory-store.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { MemorySource } from '../fakes/MemorySource.js';
import { options } from '../scheduler/fixtures.js';
import { agentConfig } from './fixtures.js';

const signal = new AbortController().signal;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function manifest(name: string): string {
  return `apiVersion: v1\nkind: Job\nmetadata:\n  name: ${name}\n  tenant: acme\nspec:\n  schedule: "0 2 * * *"\n  command: /opt/${name}.sh\n`;
}


/** The same files seen through another source id (as after a config edit), minus `hidden`. */
function as(source: MemorySource, id: string, hidden: string[] = []): ReconcileSource {
  return {
    id,
    fetch: async (s) => {
      const snap = await source.fetch(s);
      return { ...snap, sourceId: id, files: snap.files.filter((f) => !hidden.includes(f.path)) };
    },
  };
}

/** A real cron.d dir (the adapter's files), a state dir in memory. */
function world(files: Record<string, string>) {
  const root = mkdtempSync(join(tmpdir(), 'cronsync-srcchange-'));
  dirs.push(root);
  const state = new MemoryStateStore();
  const stateDir = state.dir;
  const cronDir = join(root, 'cron.d');
  mkdirSync(cronDir);
  const source = new MemorySource(files);
  const infos: string[] = [];
  const warns: string[] = [];
  const log = { info: (_: object, m: string) => void infos.push(m), warn: (_: object, m: string) => void warns.push(m), error: () => undefined, debug: () => undefined };
  const adapterFor = (id: string): SchedulerAdapter => createCronDAdapter(options({ cronDir, sourceId: id, stateDir }));
  const reconciler = (src: ReconcileSource, adapter = adapterFor(src.id)) =>
    createReconciler({ config: agentConfig(stateDir), state, source: src, adapter, scheduler: { kind: 'cron.d', reason: 'test' }, clock: new FakeClock(), log });
  const cron = (): string[] => parseCronD(readFileSync(join(cronDir, 'cronsync'), 'utf8'), 'cronsync', '').entries
    .flatMap((e) => (e.marker ? [`${e.marker.sourceId}:${e.marker.jobId}`] : [])).sort();
  const sources = (): unknown => JSON.parse(state.text('sources.json')!);
  return { state, cronDir, source, reconciler, adapterFor, cron, sources, infos, warns };
}

describe('reconcile: source id changes', () => {
  it('moves the entries to the new id, removes the newly excluded job, never touches another id, and forgets the old id', async () => {
    const w = world({ 'a.yaml': manifest('a'), 'b.yaml': manifest('b'), 'c.yaml': manifest('c') });
    await w.reconciler(w.source).reconcile();
    const stranger = w.adapterFor('stranger');
    const z = (await w.adapterFor('src1').inventory(signal)).find((e) => e.marker?.jobId === 'acme/a')!;
    await stranger.apply({ sourceId: 'stranger', final: [], add: [], update: [], remove: [], unchanged: [], kept: [], orphaned: [], conflicts: [], preserve: [{ ...z, marker: { ...z.marker!, sourceId: 'stranger', jobId: 'other/z' }, raw: z.raw.replace('"src1"', '"stranger"').replace('"acme/a"', '"other/z"') }] }, signal);
    const before = w.cron();

    const moved = await w.reconciler(as(w.source, 'src2', ['c.yaml'])).reconcile();
    const after = w.cron();
    const again = await w.reconciler(as(w.source, 'src2', ['c.yaml'])).reconcile();

    expect(before).toEqual(['src1:acme/a', 'src1:acme/b', 'src1:acme/c', 'stranger:other/z']);
    expect(moved.result).toBe('ok');
    expect(moved.status.counts).toMatchObject({ conflicts: 0, updated: 2, removed: 1, installed: 2 });
    expect(moved.status.jobs.map((j) => `${j.id}:${j.state}`)).toEqual(['acme/a:installed', 'acme/b:installed']);
    expect(moved.context.planned?.plan.update.map((u) => u.changes)).toEqual([['source'], ['source']]);
    expect(after).toEqual(['src2:acme/a', 'src2:acme/b', 'stranger:other/z']);
    expect(w.sources()).toEqual({ version: 1, current: 'src2', previous: [] });
    expect(w.infos).toContain('Entries installed under a previous source id of this agent are moved to the current one');
    expect(again.changes).toBe(false);
  });

  it('records the new id before applying, so entries of an interrupted apply stay owned', async () => {
    const w = world({ 'a.yaml': manifest('a'), 'b.yaml': manifest('b') });
    await w.reconciler(w.source).reconcile();
    const real = w.adapterFor('src2');
    const failing: SchedulerAdapter = { ...real, apply: async () => { throw new Error('disk full'); } };

    const failed = await w.reconciler(as(w.source, 'src2'), failing).reconcile();
    const recorded = w.sources();
    const back = await w.reconciler(w.source).reconcile();

    expect(failed.result).toBe('error');
    expect(recorded).toEqual({ version: 1, current: 'src2', previous: ['src1'] });
    expect(back.result).toBe('ok');
    expect(back.status.counts.conflicts).toBe(0);
    expect(w.cron()).toEqual(['src1:acme/a', 'src1:acme/b']);
    expect(w.sources()).toEqual({ version: 1, current: 'src1', previous: [] });
  });

  it('without sources.json (older state dir) or with a damaged one, owns the ids of its job snapshots', async () => {
    const w = world({ 'a.yaml': manifest('a') });
    await w.reconciler(w.source).reconcile();
    w.state.files.delete('sources.json');

    const missing = await w.reconciler(as(w.source, 'src2')).reconcile();
    w.state.files.set('sources.json', { text: '{"current": 7}', mode: 0o644 });
    const damaged = await w.reconciler(as(w.source, 'src3')).reconcile();

    expect(missing.status.counts).toMatchObject({ conflicts: 0, updated: 1 });
    expect(damaged.status.counts).toMatchObject({ conflicts: 0, updated: 1 });
    expect(w.cron()).toEqual(['src3:acme/a']);
    expect(w.warns).toEqual(['Source id record is damaged; the source ids in the job snapshots are used instead']);
  });

  it('a dry run plans the move but writes nothing', async () => {
    const w = world({ 'a.yaml': manifest('a') });
    await w.reconciler(w.source).reconcile();

    const dry = await w.reconciler(as(w.source, 'src2')).reconcile({ dryRun: true });

    expect(dry.changes).toBe(true);
    expect(dry.status.counts.conflicts).toBe(0);
    expect(w.cron()).toEqual(['src1:acme/a']);
    expect(w.sources()).toEqual({ version: 1, current: 'src1', previous: [] });
  });
});
