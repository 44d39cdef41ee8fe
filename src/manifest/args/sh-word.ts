/**
 * Words of the POSIX sh lexer: quotes, escapes and substitutions, and the state the lexer shares
 * with them. A `$(…)` body is lexed by the script lexer, reached through {@link Lexer.script}.
 */
import type { ArgsHazard } from './types.js';

/** A reference to the positional parameters, where the command places its args itself. */
const POSITIONAL = /^\$\{?[@*1-9]/;
/** A parameter name or special parameter after `$`. */
const PARAM = /[A-Za-z_]\w*|[0-9#?$!-]/y;
const MAX_NESTING = 64;

/** Thrown where the lexer cannot place args: why, and at which token. */
export class Refused extends Error {
  constructor(readonly hazard: ArgsHazard, readonly token: string) { super(hazard); }
}

/** A here-document whose body is still to be read. */
export interface Heredoc { delim: string; strip: boolean; quoted: boolean }
/** State of one lexing pass: whether the args are placed, pending here-docs, `$(` depth, and the lexer of a `$(…)` body (returns its end). */
export interface Lexer { placed: boolean; heredocs: Heredoc[]; depth: number; script: (s: string, i: number) => number }

/**
 * End of the word starting at `i` (quotes, escapes and substitutions are part of it), and whether
 * it is solid: it has a literal or quoted part, so it cannot expand to no word at all.
 */
export function shWord(s: string, i: number, lx: Lexer): { end: number; solid: boolean } {
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
    const end = lx.script(s, i + 2);
    lx.depth--;
    return end;
  }
  PARAM.lastIndex = i + 1;
  return PARAM.test(s) ? PARAM.lastIndex : i + 1;
}
