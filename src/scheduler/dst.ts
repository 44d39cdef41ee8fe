/**
 * The DST transitions that adapters cover with dated entries (Task Scheduler's dated triggers,
 * systemd's dated `OnCalendar=` lines): a native scheduler's behaviour around a change of a
 * zone's offset differs from SPEC §2a or is undocumented, so the §2a fires of each change's
 * affected span are named as absolute instants, regenerated at every render.
 */
import { transitionsBetween } from '../schedule/zone.js';
import type { Transition } from '../schedule/zone.js';

const MS_DAY = 86_400_000;
/** Dated entries cover the transitions from this long before the render time (a span may still be running) ... */
export const DATED_BEFORE_MS = 2 * MS_DAY;
/** ... to this long after it: at least a year (SPEC §8). */
export const DATED_AFTER_MS = 368 * MS_DAY;

/** The transitions of `zone` that dated entries rendered at `now` (epoch ms) cover. */
export function datedTransitions(zone: string, now: number): Transition[] {
  return transitionsBetween(zone, now - DATED_BEFORE_MS, now + DATED_AFTER_MS);
}

/**
 * A transition's affected span [from, to) in epoch ms: a spring-forward gap's wall minutes fire
 * (shifted, §2a rule 3) in [at, at + gap); a fall-back repeats wall time in [at - len, at + len)
 * (both passes, §2a rule 4).
 */
export function affectedSpan(tr: Transition): { from: number; to: number } {
  const len = Math.abs(tr.after - tr.before);
  return tr.after > tr.before ? { from: tr.at, to: tr.at + len } : { from: tr.at - len, to: tr.at + len };
}
