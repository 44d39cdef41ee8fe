import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DesiredJob } from '../../../src/desired/types.js';
import type { InstalledEntry, Plan } from '../../../src/plan/types.js';
import { createSystemdAdapter } from '../../../src/scheduler/systemd/index.js';
import type { SystemdAdapterOptions } from '../../../src/scheduler/systemd/index.js';
import { nodeUnitDirFs } from '../../../src/scheduler/systemd/files.js';
import { fakeSystemctl } from '../../fakes/FakeSystemctl.js';
import type { FakeSystemctlOptions } from '../../fakes/FakeSystemctl.js';
import { SOURCE, desired, planOf, signal } from '../fixtures.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function setup(over: Partial<SystemdAdapterOptions> = {}, fake: Partial<FakeSystemctlOptions> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'systemd-adapter-'));
  dirs.push(dir);
  const unitDir = over.unitDir ?? dir;
  const runner = fakeSystemctl({ unitDir, ...fake });
  const adapter = createSystemdAdapter({
    sourceId: SOURCE, execCommand: { file: '/usr/bin/node', args: ['/opt/cronsync/dist/cli/launch.cjs'] }, stateDir: '/var/lib/cronsync',
    unitDir, mode: 'system', user: 'root', now: () => new Date('2026-06-01T00:00:00Z'), ...over,
  }, { runner });
  return { dir: unitDir, runner, adapter };
}

/** A plan removing `entries` and installing `final`. */
const planWith = (final: DesiredJob[], remove: InstalledEntry[] = []): Plan => ({ ...planOf(final), remove });

const backup = desired('backup', '0 2 * * *', { timezone: 'America/New_York' });
const held = desired('held', '*/10 * * * *', { paused: true });

describe('scheduler/systemd/index', () => {
  it('writes a unit pair per job (0644), reloads once, then enables and starts the timers of active jobs only', async () => {
    const { dir, runner, adapter } = await setup();

    const r = await adapter.apply(planWith([backup, held]), signal);

    expect((await readdir(dir)).sort()).toEqual(['cronsync-acme-backup.service', 'cronsync-acme-backup.timer', 'cronsync-acme-held.service', 'cronsync-acme-held.timer']);
    expect((await stat(join(dir, 'cronsync-acme-backup.timer'))).mode & 0o777).toBe(0o644);
    expect(runner.mutations()).toEqual([['systemctl', 'daemon-reload'], ['systemctl', 'enable', '--now', 'cronsync-acme-backup.timer']]);
    expect(r.changed).toBe(true);
    expect(runner.state.enabled).toEqual(new Set(['cronsync-acme-backup.timer']));
  });

  it('pauses with disable --now and keeps the files; resumes with enable --now', async () => {
    const { dir, runner, adapter } = await setup();
    await adapter.apply(planWith([backup]), signal);
    const paused = desired('backup', '0 2 * * *', { timezone: 'America/New_York', paused: true });

    await adapter.apply(planWith([paused]), signal);
    const afterPause = runner.mutations().slice(2);
    const inv = await adapter.inventory(signal);
    await adapter.apply(planWith([backup]), signal);

    expect(afterPause).toEqual([['systemctl', 'daemon-reload'], ['systemctl', 'disable', '--now', 'cronsync-acme-backup.timer']]);
    expect(inv[0]).toMatchObject({ paused: true, drifted: false });
    expect(await readdir(dir)).toHaveLength(2);
    expect(runner.state.active.has('cronsync-acme-backup.timer')).toBe(true);
  });

  it('removes a job: disable --now while its files exist, delete both, reload', async () => {
    const { dir, runner, adapter } = await setup();
    await adapter.apply(planWith([backup, held]), signal);
    const entry = (await adapter.inventory(signal)).find((e) => e.marker?.jobId === 'acme/backup')!;

    await adapter.apply(planWith([held], [entry]), signal);

    expect(runner.mutations().slice(2)).toEqual([['systemctl', 'disable', '--now', 'cronsync-acme-backup.timer'], ['systemctl', 'daemon-reload']]);
    expect((await readdir(dir)).sort()).toEqual(['cronsync-acme-held.service', 'cronsync-acme-held.timer']);
  });

  it('reports a timer stopped by hand, or an edited service, as drift; apply restores both', async () => {
    const { dir, runner, adapter } = await setup();
    await adapter.apply(planWith([backup]), signal);
    runner.state.active.delete('cronsync-acme-backup.timer');
    const service = join(dir, 'cronsync-acme-backup.service');
    const original = await readFile(service, 'utf8');
    await writeFile(service, original.replace('Type=oneshot', 'Type=oneshot\nNice=10'));

    const [drifted] = await adapter.inventory(signal);
    await adapter.apply(planWith([backup]), signal);
    const [restored] = await adapter.inventory(signal);

    expect(drifted).toMatchObject({ drifted: true, paused: true });
    expect(drifted!.raw).not.toBe(adapter.renderEntry(backup));
    expect(drifted!.raw).toMatch(/# systemd: the timer is enabled, inactive/);
    expect(restored).toMatchObject({ drifted: false, paused: false, raw: adapter.renderEntry(backup) });
    expect(await readFile(service, 'utf8')).toBe(original);
  });

  it('never overwrites a unit of that name that cronsync did not write', async () => {
    const { dir, adapter } = await setup();
    await writeFile(join(dir, 'cronsync-acme-backup.timer'), '[Timer]\nOnCalendar=daily\n');

    const inv = await adapter.inventory(signal);
    const r = await adapter.apply(planWith([backup]), signal);

    expect(inv).toEqual([expect.objectContaining({ key: 'systemd:cronsync-acme-backup', marker: null })]);
    expect(inv[0]!.raw.split('\n')[0]).toBe('# cronsync-acme-backup.timer: no cronsync marker');
    expect(r.failed).toEqual([{ id: 'acme/backup', error: expect.stringMatching(/a unit not made by cronsync is in the way \(cronsync-acme-backup\.service or \.timer in /) }]);
    expect(await readFile(join(dir, 'cronsync-acme-backup.timer'), 'utf8')).toBe('[Timer]\nOnCalendar=daily\n');
  });

  it('refuses two jobs that map to one unit name (a-b/c and a/b-c) and installs the first', async () => {
    const { dir, adapter } = await setup();
    const one = desired('c', '0 1 * * *', {}, 'a-b');
    const two = desired('b-c', '0 1 * * *', {}, 'a');

    const r = await adapter.apply(planWith([two, one]), signal);

    expect(r.failed).toEqual([{ id: 'a-b/c', error: 'its unit name cronsync-a-b-c is that of job a/b-c, installed first' }]);
    expect(await readFile(join(dir, 'cronsync-a-b-c.service'), 'utf8')).toContain(' a/b-c\n');
  });

  it('user mode: systemctl --user, no User=, and a warning when lingering is off', async () => {
    const { dir, runner, adapter } = await setup({ mode: 'user', user: 'alice' }, { linger: new Map([['alice', false]]) });

    const r = await adapter.apply(planWith([backup]), signal);

    expect(runner.mutations()).toEqual([['systemctl', '--user', 'daemon-reload'], ['systemctl', '--user', 'enable', '--now', 'cronsync-acme-backup.timer']]);
    expect(await readFile(join(dir, 'cronsync-acme-backup.service'), 'utf8')).not.toMatch(/^User=/m);
    expect(r.warnings).toEqual(['lingering is off for alice: its timers stop at logout (enable it with: loginctl enable-linger alice)']);
    expect(runner.calls.at(-1)!.argv).toEqual(['loginctl', 'show-user', 'alice', '--property=Linger', '--value']);
  });

  it('creates a missing unit dir (~/.config/systemd/user on a fresh account)', async () => {
    const base = await mkdtemp(join(tmpdir(), 'systemd-home-'));
    dirs.push(base);
    const { adapter } = await setup({ mode: 'user', user: 'alice', unitDir: join(base, '.config/systemd/user') }, { linger: new Map([['alice', true]]) });

    const r = await adapter.apply(planWith([backup]), signal);

    expect(r.warnings).toBeUndefined();
    expect(await readdir(join(base, '.config/systemd/user'))).toHaveLength(2);
  });

  it('turns a systemctl failure into a SchedulerError with argv, exit code and stderr', async () => {
    const { adapter } = await setup({}, { inject: (argv) => (argv[1] === 'daemon-reload' ? { exitCode: 1, stderr: 'Failed to reload daemon: Access denied\n' } : undefined) });

    const failed = adapter.apply(planWith([backup]), signal);

    await expect(failed).rejects.toMatchObject({
      code: 'CRONSYNC_SCHEDULER',
      message: 'systemctl daemon-reload failed (exit 1): Failed to reload daemon: Access denied',
      data: { argv: ['systemctl', 'daemon-reload'], exitCode: 1 },
    });
  });

  it('re-arms an active timer whose calendar changed', async () => {
    const { runner, adapter } = await setup();
    await adapter.apply(planWith([backup]), signal);

    await adapter.apply(planWith([desired('backup', '0 3 * * *', { timezone: 'America/New_York' })]), signal);

    expect(runner.mutations().slice(2)).toEqual([['systemctl', 'daemon-reload'], ['systemctl', 'restart', 'cronsync-acme-backup.timer']]);
  });

  it('after a crash between writing the files and the reload, the next sync reloads and re-arms', async () => {
    let failReload = false;
    const { runner, adapter } = await setup({}, { inject: (argv) => (failReload && argv[1] === 'daemon-reload' ? { exitCode: 1, stderr: 'Connection timed out\n' } : undefined) });
    await adapter.apply(planWith([backup]), signal);
    const v2 = desired('backup', '0 3 * * *', { timezone: 'America/New_York' });
    failReload = true;
    await expect(adapter.apply(planWith([v2]), signal)).rejects.toThrow(/daemon-reload/);
    failReload = false;
    const before = runner.mutations().length;

    const [entry] = await adapter.inventory(signal);
    await adapter.apply(planWith([v2]), signal);
    const [after] = await adapter.inventory(signal);

    expect(entry).toMatchObject({ drifted: true, raw: expect.stringContaining('daemon-reload needed') });
    expect(runner.mutations().slice(before)).toEqual([['systemctl', 'daemon-reload'], ['systemctl', 'restart', 'cronsync-acme-backup.timer']]);
    expect(after).toMatchObject({ drifted: false, raw: adapter.renderEntry(v2) });
  });
});

describe('scheduler/systemd: the unit directory', () => {
  // Node 20's recursive mkdir never returns under /proc/1: a regression fails on the timeout.
  it.skipIf(!existsSync('/proc/1'))('ensureDir fails at once with an IoError for a directory that cannot be created', { timeout: 10_000 }, async () => {
    await expect(nodeUnitDirFs.ensureDir('/proc/1/nope/system')).rejects.toThrow(expect.objectContaining({ code: 'CRONSYNC_IO', message: expect.stringMatching(/^Cannot create directory \/proc\/1\/nope\/system \(at \/proc\/1\/nope\)/) }));
  });
});
