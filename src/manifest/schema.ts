/**
 * The Job v1 JSON Schema (single source of truth: `job.v1.schema.json`) and its compiled
 * ajv validator, which also applies every default.
 */
import { readFileSync } from 'node:fs';
import AjvModule from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';

/** Absolute location of the Job v1 JSON Schema file shipped in the package. */
export const JOB_SCHEMA_URL = new URL('./job.v1.schema.json', import.meta.url);

let compiled: ValidateFunction | undefined;

/** Returns the Job v1 JSON Schema as data. */
export function jobSchema(): Record<string, unknown> {
  return JSON.parse(readFileSync(JOB_SCHEMA_URL, 'utf8')) as Record<string, unknown>;
}

/** Returns the compiled validator (allErrors, defaults applied in place). Compiled once. */
export function jobValidator(): ValidateFunction {
  if (!compiled) {
    const Ajv = AjvModule.default ?? AjvModule;
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, verbose: true });
    compiled = ajv.compile(jobSchema());
  }
  return compiled;
}

/** A validator error, re-exported for callers that format them. */
export type SchemaError = ErrorObject;
