/**
 * Fidelity of the systemd adapter against systemd itself (issue #14, SPEC §2a): random
 * schedules × zones, their `OnCalendar=` lines evaluated by `systemd-analyze calendar`, merged,
 * passed through the exec guard (isFireTime, once per instant), must give exactly the §2a
 * fires. Base times sit just before and inside every DST transition of 2026–2027 of each
 * zone, and on month ends, leap days and random days.
 *
 * Speed: systemd forks a child for every iteration of a zone-suffixed expression, so each
 * call carries many expressions, iterates only as far as the next transition needs (at most
 * 10), and two calls run at a time. FIDELITY_RUNS=N checks N schedules (default 1000).
 */
import { execFile, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseCron } from '../../src/schedule/cron.js';
import type { CronSpec } from '../../src/schedule/cron.js';
import { firesBetween, isFireTime, neverFires } from '../../src/schedule/fires.js';
import { offsetAt, transitionsBetween } from '../../src/schedule/zone.js';
import { affectedSpan } from '../../src/scheduler/dst.js';
import { calendarLines } from '../../src/scheduler/systemd/calendar.js';
import { prng } from '../schedule/random.js';

const RUNS = Number(process.env.FIDELITY_RUNS ?? 1000);
const SEED = Number(process.env.FIDELITY_SEED ?? 20261206);
const MAX_ITERATIONS = 10;
const ITERATION_SIZES = [2, 4, MAX_ITERATIONS];
const PARALLEL = 2;
const ZONES = ['UTC', 'America/New_York', 'Europe/London', 'Europe/Berlin', 'Europe/Dublin', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham'];
const MS_MIN = 60_000;
const MS_HOUR = 3_600_000;
const FROM = Date.UTC(2026, 0, 1);
const TO = Date.UTC(2028, 0, 1);
const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;


/** A random cron field; `near` biases single values toward the hours DST changes happen in. */
function field(rnd: () => number, min: number, max: number, opts: { star: number; near?: number[] }): string {
  const int = (a: number, b: number): number => a + Math.floor(rnd() * (b - a + 1));
  const value = (): number => (opts.near && rnd() < 0.6 ? opts.near[int(0, opts.near.length - 1)]! : int(min, max));
  const r = rnd();
  if (r < opts.star) return '*';
  if (r < opts.star + 0.25) return String(value());
  if (r < opts.star + 0.4) {
    const a = value();
    return `${Math.min(a, max - 1)}-${int(Math.min(a, max - 1) + 1, max)}`;
  }
  if (r < opts.star + 0.55) return `*/${int(2, Math.max(2, Math.floor((max - min + 1) / 2)))}`;
  if (r < opts.star + 0.7) {
    const a = int(min, max - 1);
    return `${a}-${int(a + 1, max)}/${int(2, 5)}`;
  }
  return [...new Set([value(), value(), value()])].sort((x, y) => x - y).join(',');
}

function randomSchedule(rnd: () => number): string {
  const minute = field(rnd, 0, 59, { star: 0.05, near: [0, 15, 30, 45] });
  const hour = field(rnd, 0, 23, { star: 0.3, near: [0, 1, 2, 3] });
  const dom = field(rnd, 1, 31, { star: 0.6, near: [1, 28, 29, 30, 31] });
  const month = field(rnd, 1, 12, { star: 0.7, near: [2, 3, 4, 9, 10, 11] });
  const dow = field(rnd, 0, 7, { star: 0.6, near: [0, 6, 7] });
  return `${minute} ${hour} ${dom} ${month} ${dow}`;
}

/** Base times of a zone: around each transition of 2026–2027, month ends, leap days, random days. */
function baseTimes(zone: string, rnd: () => number): number[] {
  const out: number[] = [];
  for (const tr of transitionsBetween(zone, FROM, TO)) {
    const span = affectedSpan(tr);
    out.push(span.from - 2 * MS_MIN, tr.at - 7 * MS_MIN, tr.at + 9 * MS_MIN, span.to - 4 * MS_MIN);
  }
  const wall = (y: number, m: number, d: number, h: number, min: number): number => {
    const w = Date.UTC(y, m, d, h, min);
    return w - offsetAt(zone, w);
  };
  for (let m = 0; m < 24; m += 3) out.push(wall(2026 + Math.floor(m / 12), (m % 12) + 1, 0, 23, 50));
  out.push(wall(2028, 1, 28, 23, 50), wall(2028, 1, 29, 23, 50));
  for (let i = 0; i < 4; i++) out.push(FROM + Math.floor(rnd() * (TO - FROM) / MS_MIN) * MS_MIN);
  return out;
}

interface Case {
  schedule: string;
  spec: CronSpec;
  zone: string;
  base: number;
  recurring: string[];
  dated: string[];
  iterations: number;
}

/**
 * One `systemd-analyze calendar` call. systemd 252 gives up on some expressions whose next
 * elapse is in a spring-forward gap ("Infinite loop in calendar calculation", EDEADLK): those
 * are returned in `failed` (a timer skips such a value until its base moves on); any other
 * message on stderr fails the test.
 */
function execAnalyze(args: string[]): Promise<{ stdout: string; failed: Set<string> }> {
  return new Promise((resolve, reject) => {
    execFile('systemd-analyze', args, { env: { ...process.env, TZ: 'UTC', LANG: 'C', LC_ALL: 'C', SYSTEMD_LOG_COLOR: '0', SYSTEMD_COLORS: '0' }, maxBuffer: 1 << 28 }, (err, stdout, stderr) => {
      const failed = new Set<string>();
      const other = stderr.split('\n').filter((l) => {
        const m = /^Failed to determine next elapse for '(.*)': Resource deadlock avoided$/.exec(l);
        if (m) failed.add(m[1]!);
        return l !== '' && !m;
      });
      if (other.length > 0 || (err && failed.size === 0)) reject(new Error(`systemd-analyze ${args.slice(0, 3).join(' ')} …: ${stderr || String(err)}`));
      else resolve({ stdout, failed });
    });
  });
}

/**
 * Elapse instants per expression (in argument order) of one `systemd-analyze calendar` call.
 * An expression systemd failed on prints nothing at all: it gets no instants.
 */
function parseCalendar(out: string, exprs: readonly string[], failed: ReadonlySet<string>): number[][] {
  const blocks: string[][] = [];
  let prevOriginal = false;
  for (const line of out.split('\n')) {
    const original = /^\s*Original form:/.test(line);
    if (original || (/^\s*Normalized form:/.test(line) && !prevOriginal)) blocks.push([]);
    prevOriginal = original;
    blocks.at(-1)?.push(line);
  }
  const ok = exprs.filter((e) => !failed.has(e));
  if (blocks.length !== ok.length) throw new Error(`expected ${ok.length} blocks, got ${blocks.length}`);
  const instants = blocks.map((b) => [...b.join('\n').matchAll(/^\s*(?:Next elapse|Iter\. #\d+): \w{3} (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) UTC$/gm)].map((m) => Date.parse(`${m[1]}T${m[2]}Z`)));
  let i = 0;
  return exprs.map((e) => (failed.has(e) ? [] : instants[i++]!));
}

/** Runs jobs with at most `n` at a time. */
async function pool<T>(tasks: (() => Promise<T>)[], n: number): Promise<T[]> {
  const out: T[] = new Array<T>(tasks.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
    }
  }));
  return out;
}

let calls = 0;

/** Evaluates `lines` from `base` with `iterations`, many lines per call. */
async function evaluate(groups: Map<string, { base: number; iterations: number; lines: Set<string> }>): Promise<Map<string, { instants: number[]; failed: boolean }>> {
  const results = new Map<string, { instants: number[]; failed: boolean }>();
  const tasks: (() => Promise<void>)[] = [];
  for (const [key, g] of groups) {
    const lines = [...g.lines];
    for (let i = 0; i < lines.length; i += 150) {
      const chunk = lines.slice(i, i + 150);
      tasks.push(async () => {
        const { stdout, failed } = await execAnalyze(['calendar', `--iterations=${g.iterations}`, `--base-time=@${g.base / 1000}`, ...chunk]);
        parseCalendar(stdout, chunk, failed).forEach((instants, j) => results.set(`${key}\u0000${chunk[j]!}`, { instants, failed: failed.has(chunk[j]!) }));
      });
    }
  }
  await pool(tasks, PARALLEL);
  calls += tasks.length;
  return results;
}

/** What checking `cases` against systemd found (see the random test). */
interface Verdict { mismatches: string[]; compared: number; guardRejected: number; fromDated: number; deadlocks: number; rejectedSamples: string[] }

/**
 * Evaluates every case's lines with systemd-analyze from its base, merges the starts, passes
 * them through the guard (isFireTime) and compares them with the §2a fires up to where
 * systemd's answer reaches.
 */
async function verify(cases: readonly Case[]): Promise<Verdict> {
  const groups = new Map<string, { base: number; iterations: number; lines: Set<string> }>();
  const add = (key: string, base: number, iterations: number, line: string): void => {
    const g = groups.get(key) ?? { base, iterations, lines: new Set<string>() };
    g.lines.add(line);
    groups.set(key, g);
  };
  for (const c of cases) {
    for (const l of c.recurring) add(`${c.base}/${c.iterations}`, c.base, c.iterations, l);
    // Dated lines are UTC (no child process): every instant of each, from before it.
    for (const l of c.dated) add('dated', 0, 60, l);
  }
  const results = await evaluate(groups);

  const mismatches: string[] = [];
  let compared = 0;
  let guardRejected = 0;
  let fromDated = 0;
  let deadlocks = 0;
  const rejectedSamples: string[] = [];
  for (const c of cases) {
    const key = `${c.base}/${c.iterations}`;
    let window = c.base + 2 * 366 * 24 * MS_HOUR;
    const seen: number[] = [];
    const stuck: number[] = [];
    for (const l of c.recurring) {
      const r = results.get(`${key}\u0000${l}`)!;
      if (r.failed) stuck.push(r.instants.at(-1) ?? c.base);
      else if (r.instants.length === c.iterations) window = Math.min(window, r.instants.at(-1)!);
      seen.push(...r.instants);
    }
    const recurring = new Set(seen);
    for (const l of c.dated) seen.push(...results.get(`dated\u0000${l}`)!.instants);
    // A value systemd fails on from `x` is skipped by the timer until another value fires
    // after `x` and moves its base: known only up to that fire (none: the timer stops).
    for (const x of stuck) {
      window = Math.min(window, ...seen.filter((t) => t > x));
      deadlocks++;
    }
    const started = new Set(seen.filter((t) => t > c.base && t <= window));
    const ran = [...started].filter((t) => isFireTime(c.spec, c.zone, new Date(t))).sort((a, b) => a - b);
    guardRejected += started.size - ran.length;
    for (const t of started) if (!ran.includes(t) && rejectedSamples.length < 3) rejectedSamples.push(`"${c.schedule}" ${c.zone} at ${new Date(t).toISOString()}`);
    fromDated += ran.filter((t) => !recurring.has(t)).length;
    const want = firesBetween(c.spec, c.zone, new Date(c.base), new Date(window), 100_000).map((d) => d.getTime());
    compared += want.length;
    const got = new Set(ran);
    const missing = want.filter((t) => !got.has(t));
    const extra = ran.filter((t) => !want.includes(t));
    if (missing.length > 0 || extra.length > 0) {
      const iso = (ts: number[]): string => ts.slice(0, 4).map((t) => new Date(t).toISOString()).join(' ');
      mismatches.push(`"${c.schedule}" ${c.zone} from ${new Date(c.base).toISOString()}: missing [${iso(missing)}] extra [${iso(extra)}] (lines: ${[...c.recurring, ...c.dated].join(' | ')})`);
    }
  }
  return { mismatches, compared, guardRejected, fromDated, deadlocks, rejectedSamples };
}

describe('e2e systemd calendar fidelity', () => {
  it.skipIf(!hasAnalyze)(`${RUNS} random schedules × zones: systemd's elapses + dated lines, through the guard, are exactly §2a`, async () => {
    const started = performance.now();
    const rnd = prng(SEED);
    const bases = new Map(ZONES.map((z) => [z, baseTimes(z, rnd)]));
    const cases: Case[] = [];
    while (cases.length < RUNS) {
      const schedule = randomSchedule(rnd);
      const parsed = parseCron(schedule);
      if (!parsed.ok || neverFires(parsed.value, 'UTC')) continue;
      const zone = ZONES[cases.length % ZONES.length]!;
      const list = bases.get(zone)!;
      const base = list[Math.floor(cases.length / ZONES.length) % list.length]!;
      const lines = calendarLines(parsed.value, zone, base);
      // Enough iterations to pass the end of a transition near the base (2.5 h of fires, plus
      // one), in a few sizes so that cases sharing a base share calls.
      const near = firesBetween(parsed.value, zone, new Date(base), new Date(base + 2.5 * MS_HOUR), MAX_ITERATIONS).length;
      cases.push({ schedule, spec: parsed.value, zone, base, ...lines, iterations: ITERATION_SIZES.find((n) => n >= near + 1) ?? MAX_ITERATIONS });
    }

    const { mismatches, compared, guardRejected, fromDated, deadlocks, rejectedSamples } = await verify(cases);
    const forks = cases.reduce((n, c) => n + (c.zone === 'UTC' ? 0 : c.recurring.length * c.iterations), 0);
    console.log(`systemd fidelity: ${cases.length} schedules × zones, ${compared} fires compared, ${fromDated} only from dated lines, ${guardRejected} starts rejected by the guard, ${deadlocks} calendar values systemd gave up on (EDEADLK), ${mismatches.length} mismatches; ~${forks} zone iterations in ${calls} calls; ${((performance.now() - started) / 1000).toFixed(1)} s`);
    if (rejectedSamples.length > 0) console.log(`systemd started instants that are not §2a fires (the guard skips them), e.g. ${rejectedSamples.join('; ')}`);

    expect(mismatches.slice(0, 10)).toEqual([]);
    expect(mismatches.length).toBe(0);
    // Not vacuous: systemd alone misses fires that only the dated lines start.
    if (RUNS >= 500) expect(fromDated).toBeGreaterThan(0);
  }, 600_000);

  // systemd 252 gives up on the rest of a spring-forward day in Europe/Dublin (negative DST in
  // its tz data) once a value falls in the gap: 01:00 is missing on 2027-03-28, and it goes on to
  // the next matching day instead of 03:00 IST. The dated lines must name that 03:00.
  it.skipIf(!hasAnalyze)('Europe/Dublin\'s spring-forward day: every fire after the gap starts, the dated lines naming what systemd skips', async () => {
    const cases: Case[] = [];
    for (const [schedule, base] of [['0 1-3 * * 0', '2027-03-28T00:30:00Z'], ['0 1,3 * * *', '2027-03-27T02:00:00Z'], ['30 1-4 * * *', '2027-03-28T00:00:00Z'], ['0 1-3 * * 0', '2027-03-20T00:00:00Z']] as const) {
      const parsed = parseCron(schedule);
      if (!parsed.ok) throw new Error(parsed.error.message);
      const at = Date.parse(base);
      cases.push({ schedule, spec: parsed.value, zone: 'Europe/Dublin', base: at, ...calendarLines(parsed.value, 'Europe/Dublin', at), iterations: MAX_ITERATIONS });
    }

    const v = await verify(cases);

    expect(v.mismatches).toEqual([]);
    expect(v.compared).toBeGreaterThan(8);
    expect(v.fromDated).toBeGreaterThan(0);
  }, 120_000);
});
