import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import { compileGlob, compileGlobs, isLinearGlob } from '../../src/source/glob.js';
import type { GlobOptions } from '../../src/source/glob.js';
import { prng } from '../schedule/random.js';

const OPTS = { dot: false, flags: 's' };

type Rand = ReturnType<typeof prng>;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** Characters of names: the path alphabet, regex metacharacters picomatch escapes, a line break, non-ASCII and a surrogate pair. */
const NAME_CHARS = ['a', 'b', 'a', 'b', 'x', '.', '-', '+', '@', '!', '$', '^', '~', ' ', '\n', 'é', '\u2028', '😀', '1', '2', '&'];
const CLASS_ITEMS = ['a', 'b', 'a-c', 'x', '.', '/', '-', '!', '^', ']', '\\]', '\\-', '\\\\', '1-2', '*', '?', '{', ',', '\n', 'é'];
const ESCAPED = ['*', '?', '.', '[', ']', '{', '}', ',', '/', '\\', '-', '!', '+', 'a', 'n', 'd', '1', '$'];

/** A random glob of the subset grammar (and its near misses: unclosed classes and braces, stray `]`/`}`). */
function randomGlob(r: Rand, depth = 0): string {
  const parts: string[] = [];
  const n = 1 + Math.floor(r() * 6);
  for (let i = 0; i < n; i++) parts.push(randomPiece(r, depth));
  let g = parts.join('');
  if (depth === 0 && r() < 0.08) g = `./${g}`;
  if (depth === 0 && r() < 0.08) g = `/${g}`;
  if (depth === 0 && r() < 0.08) g = `${g}/`;
  return g;
}

function randomPiece(r: Rand, depth: number): string {
  const x = r();
  if (x < 0.25) return pick(r, NAME_CHARS);
  if (x < 0.4) return '*';
  if (x < 0.5) return pick(r, ['/', '/', '**', '/**/', '**/', '/**', '***']);
  if (x < 0.57) return '?';
  if (x < 0.66) return randomClass(r);
  if (x < 0.76 && depth < 2) return randomBrace(r, depth);
  if (x < 0.83) return `\\${pick(r, ESCAPED)}`;
  if (x < 0.88) return pick(r, ['{1..3}', '{a..c}', '{a}', '{}', '{,a}', '{a,}', '{', '}', ']', '[', ',', '..', './', '{1..a}']);
  return pick(r, ['a', 'b', 'ab', 'yaml', '.', '-']);
}

function randomClass(r: Rand): string {
  let body = r() < 0.3 ? pick(r, ['!', '^']) : '';
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n; i++) body += pick(r, CLASS_ITEMS);
  return r() < 0.9 ? `[${body}]` : `[${body}`;
}

function randomBrace(r: Rand, depth: number): string {
  const n = 1 + Math.floor(r() * 3);
  const alts: string[] = [];
  for (let i = 0; i < n; i++) alts.push(r() < 0.2 ? '' : randomGlob(r, depth + 1));
  return `{${alts.join(',')}}`;
}

/** A random path over the alphabet, with dot-names and runs of separators. */
function randomPath(r: Rand): string {
  const chars = ['a', 'b', 'a', 'b', '.', '-', '/', '/', '\n', 'x', '*', '?', '[', ']', '{', '}', ',', '\\', 'é', '1', '+', 'y', 'm', 'l'];
  let s = '';
  const n = Math.floor(r() * 12);
  for (let i = 0; i < n; i++) s += pick(r, chars);
  return s;
}

/** A path built from the glob's own text, so that matches are frequent: wildcards filled in, a brace alternative chosen. */
function pathFrom(glob: string, r: Rand): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') out += pick(r, ['', 'a', 'ab', '.a', 'a.b', 'a/b', '-', 'a-b-']);
    else if (c === '?') out += pick(r, ['a', '.', '/', '-']);
    else if (c === '\\' && i + 1 < glob.length && r() < 0.8) out += glob[++i];
    else if (c === '[' && r() < 0.7) {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) out += c;
      else {
        out += pick(r, [...glob.slice(i + 1, end).replace(/^[!^]/, ''), 'z']);
        i = end;
      }
    } else if ((c === '{' || c === ',') && r() < 0.7) {
      // Skip to a `,` or `}` at this level: one alternative of the brace, or a neighbour's start.
      let level = 0;
      let j = i + 1;
      for (; j < glob.length && !(level === 0 && (glob[j] === ',' || glob[j] === '}')); j++) level += glob[j] === '{' ? 1 : glob[j] === '}' ? -1 : 0;
      if (r() < 0.5) i = j;
    } else if (c !== '}' || r() < 0.3) out += c;
  }
  return mutate(out, r);
}

function mutate(p: string, r: Rand): string {
  const x = r();
  if (x < 0.5 || p === '') return p;
  const at = Math.floor(r() * p.length);
  if (x < 0.6) return `${p.slice(0, at)}.${p.slice(at)}`;
  if (x < 0.7) return `${p.slice(0, at)}/${p.slice(at)}`;
  if (x < 0.8) return p.slice(0, at) + p.slice(at + 1);
  if (x < 0.85) return `./${p}`;
  if (x < 0.9) return `${p}/`;
  return `${p.slice(0, at)}${pick(r, ['a', '\n', '-', '*'])}${p.slice(at + 1)}`;
}

/** What a differential run compared: pairs and matches count the globs the linear matcher takes. */
interface Tally {
  globs: number;
  linear: number;
  pairs: number;
  matches: number;
  mismatches: string[];
}

/** Compares compileGlob with picomatch on random globs and paths; returns the counts and the first mismatches. */
function differential(seed: number, count: number, opts: GlobOptions): Tally {
  const r = prng(seed);
  const t: Tally = { globs: 0, linear: 0, pairs: 0, matches: 0, mismatches: [] };
  for (let k = 0; k < count; k++) {
    const glob = randomGlob(r);
    // picomatch 4.0.7 never returns from parsing a glob that ends in four backslashes or more
    // (`x/\\\\\\`: its index jumps past the end its loop waits for), so both would hang.
    if (/\\{3}/.test(glob)) continue;
    const want = picomatch(glob, opts);
    const got = compileGlob(glob, opts);
    const linear = isLinearGlob(glob, opts);
    t.globs++;
    if (linear) t.linear++;
    const paths = [glob, ...Array.from({ length: 12 }, () => randomPath(r)), ...Array.from({ length: 24 }, () => pathFrom(glob, r))];
    // After a brace, `+` is the regex quantifier to picomatch (`{a,b}+` matches `abab`), and its
    // backtracking over such a group takes minutes on some 40-character paths: keep those short.
    for (const p of glob.includes('}+') ? paths.filter((x) => x.length <= 16) : paths) {
      const w = want(p);
      if (linear) t.pairs++;
      if (linear && w) t.matches++;
      if (got(p) !== w && t.mismatches.length < 5) t.mismatches.push(`${JSON.stringify(glob)} ${JSON.stringify(p)}: picomatch ${w}`);
    }
  }
  return t;
}

describe('source/glob: equal to picomatch', () => {
  it.each([1, 2, 3, 4])('agrees on random globs and paths (seed %i)', (seed) => {
    const t = differential(seed, 1000, OPTS);

    expect(t.mismatches).toEqual([]);
    // The subset is most of what is generated, and a good share of the pairs match.
    expect(t.linear / t.globs).toBeGreaterThan(0.8);
    expect(t.matches / t.pairs).toBeGreaterThan(0.1);
  });

  it.each([
    { name: 'dot', opts: { dot: true, flags: 's' } },
    { name: 'windows', opts: { dot: false, flags: 's', windows: true } },
    { name: 'no s flag', opts: { dot: false, flags: '' } },
  ])('agrees with other options too ($name)', ({ opts }) => {
    const t = differential(7, 400, opts);

    expect(t.mismatches).toEqual([]);
  });

  const globs = [
    '*', '**', '***', '?', 'a', 'a/', '/a', './a', './*', '.*', '*.*', '.a/*', 'a/.*', '{.*,b}', 'a/.*/b',
    'a/**', '**/b', 'a/**/b', '**/*', '**/**', '**/*.yaml', 'a/**/**/b', 'a**', '**a', 'a/**b', 'a/b**/c',
    'jobs/*-*-*.yaml', '**/*.{yaml,yml}', '{a,b/c}', 'x/{a,b/**}', '{a/,b}c', '{a,{b,c}}', '{1..3}', '{a..c}', '{a}', '{}', 'a{b',
    '[abc]', '[!a]', '[^a]', '[a-c]*', '[]a]', '[a-]', '[/]', '[^/]', '[.]a', 'a[b', 'a]',
    '\\*', 'a\\*b', '\\a', '\\', 'a\\', '\\[a]', '\\{a,b}', '\\.a', 'a\nb', '*\n*', 'a/*/', '*/', '?/', 'a//b',
  ];
  const paths = [
    'a', 'b', 'c', 'ab', 'a/b', 'a/c', 'a/x/b', 'a/x/y/b', 'a/.x/b', '.a', '.a/b', 'a/.b', 'a/', '/a', './a', 'a/b/',
    'x.yaml', 'x/y.yaml', '.x/y.yaml', 'x/.y.yaml', 'x/y.yml', 'jobs/a-b-c.yaml', 'jobs/.a-b-c.yaml', 'b/c', 'bc', 'x/a', 'x/b/z',
    '1', '2', '4', ']', 'a]', 'a[b', '-', '/', '.', '..', '*', 'a*b', 'axb', 'a\nb', '\n', 'a\\', '\\', '[a]', '{a,b}', 'a/b**/c', 'a//b', 'ab/c',
    'a/.', 'a/..', 'a/../b', 'a/./b', './.', '../a', 'a/.b/b',
  ];

  it.each([
    { name: 'dot: false', opts: OPTS },
    { name: 'dot: true', opts: { dot: true, flags: 's' } },
  ])('agrees on a table of tricky globs and paths ($name)', ({ opts }) => {
    const mismatches = globs.flatMap((g) => {
      const want = picomatch(g, opts);
      const got = compileGlob(g, opts);
      return paths.filter((p) => got(p) !== want(p)).map((p) => `${g} ${JSON.stringify(p)}`);
    });

    expect(mismatches).toEqual([]);
  });

  it.each`
    glob                 | path              | want
    ${'a/**'}            | ${'a'}            | ${true}
    ${'a/**'}            | ${'a/b/c'}        | ${true}
    ${'a/**'}            | ${'a/.b/c'}       | ${false}
    ${'**/b'}            | ${'b'}            | ${true}
    ${'**/b'}            | ${'.x/b'}         | ${false}
    ${'a/**/b'}          | ${'a/b'}          | ${true}
    ${'*'}               | ${'.a'}           | ${false}
    ${'*'}               | ${'a/'}           | ${true}
    ${'*'}               | ${'a\nb'}         | ${true}
    ${'**'}              | ${'a\n/b'}        | ${true}
    ${'{a,b/c}'}         | ${'b/c'}          | ${true}
    ${'[!a]'}            | ${'!'}            | ${true}
    ${'[^a]'}            | ${'/'}            | ${false}
    ${'a\\*b'}           | ${'axb'}          | ${false}
    ${'[a-]'}            | ${'-'}            | ${true}
    ${'x/*.{yaml,yml}'}  | ${'x/.a.yml'}     | ${false}
    ${'{a,b}+'}          | ${'abba'}         | ${true}
    ${'./a'}             | ${'a'}            | ${true}
    ${'jobs/*-*-*.yaml'} | ${'jobs/a-b-c.yaml'} | ${true}
  `('$glob matches $path: $want (as picomatch)', ({ glob, path, want }: { glob: string; path: string; want: boolean }) => {
    const got = compileGlob(glob, OPTS)(path);

    expect(got).toBe(want);
    expect(picomatch(glob, OPTS)(path)).toBe(want);
    expect(isLinearGlob(glob, OPTS)).toBe(true);
  });

  it('agrees after its cache of DFA states starts over', () => {
    // A DFA for `*a` and 12 `?` tells apart every last 13 characters: 2^13 states over a and b,
    // more than the 4,096 a program keeps.
    const glob = `*a${'?'.repeat(12)}`;
    const r = prng(9);
    const paths = Array.from({ length: 400 }, () => Array.from({ length: 40 }, () => pick(r, ['a', 'b'])).join(''));

    const m = compileGlob(glob, OPTS);
    const want = picomatch(glob, OPTS);
    const got = paths.map((p) => m(p));

    expect(got).toEqual(paths.map((p) => want(p)));
    expect(new Set(got)).toEqual(new Set([true, false]));
  });

  it('refuses the empty glob as picomatch does', () => {
    expect(() => picomatch('', OPTS)).toThrow(TypeError);
    expect(() => compileGlob('', OPTS)).toThrow(TypeError);
  });

  it('matches when any of several globs does', () => {
    const m = compileGlobs(['a/*', '**/*.yaml'], OPTS);

    expect(['a/b', 'x/y.yaml', 'x/y'].map(m)).toEqual([true, true, false]);
    expect(compileGlobs([], OPTS)('a')).toBe(false);
  });
});

describe('source/glob: outside the subset', () => {
  it.each(['@(a|b)', '!(a)*', '+(a)', '*(a|b)', '?(a)', 'a|b', '[[:alpha:]]*', '!a', '!*.yaml', './!a', '"a*"', '\\d', '\\b*', 'a\\1', 'x/(a)'])('%s goes to picomatch with the same answers', (glob) => {
    const want = picomatch(glob, OPTS);
    const got = compileGlob(glob, OPTS);

    expect(isLinearGlob(glob, OPTS)).toBe(false);
    for (const p of ['a', 'b', 'ab', 'aa', 'x', 'x.yaml', '.a', '!a', 'a|b', 'x/a', '1', 'a1', 'a\\1', '"a*"', 'a*', 'b b']) expect(got(p)).toBe(want(p));
  });

  it('leaves options it does not know to picomatch', () => {
    expect(isLinearGlob('*.yaml', { ...OPTS, nocase: true } as GlobOptions)).toBe(false);
    expect(isLinearGlob('*.yaml', { ...OPTS, flags: 'si' })).toBe(false);
  });
});

describe('source/glob: the cache of a compiled glob stays bounded', () => {
  /** Every code unit from 0x80 to `last`, as one string. */
  const units = (last: number): string => String.fromCharCode(...Array.from({ length: last - 0x7f }, (_, i) => 0x80 + i));

  it('keeps every transition of a few non-ASCII names, and starts over past 65,536 of them', () => {
    const meter = { steps: 0 };
    // Two segments: each name is read in a DFA state of its own.
    const m = compileGlob('*/*.yaml', OPTS, meter);
    const few = `${units(0x47f)}/${units(0x47f)}`;
    const all = `${units(0xffff)}/${units(0xffff)}`;

    m(few);
    meter.steps = 0;
    m(few);
    const fewAgain = meter.steps;
    m(all);
    meter.steps = 0;
    m(all);
    const allAgain = meter.steps;

    // A run over cached transitions costs about one step a character.
    expect(fewAgain).toBeLessThan(1.1 * few.length);
    // Two states × 65,408 code units is past the bound: the cache started over, and the
    // transitions are computed again (a step for each NFA state too).
    expect(allAgain).toBeGreaterThan(2 * all.length);
    expect(m(all)).toBe(picomatch('*/*.yaml', OPTS)(all));
  });
});

describe('source/glob: work is linear in the path', () => {
  /** The steps one match of a freshly compiled glob takes (its cache cold, the worst case). */
  function steps(glob: string, path: string): number {
    const meter = { steps: 0 };
    compileGlob(glob, OPTS, meter)(path);
    return meter.steps;
  }

  it.each`
    glob                          | hostile
    ${'jobs/*-*-*-*.yaml'}        | ${(n: number) => `jobs/${'-'.repeat(n)}x`}
    ${'*a*a*a*a*a*a*a*a*b'}       | ${(n: number) => 'a'.repeat(n)}
    ${'**/*-*-*/**/*-*.yaml'}     | ${(n: number) => `${'-'.repeat(n)}/x`}
    ${'a/**/*-*.yaml'}            | ${(n: number) => `a/${'b/'.repeat(n / 4)}${'-'.repeat(n / 2)}`}
    ${'{*-*-*,*a*b*}/**/*.{yaml,yml}'} | ${(n: number) => `${'-ab'.repeat(n / 3)}/${'.a/'.repeat(3)}x`}
    ${'**/[a-c]*[^x]*?.y'}        | ${(n: number) => `${'a'.repeat(n)}.z`}
    ${'{,*a,a*}+b'}               | ${(n: number) => 'a'.repeat(n)}
  `('$glob on a hostile path of 5,000 characters takes at most path × glob steps, and twice the path twice the steps', ({ glob, hostile }: { glob: string; hostile: (n: number) => string }) => {
    const path = hostile(5000);

    const small = steps(glob, path);
    const big = steps(glob, hostile(10000));

    expect(isLinearGlob(glob, OPTS)).toBe(true);
    expect(compileGlob(glob, OPTS)(path)).toBe(false);
    expect(small).toBeLessThanOrEqual((path.length + 1) * glob.length);
    expect(big).toBeLessThan(2.2 * small);
  });
});
