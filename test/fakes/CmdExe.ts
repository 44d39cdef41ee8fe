/**
 * A simulator of how a command line given to `cmd.exe /d /v:off /s /c "<line>"` reaches the program it
 * starts, after cmd.exe's documented rules (`cmd /?`, `set /?`, and the phases described in
 * "How does the Windows Command Interpreter (CMD.EXE) parse scripts?", Stack Overflow 4094699),
 * then Microsoft's CommandLineToArgvW rules ("Parsing C++ command-line arguments"). It models
 * what cronsync's quoting relies on, for a simple command (one program, no `if`/`for`):
 *
 * - `/s /c`: when the text after `/c` starts with `"` (blanks skipped), that quote and the last
 *   `"` of the line are removed.
 * - Phase 1, percent expansion in command-line context: `%name%`, `%name:~n,m%` and
 *   `%name:old=new%` are replaced when `name` is a defined variable (names ignore case);
 *   otherwise the text stays as it is. Whether the closing `%` of an undefined name can open the
 *   next one is not documented the same way everywhere: `resume` 'reuse' (default) lets it,
 *   'consume' does not; callers check both.
 * - Phase 2: outside quotes `^` escapes the next character (and is removed), `"` toggles
 *   quoting (and is kept), and `&`, `|`, `<`, `>` are operators: the simulator reports the first
 *   one as `operator` (the line would run more than the program). Inside quotes `^` is literal.
 * - The program receives the rest of the line after its name and splits it the way
 *   CommandLineToArgvW does: 2n backslashes and a quote give n backslashes and toggle quoting,
 *   2n+1 backslashes and a quote give n backslashes and a literal quote, other backslashes are
 *   literal, `""` inside quotes is a literal quote (the MSVC runtime since 2008), blanks outside
 *   quotes separate arguments.
 *
 * The last step is the project's own splitArgs (src/scheduler/windows/quote.ts), which the Task
 * Scheduler adapter reads installed tasks' Arguments with.
 *
 * Delayed expansion (`!name!`) is not modelled: cronsync turns it off (`/v:off`); runCmd requires
 * that switch.
 */
import { splitArgs } from '../../src/scheduler/windows/quote.js';

/** What the program would receive, or the operator that would have split the line. */
export type CmdResult = { argv: string[]; operator?: undefined } | { argv?: undefined; operator: string };

/** Phase 1 on `line` with the variables `env` (names ignore case). */
export function percentExpand(line: string, env: Record<string, string>, resume: 'reuse' | 'consume' = 'reuse'): string {
  const vars = new Map(Object.entries(env).map(([k, v]) => [k.toUpperCase(), v]));
  let out = '';
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c !== '%') {
      out += c;
      i++;
      continue;
    }
    const close = line.indexOf('%', i + 1);
    if (close < 0) {
      out += line.slice(i);
      break;
    }
    const body = line.slice(i + 1, close);
    const colon = body.indexOf(':');
    const name = colon < 0 ? body : body.slice(0, colon);
    const value = name === '' ? undefined : vars.get(name.toUpperCase());
    if (value === undefined) {
      // Undefined: the text stays; the closing `%` may open the next name ('reuse'), or not.
      if (resume === 'reuse') {
        out += line.slice(i, close);
        i = close;
      } else {
        out += line.slice(i, close + 1);
        i = close + 1;
      }
      continue;
    }
    out += colon < 0 ? value : modify(value, body.slice(colon + 1));
    i = close + 1;
  }
  return out;
}

/** `%name:~n,m%` and `%name:old=new%` on a defined variable's `value`. */
function modify(value: string, spec: string): string {
  if (spec.startsWith('~')) {
    const [a, b] = spec.slice(1).split(',');
    let start = Number.parseInt(a ?? '0', 10) || 0;
    if (start < 0) start = Math.max(0, value.length + start);
    if (b === undefined) return value.slice(start);
    const len = Number.parseInt(b, 10) || 0;
    return len < 0 ? value.slice(start, value.length + len) : value.slice(start, start + len);
  }
  const eq = spec.indexOf('=');
  if (eq < 0) return value;
  const from = spec.slice(0, eq);
  const to = spec.slice(eq + 1);
  if (from === '') return value;
  const star = from.startsWith('*');
  const needle = (star ? from.slice(1) : from).toUpperCase();
  const at = value.toUpperCase().indexOf(needle);
  if (star) return at < 0 ? value : to + value.slice(at + needle.length);
  let res = '';
  let rest = value;
  for (let k = rest.toUpperCase().indexOf(needle); k >= 0; k = rest.toUpperCase().indexOf(needle)) {
    res += rest.slice(0, k) + to;
    rest = rest.slice(k + needle.length);
  }
  return res + rest;
}

/** Phase 2: carets and operators; returns the line as the program's command line, or the operator. */
export function caretPass(line: string): { line: string } | { operator: string } {
  let out = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '"') {
      quoted = !quoted;
      out += c;
      continue;
    }
    if (quoted) {
      out += c;
      continue;
    }
    if (c === '^') {
      if (i + 1 < line.length) out += line[++i];
      continue;
    }
    if ('&|<>'.includes(c)) return { operator: c };
    out += c;
  }
  return { line: out };
}

/** The program cmd.exe would start (its path, unquoted) and the arguments it would receive, or the operator. */
export type CmdLaunch = { program: string; argv: string[]; operator?: undefined } | { program?: undefined; argv?: undefined; operator: string };

/**
 * What cmd.exe started with `args` (the arguments cronsync passes, verbatim: `/d /v:off /s /c
 * "<line>"`) would start, for a simple command: the program, a quoted path or the first word.
 */
export function launchCmd(args: readonly string[], env: Record<string, string>, resume: 'reuse' | 'consume' = 'reuse'): CmdLaunch {
  const c = args.indexOf('/c');
  if (c < 0) throw new Error('no /c');
  if (!args.slice(0, c).some((a) => a.toLowerCase() === '/v:off')) throw new Error('delayed expansion is not modelled: /v:off expected');
  if (!args.slice(0, c).some((a) => a.toLowerCase() === '/s')) throw new Error('only /s is modelled');
  let text = args.slice(c + 1).join(' ').replace(/^[ \t]+/, '');
  // /s: a leading quote and the last one go.
  const last = text.lastIndexOf('"');
  if (text.startsWith('"') && last > 0) text = text.slice(1, last) + text.slice(last + 1);
  const p2 = caretPass(percentExpand(text, env, resume));
  if ('operator' in p2) return { operator: p2.operator };
  const line = p2.line.replace(/^[ \t]+/, '');
  // The program: a quoted path up to its closing quote, or the first word.
  const quoted = line.startsWith('"');
  const end = quoted ? line.indexOf('"', 1) + 1 : line.search(/[ \t]/);
  const program = end <= 0 ? line : quoted ? line.slice(1, end - 1) : line.slice(0, end);
  return { program, argv: end <= 0 || end >= line.length ? [] : splitArgs(line.slice(end)) };
}

/** What the program receives: {@link launchCmd} without the program. */
export function runCmd(args: readonly string[], env: Record<string, string>, resume: 'reuse' | 'consume' = 'reuse'): CmdResult {
  const r = launchCmd(args, env, resume);
  return r.operator === undefined ? { argv: r.argv } : { operator: r.operator };
}
