/**
 * Wiring: config → source, scheduler adapter and reconciler, shared by `sync`, `diff`,
 * `render` and `daemon`. The only place that picks the real ports.
 */
import { realpathSync } from 'node:fs';
import { userInfo } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/load.js';
import type { AgentConfig, SchedulerKindSetting } from '../config/types.js';
import { ConfigError, UsageError } from '../errors.js';
import { createLogger, nullLogger, parseLogLevel } from '../log.js';
import type { Logger } from '../log.js';
import { createReconciler } from '../reconcile/reconciler.js';
import type { Reconciler } from '../reconcile/reconciler.js';
import type { ReconcileSource, ReconcilerDeps } from '../reconcile/types.js';
import { elsewhereFinder } from '../scheduler/elsewhere.js';
import { nodeHostProbe } from '../scheduler/probe.js';
import { SCHEDULERS, kindOfName, loadScheduler, orList, registrationOf, resolveAuto, schedulerNames } from '../scheduler/registry.js';
import type { HostProbe, InProcessDeps, Resolution, SchedulerConfig, SchedulerDeps } from '../scheduler/registry.js';
import type { ExecCommand, SchedulerAdapter, SchedulerKind } from '../scheduler/types.js';
import { createFsStateStore } from '../state/fs-store.js';
import type { StateStore } from '../state/store.js';
import { systemClock } from '../system/clock.js';
import { nodeRunner } from '../system/runner.js';
import { commandInPath } from '../system/walk.js';
import { nodeProgram } from '../system/node-program.js';
import { createConfiguredSource } from './source.js';
import type { Snapshot } from '../source/index.js';
import type { CliIo } from './io.js';
import { hostOs } from '../system/platform.js';

/** Flags shared by the commands that talk to a source and a scheduler. */
export const AGENT_OPTIONS = {
  'state-dir': { type: 'string' },
  scheduler: { type: 'string' },
} as const;

/** Everything a command needs to reconcile. */
export interface Agent {
  config: AgentConfig;
  log: Logger;
  source: ReconcileSource;
  adapter: SchedulerAdapter;
  scheduler: Resolution;
  reconciler: Reconciler;
  /** The state dir of `config.stateDir`. */
  state: StateStore;
}

/**
 * A `--scheduler` value: `auto` or a registered kind or alias (`crond`), as the kind it names.
 * @throws {UsageError} for any other name.
 */
export function schedulerFlag(value: string): SchedulerKindSetting {
  if (value === 'auto') return 'auto';
  const kind = kindOfName(value);
  if (!kind) throw new UsageError(`--scheduler must be one of auto, ${schedulerNames().join(', ')} (got "${value}")`);
  return kind;
}

/** Loads the config with the common flag overrides. @throws {ConfigError} @throws {UsageError} */
export function loadAgentConfig(values: { config?: string; 'state-dir'?: string; scheduler?: string; 'log-level'?: string }, io: CliIo): AgentConfig {
  const scheduler = values.scheduler === undefined ? undefined : schedulerFlag(values.scheduler);
  return loadConfig({ file: values.config, env: io.env, cwd: io.cwd, overrides: { stateDir: values['state-dir'], 'scheduler.kind': scheduler, 'log.level': values['log-level'] } });
}

/**
 * The log level of a one-shot command (sync, diff, prune): `--log-level`, else
 * `CRONSYNC_LOG_LEVEL`, else warn; `log.level` of the file is the daemon's, not theirs.
 */
function oneShotLogLevel(values: { 'log-level'?: string }, env: NodeJS.ProcessEnv): string | undefined {
  return values['log-level'] ?? (env.CRONSYNC_LOG_LEVEL === undefined ? 'warn' : undefined);
}

/** The config of a one-shot command (sync, diff, prune): {@link loadAgentConfig} at its {@link oneShotLogLevel}. */
export function loadOneShotConfig(values: Parameters<typeof loadAgentConfig>[0], io: CliIo): AgentConfig {
  return loadAgentConfig({ ...values, 'log-level': oneShotLogLevel(values, io.env) }, io);
}

/**
 * The command scheduler entries run: this node (by the path it was started as, when that is a
 * symlink to it: src/system/node-program.ts) and this package's `dist/cli/launch.cjs`, the
 * CommonJS launcher (src/cli/launch.cts), which starts `exec` sooner than `dist/cli/main.js`.
 */
export function execCommand(started: string | undefined = process.argv[1]): ExecCommand {
  let launcher = fileURLToPath(new URL('./launch.cjs', import.meta.url));
  // Under the test runner this module is the TypeScript source; entries must run the build.
  launcher = launcher.replace(/[/\\]src[/\\]cli[/\\]launch\.cjs$/, '/dist/cli/launch.cjs');
  // Decided once per started path, at the first call: after an upgrade moves the package's
  // symlink, a daemon not yet restarted still names the link, not its own (old) version.
  let path = launcherPaths.get(started);
  if (path === undefined) launcherPaths.set(started, (path = startedPath(launcher, started)));
  return { file: nodeProgram(), args: [path] };
}

const launcherPaths = new Map<string | undefined, string>();

/**
 * `launcher` by way of the directory of `started` (the main script as this process was started)
 * when that is the launcher's directory through a symlink. Node runs modules by their real path:
 * a package installed as a symlink to a versioned directory (systemd/install.sh) would put that
 * version's path, which a later upgrade removes, into every entry instead of the link's.
 */
function startedPath(launcher: string, started: string | undefined): string {
  if (started === undefined) return launcher;
  const dir = dirname(resolve(started));
  if (dir === dirname(launcher)) return launcher;
  try {
    return realpathSync(dir) === dirname(launcher) ? join(dir, basename(launcher)) : launcher;
  } catch {
    return launcher;
  }
}

/** Picks the scheduler: the configured kind, or `auto` resolved on this host by the registry. */
export function resolveScheduler(cfg: SchedulerConfig, probe: HostProbe = nodeHostProbe): Resolution {
  if (cfg.scheduler.kind !== 'auto') return { kind: cfg.scheduler.kind, reason: `scheduler.kind is ${cfg.scheduler.kind} in the config` };
  return resolveAuto(probe, cfg);
}

/** The shared scheduler dependencies of this process: real runner and clock, this package's exec. */
export function schedulerDeps(sourceId: string, over: Partial<SchedulerDeps> = {}): SchedulerDeps {
  return { sourceId, execCommand: execCommand(), runner: nodeRunner, clock: systemClock, log: nullLogger, ...over };
}

/** Options of {@link buildAgent}. */
export interface BuildOptions {
  /** The logger; default: JSON lines on stderr (one-shot commands print their report on stdout). */
  log?: Logger;
  scheduler?: Resolution;
  /** The runtime of in-process schedulers (the daemon's); without it they are refused. */
  inProcess?: InProcessDeps;
  /** Picks the adapter for the source id: `build` makes a new one (the daemon keeps a running one). */
  adapterFor?: (sourceId: string, build: () => SchedulerAdapter) => SchedulerAdapter;
  daemonFacts?: ReconcilerDeps['daemonFacts'];
  /** Called with each snapshot the source returns, before the reconciler uses it. */
  afterFetch?: (snapshot: Snapshot) => void;
  /** Told how many files match once a git source has listed them, before it reads them. */
  onListed?: (files: number) => void;
}

/** Builds the agent from a loaded config. */
export async function buildAgent(cfg: AgentConfig, io: CliIo, opts: BuildOptions = {}): Promise<Agent> {
  const log = opts.log ?? createLogger({ level: parseLogLevel(cfg.log.level), destination: io.stderr as NodeJS.WritableStream, pretty: false, bindings: { agent: cfg.agent.name } });
  const fetched = await createConfiguredSource(cfg, log, process.cwd(), opts.onListed ? { onListed: opts.onListed } : {});
  const afterFetch = opts.afterFetch;
  const source: ReconcileSource = afterFetch ? { ...fetched, fetch: async (signal, previous) => {
    const snapshot = await fetched.fetch(signal, previous);
    afterFetch(snapshot);
    return snapshot;
  } } : fetched;
  const scheduler = opts.scheduler ?? resolveScheduler(cfg);
  // Only the adapter in use is imported (scheduler/registry.ts); `build` needs it loaded.
  await loadScheduler(scheduler.kind);
  const build = (): SchedulerAdapter => makeAdapter(cfg, scheduler.kind, schedulerDeps(source.id, { log, inProcess: opts.inProcess }));
  const adapter = opts.adapterFor ? opts.adapterFor(source.id, build) : build();
  const state = createFsStateStore(cfg.stateDir);
  const reconciler = createReconciler({
    config: cfg, source, adapter, scheduler, clock: systemClock, log, state,
    commandExists: commandInPath(io.env.PATH ?? ''),
    checkinStats: () => state.spoolStats(),
    daemonFacts: opts.daemonFacts,
    findElsewhere: elsewhereFinder(scheduler.kind, cfg, schedulerDeps(source.id, { log }), SCHEDULERS),
  });
  return { config: cfg, log, source, adapter, scheduler, reconciler, state };
}

/**
 * Creates the adapter of `kind` through the registry, for a command that applies (sync, diff,
 * prune, daemon): an in-process kind needs the daemon's runtime, and entries must run as the
 * agent's own user (see {@link checkRunAsUser}).
 * @throws {UsageError} for an in-process kind without {@link SchedulerDeps.inProcess}.
 * @throws {ConfigError} for another run-as user. @throws {SchedulerError} for an unregistered kind.
 */
export function makeAdapter(cfg: SchedulerConfig, kind: SchedulerKind, deps: SchedulerDeps): SchedulerAdapter {
  const reg = registrationOf(kind);
  if (reg.inProcess && !deps.inProcess) {
    const others = SCHEDULERS.filter((r) => !r.inProcess && (r.targetPlatform ?? hostOs) === hostOs).map((r) => r.kind);
    throw new UsageError(`the ${kind} scheduler runs inside \`cronsync daemon\`; use the daemon, or set scheduler.kind to ${orList(others)}`);
  }
  const options = reg.options(cfg, deps);
  const runAs = reg.runAs?.(options);
  if (runAs !== undefined) checkRunAsUser(runAs, deps.identity?.user ?? userInfo().username);
  return reg.create(options, deps);
}

/**
 * Entries run `cronsync exec` as the run-as user, which must read its job snapshots and write
 * run records, locks and the spool in the state dir. That dir belongs to the agent's user
 * (0700, snapshots 0600), so another run-as user would fail every run; refuse it up front.
 * Jobs that must run as a service user name it in `spec.user` (issue #15): `exec` stays the
 * agent's user and only the command's process tree switches, so the state dir stays private.
 * @throws {ConfigError}
 */
export function checkRunAsUser(runAs: string, agentUser: string): void {
  if (runAs !== agentUser) {
    throw new ConfigError(`scheduler.user is "${runAs}" but cronsync runs as "${agentUser}": jobs running as ${runAs} could not read their snapshots in the state dir. Run the agent as ${runAs} (scheduler.kind: crontab), or leave scheduler.user unset`, { runAs, agentUser });
  }
}
