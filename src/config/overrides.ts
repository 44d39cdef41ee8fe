/**
 * Overrides of config keys by `CRONSYNC_*` variables and flags: turning their text into config
 * values, and placing a problem of the merged config at the variable or flag that set the value,
 * with the value as given (an override has no file:line of its own).
 */
import type { Issue } from '../manifest/types.js';

/** A config leaf that can be overridden: its key path, schema type and variable. */
export interface Leaf { path: string[]; type: string; env: string }

/** Where an overridden value came from: the variable or flag, and its text as given. */
export interface Origin { name: string; raw: string }

/** Override origins by dotted key path. */
export type Origins = Map<string, Origin>;

/**
 * `raw` quoted for a message: JSON string syntax, so that a line break or an escape sequence in a
 * variable cannot break or forge the message's lines; cut at 200 characters.
 */
export function quoted(raw: string): string {
  return JSON.stringify(raw.length > 200 ? `${raw.slice(0, /[\ud800-\udbff]/.test(raw[199]!) ? 199 : 200)}…` : raw);
}

/**
 * Sets the leaf's value in `data` from the text of a variable or flag, recording its origin.
 * Text that is not of the leaf's type is an issue at the origin instead.
 */
export function applyOverride(data: Record<string, unknown>, leaf: Leaf, raw: string, name: string, origins: Origins, issues: Issue[]): void {
  let value: unknown = raw;
  const bad = (what: string): void => {
    issues.push({ file: name, line: 0, col: 0, path: leaf.path.join('.'), rule: 'config', severity: 'error', message: `${name} must be ${what} (got ${quoted(raw)})` });
  };
  if (leaf.type === 'boolean') {
    if (!/^(true|false|1|0|yes|no)$/i.test(raw)) return bad('true or false');
    value = /^(true|1|yes)$/i.test(raw);
  } else if (leaf.type === 'integer') {
    if (!/^\d+$/.test(raw)) return bad('a whole number');
    value = Number(raw);
  } else if (leaf.type === 'array') {
    value = raw.split(',').map((s) => s.trim()).filter(Boolean);
  } else if (leaf.type === 'object') {
    const obj: Record<string, string> = {};
    for (const pair of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
      const eq = pair.indexOf('=');
      if (eq <= 0) return bad('key=value pairs separated by commas');
      obj[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    value = obj;
  }
  let node = data;
  for (const seg of leaf.path.slice(0, -1)) {
    const next = node[seg];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[seg] = {};
    node = node[seg] as Record<string, unknown>;
  }
  node[leaf.path[leaf.path.length - 1]!] = value;
  origins.set(leaf.path.join('.'), { name, raw });
}

/**
 * The issue placed at the override that caused it, if one did: the override of its key or of a
 * key above it, or, for a rule over several keys (`source.verify`) that the file does not set at
 * all, an override below it. The message then quotes the value as given, except a URL's, which
 * may hold credentials.
 */
export function placeIssue(issue: Issue, origins: Origins, fileData: unknown): Issue {
  const entries = [...origins];
  const own = entries.find(([p]) => issue.path === p || issue.path.startsWith(`${p}.`));
  const below = own ?? (issue.path !== '' && !hasPath(fileData, issue.path.split('.')) ? entries.find(([p]) => p.startsWith(`${issue.path}.`)) : undefined);
  if (!below) return issue;
  const [path, origin] = below;
  const said = /\(got\b/.test(issue.message) || (origin.raw !== '' && issue.message.includes(origin.raw));
  const shown = said || /url$/i.test(path) ? issue.message : `${issue.message} (got ${quoted(origin.raw)})`;
  return { ...issue, file: origin.name, line: 0, col: 0, message: shown };
}

function hasPath(data: unknown, path: readonly string[]): boolean {
  let node = data;
  for (const seg of path) {
    if (typeof node !== 'object' || node === null || !Object.prototype.hasOwnProperty.call(node, seg)) return false;
    node = (node as Record<string, unknown>)[seg];
  }
  return true;
}
