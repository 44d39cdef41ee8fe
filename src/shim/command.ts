/** Turns a job's `command` + `args` (or a step's `run`) into an argv for the platform shell. Pure. */
import type { Command } from '../system/runner.js';

/** ArgsHazard is why `args` cannot be appended to a command text: each would run, drop or mangle an argument. */
export type ArgsHazard = 'quote' | 'comment' | 'continuation' | 'heredoc' | 'operator' | 'redirect' | 'compound' | 'no-program' | 'vanish' | 'eval' | 'multiline';

/**
 * ArgsPlan is how a job's args reach its command: appended after `text` (the command without
 * trailing blanks and line breaks), left to the command because it refers to them itself
 * (`$@`, `$*`, `$1`…; POSIX only), or refused because of `hazard` at `token`.
 */
export type ArgsPlan =
  | { kind: 'append'; text: string }
  | { kind: 'placed' }
  | { kind: 'refuse'; hazard: ArgsHazard; token: string };

/** Exit code of a run refused because its args cannot be passed safely: EX_CONFIG, as for an unusable snapshot. */
export const ARGS_REFUSED_EXIT = 78;

/**
 * POSIX: `/bin/sh -c '<command> "$@"' sh arg…`, so each arg reaches the command as one word and
 * is never parsed by a shell again; a command that refers to `$@`, `$*` or `$1`… itself gets
 * the args as positional parameters only. Windows: `cmd.exe /d /s /c "<command> <quoted args>"`.
 * A command after whose text args cannot be appended safely ({@link argsPlan}) is never run: the
 * returned command prints why to stderr and exits {@link ARGS_REFUSED_EXIT}, so the refusal is
 * reported like any failed run even when lint was bypassed (a snapshot from an older version).
 */
export function shellCommand(command: string, args: readonly string[], platform: NodeJS.Platform = process.platform): Command {
  const win = platform === 'win32';
  if (args.length === 0) {
    return win ? { file: 'cmd.exe', args: ['/d', '/s', '/c', `"${command}"`], windowsVerbatimArguments: true } : { file: '/bin/sh', args: ['-c', command] };
  }
  const plan = argsPlan(command, platform);
  if (plan.kind === 'refuse') return refusal(`cronsync: refusing to run: ${argsRefusalMessage(plan, platform)}`, win);
  if (win) {
    const text = plan.kind === 'append' ? plan.text : command;
    return { file: 'cmd.exe', args: ['/d', '/s', '/c', `"${[text, ...args.map(quoteWindowsArg)].join(' ')}"`], windowsVerbatimArguments: true };
  }
  const script = plan.kind === 'append' ? `${plan.text} "$@"` : command;
  return { file: '/bin/sh', args: ['-c', script, 'sh', ...args] };
}

/**
 * Quotes one argument for a program started by cmd.exe: CommandLineToArgvW quoting (backslashes
 * before a quote doubled), then every cmd.exe metacharacter escaped with `^` (as cross-spawn does).
 */
export function quoteWindowsArg(arg: string): string {
  let a = arg.replace(/(\\*)"/g, '$1$1\\"');
  a = a.replace(/(\\*)$/, '$1$1');
  return `"${a}"`.replace(/[()\][%!^"`<>&|;, *?]/g, '^$&');
}

/** Decides how non-empty args reach `command` on `platform` (the rule `cronsync lint` enforces as `command-args`). */
export function argsPlan(command: string, platform: NodeJS.Platform = process.platform): ArgsPlan {
  return platform === 'win32' ? cmdPlan(command) : shPlan(command);
}

/** The reason a plan was refused and what to write instead, for lint and for the shim's stderr. */
export function argsRefusalMessage(plan: { hazard: ArgsHazard; token: string }, platform: NodeJS.Platform = process.platform): string {
  const t = plan.token.length > 40 ? `${plan.token.slice(0, 40)}…` : plan.token;
  const why: Record<ArgsHazard, string> = {
    quote: `the command ends inside an unterminated quote, substitution or group (${t}), so the arguments would become part of it`,
    comment: 'the last line of the command ends in a comment, so the arguments would be silently dropped',
    continuation: `the command ends with a line continuation (${t}), so the first argument would be glued to its last word`,
    heredoc: `the command ends in a here-document (${t}), so the arguments would land in its text or break its end marker`,
    operator: `the command ends with \`${t}\`, so the first argument would run as a command`,
    redirect: `the command ends with the redirection \`${t}\`, so the first argument would be used as its file name`,
    compound: `the command ends with \`${t}\`, which closes a compound command that takes no arguments`,
    'no-program': t ? `the last command is \`${t}\` without a program, so the first argument would run as the program` : 'the last command has no program (only variable assignments or redirections), so the first argument would run as the program',
    vanish: `the program of the last command, \`${t}\`, expands to nothing when it is unset or empty, and then the first argument would run as the program; quote it ("${t}")`,
    eval: `the last command is \`${t}\`, which would parse the arguments as shell code`,
    multiline: 'cmd.exe runs only the first line of a command, so the arguments would be dropped',
  };
  const fix = platform === 'win32'
    ? 'put the arguments into the command, or run a script that takes them'
    : 'write "$@" in the command where the arguments belong (cronsync then appends nothing), or put them into the command';
  return `spec.args cannot be appended to this command: ${why[plan.hazard]}; ${fix}`;
}

/** A command that only reports `message` on stderr and fails; the message is data, never parsed. */
function refusal(message: string, win: boolean): Command {
  if (!win) return { file: '/bin/sh', args: ['-c', `printf '%s\\n' "$1" >&2; exit ${ARGS_REFUSED_EXIT}`, 'sh', message] };
  const safe = message.replace(/[^A-Za-z0-9 .,:'-]+/g, ' ').replace(/ {2,}/g, ' ');
  return { file: 'cmd.exe', args: ['/d', '/s', '/c', `"echo ${safe} 1>&2 & exit /b ${ARGS_REFUSED_EXIT}"`], windowsVerbatimArguments: true };
}

const BLANK_TAIL = /[ \t\n]+$/;
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;
/** Reserved words after which a new command starts. */
const OPENERS = new Set(['if', 'then', 'else', 'elif', 'do', 'while', 'until', '!', '{']);
const CLOSERS = new Set(['fi', 'done', 'esac', '}']);
/** Shell builtins that, with no operand, make the first argument the program or shell code. */
const LONE = new Set(['exec', 'command', 'builtin', 'trap', '.', 'source']);
/** A reference to the positional parameters, where the command places its args itself. */
const POSITIONAL = /^\$\{?[@*1-9]/;
/** A parameter name or special parameter after `$`. */
const PARAM = /[A-Za-z_]\w*|[0-9#?$!-]/y;
const MAX_NESTING = 64;
const SH_OPERATORS = [';;', '&&', '||', ';', '&', '|'];
const SH_REDIRECTS = ['<<-', '<<', '<&', '<>', '>>', '>&', '>|', '<', '>'];

class Refused extends Error {
  constructor(readonly hazard: ArgsHazard, readonly token: string) { super(hazard); }
}

interface Heredoc { delim: string; strip: boolean; quoted: boolean }
interface Lexer { placed: boolean; heredocs: Heredoc[]; depth: number }

/**
 * A conservative POSIX sh lexer: enough of the grammar (quotes, substitutions, comments,
 * here-documents, operators, reserved words) to know whether `<text> "$@"` gives every argument
 * to the last command's program. Anything it cannot place is refused, never guessed.
 */
function shPlan(command: string): ArgsPlan {
  const s = trimTail(command);
  const lx: Lexer = { placed: false, heredocs: [], depth: 0 };
  let hazard: Refused | undefined;
  try {
    hazard = shScript(s, 0, false, lx).hazard;
  } catch (err) {
    if (!(err instanceof Refused)) throw err;
    hazard = err;
  }
  if (lx.placed) return { kind: 'placed' };
  if (hazard) return { kind: 'refuse', hazard: hazard.hazard, token: hazard.token };
  return { kind: 'append', text: s };
}

/**
 * The command without trailing blanks, line breaks and line continuations: a `\` that ends the
 * last line joins it with nothing, so the args can follow the word before it.
 */
function trimTail(command: string): string {
  let s = command.replace(BLANK_TAIL, '');
  while (s.endsWith('\\') && command[s.length] === '\n' && /(^|[^\\])(\\\\)*\\$/.test(s)) s = s.slice(0, -1).replace(BLANK_TAIL, '');
  return s;
}

/** Lexes commands from `i` to the end (or, when `nested`, to the `)` closing `$(`); returns where it stopped and the tail's hazard. */
function shScript(s: string, i: number, nested: boolean, lx: Lexer): { end: number; hazard?: Refused } {
  let words: { text: string; solid: boolean }[] = [];
  let started = false;
  let header = '';
  let redir = '';
  let closed = '';
  let last = { op: false, text: '' };
  let parens = 0;
  let cases = 0;
  const next = (text: string): void => {
    words = []; started = false; header = ''; redir = ''; closed = ''; last = { op: true, text };
  };
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t') { i++; continue; }
    if (c === '\\' && s[i + 1] === '\n') { i += 2; continue; }
    if (c === '\n') {
      i = readHeredocs(s, i + 1, lx);
      if (!redir) next('newline');
      continue;
    }
    if (c === '#') {
      const nl = s.indexOf('\n', i);
      if (nl < 0) throw new Refused('comment', s.slice(i, i + 40));
      i = nl;
      continue;
    }
    if (c === ')') {
      i++;
      if (parens > 0) { parens--; started = true; closed = ')'; last = { op: false, text: ')' }; continue; }
      if (cases > 0) { next(')'); continue; }
      if (nested) return { end: i };
      closed = ')';
      continue;
    }
    if (c === '(') { parens++; next('('); i++; continue; }
    const op = SH_OPERATORS.find((o) => s.startsWith(o, i));
    if (op) { next(op); i += op.length; continue; }
    const rd = SH_REDIRECTS.find((o) => s.startsWith(o, i));
    if (rd) { redir = rd; started = true; last = { op: true, text: rd }; i += rd.length; continue; }

    const { end, solid } = shWord(s, i, lx);
    const word = s.slice(i, end);
    i = end;
    last = { op: false, text: word };
    if (redir) {
      if (redir.startsWith('<<')) lx.heredocs.push({ delim: word.replace(/['"\\]/g, ''), strip: redir === '<<-', quoted: /['"\\]/.test(word) });
      redir = '';
      continue;
    }
    // A digit word right before `<` or `>` is the redirection's file descriptor.
    if (/^\d+$/.test(word) && (s[i] === '<' || s[i] === '>')) continue;
    if (header) { if (header === 'case' && word === 'in') next(word); continue; }
    if (!started && OPENERS.has(word)) { next(word); continue; }
    if (!started && CLOSERS.has(word)) {
      if (word === 'esac') cases = Math.max(0, cases - 1);
      started = true; closed = word;
      continue;
    }
    if (!started && (word === 'for' || word === 'case')) {
      if (word === 'case') cases++;
      header = word; started = true;
      continue;
    }
    started = true;
    if (closed || (words.length === 0 && ASSIGNMENT.test(word))) continue;
    words.push({ text: word, solid });
  }
  if (nested) throw new Refused('quote', '$(');
  if (parens > 0) throw new Refused('quote', '(');
  if (lx.heredocs.length > 0) throw new Refused('heredoc', `<<${lx.heredocs[0]!.delim}`);
  const hazard = (h: ArgsHazard, token: string): { end: number; hazard: Refused } => ({ end: i, hazard: new Refused(h, token) });
  if (redir) return hazard('redirect', redir);
  if (header) return hazard('compound', header);
  if (last.op) return hazard('operator', last.text);
  if (closed) return hazard('compound', closed);
  // `$x "$@"` runs the first argument when $x is empty: only solid words surely stay words.
  // Quotes and expansions do not stop a word from naming a builtin: `"eval"` and `eval$x` are eval.
  const solid = words.filter((w) => w.solid).map((w) => w.text.replace(/\$\{[^}]*\}|\$\w+|['"\\]/g, ''));
  if (solid.length === 0) return words.length > 0 ? hazard('vanish', words[0]!.text) : hazard('no-program', '');
  if (solid[0] === 'eval') return hazard('eval', 'eval');
  if (solid.length === 1 && LONE.has(solid[0]!)) return hazard('no-program', solid[0]!);
  return { end: i };
}

/** Reads here-document bodies after the newline that ends their operator's line. */
function readHeredocs(s: string, i: number, lx: Lexer): number {
  for (const h of lx.heredocs.splice(0)) {
    for (;;) {
      const nl = s.indexOf('\n', i);
      const line = s.slice(i, nl < 0 ? s.length : nl);
      if ((h.strip ? line.replace(/^\t+/, '') : line) === h.delim) {
        if (nl < 0) throw new Refused('heredoc', `<<${h.delim}`);
        i = nl + 1;
        break;
      }
      if (!h.quoted && /(^|[^\\$])\$\{?[@*1-9]/.test(line)) lx.placed = true;
      if (nl < 0) throw new Refused('heredoc', `<<${h.delim}`);
      i = nl + 1;
    }
  }
  return i;
}

/**
 * End of the word starting at `i` (quotes, escapes and substitutions are part of it), and whether
 * it is solid: it has a literal or quoted part, so it cannot expand to no word at all.
 */
function shWord(s: string, i: number, lx: Lexer): { end: number; solid: boolean } {
  let solid = false;
  while (i < s.length) {
    const c = s[i]!;
    if (' \t\n;&|<>()'.includes(c)) break;
    solid ||= c !== '`' && (c !== '$' || !/^\$([\w{(?#$!*@-])/.test(s.slice(i, i + 2)) || s.startsWith('$((', i));
    if (c === '\\') {
      if (i + 1 >= s.length) throw new Refused('continuation', '\\');
      i += 2;
    } else if (c === "'") {
      const q = s.indexOf("'", i + 1);
      if (q < 0) throw new Refused('quote', "'");
      i = q + 1;
    } else if (c === '"') {
      i = shDouble(s, i + 1, lx);
    } else if (c === '`') {
      i = shBacktick(s, i + 1, lx);
    } else if (c === '$') {
      i = shDollar(s, i, false, lx);
    } else {
      i++;
    }
  }
  return { end: i, solid };
}

function shDouble(s: string, i: number, lx: Lexer): number {
  while (i < s.length) {
    const c = s[i]!;
    if (c === '"') return i + 1;
    if (c === '\\') i += 2;
    else if (c === '`') i = shBacktick(s, i + 1, lx);
    else if (c === '$') i = shDollar(s, i, true, lx);
    else i++;
  }
  throw new Refused('quote', '"');
}

function shBacktick(s: string, i: number, lx: Lexer): number {
  while (i < s.length) {
    const c = s[i]!;
    if (c === '`') return i + 1;
    if (c === '\\') { i += 2; continue; }
    if (c === '$' && POSITIONAL.test(s.slice(i, i + 3))) lx.placed = true;
    i++;
  }
  throw new Refused('quote', '`');
}

/** Skips `$…` at `i`: a special parameter, `${…}`, `$(…)` or `$((…))`; notes `$@`/`$*`. */
function shDollar(s: string, i: number, inDouble: boolean, lx: Lexer): number {
  const n = s[i + 1];
  if (POSITIONAL.test(s.slice(i, i + 3))) lx.placed = true;
  if (n === '@' || n === '*') return i + 2;
  if (n === '{') {
    let j = i + 2;
    while (j < s.length) {
      const c = s[j]!;
      if (c === '}') return j + 1;
      if (c === '\\') j += 2;
      else if (c === '"') j = shDouble(s, j + 1, lx);
      else if (c === "'" && !inDouble) { const q = s.indexOf("'", j + 1); if (q < 0) throw new Refused('quote', "'"); j = q + 1; }
      else if (c === '`') j = shBacktick(s, j + 1, lx);
      else if (c === '$') j = shDollar(s, j, inDouble, lx);
      else j++;
    }
    throw new Refused('quote', '${');
  }
  if (n === '(' && s[i + 2] === '(') {
    let depth = 0;
    for (let j = i + 1; j < s.length; j++) {
      if (s[j] === '$' && POSITIONAL.test(s.slice(j, j + 3))) lx.placed = true;
      if (s[j] === '(') depth++;
      else if (s[j] === ')' && --depth === 0) return j + 1;
    }
    throw new Refused('quote', '$((');
  }
  if (n === '(') {
    // Bounded, so that a hostile manifest cannot exhaust the stack of lint or the shim.
    if (++lx.depth > MAX_NESTING) throw new Refused('quote', `$( nested over ${MAX_NESTING} deep`);
    const end = shScript(s, i + 2, true, lx).end;
    lx.depth--;
    return end;
  }
  PARAM.lastIndex = i + 1;
  return PARAM.test(s) ? PARAM.lastIndex : i + 1;
}

/**
 * The cmd.exe counterpart: `"` toggles quoting, `^` escapes, `& && | ||` separate commands,
 * `( )` group them, `rem` and `::` start comments, and a line break ends the whole command.
 */
function cmdPlan(command: string): ArgsPlan {
  const s = command.replace(/[ \t\r\n]+$/, '');
  const refuse = (hazard: ArgsHazard, token: string): ArgsPlan => ({ kind: 'refuse', hazard, token });
  if (/[\r\n]/.test(s)) return refuse('multiline', '');
  let program = '';
  let redir = '';
  let last: 'none' | 'word' | 'op' = 'none';
  let lastText = '';
  let closed = false;
  let parens = 0;
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t') { i++; continue; }
    // `(` opens a block only where a command starts or after `if`/`for`; elsewhere it is text.
    const op = ['&&', '||', '&', '|', ...(!program || /^(if|for)$/i.test(program) ? ['('] : [])].find((o) => s.startsWith(o, i));
    if (op) {
      if (op === '(') parens++;
      program = ''; redir = ''; closed = false; last = 'op'; lastText = op; i += op.length;
      continue;
    }
    if (c === ')' && parens > 0) { parens--; closed = true; last = 'word'; lastText = ')'; i++; continue; }
    const rd = /^\d?(>>|>|<)(&\d)?/.exec(s.slice(i));
    if (rd) { redir = rd[2] ? '' : rd[0]; last = rd[2] ? 'word' : 'op'; lastText = rd[0]; i += rd[0].length; continue; }
    if (c === '@' && !program && !redir) { i++; continue; }
    let j = i;
    let quoted = false;
    while (j < s.length) {
      const d = s[j]!;
      if (quoted) { if (d === '"') quoted = false; j++; continue; }
      if (d === '"') { quoted = true; j++; continue; }
      if (' \t&|<>'.includes(d) || (d === ')' && parens > 0)) break;
      if (d === '^') {
        if (j + 1 >= s.length) return refuse('continuation', '^');
        j += 2;
        continue;
      }
      j++;
    }
    if (quoted) return refuse('quote', '"');
    const word = s.slice(i, j);
    i = j;
    if (redir) { redir = ''; last = 'word'; lastText = word; continue; }
    if (closed && /^(do|else)$/i.test(word)) { program = ''; closed = false; last = 'op'; lastText = word; continue; }
    if (!program && (/^rem$/i.test(word) || word.startsWith(':'))) return refuse('comment', word);
    if (!program) program = word;
    last = 'word';
    if (!closed) lastText = word;
  }
  if (parens > 0) return refuse('quote', '(');
  if (redir) return refuse('redirect', redir);
  if (last === 'op') return refuse('operator', lastText);
  if (closed) return refuse('compound', ')');
  if (!program) return refuse('no-program', '');
  return { kind: 'append', text: s };
}
