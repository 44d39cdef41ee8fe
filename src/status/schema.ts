/**
 * The status file's JSON Schema (`status.v1.schema.json`, shipped) as the check of a status file
 * read back: precompiled by the build like the manifest and config schemas (see
 * src/manifest/precompiled.ts and tools/gen-validators.mjs), compiled at run time from sources.
 * Loaded by src/status/io.ts only when it reads a file, and never by `cronsync exec`, whose
 * bundle holds io.ts but never reads the status file (this module finds its files by
 * `import.meta.url`, which the bundle does not have).
 */
import { readFileSync } from 'node:fs';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { loadValidator, releaseValidator } from '../manifest/precompiled.js';

/** Absolute location of the status file's JSON Schema shipped in the package. */
export const STATUS_SCHEMA_URL = new URL('./status.v1.schema.json', import.meta.url);

/** The schema and the validator module the build makes of it, relative to `dist/` (as PRECOMPILED lists them). */
export const STATUS_PRECOMPILED = { schema: 'status/status.v1.schema.json', module: 'status/status.v1.validate.cjs' } as const;

/** A validator compiled at run time (unbuilt sources), kept: compiling costs 60–90 ms. */
let compiled: ValidateFunction | undefined;

/**
 * The first way `data` differs from the status file schema, as a sentence that names the field
 * (`jobs[3].lastRun.exitCode must be an integer or null, not "x"`), or null when it is valid.
 * The precompiled validator is let go after each check: the daemon reads the file rarely.
 */
export function statusSchemaProblem(data: unknown): string | null {
  const validate = compiled ?? loadValidator(STATUS_SCHEMA_URL, () => JSON.parse(readFileSync(STATUS_SCHEMA_URL, 'utf8')) as object);
  try {
    return validate(data) ? null : describe(validate.errors?.[0]);
  } finally {
    if (!releaseValidator(STATUS_SCHEMA_URL)) compiled = validate;
  }
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  string: 'a string', integer: 'an integer', number: 'a number', boolean: 'true or false', object: 'an object', array: 'a list', null: 'null',
};

/** What a value is, for a message: a short quote of a string or number, else its kind. */
function found(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return String(v);
}

/** `jobs[0].lastRun` for the JSON pointer `/jobs/0/lastRun`, with `child` appended. */
export function fieldPath(pointer: string, child?: string): string {
  const parts = pointer === '' ? [] : pointer.slice(1).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) parts.push(child);
  let out = '';
  for (const p of parts) {
    if (/^(0|[1-9][0-9]*)$/.test(p)) out += `[${p}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(p)) out += out === '' ? p : `.${p}`;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out === '' ? 'the document' : out;
}

function describe(e: ErrorObject | undefined): string {
  if (!e) return 'it does not match the status file schema';
  const field = fieldPath(e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return `${fieldPath(e.instancePath, String(p.missingProperty))} is missing`;
    case 'type': {
      const types = Array.isArray(p.type) ? (p.type as string[]) : String(p.type).split(',');
      return `${field} must be ${types.map((t) => TYPE_NAMES[t] ?? t).join(' or ')}, not ${found(e.data)}`;
    }
    case 'const':
      return `${field} must be ${JSON.stringify(p.allowedValue)}, not ${found(e.data)}`;
    case 'enum':
      return `${field} must be one of ${(p.allowedValues as unknown[]).map(String).join(', ')}, not ${found(e.data)}`;
    case 'minimum':
      return `${field} must be at least ${String(p.limit)}, not ${found(e.data)}`;
    case 'not':
      // Never quoted: the value the schema excludes is a URL with credentials.
      return `${field} holds what the schema excludes (${String((e.parentSchema as { description?: unknown } | undefined)?.description ?? 'see status.v1.schema.json')})`;
    default:
      return `${field} ${e.message ?? 'is invalid'}`;
  }
}
