/**
 * PowerShell syntax checks for the tests (issue 13 item 4): tree-sitter-powershell's `.wasm`
 * loaded by web-tree-sitter, both from npm, so Linux CI parses the scripts under `windows/`.
 *
 * tree-sitter recovers from syntax errors instead of stopping, leaving `ERROR` nodes (text it
 * could not place) and zero-width `MISSING` nodes (a token it had to invent, such as a `}`). A
 * script parses when the tree has neither.
 *
 * Known limits of tree-sitter-powershell 0.26.4, found by probing (valid PowerShell on the left is
 * rejected; write it the way on the right):
 *   - a script that is only a `param(...)` block, nothing after it: MISSING ";" (add a statement);
 *   - `function F { param($a) "$a" }`, a statement after `param(...)` on the same line: ERROR
 *     (put a newline or `;` after the param block; a script block `{ param($a) $a }` is fine);
 *   - one-line switch clauses `switch ($x) { 1 { 'a' } default { 'b' } }`: ERROR (one clause per
 *     line, or `;` between clauses).
 * And it accepts some scripts that PowerShell's parser rejects, so those are not caught: `try { }`
 * with no catch or finally, a duplicate parameter `param($a, $a)`, and `function { }` with no name.
 */
import { createRequire } from 'node:module';
import { Language, Parser } from 'web-tree-sitter';
import type { Node } from 'web-tree-sitter';

const WASM = createRequire(import.meta.url).resolve('tree-sitter-powershell/tree-sitter-powershell.wasm');

let parser: Promise<Parser> | undefined;

/** A parser for PowerShell, loaded once per test file. */
export function powerShellParser(): Promise<Parser> {
  parser ??= (async () => {
    await Parser.init();
    const p = new Parser();
    p.setLanguage(await Language.load(WASM));
    return p;
  })();
  return parser;
}

/** One ERROR or MISSING node: where it starts (1-based line and column) and what it holds. */
export interface SyntaxProblem {
  kind: 'ERROR' | 'MISSING';
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  /** For MISSING, the token tree-sitter invented (`}`); for ERROR, the start of the text it could not place. */
  text: string;
}

/**
 * The ERROR and MISSING nodes of `source`, outermost first in source order (nothing inside an
 * ERROR node is listed again). Columns count UTF-16 code units, as JavaScript strings do.
 */
export function syntaxProblems(p: Parser, source: string): SyntaxProblem[] {
  const tree = p.parse(source);
  if (!tree) throw new Error('tree-sitter returned no tree');
  try {
    const out: SyntaxProblem[] = [];
    const walk = (n: Node): void => {
      if (n.isMissing || n.isError) {
        out.push({
          kind: n.isMissing ? 'MISSING' : 'ERROR',
          line: n.startPosition.row + 1,
          column: n.startPosition.column + 1,
          endLine: n.endPosition.row + 1,
          endColumn: n.endPosition.column + 1,
          text: n.isMissing ? n.type : n.text,
        });
        return;
      }
      if (n.hasError) for (const c of n.children) walk(c);
    };
    walk(tree.rootNode);
    return out;
  } finally {
    tree.delete();
  }
}

/**
 * `file:line:col: what` for each problem, then the source line with a caret under the column, as
 * compilers print it. Lists at most `max` problems.
 */
export function formatProblems(file: string, source: string, problems: readonly SyntaxProblem[], max = 10): string {
  const lines = source.split(/\r\n|\r|\n/);
  const out: string[] = [];
  for (const pr of problems.slice(0, max)) {
    const what = pr.kind === 'MISSING'
      ? `syntax error: missing ${JSON.stringify(pr.text)} (tree-sitter MISSING node)`
      : `syntax error: tree-sitter ERROR node ${pr.line}:${pr.column}-${pr.endLine}:${pr.endColumn}, starting ${JSON.stringify(clip(pr.text, 60))}`;
    const src = lines[pr.line - 1] ?? '';
    const gutter = String(pr.line).padStart(5);
    out.push(`${file}:${pr.line}:${pr.column}: ${what}`, `${gutter} | ${src}`, `${' '.repeat(gutter.length)} | ${' '.repeat(pr.column - 1)}^`);
  }
  if (problems.length > max) out.push(`… and ${problems.length - max} more`);
  return out.join('\n');
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n)}…`;
}

/** How a script file is encoded, judged by its byte order mark as PowerShell does. */
export type ScriptEncoding = 'utf-8 BOM' | 'utf-16le BOM' | 'utf-16be BOM' | 'no BOM';

/**
 * The text of a script file. With a BOM it is decoded as the BOM says; without one as UTF-8
 * (what PowerShell 7 assumes; Windows PowerShell 5.1 assumes the ANSI code page instead, which
 * is the same text only for pure ASCII: see {@link firstNonAscii}). Invalid UTF-8 throws.
 */
export function decodeScript(bytes: Uint8Array): { text: string; encoding: ScriptEncoding } {
  const [a, b, c] = bytes;
  if (a === 0xef && b === 0xbb && c === 0xbf) return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), encoding: 'utf-8 BOM' };
  if (a === 0xff && b === 0xfe) return { text: new TextDecoder('utf-16le', { fatal: true }).decode(bytes), encoding: 'utf-16le BOM' };
  if (a === 0xfe && b === 0xff) return { text: new TextDecoder('utf-16be', { fatal: true }).decode(bytes), encoding: 'utf-16be BOM' };
  return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), encoding: 'no BOM' };
}

/** The 1-based line and column (in characters) of the first non-ASCII character, or null. */
export function firstNonAscii(text: string): { line: number; column: number; char: string } | null {
  const lines = text.split(/\r\n|\r|\n/);
  for (const [i, l] of lines.entries()) {
    const col = l.search(/[\u0080-\uffff]/);
    if (col >= 0) return { line: i + 1, column: col + 1, char: String.fromCodePoint(l.codePointAt(col) ?? 0) };
  }
  return null;
}

/** One C# source given to `Add-Type -TypeDefinition` as a literal string, and where it starts. */
export interface EmbeddedCSharp {
  line: number;
  source: string;
}

/** Add-Type parameters that take no value (the others take the next element as their value). */
const ADD_TYPE_SWITCHES = ['passthru', 'ignorewarnings'];

/**
 * The C# sources that `source` passes to `Add-Type` as `-TypeDefinition` (or its first
 * positional argument), when they are single-quoted strings or here-strings, which PowerShell
 * passes verbatim. Anything else (an expandable `"…"` string, a variable) is returned in
 * `skipped` with its line, since its text is only known at run time.
 */
export function addTypeSources(p: Parser, source: string): { sources: EmbeddedCSharp[]; skipped: number[] } {
  const tree = p.parse(source);
  if (!tree) throw new Error('tree-sitter returned no tree');
  try {
    const sources: EmbeddedCSharp[] = [];
    const skipped: number[] = [];
    for (const cmd of tree.rootNode.descendantsOfType('command')) {
      if (!cmd || !/^add-type$/i.test(cmd.childForFieldName('command_name')?.text ?? '')) continue;
      const elements = (cmd.childForFieldName('command_elements')?.children ?? []).filter((e) => e.type !== 'command_argument_sep');
      let def: Node | undefined;
      let positional = 0;
      for (let i = 0; i < elements.length; i++) {
        const e = elements[i];
        if (!e) continue;
        if (e.type === 'command_parameter') {
          const name = e.text.slice(1).replace(/:$/, '').toLowerCase();
          if (ADD_TYPE_SWITCHES.some((s) => s.startsWith(name))) continue;
          // Add-Type accepts any unambiguous prefix; only -TypeDefinition starts with "t".
          if (name.length > 0 && 'typedefinition'.startsWith(name)) def = elements[i + 1];
          i++;
        } else if (positional++ === 0) {
          def ??= e;
        }
      }
      if (!def) continue;
      const literal = verbatimString(def);
      if (literal === null) skipped.push(def.startPosition.row + 1);
      else sources.push({ line: def.startPosition.row + 1, source: literal });
    }
    return { sources, skipped };
  } finally {
    tree.delete();
  }
}

/** The value of a single-quoted string or here-string expression, or null for anything else. */
function verbatimString(n: Node): string | null {
  const t = n.text;
  if (/^@'\r?\n/.test(t) && /\r?\n'@$/.test(t) && n.descendantsOfType('verbatim_here_string_characters').length === 1) {
    return t.replace(/^@'\r?\n/, '').replace(/\r?\n'@$/, '');
  }
  if (/^'(?:[^']|'')*'$/.test(t) && n.descendantsOfType('verbatim_string_characters').length === 1) {
    return t.slice(1, -1).replace(/''/g, "'");
  }
  return null;
}
