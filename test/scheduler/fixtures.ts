/** Builders of desired jobs and plans for the scheduler tests. */
import type { DesiredJob } from '../../src/desired/types.js';
import type { Job, JobId } from '../../src/manifest/types.js';
import type { Plan } from '../../src/plan/types.js';
import { nullLogger } from '../../src/log.js';
import type { SchedulerConfig, SchedulerDeps } from '../../src/scheduler/registry.js';
import type { AdapterOptions } from '../../src/scheduler/types.js';
import { FakeRunner } from '../fakes/FakeRunner.js';

export const SOURCE = 'src-1a2b3c';

/** A valid desired job with defaults; `over` patches spec fields. */
export function desired(name: string, schedule: string, over: Partial<Job['spec']> = {}, tenant = 'acme'): DesiredJob {
  const job: Job = {
    apiVersion: 'v1',
    kind: 'Job',
    metadata: { name, tenant, labels: {}, annotations: {} },
    spec: {
      schedule,
      timezone: 'UTC',
      command: 'echo hi',
      args: [],
      env: {},
      checkin: { enabled: true, timeout: 3600 },
      retry: { enabled: false, attempts: 3, backoff: 'exponential', delay: '10s', maxDelay: '5m' },
      agent: { selector: {} },
      enabled: true,
      paused: false,
      concurrency: 'Forbid',
      ...over,
    },
  };
  const id = `${tenant}/${name}` as JobId;
  return {
    id,
    job,
    provenance: { sourceId: SOURCE, url: 'https://git.example.com/ops/jobs.git', ref: 'main', commit: 'a'.repeat(40), path: `jobs/${name}.yaml`, index: 0 },
    manifestHash: `hash-${name}-${schedule}-${JSON.stringify(over)}`.replace(/[^A-Za-z0-9-]/g, '_'),
  };
}

/** A plan that installs exactly `final`. */
export function planOf(final: DesiredJob[]): Plan {
  return { sourceId: SOURCE, final, add: [], update: [], remove: [], unchanged: [], kept: [], orphaned: [], conflicts: [], preserve: [] };
}

/** Adapter options for tests (host in UTC unless given). */
export function options(over: Partial<AdapterOptions> = {}): AdapterOptions {
  return {
    sourceId: SOURCE,
    user: 'root',
    cronDir: '/nonexistent',
    execCommand: { file: '/usr/bin/node', args: ['/opt/cronsync/dist/cli/launch.cjs'] },
    stateDir: '/var/lib/cronsync',
    hostZone: 'UTC',
    ...over,
  };
}

/** The scheduler part of an agent config (SPEC §3 defaults unless given). */
export function schedulerConfig(over: Partial<SchedulerConfig['scheduler']> = {}, stateDir = '/var/lib/cronsync'): SchedulerConfig {
  return { scheduler: { kind: 'auto', cronDir: '/nonexistent', unitDir: '/etc/systemd/system', taskFolder: '\\cronsync', user: 'root', ...over }, stateDir };
}

/** Shared scheduler dependencies for tests: no processes, a fixed clock, host in UTC unless given. */
export function schedulerDeps(over: Partial<SchedulerDeps> = {}): SchedulerDeps {
  return {
    sourceId: SOURCE,
    execCommand: { file: '/usr/bin/node', args: ['/opt/cronsync/dist/cli/launch.cjs'] },
    runner: new FakeRunner(),
    clock: { now: () => new Date('2026-06-01T00:00:00Z') },
    log: nullLogger,
    identity: { user: 'root', isRoot: true },
    crontabSpool: null,
    hostZone: 'UTC',
    ...over,
  };
}

/** A never-aborted signal. */
export const signal = new AbortController().signal;
