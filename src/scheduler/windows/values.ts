/**
 * Which text a task can hold (pure, no dependencies: the config validation uses it too). Task
 * XML cannot hold every character, Task Scheduler's export trims element text, and schtasks
 * prints task paths through the console code page: a value that breaks one of these is refused
 * with a message that names it, rather than failing in `schtasks /Create` or reading back as
 * changed at every sync.
 */

/** A character XML 1.0 does not allow; with the `u` flag a lone surrogate is one too. */
const XML_ILLEGAL = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

const codePoint = (c: string): string => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Why `text` cannot be written into task XML, or null: it holds a character XML does not
 * allow (a control character, U+FFFE, U+FFFF, a lone surrogate).
 */
export function xmlCharProblem(text: string): string | null {
  const bad = XML_ILLEGAL.exec(text)?.[0];
  if (bad === undefined) return null;
  const what = /[\uD800-\uDFFF]/.test(bad) ? `a lone surrogate (${codePoint(bad)})` : codePoint(bad);
  return `must not contain ${what}: task XML cannot hold control characters, U+FFFE, U+FFFF or lone surrogates`;
}

/**
 * Why `text` cannot be the text of a task element, or null: {@link xmlCharProblem}, or white
 * space at either end (read back trimmed, so the task would look changed at every sync).
 */
export function taskTextProblem(text: string): string | null {
  return xmlCharProblem(text) ?? (/^\s|\s$/u.test(text) ? 'must not start or end with white space' : null);
}

/** Characters Windows does not allow in a task or folder name (tasks are files under System32\Tasks). */
const NAME_ILLEGAL = /[<>:"/|?*]/;

/** DOS device names, which Windows does not allow as a file or folder name. */
const DEVICE = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$/i;

/**
 * Why `folder` cannot be the task folder, or null. ASCII only: schtasks prints task paths
 * through the console code page, so the tasks of a folder with other characters would not be
 * found again (and never removed). Each `\`-separated name must be a valid Windows file name.
 */
export function taskFolderProblem(folder: string): string | null {
  const text = taskTextProblem(folder);
  if (text !== null) return text;
  const other = /[^\x20-\x7e]/.exec(folder)?.[0];
  if (other !== undefined) return `must be printable ASCII (it contains ${codePoint(other)}): schtasks prints task paths through the console code page, so tasks in the folder would not be found again`;
  const bad = NAME_ILLEGAL.exec(folder)?.[0];
  if (bad !== undefined) return `must not contain ${bad} (Windows does not allow any of <>:"/|?* in a task path)`;
  const inner = folder.replace(/^\\+|\\+$/g, '');
  if (inner === '') return null;
  for (const name of inner.split('\\')) {
    if (name === '') return 'must not contain an empty folder name (\\\\)';
    if (name === '.' || name === '..') return `must not contain the folder name ${name}`;
    if (/^ | $|\.$/.test(name)) return `must not have a folder name that starts or ends with a space or ends with a dot ("${name}"): Windows would change it`;
    if (DEVICE.test(name)) return `must not use the device name ${name} as a folder name`;
  }
  return null;
}
