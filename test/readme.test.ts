import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { replaceSection, schemaReference } from '../src/manifest/reference.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it.each([
    ['manifest-reference', '../src/manifest/job.v1.schema.json'],
    ['config-reference', '../src/config/config.v1.schema.json'],
  ])('%s is generated from the current schema (run `npm run docs`)', (section, file) => {
    const schema = JSON.parse(readFileSync(new URL(file, import.meta.url), 'utf8')) as object;

    const regenerated = replaceSection(readme, section, schemaReference(schema));

    expect(regenerated).toBe(readme);
  });

  it('holds the two set-up commands', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm ci && npm test');
  });

  it('every schema field has a description', () => {
    const missing: string[] = [];
    const walk = (node: Record<string, unknown>, path: string): void => {
      if (path && typeof node.description !== 'string' && !node.$ref) missing.push(path);
      for (const [k, v] of Object.entries((node.properties ?? {}) as Record<string, Record<string, unknown>>)) walk(v, `${path}.${k}`);
      if (node.items) walk(node.items as Record<string, unknown>, `${path}[]`);
      if (typeof node.additionalProperties === 'object') walk(node.additionalProperties as Record<string, unknown>, `${path}{}`);
      for (const [k, v] of Object.entries((node.definitions ?? {}) as Record<string, Record<string, unknown>>)) walk(v, `#${k}`);
    };
    for (const f of ['../src/manifest/job.v1.schema.json', '../src/config/config.v1.schema.json']) {
      walk(JSON.parse(readFileSync(new URL(f, import.meta.url), 'utf8')) as Record<string, unknown>, '');
    }

    expect(missing).toEqual([]);
  });
});
