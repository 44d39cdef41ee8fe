/**
 * The timers' states in systemd (systemctl(1), "is-enabled output") and how apply drives them:
 * a timer systemctl cannot read is that timer's problem, a masked one the administrator's, one
 * enabled until reboot stays so, and one systemctl refuses holds back no other.
 */
import { access, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeSystemctl } from '../../fakes/FakeSystemctl.js';
import { desired, signal } from '../fixtures.js';
import { planWith, removeDirs, setupSystemd } from './helpers.js';

afterEach(removeDirs);

const backup = desired('backup', '0 2 * * *');
const held = desired('held', '*/10 * * * *', { paused: true });
const fresh = desired('fresh', '0 4 * * *');
const TIMER = 'cronsync-acme-backup.timer';
const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);

describe('scheduler/systemd: timers systemctl cannot read', () => {
  it('a broken foreign cronsync-* timer (is-enabled stops at it) fails no sync: only our timers are asked', async () => {
    const { dir, runner, adapter } = await setupSystemd();
    await writeFile(join(dir, 'cronsync-zz-broken.timer'), '[Timer\nOnCalendar=daily\n');

    await adapter.apply(planWith([backup, held]), signal);
    const inv = await adapter.inventory(signal);

    expect(inv.map((e) => [e.key, e.drifted])).toEqual([['systemd:cronsync-acme-backup', false], ['systemd:cronsync-acme-held', false], ['systemd:cronsync-zz-broken', false]]);
    expect(runner.state.enabled).toEqual(new Set([TIMER]));
    expect(runner.calls.filter((c) => c.argv[1] === 'is-enabled').every((c) => !c.argv.includes('cronsync-zz-broken.timer'))).toBe(true);
  });

  it('our timer broken by a hand edit is drift: apply rewrites and enables it', async () => {
    const { dir, runner, adapter } = await setupSystemd();
    await adapter.apply(planWith([backup, held]), signal);
    const text = await readFile(join(dir, TIMER), 'utf8');
    await writeFile(join(dir, TIMER), text.replace('[Timer]', '[Timer'));
    runner.state.enabled.delete(TIMER);

    const [broken] = await adapter.inventory(signal);
    const r = await adapter.apply(planWith([backup, held]), signal);

    expect(broken).toMatchObject({ drifted: true, raw: expect.stringContaining("# systemd: cannot read the timer's state (Bad message)") });
    expect(r.failed).toBeUndefined();
    expect(await readFile(join(dir, TIMER), 'utf8')).toBe(text);
    expect(runner.state.enabled.has(TIMER)).toBe(true);
  });

  it('our intact timer whose state systemd cannot read is reported, not driven', async () => {
    let broken = false;
    const { runner, adapter } = await setupSystemd({}, {
      inject: (argv) => (broken && argv[1] === 'is-enabled' && argv[2] === TIMER ? { exitCode: 1, stderr: `Failed to get unit file state for ${TIMER}: Bad message\n` } : undefined),
    });
    await adapter.apply(planWith([backup]), signal);
    broken = true;
    const before = runner.mutations().length;

    const inv = await adapter.inventory(signal);
    const why = adapter.occupied!(inv)(backup);
    await adapter.apply(planWith([backup]), signal);

    expect(inv[0]).toMatchObject({ drifted: false });
    expect(why).toBe(`systemd cannot read the state of ${TIMER} (Bad message); is the unit directory one systemd loads units from? cronsync neither starts nor enables it`);
    expect(runner.mutations().slice(before)).toEqual([]);
  });
});

describe('scheduler/systemd: masked and runtime states', () => {
  it('a masked timer is the administrator\'s: no drift, never enabled, reported; the other timers are enabled', async () => {
    const { runner, adapter } = await setupSystemd();
    await adapter.apply(planWith([backup]), signal);
    // `systemctl mask --now` in a unit directory the manager prefers to ours.
    runner.state.masked.set(TIMER, 'masked');
    runner.state.active.delete(TIMER);
    const before = runner.mutations().length;

    const inv = await adapter.inventory(signal);
    const why = adapter.occupied!(inv)(backup);
    const r = await adapter.apply(planWith([backup, fresh], [], [fresh]), signal);

    expect(inv[0]).toMatchObject({ marker: expect.objectContaining({ jobId: 'acme/backup' }), drifted: false });
    expect(why).toBe(`${TIMER} is masked (systemctl is-enabled: masked), an administrator's choice: cronsync neither starts nor enables it (systemctl unmask ${TIMER} lets it run)`);
    expect(r.failed).toBeUndefined();
    expect(runner.mutations().slice(before)).toEqual([['systemctl', 'daemon-reload'], ['systemctl', 'enable', '--now', 'cronsync-acme-fresh.timer']]);
    expect(runner.state.active.has(TIMER)).toBe(false);
  });

  it('a timer systemctl refuses (masked since the states were read) fails alone: the others are enabled', async () => {
    const admin: { fake?: FakeSystemctl } = {};
    const { runner, adapter } = await setupSystemd({}, {
      inject: (argv) => {
        if (argv[1] === 'daemon-reload') admin.fake?.state.masked.set('cronsync-acme-fresh.timer', 'masked');
        return undefined;
      },
    });
    admin.fake = runner;

    const r = await adapter.apply(planWith([backup, fresh]), signal);

    expect(r.failed).toEqual([{ id: 'acme/fresh', error: expect.stringMatching(/^systemctl enable --now cronsync-acme-fresh\.timer failed \(exit 1\): .* is masked\.$/) }]);
    expect(runner.state.enabled).toEqual(new Set([TIMER]));
    expect(r.written).toContain('systemctl enable --now cronsync-acme-backup.timer');
  });

  it('a timer enabled until reboot (enabled-runtime) is left so; pausing its job disables it with --runtime', async () => {
    const { runner, adapter } = await setupSystemd();
    await adapter.apply(planWith([backup]), signal);
    runner.state.enabled.delete(TIMER);
    runner.state.runtimeEnabled.add(TIMER);
    const before = runner.mutations().length;

    const [entry] = await adapter.inventory(signal);
    await adapter.apply(planWith([backup]), signal);
    const same = runner.mutations().slice(before);
    await adapter.apply(planWith([desired('backup', '0 2 * * *', { paused: true })]), signal);
    const [paused] = await adapter.inventory(signal);

    expect(entry).toMatchObject({ drifted: false, paused: false });
    expect(same).toEqual([]);
    expect(runner.mutations().slice(before)).toEqual([['systemctl', 'daemon-reload'], ['systemctl', 'disable', '--runtime', '--now', TIMER]]);
    expect(runner.state.runtimeEnabled.has(TIMER)).toBe(false);
    expect(paused).toMatchObject({ drifted: false, paused: true });
  });
});

describe('scheduler/systemd: removal', () => {
  it('after a crash between deleting the .timer and the .service, removal converges without disabling a missing unit', async () => {
    const { dir, runner, adapter } = await setupSystemd();
    await adapter.apply(planWith([backup, held]), signal);
    const entry = (await adapter.inventory(signal)).find((e) => e.marker?.jobId === 'acme/backup')!;
    await rm(join(dir, TIMER));
    const before = runner.mutations().length;

    const first = await adapter.apply(planWith([held], [entry]), signal);
    const second = await adapter.apply(planWith([held]), signal);

    expect(first.failed).toBeUndefined();
    expect(runner.mutations().slice(before)).toEqual([['systemctl', 'daemon-reload']]);
    expect(await exists(join(dir, 'cronsync-acme-backup.service'))).toBe(false);
    expect(second.changed).toBe(false);
  });

  it('a masked timer is only stopped (when it runs) before its files go; a refused disable keeps the files', async () => {
    let refuse = false;
    const { dir, runner, adapter } = await setupSystemd({}, { inject: (argv) => (refuse && argv[1] === 'disable' ? { exitCode: 1, stderr: 'Failed to disable unit: Unit file cronsync-acme-held.timer: Input/output error\n' } : undefined) });
    const on = desired('held', '*/10 * * * *');
    await adapter.apply(planWith([backup, on]), signal);
    const inv = await adapter.inventory(signal);
    runner.state.masked.set(TIMER, 'masked');
    refuse = true;
    const before = runner.mutations().length;

    const r = await adapter.apply(planWith([], inv), signal);

    expect(runner.mutations().slice(before)).toEqual([
      ['systemctl', 'disable', '--now', 'cronsync-acme-held.timer'],
      ['systemctl', 'stop', TIMER],
      ['systemctl', 'daemon-reload'],
    ]);
    expect(r.failed).toEqual([{ id: 'acme/held', error: expect.stringContaining('Input/output error') }]);
    expect(await exists(join(dir, TIMER))).toBe(false);
    expect(await exists(join(dir, 'cronsync-acme-held.timer'))).toBe(true);
  });
});
