/**
 * The fast path of manifest parsing: yaml's parser tokens (CST) straight to plain data, for the
 * subset of YAML that manifests are written in, without yaml's Composer and its node tree.
 *
 * The subset: block and flow mappings and sequences; plain, quoted and block scalars resolved by
 * the YAML 1.2 core schema; string keys on one line; comments where the Composer accepts them.
 * Anything else (anchors, aliases, tags, directives, `...`, explicit `?` keys, non-string or
 * duplicate keys, `__proto__`, tabs, CR, a root that is not a mapping, an error token, or any
 * condition under which the Composer would report an error or a warning) makes the whole file
 * go through the Composer instead, so the two paths agree on every file the fast path takes;
 * `test/manifest/parse-fast.test.ts` checks that against mutated manifests.
 * Pure: no I/O.
 */
import type * as Yaml from 'yaml';
import type { CST } from 'yaml';
import { remember } from '../memo.js';

/** What the fast path needs from the yaml package: its scalar resolution and the core schema's tags. */
export interface YamlCore {
  resolveAsScalar: typeof CST.resolveAsScalar;
  isScalar: typeof Yaml.isScalar;
  /** The core schema's scalar tags that resolve plain scalars, in the Composer's order. */
  tags: readonly ScalarTag[];
  /** The Composer's document options, passed to each tag's `resolve`. */
  options: object;
  /** Plain scalars already resolved, as keys and as values (manifests repeat most of theirs). */
  plainKeys: Map<string, unknown>;
  plainValues: Map<string, unknown>;
}

interface ScalarTag {
  default?: boolean | 'key';
  test?: RegExp;
  resolve: (value: string, onError: (message: string) => void, options: object) => unknown;
}

/** Builds the {@link YamlCore} of a loaded yaml package, with the options the Composer is given. */
export function yamlCore(y: typeof Yaml, options: Yaml.DocumentOptions & Yaml.SchemaOptions): YamlCore {
  const doc = new y.Document(undefined, options);
  const tags = (doc.schema.tags as unknown as ScalarTag[]).filter((t) => !('collection' in t && t.collection));
  return { resolveAsScalar: y.CST.resolveAsScalar, isScalar: y.isScalar, tags, options: doc.options, plainKeys: new Map(), plainValues: new Map() };
}

/** One document of the file as the fast path read it: empty, or a mapping as plain data. */
export type FastDocument = { empty: true } | { empty: false; root: CST.Token; value: Record<string, unknown> };

/** Thrown inside the walk when the file leaves the subset; never escapes this module. */
class OutsideSubset {}
const OUTSIDE = new OutsideSubset();
const outside = (): never => {
  throw OUTSIDE;
};

/** First characters a plain scalar cannot have (yaml reports them): the fast read leaves them to yaml. */
const BAD_PLAIN_START = new Set([',', '%', '|', '>', '@', '`']);

/**
 * Plain scalars remembered with their resolved values (keys and values apart), up to this many
 * of at most this length. The memo lives as long as the loaded yaml package (`releaseYaml`).
 */
const MAX_PLAIN_MEMO = 10_000;
const MAX_PLAIN_MEMO_LENGTH = 64;

/** A copy of `text` that shares no memory with the string it was sliced from. */
const detached = (text: string): string => (` ${text}`).slice(1);

/**
 * The Composer's limit on an implicit key: its `:` at most this many characters after where the
 * key starts, which it counts from the end of the tokens before the key or, without any, from
 * where it ended the previous entry (an empty value ends right after its `:`, so blank lines
 * after one count towards the next key).
 */
const MAX_KEY_SPAN = 1024;

/**
 * The documents of one file from its parser tokens, or null when the file leaves the subset
 * (then the caller composes it). `text` is the whole file, for the tab and CR checks.
 */
export function fastDocuments(core: YamlCore, tokens: readonly CST.Token[], text: string): FastDocument[] | null {
  if (text.includes('\t') || text.includes('\r')) return null;
  try {
    const walk = new Walk(core);
    const out: FastDocument[] = [];
    for (const token of tokens) {
      switch (token.type) {
        case 'comment':
        case 'newline':
        case 'space':
          continue;
        case 'document':
          out.push(walk.document(token));
          continue;
        default:
          return null;
      }
    }
    return out;
  } catch {
    // Outside the subset; anything else thrown (a token shape this walk did not expect) is left
    // to the Composer as well, which reports it as it reports any YAML.
    return null;
  }
}

/** A mapping: a block one, or a flow one (`{`). */
export function isMapToken(t: CST.Token | undefined): t is CST.BlockMap | CST.FlowCollection {
  return t?.type === 'block-map' || (t?.type === 'flow-collection' && t.start.source === '{');
}

/** A key's string as the fast path reads it, or undefined when it reads none (not a one-line string). */
export function tokenKey(core: YamlCore, key: CST.Token): string | undefined {
  try {
    return new Walk(core).key(key);
  } catch {
    return undefined;
  }
}

/** The result of reading the tokens before or after a node, as yaml's `resolveProps` does. */
interface Props { found: CST.SourceToken | null; hasNewline: boolean; comma: boolean }

type ScalarToken = CST.FlowScalar | CST.BlockScalar;

class Walk {
  constructor(private readonly core: YamlCore) {}

  document(doc: CST.Document): FastDocument {
    const start = this.props(doc.start, 'doc-start', true, false);
    const value = doc.value;
    if (start.found && (value?.type === 'block-map' || value?.type === 'block-seq') && !start.hasNewline) outside();
    for (const t of doc.end ?? []) if (t.type !== 'space' && t.type !== 'newline' && t.type !== 'comment') outside();
    if (!value) return { empty: true };
    if (!isMapToken(value)) outside();
    return { empty: false, root: value, value: this.node(value) as Record<string, unknown> };
  }

  node(t: CST.Token): unknown {
    switch (t.type) {
      case 'scalar':
        return this.plain(this.scalar(t), false);
      case 'single-quoted-scalar':
      case 'double-quoted-scalar':
      case 'block-scalar':
        return this.scalar(t);
      case 'block-map':
        return this.blockMap(t);
      case 'block-seq':
        return this.blockSeq(t);
      case 'flow-collection':
        return this.flow(t);
      default:
        return outside();
    }
  }

  /** A key's string; anything that is not a one-line scalar resolving to a string leaves the subset. */
  key(t: CST.Token): string {
    if (t.type !== 'scalar' && t.type !== 'single-quoted-scalar' && t.type !== 'double-quoted-scalar') return outside();
    if (t.source.includes('\n') || t.end?.some((e) => e.type === 'newline')) outside();
    const text = this.scalar(t);
    const value = t.type === 'scalar' ? this.plain(text, true) : text;
    if (typeof value !== 'string' || value === '__proto__') outside();
    return value as string;
  }

  /**
   * A scalar's text. One-line scalars without escapes (`\\`, `''`) and with nothing but spaces
   * after them are their source, as yaml reads them; the others go through yaml.
   */
  private scalar(t: ScalarToken): string {
    if (t.type !== 'block-scalar' && (!t.end || t.end.every((e) => e.type === 'space' || e.type === 'newline'))) {
      const s = t.source;
      if (!s.includes('\n')) {
        if (t.type === 'scalar' && !BAD_PLAIN_START.has(s.charAt(0))) return s;
        const quote = t.type === 'double-quoted-scalar' ? '"' : "'";
        if (t.type !== 'scalar' && s.length >= 2 && s.endsWith(quote) && !s.includes(quote === '"' ? '\\' : "''")) return s.slice(1, -1);
      }
    }
    const r = this.core.resolveAsScalar(t, true, outside);
    return r ? r.value : outside();
  }

  /** Resolves a plain scalar by the schema's tags, as the Composer's `findScalarTagByTest`. */
  private plain(text: string, atKey: boolean): unknown {
    const memo = atKey ? this.core.plainKeys : this.core.plainValues;
    const known = memo.get(text);
    if (known !== undefined || memo.has(text)) return known;
    let value: unknown = text;
    for (const tag of this.core.tags) {
      if ((tag.default === true || (atKey && tag.default === 'key')) && tag.test?.test(text)) {
        const res = tag.resolve(text, outside, this.core.options);
        value = this.core.isScalar(res) ? res.value : res;
        break;
      }
    }
    // Only primitives (an object would be shared between documents), and only short texts (the
    // ones that repeat), each kept as a copy of its own: V8 keeps a slice of 13 or more
    // characters as a pointer into the file's text, which the memo would otherwise keep alive.
    if (text.length <= MAX_PLAIN_MEMO_LENGTH && (value === null || typeof value !== 'object')) {
      const key = detached(text);
      remember(memo, MAX_PLAIN_MEMO, key, value === text ? key : value);
    }
    return value;
  }

  private blockMap(bm: CST.BlockMap): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    // Never after the Composer's end of the previous entry: a value's own offset, or just past
    // the `:` of an empty one. So the key's start below is never after the Composer's.
    let previousEnd = bm.offset;
    bm.items.forEach((item, i) => {
      if (item.explicitKey) outside();
      const keyProps = this.props(item.start, 'explicit-key-ind', true, false);
      if (keyProps.found) outside();
      if (!item.sep) {
        // A trailing comment line of the mapping.
        if (item.key || i !== bm.items.length - 1) outside();
        return;
      }
      const key = item.key;
      if (!key || !('indent' in key) || key.indent !== bm.indent) return outside();
      const name = this.key(key);
      if (Object.hasOwn(out, name)) outside();
      const valueProps = this.props(item.sep, 'map-value-ind', false, false);
      const found = valueProps.found;
      if (!found) return outside();
      const last = item.start.at(-1);
      const keyStart = last ? last.offset + last.source.length : previousEnd;
      if (keyStart < found.offset - MAX_KEY_SPAN) outside();
      if (item.sep.some((t) => t.type === 'newline' && t.offset < found.offset)) outside();
      if (item.value?.type === 'block-map' && !valueProps.hasNewline) outside();
      out[name] = item.value ? this.node(item.value) : null;
      previousEnd = item.value ? item.value.offset : found.offset + found.source.length;
    });
    return out;
  }

  private blockSeq(bs: CST.BlockSequence): unknown[] {
    const out: unknown[] = [];
    bs.items.forEach((item, i) => {
      const props = this.props(item.start, 'seq-item-ind', true, false);
      if (!props.found) {
        // A trailing comment line of the sequence.
        if (item.value || i !== bs.items.length - 1) outside();
        return;
      }
      out.push(item.value ? this.node(item.value) : null);
    });
    return out;
  }

  private flow(fc: CST.FlowCollection): unknown {
    const isMap = fc.start.source === '{';
    const map: Record<string, unknown> = {};
    const seq: unknown[] = [];
    fc.items.forEach((item, i) => {
      const props = this.props(item.start, 'explicit-key-ind', false, true);
      if (props.found) outside();
      if (!item.sep && !item.value) {
        // Nothing but a trailing comma (or comment) after the last item.
        if (item.key || (i === 0 && props.comma) || i !== fc.items.length - 1) outside();
        return;
      }
      if (i === 0 ? props.comma : !props.comma) outside();
      if (!isMap) {
        if (item.sep || item.key || !item.value) outside();
        seq.push(this.flowValue(item.value!));
        return;
      }
      if (!item.key || !item.sep) return outside();
      const name = this.key(item.key);
      if (Object.hasOwn(map, name)) outside();
      const valueProps = this.props(item.sep, 'map-value-ind', false, true, false);
      if (!valueProps.found) outside();
      map[name] = item.value ? this.flowValue(item.value) : null;
    });
    const [close, ...rest] = fc.end;
    if (close?.type !== (isMap ? 'flow-map-end' : 'flow-seq-end')) outside();
    let hasSpace = false;
    for (const t of rest) {
      if (t.type === 'space' || t.type === 'newline') hasSpace = true;
      else if (t.type !== 'comment' || !hasSpace) outside();
    }
    return isMap ? map : seq;
  }

  private flowValue(t: CST.Token): unknown {
    if (t.type === 'block-map' || t.type === 'block-seq') outside();
    return this.node(t);
  }

  /**
   * The tokens before a node (or between a key and its value), read as yaml's `resolveProps`
   * reads them; any token or arrangement for which it reports an error leaves the subset, and so
   * do anchors and tags. Tabs never reach here (the file is refused first).
   */
  private props(tokens: readonly CST.SourceToken[], indicator: string, startOnNewline: boolean, flow: boolean, comma = flow): Props {
    let hasSpace = startOnNewline;
    const out: Props = { found: null, hasNewline: false, comma: false };
    for (const t of tokens) {
      switch (t.type) {
        case 'space':
          hasSpace = true;
          break;
        case 'newline':
          hasSpace = true;
          out.hasNewline = true;
          break;
        case 'comment':
          if (!hasSpace) outside();
          break;
        case indicator:
          if (out.found) outside();
          out.found = t;
          hasSpace = false;
          break;
        case 'comma':
          if (!comma || out.comma) outside();
          out.comma = true;
          hasSpace = false;
          break;
        default:
          outside();
      }
    }
    return out;
  }
}
