/**
 * What the registry holds for each scheduler kind (renovate's manager definition): how to
 * derive its settings from the agent config, how to build it over the shared dependencies, and
 * how `auto` detects it. No adapter code, so an adapter folder can import it without a cycle.
 */
import type { AgentConfig } from '../config/types.js';
import { SchedulerError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Runner } from '../system/runner.js';
import type { Horizon } from './cronline/zones.js';
import type { CrontabSpool } from './crontab/spool.js';
import type { RunJob, TimerPort } from './embedded/loop.js';
import type { ExecCommand, SchedulerAdapter, SchedulerKind } from './types.js';

/** The part of the agent config the schedulers read (SPEC §3 `scheduler`, `stateDir`). */
export type SchedulerConfig = Pick<AgentConfig, 'scheduler' | 'stateDir'>;

/** The runtime an in-process scheduler needs; only `cronsync daemon` supplies one. */
export interface InProcessDeps {
  /** Runs a due job in process (the daemon wires the shim's runExec with scheduled: true). */
  runJob: RunJob;
  /** Earlier source ids of this agent, whose installed jobs keep running until migrated. */
  previousSourceIds?: () => Promise<readonly string[]>;
  /** Timers [Node's, unref'd]. */
  timers?: TimerPort;
}

/** Dependencies every kind is built over; each takes what it needs. */
export interface SchedulerDeps {
  /** Source id of this agent; only entries carrying it are ours. */
  sourceId: string;
  /** What scheduler entries run (`cronsync exec`). */
  execCommand: ExecCommand;
  runner: Runner;
  clock: { now(): Date };
  log: Logger;
  /** The agent's user and whether it is root; default: from the OS. */
  identity?: { user: string; isRoot: boolean };
  /** Direct reads of the crontab spool (crontab); null: always `crontab -l`; default: Debian's. */
  crontabSpool?: CrontabSpool | null;
  /** IANA zone of the host's scheduler (`render --host-zone`); default: this process's zone. */
  hostZone?: string;
  /** Years scanned for DST transitions when translating schedules (tests only). */
  horizon?: Horizon;
  /** In-process runtime (the daemon's); absent in one-shot commands. */
  inProcess?: InProcessDeps;
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

/** A kind `auto` considered and passed over, and why. */
export interface Rejection {
  kind: SchedulerKind;
  reason: string;
}

/** What a kind's detect function sees. */
export interface DetectContext {
  probe: HostProbe;
  config: SchedulerConfig;
  /** The kinds considered before this one (registration order) and why each was passed over. */
  rejected: readonly Rejection[];
}

/**
 * A kind's verdict for `auto`: `found` with the reason the status file shows, or not, with why
 * not; null when the kind does not apply to this platform at all (not worth mentioning).
 */
export type Detection = { found: boolean; reason: string } | null;

/**
 * SchedulerRegistration is one kind in the registry. `O` is the adapter's own settings type.
 * Methods (not function properties) so that registrations of any `O` fit one list.
 */
export interface SchedulerRegistration<O = unknown> {
  readonly kind: SchedulerKind;
  /** Other names the CLI accepts for it (`crond`). */
  readonly aliases?: readonly string[];
  /** The OS its entries run on, when not necessarily this one (`render`'s default state dir). */
  readonly targetPlatform?: NodeJS.Platform;
  /** Its jobs run inside `cronsync daemon` (needs {@link SchedulerDeps.inProcess} to run them). */
  readonly inProcess?: boolean;
  /** Its settings from the config and the shared dependencies. Pure. @throws {ConfigError} */
  options(config: SchedulerConfig, deps: SchedulerDeps): O;
  /**
   * Imports the adapter's implementation; absent when there is nothing to import. A process
   * loads only the kind it uses (see `loadScheduler`), so {@link create} may rely on it.
   */
  load?(): Promise<void>;
  /** Builds the adapter. @throws {SchedulerError} when {@link load} has not resolved yet. */
  create(options: O, deps: SchedulerDeps): SchedulerAdapter;
  /** The account its entries run `cronsync exec` as, when configured (checked against the agent's). */
  runAs?(options: O): string | undefined;
  /** Whether `auto` picks it on this host; absent: `auto` never picks it. */
  detect?(ctx: DetectContext): Detection;
}

/**
 * The implementation module of a kind, imported on demand: `load` imports it once, `get`
 * returns it after that. Keeps the registry's metadata static and each adapter's code lazy.
 */
export interface LazyModule<M> {
  load(): Promise<void>;
  /** @throws {SchedulerError} when `load` has not resolved yet (a wiring bug). */
  get(): M;
}

/** A {@link LazyModule} of kind `kind` whose module `importer` imports. */
export function lazyModule<M>(kind: SchedulerKind, importer: () => Promise<M>): LazyModule<M> {
  let loaded: M | undefined;
  let loading: Promise<void> | undefined;
  return {
    load: () => (loading ??= importer().then((m) => void (loaded = m))),
    get() {
      if (loaded === undefined) throw new SchedulerError(`scheduler "${kind}" was used before loadScheduler("${kind}") resolved`, { kind });
      return loaded;
    },
  };
}

/** Types a registration (infers `O` from `options`). */
export function defineScheduler<O>(registration: SchedulerRegistration<O>): SchedulerRegistration<O> {
  return registration;
}

/** `a`, `a or b`, `a, b or c`: kinds in a message. */
export function orList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)!}`;
}
