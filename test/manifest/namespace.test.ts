import { describe, expect, it } from 'vitest';
import { loadManifests } from '../../src/manifest/load.js';
import { jobNamespace } from '../../src/manifest/types.js';

/** A manifest with `metadata` lines (after name and tenant) starting at line 6. */
const manifest = (name: string, metadata = ''): string =>
  `apiVersion: v1\nkind: Job\nmetadata:\n  name: ${name}\n  tenant: acme\n${metadata}spec:\n  schedule: "0 2 * * *"\n  command: /bin/true\n`;

describe('manifest/types jobNamespace', () => {
  it.each`
    path                                   | want
    ${'production/x.yaml'}                 | ${'production'}
    ${'production/backups/daily.yaml'}     | ${'production'}
    ${'x.yaml'}                            | ${'default'}
    ${'./x.yaml'}                          | ${'default'}
    ${'./staging/x.yml'}                   | ${'staging'}
    ${'default/x.yaml'}                    | ${'default'}
  `('$path → $want', ({ path, want }: { path: string; want: string }) => {
    expect(jobNamespace(path)).toBe(want);
  });
});

describe('manifest/load: Crontopus metadata.id and metadata.namespace', () => {
  it('accepts both fields and keeps them on the job; the namespace comes from the path', () => {
    const res = loadManifests([{ path: 'production/a.yaml', content: manifest('a', '  id: 3F2C8A4E-5b7d-4e1a-9c6f-0d8b2a7e4c19\n  namespace: production\n') }]);

    expect(res.issues).toEqual([]);
    expect(res.jobs[0]!.job.metadata).toEqual({ id: '3F2C8A4E-5b7d-4e1a-9c6f-0d8b2a7e4c19', name: 'a', namespace: 'production', tenant: 'acme', labels: {}, annotations: {} });
    expect(res.jobs[0]!.namespace).toBe('production');
  });

  it('gives a job without the fields its directory, or default at the root', () => {
    const res = loadManifests([
      { path: 'staging/team/a.yaml', content: manifest('a') },
      { path: 'b.yaml', content: manifest('b') },
    ]);

    expect(res.jobs.map((j) => [j.job.metadata.name, j.namespace])).toEqual([['b', 'default'], ['a', 'staging']]);
  });

  it.each`
    name                      | metadata                                               | line | col  | rule          | message
    ${'id not a UUID'}        | ${'  id: 42-abc\n'}                                   | ${6} | ${7} | ${'schema'}   | ${'metadata.id must be a UUID such as 3f2c8a4e-5b7d-4e1a-9c6f-0d8b2a7e4c19'}
    ${'id not a string'}      | ${'  id: 12\n'}                                       | ${6} | ${7} | ${'schema'}   | ${'metadata.id must be a string (quote the value)'}
    ${'namespace pattern'}    | ${'  namespace: Prod_Jobs\n'}                         | ${6} | ${14} | ${'schema'}  | ${"metadata.namespace must be lowercase letters, digits and '-', starting and ending with a letter or digit"}
    ${'namespace too long'}   | ${`  namespace: ${'n'.repeat(64)}\n`}                  | ${6} | ${14} | ${'schema'}  | ${'metadata.namespace must NOT have more than 63 characters'}
  `('rejects $name at the field', ({ metadata, line, col, rule, message }: { metadata: string; line: number; col: number; rule: string; message: string }) => {
    const res = loadManifests([{ path: 'production/a.yaml', content: manifest('a', metadata) }]);

    expect(res.jobs).toEqual([]);
    expect(res.issues.filter((i) => i.severity === 'error')).toEqual([{ file: 'production/a.yaml', line, col, path: expect.stringMatching(/^metadata\./) as unknown as string, rule, severity: 'error', message }]);
  });

  it('warns (namespace-path) at metadata.namespace when it names another directory, and keeps the job', () => {
    const res = loadManifests([
      { path: 'production/a.yaml', content: manifest('a', '  namespace: staging\n') },
      { path: 'b.yaml', content: manifest('b', '  namespace: production\n') },
      { path: 'default/c.yaml', content: manifest('c', '  namespace: default\n') },
      { path: 'd.yaml', content: manifest('d', '  namespace: default\n') },
    ]);

    expect(res.jobs.map((j) => [j.job.metadata.name, j.namespace])).toEqual([['b', 'default'], ['d', 'default'], ['c', 'default'], ['a', 'production']]);
    expect(res.issues).toEqual([
      { file: 'b.yaml', line: 6, col: 14, path: 'metadata.namespace', rule: 'namespace-path', severity: 'warning', message: 'metadata.namespace "production" differs from the namespace of the file\'s path, "default" (its first directory; "default" at the repository root), which is the one cronsync and Crontopus agents use; move the file or correct the field' },
      { file: 'production/a.yaml', line: 6, col: 14, path: 'metadata.namespace', rule: 'namespace-path', severity: 'warning', message: 'metadata.namespace "staging" differs from the namespace of the file\'s path, "production" (its first directory; "default" at the repository root), which is the one cronsync and Crontopus agents use; move the file or correct the field' },
    ]);
  });

  it('takes the namespace from rootPath when the shown path is not relative to the source root', () => {
    const res = loadManifests([{ path: 'repos/jobs/production/a.yaml', rootPath: 'production/a.yaml', content: manifest('a', '  namespace: production\n') }]);

    expect(res.issues).toEqual([]);
    expect(res.jobs[0]!.namespace).toBe('production');
    expect(res.jobs[0]!.file).toBe('repos/jobs/production/a.yaml');
  });

  it('keeps names unique per tenant across namespaces, and says so', () => {
    const res = loadManifests([
      { path: 'production/backup.yaml', content: manifest('backup', '  namespace: production\n') },
      { path: 'staging/backup.yaml', content: manifest('backup', '  namespace: staging\n') },
    ]);

    expect(res.jobs).toEqual([]);
    expect(res.issues.map((i) => `${i.file}:${i.line}:${i.col} ${i.rule} ${i.message}`)).toEqual([
      'production/backup.yaml:4:9 name-unique job acme/backup is defined more than once (also at staging/backup.yaml:4:9); names are unique within a tenant across namespaces (production, staging)',
      'staging/backup.yaml:4:9 name-unique job acme/backup is defined more than once (also at production/backup.yaml:4:9); names are unique within a tenant across namespaces (production, staging)',
    ]);
  });
});
