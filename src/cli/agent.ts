/**
 * Wiring: config → source, scheduler adapter and reconciler, shared by `sync`, `diff`,
 * `render` and `daemon`. The only place that picks the real ports.
 */
import { userInfo } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/load.js';
import type { AgentConfig } from '../config/types.js';
import { ConfigError, UsageError } from '../errors.js';
import { createLogger, parseLogLevel } from '../log.js';
import type { Logger } from '../log.js';
import { createReconciler } from '../reconcile/reconciler.js';
import type { Reconciler } from '../reconcile/reconciler.js';
import type { ReconcileSource, ReconcilerDeps } from '../reconcile/types.js';
import { nodeHostProbe } from '../scheduler/probe.js';
import { createAdapter, createRegistry, resolveAuto } from '../scheduler/registry.js';
import type { Resolution } from '../scheduler/registry.js';
import type { AdapterOptions, ExecCommand, SchedulerAdapter, SchedulerKind } from '../scheduler/types.js';
import { spoolStats } from '../shim/spool.js';
import { systemClock } from '../system/clock.js';
import { nodeRunner } from '../system/runner.js';
import { commandInPath } from '../system/walk.js';
import { createConfiguredSource } from './source.js';
import type { CliIo } from './io.js';

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
}

/** Loads the config with the common flag overrides. @throws {ConfigError} */
export function loadAgentConfig(values: { config?: string; 'state-dir'?: string; scheduler?: string; 'log-level'?: string }, io: CliIo): AgentConfig {
  return loadConfig({ file: values.config, env: io.env, cwd: io.cwd, overrides: { stateDir: values['state-dir'], 'scheduler.kind': values.scheduler, 'log.level': values['log-level'] } });
}

/** The command scheduler entries run: this node and this package's `dist/cli/main.js`. */
export function execCommand(): ExecCommand {
  let main = fileURLToPath(new URL('./main.js', import.meta.url));
  // Under the test runner this module is the TypeScript source; entries must run the build.
  main = main.replace(/[/\\]src[/\\]cli[/\\]main\.js$/, '/dist/cli/main.js');
  return { file: process.execPath, args: [main] };
}

/** Picks the scheduler: the configured kind, or `auto` resolved on this host. */
export function resolveScheduler(cfg: AgentConfig): Resolution {
  if (cfg.scheduler.kind !== 'auto') return { kind: cfg.scheduler.kind, reason: `scheduler.kind is ${cfg.scheduler.kind} in the config` };
  const auto = resolveAuto(nodeHostProbe, cfg.scheduler.cronDir);
  // TODO(#6): the Task Scheduler adapter is not built yet; until then Windows hosts run the
  // embedded scheduler rather than failing at start.
  if (auto.kind !== 'embedded' && !createRegistry().has(auto.kind)) {
    return { kind: 'embedded', reason: `${auto.reason}, but the ${auto.kind} adapter is not available yet; using the in-process scheduler` };
  }
  return auto;
}

/** Adapter options from the config. */
export function adapterOptions(cfg: AgentConfig, sourceId: string): AdapterOptions {
  const me = userInfo().username;
  return {
    sourceId,
    user: cfg.scheduler.user ?? me,
    cronDir: cfg.scheduler.cronDir,
    execCommand: execCommand(),
    stateDir: cfg.stateDir,
  };
}

/** Options of {@link buildAgent}. */
export interface BuildOptions {
  /** The logger; default: JSON lines on stderr (one-shot commands print their report on stdout). */
  log?: Logger;
  scheduler?: Resolution;
  /** Supplies the adapter for the source id (the daemon's embedded scheduler). */
  adapterFor?: (sourceId: string) => SchedulerAdapter;
  daemonFacts?: ReconcilerDeps['daemonFacts'];
}

/** Builds the agent from a loaded config. */
export async function buildAgent(cfg: AgentConfig, io: CliIo, opts: BuildOptions = {}): Promise<Agent> {
  const log = opts.log ?? createLogger({ level: parseLogLevel(cfg.log.level), destination: io.stderr as NodeJS.WritableStream, pretty: false, bindings: { agent: cfg.agent.name } });
  const source = await createConfiguredSource(cfg, log);
  const scheduler = opts.scheduler ?? resolveScheduler(cfg);
  const adapter = opts.adapterFor?.(source.id) ?? makeAdapter(cfg, source.id, scheduler.kind);
  const reconciler = createReconciler({
    config: cfg, source, adapter, scheduler, clock: systemClock, log,
    commandExists: commandInPath(io.env.PATH ?? ''),
    checkinStats: () => spoolStats(cfg.stateDir),
    daemonFacts: opts.daemonFacts,
  });
  return { config: cfg, log, source, adapter, scheduler, reconciler };
}

/** Creates a cron adapter for one-shot commands (the embedded one lives in the daemon). */
export function makeAdapter(cfg: AgentConfig, sourceId: string, kind: SchedulerKind): SchedulerAdapter {
  if (kind === 'embedded') throw new UsageError('the embedded scheduler runs inside `cronsync daemon`; use the daemon, or set scheduler.kind to crontab or cron.d');
  const options = adapterOptions(cfg, sourceId);
  checkRunAsUser(options.user, userInfo().username);
  return createAdapter(createRegistry(), kind, options, { runner: nodeRunner });
}

/**
 * Entries run `cronsync exec` as the run-as user, which must read its job snapshots and write
 * run records, locks and the spool in the state dir. That dir belongs to the agent's user
 * (0700, snapshots 0600), so another run-as user would fail every run; refuse it up front.
 * TODO(#4): hand snapshots and run dirs to the run-as user to allow cron.d jobs as a service user.
 * @throws {ConfigError}
 */
export function checkRunAsUser(runAs: string, agentUser: string): void {
  if (runAs !== agentUser) {
    throw new ConfigError(`scheduler.user is "${runAs}" but cronsync runs as "${agentUser}": jobs running as ${runAs} could not read their snapshots in the state dir. Run the agent as ${runAs} (scheduler.kind: crontab), or leave scheduler.user unset`, { runAs, agentUser });
  }
}
