/**
 * The random corpus of the Task Scheduler simulation (issue 10 item 6), shared by the shards
 * sim.test.ts, sim-2.test.ts and sim-3.test.ts: random schedules rendered as task XML by the
 * `windows` adapter's trigger translation and renderer, read back by the simulator, started
 * under every interpretation, filtered by the exec guard, compared with the §2a iterator.
 *
 * Coverage: each expression gets every host zone and one of the six job zones, rotating, so
 * every (job zone, host zone) pair gets a sixth of the expressions (168), dense and sparse
 * alike (the full cross product renders six times as many tasks, too slow for CI: rendering
 * is most of the cost, see the bench); the windows are the 48 h
 * around every DST change of 2026-2027 of the job zone and the host zone, two month ends,
 * 29 February 2028 and two random days.
 */
import { parseCron } from '../../../src/schedule/cron.js';
import type { CronSpec } from '../../../src/schedule/cron.js';
import { firesBetween, isFireTime } from '../../../src/schedule/fires.js';
import { transitionsBetween } from '../../../src/schedule/zone.js';
import { SYSTEM_SID } from '../../../src/scheduler/windows/model.js';
import type { TaskModel } from '../../../src/scheduler/windows/model.js';
import { encodeUtf16, renderTaskXml } from '../../../src/scheduler/windows/render.js';
import type { TriggerSet } from '../../../src/scheduler/windows/types.js';
import { prng, randomSchedule } from '../../schedule/random.js';
import { INTERPRETATIONS, guardRuns, guardRunsAgainst, interpretationClasses, interpretationName, parseTask, taskStarts } from './simulator.js';
import type { SimTask } from './simulator.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;

/** Job zones of the corpus: no DST, whole-hour DST both hemispheres, half-hour offset, 30-minute DST, 45-minute offset. */
export const JOB_ZONES = ['UTC', 'America/New_York', 'Europe/London', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham'] as const;
/** Host zones of the corpus. */
export const HOST_ZONES = ['UTC', 'America/New_York', 'Europe/Berlin'] as const;
/** The adapter's clock when it renders (dated triggers start at its year). */
export const NOW = Date.UTC(2026, 0, 1);
/** Start of the simulated years 2026-2027. */
export const FROM = Date.UTC(2026, 0, 1);
/** End (exclusive) of the simulated years; 29 February 2028 is simulated besides. */
export const TO = Date.UTC(2028, 0, 1);
/** Random expressions in the whole corpus (all shards). */
export const EXPRESSIONS = 1008;
/** Job zones per expression (rotating through JOB_ZONES). */
export const JOB_ZONES_PER_EXPRESSION = 1;
const SEED = 20261206;
const LEAP_DAY = Date.UTC(2028, 1, 29, 6);

/** One random expression with its windows (the instants they are centred on). */
export interface Expression {
  readonly index: number;
  readonly schedule: string;
  readonly spec: CronSpec;
  readonly jobZones: readonly string[];
  /** Window centres that do not depend on the zones: month ends, the leap day, random days. */
  readonly fixedCentres: readonly number[];
}

/** The corpus, deterministic (fixed seed); `shard` of `shards` keeps every shards-th expression. */
export function corpus(shard = 0, shards = 1): Expression[] {
  const rand = prng(SEED);
  const out: Expression[] = [];
  for (let i = 0; i < EXPRESSIONS; i++) {
    const schedule = randomSchedule(rand, i % 2 === 0);
    const monthEnds = [i % 24, (i * 7 + 5) % 24].map((m) => Date.UTC(2026, m + 1, 1));
    const random = [0, 1].map(() => FROM + Math.floor(rand() * 730) * DAY + Math.floor(rand() * 24) * HOUR);
    if (i % shards !== shard) continue;
    const parsed = parseCron(schedule);
    if (!parsed.ok) throw new Error(`randomSchedule gave an invalid expression ${schedule}`);
    // Pairs of expressions (one dense, one sparse) share the job zones, so each zone gets both kinds.
    const jobZones = Array.from({ length: JOB_ZONES_PER_EXPRESSION }, (_, k) => JOB_ZONES[(Math.floor(i / 2) * JOB_ZONES_PER_EXPRESSION + k) % JOB_ZONES.length]!);
    out.push({ index: i, schedule, spec: parsed.value, jobZones, fixedCentres: [...monthEnds, LEAP_DAY, ...random] });
  }
  return out;
}

/** The task model cronsync would register for these triggers (job details do not matter here). */
export function simModel(triggers: TriggerSet): TaskModel {
  return {
    uri: '\\cronsync\\sim\\job',
    source: '',
    description: 'simulated',
    triggers: triggers.triggers,
    principal: { userId: SYSTEM_SID, logonType: null, runLevel: 'HighestAvailable' },
    settings: {
      multipleInstancesPolicy: 'Parallel',
      disallowStartIfOnBatteries: false,
      stopIfGoingOnBatteries: false,
      startWhenAvailable: false,
      enabled: true,
      executionTimeLimitSeconds: 0,
    },
    action: { command: 'C:\\Program Files\\nodejs\\node.exe', arguments: '"C:\\Program Files\\cronsync\\main.js" exec --scheduled sim/job' },
  };
}

/** A job rendered for one host and read back by the simulator. */
export interface RenderedJob {
  readonly triggers: TriggerSet;
  readonly xml: string;
  readonly task: SimTask;
}

/** The adapter's trigger translation (triggers.ts' jobTriggers), injected so a test can feed a broken one. */
export type Translate = (schedule: string, jobZone: string, hostZone: string, opts: { now: Date }) => TriggerSet;

/** Renders `schedule` (job zone) for `hostZone` as the adapter does at `now`, as UTF-16 bytes, and reads it back. */
export function renderJob(translate: Translate, schedule: string, jobZone: string, hostZone: string, now = NOW): RenderedJob {
  const triggers = translate(schedule, jobZone, hostZone, { now: new Date(now) });
  const xml = renderTaskXml(simModel(triggers));
  return { triggers, xml, task: parseTask(encodeUtf16(xml)) };
}

/** Totals of a simulation run. */
export interface SimStats {
  expressions: number;
  jobs: number;
  /** Tasks rendered (a job is rendered once per simulated year). */
  renders: number;
  windows: number;
  /** (window, interpretation) pairs checked; `simulated` of them were computed, the rest share a provably identical class. */
  checks: number;
  simulated: number;
  fires: number;
  starts: number;
  wasted: number;
  triggerCounts: number[];
  classChecks: number;
  mismatches: string[];
}

const sameList = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, k) => x === b[k]);

const iso = (t: number): string => new Date(t).toISOString().slice(0, 16);

function diff(want: readonly number[], got: readonly number[]): string {
  const w = new Set(want);
  const g = new Set(got);
  const missing = want.filter((t) => !g.has(t)).slice(0, 3).map(iso);
  const extra = got.filter((t, k) => !w.has(t) || got.indexOf(t) !== k).slice(0, 3).map(iso);
  return `missing [${missing.join(' ')}] extra [${extra.join(' ')}]`;
}

/**
 * Simulates the expressions of one shard: for each (expression, job zone, host zone) and each
 * window, the guard's runs under every interpretation must equal the §2a fires exactly.
 * Every tenth expression runs the guard with isFireTime itself, the others with the window's
 * fire set (the same answer: test/schedule/isfiretime.test.ts); every 25th also simulates all
 * twelve interpretations to check the class grouping. `expressions` replaces the shard's;
 * `renderAt` gives the adapter's `now` for the task a window runs on.
 */
export function simulateShard(
  translate: Translate,
  shard: number,
  shards: number,
  expressions: readonly Expression[] = corpus(shard, shards),
  renderAt: (windowStart: number) => number = (from) => Date.UTC(Math.min(2027, new Date(from).getUTCFullYear()), 0, 1),
): SimStats {
  const stats: SimStats = { expressions: 0, jobs: 0, renders: 0, windows: 0, checks: 0, simulated: 0, fires: 0, starts: 0, wasted: 0, triggerCounts: [], classChecks: 0, mismatches: [] };
  const zoneChanges = new Map<string, number[]>();
  const changes = (zone: string): number[] => {
    let list = zoneChanges.get(zone);
    if (!list) zoneChanges.set(zone, (list = transitionsBetween(zone, FROM, TO).map((t) => t.at)));
    return list;
  };
  for (const e of expressions) {
    stats.expressions++;
    const exactGuard = e.index % 10 === 0;
    const checkClasses = e.index % 25 === 0;
    for (const jobZone of e.jobZones) {
      const expectedByCentre = new Map<number, { fires: number[] }>();
      for (const hostZone of HOST_ZONES) {
        // The adapter re-renders at every sync; by default a window is simulated on the task
        // rendered on 1 January of its year (dated triggers cover a year and two days from then);
        // 29 February 2028 on the 2027 task (no change near it; recurring triggers never expire).
        // A host without offset changes gets no dated triggers: one rendering serves every window.
        const renders = new Map<number, RenderedJob>();
        const fixedHost = changes(hostZone).length === 0;
        const jobOf = (from: number): RenderedJob => {
          const now = renderAt(fixedHost ? FROM : from);
          let job = renders.get(now);
          if (!job) {
            renders.set(now, (job = renderJob(translate, e.schedule, jobZone, hostZone, now)));
            stats.renders++;
            stats.triggerCounts.push(job.triggers.triggers.length);
          }
          return job;
        };
        stats.jobs++;
        const centres = [...new Set([...changes(jobZone), ...changes(hostZone), ...e.fixedCentres])];
        for (const at of centres) {
          const from = at - DAY;
          const to = at + DAY;
          const job = jobOf(from);
          let expected = expectedByCentre.get(at);
          if (!expected) {
            const fires = firesBetween(e.spec, jobZone, new Date(from - 1), new Date(to - 1), 100_000).map((d) => d.getTime());
            expected = { fires };
            expectedByCentre.set(at, expected);
          }
          stats.windows++;
          stats.fires += expected.fires.length;
          const known = new Map<number, boolean>();
          const isFire = (m: number): boolean => {
            let v = known.get(m);
            if (v === undefined) known.set(m, (v = isFireTime(e.spec, jobZone, new Date(m))));
            return v;
          };
          const classes = interpretationClasses(job.task, hostZone, from, to);
          const startsOf = new Map<string, number[]>();
          for (const c of classes) {
            const starts = taskStarts(job.task, hostZone, from, to, c.representative);
            const runs = exactGuard ? guardRuns(starts, isFire) : guardRunsAgainst(starts, expected.fires);
            stats.simulated++;
            stats.checks += c.members.length;
            stats.starts += starts.length * c.members.length;
            stats.wasted += (starts.length - runs.length) * c.members.length;
            for (const m of c.members) startsOf.set(interpretationName(m), starts);
            if (runs.length !== expected.fires.length || runs.some((t, k) => t !== expected.fires[k])) {
              stats.mismatches.push(`${e.schedule} job ${jobZone} host ${hostZone} window ${iso(from)}..${iso(to)} under ${c.members.map(interpretationName).join(',')}: ${diff(expected.fires, runs)}`);
            }
          }
          if (checkClasses) {
            for (const i of INTERPRETATIONS) {
              const got = taskStarts(job.task, hostZone, from, to, i);
              stats.classChecks++;
              if (!sameList(got, startsOf.get(interpretationName(i)) ?? [])) {
                stats.mismatches.push(`class grouping wrong for ${e.schedule} host ${hostZone} at ${iso(at)} under ${interpretationName(i)}`);
              }
            }
          }
        }
      }
    }
  }
  return stats;
}

/** Median, 99th percentile and maximum of a list of numbers. */
export function distribution(values: readonly number[]): { median: number; p99: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
  return { median: at(0.5), p99: at(0.99), max: s[s.length - 1] ?? 0 };
}

/** One line of totals for the test log. */
export function summary(name: string, s: SimStats): string {
  const d = distribution(s.triggerCounts);
  return `${name}: ${s.expressions} expressions, ${s.jobs} jobs (expression × job zone × host zone), ${s.renders} rendered tasks, ${s.windows} 48h windows, `
    + `${s.checks} window×interpretation checks (${s.simulated} simulated, ${s.classChecks} class checks), ${s.fires} fires, `
    + `${s.starts} starts, ${s.wasted} wasted by the guard, triggers per task median ${d.median} p99 ${d.p99} max ${d.max}, `
    + `${s.mismatches.length} mismatches`;
}

/** What a job costs over one year: per interpretation, its starts and the starts the guard throws away. */
export interface YearCost {
  /** §2a fires in the year. */
  readonly fires: number;
  /** Starts per interpretation (by {@link interpretationName}). */
  readonly starts: Readonly<Record<string, number>>;
  /** Starts - runs per interpretation: the cost of the guard. */
  readonly wasted: Readonly<Record<string, number>>;
  /** Of the wasted starts, those at a fire instant that already ran (the marker's share). */
  readonly duplicates: Readonly<Record<string, number>>;
  /** Interpretations whose runs differ from the fires (empty when exact). */
  readonly mismatches: readonly string[];
}

/**
 * Simulates `task` over the whole (UTC) year `year` on `hostZone`, week by week (only weeks near
 * a host offset change need more than one or two interpretation classes), with the guard.
 */
export function jobYearCost(task: SimTask, spec: CronSpec, jobZone: string, hostZone: string, year: number): YearCost {
  const from = Date.UTC(year, 0, 1);
  const to = Date.UTC(year + 1, 0, 1);
  const fires = firesBetween(spec, jobZone, new Date(from - 1), new Date(to - 1), 1_000_000).map((d) => d.getTime());
  const fireSet = new Set(fires);
  const starts: Record<string, number> = {};
  const runs: Record<string, number> = {};
  const atFires: Record<string, number> = {};
  for (const i of INTERPRETATIONS) starts[interpretationName(i)] = runs[interpretationName(i)] = atFires[interpretationName(i)] = 0;
  for (let a = from; a < to; a += 7 * DAY) {
    const b = Math.min(to, a + 7 * DAY);
    for (const c of interpretationClasses(task, hostZone, a, b)) {
      const s = taskStarts(task, hostZone, a, b, c.representative);
      const r = guardRuns(s, (m) => fireSet.has(m)).length;
      let f = 0;
      for (const t of s) if (fireSet.has(Math.floor(t / 60_000) * 60_000)) f++;
      for (const m of c.members) {
        starts[interpretationName(m)]! += s.length;
        runs[interpretationName(m)]! += r;
        atFires[interpretationName(m)]! += f;
      }
    }
  }
  const wasted: Record<string, number> = {};
  const duplicates: Record<string, number> = {};
  const mismatches: string[] = [];
  for (const [name, n] of Object.entries(starts)) {
    wasted[name] = n - runs[name]!;
    duplicates[name] = atFires[name]! - runs[name]!;
    // The guard keeps a subset of the fires, so equal counts mean equal sets.
    if (runs[name] !== fires.length) mismatches.push(`${spec.source} job ${jobZone} host ${hostZone} ${year} under ${name}: ${runs[name]} runs, ${fires.length} fires`);
  }
  return { fires: fires.length, starts, wasted, duplicates, mismatches };
}
