/**
 * `cronsync exec tenant/name`: load the job snapshot, apply the scheduled-run guards and the
 * concurrency policy, run the job, record the run, check in, flush the spool. Returns the exit
 * code; never calls process.exit, so the daemon's embedded scheduler can call it in-process.
 */
import { runAsProblem } from '../desired/run-as.js';
import type { Job } from '../manifest/types.js';
import { LATE_START_MINUTES } from '../schedule/fires.js';
import { debugEnabled, errnoOf, isCronsyncError } from '../errors.js';
import type { JobSnapshot } from '../state/snapshot-read.js';
import { createFsStateStore } from '../state/fs-store.js';
import type { StateStore } from '../state/store.js';
import { randomUuid } from '../state/sync-io.js';
import type { LastRun } from '../state/runs.js';
import type { Clock } from '../system/clock.js';
import type { HttpClient } from '../system/http.js';
import { systemClock } from '../system/clock.js';
import type { Runner } from '../system/runner.js';
import type { Platform } from '../system/platform.js';
import { nodeRunner } from '../system/runner.js';
import { hostRunAsPorts, ownWorkingDir, resolveRunAs, userEnv } from '../system/users.js';
import type { RunAs, RunAsPorts } from '../system/users.js';
import { EXEC_USAGE, parseExecArgs } from './cli.js';
import { createLineLogger } from './log.js';
import { createNodeHttpClient } from '../system/http.js';
import type { CheckinPayload } from './checkin.js';
import { admit, registerInProcessRun, takeReplaceRequest } from './concurrency.js';
import type { Admission } from './concurrency.js';
import { execute } from './execute.js';
import type { Execution } from './execute.js';
import { selfIdentity } from './lock.js';
import type { LockHolder } from './lock.js';
import { checkinTarget, sendFinal, sendRunning } from './report.js';
import type { FinalOutcome, ReportContext } from './report.js';
import { createResolver } from './secrets.js';
import type { Logger, WritableLike } from './types.js';
import { EXIT } from './types.js';
import { escapeText } from '../cli/escape.js';


/** Options of {@link runExec}: the job, the ports and the timing knobs (defaults in brackets). */
export interface ExecOptions {
  jobId: string;
  stateDir: string;
  /** The state dir's store [the file-system store of `stateDir`]. */
  state?: StateStore;
  /**
   * Started by the scheduler (`--scheduled`): paused jobs, non-fire minutes and every start of
   * a scheduled minute but the first (src/state/fired.ts) exit 0 silently.
   */
  scheduled?: boolean;
  clock: Clock;
  http: HttpClient;
  log: Logger;
  env: Record<string, string | undefined>;
  stdout: WritableLike;
  stderr: WritableLike;
  runner: Runner;
  /** The timezone guard (SPEC §2a); scheduled runs without it are not guarded. */
  isFireTime?: (job: Job, minute: Date) => boolean;
  /**
   * The instant the scheduler meant this run for (the embedded scheduler knows it exactly);
   * [the minute `clock.now()` is in at the start]. Scheduled runs only.
   */
  scheduledFor?: Date;
  /** Aborting it (reason: a signal name) cancels the run like a signal to the shim. */
  signal?: AbortSignal;
  /** Forward SIGTERM/SIGINT/SIGHUP received by this process [false]. */
  installSignalHandlers?: boolean;
  /**
   * The run shares its process with other work (the daemon's embedded scheduler) [false]: its
   * run lock says so, and `Replace` from another process then signals only the job's group.
   */
  inProcess?: boolean;
  random?: () => number;
  uuid?: () => string;
  /** Per check-in request [10 s]. */
  requestTimeoutMs?: number;
  /** Final check-in retries before spooling [60 s; 5 s when cancelled]. */
  checkinBudgetMs?: number;
  /** Delivery of older spooled check-ins after the run [3 s]. */
  flushBudgetMs?: number;
  /** SIGTERM to SIGKILL on timeout, cancel and Replace [5 s]. */
  killGraceMs?: number;
  /**
   * How `spec.user` is looked up and switched to, and the shim's own home (the default working
   * directory without it) [the host's password database, setpriv and os.homedir()].
   */
  runAsPorts?: RunAsPorts;
  /** Lock identity and liveness, tree kills of Replace and the secrets file's privacy [nodePlatform]. */
  platform?: Platform;
  /** Told what became of the run's final check-in (the daemon counts them in its metrics). */
  onCheckin?: (outcome: FinalOutcome) => void;
}

const SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

/**
 * Errors after which a live run's lock may have gone unseen (its record could not be opened
 * either): out of descriptors or memory, an I/O error, an interrupted call. Unlike a state dir that
 * cannot hold a new file (full, over quota, read-only, a file where a directory should be), they
 * are no leave to run the job unguarded.
 */
const MAY_HIDE_A_LOCK: ReadonlySet<string | undefined> = new Set(['EMFILE', 'ENFILE', 'ENOMEM', 'EIO', 'EAGAIN', 'EINTR', 'EBUSY']);

/** Runs a job per SPEC §6 and returns the exit code of `cronsync exec`. */
export async function runExec(options: ExecOptions): Promise<number> {
  const o: ExecOptions & { state: StateStore } = { ...options, state: options.state ?? createFsStateStore(options.stateDir, { platform: options.platform }) };
  const startedAt = o.clock.now();
  let snapshot: JobSnapshot | null;
  try {
    snapshot = await o.state.readSnapshot(o.jobId);
  } catch (err) {
    const notDir = errnoOf(err) === 'ENOTDIR';
    o.stderr.write(`cronsync exec: ${notDir ? `state dir ${escapeText(o.stateDir)} (or a directory in it) is not a directory` : escapeText((err as Error).message)}\n`);
    return isCronsyncError(err) && err.code === 'CRONSYNC_USAGE' ? EXIT.usage : EXIT.noJob;
  }
  if (!snapshot) {
    o.stderr.write(`cronsync exec: job ${escapeText(o.jobId)} is not installed (no snapshot in ${escapeText(o.stateDir)}/jobs); run cronsync sync\n`);
    return EXIT.noJob;
  }
  const job = snapshot.job;
  const log = o.log;
  if (o.scheduled) {
    if (job.spec.paused) {
      log.debug({ jobId: o.jobId }, 'Job paused; scheduled run skipped');
      return 0;
    }
    // The scheduler starts us at second 0 of a fire minute, maybe a few seconds late: floor it.
    const started = new Date(Math.floor((o.scheduledFor ?? startedAt).getTime() / 60_000) * 60_000);
    const minute = o.isFireTime ? fireMinute(job, started, o.isFireTime) : started;
    if (minute === null) {
      log.debug({ jobId: o.jobId, minute: started.toISOString() }, 'Not a fire time in the job\'s timezone; skipped');
      return 0;
    }
    if (minute.getTime() !== started.getTime()) log.info({ jobId: o.jobId, fire: minute.toISOString(), startedAt: startedAt.toISOString() }, 'Started late for a fire time; it runs now unless it already ran');
    // At most one run per scheduled minute (SPEC §8), whoever else starts it: two triggers at
    // the same minute, a fall-back time started twice, several host lines, a second daemon.
    if (!claimMinute(o, minute)) return 0;
  } else if (job.spec.paused) {
    log.warn({ jobId: o.jobId }, 'Job is paused; running it anyway because it was started by hand');
  }

  const runId = (o.uuid ?? randomUuid)();
  const fields = { jobId: o.jobId, runId };
  let runAs: RunAs | undefined;
  if (job.spec.user !== undefined) {
    const r = await resolveRunAs(job.spec.user, o.runAsPorts ?? hostRunAsPorts);
    // The agent's policy as of the last sync: a narrowed allowedUsers also stops a kept job.
    const allowed = snapshot.runtime.allowedUsers;
    const refused = !r.ok ? r.message : allowed === undefined ? null : runAsProblem(job, allowed, () => ({ uid: r.user.uid }));
    if (refused !== null) {
      o.stderr.write(`cronsync exec: ${refused}\n`);
      await record(o, { runId, startedAt: startedAt.toISOString(), finishedAt: o.clock.now().toISOString(), status: 'failure', exitCode: EXIT.runAs, durationMs: 0, attempts: 0 });
      return EXIT.runAs;
    }
    if (r.ok) runAs = { user: r.user, switchTo: r.switchTo, cwd: r.cwd };
  }
  // Without spec.user, the shim's own home: the same under every scheduler and the embedded one.
  const cwd = job.spec.workingDir === undefined && !runAs ? ownWorkingDir(o.runAsPorts ?? hostRunAsPorts) : undefined;
  // Every value substituted for a ${VAR} is masked in what the job prints (mask.ts).
  const resolved = new Set<string>();
  const resolve = createResolver(o.env, snapshot.runtime.secretsFile, o.platform, (v) => resolved.add(v));
  let secret: string | undefined;
  let childEnv: Record<string, string | undefined>;
  try {
    const tpl = job.spec.checkin.secret;
    // crontopus-agent authenticates with the endpoint token, not the job's secret.
    const target = checkinTarget(snapshot);
    secret = tpl !== undefined && target && target.protocol !== 'crontopus-agent' ? resolve(tpl, 'spec.checkin.secret') : undefined;
    // A command run as another user gets none of the agent's variables: only the account's
    // login variables, the job's env and the ${VAR}s it resolves.
    childEnv = { ...(runAs ? userEnv(runAs.user) : o.env), CRONSYNC_JOB: o.jobId, CRONSYNC_RUN_ID: runId };
    for (const [k, v] of Object.entries(job.spec.env ?? {})) childEnv[k] = resolve(v, `spec.env.${k}`);
  } catch (err) {
    o.stderr.write(`cronsync exec: ${(err as Error).message}\n`);
    await record(o, { runId, startedAt: startedAt.toISOString(), finishedAt: o.clock.now().toISOString(), status: 'failure', exitCode: EXIT.secrets, durationMs: 0, attempts: 0 });
    return EXIT.secrets;
  }

  const runLock = o.state.jobLock(o.jobId);
  const path = runLock.key;
  const me: LockHolder = { ...selfIdentity(o.platform), runId, startedAt: startedAt.toISOString(), ...(o.inProcess ? { inProcess: true as const } : {}) };
  const grace = o.killGraceMs ?? 5000;
  let admission: Admission;
  try {
    admission = await admit(job.spec.concurrency ?? 'Forbid', runLock, me, { clock: o.clock, log, graceMs: grace, platform: o.platform });
  } catch (err) {
    // As with the minute's marker: a state dir that cannot hold the lock (read-only, full) does
    // not stop the job. Any other failure (out of descriptors, an I/O error) may also have hidden
    // a live run's lock from us: it is not taken as leave to run the job a second time.
    if (MAY_HIDE_A_LOCK.has(errnoOf(err))) throw err;
    log.warn({ ...fields, err }, 'Cannot take the run lock; running without the concurrency guard');
    admission = { run: true, lock: null };
  }
  if (!admission.run) {
    log.warn({ ...fields, concurrency: job.spec.concurrency ?? 'Forbid', holderPid: admission.holder?.pid, holderRunId: admission.holder?.runId }, 'Previous run still going; this run is skipped');
    await record(o, { runId, startedAt: startedAt.toISOString(), finishedAt: o.clock.now().toISOString(), status: 'skipped', exitCode: null, durationMs: 0, attempts: 0 });
    return 0;
  }

  const controller = new AbortController();
  const unregister = registerInProcessRun(path, controller);
  const onSignal = (sig: NodeJS.Signals): void => {
    if (!controller.signal.aborted) controller.abort(sig);
  };
  const onExternal = (): void => onSignal((typeof o.signal?.reason === 'string' ? o.signal.reason : 'SIGTERM') as NodeJS.Signals);
  if (o.signal?.aborted) onExternal();
  o.signal?.addEventListener('abort', onExternal, { once: true });
  if (o.installSignalHandlers) for (const s of SIGNALS) process.on(s, onSignal);

  const ctx: ReportContext = { stateDir: o.stateDir, state: o.state, jobId: o.jobId, snapshot, secret, http: o.http, clock: o.clock, log, requestTimeoutMs: o.requestTimeoutMs ?? 10_000, random: o.random };
  const base: CheckinPayload = {
    job_name: job.metadata.name, tenant: job.metadata.tenant, status: 'running', started_at: startedAt.toISOString(),
    agent_id: snapshot.runtime.agentId, run_id: runId, attempts: 1, commit: snapshot.provenance.commit,
  };
  try {
    const running = snapshot.runtime.checkin.start ? sendRunning(ctx, base, Math.min(o.checkinBudgetMs ?? 10_000, 10_000)).catch(() => undefined) : undefined;
    let exec: Execution;
    try {
      // Once a child has exited, its pid leaves the lock record: during a retry's backoff or
      // between steps it may belong to another process, which a Replace would otherwise end
      // (on Windows, taskkill /T /F of the pid alone).
      const runner: Runner = {
        run: async (cmd, opts) => {
          try {
            return await o.runner.run(cmd, opts);
          } finally {
            await admission.lock?.update({ ...me }).catch(() => undefined);
          }
        },
      };
      exec = await execute(job, childEnv, {
        runner, clock: o.clock, log, stdout: o.stdout, stderr: o.stderr, signal: controller.signal, random: o.random, killGraceMs: grace, runAs, cwd, masked: resolved,
        ...(o.inProcess && admission.lock ? { replaced: () => takeReplaceRequest(path, runId) } : {}),
        onChild: (pid) => {
          void admission.lock?.update({ ...me, childPid: pid }).catch(() => undefined);
          // While the job runs, the CPU is free to load what the check-in needs.
          const url = snapshot.runtime.checkin.url;
          if (url && job.spec.checkin.enabled) o.http.warmUp?.(url);
        },
      });
    } finally {
      await admission.lock?.release().catch(() => undefined);
    }
    const finishedAt = o.clock.now();
    const durationMs = finishedAt.getTime() - startedAt.getTime();
    await running;
    const payload: CheckinPayload = {
      ...base, status: exec.status, finished_at: finishedAt.toISOString(), duration: Math.round(durationMs / 1000),
      exit_code: exec.exitCode, output: exec.output, error_message: exec.errorMessage, attempts: exec.attempts,
    };
    const budget = exec.status === 'cancelled' ? Math.min(o.checkinBudgetMs ?? 5000, 5000) : (o.checkinBudgetMs ?? 60_000);
    const sending = sendFinal(ctx, payload, budget).catch((err: unknown) => {
      log.error({ ...fields, err }, 'Check-in failed');
      return 'spooled' as const;
    });
    // Recorded while the check-in request is on the wire.
    await record(o, { runId, startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString(), status: exec.status, exitCode: exec.exitCode, durationMs, attempts: exec.attempts });
    const outcome = await sending;
    o.onCheckin?.(outcome);
    // The server answered: a good moment to deliver what earlier runs left in the spool.
    if (outcome === 'delivered' && exec.status !== 'cancelled' && (await o.state.listSpool()).length > 0) {
      // The flush is loaded only when there is something to deliver.
      await import('./spool.js').then(({ flushSpool }) => flushSpool({
        stateDir: o.stateDir, state: o.state, http: o.http, clock: o.clock, log, env: o.env, budgetMs: o.flushBudgetMs ?? 3000,
        limits: snapshot.runtime.spool, requestTimeoutMs: o.requestTimeoutMs, random: o.random,
      })).catch((err: unknown) => log.warn({ err }, 'Spool flush failed'));
    }
    return exec.exitCode;
  } finally {
    unregister();
    o.signal?.removeEventListener('abort', onExternal);
    if (o.installSignalHandlers) for (const s of SIGNALS) process.off(s, onSignal);
  }
}

/**
 * The fire minute a start at `minute` runs: `minute` itself, or the latest fire before it within
 * LATE_START_MINUTES (the window the embedded loop keeps too); null for none. Its
 * claim (claimMinute) runs that fire once: a fire that already ran skips it.
 */
function fireMinute(job: Job, minute: Date, isFireTime: (job: Job, minute: Date) => boolean): Date | null {
  for (let back = 0; back <= LATE_START_MINUTES; back++) {
    const m = back === 0 ? minute : new Date(minute.getTime() - back * 60_000);
    if (isFireTime(job, m)) return m;
  }
  return null;
}

/**
 * Claims the scheduled minute of a run: false when another start already has it. A state dir
 * that cannot hold the marker does not stop the job (as with the last-run record): it runs,
 * unguarded, with a warning.
 */
function claimMinute(o: ExecOptions & { state: StateStore }, minute: Date): boolean {
  try {
    const claim = o.state.claimFire(o.jobId, minute);
    if (!claim.claimed) o.log.debug({ jobId: o.jobId, minute: minute.toISOString(), marker: claim.path }, 'Already started for this scheduled minute; duplicate start skipped');
    return claim.claimed;
  } catch (err) {
    o.log.warn({ jobId: o.jobId, minute: minute.toISOString(), err }, 'Cannot record the scheduled minute; running without the duplicate-start guard');
    return true;
  }
}

async function record(o: ExecOptions & { state: StateStore }, run: LastRun): Promise<void> {
  try {
    await o.state.writeLastRun(o.jobId, run);
    // A sync that removed the job while it ran deleted its snapshot, then its record: this one
    // would be stale, and shown again if the job came back. Checking after the write closes the
    // race: either the check sees the snapshot gone, or the sync deletes the record after it.
    if (!o.state.hasSnapshotFile(o.jobId)) await o.state.deleteLastRun(o.jobId);
  } catch (err) {
    o.log.warn({ jobId: o.jobId, err }, 'Cannot write the last-run record');
  }
}

/** Output streams of the CLI. */
export interface CliStreams {
  stdout: WritableLike;
  stderr: WritableLike;
}

/** What `exec --config` needs of the agent config loader (src/config/load.ts). */
export interface ExecConfigRequest {
  /** `--config FILE`. */
  file: string;
  /** `--state-dir`, which wins over the config's `stateDir`. */
  stateDir?: string;
  env: Record<string, string | undefined>;
  cwd: string;
}

/**
 * Loads and validates the agent config for `exec --config` and returns its state dir; throws
 * the loader's ConfigError for a bad config. The callers supply it, each loading
 * src/config/load.ts its own lazy way: nothing of the config loader (YAML, Ajv) is part of
 * `exec`'s start-up unless `--config` is given, and it is never part of the bundle.
 */
export type ExecConfigLoader = (request: ExecConfigRequest) => Promise<{ stateDir: string }>;

/** Ports of {@link runExecCli}. */
export interface ExecCliPorts {
  /** Needed only for `--config`; without it `--config` is an internal error. */
  loadConfig?: ExecConfigLoader;
  /** Against which a relative `--config` path and relative paths in it resolve [process.cwd()]. */
  cwd?: string;
}

/**
 * Entry point of `cronsync exec` for the main CLI: parses `argv` (the arguments after `exec`),
 * wires the real ports and forwards signals. Returns the exit code.
 */
export async function runExecCli(argv: readonly string[], env: Record<string, string | undefined> = process.env, streams: CliStreams = process, ports: ExecCliPorts = {}): Promise<number> {
  const args = parseExecArgs(argv, env);
  if (!args.ok) {
    streams.stderr.write(`cronsync exec: ${args.message}\n${EXEC_USAGE}`);
    return EXIT.usage;
  }
  if (args.help) {
    streams.stdout.write(EXEC_USAGE);
    return 0;
  }
  let stateDir = args.stateDir;
  if (args.config) {
    try {
      if (!ports.loadConfig) throw new Error('exec --config is not wired in this build');
      ({ stateDir } = await ports.loadConfig({ ...args.config, env, cwd: ports.cwd ?? process.cwd() }));
    } catch (err) {
      return await reportLoadError(err, streams, env);
    }
  }
  // The schedule core is loaded only for scheduled runs.
  const isFireTime = args.scheduled ? (await import('./guard.js')).createFireTimeGuard(stateDir) : undefined;
  try {
    return await runExec({
      jobId: args.jobId, stateDir, scheduled: args.scheduled, isFireTime,
      clock: systemClock, http: createNodeHttpClient(), runner: nodeRunner, env,
      log: createLineLogger(streams.stderr, env.CRONSYNC_LOG_LEVEL, `cronsync[${args.jobId}]`),
      stdout: streams.stdout, stderr: streams.stderr, installSignalHandlers: true,
    });
  } catch (err) {
    // No stack trace for users; CRONSYNC_DEBUG=1 shows it for a bug report.
    streams.stderr.write(`cronsync exec: internal error: ${(err as Error)?.message ?? String(err)}\nThis is a bug; please report it with the job's manifest.\n${debugEnabled(env) ? `${(err as Error)?.stack ?? ''}\n` : ''}`);
    return EXIT.internal;
  }
}

/**
 * Reports a config that cannot be loaded exactly as the main CLI reports it for every other
 * command (`reportError` of src/cli/main.ts, which the bundle cannot import): `cronsync: <message>`
 * with control characters escaped and one line per issue; exit 2 for a usage error or a bad flag value (an issue named
 * after a `--flag`), else 1. Error classes are recognised by their code: the bundle and the
 * loader hold separate copies of them. test/shim/exec-config.test.ts compares with `status`.
 */
async function reportLoadError(err: unknown, streams: CliStreams, env: Record<string, string | undefined>): Promise<number> {
  const { escapeMessage, escapeText } = await import('../cli/escape.js');
  const e = err as { code?: unknown; data?: { issues?: unknown } } | null;
  if (err instanceof Error && typeof e?.code === 'string' && e.code.startsWith('CRONSYNC_')) {
    const issues = Array.isArray(e.data?.issues) ? (e.data.issues as { file?: unknown }[]) : [];
    // A config error puts each of its issues on a line of its own, as reportError prints it.
    streams.stderr.write(`cronsync: ${escapeMessage(err.message, issues.length)}\n`);
    const flagValue = e.code === 'CRONSYNC_CONFIG' && issues.some((i) => typeof i.file === 'string' && i.file.startsWith('--'));
    return e.code === 'CRONSYNC_USAGE' || flagValue ? 2 : 1;
  }
  streams.stderr.write(`cronsync exec: internal error: ${escapeText((err as Error)?.message ?? String(err))}\nThis is a bug; please report it with the command you ran.\n${debugEnabled(env) ? `${(err as Error)?.stack ?? ''}\n` : ''}`);
  return EXIT.internal;
}
