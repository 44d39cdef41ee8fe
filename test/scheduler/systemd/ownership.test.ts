/**
 * What the systemd adapter never touches (SPEC §4): a name of a job's pair that holds a link (a
 * mask to /dev/null, an alias), an empty file or anything but a regular file, and units another
 * cronsync source installed for another job. Each is left as it is and the job is reported.
 */
import { lstat, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSystemdAdapter } from '../../../src/scheduler/systemd/index.js';
import { desired, signal } from '../fixtures.js';
import { planWith, removeDirs, setupSystemd } from './helpers.js';

afterEach(removeDirs);

const backup = desired('backup', '0 2 * * *');
const d = desired('d', '0 3 * * *');

describe('scheduler/systemd: names held by something cronsync never writes', () => {
  it('a mask (both names linked to /dev/null) is left alone: the job is reported with the paths, nothing of it enabled', async () => {
    const { dir, runner, adapter } = await setupSystemd();
    await symlink('/dev/null', join(dir, 'cronsync-acme-d.timer'));
    await symlink('/dev/null', join(dir, 'cronsync-acme-d.service'));

    const inv = await adapter.inventory(signal);
    const why = adapter.occupied!(inv)(d);
    const r = await adapter.apply(planWith([backup, d], [], [backup, d]), signal);

    const reason = `${dir}/cronsync-acme-d.service is a symbolic link to /dev/null (masked); ${dir}/cronsync-acme-d.timer is a symbolic link to /dev/null (masked): cronsync leaves cronsync-acme-d.service and .timer alone (unmask or remove it to install this job)`;
    expect(inv).toEqual([{ key: 'systemd:cronsync-acme-d', marker: null, paused: false, drifted: false, raw: expect.stringContaining(`# ${dir}/cronsync-acme-d.service is a symbolic link to /dev/null (masked)`) }]);
    expect(why).toBe(reason);
    expect(r.failed).toEqual([{ id: 'acme/d', error: reason }]);
    expect(await readlink(join(dir, 'cronsync-acme-d.timer'))).toBe('/dev/null');
    expect(await readlink(join(dir, 'cronsync-acme-d.service'))).toBe('/dev/null');
    expect(runner.mutations()).toEqual([['systemctl', 'daemon-reload'], ['systemctl', 'enable', '--now', 'cronsync-acme-backup.timer']]);
  });

  it('an empty unit file (which systemd reads as masked) is someone else\'s too', async () => {
    const { dir, adapter } = await setupSystemd();
    await writeFile(join(dir, 'cronsync-acme-d.timer'), '');

    const why = adapter.occupied!(await adapter.inventory(signal))(d);
    const r = await adapter.apply(planWith([d], [], [d]), signal);

    expect(why).toMatch(/cronsync-acme-d\.timer is empty \(systemd reads an empty unit file as masked\)/);
    expect(r.failed).toEqual([{ id: 'acme/d', error: why }]);
    expect(await readFile(join(dir, 'cronsync-acme-d.timer'), 'utf8')).toBe('');
  });

  it('half of an installed pair masked: not drift, never restored, never deleted', async () => {
    const { dir, runner, adapter } = await setupSystemd();
    await adapter.apply(planWith([backup]), signal);
    const [entry] = await adapter.inventory(signal);
    const timer = await readFile(join(dir, 'cronsync-acme-backup.timer'), 'utf8');
    await rm(join(dir, 'cronsync-acme-backup.service'));
    await symlink('/dev/null', join(dir, 'cronsync-acme-backup.service'));
    const before = runner.mutations().length;

    const [masked] = await adapter.inventory(signal);
    const kept = await adapter.apply(planWith([backup]), signal);
    await adapter.apply(planWith([], [entry!]), signal);

    expect(masked).toMatchObject({ marker: null, drifted: false });
    expect(kept.failed).toEqual([{ id: 'acme/backup', error: expect.stringMatching(/cronsync-acme-backup\.service is a symbolic link to \/dev\/null \(masked\)/) }]);
    expect((await lstat(join(dir, 'cronsync-acme-backup.service'))).isSymbolicLink()).toBe(true);
    expect(await readFile(join(dir, 'cronsync-acme-backup.timer'), 'utf8')).toBe(timer);
    expect(runner.mutations().slice(before)).toEqual([]);
  });

  it('an alias (a link to another job\'s timer) is left alone and not read as a second copy of that job', async () => {
    const { dir, adapter } = await setupSystemd();
    await adapter.apply(planWith([backup]), signal);
    await symlink('cronsync-acme-backup.timer', join(dir, 'cronsync-acme-foo.timer'));

    const inv = await adapter.inventory(signal);

    expect(inv.map((e) => [e.key, e.marker?.jobId ?? null, e.drifted])).toEqual([['systemd:cronsync-acme-backup', 'acme/backup', false], ['systemd:cronsync-acme-foo', null, false]]);
    expect(inv[1]!.raw.split('\n')[0]).toBe(`# ${dir}/cronsync-acme-foo.timer is a symbolic link to cronsync-acme-backup.timer`);
  });
});

describe('scheduler/systemd: units of another cronsync source', () => {
  it('another source\'s job under the same unit name (a-b/c and a/b-c) is never overwritten', async () => {
    const { dir, runner, adapter } = await setupSystemd();
    const theirs = createSystemdAdapter({ sourceId: 'other-src', execCommand: { file: '/usr/bin/node', args: [] }, stateDir: '/var/lib/other', unitDir: dir, mode: 'system', user: 'root', now: () => new Date('2026-06-01T00:00:00Z') }, { runner });
    await theirs.apply({ ...planWith([desired('c', '0 1 * * *', {}, 'a-b')]), sourceId: 'other-src' }, signal);
    const service = await readFile(join(dir, 'cronsync-a-b-c.service'), 'utf8');
    const mine = desired('b-c', '0 5 * * *', {}, 'a');

    const why = adapter.occupied!(await adapter.inventory(signal))(mine);
    const r = await adapter.apply(planWith([mine], [], [mine]), signal);

    expect(why).toBe(`cronsync-a-b-c.service and .timer in ${dir} are job a-b/c of another cronsync source (other-src); they are left alone`);
    expect(r.failed).toEqual([{ id: 'a/b-c', error: why }]);
    expect(await readFile(join(dir, 'cronsync-a-b-c.service'), 'utf8')).toBe(service);
  });

  it('the same job of another source is the planner\'s conflict, not in the way: with --force (a plan adding it) it is rewritten', async () => {
    const { dir, runner, adapter } = await setupSystemd();
    const theirs = createSystemdAdapter({ sourceId: 'other-src', execCommand: { file: '/usr/bin/node', args: [] }, stateDir: '/var/lib/other', unitDir: dir, mode: 'system', user: 'root', now: () => new Date('2026-06-01T00:00:00Z') }, { runner });
    await theirs.apply({ ...planWith([backup]), sourceId: 'other-src' }, signal);

    const why = adapter.occupied!(await adapter.inventory(signal))(backup);
    const r = await adapter.apply(planWith([backup], [], [backup]), signal);

    expect(why).toBeNull();
    expect(r.failed).toBeUndefined();
    expect(await readFile(join(dir, 'cronsync-acme-backup.service'), 'utf8')).toContain('--state-dir /var/lib/cronsync acme/backup');
  });

  it('a foreign unit edited since the manager loaded it does not make a sync reload', async () => {
    const { dir, runner, adapter } = await setupSystemd();
    await writeFile(join(dir, 'cronsync-ops-own.timer'), '[Timer]\nOnCalendar=daily\n');
    await adapter.apply(planWith([backup]), signal);
    await writeFile(join(dir, 'cronsync-ops-own.timer'), '[Timer]\nOnCalendar=weekly\n');
    const before = runner.mutations().length;

    const r = await adapter.apply(planWith([backup]), signal);

    expect(runner.mutations().slice(before)).toEqual([]);
    expect(r.changed).toBe(false);
  });
});
