/**
 * A plain-directory source in which a directory of manifests is replaced by a symlink to it
 * (`mv real ../real2 && ln -s ../real2 real`), with the built CLI. Symlinks are never followed:
 * skipped without a word, the files under it looked deleted and their jobs were removed as
 * "manifest deleted". Now the link is an error at its path: the jobs of the files that were under
 * it keep their entries, and the rest of the source syncs.
 */
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, manifest, markerJobs, runCli, writeConfig } from './fixtures/sync-cli.js';

const me = process.getuid?.() === 0 ? 'root' : userInfo().username;

describe.skipIf(process.platform === 'win32')('e2e/dir-symlink: a directory of manifests replaced by a symlink to it', { timeout: 60_000 }, () => {
  let dir: string;
  let jobs: string;
  let cronFile: string;
  let config: string;
  const run = (cmd: string) => runCli([cmd, '--config', config]);
  const status = () => JSON.parse(readFileSync(path.join(dir, 'state', 'status.json'), 'utf8')) as { lastAttempt: { result: string; error: string | null } };

  beforeAll(async () => {
    await ensureBuilt();
    dir = mkdtempSync(path.join(tmpdir(), 'cronsync-e2e-dir-symlink-'));
    jobs = path.join(dir, 'jobs');
    mkdirSync(path.join(jobs, 'real'), { recursive: true });
    mkdirSync(path.join(dir, 'crond'));
    writeFileSync(path.join(jobs, 'a.yaml'), manifest('a'));
    writeFileSync(path.join(jobs, 'real', 'x.yaml'), manifest('x'));
    cronFile = path.join(dir, 'crond', 'cronsync');
    config = writeConfig(dir, {
      agent: { name: 'host-1', tenant: 'acme' },
      source: { url: jobs },
      scheduler: { kind: 'cron.d', user: me, cronDir: path.join(dir, 'crond') },
      stateDir: path.join(dir, 'state'),
      log: { level: 'warn' },
    });
  }, 60_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('diff and sync report the link at its path, keep the jobs under it, sync the rest, and sync again once the directory is back', async () => {
    const first = await run('sync');
    const before = readFileSync(cronFile, 'utf8');
    renameSync(path.join(jobs, 'real'), path.join(dir, 'real2'));
    symlinkSync('../real2', path.join(jobs, 'real'));
    // A change elsewhere in the source, which must still apply.
    writeFileSync(path.join(jobs, 'b.yaml'), manifest('b'));
    const refused = 'symbolic link not followed: it leads to a directory, and no manifest under it is read';

    const diff = await run('diff');
    const sync = await run('sync');
    const s = status();
    const after = readFileSync(cronFile, 'utf8');
    unlinkSync(path.join(jobs, 'real'));
    renameSync(path.join(dir, 'real2'), path.join(jobs, 'real'));
    const back = await run('sync');

    expect(first.code, first.stderr).toBe(0);
    expect(markerJobs(before)).toEqual(['acme/a', 'acme/x']);
    expect(diff.code).toBe(3);
    expect(sync.code, sync.stderr).toBe(0);
    for (const r of [diff, sync]) {
      expect(r.stderr + r.stdout).toContain(refused);
      expect(r.stderr + r.stdout).toContain('acme/x: its manifest real/x.yaml is under real, which could not be read');
      expect(r.stderr + r.stdout).not.toContain('removed');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(s.lastAttempt.result).toBe('partial');
    expect(JSON.stringify(s)).toContain(refused);
    expect(markerJobs(after)).toEqual(['acme/a', 'acme/b', 'acme/x']);
    expect(back.code, back.stderr).toBe(0);
    expect(markerJobs(readFileSync(cronFile, 'utf8'))).toEqual(['acme/a', 'acme/b', 'acme/x']);
  });
});
