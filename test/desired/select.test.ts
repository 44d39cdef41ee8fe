import { describe, expect, it } from 'vitest';
import { desiredJob, selectJobs } from '../../src/desired/select.js';
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
