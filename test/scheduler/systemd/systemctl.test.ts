import { describe, expect, it } from 'vitest';
import { createSystemctl } from '../../../src/scheduler/systemd/systemctl.js';
import { FakeRunner } from '../../fakes/FakeRunner.js';
import { signal } from '../fixtures.js';

describe('scheduler/systemd/systemctl', () => {
  it('reads each timer\'s state from one is-enabled, one is-active and one show call, whatever their exit codes', async () => {
    const runner = new FakeRunner((cmd) => {
      if (cmd.args[1] === 'is-enabled') return { exitCode: 1, stdout: 'enabled\ndisabled\n' };
      if (cmd.args[1] === 'is-active') return { exitCode: 3, stdout: 'active\ninactive\n' };
      // systemd prints the properties in its own order (Id, …, LoadState, …, NeedDaemonReload).
      return { stdout: 'Id=a.timer\nLoadState=loaded\nNeedDaemonReload=no\n\nId=b.timer\nLoadState=loaded\nNeedDaemonReload=no\n\nId=a.service\nLoadState=masked\nNeedDaemonReload=no\n\nId=b.service\nLoadState=loaded\nNeedDaemonReload=yes\n' };
    });

    const states = await createSystemctl({ runner, user: true }).states(['a.timer', 'b.timer'], signal);

    expect(states).toEqual(new Map([['a.timer', { enabled: true, active: true, stale: false, unitFileState: 'enabled', serviceMasked: true }], ['b.timer', { enabled: false, active: false, stale: true, unitFileState: 'disabled' }]]));
    expect(runner.calls.map((c) => c.argv)).toEqual([
      ['systemctl', '--user', 'is-enabled', 'a.timer', 'b.timer'],
      ['systemctl', '--user', 'is-active', 'a.timer', 'b.timer'],
      ['systemctl', '--user', 'show', '--property=Id', '--property=LoadState', '--property=NeedDaemonReload', 'a.timer', 'b.timer', 'a.service', 'b.service'],
    ]);
  });

  it('fails with a SchedulerError when systemctl answers for fewer units than asked and names none, or cannot run', async () => {
    const short = new FakeRunner(() => ({ exitCode: 1, stdout: 'enabled\n', stderr: 'Failed to connect to bus: No such file or directory\n' }));
    const noSystemd = new FakeRunner(() => ({ exitCode: 1, stderr: 'System has not been booted with systemd as init system (PID 1). Can\'t operate.\n' }));

    await expect(createSystemctl({ runner: short, user: false }).states(['a.timer', 'b.timer'], signal)).rejects.toMatchObject({ code: 'CRONSYNC_SCHEDULER', message: expect.stringContaining('Failed to connect to bus') });
    await expect(createSystemctl({ runner: noSystemd, user: false }).run(['daemon-reload'], signal)).rejects.toMatchObject({ code: 'CRONSYNC_SCHEDULER', data: { argv: ['systemctl', 'daemon-reload'] } });
  });

  it('is-enabled stops at a unit it cannot read: that unit gets the error, the units after it are asked again', async () => {
    // systemd 252 prints the states before the unit it cannot read, then stops (exit 1).
    const runner = new FakeRunner((cmd) => {
      const units = cmd.args.slice(1);
      if (cmd.args[0] === 'is-enabled') {
        const bad = units.indexOf('b.timer');
        return bad < 0 ? { stdout: units.map(() => 'masked\n').join(''), exitCode: 1 } : { stdout: units.slice(0, bad).map(() => 'enabled\n').join(''), stderr: 'Failed to get unit file state for b.timer: Bad message\n', exitCode: 1 };
      }
      if (cmd.args[0] === 'is-active') return { stdout: units.map(() => 'inactive\n').join(''), exitCode: 3 };
      return { stdout: '' };
    });

    const states = await createSystemctl({ runner, user: false }).states(['a.timer', 'b.timer', 'c.timer'], signal);

    expect(states).toEqual(new Map([
      ['a.timer', { enabled: true, active: false, stale: false, unitFileState: 'enabled' }],
      ['b.timer', { enabled: false, active: false, stale: false, unitFileState: null, error: 'Bad message' }],
      ['c.timer', { enabled: false, active: false, stale: false, unitFileState: 'masked' }],
    ]));
    expect(runner.calls.map((c) => c.argv.slice(1)).filter((a) => a[0] === 'is-enabled')).toEqual([['is-enabled', 'a.timer', 'b.timer', 'c.timer'], ['is-enabled', 'c.timer']]);
  });

  it('runEach: one call; when systemctl refuses a unit it names, one call per unit, so the others still change', async () => {
    const runner = new FakeRunner((cmd) => (cmd.args.includes('b.timer') ? { exitCode: 1, stderr: 'Failed to enable unit: Unit file /etc/systemd/system/b.timer is masked.\n' } : {}));

    const failed = await createSystemctl({ runner, user: false }).runEach(['enable', '--now'], ['a.timer', 'b.timer', 'c.timer'], signal);

    expect([...failed.keys()]).toEqual(['b.timer']);
    expect(failed.get('b.timer')).toMatchObject({ code: 'CRONSYNC_SCHEDULER', message: 'systemctl enable --now b.timer failed (exit 1): Failed to enable unit: Unit file /etc/systemd/system/b.timer is masked.' });
    expect(runner.calls.map((c) => c.argv.slice(1))).toEqual([['enable', '--now', 'a.timer', 'b.timer', 'c.timer'], ['enable', '--now', 'a.timer'], ['enable', '--now', 'b.timer'], ['enable', '--now', 'c.timer']]);
  });

  it('runEach: a failure that names none of the units (the manager, permissions) is a SchedulerError, no retry per unit', async () => {
    const runner = new FakeRunner(() => ({ exitCode: 1, stderr: 'Failed to enable unit: Access denied\n' }));

    await expect(createSystemctl({ runner, user: false }).runEach(['enable', '--now'], ['a.timer', 'b.timer'], signal)).rejects.toMatchObject({ code: 'CRONSYNC_SCHEDULER', message: expect.stringContaining('Access denied') });
    expect(runner.calls).toHaveLength(1);
  });

  it.each`
    result                                                                                   | want
    ${{ stdout: 'yes\n' }}                                                                   | ${true}
    ${{ stdout: 'no\n' }}                                                                    | ${false}
    ${{ exitCode: 1, stderr: 'Failed to get user: User ID 1000 is not logged in or lingering\n' }} | ${false}
    ${{ exitCode: 127, spawnError: 'spawn loginctl ENOENT' }}                                | ${null}
  `('lingering: $result → $want', async ({ result, want }: { result: object; want: boolean | null }) => {
    expect(await createSystemctl({ runner: new FakeRunner(() => result), user: true }).lingering('alice', signal)).toBe(want);
  });
});
