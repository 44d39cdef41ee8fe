/**
 * Glob matching whose time is linear in the path: picomatch's own regular expression, run by an
 * automaton instead of V8's backtracking engine.
 *
 * The paths come from the repository, so anyone who can push picks them. picomatch compiles each
 * `*` to a lazy `[^/]*?`, and a backtracking engine tries every split of a name among the stars
 * of one segment: `jobs/*-*-*-*.yaml` took 3 s for one file named with 300 dashes, hours for
 * longer names. Here the regex picomatch builds is parsed into a Thompson NFA and run as a DFA
 * built lazily (as RE2 does), which accepts exactly what the regex accepts, in O(path × regex)
 * steps at worst. Matching that regex is all picomatch does for the globs taken here, so the
 * answer is picomatch's by construction; test/source/glob.test.ts compares the two on random
 * globs and paths. A glob or regex the parser does not know is left to picomatch.
 */
import picomatch from 'picomatch';
import { hostOs } from '../system/platform.js';
import { Builder } from './glob/automaton.js';
import type { GlobMeter, Program } from './glob/automaton.js';
import { Parser, Unsupported, firstIsBol } from './glob/regex.js';

export type { GlobMeter } from './glob/automaton.js';

/** The picomatch options a glob is compiled with; the linear matcher takes only these. */
export interface GlobOptions {
  readonly dot?: boolean;
  readonly flags?: string;
  /** picomatch's `windows`; unset, it is the host's, as `picomatch()` decides. */
  readonly windows?: boolean;
}

/**
 * Compiles `glob` to a predicate that answers exactly as `picomatch(glob, options)`, in time
 * linear in the path when the glob is in the subset (see {@link isLinearGlob}); the one
 * difference: a glob so large that picomatch's matcher throws (its regex too large, e.g. 32,768
 * `?`, or its stack overflowing) matches nothing here. `meter`, when given, counts the linear
 * matcher's steps.
 * @throws {TypeError} when `glob` is empty, and SyntaxError when it is over 65,536 characters, as picomatch does.
 */
export function compileGlob(glob: string, options: GlobOptions = {}, meter: GlobMeter = { steps: 0 }): (path: string) => boolean {
  const opts = withPlatform(options);
  const prog = linearProgram(glob, opts);
  if (!prog) {
    const m = picomatch(glob, opts);
    return (p) => m(p);
  }
  // picomatch.test: an empty path never matches; the glob itself always does, also after the
  // backslashes of a Windows path became slashes.
  const format = opts.windows ? (p: string) => p.replace(picomatch.constants.REGEX_BACKSLASH, '/') : null;
  return (path) => {
    if (path === '') return false;
    if (path === glob) return true;
    const out = format ? format(path) : path;
    return out === glob || prog.run(out, 0, meter);
  };
}

/** Compiles `globs` to a predicate that is true when any of them matches (as `picomatch([...])`). */
export function compileGlobs(globs: readonly string[], options: GlobOptions = {}): (path: string) => boolean {
  const ms = globs.map((g) => compileGlob(g, options));
  return (p) => ms.some((m) => m(p));
}

/**
 * Whether {@link compileGlob} matches `glob` in linear time. Taken are names, `*`, `?`, `**`,
 * classes, braces (also nested and ranges) and escapes; left to picomatch are extglobs and
 * parentheses, `|`, quoted spans, a leading `!`, POSIX classes, and any glob whose regex holds
 * something the parser does not know (a back reference, `\b`, …).
 */
export function isLinearGlob(glob: string, options: GlobOptions = {}): boolean {
  return linearProgram(glob, withPlatform(options)) !== null;
}

/** `options` with `windows` set the way picomatch's index.js sets it when unset. */
function withPlatform(options: GlobOptions): GlobOptions {
  if (options.windows !== undefined && options.windows !== null) return options;
  const nav = (globalThis as { navigator?: { platform?: string } }).navigator;
  const platform = nav?.platform ? nav.platform.toLowerCase() : hostOs;
  return { ...options, windows: platform === 'win32' || platform === 'windows' };
}

function linearProgram(glob: string, opts: GlobOptions): Program | null {
  if (!inSubset(glob) || Object.keys(opts).some((k) => k !== 'dot' && k !== 'flags' && k !== 'windows')) return null;
  const re = picomatch.makeRe(glob, opts);
  if (re.flags !== 's' && re.flags !== '') return null;
  try {
    const ast = new Parser(re.source).parse();
    // picomatch anchors its regex with `^`; a match can start nowhere else, so no other start is tried.
    return firstIsBol(ast) ? new Builder(re.flags === 's').program(ast) : null;
  } catch (err) {
    if (err instanceof Unsupported) return null;
    throw err;
  }
}

/** The glob-level gate: the syntax the differential test generates. */
function inSubset(glob: string): boolean {
  const body = glob.startsWith('./') ? glob.slice(2) : glob;
  return body !== '' && !body.startsWith('!') && !/[()|"]/.test(glob) && !glob.includes('[:');
}
