import { describe, expect, it } from 'vitest';
import { SchedulerError } from '../../src/errors.js';
import { createAdapter, createRegistry, resolveAuto } from '../../src/scheduler/registry.js';
import type { HostProbe } from '../../src/scheduler/registry.js';
import { FakeRunner } from '../fakes/FakeRunner.js';
import { options } from './fixtures.js';

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

describe('scheduler/registry', () => {
  it.each([
    { name: 'windows', p: probe({ platform: 'win32', paths: ['/etc/cron.d', '/usr/sbin/cron'] }), kind: 'windows' },
    { name: 'root with cron.d and /usr/sbin/cron', p: probe({ paths: ['/etc/cron.d', '/usr/sbin/cron'], path: ['crontab'] }), kind: 'cron.d' },
    { name: 'root with cron.d and a running crond', p: probe({ paths: ['/etc/cron.d'], running: ['crond'] }), kind: 'cron.d' },
    { name: 'root without a cron daemon', p: probe({ paths: ['/etc/cron.d'], path: ['crontab'] }), kind: 'crontab' },
    { name: 'not root', p: probe({ isRoot: false, paths: ['/etc/cron.d', '/usr/sbin/cron'], path: ['crontab'] }), kind: 'crontab' },
    { name: 'nothing', p: probe({ isRoot: false }), kind: 'embedded' },
  ])('auto picks $kind: $name', ({ p, kind }) => {
    const r = resolveAuto(p);

    expect(r.kind).toBe(kind);
    expect(r.reason.length).toBeGreaterThan(5);
  });

  it('explains the cron.d choice for the status file', () => {
    expect(resolveAuto(probe({ paths: ['/etc/cron.d', '/usr/sbin/cron'] }))).toEqual({ kind: 'cron.d', reason: 'root, /etc/cron.d present, /usr/sbin/cron installed' });
  });

  it('creates the cron adapters and refuses unknown kinds with a SchedulerError', () => {
    const reg = createRegistry();
    const ports = { runner: new FakeRunner() };

    expect(createAdapter(reg, 'cron.d', options(), ports).kind).toBe('cron.d');
    expect(createAdapter(reg, 'crontab', options(), ports).kind).toBe('crontab');
    expect(() => createAdapter(reg, 'systemd', options(), ports)).toThrow(SchedulerError);
  });
});
