/**
 * `cronsync daemon`'s body, loaded by ./daemon.ts once the VM is tuned: the poll loop around the
 * reconciler, with the embedded scheduler when chosen, the spool flush each cycle, webhooks,
 * health and metrics, and signals. Only an invalid config at start stops it; every later
 * failure is logged, backed off and retried.
 */
import { durationMs } from '../../manifest/duration.js';
import type { DaemonLoop } from '../../daemon/loop.js';
import { createSerialLock, crontopusFor, crontopusKey, instancesAfterSync } from '../../daemon/crontopus.js';
import type { CrontopusAgent } from '../../crontopus/client.js';
import { runDaemon } from '../../daemon/run.js';
import { createBackgroundTask } from '../../daemon/background.js';
import { createInProcessSlot } from '../../daemon/in-process.js';
import { embeddedJobEnv } from '../../daemon/job-env.js';
import type { SignalSource } from '../../daemon/run.js';
import type { PromMetrics } from '../../daemon/metrics.js';
import { parseListenAddress } from '../../daemon/http.js';
import { loadWebhookSecret } from '../../daemon/secret.js';
import { createSignalRelay } from '../../daemon/signals.js';
import { createVmTuner } from '../../daemon/vm-tuning.js';
import type { AgentConfig } from '../../config/types.js';
import { createLogger, nullLogger, parseLogLevel } from '../../log.js';
import type { Logger } from '../../log.js';
import type { Logger as ShimLogger } from '../../shim/types.js';
import { Reasons } from '../../reconcile/reasons.js';
import type { InProcessDeps } from '../../scheduler/registry.js';
import type { SchedulerAdapter } from '../../scheduler/types.js';
import { flushSpool } from '../../shim/spool.js';
import { createFsStateStore } from '../../state/fs-store.js';
import { systemClock } from '../../system/clock.js';
import { preferSpeed, collectGarbage } from '../../system/heap.js';
import { createUndiciHttpClient } from '../../system/http.js';
import { nodeRunner } from '../../system/runner.js';
import { AGENT_OPTIONS, buildAgent, loadAgentConfig, resolveScheduler } from '../agent.js';
import type { Agent } from '../agent.js';
import { parseCommandArgs } from '../args.js';
import type { CliIo } from '../io.js';
import { DAEMON_FLUSH_POLICY } from './daemon.js';

const STOP_GRACE_MS = 20_000;

/** Runs the daemon until a stop signal; returns 0. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, { ...AGENT_OPTIONS, 'stop-on-stdin-eof': { type: 'boolean' } });
  // From the first moment to the last: a SIGHUP or SIGTERM without a listener kills the process
  // (see daemon/signals.ts), which must not happen while starting or while draining jobs.
  let relayLog: Logger = nullLogger;
  const signals = createSignalRelay(process, () => relayLog, undefined, { stdin: () => process.stdin, flag: values['stop-on-stdin-eof'], env: process.env });
  try {
    return await runDaemonCommand(values, io, signals, (l) => (relayLog = l));
  } finally {
    signals.close();
  }
}

async function runDaemonCommand(values: ReturnType<typeof parseCommandArgs<typeof AGENT_OPTIONS>>['values'], io: CliIo, signals: SignalSource, setLog: (log: Logger) => void): Promise<number> {
  const cfg = loadAgentConfig(values, io);
  const log = createLogger({ level: parseLogLevel(cfg.log.level), bindings: { agent: cfg.agent.name } });
  setLog(log);
  const scheduler = resolveScheduler(cfg);
  const http = createUndiciHttpClient();
  // Metrics are only readable on the health listener's /metrics; without one, prom-client and
  // its default collectors are never loaded (a smaller, quieter idle daemon).
  const metrics: PromMetrics | undefined = cfg.daemon.health?.listen ? (await import('../../daemon/metrics.js')).createMetrics() : undefined;
  const runAbort = new AbortController();
  // Syncs and the Crontopus status patches both write status.json: one at a time.
  const statusLock = createSerialLock();
  const flushNow = (c: AgentConfig, signal?: AbortSignal) => flushSpool({ stateDir: c.stateDir, state: createFsStateStore(c.stateDir), http, clock: systemClock, log, env: process.env, budgetMs: 10_000, policy: DAEMON_FLUSH_POLICY, limits: c.checkin.spool, signal }).catch((err: Error) => {
    log.warn({ err: { message: err.message } }, 'Check-in spool flush failed');
    return null;
  });
  let crontopus: { key: string | null; agent: CrontopusAgent | null } = { key: null, agent: null };
  /** The spool flush, beside the sync loop: after each sync, and after enrolling again. */
  const spoolFlush = createBackgroundTask(async (signal) => {
    const flushed = await flushNow(current, signal);
    if (flushed?.refused) crontopus.agent?.tokenRefused();
    if (flushed && metrics) {
      for (let i = 0; i < flushed.delivered; i++) metrics.checkin('sent');
      for (let i = 0; i < flushed.rejected; i++) metrics.checkin('failed');
      for (let i = 0; i < flushed.dropped; i++) metrics.checkin('dropped');
    }
  }, (err) => log.warn({ err: { message: (err as Error)?.message } }, 'Check-in spool flush failed'));
  /** Starts the Crontopus agent of `c` (checkin.protocol crontopus-agent), replacing one with other settings. */
  const useCrontopus = async (c: AgentConfig): Promise<void> => {
    const key = crontopusKey(c);
    if (key === crontopus.key) return;
    await crontopus.agent?.stop();
    const next = crontopusFor(c, { http, clock: systemClock, log, runner: nodeRunner, statusLock, flush: () => spoolFlush.kick(), state: createFsStateStore(c.stateDir), onStatusWritten: (before) => agent.reconciler.statusWritten(before) });
    crontopus = { key, agent: next };
    next?.start();
  };
  /** The embedded scheduler, kept across reloads (daemon/in-process.ts). */
  const embedded = createInProcessSlot();
  let current = cfg;
  /** The daemon's runtime for in-process schedulers (embedded) of a config. */
  const inProcessFor = (c: AgentConfig): InProcessDeps => {
    const stateDir = c.stateDir;
    const state = createFsStateStore(stateDir);
    return {
      // After a config change (new source id) the jobs installed under the old id keep firing
      // until a sync migrates them, even while the source is unreachable.
      previousSourceIds: async () => {
        const { record } = await state.readSources();
        return record ? [record.current, ...record.previous] : [];
      },
      // The fire loop is already the §2a guard, so runs are not re-checked with isFireTime.
      // The shim's run code is loaded by the first in-process run; cron.d, crontab and systemd never need it.
      runJob: async (jobId, scheduledFor) => (await import('../../shim/run.js')).runExec({
        jobId, stateDir, state, scheduled: true, scheduledFor, inProcess: true, clock: systemClock, http, runner: nodeRunner,
        log: jobLogger(log, jobId), env: embeddedJobEnv(process.env, c), stdout: process.stderr, stderr: process.stderr, signal: runAbort.signal,
        onCheckin: (outcome) => {
          if (outcome !== 'disabled') metrics?.checkin(outcome === 'delivered' ? 'sent' : outcome === 'spooled' ? 'spooled' : 'failed');
        },
      }),
    };
  };
  /**
   * The adapter of a source id and state dir, for the config being built (from the registry).
   * The running in-process scheduler is kept while both stay the same; a new source id or
   * state dir (SIGHUP) gets a new one, which only runs once that config is in use.
   */
  const adapterFor = (c: AgentConfig) => (sourceId: string, make: () => SchedulerAdapter): SchedulerAdapter => embedded.adapterFor(`${sourceId}\0${c.stateDir}`, make);
  let loop: DaemonLoop | null = null;
  const vm = createVmTuner({ preferSpeed, collectGarbage });
  const build = (c: AgentConfig): Promise<Agent> => buildAgent(c, io, {
    log, scheduler, inProcess: inProcessFor(c), adapterFor: adapterFor(c), onListed: vm.listed,
    // The status is written inside the sync, before the loop learns its result. Given the
    // attempt's result, report what the loop will do next (failures in a row including this
    // one, and when it retries); without one, the loop's state as of the previous attempt.
    daemonFacts: (result?: string) => {
      if (!loop) return null;
      const s = result === undefined ? loop.state() : loop.outlook(result !== 'error');
      return { consecutiveFailures: s.consecutiveFailures, nextAttemptAt: s.nextRunAt?.toISOString() ?? null, intervalMs: durationMs(c.source.interval) ?? 60_000 };
    },
  });
  let agent = await build(cfg);
  embedded.commit();
  await useCrontopus(cfg);
  log.info({ scheduler: scheduler.kind, reason: scheduler.reason, source: agent.source.id }, 'Starting');

  const timing = (c: AgentConfig) => ({
    intervalMs: durationMs(c.source.interval) ?? 60_000,
    backoff: { baseMs: 5_000, maxMs: durationMs(c.daemon.maxBackoff) ?? 600_000 },
    // A sync stuck where no bound of its own reaches (a fetch, a scheduler tool and the state
    // dir each have one) is aborted, and the loop goes on.
    syncTimeoutMs: durationMs(c.daemon.syncTimeout) ?? 600_000,
  });
  const webhookCfg = cfg.daemon.webhooks;
  const daemon = await runDaemon({
    ...timing(cfg),
    startDelayMaxMs: durationMs(cfg.daemon.startDelay) ?? 0,
    stopGraceMs: STOP_GRACE_MS,
    health: cfg.daemon.health?.listen ? parseListenAddress(cfg.daemon.health.listen) : null,
    webhooks: webhookCfg?.listen ? { address: parseListenAddress(webhookCfg.listen), secret: loadWebhookSecret(webhookCfg) } : null,
    clock: systemClock, log, metrics, signals,
    async sync(signal) {
      const out = await statusLock(() => agent.reconciler.reconcile({ signal }));
      metrics?.sourceFetch(out.context.snapshot ? 'ok' : out.context.reason === Reasons.SourceFetchFailed ? 'error' : 'ok');
      const verified = out.context.snapshot?.verification;
      if (verified && verified.result !== 'valid') metrics?.sourceVerifyFailure(verified.result);
      const instances = instancesAfterSync(out.context, out.status, out.result === 'error');
      if (instances) crontopus.agent?.afterSync(instances);
      // Not awaited: a hanging check-in API must not hold up the next sync (see background.ts).
      spoolFlush.kick();
      const byState: Record<string, number> = {};
      for (const j of out.status.jobs) byState[j.state] = (byState[j.state] ?? 0) + 1;
      const snapshot = out.context.snapshot;
      vm.afterSync({ jobs: out.status.jobs.length, sourceChanged: snapshot !== undefined && !snapshot.unchanged, changes: out.changes });
      return { ok: out.result !== 'error', result: out.result, jobsByState: byState };
    },
    async reload() {
      const next = loadAgentConfig(values, io);
      if (resolveScheduler(next).kind !== scheduler.kind) log.warn({ from: scheduler.kind }, 'A change of scheduler kind takes effect after a restart');
      // Nothing is switched until everything is read and built: a failed reload keeps the old
      // config whole, including its running embedded scheduler. The webhook secret is read
      // again (rotation); an unreadable one fails the whole reload.
      const hooks = next.daemon.webhooks;
      const webhookSecret = webhookCfg?.listen && hooks ? loadWebhookSecret(hooks) : undefined;
      embedded.discard();
      let nextAgent: Agent;
      try {
        nextAgent = await build(next);
      } catch (err) {
        embedded.discard();
        throw err;
      }
      current = next;
      agent = nextAgent;
      embedded.commit();
      await useCrontopus(next);
      watchSource();
      return { ...timing(next), webhookSecret };
    },
  });
  loop = daemon.loop;
  let unwatch: (() => void) | undefined;
  /** Watches the current source (a directory); a reload may have changed it. */
  function watchSource(): void {
    unwatch?.();
    unwatch = agent.source.watch?.(() => daemon.loop.trigger('watch'));
  }
  watchSource();

  const result = await daemon.done;
  unwatch?.();
  // Spooled check-ins stay on disk; an aborted send is retried by the next exec or daemon.
  await spoolFlush.stop();
  await crontopus.agent?.stop();
  if (embedded.active()) {
    // Runs of a scheduler a reload replaced are waited for too: they still run jobs.
    embedded.stop();
    const settle = Promise.all(embedded.running());
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), STOP_GRACE_MS).unref());
    if ((await Promise.race([settle, timer])) === 'timeout') {
      runAbort.abort('SIGTERM');
      await settle;
    }
  }
  log.info({ clean: result.clean }, 'Stopped');
  return 0;
}

/**
 * The logger of an embedded run: the daemon's, with the job's id on every line. The run's own
 * fields name the job too (`exec` logs it alone): taken out here, so no line carries the key twice.
 */
export function jobLogger(log: Logger, jobId: string): ShimLogger {
  const child = log.child({ jobId });
  const own = (obj: Record<string, unknown>): Record<string, unknown> => {
    if (!('jobId' in obj)) return obj;
    const { jobId: _, ...rest } = obj;
    return rest;
  };
  return {
    debug: (obj, msg) => child.debug(own(obj), msg),
    info: (obj, msg) => child.info(own(obj), msg),
    warn: (obj, msg) => child.warn(own(obj), msg),
    error: (obj, msg) => child.error(own(obj), msg),
  };
}
