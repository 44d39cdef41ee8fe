/**
 * Markdown reference tables generated from a JSON Schema (the manifest and config schemas),
 * so the README never drifts from the schema: `npm run docs` rewrites the marked sections
 * and a test fails when they are stale.
 */

interface Node {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  properties?: Record<string, Node>;
  additionalProperties?: Node | boolean;
  items?: Node;
  anyOf?: Node[];
  const?: unknown;
  required?: string[];
  $ref?: string;
}

/** Renders one Markdown table row per field of a schema, depth first. */
export function schemaReference(schema: Node): string {
  const defs = (schema as { definitions?: Record<string, Node> }).definitions ?? {};
  const rows: string[] = ['| field | type | default | rules | description |', '|---|---|---|---|---|'];
  const resolve = (n: Node): Node => (n.$ref ? { ...defs[n.$ref.replace('#/definitions/', '')], ...n, $ref: undefined } : n);
  const walk = (node: Node, path: string, required: boolean): void => {
    const n = resolve(node);
    if (path) rows.push(`| \`${path}\`${required ? ' (required)' : ''} | ${typeOf(n, resolve)} | ${n.default === undefined ? '' : `\`${JSON.stringify(n.default)}\``} | ${rules(n)} | ${(n.description ?? '').replace(/\|/g, '\\|')} |`);
    for (const [k, child] of Object.entries(n.properties ?? {})) walk(child, path ? `${path}.${k}` : k, (n.required ?? []).includes(k));
    if (n.items && resolve(n.items).properties) walk(n.items, `${path}[]`, false);
  };
  walk(schema, '', false);
  return `${rows.join('\n')}\n`;
}

function typeOf(n: Node, resolve: (n: Node) => Node): string {
  if (n.type === 'array' && n.items) return `list of ${typeOf(resolve(n.items), resolve)}`;
  if (n.type === 'object' && typeof n.additionalProperties === 'object') return `map of ${typeOf(n.additionalProperties, resolve)}`;
  if (n.type === 'object') return 'object';
  if (n.anyOf) return n.anyOf.map((x) => typeOf(resolve(x), resolve)).join(' or ');
  if (n.const !== undefined) return `\`${JSON.stringify(n.const)}\``;
  return Array.isArray(n.type) ? n.type.join(' or ') : n.type ?? 'any';
}

function rules(n: Node): string {
  const out: string[] = [];
  if (n.enum) out.push(`one of ${n.enum.map((e) => `\`${String(e)}\``).join(', ')}`);
  if (n.pattern) out.push(`pattern \`${n.pattern.replace(/\|/g, '\\|')}\``);
  if (n.minimum !== undefined || n.maximum !== undefined) out.push(`${n.minimum ?? ''}..${n.maximum ?? ''}`);
  if (n.maxLength !== undefined) out.push(`≤ ${n.maxLength} chars`);
  return out.join('; ');
}

/** Replaces the text between `<!-- BEGIN name -->` and `<!-- END name -->` in a document. */
export function replaceSection(doc: string, name: string, body: string): string {
  const begin = `<!-- BEGIN ${name} -->\n`;
  const end = `<!-- END ${name} -->`;
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  if (i < 0 || j < i) throw new Error(`README has no ${name} section`);
  return doc.slice(0, i + begin.length) + body + doc.slice(j);
}
