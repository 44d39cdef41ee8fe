/**
 * Translation of a job schedule (SPEC §2a, in the job's zone) into host cron lines for
 * Debian's cron, which runs every entry on the host's wall clock with its own DST rules.
 *
 * The lines are a superset: Debian starts one of them at every §2a fire instant, and
 * `cronsync exec --scheduled` runs the job only when `isFireTime()` says the current minute is
 * a fire instant. Guarantees, for host zones whose transitions are at least 6 minutes long:
 *
 * 1. Coverage: the host-wall minute of every fire instant is matched by a line (every shift
 *    between the two zones' clocks in force during the horizon is applied).
 * 2. Debian starts a matching line at that real minute: lines that touch a host hour where a
 *    second-pass fire is possible are "wildcard" lines (minute field starting with `*`, e.g.
 *    `*\/60,30`), which Debian runs in both passes of a fall-back; lines in a host gap hour are
 *    wildcard too unless no fire can be due shortly after the jump, so the catch-up runs of
 *    fixed-time lines at the jump are always rejected by the guard.
 * 3. At most one start per real minute: each host (hour, minute) belongs to exactly one line,
 *    with one day set (a superset of the days it is needed on).
 *
 * When both zones keep the same clock and have no transitions (UTC on a UTC host), the lines
 * are exactly the schedule and the guard never rejects a start.
 */
import type { CronSpec } from '../../schedule/cron.js';
import { ALL_DOM, ALL_DOW, ALL_MONTHS, dayKey, daySet, joinDays, shiftDays } from './days.js';
import type { DaySet } from './days.js';
import { zonePair } from './zones.js';
import type { Horizon } from './zones.js';

/** HostLine is one cron line of the host, in fields; `wildcard` forces a `*`-led minute field. */
export interface HostLine {
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly days: DaySet;
  readonly wildcard: boolean;
}

function bitsOf(list: readonly number[], offset = 0): number {
  let m = 0;
  for (const v of list) m |= 1 << (v - offset);
  return m;
}

/** The job's own day set (SPEC §2a rule 1). */
export function jobDays(spec: CronSpec): DaySet | null {
  const months = bitsOf(spec.months, 1);
  const dom = bitsOf(spec.daysOfMonth, 1);
  const dow = bitsOf(spec.daysOfWeek);
  if (spec.domRestricted && spec.dowRestricted) return daySet(months, false, dom, dow);
  if (spec.domRestricted) return daySet(months, dom === ALL_DOM && dow === ALL_DOW, dom, 0);
  if (spec.dowRestricted) return daySet(months, false, 0, dow);
  return daySet(months, true, 0, 0);
}

/** Options of {@link translateSchedule}. */
export interface TranslateOptions {
  /**
   * Apply Debian cron's DST rules (guarantee 2: wildcard lines in host gap and repeated
   * hours) [true]. Schedulers that handle the host's transitions otherwise (the Task
   * Scheduler adapter's dated triggers) turn it off and get only the coverage lines.
   */
  readonly debianDst?: boolean;
}

/**
 * Host cron lines for `spec` in `jobZone` on a host in `hostZone` (see module comment). Pure
 * and deterministic; zones must be valid IANA names.
 */
export function translateSchedule(spec: CronSpec, jobZone: string, hostZone: string, horizon?: Horizon, options: TranslateOptions = {}): HostLine[] {
  const base = jobDays(spec);
  if (!base) return [];
  const pair = zonePair(jobZone, hostZone, horizon);
  const jobMinutes: number[] = [];
  for (const h of spec.hours) for (const m of spec.minutes) jobMinutes.push(h * 60 + m);

  // Host minute of the day -> the days it must run on.
  const slots = new Map<number, DaySet>();
  const put = (slot: number, days: DaySet): void => {
    const old = slots.get(slot);
    slots.set(slot, old ? joinDays(old, days) : days);
  };
  for (const c of pair.candidates) {
    const restricted = daySet(base.months & c.months, base.all, base.dom, base.dow);
    if (!restricted) continue;
    const byCarry = new Map<number, DaySet[]>();
    for (const x of jobMinutes) {
      if (c.window && !c.window[x]) continue;
      const y = x + c.delta;
      const carry = Math.floor(y / 1440);
      let days = byCarry.get(carry);
      if (!days) {
        days = shiftDays(restricted, carry);
        byCarry.set(carry, days);
      }
      for (const d of days) put(y - carry * 1440, d);
    }
  }

  // Hours whose lines must be wildcard (see guarantee 2).
  const wild = new Set<number>();
  if (options.debianDst === false) return groupLines(slots, wild);
  const secondPass = jobMinutes.some((x) => pair.secondPass[x] || (spec.hourIsStar && pair.secondPassOwn[x]));
  if (secondPass) for (const h of pair.repeatHours) wild.add(h);
  if ([...slots.keys()].some((s) => pair.jumpWindow[s])) for (const h of pair.gapHours) wild.add(h);
  for (const h of wild) {
    let joined: DaySet | undefined;
    for (let m = 0; m < 60; m++) {
      const d = slots.get(h * 60 + m);
      if (d) joined = joined ? joinDays(joined, d) : d;
    }
    if (!joined) continue;
    // Minute 0 joins the line: a `*\/60` minute field is what makes the line wildcard.
    for (let m = 0; m < 60; m++) if (m === 0 || slots.has(h * 60 + m)) slots.set(h * 60 + m, joined);
  }
  return groupLines(slots, wild);
}

function groupLines(slots: ReadonlyMap<number, DaySet>, wild: ReadonlySet<number>): HostLine[] {
  // days key -> hour -> minutes
  const byDays = new Map<string, { days: DaySet; hours: Map<number, number[]> }>();
  for (const slot of [...slots.keys()].sort((a, b) => a - b)) {
    const days = slots.get(slot)!;
    const key = dayKey(days);
    let g = byDays.get(key);
    if (!g) {
      g = { days, hours: new Map() };
      byDays.set(key, g);
    }
    const h = Math.floor(slot / 60);
    const list = g.hours.get(h) ?? [];
    list.push(slot % 60);
    g.hours.set(h, list);
  }
  const lines: HostLine[] = [];
  for (const g of byDays.values()) {
    const byMinutes = new Map<string, { minutes: number[]; hours: number[] }>();
    for (const [h, minutes] of g.hours) {
      const k = minutes.join(',');
      const e = byMinutes.get(k) ?? { minutes, hours: [] };
      e.hours.push(h);
      byMinutes.set(k, e);
    }
    for (const e of byMinutes.values()) {
      lines.push({ minutes: e.minutes, hours: e.hours, days: g.days, wildcard: e.hours.some((h) => wild.has(h)) });
    }
  }
  return lines.sort((a, b) => a.hours[0]! - b.hours[0]! || a.minutes[0]! - b.minutes[0]! || dayKey(a.days).localeCompare(dayKey(b.days)));
}

function list(values: readonly number[]): string {
  if (values.length >= 3) {
    const step = values[1]! - values[0]!;
    if (step > 1 && values.every((v, i) => i === 0 || v - values[i - 1]! === step)) {
      return `${values[0]}-${values[values.length - 1]}/${step}`;
    }
  }
  const parts: string[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j]! + 1) j++;
    parts.push(j - i >= 2 ? `${values[i]}-${values[j]}` : values.slice(i, j + 1).join(','));
    i = j + 1;
  }
  return parts.join(',');
}

function maskList(mask: number, from: number, to: number, offset: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v++) if (mask & (1 << (v - offset))) out.push(v);
  return out;
}

/**
 * The five cron fields of a host line. Never writes a day field starting with `*` unless it
 * is exactly `*` (Debian would read `*\/2` as unrestricted), and writes a `*`-led minute field
 * exactly when the line must be a Debian "wildcard" entry.
 */
export function hostLineFields(line: HostLine): string {
  const hourField = line.hours.length === 24 ? '*' : list(line.hours);
  let minuteField: string;
  if (line.minutes.length === 60) minuteField = '*';
  else if (line.wildcard && hourField !== '*') {
    const rest = line.minutes.filter((m) => m !== 0);
    minuteField = rest.length ? `*/60,${list(rest)}` : '*/60';
  } else minuteField = list(line.minutes);
  const d = line.days;
  const month = d.months === ALL_MONTHS ? '*' : list(maskList(d.months, 1, 12, 1));
  const dom = d.all || d.dom === 0 ? '*' : list(maskList(d.dom, 1, 31, 1));
  const dow = d.all || d.dow === 0 ? '*' : list(maskList(d.dow, 0, 6, 0));
  return `${minuteField} ${hourField} ${dom} ${month} ${dow}`;
}
