/**
 * The embedded scheduler's fire loop: one timer for the earliest next fire across all armed
 * jobs, with fire instants taken from the SPEC §2a iterator (never from a third-party cron
 * parser), re-armed after every wake.
 *
 * Timers count monotonic time and the wall clock can jump (NTP, suspend, a VM restored), so
 * the loop never trusts a timer to mean "it is time": each wake reads the wall clock and fires
 * only jobs whose instant is <= now. A single sleep is capped (one minute by default, one
 * second in the daemon's adapter; always below setTimeout's 2^31-1 ms limit), which bounds how
 * late a fire can be after a forward jump.
 *
 * Missed fires follow the rule of `exec --scheduled` under cron, systemd and Task Scheduler:
 * when a wake finds instants of a job already past (the host slept, the clock stepped
 * forward), the latest of them runs once if it is at most LATE_START_MINUTES old, and none
 * runs otherwise (logged); a restart does not catch up at all.
 *
 * When the wall clock goes back, every job is re-armed from the new time, so instants that
 * have not run (skipped while the clock was ahead) fire when the clock reaches them; an
 * instant already run does not run again: the loop remembers each job's recent fires, and the
 * run itself claims its minute (`fired/` markers, src/state/fired.ts), as under cron. A
 * remembered fire run more than a day earlier by the monotonic clock was run by a clock set
 * that far ahead: it runs again now that its time has really come (its claim of the minute is
 * stale by then too, by the same rule: src/state/fired.ts).
 */
import type { Logger } from '../../log.js';
import { LATE_START_MINUTES, nextFires, resolveSchedule } from '../../schedule/fires.js';
import type { CronSpec } from '../../schedule/cron.js';
import { STALE_CLAIM_MS } from '../../state/fired.js';

/** The largest delay setTimeout accepts; longer ones fire after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;
/** Default cap of one sleep: bounds the lateness after a forward clock jump. */
export const DEFAULT_MAX_SLEEP_MS = 60_000;

/** Timer port: setTimeout/clearTimeout, injectable so tests drive time by hand. */
export interface TimerPort {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Node's timers, unref'd: the scheduler alone never keeps a process alive. */
export const nodeTimers: TimerPort = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** A job to arm: its id and the schedule it fires on. */
export interface ArmSpec {
  jobId: string;
  schedule: string;
  timezone: string;
}

/** Runs one due job in process; the exit code is only logged. */
export type RunJob = (jobId: string, scheduledFor: Date) => Promise<number>;

/** Ports and knobs of a {@link FireLoop}. */
export interface FireLoopOptions {
  clock: { now(): Date };
  timers: TimerPort;
  log: Logger;
  runJob: RunJob;
  /** Longest single sleep in ms [60 000]; clamped to [1, 2^31-1]. */
  maxSleepMs?: number;
  /** Monotonic milliseconds, which no wall-clock step moves [performance.now]. */
  monotonic?: () => number;
}

/** The next fire of one armed job, for status and tests. */
export interface Upcoming {
  jobId: string;
  next: Date | null;
}

interface Armed extends ArmSpec {
  spec: CronSpec | null;
  /** Next fire (epoch ms) strictly after the last look at the clock; null: none or not started. */
  next: number | null;
  /**
   * The job's latest fires (at most RECENT_FIRES, oldest first): the instant, and the monotonic
   * time it ran at. They do not fire again, unless they ran more than a day before (see tick).
   */
  fired: Array<{ at: number; mono: number }>;
}

/** Recent fires remembered per job, so that a backward clock step does not start them again. */
const RECENT_FIRES = 16;
/** Fires after which a wake stops counting missed instants one by one. */
const SCAN_LIMIT = 1000;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Windows ending now searched for the latest missed instant after a very long sleep. */
const WINDOWS = [HOUR, 24 * HOUR, 40 * 24 * HOUR, 400 * 24 * HOUR];

/** FireLoop runs armed jobs at their §2a instants until stopped. */
export class FireLoop {
  private jobs = new Map<string, Armed>();
  private started = false;
  private timer: unknown = null;
  /** The wall clock at the last wake or start: a later reading below it is a backward step. */
  private lastLook = -Infinity;
  private readonly inflight = new Set<Promise<void>>();
  private readonly maxSleep: number;
  private readonly monotonic: () => number;

  constructor(private readonly o: FireLoopOptions) {
    this.maxSleep = Math.min(MAX_TIMER_MS, Math.max(1, Math.floor(o.maxSleepMs ?? DEFAULT_MAX_SLEEP_MS)));
    this.monotonic = o.monotonic ?? (() => performance.now());
  }

  /**
   * Replaces the armed set. A job whose schedule and zone are unchanged keeps its next fire;
   * a new or changed one is armed from the last wake (keeping its recent fires), so a fire due
   * since then still runs at the next wake. A job with an invalid schedule is logged, not armed.
   */
  set(specs: readonly ArmSpec[]): void {
    const now = this.o.clock.now().getTime();
    const next = new Map<string, Armed>();
    for (const s of specs) {
      const old = this.jobs.get(s.jobId);
      if (old && old.schedule === s.schedule && old.timezone === s.timezone) {
        next.set(s.jobId, old);
        continue;
      }
      let spec: CronSpec | null = null;
      try {
        spec = resolveSchedule(s.schedule, s.timezone);
      } catch (err) {
        this.o.log.warn({ jobId: s.jobId, err }, 'Embedded job has an invalid schedule; not armed');
      }
      const job: Armed = { ...s, spec, next: null, fired: old?.fired ?? [] };
      // A changed job whose fire was due and not yet run (a wake delayed by a busy event loop, say
      // by this sync) is armed from the last wake, so that fire is not lost (the recent fires keep
      // one already run from repeating); a new one from now: nothing from before it was added.
      const due = old !== undefined && old.next !== null && old.next <= now;
      if (this.started) job.next = this.after(job, due ? Math.min(now, this.lastLook) : now);
      next.set(s.jobId, job);
    }
    this.jobs = next;
    this.rearm();
  }

  /** Arms every job from now and starts the timer. Idempotent. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const now = this.o.clock.now().getTime();
    this.lastLook = now;
    for (const job of this.jobs.values()) job.next = this.after(job, now);
    this.rearm();
  }

  /** Cancels the timer; runs in flight continue (see {@link running}). */
  stop(): void {
    this.started = false;
    this.clearTimer();
  }

  /** Runs started and not yet settled; they never reject. */
  running(): Promise<void>[] {
    return [...this.inflight];
  }

  /** The next fire of each armed job (null when stopped or when it never fires again). */
  upcoming(): Upcoming[] {
    return [...this.jobs.values()].map((j) => ({ jobId: j.jobId, next: j.next === null ? null : new Date(j.next) }));
  }

  private after(job: Armed, from: number): number | null {
    if (!job.spec) return null;
    const it = nextFires(job.spec, job.timezone, new Date(from));
    const r = it.next();
    it.return(undefined);
    return r.done ? null : r.value.getTime();
  }

  private clearTimer(): void {
    if (this.timer !== null) this.o.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  private rearm(): void {
    this.clearTimer();
    if (!this.started) return;
    let earliest = Infinity;
    for (const j of this.jobs.values()) if (j.next !== null && j.next < earliest) earliest = j.next;
    if (earliest === Infinity) return;
    const delay = Math.min(this.maxSleep, Math.max(0, earliest - this.o.clock.now().getTime()));
    this.timer = this.o.timers.setTimeout(() => this.tick(), delay);
  }

  private tick(): void {
    this.timer = null;
    if (!this.started) return;
    const now = this.o.clock.now().getTime();
    if (now < this.lastLook) {
      // The wall clock went back: the next fires armed before it may be far ahead of it now.
      this.o.log.info({ by: this.lastLook - now }, 'Wall clock went back; embedded jobs re-armed from the new time');
      for (const job of this.jobs.values()) job.next = this.after(job, now);
    }
    this.lastLook = now;
    for (const job of this.jobs.values()) {
      if (job.next === null || job.next > now || !job.spec) continue;
      const due = latestDue(job.spec, job.timezone, job.next, now);
      job.next = this.after(job, now);
      const mono = this.monotonic();
      const ran = job.fired.find((f) => f.at === due.at);
      // Run within the last day: a clock that went back offers it again. Run longer ago: a
      // clock set that far ahead ran it, and its time has really come now. A minute over the
      // claim's own limit, so that the run's claim, which reads its clock later than this tick
      // and finds a marker written after `ran.mono`, agrees (src/state/fired.ts).
      if (ran !== undefined && mono - ran.mono <= STALE_CLAIM_MS + MINUTE) continue;
      const scheduledFor = new Date(due.at).toISOString();
      if (Math.floor(now / MINUTE) * MINUTE - due.at > LATE_START_MINUTES * MINUTE) {
        this.o.log.warn({ jobId: job.jobId, missed: due.missed, more: due.more, scheduledFor },
          `Embedded job missed its fire time by more than ${LATE_START_MINUTES} minutes (clock jump or suspend); not run`);
        continue;
      }
      if (ran !== undefined) {
        job.fired = job.fired.filter((f) => f !== ran);
        this.o.log.info({ jobId: job.jobId, scheduledFor, ranHoursAgo: Math.round((mono - ran.mono) / HOUR) }, 'Embedded job ran this fire time early, under a clock set ahead; running it again now that it has come');
      }
      job.fired.push({ at: due.at, mono });
      if (job.fired.length > RECENT_FIRES) job.fired.shift();
      if (due.missed > 1) {
        this.o.log.warn({ jobId: job.jobId, missed: due.missed, more: due.more, scheduledFor },
          'Embedded job missed several fire times (clock jump or suspend); running the latest once');
      }
      this.launch(job.jobId, new Date(due.at));
    }
    this.rearm();
  }

  private launch(jobId: string, scheduledFor: Date): void {
    const { log, runJob } = this.o;
    log.debug({ jobId, scheduledFor: scheduledFor.toISOString() }, 'Embedded job due');
    // A job's failure (even a synchronous throw) must never break the loop.
    const run = (async () => {
      try {
        const exitCode = await runJob(jobId, scheduledFor);
        log.debug({ jobId, exitCode }, 'Embedded job finished');
      } catch (err) {
        log.error({ jobId, err }, 'Embedded job run failed');
      }
    })();
    this.inflight.add(run);
    void run.then(() => this.inflight.delete(run));
  }
}

/** The latest due instant from `first` (a due fire) to `now`, and how many were due. */
function latestDue(spec: CronSpec, zone: string, first: number, now: number): { at: number; missed: number; more: boolean } {
  let at = first;
  let missed = 1;
  const it = nextFires(spec, zone, new Date(first));
  try {
    for (let i = 0; i < SCAN_LIMIT; i++) {
      const r = it.next();
      if (r.done || r.value.getTime() > now) return { at, missed, more: false };
      at = r.value.getTime();
      missed++;
    }
  } finally {
    it.return(undefined);
  }
  // A long sleep over a frequent schedule: find the latest instant in a window ending now.
  for (const w of WINDOWS) {
    if (now - w <= at) break;
    let last: number | null = null;
    for (const t of nextFires(spec, zone, new Date(now - w))) {
      if (t.getTime() > now) break;
      last = t.getTime();
    }
    if (last !== null) return { at: last, missed, more: true };
  }
  return { at, missed, more: true };
}
