// The row schema every bench returns, and the checks and formatting the runner applies to it.
//
// A row is { name, ratio, goal?, unit?, detail?, goalText?, note? }:
//   name      the figure, e.g. 'lint 10k manifests / 1k files vs yaml parse only'
//   ratio     the figure against its same-run baseline (lower is better); a number, or a string
//             such as 'n/a' when it could not be measured
//   goal      met when ratio <= goal; rows without a goal are informational. A goal of
//             "≥ 30× faster" is written goal: 1 / 30
//   unit      what ratio counts: '×' (the default, a ratio to the baseline), or ' MiB', ' ms', ''
//             for an informational absolute figure
//   detail    the baselines in ms / MiB and how they were measured, one line
//   goalText  the goal in words where '≤ goal' reads badly, e.g. '≥ 30× faster'
//   note      a longer remark for the bench's section (why a goal is missed, a caveat)

/** MARKER prefixes the one stdout line on which a bench child prints its result as JSON. */
export const MARKER = '@@cronsync-bench@@ ';

/** The verdict on a row: 'met', 'not met', 'info' (no goal) or 'error' (ratio not a number). */
export function verdict(row) {
  if (row.error) return 'error';
  if (typeof row.ratio !== 'number' || !Number.isFinite(row.ratio)) return row.goal === undefined ? 'info' : 'error';
  if (row.goal === undefined || row.goal === null) return 'info';
  return row.ratio <= row.goal ? 'met' : 'not met';
}

/** A number with about three significant digits, without trailing noise. */
export function num(x) {
  if (typeof x !== 'number') return String(x);
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 0.1) return x.toFixed(2);
  return String(Number(x.toPrecision(2)));
}

/** The unit suffix of a row: '×' unless the bench named another. */
const unitOf = (row) => (row.unit === undefined ? '×' : row.unit);

/** The ratio as printed: `1.23×`, `89.5 MiB`, `3`. */
export const ratioText = (row) => (typeof row.ratio === 'number' ? `${num(row.ratio)}${unitOf(row)}` : String(row.ratio));

/** The goal as printed: `≤ 1.5×`, or the bench's words with the bound beside them. */
export function goalText(row) {
  if (row.goal === undefined || row.goal === null) return '';
  const bound = `≤ ${num(row.goal)}${unitOf(row)}`;
  return row.goalText ? `${row.goalText} (${bound})` : bound;
}

/**
 * Checks one row returned by a bench; returns the problem, or null when the row is usable.
 * A bad row is reported rather than dropped, so that a schema slip is visible in results.md.
 */
export function rowProblem(row) {
  if (row === null || typeof row !== 'object') return 'not an object';
  if (typeof row.name !== 'string' || row.name === '') return 'no name';
  if (typeof row.ratio !== 'number' && typeof row.ratio !== 'string') return `ratio is ${typeof row.ratio}`;
  if (row.goal !== undefined && typeof row.goal !== 'number') return `goal is ${typeof row.goal}, not a number`;
  return null;
}

/** The fields of a row kept in results.md (anything else a bench returns is dropped). */
export function keep(row) {
  const out = { name: row.name, ratio: typeof row.ratio === 'number' && !Number.isFinite(row.ratio) ? String(row.ratio) : row.ratio };
  for (const k of ['goal', 'unit', 'detail', 'goalText', 'note', 'error']) if (row[k] !== undefined && row[k] !== null) out[k] = row[k];
  return out;
}
