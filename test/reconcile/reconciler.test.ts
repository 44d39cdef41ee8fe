import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentConfig } from '../../src/config/types.js';
import { createReconciler } from '../../src/reconcile/reconciler.js';
import { SourceError } from '../../src/errors.js';
import { MemoryStateStore } from '../../src/state/memory-store.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { MemoryScheduler } from '../fakes/MemoryScheduler.js';
import { MemorySource } from '../fakes/MemorySource.js';
import { nullLogger } from '../../src/log.js';
import { TempDirs } from '../system/tempdir.js';
import { agentConfig } from './fixtures.js';

const temps = new TempDirs();
afterEach(() => temps.removeAll());


function manifest(name: string, over: { schedule?: string; tenant?: string; extra?: string } = {}): string {
  return `apiVersion: v1\nkind: Job\nmetadata:\n  name: ${name}\n  tenant: ${over.tenant ?? 'acme'}\nspec:\n  schedule: "${over.schedule ?? '0 2 * * *'}"\n  command: /opt/${name}.sh\n${over.extra ?? ''}`;
}

const config = (stateDir: string, over: Partial<AgentConfig> = {}): AgentConfig =>
  agentConfig(stateDir, { agent: { name: 'host1', tenant: 'acme', labels: { role: 'db' } }, scheduler: { kind: 'embedded', cronDir: '/etc/cron.d', unitDir: '/etc/systemd/system', taskFolder: '\\cronsync' }, ...over });

function setup(files: Record<string, string>, over: Partial<AgentConfig> = {}) {
  const state = new MemoryStateStore();
  const source = new MemorySource(files);
  const adapter = new MemoryScheduler('src1');
  const deps = { config: config(state.dir, over), source, adapter, scheduler: { kind: 'embedded', reason: 'test' }, clock: new FakeClock(), log: nullLogger, state };
  return { state, source, adapter, rec: createReconciler(deps), deps };
}

const installedIds = async (a: MemoryScheduler): Promise<string[]> => (await a.inventory(new AbortController().signal)).map((e) => e.marker!.jobId).sort();

/** Counts the adapter's renderEntry calls made by the reconciler (this fake renders again inside apply(), which is not counted). */
function countPlanRenders(adapter: MemoryScheduler): { count: number; renderEntry: MemoryScheduler['renderEntry'] } {
  const out = { count: 0, renderEntry: adapter.renderEntry.bind(adapter) };
  let applying = false;
  const apply = adapter.apply.bind(adapter);
  adapter.renderEntry = (d) => (out.count += applying ? 0 : 1, out.renderEntry(d));
  adapter.apply = async (plan, signal) => {
    applying = true;
    try {
      return await apply(plan, signal);
    } finally {
      applying = false;
    }
  };
  return out;
}

describe('reconcile/reconciler', () => {
  it('installs the selected jobs, writes snapshots and status, and a second sync writes nothing', async () => {
    const { rec, adapter, state } = setup({
      'a.yaml': manifest('a'),
      'b.yaml': `${manifest('b', { extra: '  agent: { selector: { role: web } }\n' })}---\n${manifest('c', { tenant: 'other' })}`,
      'd.yaml': manifest('d', { extra: '  enabled: false\n' }),
    });

    const first = await rec.reconcile();
    const snapshotFile = state.files.get('jobs/acme/a.json');
    const durable = state.durableWrites;
    const second = await rec.reconcile();

    expect(first.result).toBe('ok');
    expect(await installedIds(adapter)).toEqual(['acme/a']);
    expect((await state.readSnapshot('acme/a'))?.runtime.agentId).toBe('host1');
    expect(first.status.jobs.map((j) => [j.id, j.state, j.nextRun])).toEqual([['acme/a', 'installed', '2026-11-24T02:00:00.000Z']]);
    expect(second.changes).toBe(false);
    expect(adapter.writes).toBe(1);
    expect(state.files.get('jobs/acme/a.json')).toBe(snapshotFile);
    expect(state.durableWrites).toBe(durable + 1);
    expect(JSON.parse(state.text('status.json')!).counts).toMatchObject({ added: 0, unchanged: 1, installed: 1 });
    expect(second.status.jobs).toEqual(first.status.jobs);
  });

  it('makes a sync of many jobs cost O(1) durable writes: one snapshot batch, kept until the next sync', async () => {
    const { rec, state } = setup(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`j${i}.yaml`, manifest(`j${i}`)])));

    await rec.reconcile();
    const first = state.durableWrites;
    const batched = Object.keys(JSON.parse(state.text('jobs.batch.json')!).snapshots).length;
    await rec.reconcile();

    // The batch, sources.json and status.json.
    expect(first).toBe(3);
    expect(batched).toBe(40);
    expect(state.text('jobs.batch.json')).toBeNull();
    expect(await state.listSnapshots()).toHaveLength(40);
  });

  it('a new reconciler restores snapshots from the batch a killed sync left, before it plans', async () => {
    const { rec, state, deps } = setup({ 'a.yaml': manifest('a'), 'b.yaml': manifest('b') });
    await rec.reconcile();
    const good = state.text('jobs/acme/a.json')!;
    // Killed after the batch and the scheduler, with the files lost or cut (a power loss).
    state.files.delete('jobs/acme/a.json');
    state.files.set('jobs/acme/b.json', { text: good.slice(0, 40), mode: 0o600 });
    const warns: string[] = [];

    const restarted = createReconciler({ ...deps, log: { ...nullLogger, warn: (_: object, m: string) => void warns.push(m) } });
    const res = await restarted.reconcile();
    const kept = state.text('jobs.batch.json') !== null;
    await restarted.reconcile();

    expect(res.result).toBe('ok');
    expect(res.changes).toBe(false);
    expect(state.text('jobs/acme/a.json')).toBe(good);
    expect(JSON.parse(state.text('jobs/acme/b.json')!).job.metadata.name).toBe('b');
    expect(warns).toEqual(['Job snapshots restored from the batch of an interrupted sync']);
    // Restored files are not fsynced either: the batch stays one more sync.
    expect(kept).toBe(true);
    expect(state.text('jobs.batch.json')).toBeNull();
  });

  it('attaches every installed job\'s entry text to the plan, rendered once', async () => {
    const { rec, adapter } = setup({ 'a.yaml': manifest('a'), 'b.yaml': manifest('b') });
    const renders = countPlanRenders(adapter);
    const renderEntry = renders.renderEntry;

    const first = await rec.reconcile();
    const afterFirst = renders.count;
    await rec.reconcile();

    expect([...first.context.planned!.plan.rendered!.keys()].sort()).toEqual(['acme/a', 'acme/b']);
    expect(first.context.planned!.plan.rendered!.get('acme/a')).toBe(renderEntry(first.context.planned!.plan.final[0]!));
    expect(afterFirst).toBe(2);
    expect(renders.count).toBe(2);
  });

  it('renders every entry again on a new UTC day (dated DST runs must not go stale in a long-running daemon)', async () => {
    const { rec, adapter, deps } = setup({ 'a.yaml': manifest('a'), 'b.yaml': manifest('b') });
    const renders = countPlanRenders(adapter);
    await rec.reconcile();
    const first = renders.count;
    (deps.clock as FakeClock).advance(3_600_000);
    await rec.reconcile();
    const sameDay = renders.count;
    (deps.clock as FakeClock).advance(24 * 3_600_000);
    await rec.reconcile();

    expect(first).toBeGreaterThan(0);
    expect(sameDay).toBe(first);
    expect(renders.count).toBeGreaterThan(sameDay);
  });

  it('keeps the last good version of an invalid manifest and reports it', async () => {
    const { rec, source, adapter } = setup({ 'a.yaml': manifest('a'), 'b.yaml': manifest('b') });
    await rec.reconcile();
    source.files.set('b.yaml', manifest('b', { schedule: '0 25 * * *' }));
    source.commit();

    const res = await rec.reconcile();

    expect(res.result).toBe('partial');
    expect(await installedIds(adapter)).toEqual(['acme/a', 'acme/b']);
    expect(res.status.jobs.find((j) => j.id === 'acme/b')?.state).toBe('invalid');
    expect(res.status.problems[0]).toMatchObject({ path: 'b.yaml', line: 7, column: 16, rule: 'cron-range' });
    expect(res.status.counts.invalid).toBe(1);
  });

  it('lists an invalid job that was never applied, with state invalid and the reason', async () => {
    const { rec, adapter } = setup({ 'a.yaml': manifest('a'), 'new.yaml': manifest('new', { schedule: '0 25 * * *' }), 'theirs.yaml': manifest('x', { tenant: 'other', schedule: '0 25 * * *' }) });

    const res = await rec.reconcile();

    expect(res.result).toBe('partial');
    expect(await installedIds(adapter)).toEqual(['acme/a']);
    expect(res.status.jobs.map((j) => j.id)).toEqual(['acme/a', 'acme/new']);
    expect(res.status.jobs[1]).toMatchObject({ id: 'acme/new', path: 'new.yaml', state: 'invalid', nextRun: null, lastRun: null });
    expect(res.status.jobs[1]!.reason).toMatch(/^new\.yaml:7:16: \[cron-range\] hour value 25/);
    expect(res.status.counts.invalid).toBe(1);
  });

  // The secrets file is the host's, not the state dir's: it needs a real file with real modes.
  it('reports an unsafe, a missing and a non-regular secrets file as a problem at sync time, and a safe one as none', async () => {
    const dir = temps.make('cronsync-rec-secrets-');
    const file = join(dir, 'secrets.env');
    writeFileSync(file, 'TOKEN=s3cr3t-value\n');
    const sync = (secretsFile: string) => setup({ 'a.yaml': manifest('a') }, { secretsFile }).rec.reconcile();

    chmodSync(file, 0o644);
    const unsafe = await sync(file);
    chmodSync(file, 0o600);
    const safe = await sync(file);
    const missing = await sync(join(dir, 'nope.env'));
    const notFile = await sync(dir);

    const problem = (r: typeof safe) => r.status.problems.filter((p) => p.rule === 'secrets-file');
    expect(problem(unsafe)).toEqual([expect.objectContaining({ severity: 'error', message: expect.stringMatching(/accessible by group or others \(mode 644\); run chmod 600/) })]);
    expect(unsafe.result).toBe('partial');
    expect(JSON.stringify(unsafe.status)).not.toContain('s3cr3t-value');
    expect(problem(safe)).toEqual([]);
    expect(safe.result).toBe('ok');
    expect(problem(missing)[0]?.message).toContain('ENOENT');
    expect(problem(notFile)[0]?.message).toContain('ENOTREG');
    expect([unsafe, missing, notFile].map((r) => r.status.counts.installed)).toEqual([1, 1, 1]);
  }, 20_000);

  it('checks an unchanged secrets file once per reconciler, and again as soon as its mode changes', async () => {
    const dir = temps.make('cronsync-rec-secrets-');
    const file = join(dir, 'secrets.env');
    writeFileSync(file, 'TOKEN=x\n', { mode: 0o600 });
    const { rec } = setup({ 'a.yaml': manifest('a') }, { secretsFile: file });

    const safe = await rec.reconcile();
    chmodSync(file, 0o644);
    const unsafe = await rec.reconcile();

    expect(safe.status.problems).toEqual([]);
    expect(unsafe.status.problems.map((p) => p.rule)).toEqual(['secrets-file']);
  });

  it('trips the mass-removal guard when every manifest is deleted, and --force removes them', async () => {
    const { rec, source, adapter } = setup({ 'a.yaml': manifest('a'), 'b.yaml': manifest('b') });
    await rec.reconcile();
    source.files.clear();
    source.commit();

    const guarded = await rec.reconcile();
    const forced = await rec.reconcile({ force: true });

    expect(guarded.result).toBe('error');
    expect(guarded.status.lastAttempt.reason).toBe('RemovalGuardTripped');
    expect(guarded.status.jobs.map((j) => j.id)).toEqual(['acme/a', 'acme/b']);
    expect(forced.result).toBe('ok');
    expect(await installedIds(adapter)).toEqual([]);
  });

  it('keeps the installed jobs and reports the error when the source fails', async () => {
    const { rec, source, adapter } = setup({ 'a.yaml': manifest('a') });
    await rec.reconcile();
    source.failWith = new SourceError('network', 'cannot reach https://git.example/jobs.git: ECONNREFUSED');

    const res = await rec.reconcile();

    expect(res.result).toBe('error');
    expect(res.status.lastAttempt).toMatchObject({ result: 'error', reason: 'SourceFetchFailed' });
    expect(res.status.lastSuccess).not.toBeNull();
    expect(res.status.jobs.map((j) => j.id)).toEqual(['acme/a']);
    expect(await installedIds(adapter)).toEqual(['acme/a']);
  });

  it('keeps the counts of the jobs it carries over and the last commit\'s problems when the source fails', async () => {
    const { rec, source } = setup({ 'a.yaml': manifest('a'), 'b.yaml': manifest('b'), 'c.yaml': manifest('c') });
    await rec.reconcile();
    source.files.set('b.yaml', manifest('b', { schedule: '0 25 * * *' }));
    source.commit();
    const partial = await rec.reconcile();
    source.failWith = new SourceError('network', 'cannot reach https://git.example/jobs.git: ECONNREFUSED');

    const down = await rec.reconcile();
    const still = await rec.reconcile();

    expect(partial.status.counts.invalid).toBe(1);
    expect(down.status.lastAttempt).toMatchObject({ result: 'error', reason: 'SourceFetchFailed' });
    expect(down.status.source.commit).toBe(partial.status.source.commit);
    expect(down.status.jobs.filter((j) => j.state === 'invalid').map((j) => j.id)).toEqual(['acme/b']);
    expect(down.status.counts).toEqual({ ...partial.status.counts, added: 0, updated: 0, removed: 0, unchanged: 0 });
    expect(down.status.problems).toEqual([...partial.status.problems, { path: '', line: 0, column: 0, rule: 'SourceFetchFailed', severity: 'error', message: 'cannot reach https://git.example/jobs.git: ECONNREFUSED' }]);
    expect(down.status.problems).toContainEqual(expect.objectContaining({ path: 'b.yaml', line: 7, column: 16, rule: 'cron-range' }));
    expect(still.status.counts).toEqual(down.status.counts);
    expect(still.status.problems).toEqual(down.status.problems);
  });

  it('does not carry an apply\'s scheduler warning over to a failed attempt: it described that apply, not the commit', async () => {
    const { rec, source, adapter } = setup({ 'a.yaml': manifest('a') });
    const apply = adapter.apply.bind(adapter);
    adapter.apply = async (plan, signal) => ({ ...(await apply(plan, signal)), warnings: ['no cron daemon is running'] });
    const ok = await rec.reconcile();
    source.failWith = new SourceError('network', 'cannot reach https://git.example/jobs.git: ECONNREFUSED');

    const down = await rec.reconcile();

    expect(ok.status.problems.map((p) => p.rule)).toEqual(['scheduler']);
    expect(down.status.problems.map((p) => p.rule)).toEqual(['SourceFetchFailed']);
  });

  it('reports each sync\'s next run, also once the one reported before has passed', async () => {
    const { rec, deps } = setup({ 'a.yaml': manifest('a') });
    const clock = deps.clock;

    const first = await rec.reconcile();
    clock.advance(15 * 3600 * 1000); // 2026-11-24T01:00
    const before = await rec.reconcile();
    clock.advance(3600 * 1000); // 02:00, the fire instant itself
    const at = await rec.reconcile();
    clock.advance(60 * 1000);
    const after = await rec.reconcile();

    expect([first, before, at, after].map((r) => r.status.jobs[0]!.nextRun)).toEqual(['2026-11-24T02:00:00.000Z', '2026-11-24T02:00:00.000Z', '2026-11-25T02:00:00.000Z', '2026-11-25T02:00:00.000Z']);
  });

  it('keeps the snapshots the installed entries run with when the scheduler refuses the plan, and applies them at the next sync', async () => {
    const { rec, source, adapter, state } = setup({ 'a.yaml': manifest('a'), 'b.yaml': manifest('b') });
    await rec.reconcile();
    const apply = adapter.apply.bind(adapter);
    let refuse = true;
    adapter.apply = async (plan, signal) => {
      if (refuse) throw new Error('crontab would have 10002 lines');
      return apply(plan, signal);
    };
    source.files.set('a.yaml', manifest('a', { schedule: '0 9 * * *' }));
    source.files.set('c.yaml', manifest('c'));
    source.commit();

    const refused = await rec.reconcile();
    const keptA = (await state.readSnapshot('acme/a'))?.job.spec.schedule;
    const newC = await state.readSnapshot('acme/c');
    refuse = false;
    const applied = await rec.reconcile();

    expect(refused.result).toBe('error');
    expect(keptA).toBe('0 2 * * *');
    expect(newC).toBeNull();
    expect(applied.result).toBe('ok');
    expect((await state.readSnapshot('acme/a'))?.job.spec.schedule).toBe('0 9 * * *');
    expect((await state.readSnapshot('acme/c'))?.job.metadata.name).toBe('c');
    expect(await installedIds(adapter)).toEqual(['acme/a', 'acme/b', 'acme/c']);
  });

  it('keeps a job whose file was renamed with a syntax error: the broken file still names it', async () => {
    const { rec, source, adapter } = setup({ 'a.yaml': manifest('a'), 'b.yaml': manifest('b') });
    await rec.reconcile();
    source.files.delete('a.yaml');
    source.files.set('jobs/a-renamed.yaml', manifest('a').replace('command: /opt/a.sh', 'command: "/opt/a.sh'));
    source.commit();

    const broken = await rec.reconcile();
    source.files.set('jobs/a-renamed.yaml', manifest('a'));
    source.commit();
    const fixed = await rec.reconcile();

    expect(await installedIds(adapter)).toEqual(['acme/a', 'acme/b']);
    expect(broken.result).toBe('partial');
    expect(broken.status.jobs.find((j) => j.id === 'acme/a')).toMatchObject({ state: 'invalid', path: 'a.yaml' });
    expect(broken.status.jobs.find((j) => j.id === 'acme/a')?.reason).toContain('a file that could not be loaded names it (one of jobs/a-renamed.yaml: it does not parse, or clashes on a job name)');
    expect(fixed.result).toBe('ok');
    expect(fixed.status.jobs.find((j) => j.id === 'acme/a')).toMatchObject({ state: 'installed', path: 'jobs/a-renamed.yaml' });
  });

  it('restores a hand-edited entry', async () => {
    const { rec, adapter } = setup({ 'a.yaml': manifest('a') });
    await rec.reconcile();
    adapter.tamper('acme/a', '* * * * * evil');

    const res = await rec.reconcile();

    expect(res.context.planned?.plan.update.map((u) => u.changes)).toEqual([['drift']]);
    expect((await adapter.inventory(new AbortController().signal))[0]!.raw).toContain('0 2 * * *');
  });

  it('parses no unchanged file on a re-sync', async () => {
    const { rec, source } = setup({ 'a.yaml': manifest('a'), 'b.yaml': manifest('b') });
    await rec.reconcile();
    source.files.set('b.yaml', manifest('b', { schedule: '5 * * * *' }));
    source.commit();

    const changed = await rec.reconcile();
    const same = await rec.reconcile();

    expect(changed.context.load?.parsed).toBe(1);
    expect(same.context.load?.parsed).toBe(0);
  });

  it('property: any sequence of edits, deletions and invalidations leaves render(desired) installed, last good kept', async () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    const op = fc.oneof(
      fc.record({ kind: fc.constant('edit' as const), name: fc.constantFrom(...names), minute: fc.integer({ min: 0, max: 59 }) }),
      fc.record({ kind: fc.constant('delete' as const), name: fc.constantFrom(...names) }),
      fc.record({ kind: fc.constant('break' as const), name: fc.constantFrom(...names), how: fc.constantFrom('0 99 * * *', 'not: [yaml', 'spec: 1') }),
    );
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
      const { rec, source, adapter } = setup(Object.fromEntries(names.map((n) => [`${n}.yaml`, manifest(n)])), { allowMassRemoval: true });
      /** What a correct agent must have installed: name → schedule, tracking the last good one. */
      const model = new Map(names.map((n) => [n, '0 2 * * *']));
      await rec.reconcile();
      for (const o of ops) {
        if (o.kind === 'edit') {
          source.files.set(`${o.name}.yaml`, manifest(o.name, { schedule: `${o.minute} 2 * * *` }));
          model.set(o.name, `${o.minute} 2 * * *`);
        } else if (o.kind === 'delete') {
          source.files.delete(`${o.name}.yaml`);
          model.delete(o.name);
        } else if (source.files.has(`${o.name}.yaml`)) {
          source.files.set(`${o.name}.yaml`, o.how === '0 99 * * *' ? manifest(o.name, { schedule: o.how }) : o.how);
        }
        source.commit();
        const res = await rec.reconcile();
        expect(res.result).not.toBe('error');
      }

      const entries = await adapter.inventory(new AbortController().signal);
      const installed = Object.fromEntries(entries.map((e) => [e.marker!.jobId, e.raw.split(' ').slice(0, 5).join(' ')]));
      expect(installed).toEqual(Object.fromEntries([...model].map(([n, s]) => [`acme/${n}`, s])));
    }), { numRuns: 25 });
  }, 60_000);
});
