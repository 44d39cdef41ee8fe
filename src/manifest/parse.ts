/**
 * Manifest loading: bytes of one file → YAML 1.2 core documents, each with its position
 * and a locator that maps a field path back to line:col. A file in the subset of YAML that
 * ./tokens.ts reads goes from yaml's parser tokens straight to data, any other through yaml's
 * Composer. Pure, apart from loading the yaml package on first use.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as Yaml from 'yaml';
import type { CST, Document, Node } from 'yaml';
import { findKey, locateNode, locateToken } from './locate.js';
import { MAX_NESTING_DEPTH, mayNestPastLimit, nestingPastLimit } from './nesting.js';
import { fastDocuments, yamlCore, type FastDocument, type YamlCore } from './tokens.js';
import type { Issue } from './types.js';

let loaded: typeof Yaml | undefined;

/**
 * yaml's own build for runtimes without Node's `process` (its package's "default" export
 * condition), bundled into one file by `npm run build`. It is the Node build's code less two
 * debug hooks, one of which reads `process.env.LOG_TOKENS` for every token the parser meets: a
 * lookup in C++ that made up ~40% of yaml's parse time for 10,000 manifests (bench/README.md).
 * Otherwise it differs only where a manifest has no use for it: yaml's warnings go to
 * `console.warn` rather than `process.emitWarning`, and a `!!binary` value is decoded with
 * `atob` (a Uint8Array, and bad base64 is an error) rather than by Buffer.
 * The path is relative to the package root, so that dist/ and the tests run from src/ both find
 * the build; without a build (`vitest` before `npm run build`), the Node build is used.
 */
export const BUNDLED_YAML = fileURLToPath(new URL('../../dist/vendor/yaml.cjs', import.meta.url));

/**
 * The yaml package, required on first use. Required (not imported) so that {@link releaseYaml}
 * can let its code go; each time through a require of its own, whose module would otherwise
 * keep it as a child for good.
 */
function yaml(): typeof Yaml {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  return (loaded = (existsSync(BUNDLED_YAML) ? require(BUNDLED_YAML) : require('yaml')) as typeof Yaml);
}

/**
 * Lets the yaml package's code (~0.9 MiB of heap) be collected once a process is done parsing
 * for now; `loadManifests` calls it, as the daemon parses only when a manifest changes and idles
 * in between. The next parse requires it again (~10 ms); releasing between two parses of one
 * run would hold two copies until the next GC. Documents parsed before stay usable (yaml tells
 * node types by registered symbols, not by class).
 */
export function releaseYaml(): void {
  if (!loaded) return;
  loaded = undefined;
  yamlCoreCache = undefined;
  const require = createRequire(import.meta.url);
  delete require.cache[BUNDLED_YAML];
  const root = require.resolve('yaml').replace(/dist[/\\]index\.js$/, '');
  for (const id of Object.keys(require.cache)) if (id.startsWith(root)) delete require.cache[id];
}

/** Largest manifest file accepted, in bytes. */
export const MAX_FILE_BYTES = 1024 * 1024;
/** Largest number of alias expansions in one document (alias bombs). */
export const MAX_ALIAS_COUNT = 100;
export { MAX_NESTING_DEPTH } from './nesting.js';

/** A 1-based line and column; `quoted` is set when the value is a quoted scalar (text starts one column later). */
export interface Position { line: number; col: number; quoted?: boolean }

/** RawDocument is one parsed, non-empty YAML document of a manifest file. */
export interface RawDocument {
  file: string;
  /** 0-based index among the file's documents, counting empty ones. */
  index: number;
  line: number;
  col: number;
  /** The document as plain data. */
  value: unknown;
  /** True when the parser already reported an error for this document (it is still validated). */
  invalid: boolean;
  /** Position of a field (`['spec','schedule']`), or of its key when `key` is set. */
  locate(path: readonly (string | number)[], key?: boolean): Position;
}

/** Result of loading one file: its documents and the problems that stopped any of them. */
export interface ParsedFile {
  file: string;
  documents: RawDocument[];
  issues: Issue[];
  /** Number of documents with parse errors (some of them still produce a RawDocument). */
  failed: number;
}

/** What a file holds, for messages: a manifest (the default) or the agent's config file. */
export interface ParseOptions {
  kind?: 'manifest' | 'config';
  /**
   * False reads every file through yaml's Composer; by default a file in the subset that
   * `tokens.ts` describes goes from parser tokens straight to data, with the same result.
   */
  fastPath?: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function fileIssue(file: string, rule: string, message: string, pos: Position = { line: 1, col: 1 }): Issue {
  return { file, line: pos.line, col: pos.col, path: '', rule, severity: 'error', message };
}

/**
 * Parses the bytes of one manifest file (or, with `kind: 'config'`, the config file, which shares
 * the YAML rules). Never throws: every problem becomes an Issue with rule `yaml-*` and the
 * position of the fault.
 */
export function parseManifestFile(file: string, bytes: Uint8Array | string, opts: ParseOptions = {}): ParsedFile {
  const config = opts.kind === 'config';
  const out: ParsedFile = { file, documents: [], issues: [], failed: 0 };
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.byteLength;
  if (size > MAX_FILE_BYTES) {
    out.issues.push(fileIssue(file, 'yaml-too-large', `file is ${size} bytes; ${config ? 'config files' : 'manifests'} are limited to ${MAX_FILE_BYTES} bytes (1 MiB)`));
    out.failed = 1;
    return out;
  }
  let text: string;
  try {
    text = typeof bytes === 'string' ? bytes : utf8.decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes as Uint8Array);
    out.issues.push(fileIssue(file, 'yaml-encoding', `file is not valid UTF-8 (first bad byte at offset ${at.offset})`, at.pos));
    out.failed = 1;
    return out;
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  const lc = new (yaml().LineCounter)();
  const pos = (offset: number): Position => {
    const p = lc.linePos(offset);
    return { line: p.line, col: p.col };
  };
  let docs: Document.Parsed[];
  /** Documents nested past the limit (by index) and the offset of their first collection past it. */
  let tooDeep: Map<number, number>;
  let tokens: CST.Token[];
  try {
    ({ tokens, tooDeep } = tokenize(text, lc));
    const fast = opts.fastPath !== false && tooDeep.size === 0 ? fastDocuments(core(), tokens, text) : null;
    if (fast) {
      fastResult(out, fast, tokens, pos);
      return out;
    }
    docs = compose(tokens);
  } catch (err) {
    // The parser itself recurses when it closes many levels at once: only deep nesting exhausts the stack.
    const deep = err instanceof RangeError;
    const message = deep ? `${config ? 'the config file' : 'the file'} is nested too deeply to parse; at most ${MAX_NESTING_DEPTH} levels of nested mappings and sequences are accepted` : `cannot parse YAML: ${(err as Error).message}`;
    out.issues.push(fileIssue(file, deep ? 'yaml-too-deep' : 'yaml-syntax', message));
    out.failed = 1;
    return out;
  }

  docs.forEach((doc, index) => {
    const deep = tooDeep.get(index);
    if (deep !== undefined) {
      out.failed++;
      const what = config ? 'the config file' : `document ${index + 1}`;
      out.issues.push(fileIssue(file, 'yaml-too-deep', `${what} is nested more than ${MAX_NESTING_DEPTH} levels deep; at most ${MAX_NESTING_DEPTH} levels of nested mappings and sequences are accepted`, pos(deep)));
      return;
    }
    for (const e of doc.errors) {
      const issue = e.code === 'DUPLICATE_KEY' ? duplicateKeyIssue(file, doc, e.pos[0], pos)
        : (e.code === 'MISSING_CHAR' && /closing ["']quote/.test(e.message) && unclosedQuoteIssue(file, tokens, e.pos[0], pos)) || fileIssue(file, 'yaml-syntax', cleanYamlMessage(e.message), pos(e.pos[0]));
      out.issues.push(issue);
    }
    for (const w of doc.warnings) {
      out.issues.push({ ...fileIssue(file, 'yaml-warning', cleanYamlMessage(w.message), pos(w.pos[0])), severity: 'warning' });
    }
    // A duplicate key still leaves a usable tree, so the rest of the document is validated too
    // and lint reports every problem at once; the document stays invalid either way.
    const duplicatesOnly = doc.errors.every((e) => e.code === 'DUPLICATE_KEY');
    if (!duplicatesOnly) {
      out.failed++;
      return;
    }
    const contents = doc.contents;
    if (contents === null || (yaml().isScalar(contents) && (contents.value === null || contents.value === undefined))) return;
    const start = pos(contents.range?.[0] ?? 0);
    if (!yaml().isMap(contents)) {
      out.failed++;
      const got = yaml().isSeq(contents) ? 'sequence' : 'scalar';
      const message = config ? `the config file is a ${got}; it must be a mapping of settings` : `document ${index + 1} is a ${got}; a manifest must be a mapping`;
      out.issues.push(fileIssue(file, 'yaml-not-mapping', message, start));
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      out.failed++;
      const msg = (err as Error).message;
      const rule = /alias/i.test(msg) ? 'yaml-alias-limit' : 'yaml-syntax';
      out.issues.push(fileIssue(file, rule, rule === 'yaml-alias-limit' ? `too many alias expansions (limit ${MAX_ALIAS_COUNT}): ${msg}` : msg, start));
      return;
    }
    if (doc.errors.length > 0) out.failed++;
    out.documents.push({
      file, index, line: start.line, col: start.col, value, invalid: doc.errors.length > 0,
      locate: (path, key = false) => locateNode(yaml(), contents, path, key, pos) ?? start,
    });
  });
  return out;
}

/** The Composer's options: YAML 1.2, core schema, unique keys, and the spec's errors kept as errors. */
const COMPOSER_OPTIONS = { version: '1.2', schema: 'core', uniqueKeys: true, strict: true } as const;

let yamlCoreCache: YamlCore | undefined;

function core(): YamlCore {
  return (yamlCoreCache ??= yamlCore(yaml(), COMPOSER_OPTIONS));
}

/**
 * yaml's parser tokens of a file, with the documents nested past the limit found (by index, with
 * the offset of their first collection past it) and their contents dropped, so that the composer
 * never recurses into them.
 */
function tokenize(text: string, lc?: Yaml.LineCounter): { tokens: CST.Token[]; tooDeep: Map<number, number> } {
  const tokens = Array.from(new (yaml().Parser)(lc?.addNewLine).parse(text));
  const tooDeep = new Map<number, number>();
  let index = 0;
  for (let t = 0; t < tokens.length; t++) {
    const token = tokens[t]!;
    if (token.type !== 'document') continue;
    const end = t + 1 < tokens.length ? tokens[t + 1]!.offset : text.length;
    const at = mayNestPastLimit(text, token.offset, end) ? nestingPastLimit(token.value) : null;
    if (at !== null) {
      tooDeep.set(index, at);
      delete token.value;
    }
    index++;
  }
  return { tokens, tooDeep };
}

function compose(tokens: CST.Token[]): Document.Parsed[] {
  return Array.from(new (yaml().Composer)(COMPOSER_OPTIONS).compose(tokens)) as Document.Parsed[];
}

/**
 * Fills `out` from the fast path's documents. Positions come from the tokens; the few that need
 * the Composer's tree (an empty value, a block scalar) compose the same tokens on first use (the
 * Composer reads them and changes none).
 */
function fastResult(out: ParsedFile, fast: FastDocument[], tokens: CST.Token[], pos: (offset: number) => Position): void {
  let composed: Document.Parsed[] | undefined;
  const composedRoot = (index: number): Node => (composed ??= compose(tokens))[index]!.contents!;
  fast.forEach((doc, index) => {
    if (doc.empty) return;
    const start = pos(doc.root.offset);
    out.documents.push({
      file: out.file, index, line: start.line, col: start.col, value: doc.value, invalid: false,
      locate: (path, key = false) => locateToken(core(), doc.root, path, key, pos) ?? locateNode(yaml(), composedRoot(index), path, key, pos) ?? start,
    });
  });
}

/**
 * True when {@link parseManifestFile} reads `text` by the fast path, from tokens to data without
 * yaml's Composer (for the tests that hold the two paths to the same answers).
 */
export function acceptsFast(text: string): boolean {
  const { tokens, tooDeep } = tokenize(text);
  return tooDeep.size === 0 && fastDocuments(core(), tokens, text) !== null;
}

/**
 * Rule `yaml-duplicate-key` at the second key: yaml's own message ("Map keys must be unique")
 * names neither the key nor where it is, so the issue names the field, its mapping and the
 * first key's place.
 */
function duplicateKeyIssue(file: string, doc: Document.Parsed, offset: number, pos: (offset: number) => Position): Issue {
  const at = pos(offset);
  const found = doc.contents ? findKey(yaml(), doc.contents, offset) : undefined;
  if (!found) return fileIssue(file, 'yaml-duplicate-key', 'Map keys must be unique', at);
  const key = found.path[found.path.length - 1]!;
  const parent = found.path.slice(0, -1).join('.');
  const first = found.firstOffset === undefined ? undefined : pos(found.firstOffset);
  const message = `duplicate key ${JSON.stringify(String(key))} ${parent ? `in ${parent}` : 'at the top level'}${first ? ` (first at ${first.line}:${first.col})` : ''}`;
  return { ...fileIssue(file, 'yaml-duplicate-key', message, at), path: found.path.join('.') };
}

/**
 * Rule `yaml-syntax` for a quoted string that is never closed, at its opening quote: yaml reports
 * where the string ran out (often past the last line), which names neither the field nor the line
 * to fix. Undefined when no quoted scalar runs up to `offset`.
 */
function unclosedQuoteIssue(file: string, tokens: readonly CST.Token[], offset: number, pos: (offset: number) => Position): Issue | undefined {
  for (const t of tokens) {
    if (t.type !== 'document' || !t.value) continue;
    const found = spanningQuote(t.value, offset, []);
    if (!found) continue;
    const field = found.path.join('.');
    const quote = found.token.type === 'double-quoted-scalar' ? '"' : "'";
    const end = pos(offset);
    const message = `unclosed ${quote} quote${field ? ` in the value of ${field}` : ''}: the string starting here runs to ${end.line}:${end.col} without its closing ${quote}`;
    return { ...fileIssue(file, 'yaml-syntax', message, pos(found.token.offset)), path: field };
  }
  return undefined;
}

/** The quoted scalar token that starts before `offset` and runs up to it, with its field path. */
function spanningQuote(token: CST.Token, offset: number, path: (string | number)[]): { token: CST.FlowScalar; path: (string | number)[] } | undefined {
  if (token.type === 'double-quoted-scalar' || token.type === 'single-quoted-scalar') {
    return token.offset < offset && token.offset + token.source.length >= offset ? { token, path } : undefined;
  }
  if (token.type !== 'block-map' && token.type !== 'block-seq' && token.type !== 'flow-collection') return undefined;
  const seq = token.type === 'block-seq' || (token.type === 'flow-collection' && token.start.source === '[');
  for (let i = 0; i < token.items.length; i++) {
    const item = token.items[i]!;
    const key = 'key' in item && item.key ? item.key : undefined;
    if (key) {
      const inKey = spanningQuote(key, offset, path);
      if (inKey) return inKey;
    }
    const name = seq ? i : key && 'source' in key ? key.source : undefined;
    const found = item.value ? spanningQuote(item.value, offset, name === undefined ? path : [...path, name]) : undefined;
    if (found) return found;
  }
  return undefined;
}

function cleanYamlMessage(msg: string): string {
  return msg.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, '');
}

/**
 * Where the first ill-formed UTF-8 sequence of `bytes` starts (Unicode Table 3-7, as TextDecoder
 * checks it), with its line and its column in UTF-16 units, as yaml counts them. A binary
 * search over a streaming decode found the byte after it instead: a streaming decoder holds a
 * lead byte (Latin-1 é, ñ, à) until the byte that breaks the sequence, and one cut at the end of
 * the file never fails, which pointed one past the last byte.
 */
function firstInvalidUtf8(bytes: Uint8Array): { offset: number; pos: Position } {
  const offset = invalidUtf8At(bytes);
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) { line++; lineStart = i + 1; }
  // The bytes before it are valid; a byte order mark is no column (parseManifestFile drops it).
  const from = lineStart === 0 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : lineStart;
  return { offset, pos: { line, col: new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes.subarray(from, offset)).length + 1 } };
}

/**
 * Offset of the first byte of the first ill-formed UTF-8 sequence; `bytes.length` when none.
 * The platform decoder replaces each ill-formed sequence with U+FFFD; the text before the first
 * replacement is valid, so it encodes back to exactly the bytes before it. A U+FFFD written in
 * the file (EF BF BD) is no error.
 */
function invalidUtf8At(bytes: Uint8Array): number {
  const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
  const encoder = new TextEncoder();
  let offset = 0;
  let from = 0;
  for (let k = text.indexOf('\uFFFD'); k !== -1; k = text.indexOf('\uFFFD', k + 1)) {
    offset += encoder.encode(text.slice(from, k)).length;
    from = k;
    if (!(bytes[offset] === 0xef && bytes[offset + 1] === 0xbf && bytes[offset + 2] === 0xbd)) return offset;
  }
  return bytes.length;
}
