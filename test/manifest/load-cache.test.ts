import { describe, expect, it } from 'vitest';
import { loadManifests } from '../../src/manifest/load.js';
import type { LoadCache, ManifestInput } from '../../src/manifest/load.js';

const manifest = (name: string, schedule = '0 2 * * *'): string => `apiVersion: v1\nkind: Job\nmetadata:\n  name: ${name}\n  tenant: acme\nspec:\n  schedule: "${schedule}"\n  command: /bin/true\n`;
const file = (path: string, content: string, oid: string): ManifestInput => ({ path, content, oid });

describe('manifest/load (cache)', () => {
  it('returns the same jobs for the same files through the same cache, and parses nothing', () => {
    const cache: LoadCache = new Map();
    const files = [file('a.yaml', manifest('a'), '1'), file('b.yaml', `${manifest('b')}---\n${manifest('a')}`, '2')];

    const first = loadManifests(files, {}, cache);
    const second = loadManifests(files.map((f) => ({ ...f })), {}, cache);

    expect(first.parsed).toBe(2);
    expect(second.parsed).toBe(0);
    expect(second.jobs).toBe(first.jobs);
    expect(second.issues).toEqual(first.issues);
    expect([...second.invalidIds]).toEqual(['acme/a']);
  });

  it('assembles a new result when a file changed, was added or removed, or has no content id', () => {
    const cache: LoadCache = new Map();
    const a = file('a.yaml', manifest('a'), '1');
    const b = file('b.yaml', manifest('b'), '2');
    const first = loadManifests([a, b], {}, cache);

    const changed = loadManifests([a, file('b.yaml', manifest('b', '0 3 * * *'), '3')], {}, cache);
    const removed = loadManifests([a], {}, cache);
    const added = loadManifests([a, b], {}, cache);
    const noOid = loadManifests([a, { path: 'b.yaml', content: manifest('b') }], {}, cache);
    const again = loadManifests([a, { path: 'b.yaml', content: manifest('b') }], {}, cache);

    expect(changed.parsed).toBe(1);
    expect(changed.jobs.map((j) => j.job.spec.schedule)).toEqual(['0 2 * * *', '0 3 * * *']);
    expect(removed.parsed).toBe(0);
    expect(removed.jobs.map((j) => j.job.metadata.name)).toEqual(['a']);
    expect(added.parsed).toBe(1);
    expect(added.jobs.map((j) => j.job.metadata.name)).toEqual(['a', 'b']);
    expect(added.jobs).not.toBe(first.jobs);
    expect(noOid.parsed).toBe(1);
    expect(again.parsed).toBe(1);
    expect(again.jobs).not.toBe(noOid.jobs);
  });
});
