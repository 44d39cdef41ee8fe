/**
 * Differential fuzz of the manifest parser's fast path: for seed manifests and seeded mutants of
 * them, `parseManifestFile` with the fast path must answer exactly as with the Composer
 * (`fastPath: false`): the same issues, documents, values (key order, own `__proto__`, `-0`,
 * `NaN`, prototypes, shared references) and the same `locate()` for every node and for missing
 * paths. A mismatch fails with the text as a JSON string, minimised, and what differed.
 *
 * The cases: seeds (examples, the bench's manifest, hand-written files over YAML), seeded mutants
 * of them, and files from a small generator, half of them mutated. `CRONSYNC_FUZZ_CASES` sets the
 * number of mutants (a long local run; generated files are half as many unless
 * `CRONSYNC_FUZZ_GENERATED` says), `CRONSYNC_FUZZ_SEED` the seed.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobManifest } from '../../bench/lib/manifest.mjs';
import { MAX_FILE_BYTES, MAX_NESTING_DEPTH, acceptsFast, parseManifestFile, releaseYaml } from '../../src/manifest/parse.js';
import type { ParseOptions, ParsedFile, Position } from '../../src/manifest/parse.js';
import { prng } from '../schedule/random.js';

const CASES = Number(process.env.CRONSYNC_FUZZ_CASES ?? 4000);
const GENERATED = Number(process.env.CRONSYNC_FUZZ_GENERATED ?? Math.round(CASES / 2));
const SEED = Number(process.env.CRONSYNC_FUZZ_SEED ?? 20260412);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The benches' manifest (bench/lib/manifest.mjs): flow maps and sequences. */
function benchManifest(i: number): string {
  const zones = ['UTC', 'Europe/London', 'Asia/Kolkata', 'America/New_York'];
  const schedules = ['0 2 * * *', '*/15 * * * *', '30 1 * * SUN', '@daily', '5 4 1,15 * *'];
  return jobManifest(i, { tenant: 'acme', schedule: schedules[i % schedules.length]!, timezone: zones[i % zones.length]!, role: i % 4 === 0 ? 'db' : `r${i % 7}` });
}

function yamlFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? yamlFiles(join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : []))
    .sort();
}

/** The repository's example manifests and configs, by path. */
const EXAMPLES: { name: string; text: string }[] = [...yamlFiles('manifests-example'), ...yamlFiles(join('test', 'fixtures', 'crontopus-repo')), join('systemd', 'config.example.yaml'), join('windows', 'config.example.yaml')]
  .map((p) => ({ name: relative(ROOT, join(ROOT, p)).split(sep).join('/'), text: readFileSync(join(ROOT, p), 'utf8') }));

/** Seeds the fast path is expected to take whole (plain manifests). */
const PLAIN: Record<string, string> = {
  'bench manifest': benchManifest(0),
  'bench file of 3 documents': [benchManifest(1), benchManifest(2), benchManifest(4)].join('---\n'),
  'block map, plain and quoted': 'apiVersion: v1\nkind: Job\nmetadata:\n  name: a\n  labels:\n    env: "prod"\n    team: \'ops\'\nspec:\n  schedule: "0 0 * * *"\n  args:\n    - --x\n    - "y z"\n',
  'flow seq of quoted': 'a: ["--id=1", \'b\', c]\n',
};

/** Hand-written seeds over the rest of YAML; the fast path may take some and must fall back on others. */
const HAND: Record<string, string> = {
  'block scalars': 'a: |\n  line1\n  line2\nb: >\n  folded\n  text\n\n  para\nc: |-\n  strip\nd: >+\n  keep\n\ne: |2\n    indented\nf: >-\n  x\ng: |+\n  y\nh: last\n',
  'block scalar keep at end of file': 'a: |+\n  x\n\n\n',
  'block scalar without final newline': 'a: >\n  x',
  'block scalars in a sequence': 'list:\n  - |\n    text\n  - >-\n    more\n    lines\n  - |1\n     one\n',
  'folded more-indented lines': 'a: >\n  one\n    two\n  three\n\n    four\n',
  'empty block scalar': 'a: |\nb: >-\nc: 1\n',
  'block scalar at root': '--- |\n  text\n--- >-\n  folded\n',
  'single-quoted with quote': "a: 'it''s'\nb: ''\nc: 'x # not a comment'\nd: '  spaced  '\n",
  'double-quoted escapes': 'a: "tab\\tnl\\n \\u00e9 \\x41 \\" \\\\ \\/ \\0 \\a \\e \\N \\_ \\L \\P"\nb: ""\nc: "\\U0001F600"\nd: "a\\ b"\n',
  'multi-line quoted': 'a: "one\n  two\n\n  three"\nb: \'x\n  y\'\nc: "line \\\n  cont"\nd: "trail  \n  next"\n',
  'multi-line plain': 'a: one\n  two\n  three\nb: x\n\n  y\nc: p # c\n',
  'multi-line plain in a sequence': '- a\n  b\n- c\n',
  'empty values': 'a:\nb:\n  c:\nd: ~\ne:\n',
  'nested block seq of maps': 'items:\n  - a: 1\n    b: 2\n  - a: 3\n    b:\n      - x\n      - y\n  -\n  - - p\n    - q\n',
  'compact nested sequences': '- - x\n  - y\n- - - z\n',
  'sequence at the key indent': 'list:\n- name: a\n  v: 1\n- name: b\nnext: 2\n',
  'empty sequence items': 'a:\n  - \n  -\n  - ~\n',
  'map in seq on the dash line': '- a: 1\n  b: [x]\n- c\n- d:\n    e: f\n',
  'comments everywhere': '# top\na: 1 # after value\n# between\nb:\n  # inside map\n  c: 2\n  # end of map\nd:\n  - x # after item\n  # between items\n  - y\n  # end of seq\ne: [1, # in flow\n  2]\nf: { a: 1, # in flow map\n  b: 2 }\n# trailing\n',
  'comments at end of nested maps and seqs': 'a:\n  b:\n    c: 1\n    # end c\n  # end b\n# end a\nd:\n- 1\n# end d\n',
  'comment after document marker': '--- # doc comment\na: 1\n--- # second\nb: 2\n...\n# after end\n',
  'trailing comment lines': 'a: 1\n# end\n#\n\n',
  'comment without space': 'a: x#y\nb: "q"#c\n',
  'multiple documents': 'a: 1\n---\nb: 2\n...\n---\nc: 3\n...\n',
  'empty documents': '---\n---\na: 1\n---\n...\n---\n# only comment\n',
  'document end without start': 'a: 1\n...\nb: 2\n',
  'empty file': '',
  'newline only': '\n',
  'comment only': '# comment\n',
  'marker only': '---\n',
  'directive': '%YAML 1.2\n---\na: 1\n',
  'tag directive': '%TAG !e! tag:example.com,2000:\n---\na: !e!x 1\n',
  'anchors and aliases': 'a: &x 1\nb: *x\nc: &m { k: v }\nd: *m\ne: &s [1, 2]\nf: *s\n',
  'merge key': 'base: &b\n  x: 1\nother:\n  <<: *b\n  y: 2\n',
  'tags': 'a: !!str 1\nb: !custom x\nc: !!int "3"\nd: !!map { k: v }\ne: !!seq [1]\nf: !!float 1\ng: !!null ""\nh: !!bool true\n',
  'explicit keys': '? k\n: v\n? [a, b]\n: c\n? |\n  block key\n: d\n',
  'explicit key in flow': 'a: { ? b : c }\n',
  'core null and bool': 'n1: ~\nn2: null\nn3: Null\nn4: NULL\nn5:\nb1: true\nb2: True\nb3: FALSE\nb4: false\nb5: TRUE\nb6: tRue\n',
  'core ints': 'i1: 0o17\ni2: 0x1F\ni3: -12\ni4: +3\ni5: 0\ni6: 007\ni7: 0o\ni8: 0x\ni9: 0b101\ni10: 1_000\ni11: 12345678901234567890\ni12: 0xFFFFFFFFFFFFFFFFFF\ni13: -0o7\ni14: 0O17\n',
  'core floats': 'f1: 1.5\nf2: 1e3\nf3: .inf\nf4: -.Inf\nf5: .NaN\nf6: -0\nf7: 0.0\nf8: -0.0\nf9: +.INF\nf10: 1.\nf11: .5\nf12: 1e\nf13: +1.5E-3\nf14: .nan\nf15: .NAN\nf16: 1e400\nf17: -.5\nf18: 5e-324\n',
  'not core': 'a: yes\nb: on\nc: off\nd: no\ne: y\nf: 0b1\ng: 1:30\nh: 2001-12-14\n',
  'core scalars in flow': 'a: [~, null, true, FALSE, 0o17, 0x1F, -12, +3, 1.5, 1e3, .inf, -.Inf, .NaN, -0, 0.0, ""]\nb: { n: ~, t: True, i: 0x1F, f: -.Inf, z: -0 }\n',
  'non-string keys': '1: a\ntrue: b\n~: c\n1.5: d\n0x10: e\n-0: f\n.nan: g\nnull: h\n',
  'empty key': ': v\n',
  'string and int key collide': '"1": x\n1: y\n',
  'string and bool key collide': 'true: x\n"true": y\n',
  'special keys': '__proto__: { polluted: true }\nconstructor: x\ntoString: y\nhasOwnProperty: z\n<<: { m: 1 }\nvalueOf: 1\n',
  'quoted __proto__': '"__proto__": 1\nb:\n  __proto__:\n    - x\n',
  '__proto__ in flow': 'a: { __proto__: { x: 1 }, constructor: { prototype: 1 } }\n',
  'duplicate keys': 'a: 1\n"a": 2\n',
  'duplicate keys apart': 'a: 1\nb: 2\na: 3\n',
  'duplicate keys in flow': 'x: { a: 1, a: 2 }\n',
  'duplicate nested': 'a:\n  b: 1\n  b: 2\nc: [1]\n',
  'long key': `${'k'.repeat(1030)}: v\n`,
  'key of 1024 chars': `${'k'.repeat(1022)}: v\n`,
  'long quoted key': `"${'q'.repeat(1030)}": v\n`,
  'long flow key': `a: { ${'f'.repeat(1030)}: 1 }\n`,
  // The Composer counts a key's 1024 characters from the end of the previous entry, which for an
  // empty value is right after its `:`: blank lines after one count (found in review).
  'blank lines after an empty value': `spec:\n  env:\n${'\n'.repeat(1023)}kind: Job\n`,
  'blank indented lines after an empty value': `a:\n  c:\n${'  \n'.repeat(400)}b: 1\n`,
  'blank lines after an empty item': `a:\n  - \n${'\n'.repeat(1030)}b: 1\n`,
  'blank lines after a value': `a: 1\n${'\n'.repeat(1030)}b: 1\n`,
  'blank lines after an empty top-level value': `a:\n${'\n'.repeat(1030)}b: 1\n`,
  'blank lines after a nested map': `a:\n  c: 1\n${'\n'.repeat(1030)}b: 1\n`,
  'flow trailing commas': 'a: [a, b, ]\nb: { x: 1, }\n',
  'flow empty entry': 'a: [a, , b]\n',
  'empty flow': 'a: {}\nb: []\nc: [{}, []]\nd: { e: {} }\n',
  'multi-line flow': 'a: [\n  1,\n  2\n]\nb: {\n  x: 1,\n  y: [a,\n    b]\n}\n',
  'flow pairs in a sequence': 'a: [k: v, x, "q": 1]\n',
  'flow with quoted keys and empty values': 'a: {"a": 1, \'b\': 2, c, d: }\n',
  'flow map with json values': 'a: {"x":1,"y":[true,null]}\n',
  'json root': '{"a": 1, "b": [true, null, "s"]}\n',
  'tab after colon': 'a:\t1\n',
  'tab before comment': 'a: 1\t# c\n',
  'tab indentation': 'a:\n\tb: 1\n',
  'tab in quoted': 'a: "x\ty"\nb: \'\tz\'\n',
  'tab in block scalar': 'a: |\n  \tx\n',
  'tab in plain': 'a: x\ty\n',
  'crlf manifest': benchManifest(3).replace(/\n/g, '\r\n'),
  'crlf block scalar': 'a: 1\r\nb: |\r\n  x\r\n  y\r\nc: "q\r\n  r"\r\n',
  'bare cr': 'a: 1\rb: 2\n',
  'bom': '\ufeffa: 1\n',
  'bom in a later document': 'a: 1\n---\n\ufeffb: 2\n',
  'scalar root': 'just text\n',
  'scalar root after marker': '--- 42\n',
  'quoted root': '"quoted"\n',
  'sequence root': '- a\n- b\n',
  'flow sequence root': '[a, b]\n',
  'null root': '~\n',
  'config-like': 'agent:\n  tenant: acme\n  labels: { role: db }\nsource:\n  url: https://git.example.com/x.git # the repo\n  paths: ["prod/**/*.yaml"]\n  interval: 60s\nprune: true\n',
  'document markers as values': 'a: ---\nb: ...\nc: "--- x"\nd: x ---\n',
  'keys with special characters': 'a b: 1\n"c:d": 2\n\'e#f\': 3\ng-h: 4\nurl: http://x:80/a#b\ni.j: 5\n',
  'colon in plain value': 'a: b:c\nb: b: c\n',
  'odd indentation': 'a:\n    b: 1\n    c:\n       d: 2\n',
  'trailing spaces': 'key:    value   \nk2: "v"   \n',
  'no final newline': 'a: 1',
  'unicode': 'ключ: значение\nemoji: 😀\n"é": 1\n',
  'quoted look-alikes': 'a: \'123\'\nb: "true"\nc: \'null\'\nd: "-0"\ne: ".nan"\n',
  'plain with indicators': 'a: -x\nb: ?y\nc: :z\nd: .5x\ne: x-\nf: a,b\ng: a]b\nh: "@x"\n',
  'reserved indicators': 'a: @x\nb: `y`\n',
  'backslashes in plain': 'path: C:\\x\\y\n',
  'nested flow': 'a: {b: {c: {d: [1, [2, [3]]]}}}\n',
  'sequence of flow collections': '- {a: 1}\n- [b]\n- {}\n',
  'nesting at the limit': `a: ${'['.repeat(MAX_NESTING_DEPTH - 1)}${']'.repeat(MAX_NESTING_DEPTH - 1)}\n`,
  'nesting past the limit': `a: ${'['.repeat(MAX_NESTING_DEPTH)}${']'.repeat(MAX_NESTING_DEPTH)}\nb: 1\n---\nc: 2\n`,
  'unterminated flow': 'a: [1, 2\nb: 3\n',
  'unterminated quote': 'a: "x\nb: 1\n',
  'bad indentation': 'a:\n  b: 1\n c: 2\n',
  'map after sequence': '- a\nb: c\n',
  'key on dash line': '- a\n-b: 1\n',
  'indented comment between keys': 'a: 1\n  # indented\nb: 2\nc:\n  - x\n  # c\n  - y\n',
  'comment at column 0 inside a map': 'a:\n# c\n  b: 1\n',
  'comment after key': 'a: # c\n  b: 1\nc: # c\n  - x\n',
  'comments after flow': 'a: [x]#c\nb: [x] # c\nc: {x: 1}  \n',
  'text after flow': 'a: {b: 1}c\nd: [b]: c\n',
  'flow root': '{a: 1, b: [x]}\n',
  'flow root after marker': '--- {a: 1}\n',
  'marker with trailing space': '--- \na: 1\n',
  'indented root map': '  a: 1\n  b:\n    c: 2\n',
  'indented root after marker': '---\n  a: 1\n',
  'trailing empty document': 'a: 1\n---\n',
  'block scalar then document': 'a: |\n  x\n---\nb: 1\n',
  'folded with leading blank lines': 'a: >\n\n  x\nb: |\n\n\n  y\n',
  'block scalar less indented line': 'a: |\n   x\n  y\n',
  'text after quoted': 'a: "x"y\nb: \'x\' # c\n',
  'json-like keys': '"a":1\n\'b\':2\n',
  'no space after colon': 'a:1\n',
  'space before colon': 'a  : 1\n"b" : 2\n',
  'blank lines before nested map': 'a:\n\n\n  b: 1\n',
  'dash as a value': 'a: -\nb: - x\n',
  'hash inside key': 'a#b: 1\nc #d: 2\n',
  'continuation after comment': 'a: b #c\n  d\n',
  'control characters': 'a: \u0000\nb: \u0007x\nc: \u007f\nd: "\u0085 \u2028 \ufeff"\ne: x\u00a0y\n',
  'lone surrogate': 'a: \ud800\nb: "\udc00"\n',
  'line separator in plain': 'a: x\u2028y\nb\u0085: 1\n',
  'long plain value': `a: ${'v'.repeat(2000)}\nb: "${'w'.repeat(2000)}"\n`,
  'key of 1023 chars': `${'k'.repeat(1023)}: v\n`,
  'block nesting at the limit': `${Array.from({ length: MAX_NESTING_DEPTH }, (_, i) => `${' '.repeat(i)}k:`).join('\n')} 1\n`,
  'block nesting past the limit': `${Array.from({ length: MAX_NESTING_DEPTH + 1 }, (_, i) => `${' '.repeat(i)}k:`).join('\n')} 1\n`,
  'compact nesting at the limit': `a:\n${'- '.repeat(MAX_NESTING_DEPTH - 1)}x\n`,
};

/** Seeds compared once, not mutated (large or not text). */
const FIXED: { name: string; input: string | Uint8Array }[] = [
  { name: 'over 1 MiB', input: `a: "${'x'.repeat(MAX_FILE_BYTES)}"\n` },
  { name: 'not UTF-8', input: Buffer.from([0x61, 0x3a, 0x20, 0xff, 0x0a]) },
  { name: 'bom bytes', input: Buffer.from('\ufeffa: [1]\n', 'utf8') },
];

const SEEDS: { name: string; text: string }[] = [
  ...Object.entries(PLAIN).map(([name, text]) => ({ name, text })),
  ...EXAMPLES,
  ...Object.entries(HAND).map(([name, text]) => ({ name, text })),
];

// ---------------------------------------------------------------------------------------------
// Comparison

type Path = (string | number)[];

const show = (v: unknown): string => (typeof v === 'number' && Object.is(v, -0) ? '-0' : typeof v === 'string' ? JSON.stringify(v) : typeof v === 'object' && v !== null ? (Array.isArray(v) ? 'array' : 'object') : String(v));
const showPath = (p: readonly (string | number | symbol)[]): string => `[${p.map((s) => (typeof s === 'string' ? JSON.stringify(s) : String(s))).join(', ')}]`;

/** JSON with sorted keys and undefined dropped: toEqual's view of issues and positions. */
function canon(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, (x as Record<string, unknown>)[k]])) : x)) ?? 'undefined';
}

function protoName(o: object): string {
  const p: unknown = Object.getPrototypeOf(o);
  return p === Object.prototype ? 'Object.prototype' : p === Array.prototype ? 'Array.prototype' : p === null ? 'null' : 'another prototype';
}

/**
 * First difference between the Composer's value and the fast path's, or null: types, `Object.is`
 * on primitives, prototypes, own keys in order with their descriptors, and the same sharing of
 * objects (an alias, or an object wrongly reused).
 */
function diffValue(want: unknown, got: unknown, at: (string | number | symbol)[], pairs: Map<object, object>, back: Map<object, object>): string | null {
  const where = showPath(at);
  if (typeof want !== typeof got || (want === null) !== (got === null)) return `value at ${where}: ${show(want)} vs ${show(got)}`;
  if (want === null || typeof want !== 'object') return Object.is(want, got) ? null : `value at ${where}: ${show(want)} vs ${show(got)}`;
  const w = want;
  const g = got as object;
  if (pairs.has(w) || back.has(g)) return pairs.get(w) === g && back.get(g) === w ? null : `value at ${where}: objects shared differently`;
  pairs.set(w, g);
  back.set(g, w);
  if (Object.getPrototypeOf(w) !== Object.getPrototypeOf(g)) return `value at ${where}: prototype ${protoName(w)} vs ${protoName(g)}`;
  if (Array.isArray(w) !== Array.isArray(g)) return `value at ${where}: ${show(w)} vs ${show(g)}`;
  if (Object.isExtensible(w) !== Object.isExtensible(g)) return `value at ${where}: extensible ${Object.isExtensible(w)} vs ${Object.isExtensible(g)}`;
  const wk = Reflect.ownKeys(w);
  const gk = Reflect.ownKeys(g);
  if (wk.length !== gk.length || wk.some((k, i) => k !== gk[i])) return `keys at ${where}: ${showPath(wk)} vs ${showPath(gk)}`;
  for (const k of wk) {
    const wd = Object.getOwnPropertyDescriptor(w, k)!;
    const gd = Object.getOwnPropertyDescriptor(g, k)!;
    if (wd.enumerable !== gd.enumerable || wd.writable !== gd.writable || wd.configurable !== gd.configurable || 'get' in wd !== 'get' in gd || 'set' in wd !== 'set' in gd) {
      return `property ${showPath([...at, k])}: descriptor differs`;
    }
    const d = diffValue(wd.value, gd.value, [...at, k], pairs, back);
    if (d) return d;
  }
  return null;
}

const MAX_PATHS = 4000;

/** Paths to every node of `value` (depth-first, capped), and missing paths around them. */
function locatePaths(value: unknown): Path[] {
  const out: Path[] = [[]];
  const walk = (v: unknown, path: Path): void => {
    if (out.length > MAX_PATHS || path.length > MAX_NESTING_DEPTH + 2) return;
    if (Array.isArray(v)) {
      v.forEach((item, i) => {
        out.push([...path, i]);
        walk(item, [...path, i]);
      });
      out.push([...path, v.length], [...path, -1], [...path, '0'], [...path, 'missing', 0]);
    } else if (v !== null && typeof v === 'object') {
      for (const k of Object.keys(v)) {
        out.push([...path, k]);
        if (/^-?\d+$/.test(k) && String(Number(k)) === k) out.push([...path, Number(k)]);
        walk(Object.getOwnPropertyDescriptor(v, k)!.value, [...path, k]);
      }
      out.push([...path, 'zz-missing'], [...path, 'zz-missing', 'deeper'], [...path, 0]);
    } else if (path.length > 0) {
      out.push([...path, 'x'], [...path, 0]);
    }
  };
  walk(value, []);
  return out;
}

type Outcome = { ok: true; res: ParsedFile } | { ok: false; error: string };

function run(input: string | Uint8Array, opts: ParseOptions | undefined): Outcome {
  try {
    return { ok: true, res: opts === undefined ? parseManifestFile('f.yaml', input) : parseManifestFile('f.yaml', input, opts) };
  } catch (err) {
    return { ok: false, error: String(err) };
  }
}

function locateSafe(doc: { locate(path: readonly (string | number)[], key?: boolean): Position }, path: Path, key: boolean): string {
  try {
    return canon(doc.locate(path, key));
  } catch (err) {
    return `threw ${String(err)}`;
  }
}

/** First difference between the Composer's result and the fast path's for one input, or null. */
function compare(input: string | Uint8Array, fast: ParseOptions | undefined, ref: ParseOptions, between?: () => void): string | null {
  const want = run(input, ref);
  const got = run(input, fast);
  between?.();
  if (!want.ok || !got.ok) return want.ok === got.ok && !want.ok && !got.ok && want.error === got.error ? null : `throws: ${want.ok ? 'no' : want.error} vs ${got.ok ? 'no' : got.error}`;
  const w = want.res;
  const g = got.res;
  if (canon(w.issues) !== canon(g.issues)) return `issues: ${canon(w.issues)} vs ${canon(g.issues)}`;
  if (w.failed !== g.failed || w.file !== g.file) return `failed/file: ${w.failed} ${w.file} vs ${g.failed} ${g.file}`;
  if (w.documents.length !== g.documents.length) return `documents: ${w.documents.length} vs ${g.documents.length}`;
  for (let d = 0; d < w.documents.length; d++) {
    const wd = w.documents[d]!;
    const gd = g.documents[d]!;
    for (const f of ['file', 'index', 'line', 'col', 'invalid'] as const) {
      if (!Object.is(wd[f], gd[f])) return `document ${d} ${f}: ${show(wd[f])} vs ${show(gd[f])}`;
    }
    let gv: unknown;
    try {
      gv = gd.value;
    } catch (err) {
      return `document ${d} value threw ${String(err)}`;
    }
    const diff = diffValue(wd.value, gv, [], new Map(), new Map());
    if (diff) return `document ${d} ${diff}`;
    for (const path of locatePaths(wd.value)) {
      for (const key of [false, true]) {
        const a = locateSafe(wd, path, key);
        const b = locateSafe(gd, path, key);
        if (a !== b) return `document ${d} locate(${showPath(path)}, ${key}): ${a} vs ${b}`;
      }
    }
  }
  return null;
}

/** The kind of a difference, kept while minimising so the shrinker does not wander to another. */
const kindOf = (diff: string): string => diff.replace(/^document \d+ /, '').split(/[ :([]/)[0]!;

/** Greedy shrinking: drop lines, then runs of 1–3 characters, while the same kind of difference remains. */
function minimise(text: string, differs: (t: string) => string | null): { text: string; diff: string } {
  const kind = kindOf(differs(text)!);
  let best = text;
  let diff = differs(text)!;
  let budget = 4000;
  const attempt = (t: string): boolean => {
    if (budget-- <= 0) return false;
    const d = differs(t);
    if (d === null || kindOf(d) !== kind) return false;
    best = t;
    diff = d;
    return true;
  };
  for (let changed = true; changed && budget > 0;) {
    changed = false;
    for (let i = best.split('\n').length - 1; i >= 0; i--) {
      const ls = best.split('\n');
      if (i < ls.length && attempt([...ls.slice(0, i), ...ls.slice(i + 1)].join('\n'))) changed = true;
    }
    for (const n of [1, 2, 3]) {
      for (let i = best.length - n; i >= 0; i--) {
        if (i + n <= best.length && attempt(best.slice(0, i) + best.slice(i + n))) changed = true;
      }
    }
  }
  return { text: best, diff };
}

// ---------------------------------------------------------------------------------------------
// Mutation

const ALPHABET = [' ', '\n', ':', '-', '#', '"', "'", '[', ']', '{', '}', ',', '|', '>', '&', '*', '!', '?', '%', '@', '`', '\t', '\\', '.', '0', 'a'];

const int = (rand: () => number, lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

type Operator = (text: string, rand: () => number) => string;

const onLines = (f: (lines: string[], rand: () => number) => void): Operator => (text, rand) => {
  const lines = text.split('\n');
  f(lines, rand);
  return lines.join('\n');
};

const OPERATORS: Record<string, Operator> = {
  insert: (t, r) => {
    const i = int(r, 0, t.length);
    return t.slice(0, i) + pick(r, ALPHABET) + t.slice(i);
  },
  delete: (t, r) => {
    const i = int(r, 0, Math.max(0, t.length - 1));
    return t.slice(0, i) + t.slice(i + 1);
  },
  replace: (t, r) => {
    const i = int(r, 0, Math.max(0, t.length - 1));
    return t.slice(0, i) + pick(r, ALPHABET) + t.slice(i + 1);
  },
  duplicateLine: onLines((ls, r) => {
    const i = int(r, 0, ls.length - 1);
    ls.splice(i, 0, ls[i]!);
  }),
  deleteLine: onLines((ls, r) => {
    ls.splice(int(r, 0, ls.length - 1), 1);
  }),
  swapLines: onLines((ls, r) => {
    const i = int(r, 0, ls.length - 1);
    const j = int(r, 0, ls.length - 1);
    [ls[i], ls[j]] = [ls[j]!, ls[i]!];
  }),
  indent: onLines((ls, r) => {
    const i = int(r, 0, ls.length - 1);
    ls[i] = ' '.repeat(int(r, 1, 3)) + ls[i]!;
  }),
  dedent: onLines((ls, r) => {
    const i = int(r, 0, ls.length - 1);
    ls[i] = ls[i]!.replace(new RegExp(`^ {1,${int(r, 1, 3)}}`), '');
  }),
  joinLines: onLines((ls, r) => {
    if (ls.length < 2) return;
    const i = int(r, 0, ls.length - 2);
    ls.splice(i, 2, ls[i]! + (r() < 0.5 ? ' ' : '') + ls[i + 1]!);
  }),
  /** A line of another seed, so features of one seed meet the structure of another. */
  spliceLine: onLines((ls, r) => {
    const other = pick(r, SEEDS).text.split('\n');
    ls.splice(int(r, 0, ls.length), 0, pick(r, other));
  }),
};
const OPERATOR_NAMES = Object.keys(OPERATORS);

function mutate(text: string, rand: () => number): string {
  let t = text;
  for (let n = int(rand, 1, 3); n > 0; n--) t = OPERATORS[pick(rand, OPERATOR_NAMES)]!(t, rand);
  return t;
}

// ---------------------------------------------------------------------------------------------
// Generation: random files in and around the fast path's subset, laid out in many ways

const WORDS = ['x', 'a b', 'production', 'job-1', '/opt/run.sh', '0 2 * * *', '30m', 'a:b', 'http://x:80/a#b', '-x', '.5x', 'x-', 'é', '${SECRET}', 'x ---', 'a\\b'];
const CORE = ['0', '-0', '+3', '007', '0o17', '0x1F', '0x', '-0x1', '1.5', '1e3', '1E-3', '.inf', '-.Inf', '+.INF', '.NaN', '-.nan', '0.0', '-0.0', '.5', '1.', 'true', 'False', 'TRUE', 'tRue', 'null', 'Null', 'NULL', '~', 'yes', 'on', '1_000', '12345678901234567890', '1e400', '0b1'];
const DOUBLE = ['"x"', '""', '"a\\tb"', '"\\u00e9"', '"\\x41"', '"q\\"r"', '"\\\\"', '"--id=1"', '"${SECRET}"', '"line\\nnext"', '"a # b"', '"\\/"', '"\\ "', '"1"', '"true"', '"\\U0001F600"'];
const SINGLE = ["'x'", "''", "'it''s'", "'a # b'", "'\\n'", "'0'", "' x '"];
const KEYS = ['a', 'b', 'c', 'name', 'spec', 'env', 'a b', 'k-1', 'x.y', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', '<<', '"a"', "'b'", '"q r"', '"1"', '"x\\ty"', "'it''s'", 'é', '-k', '.k'];
const RARE_KEYS = ['__proto__', '"__proto__"', '1', 'true', '~', 'null', '0x1', '-0', ''];
const BLOCK_HEADERS = ['|', '>', '|-', '>-', '|+', '>+', '|2', '>1', '|-2', '>+1'];

/** Random YAML text from a small grammar; `ind` is the indentation of the current block. */
class Generator {
  constructor(private readonly rand: () => number) {}

  private chance(p: number): boolean {
    return this.rand() < p;
  }

  private comment(): string {
    return this.chance(0.1) ? ` #${pick(this.rand, ['', ' c', '#', ' a: b'])}` : '';
  }

  /** A key, distinct from `used` (as resolved, roughly) but for a rare duplicate. */
  private key(used: Set<string>): string {
    for (;;) {
      const k = this.chance(0.01) ? pick(this.rand, RARE_KEYS) : pick(this.rand, KEYS);
      const name = k.replace(/^(["'])(.*)\1$/, '$2');
      if (!used.has(name) || this.chance(0.02)) {
        used.add(name);
        return k;
      }
    }
  }

  /** A scalar on the line of its key or dash; `cont` indents its continuation lines. */
  scalar(cont: string, inFlow: boolean): string {
    const r = this.rand();
    if (r < 0.3) return pick(this.rand, WORDS);
    if (r < 0.55) return pick(this.rand, CORE);
    if (r < 0.7) return pick(this.rand, DOUBLE);
    if (r < 0.8) return pick(this.rand, SINGLE);
    if (r < 0.88 || inFlow) {
      const sep = `\n${this.chance(0.3) ? '\n' : ''}${cont}`;
      return pick(this.rand, [`one${sep}two`, `"one${sep}two"`, `'one${sep}two'`, `"one \\${sep}two"`]);
    }
    const lines = Array.from({ length: int(this.rand, 0, 3) }, () => (this.chance(0.2) ? '' : `${cont}${this.chance(0.2) ? ' '.repeat(int(this.rand, 1, 3)) : ''}${pick(this.rand, ['text', 'a: b', '# not a comment', '- x', 'x  y'])}`));
    return [pick(this.rand, BLOCK_HEADERS) + this.comment(), ...lines].join('\n') + (this.chance(0.3) ? '\n' : '');
  }

  flow(depth: number, cont: string): string {
    const isMap = this.chance(0.5);
    const n = depth > 2 ? 0 : int(this.rand, 0, 3);
    const items: string[] = [];
    const used = new Set<string>();
    for (let i = 0; i < n; i++) {
      const value = this.chance(0.25) ? this.flow(depth + 1, cont) : this.scalar(cont, true);
      items.push(isMap ? `${this.key(used)}:${this.chance(0.9) ? ' ' : ''}${this.chance(0.05) ? '' : value}` : value);
    }
    const sep = (): string => pick(this.rand, [', ', ', ', ',', ' , ', `,\n${cont}`, `, # c\n${cont}`]);
    let body = items.map((it, i) => (i === 0 ? it : sep() + it)).join('');
    if (n > 0 && this.chance(0.1)) body += ',';
    const pad = this.chance(0.5) ? ' ' : this.chance(0.2) ? `\n${cont}` : '';
    return isMap ? `{${pad}${body}${pad}}` : `[${pad}${body}${pad}]`;
  }

  /** The lines of a block mapping indented by `ind`. */
  map(depth: number, ind: string): string[] {
    const out: string[] = [];
    const used = new Set<string>();
    const n = int(this.rand, 1, 4);
    for (let i = 0; i < n; i++) {
      if (i > 0 && this.chance(0.1)) out.push(this.chance(0.5) ? '' : `${ind}${this.chance(0.2) ? ' ' : ''}# c`);
      const k = this.key(used);
      const r = depth > 2 ? 0 : this.rand();
      if (r < 0.55) out.push(`${ind}${k}: ${this.scalar(`${ind}  `, false)}${this.comment()}`);
      else if (r < 0.62) out.push(`${ind}${k}:${this.comment()}`);
      else if (r < 0.75) out.push(`${ind}${k}: ${this.flow(depth, `${ind}  `)}${this.comment()}`);
      else if (r < 0.88) out.push(`${ind}${k}:${this.comment()}`, ...this.map(depth + 1, ind + ' '.repeat(int(this.rand, 1, 4))));
      else out.push(`${ind}${k}:${this.comment()}`, ...this.seq(depth + 1, this.chance(0.3) ? ind : ind + ' '.repeat(int(this.rand, 1, 3))));
    }
    if (this.chance(0.1)) out.push(`${ind}# end`);
    return out;
  }

  /** The lines of a block sequence indented by `ind`. */
  seq(depth: number, ind: string): string[] {
    const out: string[] = [];
    const n = int(this.rand, 1, 3);
    for (let i = 0; i < n; i++) {
      const r = depth > 2 ? 0 : this.rand();
      const inner = `${ind}  `;
      if (r < 0.45) out.push(`${ind}- ${this.scalar(inner, false)}${this.comment()}`);
      else if (r < 0.5) out.push(`${ind}-`);
      else if (r < 0.6) out.push(`${ind}- ${this.flow(depth, inner)}`);
      else if (r < 0.8 || r >= 0.9) {
        // A mapping (or sequence) starting on the dash's line.
        const lines = r < 0.8 ? this.map(depth + 1, inner) : this.seq(depth + 1, inner);
        if (lines[0]!.startsWith(inner)) lines[0] = `${ind}- ${lines[0]!.slice(inner.length)}`;
        else lines.unshift(`${ind}-`);
        out.push(...lines);
      } else {
        out.push(`${ind}-${this.comment()}`, ...this.map(depth + 1, inner));
      }
    }
    return out;
  }

  file(): string {
    const docs = Array.from({ length: this.chance(0.7) ? 1 : int(this.rand, 2, 3) }, () => this.map(0, '').join('\n'));
    let text = (this.chance(0.2) ? pick(this.rand, ['---\n', '# top\n', '--- # c\n', '\n']) : '') + docs.join(pick(this.rand, ['\n---\n', '\n--- # c\n', '\n\n---\n']));
    if (this.chance(0.9)) text += '\n';
    if (this.chance(0.1)) text += '# trailing\n';
    return text;
  }
}

// ---------------------------------------------------------------------------------------------

const REF: ParseOptions = { fastPath: false };
const REF_CONFIG: ParseOptions = { kind: 'config', fastPath: false };

/** Mismatches found so far: the first few, minimised and keyed by their minimised text. */
interface Findings { failures: Map<string, string>; mismatches: number }

const MAX_REPORTED = 20;
/** Mismatching cases past which no more are minimised (each costs up to a few thousand parses). */
const MAX_MINIMISED = 100;

/** Compares one text as a manifest (and as a config file when `config`), minimising a mismatch. */
function check(found: Findings, text: string, asBytes: boolean, config: boolean, variant: number): void {
  const runs: [ParseOptions | undefined, ParseOptions][] = [[[undefined, {}, { fastPath: true }][variant % 3], REF]];
  if (config) runs.push([{ kind: 'config' }, REF_CONFIG]);
  for (const [fast, ref] of runs) {
    const differs = (t: string): string | null => compare(asBytes ? Buffer.from(t, 'utf8') : t, fast, ref);
    if (differs(text) === null) continue;
    if (++found.mismatches > MAX_MINIMISED || found.failures.size >= MAX_REPORTED) return;
    const small = minimise(text, differs);
    const key = `${kindOf(small.diff)} ${small.text}`;
    if (!found.failures.has(key)) found.failures.set(key, `fast path ${canon(fast ?? null)} differs from the Composer${asBytes ? ' (bytes)' : ''}: ${small.diff}\n  text: ${JSON.stringify(small.text)}\n  original: ${JSON.stringify(text)}`);
    return;
  }
}

const report = (found: Findings): string => [...found.failures.values()].join('\n\n');

describe('manifest/parse: fast path', () => {
  // yaml warns for every mapping key that is a collection (`? [a, b]`), thousands of times over
  // the mutants: through process.emitWarning in its Node build, console.warn in its bundled one.
  // Other warnings still show.
  const noise = (message: unknown): boolean => String(message).startsWith('Keys with collection values');
  const { emitWarning } = process;
  const { warn } = console;
  beforeAll(() => {
    process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
      if (!noise(warning)) (emitWarning as (...a: unknown[]) => void).call(process, warning, ...rest);
    }) as typeof process.emitWarning;
    console.warn = (...args: unknown[]) => {
      if (!noise(args[0])) warn(...args);
    };
  });
  afterAll(() => {
    process.emitWarning = emitWarning;
    console.warn = warn;
  });

  it('takes the plain seeds: the bench manifest and the example files', () => {
    const plain = [...Object.entries(PLAIN).map(([name, text]) => ({ name, text })), ...EXAMPLES];

    const refused = plain.filter((s) => !acceptsFast(s.text)).map((s) => s.name);

    expect(refused).toEqual([]);
  });

  it.each([
    { name: 'an anchor and alias', text: 'a: &x 1\nb: *x\n' },
    { name: 'a tag', text: 'a: !!str 1\n' },
    { name: 'a custom tag', text: 'a: !custom x\n' },
    { name: 'a tab', text: 'a:\t1\n' },
    { name: 'duplicate keys', text: 'a: 1\n"a": 2\n' },
    { name: 'a directive', text: '%YAML 1.2\n---\na: 1\n' },
    { name: 'an explicit key', text: '? k\n: v\n' },
  ])('falls back to the Composer for $name', ({ text }) => {
    const fast = acceptsFast(text);

    expect(fast).toBe(false);
  });

  it('answers as the Composer for every seed, as a manifest and as a config file, as text and as bytes', () => {
    const found: Findings = { failures: new Map(), mismatches: 0 };

    for (const [i, seed] of SEEDS.entries()) {
      check(found, seed.text, false, true, i);
      check(found, seed.text, true, false, i);
    }
    for (const f of FIXED) {
      const diff = compare(f.input, undefined, REF) ?? compare(f.input, { kind: 'config' }, REF_CONFIG);
      if (diff) found.failures.set(f.name, `${f.name}: ${diff}`);
    }

    expect(report(found)).toBe('');
  });

  it('locates as the Composer after the yaml package was released between parsing and locating', () => {
    const found: Findings = { failures: new Map(), mismatches: 0 };

    // Block scalars and empty values are located by composing the file on first use.
    for (const seed of SEEDS.filter((s) => /[|>]|[:-]$/m.test(s.text) && acceptsFast(s.text))) {
      const diff = compare(seed.text, undefined, REF, releaseYaml);
      if (diff) found.failures.set(seed.name, `${seed.name}: ${diff}\n  text: ${JSON.stringify(seed.text)}`);
    }

    expect(report(found)).toBe('');
  });

  it(`answers as the Composer for ${CASES} mutants (seed ${SEED})`, { timeout: Math.max(120_000, CASES * 20) }, () => {
    const rand = prng(SEED);
    // Half the mutants come from seeds the fast path takes, so most of its code sees mutants.
    const fastSeeds = SEEDS.filter((s) => acceptsFast(s.text));
    const found: Findings = { failures: new Map(), mismatches: 0 };
    let accepted = 0;
    let acceptedWithErrors = 0;
    const started = performance.now();

    for (let i = 0; i < CASES; i++) {
      const text = mutate(pick(rand, rand() < 0.5 && fastSeeds.length > 0 ? fastSeeds : SEEDS).text, rand);
      if (acceptsFast(text)) {
        accepted++;
        if (parseManifestFile('f.yaml', text, REF).issues.some((x) => x.severity === 'error')) acceptedWithErrors++;
      }
      check(found, text, i % 2 === 1, i % 4 === 0, i);
    }
    const ms = performance.now() - started;
    console.log(`parse-fast fuzz: seed ${SEED}, ${CASES} mutants in ${(ms / 1000).toFixed(1)} s; fast path took ${accepted} (${((100 * accepted) / CASES).toFixed(1)}%), ${acceptedWithErrors} of them with errors; ${found.mismatches} mismatching cases, ${found.failures.size} reported`);

    expect(report(found)).toBe('');
    expect(accepted / CASES).toBeGreaterThanOrEqual(0.2);
  });

  it(`answers as the Composer for ${GENERATED} generated files, half of them mutated (seed ${SEED})`, { timeout: Math.max(120_000, GENERATED * 20) }, () => {
    const rand = prng(SEED ^ 0x5eed);
    const gen = new Generator(rand);
    const found: Findings = { failures: new Map(), mismatches: 0 };
    let accepted = 0;
    const started = performance.now();

    for (let i = 0; i < GENERATED; i++) {
      const generated = gen.file();
      const text = i % 2 === 0 ? generated : mutate(generated, rand);
      if (acceptsFast(text)) accepted++;
      check(found, text, i % 3 === 1, i % 4 === 0, i);
    }
    const ms = performance.now() - started;
    console.log(`parse-fast fuzz: seed ${SEED}, ${GENERATED} generated files in ${(ms / 1000).toFixed(1)} s; fast path took ${accepted} (${((100 * accepted) / GENERATED).toFixed(1)}%); ${found.mismatches} mismatching cases, ${found.failures.size} reported`);

    expect(report(found)).toBe('');
    expect(accepted / GENERATED).toBeGreaterThanOrEqual(0.2);
  });
});
