import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DesiredJob } from '../../../src/desired/types.js';
import type { InstalledEntry, Plan } from '../../../src/plan/types.js';
import { createEmbeddedAdapter, nodeRegistryFiles } from '../../../src/scheduler/embedded/index.js';
import type { EmbeddedAdapter, RegistryFiles } from '../../../src/scheduler/embedded/index.js';
import { desiredOf, makeJob } from '../../fakes/jobs.js';
import { ManualTimers } from '../../fakes/ManualTimers.js';
import { recordingLogger, recordingRunJob } from './helpers.js';

const SOURCE = 'src1';
const MIN = 60_000;
const signal = new AbortController().signal;

let stateDir: string;
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'cronsync-embedded-'));
});
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

function planOf(final: DesiredJob[], over: Partial<Plan> = {}): Plan {
  return { sourceId: SOURCE, final, add: [], update: [], remove: [], unchanged: [], kept: [], orphaned: [], conflicts: [], preserve: [], ...over };
}

/** The real file port, counting writes. */
function countingFiles(): RegistryFiles & { writes: number } {
  const f = { writes: 0, read: nodeRegistryFiles.read, write: async (p: string, d: string) => { f.writes++; await nodeRegistryFiles.write(p, d); } };
  return f;
}

function setup(start = '2026-05-01T10:00:30Z', sourceId = SOURCE) {
  const timers = new ManualTimers(new Date(start));
  const log = recordingLogger();
  const run = recordingRunJob(timers);
  const files = countingFiles();
  const make = (): EmbeddedAdapter => createEmbeddedAdapter({ sourceId, stateDir, runJob: run.runJob, clock: timers.clock, log, timers, files });
  return { timers, log, calls: run.calls, files, adapter: make(), make };
}

const every = desiredOf(makeJob('every', { spec: { schedule: '* * * * *' } }));
const ny = desiredOf(makeJob('ny', { spec: { schedule: '30 2 * * *', timezone: 'America/New_York' } }));
const paused = desiredOf(makeJob('paused', { spec: { schedule: '* * * * *', paused: true } }));

describe('scheduler/embedded', () => {
  it('apply twice writes the registry once', async () => {
    const { adapter, files } = setup();

    const first = await adapter.apply(planOf([every, ny]), signal);
    const mtime = (await stat(adapter.registryPath)).mtimeMs;
    const second = await adapter.apply(planOf([every, ny]), signal);

    expect(first).toEqual({ changed: true, written: [join(stateDir, 'embedded.json')] });
    expect(second).toEqual({ changed: false, written: [] });
    expect(files.writes).toBe(1);
    expect((await stat(adapter.registryPath)).mtimeMs).toBe(mtime);
  });

  it('render() is exactly what apply() writes, and each line is renderEntry()', async () => {
    const { adapter } = setup();

    await adapter.apply(planOf([every, ny, paused]), signal);
    const content = await readFile(adapter.registryPath, 'utf8');

    expect(adapter.render([every, ny, paused])).toEqual({ kind: 'embedded', files: [{ name: adapter.registryPath, content }] });
    expect(content.split('\n').filter((l) => l.startsWith('    {')).map((l) => l.trim().replace(/,$/, ''))).toEqual([every, ny, paused].map((d) => adapter.renderEntry(d)));
    expect(content).not.toContain('/opt/every.sh');
  });

  it('inventory after a restart (new instance, same stateDir) returns the same markers, and raw equals renderEntry', async () => {
    const { adapter, make } = setup();
    await adapter.apply(planOf([every, ny, paused]), signal);
    const before = await adapter.inventory(signal);

    const after = await make().inventory(signal);

    expect(after).toEqual(before);
    expect(after.map((e) => [e.marker?.jobId, e.paused, e.raw === adapter.renderEntry([every, ny, paused].find((d) => d.id === e.marker?.jobId)!)])).toEqual([
      ['acme/every', false, true], ['acme/ny', false, true], ['acme/paused', true, true],
    ]);
    expect(after[0]!.marker).toEqual({ sourceId: SOURCE, jobId: 'acme/every', commit: every.provenance.commit, path: 'jobs/every.yaml', index: 0, manifestHash: every.manifestHash, url: every.provenance.url, ref: every.provenance.ref });
  });

  it('an empty state dir is an empty inventory', async () => {
    const { adapter } = setup();

    expect(await adapter.inventory(signal)).toEqual([]);
  });

  it('runs applied jobs after start(); a paused job never fires', async () => {
    const { adapter, timers, calls } = setup();
    await adapter.apply(planOf([every, paused]), signal);

    expect(await adapter.start()).toBe(1);
    timers.advance(3 * MIN);

    expect(calls.map((c) => `${c.jobId}@${c.calledAt}`)).toEqual(['10:01', '10:02', '10:03'].map((t) => `acme/every@2026-05-01T${t}:00.000Z`));
  });

  it('start() also arms the jobs of earlier source ids of this agent, never those of other sources', async () => {
    const old = setup('2026-05-01T10:00:30Z', 'old-id');
    const other = setup('2026-05-01T10:00:30Z', 'other-agent');
    await other.adapter.apply({ ...planOf([ny]), sourceId: 'other-agent' }, signal);
    await old.adapter.apply({ ...planOf([every]), sourceId: 'old-id' }, signal);
    const timers = new ManualTimers(new Date('2026-05-01T10:00:30Z'));
    const run = recordingRunJob(timers);
    const make = (previous?: readonly string[]) => createEmbeddedAdapter({
      sourceId: 'new-id', stateDir, runJob: run.runJob, clock: timers.clock, log: recordingLogger(), timers,
      previousSourceIds: previous ? async () => previous : undefined,
    });

    expect(await make().start()).toBe(0);
    expect(await make(['old-id']).start()).toBe(1);
    timers.advance(2 * MIN);

    expect([...new Set(run.calls.map((c) => c.jobId))]).toEqual(['acme/every']);
  });

  it('apply() without start() arms nothing (one-shot sync)', async () => {
    const { adapter, timers, calls } = setup();

    await adapter.apply(planOf([every]), signal);
    timers.advance(5 * MIN);

    expect(calls).toEqual([]);
    expect(timers.armed).toBe(0);
  });

  it('a restarted daemon runs the installed jobs before any sync', async () => {
    const first = setup();
    await first.adapter.apply(planOf([every]), signal);

    const again = first.make();
    await again.start();
    first.timers.advance(MIN);

    expect(first.calls.map((c) => c.jobId)).toEqual(['acme/every']);
  });

  it('apply() while started re-arms: removed jobs stop, pausing stops, new jobs start', async () => {
    const { adapter, timers, calls } = setup();
    await adapter.start();
    await adapter.apply(planOf([every]), signal);
    timers.advance(MIN);

    const pausedEvery = desiredOf(makeJob('every', { spec: { schedule: '* * * * *', paused: true } }));
    const hourly = desiredOf(makeJob('hourly', { spec: { schedule: '2 * * * *' } }));
    await adapter.apply(planOf([pausedEvery, hourly]), signal);
    timers.advance(2 * MIN);

    expect(calls.map((c) => `${c.jobId}@${c.calledAt.slice(11, 16)}`)).toEqual(['acme/every@10:01', 'acme/hourly@10:02']);
    expect((await adapter.inventory(signal)).map((e) => [e.marker?.jobId, e.paused])).toEqual([['acme/every', true], ['acme/hourly', false]]);
  });

  it('stop() prevents further fires', async () => {
    const { adapter, timers, calls } = setup();
    await adapter.apply(planOf([every]), signal);
    await adapter.start();
    timers.advance(MIN);

    adapter.stop();
    timers.advance(10 * MIN);

    expect(calls).toHaveLength(1);
    expect(timers.armed).toBe(0);
    await Promise.all(adapter.running());
    expect(adapter.running()).toHaveLength(0);
  });

  it('keeps records of another source untouched and does not run them', async () => {
    const other = setup('2026-05-01T10:00:30Z', 'other-source');
    const theirs = desiredOf(makeJob('theirs', { spec: { schedule: '* * * * *' } }), 'x.yaml', 'b'.repeat(40), 'other-source');
    await other.adapter.apply({ ...planOf([theirs]), sourceId: 'other-source' }, signal);
    const { adapter, timers, calls, log } = setup();

    await adapter.apply(planOf([every]), signal);
    await adapter.start();
    timers.advance(MIN);
    const inv = await adapter.inventory(signal);

    expect(inv.map((e) => [e.marker?.sourceId, e.marker?.jobId])).toEqual([['src1', 'acme/every'], ['other-source', 'acme/theirs']]);
    expect(calls.map((c) => c.jobId)).toEqual(['acme/every']);
    expect(log.records.some((r) => r.level === 'warn' && r.obj.count === 1)).toBe(true);
  });

  it('copies preserved entries through and removes what the plan removes', async () => {
    const { adapter } = setup();
    await adapter.apply(planOf([every, ny]), signal);
    const inv = await adapter.inventory(signal);
    const nyEntry = inv.find((e) => e.marker?.jobId === 'acme/ny')!;

    const res = await adapter.apply(planOf([], { preserve: [nyEntry], remove: [inv.find((e) => e.marker?.jobId === 'acme/every')!] }), signal);

    expect(res.changed).toBe(true);
    expect((await adapter.inventory(signal)).map((e) => e.raw)).toEqual([nyEntry.raw]);
  });

  it('rejects a plan of another source', async () => {
    const { adapter } = setup();

    await expect(adapter.apply({ ...planOf([every]), sourceId: 'nope' }, signal)).rejects.toMatchObject({ code: 'CRONSYNC_SCHEDULER' });
  });

  it('a corrupt registry reads as empty (warned) and the next apply rewrites it', async () => {
    const { adapter, log } = setup();
    await writeFile(join(stateDir, 'embedded.json'), '{"version":1,"jobs":[{"source":');

    const inv = await adapter.inventory(signal);
    await adapter.apply(planOf([every]), signal);

    expect(inv).toEqual([]);
    expect(log.records.filter((r) => r.level === 'warn').map((r) => String(r.obj.problem))[0]).toMatch(/not valid JSON/);
    expect((await adapter.inventory(signal)).map((e) => e.marker?.jobId)).toEqual(['acme/every']);
  });

  it('a hand-edited record shows up as drift (raw differs from renderEntry)', async () => {
    const { adapter } = setup();
    await adapter.apply(planOf([every]), signal);
    const text = await readFile(adapter.registryPath, 'utf8');
    await writeFile(adapter.registryPath, text.replace('"* * * * *"', '"*/5 * * * *"'));

    const [entry] = (await adapter.inventory(signal)) as [InstalledEntry];

    expect(entry.marker?.manifestHash).toBe(every.manifestHash);
    expect(entry.raw).not.toBe(adapter.renderEntry(every));
  });

  it('an aborted signal stops apply() before writing', async () => {
    const { adapter, files } = setup();
    const ac = new AbortController();
    ac.abort(new Error('stop'));

    await expect(adapter.apply(planOf([every]), ac.signal)).rejects.toThrow('stop');
    expect(files.writes).toBe(0);
  });

  it('start() survives an unreadable registry', async () => {
    const timers = new ManualTimers(new Date('2026-05-01T10:00:30Z'));
    const log = recordingLogger();
    const files: RegistryFiles = { read: () => Promise.reject(new Error('EACCES')), write: () => Promise.resolve() };
    const adapter = createEmbeddedAdapter({ sourceId: SOURCE, stateDir, runJob: async () => 0, clock: timers.clock, log, timers, files });

    expect(await adapter.start()).toBe(0);
    expect(log.records.some((r) => r.level === 'error')).toBe(true);
  });

  it('moves records of a previous source id to the current one (no duplicates), keeps a preserved one armed, leaves others alone', async () => {
    const old = setup('2026-05-01T10:00:30Z', 'old-id');
    const other = setup('2026-05-01T10:00:30Z', 'other-source');
    const held = desiredOf(makeJob('held', { spec: { schedule: '* * * * *' } }));
    await old.adapter.apply({ ...planOf([every, ny, held]), sourceId: 'old-id' }, signal);
    const heldEntry = (await old.adapter.inventory(signal)).find((e) => e.marker?.jobId === 'acme/held')!;
    const theirs = desiredOf(makeJob('theirs'), 'x.yaml', 'b'.repeat(40), 'other-source');
    await other.adapter.apply({ ...planOf([theirs]), sourceId: 'other-source' }, signal);
    const { adapter, timers, calls } = setup();

    await adapter.start();
    await adapter.apply(planOf([every], { ownedSourceIds: [SOURCE, 'old-id'], preserve: [heldEntry] }), signal);
    timers.advance(MIN);
    const inv = await adapter.inventory(signal);

    expect(inv.map((e) => [e.marker?.sourceId, e.marker?.jobId])).toEqual([['src1', 'acme/every'], ['old-id', 'acme/held'], ['other-source', 'acme/theirs']]);
    expect(inv[1]!.raw).toBe(heldEntry.raw);
    expect(calls.map((c) => c.jobId).sort()).toEqual(['acme/every', 'acme/held']);
  });
});
