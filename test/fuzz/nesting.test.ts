/**
 * Deep nesting (issue 11 item 7): a document nested past the limit is an error naming the limit
 * at the first collection past it, never "Maximum call stack size exceeded", and the other
 * documents of the file still load.
 */
import { describe, expect, it } from 'vitest';
import { loadManifests } from '../../src/manifest/load.js';
import { MAX_NESTING_DEPTH, parseManifestFile } from '../../src/manifest/parse.js';

const HEAD = 'apiVersion: v1\nkind: Job\nmetadata: {name: deep, tenant: acme}\nspec:\n  schedule: "* * * * *"\n  command: x\n';
const GOOD = 'apiVersion: v1\nkind: Job\nmetadata: {name: fine, tenant: acme}\nspec:\n  schedule: "0 2 * * *"\n  command: x\n';

/** `args:` nested `levels` deep in total (the root mapping is level 1, spec 2, args 3). */
const flow = (levels: number): string => `${HEAD}  args: ${'['.repeat(levels - 2)}${']'.repeat(levels - 2)}\n`;
const compact = (levels: number): string => `${HEAD}  args:\n    ${'- '.repeat(levels - 2)}x\n`;
const block = (levels: number): string => `${HEAD}x:\n${Array.from({ length: levels - 1 }, (_, i) => `${' '.repeat(i + 2)}a:`).join('\n')} 1\n`;
const flowMap = (levels: number): string => `${HEAD}  env: ${'{a: '.repeat(levels - 2)}1${'}'.repeat(levels - 2)}\n`;

describe('manifest/parse: nesting limit', () => {
  it.each([
    { name: 'flow sequences', make: flow, levels: 5000 },
    { name: 'compact block sequences', make: compact, levels: 5000 },
    { name: 'indented block mappings', make: block, levels: 1300 },
    { name: 'flow mappings', make: flowMap, levels: 5000 },
  ])('$name nested $levels levels: one yaml-too-deep error naming the limit', ({ make, levels }) => {
    const text = make(levels);

    const res = loadManifests([{ path: 'deep.yaml', content: text }]);

    expect(res.jobs).toEqual([]);
    expect(res.issues.map((i) => i.rule)).toEqual(['yaml-too-deep']);
    expect(res.issues[0]!.message).toBe(`document 1 is nested more than ${MAX_NESTING_DEPTH} levels deep; at most ${MAX_NESTING_DEPTH} levels of nested mappings and sequences are accepted`);
    expect(res.issues[0]!.line).toBeGreaterThan(1);
  });

  it('accepts exactly the limit and refuses one level more, at the first collection past it', () => {
    const at = parseManifestFile('a.yaml', flow(MAX_NESTING_DEPTH));
    const past = parseManifestFile('a.yaml', flow(MAX_NESTING_DEPTH + 1));

    expect(at.issues).toEqual([]);
    expect(past.issues).toEqual([expect.objectContaining({ rule: 'yaml-too-deep', line: 7, col: 9 + MAX_NESTING_DEPTH - 2 })]);
  });

  it('the other documents of the file still load, with their own index', () => {
    const res = loadManifests([{ path: 'a.yaml', content: `${flow(10_000)}---\n${GOOD}` }]);

    expect(res.jobs.map((j) => [j.job.metadata.name, j.index, j.line])).toEqual([['fine', 1, 11]]);
    expect(res.issues.map((i) => [i.rule, i.line])).toEqual([['yaml-too-deep', 7]]);
  });

  it('a file whose nesting exhausts the parser itself (many levels closed at once) gets the same rule', () => {
    const text = `${HEAD}  args: ${'? '.repeat(30_000)}1\n---\n${GOOD}`;

    const res = loadManifests([{ path: 'a.yaml', content: text }]);

    expect(res.issues.map((i) => [i.rule, i.message])).toEqual([['yaml-too-deep', `the file is nested too deeply to parse; at most ${MAX_NESTING_DEPTH} levels of nested mappings and sequences are accepted`]]);
    expect(res.brokenFiles).toEqual(new Set(['a.yaml']));
  });

  it('names the config file in config mode', () => {
    const res = parseManifestFile('config.yaml', `agent: ${'['.repeat(200)}${']'.repeat(200)}\n`, { kind: 'config' });

    expect(res.issues.map((i) => i.message)).toEqual([`the config file is nested more than ${MAX_NESTING_DEPTH} levels deep; at most ${MAX_NESTING_DEPTH} levels of nested mappings and sequences are accepted`]);
  });

  it('a chain of aliases, each nesting within the limit, does not crash lint', () => {
    const anchors = Array.from({ length: 90 }, (_, i) => `  a${i}: &a${i} ${'['.repeat(60)}${i === 0 ? 'x' : `*a${i - 1}`}${']'.repeat(60)}`);

    const res = loadManifests([{ path: 'a.yaml', content: `${HEAD}x:\n${anchors.join('\n')}\n` }]);

    expect(res.jobs).toEqual([]);
    expect(res.issues.every((i) => !/call stack|\n\s+at /.test(i.message))).toBe(true);
    expect(res.issues.length).toBeGreaterThan(0);
  });
});
