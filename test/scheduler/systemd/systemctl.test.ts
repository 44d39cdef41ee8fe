import { describe, expect, it } from 'vitest';
import { createSystemctl } from '../../../src/scheduler/systemd/systemctl.js';
import { FakeRunner } from '../../fakes/FakeRunner.js';
import { signal } from '../fixtures.js';

describe('scheduler/systemd/systemctl', () => {
  it('reads each timer\'s state from one is-enabled, one is-active and one show call, whatever their exit codes', async () => {
    const runner = new FakeRunner((cmd) => {
      if (cmd.args[1] === 'is-enabled') return { exitCode: 1, stdout: 'enabled\ndisabled\n' };
      if (cmd.args[1] === 'is-active') return { exitCode: 3, stdout: 'active\ninactive\n' };
      return { stdout: 'Id=a.timer\nNeedDaemonReload=no\n\nId=b.timer\nNeedDaemonReload=no\n\nId=a.service\nNeedDaemonReload=no\n\nId=b.service\nNeedDaemonReload=yes\n' };
    });

    const states = await createSystemctl({ runner, user: true }).states(['a.timer', 'b.timer'], signal);

    expect(states).toEqual(new Map([['a.timer', { enabled: true, active: true, stale: false }], ['b.timer', { enabled: false, active: false, stale: true }]]));
    expect(runner.calls.map((c) => c.argv)).toEqual([
      ['systemctl', '--user', 'is-enabled', 'a.timer', 'b.timer'],
      ['systemctl', '--user', 'is-active', 'a.timer', 'b.timer'],
      ['systemctl', '--user', 'show', '--property=Id', '--property=NeedDaemonReload', 'a.timer', 'b.timer', 'a.service', 'b.service'],
    ]);
  });

  it('fails with a SchedulerError when systemctl answers for fewer units than asked, or cannot run', async () => {
    const missing = new FakeRunner(() => ({ exitCode: 1, stdout: 'enabled\n', stderr: 'Failed to get unit file state for b.timer: No such file or directory\n' }));
    const noSystemd = new FakeRunner(() => ({ exitCode: 1, stderr: 'System has not been booted with systemd as init system (PID 1). Can\'t operate.\n' }));

    await expect(createSystemctl({ runner: missing, user: false }).states(['a.timer', 'b.timer'], signal)).rejects.toMatchObject({ code: 'CRONSYNC_SCHEDULER', message: expect.stringContaining('Failed to get unit file state for b.timer') });
    await expect(createSystemctl({ runner: noSystemd, user: false }).run(['daemon-reload'], signal)).rejects.toMatchObject({ code: 'CRONSYNC_SCHEDULER', data: { argv: ['systemctl', 'daemon-reload'] } });
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
