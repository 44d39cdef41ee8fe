import { describe, expect, it } from 'vitest';
import { MAX_SHARED_STRINGS, shareStrings } from '../../src/manifest/intern.js';
import type { StringTable } from '../../src/manifest/intern.js';
import { loadFile, loadManifests } from '../../src/manifest/load.js';
import type { ManifestInput } from '../../src/manifest/load.js';

describe('manifest/intern', () => {
  it('takes every string value of plain objects and arrays, at any depth, from the table', () => {
    // A table that maps to other strings shows which copy ends up in the value.
    const table: StringTable = new Map([['acme', 'ACME'], ['x', 'X'], ['k', 'K']]);
    const value = { a: 'acme', k: 'x', n: 1, b: true, z: null, list: ['x', ['acme', { deep: 'x' }], 2], o: { p: { q: 'acme' } } };
    shareStrings(value, table);
    // Keys are left alone.
    expect(value).toEqual({ a: 'ACME', k: 'X', n: 1, b: true, z: null, list: ['X', ['ACME', { deep: 'X' }], 2], o: { p: { q: 'ACME' } } });
  });

  it('adds strings it has not seen, up to MAX_SHARED_STRINGS, and then only looks up', () => {
    const table: StringTable = new Map();
    const many = Array.from({ length: MAX_SHARED_STRINGS + 10 }, (_, i) => `s${i}`);
    // Documents of 1,000 strings each (one document's walk is bounded too).
    for (let i = 0; i < many.length; i += 1000) shareStrings(many.slice(i, i + 1000), table);
    expect(table.size).toBe(MAX_SHARED_STRINGS);
    expect(table.get('s0')).toBe('s0');
    expect(table.has(`s${MAX_SHARED_STRINGS}`)).toBe(false);
    expect(many[MAX_SHARED_STRINGS + 9]).toBe(`s${MAX_SHARED_STRINGS + 9}`);
  });

  it('leaves an own __proto__ key, other objects and the prototype as they are', () => {
    const table: StringTable = new Map([['v', 'V']]);
    const value = JSON.parse('{"__proto__": "v", "m": "v"}') as Record<string, unknown>;
    const bytes = new Uint8Array([1, 2]);
    const date = new Date(0);
    const map = new Map([['k', 'v']]);
    Object.assign(value, { bytes, date, map });
    shareStrings(value, table);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(value, '__proto__')?.value).toBe('v');
    expect(value.m).toBe('V');
    expect(value.bytes).toBe(bytes);
    expect(value.date).toBe(date);
    expect(map.get('k')).toBe('v');
  });

  it('loads the same jobs and issues as files loaded one by one without a table', () => {
    const doc = (n: number): string => `apiVersion: v1\nkind: Job\nmetadata:\n  name: job-${n}\n  tenant: acme\n  labels: { env: production }\nspec:\n  schedule: "*/15 * * * *"\n  timezone: Europe/London\n  command: /opt/scripts/a-long-command-path.sh\n  args: ["--id=${n}", "--verbose"]\n  env: { A: "1", B: "\${SECRET_B}" }\n  retry: { enabled: true, attempts: 3, delay: 10s }\n  unknown: field\n`;
    const files: ManifestInput[] = [
      { path: 'prod/a.yaml', content: `${doc(1)}---\n${doc(2)}`, oid: '1' },
      { path: 'prod/b.yaml', content: doc(3).replace('  unknown: field\n', ''), oid: '2' },
    ];
    const loaded = loadManifests(files);
    const alone = files.map((f) => loadFile(f));
    expect(loaded.jobs).toEqual(alone.flatMap((r) => r.jobs));
    expect(loaded.jobs.map((j) => j.job.metadata.name)).toEqual(['job-3']);
    expect(loaded.jobs[0]!.job.spec.args).toEqual(['--id=3', '--verbose']);
    expect(loaded.issues).toEqual(alone.flatMap((r) => r.issues));
    expect(loaded.issues.filter((i) => i.rule === 'unknown-field')).toHaveLength(2);
  });
});

describe('manifest/intern (aliases)', () => {
  it('stops at a cycle and in a graph far larger than its text, within its node budget', () => {
    const table: StringTable = new Map([['x', 'X']]);
    const cycle: Record<string, unknown> = { s: 'x' };
    cycle.self = cycle;
    expect(() => shareStrings(cycle, table)).not.toThrow();
    expect(cycle.s).toBe('X');
    // 2^40 paths to one leaf: visited only within the budget, so this returns at once.
    let dag: unknown[] = ['x'];
    for (let i = 0; i < 40; i++) dag = [dag, dag];
    expect(() => shareStrings(dag, table)).not.toThrow();
  });

  it('loads a document whose alias refers to an enclosing node', () => {
    const text = 'apiVersion: v1\nkind: Job\nmetadata: &m\n  name: a\n  tenant: acme\n  labels: { self: *m }\nspec:\n  schedule: "0 2 * * *"\n  command: /bin/true\n';
    const loaded = loadManifests([{ path: 'a.yaml', content: text, oid: '1' }]);
    expect(loaded.jobs).toHaveLength(0);
    expect(loaded.issues.length).toBeGreaterThan(0);
  });
});
