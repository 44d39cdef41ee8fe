/**
 * Whole syncs (the reconciler over the systemd adapter, a real unit dir and the fake systemctl)
 * of what an administrator or another agent left in the unit directory: a mask, another
 * agent's units, a broken foreign timer, an interrupted removal, a masked timer, an alias.
 */
import { lstatSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nullLogger } from '../../../src/log.js';
import { createReconciler } from '../../../src/reconcile/reconciler.js';
import { createSystemdAdapter } from '../../../src/scheduler/systemd/index.js';
import { MemoryStateStore } from '../../../src/state/memory-store.js';
import { FakeClock } from '../../fakes/FakeClock.js';
import { MemorySource } from '../../fakes/MemorySource.js';
import { fakeSystemctl } from '../../fakes/FakeSystemctl.js';
import type { FakeSystemctl } from '../../fakes/FakeSystemctl.js';
import { agentConfig } from '../../reconcile/fixtures.js';
import { TempDirs } from '../../system/tempdir.js';

const temps = new TempDirs();
afterEach(() => temps.removeAll());

function manifest(name: string, tenant = 'acme'): string {
  return `apiVersion: v1\nkind: Job\nmetadata:\n  name: ${name}\n  tenant: ${tenant}\nspec:\n  schedule: "0 2 * * *"\n  timezone: UTC\n  command: /opt/jobs/${name}.sh\n`;
}

/** A second agent's source (id `src2`). */
function otherSource(files: Record<string, string>): MemorySource {
  const source = new MemorySource(files);
  Object.defineProperty(source, 'id', { value: 'src2' });
  return source;
}

/** An agent (tenant `tenant`) syncing `source` into `unitDir`. */
function agent(unitDir: string, runner: FakeSystemctl, source: MemorySource, tenant = 'acme') {
  const state = new MemoryStateStore(`/var/lib/cronsync-${source.id}`);
  const adapter = createSystemdAdapter({ sourceId: source.id, execCommand: { file: '/usr/bin/node', args: ['/opt/cronsync/dist/cli/launch.cjs'] }, stateDir: state.dir, unitDir, mode: 'system', user: 'root', now: () => new Date('2026-06-01T00:00:00Z') }, { runner });
  return createReconciler({ config: agentConfig(state.dir, { agent: { name: 'host1', tenant, labels: {} } }), source, adapter, scheduler: { kind: 'systemd', reason: 'test' }, clock: new FakeClock(), log: nullLogger, state });
}

function setup(files: Record<string, string>) {
  const unitDir = temps.make('cronsync-systemd-sync-');
  const runner = fakeSystemctl({ unitDir });
  const source = new MemorySource(files);
  return { unitDir, runner, source, rec: agent(unitDir, runner, source) };
}

const rows = (r: { status: { jobs: { id: string; state: string }[] } }): string[][] => r.status.jobs.map((j) => [j.id, j.state]);

describe('reconcile over systemd: what is not ours', () => {
  it('a masked job (both names linked to /dev/null) is reported with the path and left masked; nothing of it enabled', async () => {
    const { unitDir, runner, rec } = setup({ 'a.yaml': manifest('a'), 'd.yaml': manifest('d') });
    symlinkSync('/dev/null', join(unitDir, 'cronsync-acme-d.timer'));
    symlinkSync('/dev/null', join(unitDir, 'cronsync-acme-d.service'));

    const first = await rec.reconcile();
    const mutations = runner.mutations().length;
    const second = await rec.reconcile();

    expect(first.result).toBe('partial');
    expect(rows(first)).toEqual([['acme/a', 'installed'], ['acme/d', 'invalid']]);
    expect(first.status.jobs[1]!.reason).toMatch(new RegExp(`${unitDir}/cronsync-acme-d\\.timer is a symbolic link to /dev/null \\(masked\\)`));
    expect(readlinkSync(join(unitDir, 'cronsync-acme-d.timer'))).toBe('/dev/null');
    expect(readlinkSync(join(unitDir, 'cronsync-acme-d.service'))).toBe('/dev/null');
    expect(runner.mutations()).toEqual([['systemctl', 'daemon-reload'], ['systemctl', 'enable', '--now', 'cronsync-acme-a.timer']]);
    expect(second.changes).toBe(false);
    expect(runner.mutations().length).toBe(mutations);
  });

  it('two agents sharing a unit dir: the units of one job name are the first agent\'s, the other reports its job, nothing flips', async () => {
    const unitDir = temps.make('cronsync-systemd-sync-');
    const runner = fakeSystemctl({ unitDir });
    const first = agent(unitDir, runner, new MemorySource({ 'd.yaml': manifest('d', 'acme-b') }), 'acme-b');
    const second = agent(unitDir, runner, otherSource({ 'b-d.yaml': manifest('b-d') }));

    await first.reconcile();
    const service = readFileSync(join(unitDir, 'cronsync-acme-b-d.service'), 'utf8');
    const results = [];
    for (let i = 0; i < 2; i++) results.push(await second.reconcile(), await first.reconcile());

    expect(results.map((r) => [r.result, r.changes])).toEqual([['partial', false], ['ok', false], ['partial', false], ['ok', false]]);
    expect(results[0]!.status.jobs[0]!.reason).toMatch(/are job acme-b\/d of another cronsync source \(src1\); they are left alone/);
    expect(readFileSync(join(unitDir, 'cronsync-acme-b-d.service'), 'utf8')).toBe(service);
  });

  it('an alias of a job\'s timer is left alone, not removed as a second copy of the job', async () => {
    const { unitDir, runner, rec } = setup({ 'backup.yaml': manifest('backup') });
    await rec.reconcile();
    symlinkSync('cronsync-acme-backup.timer', join(unitDir, 'cronsync-acme-foo.timer'));
    const mutations = runner.mutations().length;

    const next = await rec.reconcile();

    expect(next.result).toBe('ok');
    expect(next.changes).toBe(false);
    expect(lstatSync(join(unitDir, 'cronsync-acme-foo.timer')).isSymbolicLink()).toBe(true);
    expect(runner.mutations().length).toBe(mutations);
  });
});

describe('reconcile over systemd: states and removals', () => {
  it('a broken foreign cronsync-* timer fails no sync', async () => {
    const { unitDir, runner, rec } = setup({ 'a.yaml': manifest('a') });
    writeFileSync(join(unitDir, 'cronsync-zz-broken.timer'), '[Timer\nOnCalendar=daily\n');

    const first = await rec.reconcile();
    const second = await rec.reconcile();

    expect([first.result, second.result]).toEqual(['ok', 'ok']);
    expect(runner.state.enabled).toEqual(new Set(['cronsync-acme-a.timer']));
    expect(second.changes).toBe(false);
  });

  it('a masked timer is reported and never enabled; a new job of the same sync is enabled', async () => {
    const { runner, source, rec } = setup({ 'a.yaml': manifest('a') });
    await rec.reconcile();
    runner.state.masked.set('cronsync-acme-a.timer', 'masked');
    runner.state.active.delete('cronsync-acme-a.timer');
    source.files.set('b.yaml', manifest('b'));
    source.commit();
    const mutations = runner.mutations().length;

    const next = await rec.reconcile();
    const again = await rec.reconcile();

    expect(next.result).toBe('partial');
    expect(rows(next)).toEqual([['acme/a', 'invalid'], ['acme/b', 'installed']]);
    expect(next.status.jobs[0]!.reason).toMatch(/cronsync-acme-a\.timer is masked \(systemctl is-enabled: masked\), an administrator's choice/);
    expect(runner.mutations().slice(mutations)).toEqual([['systemctl', 'daemon-reload'], ['systemctl', 'enable', '--now', 'cronsync-acme-b.timer']]);
    expect(again.changes).toBe(false);
  });

  it('a masked service (in a directory systemd prefers) is reported and its timer left as it is; unmasked it is driven again; removed, its timer is disabled', async () => {
    const { unitDir, runner, source, rec } = setup({ 'a.yaml': manifest('a') });
    await rec.reconcile();
    runner.state.masked.set('cronsync-acme-a.service', 'masked');
    runner.state.active.delete('cronsync-acme-a.timer');
    source.files.set('b.yaml', manifest('b'));
    source.commit();
    const mutations = runner.mutations().length;

    const next = await rec.reconcile();
    const again = await rec.reconcile();

    expect(next.result).toBe('partial');
    expect(rows(next)).toEqual([['acme/a', 'invalid'], ['acme/b', 'installed']]);
    expect(next.status.jobs[0]!.reason).toMatch(/cronsync-acme-a\.service is masked \(systemctl show: LoadState=masked\), an administrator's choice: its timer starts nothing, and cronsync leaves cronsync-acme-a\.timer as it is/);
    expect(runner.mutations().slice(mutations)).toEqual([['systemctl', 'daemon-reload'], ['systemctl', 'enable', '--now', 'cronsync-acme-b.timer']]);
    expect(again.changes).toBe(false);

    // Unmasked: the next sync starts its timer again.
    runner.state.masked.delete('cronsync-acme-a.service');
    const unmasked = await rec.reconcile();
    expect(rows(unmasked)).toEqual([['acme/a', 'installed'], ['acme/b', 'installed']]);
    expect(runner.state.active).toEqual(new Set(['cronsync-acme-a.timer', 'cronsync-acme-b.timer']));

    // Masked again, then removed: its timer is disabled and stopped, and both files go.
    runner.state.masked.set('cronsync-acme-a.service', 'masked');
    source.files.delete('a.yaml');
    source.commit();
    const removed = await rec.reconcile();
    expect(removed.result).toBe('ok');
    expect([runner.state.enabled, runner.state.active]).toEqual([new Set(['cronsync-acme-b.timer']), new Set(['cronsync-acme-b.timer'])]);
    expect(lstatSync(join(unitDir, 'cronsync-acme-a.timer'), { throwIfNoEntry: false })).toBeUndefined();
    expect(lstatSync(join(unitDir, 'cronsync-acme-a.service'), { throwIfNoEntry: false })).toBeUndefined();
  });

  it('a removal interrupted between the .timer and the .service converges: the leftover .service goes, no sync fails', async () => {
    const { unitDir, runner, source, rec } = setup({ 'a.yaml': manifest('a'), 'd.yaml': manifest('d') });
    await rec.reconcile();
    rmSync(join(unitDir, 'cronsync-acme-d.timer'));
    source.files.delete('d.yaml');
    source.commit();
    const mutations = runner.mutations().length;

    const first = await rec.reconcile();
    const second = await rec.reconcile();

    expect([first.result, second.result]).toEqual(['ok', 'ok']);
    expect(runner.mutations().slice(mutations)).toEqual([['systemctl', 'daemon-reload']]);
    expect(lstatSync(join(unitDir, 'cronsync-acme-d.service'), { throwIfNoEntry: false })).toBeUndefined();
    expect(second.changes).toBe(false);
  });
});
