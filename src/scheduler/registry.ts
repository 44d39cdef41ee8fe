/**
 * The scheduler registry (renovate's manager map): one factory per kind, and the `auto`
 * resolution of SPEC §3 `scheduler.kind`.
 */
import { SchedulerError } from '../errors.js';
import { createCronDAdapter } from './crond/index.js';
import { createCrontabAdapter } from './crontab/index.js';
import type { AdapterOptions, AdapterPorts, SchedulerAdapter, SchedulerKind } from './types.js';

/** Builds an adapter from the shared options and ports. */
export type AdapterFactory = (options: AdapterOptions, ports: AdapterPorts) => SchedulerAdapter;

/** Every kind, in the order `auto` considers them. */
export const SCHEDULER_KINDS: readonly SchedulerKind[] = ['windows', 'cron.d', 'crontab', 'systemd', 'embedded'];

/** Creates a registry holding the cron adapters; other areas register theirs. */
export function createRegistry(): Map<SchedulerKind, AdapterFactory> {
  return new Map<SchedulerKind, AdapterFactory>([
    ['cron.d', (o) => createCronDAdapter(o)],
    ['crontab', (o, p) => createCrontabAdapter(o, p)],
  ]);
}

/**
 * Creates the adapter of `kind` from a registry.
 * @throws {SchedulerError} when no factory is registered for it.
 */
export function createAdapter(registry: ReadonlyMap<SchedulerKind, AdapterFactory>, kind: SchedulerKind, options: AdapterOptions, ports: AdapterPorts): SchedulerAdapter {
  const factory = registry.get(kind);
  if (!factory) {
    throw new SchedulerError(`scheduler "${kind}" is not available in this build (available: ${[...registry.keys()].join(', ')})`, { kind });
  }
  return factory(options, ports);
}

/** What `auto` looks at; injected so tests can describe any host. */
export interface HostProbe {
  platform: NodeJS.Platform;
  isRoot: boolean;
  /** Does this path exist (a directory or file)? */
  exists(path: string): boolean;
  /** Is a program with this name on PATH? */
  onPath(program: string): boolean;
  /** Is a process with this name running (e.g. via /proc/<pid>/comm)? */
  processRunning(name: string): boolean;
}

/** The outcome of `auto`: the kind and why, for the status file. */
export interface Resolution {
  kind: SchedulerKind;
  reason: string;
}

/**
 * Picks the scheduler for `kind: auto`: windows on win32; cron.d when root, the cron dir
 * exists and a cron daemon is installed or running; crontab when a `crontab` program is on
 * PATH; else embedded.
 */
export function resolveAuto(probe: HostProbe, cronDir = '/etc/cron.d'): Resolution {
  if (probe.platform === 'win32') return { kind: 'windows', reason: 'Windows host' };
  const daemon = probe.exists('/usr/sbin/cron')
    ? '/usr/sbin/cron installed'
    : probe.processRunning('cron') || probe.processRunning('crond')
      ? 'cron daemon running'
      : null;
  if (probe.isRoot && probe.exists(cronDir) && daemon) {
    return { kind: 'cron.d', reason: `root, ${cronDir} present, ${daemon}` };
  }
  if (probe.onPath('crontab')) {
    const why = !probe.isRoot ? 'not root' : !probe.exists(cronDir) ? `${cronDir} missing` : 'no cron daemon found';
    return { kind: 'crontab', reason: `${why}; crontab found on PATH` };
  }
  return { kind: 'embedded', reason: 'no cron.d or crontab available; using the in-process scheduler' };
}
