import { describe, expect, it } from 'vitest';
import type { HostProbe } from '../../../src/scheduler/registry.js';
import { resolveAuto } from '../../../src/scheduler/registry.js';
import { systemdScheduler } from '../../../src/scheduler/systemd/definition.js';
import { schedulerConfig, schedulerDeps } from '../fixtures.js';

function probe(over: Partial<HostProbe> & { paths?: string[]; running?: string[]; path?: string[] }): HostProbe {
  return {
    platform: 'linux',
    isRoot: true,
    exists: (p) => (over.paths ?? []).includes(p),
    onPath: (p) => (over.path ?? []).includes(p),
    processRunning: (n) => (over.running ?? []).includes(n),
    ...over,
  };
}

const SYSTEMD = '/run/systemd/system';

describe('scheduler/systemd/definition', () => {
  it.each([
    { name: 'systemd PID 1, no cron, root', p: probe({ paths: [SYSTEMD, '/etc/cron.d'], path: ['crontab'] }), want: { kind: 'systemd', reason: 'systemd is PID 1 (/run/systemd/system) and no cron daemon is installed; system units' } },
    { name: 'systemd PID 1, no cron, a user', p: probe({ isRoot: false, paths: [SYSTEMD], path: ['crontab'] }), want: { kind: 'systemd', reason: 'systemd is PID 1 (/run/systemd/system) and no cron daemon is installed; user units (systemctl --user)' } },
    { name: 'systemd and cron, root', p: probe({ paths: [SYSTEMD, '/etc/cron.d', '/usr/sbin/cron'], path: ['crontab'] }), want: { kind: 'cron.d', reason: 'root, /etc/cron.d present, /usr/sbin/cron installed' } },
    { name: 'systemd and cronie, a user', p: probe({ isRoot: false, paths: [SYSTEMD, '/usr/sbin/crond'], path: ['crontab'] }), want: { kind: 'crontab', reason: 'not root; systemd is PID 1 but /usr/sbin/crond installed; crontab found on PATH' } },
    { name: 'systemd and a running cron, no cron.d', p: probe({ paths: [SYSTEMD], running: ['cron'], path: ['crontab'] }), want: { kind: 'crontab', reason: '/etc/cron.d missing; systemd is PID 1 but cron daemon running; crontab found on PATH' } },
    { name: 'no systemd', p: probe({ isRoot: false, path: ['crontab'] }), want: { kind: 'crontab', reason: 'not root; crontab found on PATH; no cron daemon found; its entries fire only once one runs' } },
  ])('auto: $name → $want.kind', ({ p, want }) => {
    expect(resolveAuto(p, schedulerConfig({ cronDir: '/etc/cron.d' }))).toEqual(want);
  });

  it('is not considered off Linux', () => {
    expect(systemdScheduler.detect!({ probe: probe({ platform: 'darwin', paths: [SYSTEMD] }), config: schedulerConfig(), rejected: [] })).toBeNull();
  });

  it('root: system units in scheduler.unitDir, services as scheduler.user; a user: user units', () => {
    const root = systemdScheduler.options(schedulerConfig({ unitDir: '/srv/units', user: undefined }), schedulerDeps());
    const alice = systemdScheduler.options(schedulerConfig({ user: undefined }), schedulerDeps({ identity: { user: 'alice', isRoot: false } }));
    const custom = systemdScheduler.options(schedulerConfig({ unitDir: '/srv/units', user: undefined }), schedulerDeps({ identity: { user: 'alice', isRoot: false } }));

    expect(root).toMatchObject({ mode: 'system', unitDir: '/srv/units', user: 'root' });
    expect(alice).toMatchObject({ mode: 'user', user: 'alice' });
    expect(alice.unitDir).toMatch(/\/systemd\/user$/);
    expect(custom.unitDir).toBe('/srv/units');
    expect(systemdScheduler.runAs!(alice)).toBe('alice');
  });
});
