/**
 * Minimal DOM reading of task XML parsed by xmlbuilder2 (its DOM implements these members of
 * the W3C DOM), plus decoding of task bytes (UTF-16 with or without BOM, or UTF-8).
 */
import { create } from './xml.js';

/** The DOM members parse.ts reads. */
export interface DomNode {
  readonly nodeType: number;
  readonly localName?: string | null;
  readonly namespaceURI?: string | null;
  readonly textContent: string | null;
  readonly childNodes: ArrayLike<DomNode>;
  /** Text of a comment node. */
  readonly data?: string;
  getAttribute?(name: string): string | null;
}

/** Node types used here (W3C DOM). */
export const ELEMENT_NODE = 1;
export const COMMENT_NODE = 8;

/**
 * Parses XML text into its document element.
 * @throws {Error} from the parser when the text is not well-formed XML.
 */
export function parseXml(text: string): DomNode {
  // xmlbuilder2's reader decodes `&amp;#0;` twice (to NUL, where XML means the text `&#0;`); the
  // equivalent reference `&#38;` is decoded once. `&amp;` only occurs as a reference in task XML.
  const doc = create(text.replace(/^\uFEFF/, '').replace(/&amp;/g, '&#38;')).node as unknown as DomNode;
  const root = Array.from(doc.childNodes).find((n) => n.nodeType === ELEMENT_NODE);
  if (!root) throw new Error('no document element');
  return root;
}

/** Child elements of a node. */
export function elements(node: DomNode): DomNode[] {
  return Array.from(node.childNodes).filter((n) => n.nodeType === ELEMENT_NODE);
}

/** The first child element named `name`, or undefined. */
export function child(node: DomNode, name: string): DomNode | undefined {
  return elements(node).find((n) => n.localName === name);
}

/** Trimmed text of the child element `name`, or undefined when absent. */
export function childText(node: DomNode, name: string): string | undefined {
  const c = child(node, name);
  return c === undefined ? undefined : (c.textContent ?? '').trim();
}

/**
 * Task XML bytes as text: UTF-16LE/BE by their byte-order mark, UTF-8 with or without one,
 * and UTF-16LE without a BOM when the text starts with `<` followed by a zero byte.
 */
export function decodeXmlBytes(bytes: Uint8Array): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b[0] === 0xff && b[1] === 0xfe) return b.subarray(2).toString('utf16le');
  if (b[0] === 0xfe && b[1] === 0xff) return Buffer.from(b.subarray(2)).swap16().toString('utf16le');
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return b.subarray(3).toString('utf8');
  if (b[0] === 0x3c && b[1] === 0x00) return b.toString('utf16le');
  return b.toString('utf8');
}
