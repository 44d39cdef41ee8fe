/**
 * The POSIX sh side of `argsPlan`: a conservative sh lexer over commands, operators, reserved
 * words and here-documents (words are in sh-word.ts). Pure.
 */
import type { Lexer } from './sh-word.js';
import { Refused, shWord } from './sh-word.js';
import type { ArgsHazard, ArgsPlan } from './types.js';

const BLANK_TAIL = /[ \t\n]+$/;
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;
/** Reserved words after which a new command starts. */
const OPENERS = new Set(['if', 'then', 'else', 'elif', 'do', 'while', 'until', '!', '{']);
const CLOSERS = new Set(['fi', 'done', 'esac', '}']);
/** Shell builtins that, with no operand, make the first argument the program or shell code. */
const LONE = new Set(['exec', 'command', 'builtin', 'trap', '.', 'source']);
const SH_OPERATORS = [';;', '&&', '||', ';', '&', '|'];
const SH_REDIRECTS = ['<<-', '<<', '<&', '<>', '>>', '>&', '>|', '<', '>'];

/**
 * A conservative POSIX sh lexer: enough of the grammar (quotes, substitutions, comments,
 * here-documents, operators, reserved words) to know whether `<text> "$@"` gives every argument
 * to the last command's program. Anything it cannot place is refused, never guessed.
 */
export function shPlan(command: string): ArgsPlan {
  const s = trimTail(command);
  const lx: Lexer = { placed: false, heredocs: [], depth: 0, script: (text, at) => shScript(text, at, true, lx).end };
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
