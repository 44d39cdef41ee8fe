/** The cmd.exe side of `argsPlan`: where args can follow a cmd.exe command line. Pure. */
import type { ArgsHazard, ArgsPlan } from './types.js';

/**
 * The cmd.exe counterpart: `"` toggles quoting, `^` escapes, `& && | ||` separate commands,
 * `( )` group them, `rem` and `::` start comments, and a line break ends the whole command.
 */
export function cmdPlan(command: string): ArgsPlan {
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
