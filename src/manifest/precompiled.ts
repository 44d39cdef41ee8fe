/**
 * ajv validators for the shipped JSON Schemas, precompiled at build time.
 *
 * Compiling a schema with ajv at run time costs every command ~50 ms to import ajv plus
 * 60–90 ms per schema, and the daemon keeps ~7 MB of ajv's code generator resident for its
 * whole life. `npm run build` therefore runs tools/gen-validators.mjs, which compiles each
 * schema listed in {@link PRECOMPILED} with {@link AJV_OPTIONS} into ajv "standalone" code
 * (`dist/…/<name>.validate.cjs`, CommonJS because the generated code `require`s ajv's runtime
 * helpers without file extensions). Unbuilt sources (the test runner) compile at run time with
 * the same options; test/manifest/precompiled.test.ts checks both agree.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type AjvClass from 'ajv';
import type { ValidateFunction } from 'ajv';

/** Options of every schema validator: all errors, defaults applied in place, strict schemas. */
export const AJV_OPTIONS = { allErrors: true, useDefaults: true, strict: true, verbose: true } as const;

/** The schemas precompiled by the build: paths relative to the package's `dist/` directory. */
export const PRECOMPILED: readonly { schema: string; module: string }[] = [
  { schema: 'manifest/job.v1.schema.json', module: 'manifest/job.v1.validate.cjs' },
  { schema: 'config/config.v1.schema.json', module: 'config/config.v1.validate.cjs' },
];

/** The precompiled module beside a schema file: `x.v1.schema.json` → `x.v1.validate.cjs`. */
export function precompiledPath(schemaUrl: URL): string {
  return fileURLToPath(schemaUrl).replace(/\.schema\.json$/, '.validate.cjs');
}

const require = createRequire(import.meta.url);

/** Compiles `schema` with ajv at run time, with {@link AJV_OPTIONS}; ajv is loaded only then. */
export function compileSchema(schema: object): ValidateFunction {
  const mod = require('ajv') as { default?: typeof AjvClass } & typeof AjvClass;
  const Ajv = mod.default ?? mod;
  return new Ajv(AJV_OPTIONS).compile(schema);
}

/**
 * The validator of the schema at `schemaUrl`: the build's precompiled module when there is
 * one, otherwise compiled at run time from `readSchema()`.
 */
export function loadValidator(schemaUrl: URL, readSchema: () => object): ValidateFunction {
  const file = precompiledPath(schemaUrl);
  if (!existsSync(file)) return compileSchema(readSchema());
  // A require of its own: the module-level one would list the module among its children for
  // good, which keeps it alive after releaseValidator.
  const mod = createRequire(import.meta.url)(file) as ValidateFunction | { default: ValidateFunction };
  return typeof mod === 'function' ? mod : mod.default;
}

/**
 * Lets the precompiled validator of `schemaUrl` be collected: drops it from the require cache,
 * so that the next {@link loadValidator} reads it again (a few ms). A long-running process calls
 * this once it is done validating, because the generated code and its source stay resident
 * otherwise (~0.5 MiB per schema). Returns false when there is no precompiled module (unbuilt
 * sources), whose run-time compiled validator is worth keeping: compiling costs 60–90 ms.
 */
export function releaseValidator(schemaUrl: URL): boolean {
  const file = precompiledPath(schemaUrl);
  if (!existsSync(file)) return false;
  const id = require.resolve(file);
  // Its ajv runtime helpers go too: a cached module keeps the one that first required it (its
  // parent) alive, so a helper shared by both schemas would keep this validator.
  for (const child of require.cache[id]?.children ?? []) delete require.cache[child.id];
  delete require.cache[id];
  return true;
}
