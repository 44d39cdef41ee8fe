/**
 * Terminal-safe text for human-readable output. A manifest, a file name, a scheduler entry or a
 * status file can carry any character; printed raw, a newline forges an output line, an ESC
 * sequence drives the terminal and a bidi override reorders what the reader sees. JSON output
 * keeps exact values; every text format passes its values through {@link escapeText}.
 */

/**
 * C0 controls and DEL, C1 controls, the bidi marks, embeddings, overrides and isolates
 * (U+061C, U+200E/F, U+202A–202E, U+2066–2069), and the line and paragraph separators
 * (U+2028/9), which some terminals and viewers break lines at.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g; // eslint-disable-line no-control-regex

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * The text with every unsafe character replaced by a visible escape: `\n`, `\r`, `\t`, `\xNN`
 * for the other C0/C1 controls and DEL, `\u{NNNN}` for the Unicode format characters. Every
 * other character, a backslash included, is kept as it is.
 */
export function escapeText(text: string): string {
  return text.replace(UNSAFE, (ch) => {
    const named = NAMED[ch];
    if (named !== undefined) return named;
    const cp = ch.codePointAt(0)!;
    return cp <= 0xff ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u{${cp.toString(16)}}`;
  });
}

/**
 * `text` cut to at most `max` characters (whole code points), with `…` when cut: a value typed by
 * a user or read from a file, quoted in a message, never fills the screen. Not escaped.
 */
export function clip(text: string, max = 200): string {
  if (text.length <= max) return text;
  let end = max;
  // Not between the halves of a surrogate pair.
  if (/[\ud800-\udbff]/.test(text[end - 1]!)) end--;
  return `${text.slice(0, end)}…`;
}

/**
 * An error message made of a first line and `breaks` more (a config error: a header, then one
 * line per issue), each line escaped by {@link escapeText} and the line breaks kept. A message
 * with any other number of newlines quotes text that holds some of its own, which could forge a
 * line: then every newline is escaped.
 */
export function escapeMessage(text: string, breaks: number): string {
  const lines = text.split('\n');
  return lines.length === breaks + 1 ? lines.map(escapeText).join('\n') : escapeText(text);
}

/**
 * A copy of a JSON-like value with {@link escapeText} applied to every string, keys included;
 * for formatting a whole document (the status file) as text in one place.
 */
export function escapeDeep<T>(value: T): T {
  if (typeof value === 'string') return escapeText(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => escapeDeep(v)) as T;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [escapeText(k), escapeDeep(v)])) as T;
  }
  return value;
}
