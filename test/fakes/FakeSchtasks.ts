/**
 * A fake `schtasks.exe` over an in-memory task store, for the windows adapter tests. Every
 * behaviour names where it is documented:
 * - [create]  Microsoft Learn, "schtasks create": `/xml <xmlfile>` creates a task from the task
 *   XML in a file; `/tn` names it (`\folder\name`); `/f` "creates the task and suppresses
 *   warnings if the specified task already exists".
 * - [delete]  Microsoft Learn, "schtasks delete": `/tn`; `/f` "suppresses the confirmation message".
 * - [query]   Microsoft Learn, "schtasks query": `/xml [xml_type]` "displays the task definitions
 *   in XML format. If xml_type is ONE, the output will be one valid XML file".
 * - [change]  Microsoft Learn, "schtasks change": `/enable`, `/disable` enable or disable the task.
 * - [schema]  MS-TSCH 2.5 "XML Task Definition Format": "The server MUST validate an XML task
 *   definition's conformance to this schema and return an error if invalid".
 * - [cmdline] Microsoft Learn schtasks pages write the switches in either case (`/create`,
 *   `/TN`): they are matched case-insensitively.
 * Not documented, taken from real hosts: `/Query /XML ONE` wraps the tasks in a `<Tasks>` root,
 * lists a folder's tasks before its subfolders, and puts a comment `<!-- \path\name -->`
 * before each `<Task>`; task paths compare case-insensitively (tasks are files under
 * %SystemRoot%\System32\Tasks); errors are `ERROR: …` lines on stderr with exit code 1. The
 * fake stores the XML as given, while Windows re-serialises it: the adapter compares parsed
 * tasks, never bytes, so that difference is not exercised here.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskFileFs } from '../../src/scheduler/windows/files.js';
import { decodeXmlBytes, parseXml, elements } from '../../src/scheduler/windows/dom.js';
import { TASK_NS } from '../../src/scheduler/windows/model.js';
import type { RunResult } from '../../src/system/runner.js';
import { FakeRunner } from './FakeRunner.js';

/** Options of {@link fakeSchtasks}. */
export interface FakeSchtasksOptions {
  /** Reads the file given to `/Create /XML`; default: the real file system. */
  read?: (path: string) => Uint8Array | null;
  /** Validate every created task with xmllint against this XSD (slow; off by default). */
  xsd?: string;
  /** Answers a call instead of the fake (failure injection); undefined lets the fake answer. */
  inject?: (args: readonly string[]) => Partial<RunResult> | undefined;
  /**
   * Prints `/Query` output through this 8-bit console code page, read back as UTF-8 the way
   * the runner decodes it ({@link throughCodePage}); default: the text unchanged (a host whose
   * console code page is UTF-8).
   */
  consoleCodePage?: ConsoleCodePage;
}

/** The 8-bit console code pages {@link throughCodePage} knows. */
export type ConsoleCodePage = 'cp437' | 'latin1';

/** Characters 0x80..0xFF of code page 437 (the OEM code page of US English Windows). */
export const CP437_HIGH = 'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

/**
 * Text as a program that prints it through an 8-bit console code page (schtasks: Windows'
 * WideCharToMultiByte without best fit) and a reader that decodes the bytes as UTF-8 produce
 * it: ASCII unchanged; a character of the code page one byte of 0x80..0xFF, which UTF-8 reads
 * as U+FFFD (or, several in a row, as some other character); any other character `?`.
 */
export function throughCodePage(text: string, codePage: ConsoleCodePage): string {
  const bytes: number[] = [];
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    const high = codePage === 'latin1' ? (c <= 0xff ? c : -1) : CP437_HIGH.indexOf(ch) + 0x80;
    bytes.push(c < 0x80 ? c : high >= 0x80 ? high : 0x3f);
  }
  return Buffer.from(bytes).toString('utf8');
}

/** A fake schtasks: a FakeRunner plus the task store (task path → XML text as registered). */
export type FakeSchtasks = FakeRunner & { tasks: Map<string, string> };

const ERR = (msg: string): Partial<RunResult> => ({ exitCode: 1, stderr: `ERROR: ${msg}\r\n` });

/** `\a\b` for `a\b`: a /TN without a leading backslash names a task in the root folder [create]. */
const normPath = (tn: string): string => `\\${tn.replace(/^\\+/, '')}`;

function findKey(tasks: Map<string, string>, path: string): string | undefined {
  const lower = path.toLowerCase();
  return [...tasks.keys()].find((k) => k.toLowerCase() === lower);
}

/** Structural checks of [schema]: well-formed, a Task in the task namespace with Actions. */
function invalidTask(text: string, xsd: string | undefined): string | null {
  let root;
  try {
    root = parseXml(text);
  } catch {
    return 'The task XML is malformed.';
  }
  if (root.localName !== 'Task' || root.namespaceURI !== TASK_NS) return 'The task XML contains an unexpected node.';
  if (!elements(root).some((e) => e.localName === 'Actions')) return 'The task XML is missing a required element or attribute.';
  const triggers = elements(root).find((e) => e.localName === 'Triggers');
  if (triggers && elements(triggers).length > 48) return 'The task XML contains too many nodes of the same type.';
  if (xsd) {
    const dir = mkdtempSync(join(tmpdir(), 'fake-schtasks-'));
    try {
      writeFileSync(join(dir, 't.xml'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
      execFileSync('xmllint', ['--noout', '--schema', xsd, join(dir, 't.xml')], { stdio: 'pipe' });
    } catch {
      return 'The task XML contains a value which is incorrectly formatted or out of range.';
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return null;
}

/** The task XML without its declaration, as nested in the /Query /XML ONE document. */
const body = (xml: string): string => xml.replace(/^\uFEFF?<\?xml[^>]*\?>\s*/, '').replace(/\s+$/, '');

/** Folder by folder, as schtasks walks them: a folder's own tasks, then its subfolders. */
function byFolder(a: string, b: string): number {
  const x = a.toLowerCase().split('\\').slice(1);
  const y = b.toLowerCase().split('\\').slice(1);
  for (let i = 0; ; i++) {
    const xTask = i === x.length - 1;
    const yTask = i === y.length - 1;
    if (xTask !== yTask) return xTask ? -1 : 1;
    if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
    if (xTask) return 0;
  }
}

/** What `schtasks /Query /XML ONE` prints for these tasks [query] (format: see the header). */
export function queryXmlOne(tasks: ReadonlyMap<string, string>): string {
  const parts = [...tasks.keys()].sort(byFolder).map((p) => `  <!-- ${p} -->\r\n${body(tasks.get(p)!)}`);
  return `<?xml version="1.0" encoding="UTF-16"?>\r\n<Tasks>\r\n${parts.join('\r\n')}${parts.length ? '\r\n' : ''}</Tasks>\r\n`;
}

/** Sets Settings/Enabled in task XML text [change]. */
function setEnabled(xml: string, enabled: boolean): string {
  const m = /<Settings>([\s\S]*?)<\/Settings>/.exec(xml);
  if (!m) return xml.replace(/<Actions/, `<Settings><Enabled>${enabled}</Enabled></Settings><Actions`);
  const inner = /<Enabled>\w+<\/Enabled>/.test(m[1]!) ? m[1]!.replace(/<Enabled>\w+<\/Enabled>/, `<Enabled>${enabled}</Enabled>`) : `${m[1]!}<Enabled>${enabled}</Enabled>`;
  return xml.slice(0, m.index) + `<Settings>${inner}</Settings>` + xml.slice(m.index + m[0].length);
}

/**
 * A FakeRunner that behaves like schtasks.exe for /Create /XML, /Delete, /Query /XML ONE and
 * /Change /ENABLE|/DISABLE on `tasks` (task path → XML text).
 */
export function fakeSchtasks(tasks = new Map<string, string>(), opts: FakeSchtasksOptions = {}): FakeSchtasks {
  const read = opts.read ?? ((p: string) => {
    try {
      return readFileSync(p);
    } catch {
      return null;
    }
  });
  const runner = new FakeRunner((cmd) => {
    if (!/(^|[\\/])schtasks(\.exe)?$/i.test(cmd.file)) return { exitCode: 1, spawnError: `spawn ${cmd.file} ENOENT` };
    const injected = opts.inject?.(cmd.args);
    if (injected) return injected;
    const args = [...cmd.args];
    const flag = (name: string): boolean => args.some((a) => a.toLowerCase() === name.toLowerCase()); // [cmdline]
    const value = (name: string): string | undefined => {
      const i = args.findIndex((a) => a.toLowerCase() === name.toLowerCase());
      return i >= 0 ? args[i + 1] : undefined;
    };
    const verb = (args[0] ?? '').toLowerCase();
    const tn = value('/TN');
    const key = tn === undefined ? undefined : findKey(tasks, normPath(tn));
    if (verb === '/create') {
      const file = value('/XML');
      if (file === undefined || tn === undefined) return ERR('Invalid syntax.');
      const bytes = read(file);
      if (bytes === null) return ERR('The system cannot find the file specified.');
      const text = decodeXmlBytes(bytes);
      const bad = invalidTask(text, opts.xsd); // [schema]
      if (bad) return ERR(bad);
      // [create] without /F an existing task is not replaced (the confirmation cannot be answered).
      if (key !== undefined && !flag('/F')) return ERR(`Cannot create a file when that file already exists.`);
      if (key !== undefined) tasks.delete(key);
      tasks.set(normPath(tn), text);
      return { stdout: `SUCCESS: The scheduled task "${tn.replace(/^.*\\/, '')}" has successfully been created.\r\n` };
    }
    if (verb === '/delete') {
      if (tn === undefined) return ERR('Invalid syntax.');
      if (key === undefined) return ERR('The system cannot find the file specified.');
      if (!flag('/F')) return ERR('The confirmation prompt cannot be answered; use /F.'); // [delete]
      tasks.delete(key);
      return { stdout: `SUCCESS: The scheduled task "${tn}" was successfully deleted.\r\n` };
    }
    if (verb === '/query') {
      if (value('/XML')?.toUpperCase() !== 'ONE' && !(flag('/XML') && tn !== undefined)) return ERR('Invalid syntax.');
      const print = (text: string): string => (opts.consoleCodePage ? throughCodePage(text, opts.consoleCodePage) : text);
      if (tn !== undefined) return key === undefined ? ERR('The system cannot find the file specified.') : { stdout: print(tasks.get(key)!) };
      return { stdout: print(queryXmlOne(tasks)) };
    }
    if (verb === '/change') {
      if (tn === undefined || flag('/ENABLE') === flag('/DISABLE')) return ERR('Invalid syntax.');
      if (key === undefined) return ERR('The system cannot find the file specified.');
      tasks.set(key, setEnabled(tasks.get(key)!, flag('/ENABLE')));
      return { stdout: `SUCCESS: The parameters of scheduled task "${tn}" have been changed.\r\n` };
    }
    return ERR('Invalid argument/option.');
  });
  return Object.assign(runner, { tasks });
}

/** An in-memory TaskFileFs whose files the fake reads: `read` for {@link fakeSchtasks}. */
export function memoryTaskFs(): TaskFileFs & { files: Map<string, Uint8Array>; read: (path: string) => Uint8Array | null } {
  const files = new Map<string, Uint8Array>();
  let n = 0;
  return {
    files,
    async writeTemp(dir, data) {
      const path = `${dir}\\cronsync-task-${++n}.xml`;
      files.set(path, data);
      return path;
    },
    async remove(path) {
      files.delete(path);
    },
    read: (path) => files.get(path) ?? null,
  };
}
