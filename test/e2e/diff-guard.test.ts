/**
 * `cronsync diff` against a plan that `sync` would refuse (the mass-removal guard), and the
 * reasons given for removed jobs: a manifest deleted from the repository, or one that is still
 * there but no longer selected by `source.paths` / `source.exclude`. The built CLI as a child
 * process, a real Git repository served by `git http-backend`, a temp state dir and cron.d dir.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRepo, gitAvailable, startGitServer } from './helpers/git-server.js';
import type { GitServer } from './helpers/git-server.js';
import { ensureBuilt, fileStamps, manifest, markerJobs, runCli, writeConfig } from './fixtures/sync-cli.js';

const me = process.getuid?.() === 0 ? 'root' : userInfo().username;

interface Setup { dir: string; stateDir: string; cronDir: string; config: string; cronFile: string }

function setup(url: string, source: object = {}): Setup {
  const dir = mkdtempSync(path.join(tmpdir(), 'cronsync-e2e-diff-'));
  const stateDir = path.join(dir, 'state');
  const cronDir = path.join(dir, 'cron.d');
  mkdirSync(cronDir);
  const config = configure(dir, url, stateDir, cronDir, source);
  return { dir, stateDir, cronDir, config, cronFile: path.join(cronDir, 'cronsync') };
}

function configure(dir: string, url: string, stateDir: string, cronDir: string, source: object): string {
  return writeConfig(dir, {
    agent: { name: 'host-1', tenant: 'acme' },
    source: { url, ref: 'main', ...source },
    scheduler: { kind: 'cron.d', user: me, cronDir },
    stateDir,
    log: { level: 'warn' },
  });
}

/** The `-` lines of a plan, trimmed. */
const minusLines = (out: string): string[] => out.split('\n').filter((l) => /^\s+- /.test(l)).map((l) => l.trim());

describe.skipIf(!gitAvailable)('e2e/diff: the removal guard and removal reasons', { timeout: 60_000 }, () => {
  let server: GitServer;
  const dirs: string[] = [];

  beforeAll(async () => {
    await ensureBuilt();
    server = await startGitServer();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('diff of a plan the guard would stop: the whole plan, a line naming the guard and --force, exit 3; nothing changes', async () => {
    const repo = createRepo(server.root, 'guard', Object.fromEntries(['a', 'b', 'c', 'd'].map((n) => [`jobs/${n}.yaml`, manifest(n)])));
    const s = setup(server.repoUrl('guard'));
    dirs.push(s.dir);
    expect((await runCli(['sync', '--config', s.config])).code).toBe(0);
    const commit1 = repo.revParse('main');
    repo.commit({ 'jobs/b.yaml': null, 'jobs/c.yaml': null, 'jobs/d.yaml': null });
    const cronBefore = readFileSync(s.cronFile, 'utf8');
    const jobsBefore = fileStamps(path.join(s.stateDir, 'jobs'));
    const statusBefore = fileStamps(s.stateDir)['status.json'];

    const diff = await runCli(['diff', '--config', s.config]);
    const statusAfterDiff = fileStamps(s.stateDir)['status.json'];
    const sync = await runCli(['sync', '--config', s.config]);

    expect(diff.stderr).toBe('');
    expect(diff.code).toBe(3);
    expect(minusLines(diff.stdout)).toEqual(['b', 'c', 'd'].map((n) => `- acme/${n}  removed: manifest deleted  (was jobs/${n}.yaml @ ${commit1.slice(0, 12)})`));
    expect(diff.stdout).toContain('Plan: 0 to add, 0 to change, 3 to remove, 1 unchanged.');
    expect(diff.stdout).toContain("Removal guard: 'cronsync sync' would stop before this plan (RemovalGuardTripped): it would remove 3 of 4 installed jobs (more than half), and changes nothing. If the removal is intended, 'cronsync sync --force' (or allowMassRemoval: true) applies it.");
    expect(statusAfterDiff).toBe(statusBefore);
    // sync still stops at the guard, with the same figures.
    expect(sync.code).toBe(1);
    expect(sync.stderr).toContain('sync failed (RemovalGuardTripped): sync would remove 3 of 4 installed jobs (more than half)');
    expect(readFileSync(s.cronFile, 'utf8')).toBe(cronBefore);
    expect(markerJobs(cronBefore)).toEqual(['acme/a', 'acme/b', 'acme/c', 'acme/d']);
    expect(fileStamps(path.join(s.stateDir, 'jobs'))).toEqual(jobsBefore);
  });

  it('diff after sync --force of the same plan: no guard line, exit 0', async () => {
    const repo = createRepo(server.root, 'guard2', Object.fromEntries(['a', 'b', 'c'].map((n) => [`jobs/${n}.yaml`, manifest(n)])));
    const s = setup(server.repoUrl('guard2'));
    dirs.push(s.dir);
    expect((await runCli(['sync', '--config', s.config])).code).toBe(0);
    repo.commit({ 'jobs/b.yaml': null, 'jobs/c.yaml': null });

    const forced = await runCli(['sync', '--force', '--config', s.config]);
    const diff = await runCli(['diff', '--config', s.config]);

    expect(forced.code).toBe(0);
    expect(markerJobs(readFileSync(s.cronFile, 'utf8'))).toEqual(['acme/a']);
    expect(diff.code).toBe(0);
    expect(diff.stdout).not.toContain('Removal guard');
  });

  it('jobs dropped by narrowing source.paths / source.exclude are removed with that reason, unlike a deleted manifest', async () => {
    const repo = createRepo(server.root, 'paths', {
      'prod/a.yaml': manifest('a'),
      'prod/b.yaml': manifest('b'),
      'prod/d.yaml': manifest('d'),
      'prod/e.yaml': manifest('e'),
      'prod/f.yaml': manifest('f'),
      'staging/c.yaml': manifest('c'),
      'staging/keep.yaml': manifest('keep').replace('labels: { team: ops }', 'labels: { team: ops, cronsync.io/protect: "true" }'),
    });
    const s = setup(server.repoUrl('paths'), { paths: ['**/*.yaml'] });
    dirs.push(s.dir);
    expect((await runCli(['sync', '--config', s.config])).code).toBe(0);
    const commit1 = repo.revParse('main');
    expect(markerJobs(readFileSync(s.cronFile, 'utf8'))).toEqual(['acme/a', 'acme/b', 'acme/c', 'acme/d', 'acme/e', 'acme/f', 'acme/keep']);
    repo.commit({ 'prod/b.yaml': null });
    configure(s.dir, server.repoUrl('paths'), s.stateDir, s.cronDir, { paths: ['prod/**/*.yaml'], exclude: ['prod/e.yaml'] });

    const diff = await runCli(['diff', '--config', s.config]);
    const sync = await runCli(['sync', '--config', s.config]);
    const status = JSON.parse((await runCli(['status', '--json', '--config', s.config])).stdout) as { problems: { rule: string; message: string }[] };

    expect(diff.code).toBe(3);
    expect(minusLines(diff.stdout)).toEqual([
      `- acme/b  removed: manifest deleted  (was prod/b.yaml @ ${commit1.slice(0, 12)})`,
      `- acme/c  removed: no longer under source.paths  (was staging/c.yaml @ ${commit1.slice(0, 12)})`,
      `- acme/e  removed: excluded by source.exclude  (was prod/e.yaml @ ${commit1.slice(0, 12)})`,
    ]);
    expect(diff.stdout).toContain('! acme/keep: its manifest staging/keep.yaml is no longer under source.paths, but the job is protected (cronsync.io/protect); left installed');
    expect(sync.code).toBe(0);
    expect(minusLines(sync.stdout)).toEqual(minusLines(diff.stdout));
    expect(markerJobs(readFileSync(s.cronFile, 'utf8'))).toEqual(['acme/a', 'acme/d', 'acme/f', 'acme/keep']);
    expect(status.problems.filter((p) => p.rule === 'orphaned').map((p) => p.message)).toEqual([
      'acme/keep: its manifest staging/keep.yaml is no longer under source.paths, but the job is protected (cronsync.io/protect); left installed',
    ]);
  });
});
