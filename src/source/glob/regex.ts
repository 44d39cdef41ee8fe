/**
 * The regex grammar picomatch writes (ECMAScript, Annex B, no `u` flag), parsed into an Ast for
 * the linear matcher of ../glob.ts; anything else throws Unsupported, and the glob is left to
 * picomatch.
 */
/** Thrown by the parser and builder for a regex outside the supported grammar. */
export class Unsupported extends Error {}

/** A set of UTF-16 code units (the regex has no `u` flag, so it matches code units). */
export class CharSet {
  private readonly ascii = new Uint8Array(128);
  private readonly wide: number[] = [];

  constructor(readonly negated: boolean, ranges: readonly (readonly [number, number])[]) {
    for (const [lo, hi] of ranges) {
      for (let c = lo; c <= Math.min(hi, 127); c++) this.ascii[c] = 1;
      if (hi >= 128) this.wide.push(Math.max(lo, 128), hi);
    }
  }

  has(c: number): boolean {
    if (c < 128) return (this.ascii[c] === 1) !== this.negated;
    let hit = false;
    for (let i = 0; !hit && i < this.wide.length; i += 2) hit = c >= this.wide[i]! && c <= this.wide[i + 1]!;
    return hit !== this.negated;
  }
}

export type Ast =
  | { t: 'set'; set: CharSet; one?: number }
  | { t: 'any' }
  | { t: 'seq'; items: Ast[] }
  | { t: 'alt'; alts: Ast[] }
  | { t: 'rep'; body: Ast; min: number; max: number }
  | { t: 'bol' }
  | { t: 'eol' }
  | { t: 'look'; neg: boolean; body: Ast };

/** Largest `{n,m}` bound and group depth accepted; picomatch writes `{0,1}` and `{1,2}`. */
const MAX_BOUND = 16;
const MAX_DEPTH = 100;
/** A lookahead must match at most this many characters, so testing it costs O(1) per position. */
const MAX_LOOK_WIDTH = 16;
export const LINE_TERMINATORS: readonly (readonly [number, number])[] = [[10, 10], [13, 13], [0x2028, 0x2029]];
const CONTROL_ESCAPES: Record<string, number> = { n: 10, r: 13, t: 9, v: 11, f: 12 };
const BRACE_QUANTIFIER = /\{(\d+)(?:,(\d*))?\}/y;

/** Parses the ECMAScript (Annex B, no `u` flag) regex grammar picomatch writes, else throws Unsupported. */
export class Parser {
  private i = 0;
  private depth = 0;

  constructor(private readonly src: string) {}

  parse(): Ast {
    const ast = this.alt();
    if (this.i !== this.src.length) throw new Unsupported();
    return ast;
  }

  private alt(): Ast {
    if (++this.depth > MAX_DEPTH) throw new Unsupported();
    const alts = [this.seq()];
    while (this.src[this.i] === '|') {
      this.i++;
      alts.push(this.seq());
    }
    this.depth--;
    return alts.length === 1 ? alts[0]! : { t: 'alt', alts };
  }

  private seq(): Ast {
    const items: Ast[] = [];
    while (this.i < this.src.length && this.src[this.i] !== '|' && this.src[this.i] !== ')') items.push(this.term());
    return { t: 'seq', items };
  }

  private term(): Ast {
    const c = this.src[this.i++]!;
    if (c === '^' || c === '$') return this.bare({ t: c === '^' ? 'bol' : 'eol' });
    if (c === '(') return this.group();
    if (c === '.') return this.quantified({ t: 'any' });
    if (c === '[') return this.quantified(this.charClass());
    if (c === '\\') return this.quantified(this.single(this.escape()));
    // Annex B: `{`, `}` and `]` are literal where they cannot be read as a quantifier.
    if ('*+?'.includes(c) || (c === '{' && this.braceQuantifier(this.i - 1))) throw new Unsupported();
    return this.quantified(this.single(c.charCodeAt(0)));
  }

  private group(): Ast {
    let look: boolean | null = null;
    if (this.src.startsWith('?:', this.i)) this.i += 2;
    else if (this.src.startsWith('?=', this.i) || this.src.startsWith('?!', this.i)) {
      look = this.src[this.i + 1] === '!';
      this.i += 2;
    } else if (this.src[this.i] === '?') throw new Unsupported();
    const body = this.alt();
    if (this.src[this.i++] !== ')') throw new Unsupported();
    if (look === null) return this.quantified(body);
    if (width(body) > MAX_LOOK_WIDTH) throw new Unsupported();
    return this.bare({ t: 'look', neg: look, body });
  }

  /** An assertion; Annex B lets a lookahead take a quantifier, which is left to picomatch. */
  private bare(ast: Ast): Ast {
    if (this.i < this.src.length && ('*+?'.includes(this.src[this.i]!) || this.braceQuantifier(this.i))) throw new Unsupported();
    return ast;
  }

  private quantified(body: Ast): Ast {
    const s = this.src;
    let min: number;
    let max: number;
    const brace = this.braceQuantifier(this.i);
    if (s[this.i] === '*' || s[this.i] === '+' || s[this.i] === '?') {
      [min, max] = s[this.i] === '*' ? [0, Infinity] : s[this.i] === '+' ? [1, Infinity] : [0, 1];
      this.i++;
    } else if (brace) {
      min = Number(brace[1]);
      max = brace[2] === undefined ? min : brace[2] === '' ? Infinity : Number(brace[2]);
      this.i += brace[0].length;
      if (min > MAX_BOUND || (max !== Infinity && max > MAX_BOUND) || max < min) throw new Unsupported();
    } else return body;
    if (s[this.i] === '?') this.i++; // lazy or greedy: the same set of matches
    if (this.i < s.length && ('*+?'.includes(s[this.i]!) || this.braceQuantifier(this.i))) throw new Unsupported();
    return { t: 'rep', body, min, max };
  }

  /** The `{n}`, `{n,}` or `{n,m}` quantifier at `at`, if any (else a `{` there is a literal). */
  private braceQuantifier(at: number): RegExpExecArray | null {
    if (this.src[at] !== '{') return null;
    BRACE_QUANTIFIER.lastIndex = at;
    return BRACE_QUANTIFIER.exec(this.src);
  }

  private charClass(): Ast {
    const negated = this.src[this.i] === '^';
    if (negated) this.i++;
    const ranges: [number, number][] = [];
    while (this.src[this.i] !== ']') {
      if (this.i >= this.src.length) throw new Unsupported();
      const lo = this.classAtom();
      if (this.src[this.i] === '-' && this.i + 1 < this.src.length && this.src[this.i + 1] !== ']') {
        this.i++;
        const hi = this.classAtom();
        if (hi < lo) throw new Unsupported();
        ranges.push([lo, hi]);
      } else ranges.push([lo, lo]);
    }
    this.i++;
    return { t: 'set', set: new CharSet(negated, ranges) };
  }

  private classAtom(): number {
    const c = this.src[this.i++]!;
    return c === '\\' ? this.escape() : c.charCodeAt(0);
  }

  /** The code unit of the escape after a backslash: controls, `\uXXXX`, `\xHH`, or a non-alphanumeric itself. */
  private escape(): number {
    const e = this.src[this.i++];
    if (e === undefined) throw new Unsupported();
    const control = CONTROL_ESCAPES[e];
    if (control !== undefined) return control;
    const hex = e === 'u' ? 4 : e === 'x' ? 2 : 0;
    if (hex > 0) {
      const digits = this.src.slice(this.i, this.i + hex);
      if (!new RegExp(`^[0-9a-fA-F]{${hex}}$`).test(digits)) throw new Unsupported();
      this.i += hex;
      return parseInt(digits, 16);
    }
    // Letters and digits name classes, boundaries, back references or octal codes.
    if (/[A-Za-z0-9_]/.test(e)) throw new Unsupported();
    return e.charCodeAt(0);
  }

  private single(code: number): Ast {
    return { t: 'set', set: new CharSet(false, [[code, code]]), one: code };
  }
}

/** The most characters `ast` can match (Infinity when unbounded). */
function width(ast: Ast): number {
  switch (ast.t) {
    case 'set':
    case 'any':
      return 1;
    case 'seq':
      return ast.items.reduce((n, a) => n + width(a), 0);
    case 'alt':
      return ast.alts.reduce((n, a) => Math.max(n, width(a)), 0);
    case 'rep': {
      const w = width(ast.body);
      return w === 0 ? 0 : ast.max * w;
    }
    default:
      return 0;
  }
}

/** Whether every match of `ast` must start with `^`. */
export function firstIsBol(ast: Ast): boolean {
  if (ast.t === 'bol') return true;
  if (ast.t === 'seq') return ast.items.length > 0 && firstIsBol(ast.items[0]!);
  if (ast.t === 'alt') return ast.alts.every(firstIsBol);
  return false;
}
