/**
 * The validators `npm run build` precompiles (tools/gen-validators.mjs → dist/…/*.validate.cjs)
 * must behave exactly like ajv compiling the schema at run time, which is what the sources (and
 * so every other unit test) use: same verdict, same errors, same defaults applied, over the
 * shipped examples and many broken variants of them.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileSchema, PRECOMPILED } from '../../src/manifest/precompiled.js';
import { ensureBuilt, ROOT } from '../e2e/fixtures/sync-cli.js';

function yamlDocs(file: string): unknown[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as unknown);
}

/** The manifests of `dir`: the shipped examples, or the repository Crontopus wrote (metadata.id and namespace). */
function exampleManifests(dir = path.join(ROOT, 'manifests-example')): unknown[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.yaml')).sort().flatMap((f) => yamlDocs(path.join(dir, f)));
}

/** Every leaf and object of `value` replaced by wrong-typed values, plus an unknown key in every object. */
function variants(value: unknown): unknown[] {
  const out: unknown[] = [];
  const visit = (node: unknown, replace: (v: unknown) => unknown): void => {
    for (const bad of [null, 42, 1.5, -1, '', 'x', true, [], {}, ['x']]) out.push(replace(bad));
    if (node !== null && typeof node === 'object') {
      if (!Array.isArray(node)) out.push(replace({ ...node, unknownField: 1 }));
      for (const [k, v] of Object.entries(node)) {
        if (!Array.isArray(node)) {
          const without: Record<string, unknown> = { ...(node as Record<string, unknown>) };
          delete without[k];
          out.push(replace(without));
        }
        visit(v, (nv) => replace(Array.isArray(node) ? node.map((x, i) => (String(i) === k ? nv : x)) : { ...node, [k]: nv }));
      }
    }
  };
  visit(value, (v) => v);
  return out;
}

const shape = (errors: ErrorObject[] | null | undefined): unknown =>
  (errors ?? []).map((e) => ({ instancePath: e.instancePath, schemaPath: e.schemaPath, keyword: e.keyword, params: e.params, message: e.message, data: e.data }));

function check(precompiled: ValidateFunction, runtime: ValidateFunction, docs: unknown[]): number {
  let invalid = 0;
  for (const doc of docs) {
    const a = structuredClone(doc);
    const b = structuredClone(doc);
    const okA = precompiled(a);
    const okB = runtime(b);
    expect({ ok: okA, errors: shape(precompiled.errors), data: a }).toEqual({ ok: okB, errors: shape(runtime.errors), data: b });
    if (!okA) invalid++;
  }
  return invalid;
}

describe('precompiled schema validators', () => {
  beforeAll(ensureBuilt, 300_000);
  const load = (module: string): ValidateFunction => {
    const mod = createRequire(import.meta.url)(path.join(ROOT, 'dist', module)) as ValidateFunction | { default: ValidateFunction };
    return typeof mod === 'function' ? mod : mod.default;
  };
  const schemaOf = (schema: string): object => JSON.parse(readFileSync(path.join(ROOT, 'src', schema), 'utf8')) as object;

  it('the build precompiles every shipped schema', () => {
    expect(PRECOMPILED.map((p) => p.schema).sort()).toEqual(['config/config.v1.schema.json', 'manifest/job.v1.schema.json']);
  });

  it('job.v1: same verdicts, errors and defaults as ajv at run time', () => {
    const entry = PRECOMPILED.find((p) => p.schema.startsWith('manifest/'))!;
    const examples = [...exampleManifests(), ...exampleManifests(path.join(ROOT, 'test/fixtures/crontopus-repo'))];
    expect(examples.length).toBeGreaterThan(5);
    const docs = [...examples, ...examples.flatMap(variants)];
    const invalid = check(load(entry.module), compileSchema(schemaOf(entry.schema)), docs);
    // The corpus exercises both outcomes.
    expect(invalid).toBeGreaterThan(docs.length / 2);
    expect(invalid).toBeLessThan(docs.length);
  });

  it('config.v1: same verdicts, errors and defaults as ajv at run time', () => {
    const entry = PRECOMPILED.find((p) => p.schema.startsWith('config/'))!;
    const examples = ['systemd/config.example.yaml', 'windows/config.example.yaml'].flatMap((f) => yamlDocs(path.join(ROOT, f)));
    const docs = [...examples, ...examples.flatMap(variants)];
    const invalid = check(load(entry.module), compileSchema(schemaOf(entry.schema)), docs);
    expect(invalid).toBeGreaterThan(docs.length / 2);
    expect(invalid).toBeLessThan(docs.length);
  });
});
