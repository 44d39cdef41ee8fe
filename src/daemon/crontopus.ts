/**
 * The daemon's wiring of a Crontopus backend (checkin.protocol crontopus-agent): builds the
 * agent of src/crontopus/client.ts from the config, records its status block (its own file, and
 * patched into status.json under the lock the syncs hold), and turns each sync into the job
 * instances to report.
 */
import { hostname } from 'node:os';
import type { AgentConfig } from '../config/types.js';
import { platformName } from '../crontopus/api.js';
import { createCrontopusAgent } from '../crontopus/client.js';
import type { CrontopusAgent } from '../crontopus/client.js';
import { commandText, jobInstances } from '../crontopus/instances.js';
import { readMachineId } from '../crontopus/machine-id.js';
import { writeCrontopusStatus } from '../crontopus/status-file.js';
import { stripUrlCredentials } from '../errors.js';
import type { Logger } from '../log.js';
import type { SyncContext } from '../reconcile/types.js';
import { createFsStateStore } from '../state/fs-store.js';
import type { StateStore } from '../state/store.js';
import type { StatusCrontopus, StatusFile } from '../status/types.js';
import type { Clock } from '../system/clock.js';
import type { HttpClient } from '../system/http.js';
import type { Runner } from '../system/runner.js';
import { VERSION } from '../version.js';

/** Runs `fn` after every earlier call has settled: the syncs and the status patches share one. */
export type SerialLock = <T>(fn: () => Promise<T>) => Promise<T>;

/** Creates a {@link SerialLock}. */
export function createSerialLock(): SerialLock {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

/** Ports of {@link crontopusFor}. */
export interface CrontopusDeps {
  http: HttpClient;
  clock: Clock;
  log: Logger;
  runner: Runner;
  /** The lock the daemon's syncs hold while they write status.json. */
  statusLock: SerialLock;
  /** Delivers the check-in spool now (after enrolling again). */
  flush: () => void;
  /** The state dir holding status.json [the file-system store of `stateDir`]. */
  state?: StateStore;
  /**
   * Called after the Crontopus block was patched into status.json, under `statusLock`: the
   * daemon's reconciler takes that file for its own (see Reconciler.statusWritten).
   */
  onStatusWritten?: (before: string | null) => Promise<void>;
}

/** The settings that make a different agent: a reload with other ones replaces it. */
export function crontopusKey(cfg: AgentConfig): string | null {
  if (cfg.checkin.protocol !== 'crontopus-agent' || !cfg.checkin.url) return null;
  const c = cfg.checkin;
  return JSON.stringify([c.url, c.endpointId, c.tokenFile, c.enrollmentTokenFile, cfg.stateDir, cfg.agent.name, cfg.source.url, cfg.source.ref]);
}

/** The Crontopus agent of a config, not started; null unless checkin.protocol is crontopus-agent. */
export function crontopusFor(cfg: AgentConfig, deps: CrontopusDeps): CrontopusAgent | null {
  const url = cfg.checkin.url;
  if (cfg.checkin.protocol !== 'crontopus-agent' || !url) return null;
  const { stateDir } = cfg;
  const state = deps.state ?? createFsStateStore(stateDir);
  let writes: Promise<void> = Promise.resolve();
  const info = { platform: platformName(), version: `cronsync/${VERSION}` };
  return createCrontopusAgent({
    url, stateDir, info,
    identity: { endpointId: cfg.checkin.endpointId, tokenFile: cfg.checkin.tokenFile, enrollmentTokenFile: cfg.checkin.enrollmentTokenFile },
    enroll: { name: cfg.agent.name, hostname: hostname(), ...info, git_repo_url: stripUrlCredentials(cfg.source.url), git_branch: cfg.source.ref ?? 'main' },
    machineId: () => readMachineId(deps.runner),
    http: deps.http, clock: deps.clock, log: deps.log,
    onEnrolled: deps.flush,
    onStatus: (block) => {
      writes = writes.then(async () => {
        await writeCrontopusStatus(stateDir, block);
        await deps.statusLock(async () => {
          const before = await state.statusStamp().catch(() => null);
          if (await patchStatus(state, block)) await deps.onStatusWritten?.(before);
        });
      }).catch((err: Error) => deps.log.warn({ err: { message: err.message } }, 'Cannot record the Crontopus status'));
    },
  });
}

/**
 * Puts the block into status.json; nothing when there is no status yet (the first sync writes
 * it). Whether it wrote.
 */
async function patchStatus(state: StateStore, block: StatusCrontopus): Promise<boolean> {
  const status = await state.readStatus().catch(() => null);
  if (status) await state.writeStatus({ ...status, crontopus: block });
  return status !== null;
}

/** The job instances after a sync, or null when it failed (the set last sent stays right). */
export function instancesAfterSync(ctx: SyncContext, status: StatusFile, failed: boolean): ReturnType<typeof jobInstances> | null {
  if (failed) return null;
  const commands = new Map<string, string | null>();
  const planned = ctx.planned;
  for (const d of [...(ctx.selection?.desired.values() ?? []), ...(planned?.rejected.map((r) => r.job) ?? []), ...(planned?.plan.final ?? [])]) {
    commands.set(d.id, commandText(d.job));
  }
  return jobInstances(status.jobs, (id) => commands.get(id));
}
