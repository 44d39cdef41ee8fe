/**
 * The linear matcher of ../glob.ts: a regex Ast built into a Thompson NFA and run as a lazily
 * built DFA, as RE2 runs one, so that no path costs more than O(path × states).
 */
import { CharSet, LINE_TERMINATORS, Unsupported } from './regex.js';
import type { Ast } from './regex.js';

/** Counts the work of the linear matcher: states visited and characters stepped (tests assert its bound). */
export interface GlobMeter {
  steps: number;
}

/** The kinds of NFA state: consuming (Char, Set, Any), empty moves (Split), assertions, and the end. */
const K = { Char: 0, Set: 1, Any: 2, Split: 3, Bol: 4, Eol: 5, Look: 6, Match: 7 } as const;
type K = (typeof K)[keyof typeof K];

/** Most NFA states built for one glob; the `{n,m}` copies cannot grow past it. */
const MAX_STATES = 1 << 16;

/** Builds a Thompson NFA from an Ast, each part compiled in front of its continuation state. */
export class Builder {
  private readonly kind: K[] = [];
  private readonly next: number[] = [];
  private readonly arg: number[] = [];
  private readonly sets: CharSet[] = [];
  private readonly looks: { neg: boolean; prog: Program }[] = [];

  constructor(private readonly dotAll: boolean) {}

  /** The program of `ast`, which matches at the position it is run from. */
  program(ast: Ast): Program {
    const start = this.build(ast, this.state(K.Match, -1, 0));
    return new Program({ kind: Int8Array.from(this.kind), next: Int32Array.from(this.next), arg: Int32Array.from(this.arg), sets: this.sets, looks: this.looks, start });
  }

  private state(k: K, next: number, arg: number): number {
    if (this.kind.length >= MAX_STATES) throw new Unsupported();
    this.kind.push(k);
    this.next.push(next);
    this.arg.push(arg);
    return this.kind.length - 1;
  }

  private build(ast: Ast, next: number): number {
    switch (ast.t) {
      case 'set':
        return ast.one !== undefined ? this.state(K.Char, next, ast.one) : this.state(K.Set, next, this.sets.push(ast.set) - 1);
      case 'any':
        return this.dotAll ? this.state(K.Any, next, 0) : this.state(K.Set, next, this.sets.push(new CharSet(true, LINE_TERMINATORS)) - 1);
      case 'seq':
        return ast.items.reduceRight((n, a) => this.build(a, n), next);
      case 'alt':
        return ast.alts.map((a) => this.build(a, next)).reduceRight((b, a) => this.state(K.Split, a, b));
      case 'rep':
        return this.repeat(ast.body, ast.min, ast.max, next);
      case 'bol':
      case 'eol':
        return this.state(ast.t === 'bol' ? K.Bol : K.Eol, next, 0);
      case 'look': {
        const prog = new Builder(this.dotAll).program(ast.body);
        return this.state(K.Look, next, this.looks.push({ neg: ast.neg, prog }) - 1);
      }
    }
  }

  /** `body{min,max}`: min copies, then max − min optional ones or a loop. */
  private repeat(body: Ast, min: number, max: number, next: number): number {
    let cur = next;
    if (max === Infinity) {
      const loop = this.state(K.Split, -1, cur);
      this.next[loop] = this.build(body, loop);
      cur = loop;
    } else for (let k = min; k < max; k++) cur = this.state(K.Split, this.build(body, cur), cur);
    for (let k = 0; k < min; k++) cur = this.build(body, cur);
    return cur;
  }
}


/** A Thompson NFA: per state its kind, next state and argument (code unit, set, look or other branch). */
interface Nfa {
  readonly kind: Int8Array;
  readonly next: Int32Array;
  readonly arg: Int32Array;
  readonly sets: readonly CharSet[];
  readonly looks: readonly { neg: boolean; prog: Program }[];
  readonly start: number;
}

/** NFA states before the empty moves at a position, and what their closure became for each outcome of its assertions. */
interface Kernel {
  readonly states: Int32Array;
  root: Decision | null;
}

/** A node of a kernel's decision tree: an assertion state to test, or (a leaf) the closure reached. */
interface Decision {
  test: number;
  yes: Decision | null;
  no: Decision | null;
  closed: Closed | null;
}

/** A DFA state: the consuming NFA states of a closure (or a match), with its transitions as they are met. */
interface Closed {
  readonly matched: boolean;
  readonly states: Int32Array;
  readonly ascii: (Kernel | undefined)[];
  readonly wide: Map<number, Kernel>;
}

/** DFA states kept per program; past it the cache starts over (as RE2's), so memory stays bounded. */
const MAX_CACHED = 4096;
/** Transitions on code units past ASCII kept per program; past it the cache starts over too. */
const MAX_WIDE = 65_536;

/**
 * An NFA run as a lazily built DFA. A position costs one cached step plus the assertions its
 * kernel's decision tree tests; a step not yet cached costs one closure, each NFA state visited
 * once. So a path of n characters costs O(n × states) in the worst case, whatever the regex.
 */
export class Program {
  /** The stamp of the closure a state was last added to, so each state is taken once per closure. */
  private readonly mark: Float64Array;
  private stamp = 0;
  private readonly stack: Int32Array;
  private kernels = new Map<string, Kernel>();
  private closedSets = new Map<string, Closed>();
  /** Transitions on code units past ASCII cached in all states (see MAX_WIDE). */
  private wideCount = 0;
  private first: Kernel;

  constructor(private readonly nfa: Nfa) {
    this.mark = new Float64Array(nfa.kind.length);
    // Each state is expanded once per closure and pushes at most two others.
    this.stack = new Int32Array(2 * nfa.kind.length + 1);
    this.first = this.kernel([nfa.start]);
  }

  /** Whether the NFA matches a part of `input` that starts at position `from`. */
  run(input: string, from: number, meter: GlobMeter): boolean {
    let kernel = this.first;
    // The cached steps are taken inline: this loop is the matcher's hot path.
    for (let p = from; ; p++) {
      const leaf = kernel.root;
      const closed = leaf !== null && leaf.closed !== null ? leaf.closed : this.closedAt(kernel, input, p, meter);
      if (closed.matched) return true;
      if (p === input.length || closed.states.length === 0) return false;
      const c = input.charCodeAt(p);
      meter.steps++;
      kernel = (c < 128 ? closed.ascii[c] : closed.wide.get(c)) ?? this.step(closed, c, meter);
    }
  }

  /** The kernel after `closed` reads code unit `c`, computed and cached. */
  private step(closed: Closed, c: number, meter: GlobMeter): Kernel {
    const { kind, arg, next, sets } = this.nfa;
    const to: number[] = [];
    for (const s of closed.states) {
      meter.steps++;
      const k = kind[s];
      if (k === K.Char ? arg[s] === c : k === K.Any || sets[arg[s]!]!.has(c)) to.push(next[s]!);
    }
    const kernel = this.kernel(to);
    if (c < 128) closed.ascii[c] = kernel;
    else {
      // Up to 65,408 per state: counted, so that the cache stays bounded (a daemon keeps it).
      closed.wide.set(c, kernel);
      this.wideCount++;
      this.flushWhenFull();
    }
    return kernel;
  }

  /** The closure of `kernel` at `pos`, through its decision tree, computed when not yet there. */
  private closedAt(kernel: Kernel, input: string, pos: number, meter: GlobMeter): Closed {
    let d = kernel.root;
    while (d !== null && d.closed === null) {
      meter.steps++;
      d = this.holds(d.test, input, pos, meter) ? d.yes : d.no;
    }
    if (d !== null) return d.closed!;
    const tested: number[] = [];
    const outcomes: boolean[] = [];
    const closed = this.close(kernel, input, pos, tested, outcomes, meter);
    record(kernel, tested, outcomes, closed);
    return closed;
  }

  /** The consuming states reached from `kernel` by empty moves at `pos`, recording the assertions tested in order. */
  private close(kernel: Kernel, input: string, pos: number, tested: number[], outcomes: boolean[], meter: GlobMeter): Closed {
    const { kind, next, arg } = this.nfa;
    const { stack, mark } = this;
    const stamp = ++this.stamp;
    const out: number[] = [];
    let top = 0;
    for (let i = kernel.states.length - 1; i >= 0; i--) stack[top++] = kernel.states[i]!;
    while (top > 0) {
      const t = stack[--top]!;
      if (mark[t] === stamp) continue;
      mark[t] = stamp;
      meter.steps++;
      const k = kind[t];
      if (k === K.Match) return this.closedSet([], true);
      if (k === K.Char || k === K.Set || k === K.Any) out.push(t);
      else if (k === K.Split) {
        stack[top++] = arg[t]!;
        stack[top++] = next[t]!;
      } else {
        const ok = this.holds(t, input, pos, meter);
        tested.push(t);
        outcomes.push(ok);
        if (ok) stack[top++] = next[t]!;
      }
    }
    return this.closedSet(out, false);
  }

  /** Whether the assertion state `t` holds at `pos`: a lookahead runs its own bounded program there. */
  private holds(t: number, input: string, pos: number, meter: GlobMeter): boolean {
    const k = this.nfa.kind[t];
    if (k === K.Bol) return pos === 0;
    if (k === K.Eol) return pos === input.length;
    const look = this.nfa.looks[this.nfa.arg[t]!]!;
    return look.prog.run(input, pos, meter) !== look.neg;
  }

  private kernel(states: number[]): Kernel {
    const sorted = [...new Set(states)].sort((a, b) => a - b);
    const key = sorted.join(',');
    let k = this.kernels.get(key);
    if (!k) {
      this.flushWhenFull();
      this.kernels.set(key, (k = { states: Int32Array.from(sorted), root: null }));
    }
    return k;
  }

  private closedSet(states: number[], matched: boolean): Closed {
    const sorted = [...new Set(states)].sort((a, b) => a - b);
    const key = matched ? 'match' : sorted.join(',');
    let c = this.closedSets.get(key);
    if (!c) {
      this.flushWhenFull();
      this.closedSets.set(key, (c = { matched, states: Int32Array.from(sorted), ascii: new Array<Kernel | undefined>(128).fill(undefined), wide: new Map() }));
    }
    return c;
  }

  /** Starts the cache over once full; states already reached stay valid for the run in progress. */
  private flushWhenFull(): void {
    if (this.kernels.size + this.closedSets.size < MAX_CACHED && this.wideCount < MAX_WIDE) return;
    this.wideCount = 0;
    this.kernels = new Map();
    this.closedSets = new Map();
    this.first = this.kernel([this.nfa.start]);
  }
}

/** Adds to `kernel`'s decision tree the path its closure took (`tested` with `outcomes`) and where it led. */
function record(kernel: Kernel, tested: readonly number[], outcomes: readonly boolean[], closed: Closed): void {
  let d: Decision = (kernel.root ??= blank());
  for (let i = 0; i < tested.length; i++) {
    d.test = tested[i]!;
    const yes = outcomes[i]!;
    const child: Decision = (yes ? d.yes : d.no) ?? blank();
    if (yes) d.yes = child;
    else d.no = child;
    d = child;
  }
  d.closed = closed;
}

function blank(): Decision {
  return { test: -1, yes: null, no: null, closed: null };
}
