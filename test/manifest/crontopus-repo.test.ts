/**
 * test/fixtures/crontopus-repo is a manifest repository laid out and written exactly as a
 * Crontopus backend writes one (rave-altfred/crontopus):
 * - backend/crontopus_api/routes/auth.py `create_tenant_repository`: the repository
 *   `job-manifests-<tenant>` is created with Forgejo's default README, and `default/.gitkeep`
 *   and `discovered/.gitkeep` (the system namespaces); the tenant is the user name.
 * - backend/crontopus_api/routes/jobs.py `create_job` (`POST /api/jobs`): each job is
 *   `<namespace>/<name>.yaml`, a dict `{apiVersion, kind, metadata: {id: str(uuid4()), name,
 *   namespace, tenant}, spec: {schedule, command, enabled, paused}}` plus args, env, timezone
 *   and metadata.labels when given, written by PyYAML `yaml.dump(manifest, sort_keys=False,
 *   default_flow_style=False)`. `update_job` reads it back and dumps it again the same way
 *   (staging/retired-report.yaml: disabled, labels added last).
 * The YAML files were produced by PyYAML 6.0.3 from those dicts, byte for byte.
 * The namespace of a job is the first directory of its path: agent/pkg/manifest/parser.go
 * (`ParseFile`: "Get namespace from first directory component", `default` at the root).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadManifests } from '../../src/manifest/load.js';
import { cli } from '../cli/helpers.js';

const ROOT = new URL('../fixtures/crontopus-repo/', import.meta.url).pathname;

/** Every file of the fixture, path relative to its root with `/`. */
function repoFiles(dir = ROOT): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? repoFiles(join(dir, e.name)) : [relative(ROOT, join(dir, e.name)).split(sep).join('/')]));
}

describe('manifest: a repository written by Crontopus', () => {
  it('is laid out as Crontopus lays it out', () => {
    expect(repoFiles().sort()).toEqual([
      'README.md', 'default/.gitkeep', 'default/cleanup-tmp.yaml', 'discovered/.gitkeep',
      'production/daily-db-backup.yaml', 'production/health-check.yaml', 'staging/retired-report.yaml', 'staging/sample-job.yaml',
    ]);
  });

  it('loads every job with its id, and the namespace of its directory', () => {
    const inputs = repoFiles().filter((p) => p.endsWith('.yaml')).map((path) => ({ path, content: readFileSync(join(ROOT, path)) }));

    const res = loadManifests(inputs);

    expect(res.issues).toEqual([]);
    expect(res.jobs.map((j) => [j.file, j.namespace, j.job.metadata.namespace, j.job.metadata.id, j.job.spec.enabled, j.job.spec.paused])).toEqual([
      ['default/cleanup-tmp.yaml', 'default', 'default', '0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f', true, false],
      ['production/daily-db-backup.yaml', 'production', 'production', '3f2c8a4e-5b7d-4e1a-9c6f-0d8b2a7e4c19', true, false],
      ['production/health-check.yaml', 'production', 'production', 'b1e9d2c7-4a3f-4f8e-8d2b-6c5a1e0f9b34', true, false],
      ['staging/retired-report.yaml', 'staging', 'staging', '5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a', false, true],
      ['staging/sample-job.yaml', 'staging', 'staging', '9a7b6c5d-4e3f-4a2b-b1c0-d9e8f7a6b5c4', true, true],
    ]);
    expect(res.jobs[1]!.job.spec).toMatchObject({ schedule: '0 2 * * *', timezone: 'America/New_York', args: ['--database=prod', '--retention=30d'], env: { COMPRESS: 'yes' } });
  });

  it('passes `cronsync lint` run at its root without a warning', async () => {
    const res = await cli(['lint'], ROOT);

    expect(res).toEqual({ code: 0, out: '5 file(s), 5 valid job(s), 0 error(s), 0 warning(s)\n', err: '' });
  });

  it('passes `cronsync lint test/fixtures/crontopus-repo` (exit 0, no error, no warning)', async () => {
    const res = await cli(['lint', 'test/fixtures/crontopus-repo'], join(ROOT, '../../..'));

    expect(res.out).toBe('5 file(s), 5 valid job(s), 0 error(s), 0 warning(s)\n');
    expect([res.code, res.err]).toEqual([0, '']);
  });
});
