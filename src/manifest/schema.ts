/**
 * The Job v1 JSON Schema (single source of truth: `job.v1.schema.json`) and its ajv
 * validator, which also applies every default.
 */
import { readFileSync } from 'node:fs';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { loadValidator, releaseValidator } from './precompiled.js';

/** Absolute location of the Job v1 JSON Schema file shipped in the package. */
export const JOB_SCHEMA_URL = new URL('./job.v1.schema.json', import.meta.url);

let compiled: ValidateFunction | undefined;

/** Returns the Job v1 JSON Schema as data. */
export function jobSchema(): Record<string, unknown> {
  return JSON.parse(readFileSync(JOB_SCHEMA_URL, 'utf8')) as Record<string, unknown>;
}

/**
 * Returns the validator (allErrors, defaults applied in place): precompiled by the build, or
 * compiled once from the schema when running from sources.
 */
export function jobValidator(): ValidateFunction {
  compiled ??= loadValidator(JOB_SCHEMA_URL, jobSchema);
  return compiled;
}

/**
 * Forgets the validator once a set of manifests is loaded, so that an idle daemon does not keep
 * its code resident; the next {@link jobValidator} loads it again. A validator compiled at run
 * time (unbuilt sources) is kept.
 */
export function releaseJobValidator(): void {
  if (compiled && releaseValidator(JOB_SCHEMA_URL)) compiled = undefined;
}

/** A validator error, re-exported for callers that format them. */
export type SchemaError = ErrorObject;
