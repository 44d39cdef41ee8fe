import { describe, expect, it } from 'vitest';
import { canonicalJson, desiredJob, selectJobs } from '../../src/desired/select.js';
import { loadManifests } from '../../src/manifest/load.js';

const ORIGIN = { sourceId: 'src1', url: 'https://git.example/jobs.git', ref: 'main', commit: 'c'.repeat(40) };
const manifest = (name: string): string => `apiVersion: v1\nkind: Job\nmetadata: { name: ${name}, tenant: acme }\nspec: { schedule: "0 2 * * *", command: /bin/true }\n`;

describe('desired/select', () => {
  it('records each job\'s namespace in its provenance', () => {
    const { jobs } = loadManifests([
      { path: 'production/backups/db.yaml', content: manifest('db') },
      { path: 'root.yaml', content: manifest('root') },
    ]);

    const { desired } = selectJobs(jobs, { name: 'h', tenant: 'acme', labels: {} }, ORIGIN);

    expect(desired.get('acme/db')!.provenance).toEqual({ ...ORIGIN, path: 'production/backups/db.yaml', index: 0, namespace: 'production' });
    expect(desired.get('acme/root')!.provenance.namespace).toBe('default');
  });

  it('leaves the namespace out of the manifest hash: moving a file changes only its provenance', () => {
    const a = loadManifests([{ path: 'production/db.yaml', content: manifest('db') }]).jobs[0]!;
    const b = loadManifests([{ path: 'staging/db.yaml', content: manifest('db') }]).jobs[0]!;

    const [da, db] = [desiredJob(a, ORIGIN), desiredJob(b, ORIGIN)];

    expect([da.provenance.namespace, db.provenance.namespace]).toEqual(['production', 'staging']);
    expect(da.manifestHash).toBe(db.manifestHash);
  });
});

describe('desired/select: canonicalJson', () => {
  /** The first implementation (entries filtered, sorted and mapped), which manifest hashes were made with. */
  function reference(value: unknown): string {
    if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
    if (value && typeof value === 'object') {
      const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${reference(v)}`).join(',')}}`;
    }
    return JSON.stringify(value);
  }

  it.each([
    { name: 'a job', value: { spec: { schedule: '0 2 * * *', args: ['--id=1', 'ü'], env: { B: '${X}', A: '1' }, retry: { enabled: true, attempts: 3 } }, metadata: { name: 'a', labels: {} }, apiVersion: 'v1' } },
    { name: 'keys in UTF-16 order (upper case, digits, astral, empty)', value: { b: 1, B: 2, '10': 3, '9': 4, '': 5, '\u{1F600}': 6, '\uFFFF': 7, é: 8, _: 9 } },
    { name: 'undefined members and elements, null, nesting', value: { a: undefined, b: null, c: [undefined, null, 1, [[]], {}], d: { e: { f: [{ g: undefined }] } } } },
    { name: 'scalars', value: [0, -0, 1.5, 1e21, 'a"b\\n', true, false, Infinity, NaN] },
  ])('gives the same text as the first implementation: $name', ({ value }) => {
    expect(canonicalJson(value)).toBe(reference(value));
  });
});
