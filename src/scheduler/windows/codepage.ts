/**
 * Task text read back through a console code page. `schtasks /Query /XML` prints through the
 * console's code page (an 8-bit one such as 437 or 850 on most hosts) and the runner decodes
 * its output as UTF-8, so a character outside ASCII comes back as U+FFFD, as some other
 * character, or as `?` (the code page's default character), one or several per character.
 * The fields that can hold such characters (Command and Arguments with the program and state
 * dir, the run-as UserId, the task URI) are therefore compared in their code-page form, in
 * which each run of non-ASCII characters and `?` is one `?`: what is compared is the ASCII
 * skeleton and where the non-ASCII text is. The task itself is registered with the real text,
 * and its marker lists the runs (`"nonAscii"`), so that the text read back is restored to what
 * was registered and compares equal to the job's rendering.
 */
import { MARKER_PREFIX } from '../marker.js';
import type { TaskModel } from './model.js';
import { taskBody } from './model.js';

/** The task fields a code page can mangle. */
export type CodePageField = 'uri' | 'user' | 'command' | 'arguments';

/** The non-ASCII runs of each code-page field that has any, in order. */
export type NonAsciiRuns = Partial<Record<CodePageField, string[]>>;

const FIELDS: readonly CodePageField[] = ['uri', 'user', 'command', 'arguments'];

/** A run of characters a code page may turn into others: anything outside ASCII, and `?`. */
const MANGLEABLE = /(?:[^\0-\x7f]|\?)+/g;

const NON_ASCII = /[^\0-\x7f]/;

/** Text with each run of non-ASCII characters and `?` (U+FFFD included) as one `?`. */
export function codePageForm(text: string): string {
  return text.replace(MANGLEABLE, '?');
}

function fieldsOf(m: TaskModel): Record<CodePageField, string> {
  return { uri: m.uri, user: m.principal.userId, command: m.action.command, arguments: m.action.arguments };
}

function withFields(m: TaskModel, f: Record<CodePageField, string>): TaskModel {
  return { ...m, uri: f.uri, principal: { ...m.principal, userId: f.user }, action: { command: f.command, arguments: f.arguments } };
}

/**
 * The text the marker's entry hash covers: taskBody() of the model in code-page form, so a
 * task read back through any code page hashes as it did when rendered. Tasks registered
 * before this form was hashed carry the hash of the plain taskBody(); parse.ts accepts both.
 */
export function comparableBody(m: TaskModel): string {
  const f = fieldsOf(m);
  return taskBody(withFields(m, { uri: codePageForm(f.uri), user: codePageForm(f.user), command: codePageForm(f.command), arguments: codePageForm(f.arguments) }));
}

/** The runs that {@link codePageForm} replaces, for each field of `m` that holds non-ASCII text. */
export function nonAsciiRuns(m: TaskModel): NonAsciiRuns {
  const f = fieldsOf(m);
  const out: NonAsciiRuns = {};
  for (const k of FIELDS) if (NON_ASCII.test(f[k])) out[k] = f[k].match(MANGLEABLE) ?? [];
  return out;
}

/**
 * A model with the fields read back through a code page restored from their runs: a field whose
 * code-page form has one `?` per run gets the runs back in place; any other field is left as read.
 */
export function restoreModel(m: TaskModel, runs: NonAsciiRuns): TaskModel {
  const f = fieldsOf(m);
  for (const k of FIELDS) {
    const list = runs[k];
    if (!list) continue;
    const parts = codePageForm(f[k]).split('?');
    if (parts.length === list.length + 1) f[k] = parts.reduce((acc, p, i) => acc + list[i - 1]! + p);
  }
  return withFields(m, f);
}

/** A marker line (marker.ts' encodeMarker) with the runs added as the field `nonAscii`; unchanged without runs. */
export function withRuns(markerLine: string, runs: NonAsciiRuns): string {
  return Object.keys(runs).length === 0 ? markerLine : `${markerLine.slice(0, -1)},"nonAscii":${JSON.stringify(runs)}}`;
}

/** The runs of a marker line; empty when it has none or they are malformed. Never throws. */
export function runsOf(markerLine: string): NonAsciiRuns {
  if (!markerLine.startsWith(MARKER_PREFIX)) return {};
  let v: unknown;
  try {
    v = (JSON.parse(markerLine.slice(MARKER_PREFIX.length)) as Record<string, unknown>).nonAscii;
  } catch {
    return {};
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
  const out: NonAsciiRuns = {};
  for (const k of FIELDS) {
    const list = (v as Record<string, unknown>)[k];
    if (Array.isArray(list) && list.every((s) => typeof s === 'string')) out[k] = list as string[];
  }
  return out;
}
