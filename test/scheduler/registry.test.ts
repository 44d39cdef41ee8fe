import { beforeAll, describe, expect, it } from 'vitest';
import { SchedulerError } from '../../src/errors.js';
import {
  SCHEDULERS, createAdapter, defineScheduler, kindOfName, lazyModule, loadScheduler, loadSchedulers, registeredKinds, registrationOf, resolveAuto, schedulerNames,
} from '../../src/scheduler/registry.js';
import type { HostProbe, SchedulerRegistration } from '../../src/scheduler/registry.js';
import type { SchedulerAdapter } from '../../src/scheduler/types.js';
import { isInProcess } from '../../src/scheduler/types.js';
import { schedulerConfig, schedulerDeps } from './fixtures.js';

/** The registry as it was before the systemd adapter: for tests of an unregistered kind. */
const WITHOUT_SYSTEMD = SCHEDULERS.filter((r) => r.kind !== 'systemd');

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
  beforeAll(() => loadSchedulers());

  it('imports an adapter\'s implementation only when its kind is loaded, once', async () => {
    let imports = 0;
    const impl = lazyModule('cron.d', async () => {
      imports++;
      return { create: () => ({ kind: 'cron.d' }) as SchedulerAdapter };
    });
    const reg = defineScheduler({ kind: 'cron.d', options: () => ({}), load: impl.load, create: () => impl.get().create() });

    expect(() => createAdapter('cron.d', schedulerConfig(), schedulerDeps(), [reg])).toThrow(/scheduler "cron.d" was used before loadScheduler\("cron.d"\) resolved/);
    expect(imports).toBe(0);
    await Promise.all([loadScheduler('cron.d', [reg]), loadScheduler('cron.d', [reg])]);
    expect(createAdapter('cron.d', schedulerConfig(), schedulerDeps(), [reg]).kind).toBe('cron.d');
    expect(imports).toBe(1);
  });

  it.each([
    { name: 'windows', p: probe({ platform: 'win32', paths: ['/etc/cron.d', '/usr/sbin/cron'] }), kind: 'windows' },
    { name: 'root with cron.d and /usr/sbin/cron', p: probe({ paths: ['/etc/cron.d', '/usr/sbin/cron'], path: ['crontab'] }), kind: 'cron.d' },
    { name: 'root with cron.d and a running crond', p: probe({ paths: ['/etc/cron.d'], running: ['crond'] }), kind: 'cron.d' },
    { name: 'root with cron.d and cronie installed (not running yet)', p: probe({ paths: ['/etc/cron.d', '/usr/sbin/crond'] }), kind: 'cron.d' },
    { name: 'root without a cron daemon', p: probe({ paths: ['/etc/cron.d'], path: ['crontab'] }), kind: 'crontab' },
    { name: 'not root', p: probe({ isRoot: false, paths: ['/etc/cron.d', '/usr/sbin/cron'], path: ['crontab'] }), kind: 'crontab' },
    { name: 'nothing', p: probe({ isRoot: false }), kind: 'embedded' },
  ])('auto picks $kind: $name', ({ p, kind }) => {
    const r = resolveAuto(p);

    expect(r.kind).toBe(kind);
    expect(r.reason.length).toBeGreaterThan(5);
  });

  it.each([
    { p: probe({ platform: 'win32' }), want: { kind: 'windows', reason: 'Windows host' } },
    { p: probe({ paths: ['/etc/cron.d', '/usr/sbin/cron'] }), want: { kind: 'cron.d', reason: 'root, /etc/cron.d present, /usr/sbin/cron installed' } },
    { p: probe({ paths: ['/etc/cron.d'], running: ['cron'] }), want: { kind: 'cron.d', reason: 'root, /etc/cron.d present, cron daemon running' } },
    { p: probe({ isRoot: false, path: ['crontab'] }), want: { kind: 'crontab', reason: 'not root; crontab found on PATH; no cron daemon found; its entries fire only once one runs' } },
    { p: probe({ isRoot: false, path: ['crontab'], running: ['crond'] }), want: { kind: 'crontab', reason: 'not root; crontab found on PATH' } },
    { p: probe({ path: ['crontab'] }), want: { kind: 'crontab', reason: '/etc/cron.d missing; crontab found on PATH; no cron daemon found; its entries fire only once one runs' } },
    { p: probe({ paths: ['/etc/cron.d'], path: ['crontab'] }), want: { kind: 'crontab', reason: 'no cron daemon found; crontab found on PATH; its entries fire only once one runs' } },
    { p: probe({}), want: { kind: 'embedded', reason: 'no cron.d or crontab available; using the in-process scheduler' } },
  ])('explains the choice for the status file: $want.reason', ({ p, want }) => {
    expect(resolveAuto(p)).toEqual(want);
  });

  it('looks for the cron dir of the config', () => {
    const p = probe({ paths: ['/srv/cron.d', '/usr/sbin/cron'] });

    expect(resolveAuto(p, schedulerConfig({ cronDir: '/srv/cron.d' }))).toEqual({ kind: 'cron.d', reason: 'root, /srv/cron.d present, /usr/sbin/cron installed' });
    expect(resolveAuto(p).kind).toBe('embedded');
  });

  it('lists the kinds in the order auto considers them, with the CLI names and aliases', () => {
    expect(registeredKinds()).toEqual(['windows', 'cron.d', 'systemd', 'crontab', 'embedded']);
    expect(schedulerNames()).toEqual(['windows', 'cron.d', 'crond', 'systemd', 'crontab', 'embedded']);
    expect([kindOfName('crond'), kindOfName('cron.d'), kindOfName('systemd'), kindOfName('launchd'), kindOfName('auto')]).toEqual(['cron.d', 'cron.d', 'systemd', undefined, undefined]);
  });

  it('creates every registered kind from the config once loaded, and refuses an unregistered one with a SchedulerError', async () => {
    for (const kind of registeredKinds()) {
      await loadScheduler(kind);
      expect(createAdapter(kind, schedulerConfig(), schedulerDeps()).kind).toBe(kind);
    }
    expect(() => createAdapter('systemd', schedulerConfig(), schedulerDeps(), WITHOUT_SYSTEMD)).toThrow(SchedulerError);
    await expect(loadScheduler('systemd', WITHOUT_SYSTEMD)).rejects.toThrow(SchedulerError);
    expect(() => registrationOf('systemd', WITHOUT_SYSTEMD)).toThrow(/scheduler "systemd" is not available in this build \(available: windows, cron.d, crontab, embedded\)/);
  });

  it('derives each kind\'s settings from the config and the shared dependencies', () => {
    const cfg = schedulerConfig({ cronDir: '/srv/cron.d', user: undefined, taskFolder: '\\ops\\jobs' }, '/srv/state');
    const deps = schedulerDeps({ identity: { user: 'alice', isRoot: false }, hostZone: 'Europe/Berlin' });

    expect(registrationOf('cron.d').options(cfg, deps)).toMatchObject({ sourceId: deps.sourceId, user: 'alice', cronDir: '/srv/cron.d', stateDir: '/srv/state', hostZone: 'Europe/Berlin', execCommand: deps.execCommand });
    expect(registrationOf('windows').options(cfg, deps)).toMatchObject({ taskFolder: '\\ops\\jobs', user: undefined, stateDir: '/srv/state', hostZone: 'Europe/Berlin' });
    expect(registrationOf('windows').options(schedulerConfig({ user: 'svc-jobs' }), deps)).toMatchObject({ user: 'svc-jobs' });
    expect(registrationOf('embedded').options(cfg, deps)).toMatchObject({ sourceId: deps.sourceId, stateDir: '/srv/state' });
  });

  it('marks the embedded kind in-process: only it is started by the daemon', () => {
    const inProcess = SCHEDULERS.filter((r) => r.inProcess).map((r) => r.kind);
    const embedded = createAdapter('embedded', schedulerConfig(), schedulerDeps());
    const crond = createAdapter('cron.d', schedulerConfig(), schedulerDeps());

    expect(inProcess).toEqual(['embedded']);
    expect(isInProcess(embedded)).toBe(true);
    expect(isInProcess(crond)).toBe(false);
  });

  it('takes a new kind from one registration: created, detected by auto in order, named by the CLI', () => {
    const fake = { kind: 'systemd' } as SchedulerAdapter;
    const systemd: SchedulerRegistration = defineScheduler({
      kind: 'systemd',
      options: (config) => ({ unitDir: config.scheduler.unitDir }),
      create: (o) => ({ ...fake, unitDir: o.unitDir }) as SchedulerAdapter,
      detect: ({ probe: p }) => (p.exists('/run/systemd/system') ? { found: true, reason: 'systemd running' } : { found: false, reason: 'no systemd' }),
    });
    const registry = [...WITHOUT_SYSTEMD.slice(0, 3), systemd, ...WITHOUT_SYSTEMD.slice(3)];

    expect(createAdapter('systemd', schedulerConfig(), schedulerDeps(), registry)).toMatchObject({ kind: 'systemd', unitDir: '/etc/systemd/system' });
    expect(resolveAuto(probe({ isRoot: false, paths: ['/run/systemd/system'] }), undefined, registry)).toEqual({ kind: 'systemd', reason: 'systemd running' });
    expect(resolveAuto(probe({ isRoot: false }), undefined, registry).reason).toBe('no cron.d, crontab or systemd available; using the in-process scheduler');
    expect(schedulerNames(registry)).toContain('systemd');
  });
});
