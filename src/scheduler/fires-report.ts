/**
 * The expected fire instants of jobs over a window (SPEC §2a, `cronsync render --fires`), for
 * real-host conformance checks such as `windows/check.ps1`: what the host's scheduler, with
 * the exec guard, must start. Pure.
 */
import type { DesiredJob } from '../desired/types.js';
import { firesBetween } from '../schedule/fires.js';

/** Fires listed per job at most; a job that fires more in the window is cut and marked `capped`. */
export const FIRES_LIMIT = 10_000;

/** A window of time, `from` included, `to` excluded. */
export interface FireWindow {
  from: Date;
  to: Date;
}

/** One job's expected fires in the window. */
export interface JobFires {
  id: string;
  schedule: string;
  timezone: string;
  /** A paused job fires nothing; its `fires` is empty. */
  paused: boolean;
  /** ISO 8601 instants in UTC (`2026-03-29T01:30:00.000Z`), strictly increasing. */
  fires: string[];
  /** True when the job fires more than `limit` times in the window and `fires` was cut. */
  capped: boolean;
}

/** What `render --fires --format json` prints. */
export interface FiresReport {
  from: string;
  to: string;
  limit: number;
  jobs: JobFires[];
}

const INSTANT = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/;

function parseInstant(text: string): Date | null {
  const m = INSTANT.exec(text);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // Date.parse rolls 2026-02-30 over into March; a date that does not exist is an error.
  if (mo < 1 || mo > 12 || d < 1 || d > new Date(Date.UTC(y, mo, 0)).getUTCDate()) return null;
  if (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 59)) return null;
  const t = Date.parse(text);
  return Number.isFinite(t) ? new Date(t) : null;
}

/**
 * Parses `FROM..TO`: dates (`2026-03-01`, midnight UTC) or instants with a zone designator
 * (`2026-03-29T01:00:00Z`, `2026-03-29T03:00+02:00`); FROM must be before TO.
 * @returns the window, or why the text is not one.
 */
export function parseFireWindow(text: string): FireWindow | { error: string } {
  const parts = text.split('..');
  if (parts.length !== 2) return { error: `expected FROM..TO, e.g. 2026-03-01..2026-04-01 (got "${text}")` };
  const [from, to] = parts.map((p) => parseInstant(p.trim()));
  if (!from || !to) {
    return { error: `FROM and TO must be dates (2026-03-01) or ISO instants with Z or an offset (2026-03-29T01:00:00Z) (got "${text}")` };
  }
  if (from.getTime() >= to.getTime()) return { error: `FROM must be before TO (got "${text}")` };
  return { from, to };
}

/** The expected fires of each job in `window` (at most `limit` per job). */
export function firesReport(jobs: readonly DesiredJob[], window: FireWindow, limit = FIRES_LIMIT): FiresReport {
  // firesBetween lists (from, to]; shifting both ends by 1 ms gives [from, to) on whole ms.
  const from = new Date(window.from.getTime() - 1);
  const to = new Date(window.to.getTime() - 1);
  return {
    from: window.from.toISOString(),
    to: window.to.toISOString(),
    limit,
    jobs: jobs.map((d) => {
      const { schedule, timezone, paused } = d.job.spec;
      const all = paused ? [] : firesBetween(schedule, timezone, from, to, limit + 1);
      return { id: d.id, schedule, timezone, paused, fires: all.slice(0, limit).map((t) => t.toISOString()), capped: all.length > limit };
    }),
  };
}
