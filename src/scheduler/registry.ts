/**
 * The scheduler registry (renovate's manager map): the one way an adapter is created, the
 * kinds the CLI accepts, and the `auto` resolution of SPEC §3 `scheduler.kind`. A new kind is
 * its folder plus one line in {@link SCHEDULERS}.
 */
import { SchedulerError } from '../errors.js';
import { cronDScheduler, crontabScheduler, embeddedScheduler, windowsScheduler } from './definitions.js';
import type { HostProbe, Rejection, SchedulerConfig, SchedulerDeps, SchedulerRegistration } from './registration.js';
import type { SchedulerAdapter, SchedulerKind } from './types.js';
import { systemdScheduler } from './systemd/definition.js';

export type {
  Detection, DetectContext, HostProbe, InProcessDeps, Rejection, SchedulerConfig, SchedulerDeps, SchedulerRegistration,
} from './registration.js';
export { defineScheduler, lazyModule, orList } from './registration.js';
export type { LazyModule } from './registration.js';

/** Every registered kind, in the order `auto` considers them. */
export const SCHEDULERS: readonly SchedulerRegistration[] = [
  windowsScheduler,
  cronDScheduler,
  systemdScheduler,
  crontabScheduler,
  embeddedScheduler,
];

/** The scheduler settings of SPEC §3 when no config is given (`render` without `--config`). */
export const DEFAULT_SCHEDULER_CONFIG: SchedulerConfig = {
  scheduler: { kind: 'auto', cronDir: '/etc/cron.d', unitDir: '/etc/systemd/system', taskFolder: '\\cronsync' },
  stateDir: '/var/lib/cronsync',
};

/** The registered kinds, in registration order. */
export function registeredKinds(registry: readonly SchedulerRegistration[] = SCHEDULERS): SchedulerKind[] {
  return registry.map((r) => r.kind);
}

/** Every name the CLI accepts for a kind (kinds and their aliases), in registration order. */
export function schedulerNames(registry: readonly SchedulerRegistration[] = SCHEDULERS): string[] {
  return registry.flatMap((r) => [r.kind, ...(r.aliases ?? [])]);
}

/** The kind a CLI name (a kind or an alias, `crond`) stands for; undefined when none. */
export function kindOfName(name: string, registry: readonly SchedulerRegistration[] = SCHEDULERS): SchedulerKind | undefined {
  return registry.find((r) => r.kind === name || r.aliases?.includes(name))?.kind;
}

/**
 * The registration of `kind`.
 * @throws {SchedulerError} when the kind is not registered (e.g. `systemd` in this build).
 */
export function registrationOf(kind: SchedulerKind, registry: readonly SchedulerRegistration[] = SCHEDULERS): SchedulerRegistration {
  const r = registry.find((x) => x.kind === kind);
  if (!r) {
    throw new SchedulerError(`scheduler "${kind}" is not available in this build (available: ${registeredKinds(registry).join(', ')})`, { kind });
  }
  return r;
}

/**
 * Imports the implementation of `kind`, which {@link createAdapter} (and a registration's
 * `create`) needs; only the kinds a process uses are ever loaded. Idempotent.
 * @throws {SchedulerError} when the kind is not registered.
 */
export async function loadScheduler(kind: SchedulerKind, registry: readonly SchedulerRegistration[] = SCHEDULERS): Promise<void> {
  await registrationOf(kind, registry).load?.();
}

/** Imports every registered kind (`render` of all kinds, the adapter contract suite). */
export async function loadSchedulers(registry: readonly SchedulerRegistration[] = SCHEDULERS): Promise<void> {
  await Promise.all(registry.map((r) => r.load?.()));
}

/**
 * Creates the adapter of `kind`: its settings from `config`, built over `deps`. The kind must
 * have been loaded ({@link loadScheduler}).
 * @throws {SchedulerError} when the kind is not registered or not loaded.
 */
export function createAdapter(kind: SchedulerKind, config: SchedulerConfig, deps: SchedulerDeps, registry: readonly SchedulerRegistration[] = SCHEDULERS): SchedulerAdapter {
  const r = registrationOf(kind, registry);
  return r.create(r.options(config, deps), deps);
}

/** The outcome of `auto`: the kind and why, for the status file. */
export interface Resolution {
  kind: SchedulerKind;
  reason: string;
}

/**
 * Picks the scheduler for `kind: auto`: the first registered kind whose detect function finds
 * it on this host (windows on win32; cron.d when root, the cron dir exists and a cron daemon is
 * installed or running; crontab when a `crontab` program is on PATH; else embedded).
 * @throws {SchedulerError} when no kind is found (cannot happen while embedded is registered).
 */
export function resolveAuto(probe: HostProbe, config: SchedulerConfig = DEFAULT_SCHEDULER_CONFIG, registry: readonly SchedulerRegistration[] = SCHEDULERS): Resolution {
  const rejected: Rejection[] = [];
  for (const r of registry) {
    const d = r.detect?.({ probe, config, rejected });
    if (!d) continue;
    if (d.found) return { kind: r.kind, reason: d.reason };
    rejected.push({ kind: r.kind, reason: d.reason });
  }
  throw new SchedulerError(`no scheduler found on this host (${rejected.map((r) => `${r.kind}: ${r.reason}`).join('; ')})`, {});
}
