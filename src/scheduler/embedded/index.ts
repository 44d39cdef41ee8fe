/**
 * The `embedded` adapter (SPEC §8): an in-process scheduler for containers, hosts without a
 * scheduler and `npm start`. Its installed entries are a registry in memory and in
 * `<stateDir>/embedded.json` (see registry.ts), written atomically and only when its bytes
 * differ; its timers follow SPEC §2a through the project's iterator (see loop.ts).
 *
 * apply() and the CLI's one-shot commands never start timers: only the daemon calls start(),
 * which loads the registry and arms every unpaused job of this source, so installed jobs keep
 * running across restarts even before the first sync succeeds.
 */
import { join } from 'node:path';
import type { DesiredJob } from '../../desired/types.js';
import { SchedulerError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { ownedSourceIds } from '../../plan/plan.js';
import type { InstalledEntry, Plan } from '../../plan/types.js';
import { atomicWriteFile, readFileIfExists } from '../../system/files.js';
import type { ApplyResult, Rendered, SchedulerAdapter } from '../types.js';
import { FireLoop, nodeTimers } from './loop.js';
import type { ArmSpec, RunJob, TimerPort, Upcoming } from './loop.js';
import {
  REGISTRY_FILE, entryOfRecord, parseRecordLine, parseRegistry, recordKey, recordLine, recordOf, serializeRegistry,
} from './registry.js';
import type { EmbeddedRecord } from './registry.js';

export { DEFAULT_MAX_SLEEP_MS, MAX_TIMER_MS, nodeTimers } from './loop.js';
export type { ArmSpec, RunJob, TimerPort, Upcoming } from './loop.js';
export { REGISTRY_FILE } from './registry.js';
export type { EmbeddedRecord } from './registry.js';

/**
 * Longest single sleep of the adapter's fire loop, in ms. Timers count monotonic time, so a
 * forward step of the wall clock (NTP, a resume from suspend, a restored VM) is only seen at
 * the next wake: with a minute-long sleep a fire just after the step ran up to a minute late.
 * One second keeps it on time; a wake that finds nothing due costs a clock read per job.
 */
export const EMBEDDED_MAX_SLEEP_MS = 1_000;

/** Mode of the registry file: no secrets in it, readable like the status file. */
export const REGISTRY_MODE = 0o644;

/** File port of the registry; the default writes atomically (temp, fsync, rename). */
export interface RegistryFiles {
  /** The file's text, or null when it does not exist. @throws {IoError} on other errors. */
  read(path: string): Promise<string | null>;
  /** Replaces the file atomically. @throws {IoError} */
  write(path: string, data: string): Promise<void>;
}

/** The real file system. */
export const nodeRegistryFiles: RegistryFiles = {
  read: readFileIfExists,
  write: (path, data) => atomicWriteFile(path, data, REGISTRY_MODE),
};

/** Options and ports of {@link createEmbeddedAdapter}. */
export interface EmbeddedAdapterOptions {
  /** Source id of this agent; only its records are armed, changed or removed. */
  sourceId: string;
  /** State dir holding `embedded.json` (SPEC §3 `stateDir`). */
  stateDir: string;
  /** Runs a due job in process (the daemon wires the shim's runExec with scheduled: true). */
  runJob: RunJob;
  clock: { now(): Date };
  log: Logger;
  /** Timers [Node's, unref'd]. */
  timers?: TimerPort;
  /** Monotonic milliseconds, the clock of the timers [performance.now]. */
  monotonic?: () => number;
  /** Longest single sleep in ms [{@link EMBEDDED_MAX_SLEEP_MS}]: bounds the lateness after a forward clock jump. */
  maxSleepMs?: number;
  files?: RegistryFiles;
  /**
   * Earlier source ids of this agent (`<stateDir>/sources.json`), read by start(): their
   * records are armed too until a sync moves them to `sourceId`, as cron keeps running the
   * entries of an earlier id. [none]
   */
  previousSourceIds?: () => Promise<readonly string[]>;
}

/** The embedded adapter: a SchedulerAdapter whose entries the daemon runs itself. */
export interface EmbeddedAdapter extends SchedulerAdapter {
  readonly kind: 'embedded';
  /** `<stateDir>/embedded.json`. */
  readonly registryPath: string;
  /**
   * Loads the registry and arms every unpaused job of this source and of this agent's earlier
   * source ids from now. Never rejects: an unreadable registry is logged and nothing is armed
   * until the next apply.
   * @returns the number of jobs armed.
   */
  start(): Promise<number>;
  /** Cancels the timers; runs in flight continue. Idempotent. */
  stop(): void;
  /** Runs started and not yet settled (they never reject): the daemon awaits them on shutdown. */
  running(): Promise<void>[];
  /** The next fire of each armed job (null when not started or when it never fires again). */
  upcoming(): Upcoming[];
}

/** Creates the embedded adapter. */
export function createEmbeddedAdapter(options: EmbeddedAdapterOptions): EmbeddedAdapter {
  const { sourceId, log } = options;
  const files = options.files ?? nodeRegistryFiles;
  const registryPath = join(options.stateDir, REGISTRY_FILE);
  const loop = new FireLoop({
    clock: options.clock,
    timers: options.timers ?? nodeTimers,
    log,
    runJob: options.runJob,
    maxSleepMs: options.maxSleepMs ?? EMBEDDED_MAX_SLEEP_MS,
    monotonic: options.monotonic,
  });
  // start() and apply() both rewrite the armed set; never interleave them.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = queue.then(fn);
    queue = p.catch(() => undefined);
    return p;
  };

  const armable = (records: readonly EmbeddedRecord[], owned: ReadonlySet<string> = new Set([sourceId])): ArmSpec[] =>
    records
      .filter((r) => owned.has(r.sourceId) && !r.paused)
      .map((r) => ({ jobId: r.jobId, schedule: r.schedule, timezone: r.timezone }));

  async function load(): Promise<{ text: string | null; records: EmbeddedRecord[] }> {
    const text = await files.read(registryPath);
    const parsed = parseRegistry(text);
    for (const problem of parsed.problems) log.warn({ path: registryPath, problem }, 'Embedded registry problem');
    return { text, records: parsed.records };
  }

  async function inventory(signal: AbortSignal): Promise<InstalledEntry[]> {
    signal.throwIfAborted();
    const { records } = await load();
    return records.map(entryOfRecord);
  }

  function render(desired: readonly DesiredJob[]): Rendered {
    return { kind: 'embedded', files: [{ name: registryPath, content: serializeRegistry(desired.map((d) => recordOf(d, sourceId))) }] };
  }

  function apply(plan: Plan, signal: AbortSignal): Promise<ApplyResult> {
    return serial(async () => {
      signal.throwIfAborted();
      if (plan.sourceId !== sourceId) {
        throw new SchedulerError(`plan is for source ${plan.sourceId}, this embedded scheduler belongs to ${sourceId}`, { planSource: plan.sourceId, sourceId });
      }
      const current = await load();
      // Records of this agent's previous source ids are ours too: rewritten from the plan.
      const owned = ownedSourceIds(plan);
      const ours = new Map<string, EmbeddedRecord>();
      // The planner's lines (renderEntry's) by record; a job missing from them is serialised here.
      const lines = new Map<EmbeddedRecord, string>();
      for (const d of plan.final) {
        const r = recordOf(d, sourceId);
        ours.set(d.id, r);
        const line = plan.rendered?.get(d.id);
        if (line !== undefined) lines.set(r, line);
      }
      for (const e of plan.preserve) {
        if (!e.marker || ours.has(e.marker.jobId)) continue;
        // Kept byte-identical: from the entry's raw line, else from the file.
        const r = parseRecordLine(e.raw) ?? current.records.find((c) => recordKey(c) === e.key) ?? null;
        if (r && owned.has(r.sourceId)) ours.set(r.jobId, r);
        else log.warn({ jobId: e.marker.jobId }, 'Preserved embedded entry cannot be read back; dropped');
      }
      const removed = new Set(plan.remove.map((e) => e.key));
      // Records of other sources are never touched (SPEC §4), unless the plan removes them.
      const foreign = current.records.filter((r) => !owned.has(r.sourceId) && !removed.has(recordKey(r)));
      const records = [...foreign, ...ours.values()];
      const text = serializeRegistry(records, (r) => lines.get(r) ?? recordLine(r));
      let changed = false;
      if (text !== current.text) {
        signal.throwIfAborted();
        await files.write(registryPath, text);
        changed = true;
      }
      loop.set(armable(records, owned));
      return { changed, written: changed ? [registryPath] : [] };
    });
  }

  function start(): Promise<number> {
    return serial(async () => {
      let records: EmbeddedRecord[] = [];
      try {
        records = (await load()).records;
      } catch (err) {
        log.error({ path: registryPath, err }, 'Cannot read the embedded registry; no job armed until the next sync');
      }
      let owned = new Set([sourceId]);
      try {
        owned = new Set([sourceId, ...((await options.previousSourceIds?.()) ?? [])]);
      } catch (err) {
        log.warn({ err }, 'Cannot read the earlier source ids; only jobs of the current source are armed until the next sync');
      }
      const specs = armable(records, owned);
      const others = records.filter((r) => !owned.has(r.sourceId)).length;
      if (others > 0) log.warn({ count: others }, 'Embedded registry holds jobs of another source; they are not run');
      loop.set(specs);
      loop.start();
      log.info({ armed: specs.length }, 'Embedded scheduler started');
      return specs.length;
    });
  }

  return {
    kind: 'embedded',
    registryPath,
    inventory,
    render,
    renderEntry: (d) => recordLine(recordOf(d, sourceId)),
    apply,
    start,
    stop: () => loop.stop(),
    running: () => loop.running(),
    upcoming: () => loop.upcoming(),
  };
}
