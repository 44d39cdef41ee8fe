/**
 * Symbolic links in a Git source's tree that stand for a directory of manifests: `prod` replaced
 * by a link to `prod-v2` (with `paths: ["prod/**"]`) must not read as every job under `prod`
 * deleted. Each git source (smart HTTP against `git http-backend`, SSH through the system git,
 * a local repository through isomorphic-git) reports such a link as a `source-file` error at its
 * path, as the plain-directory source does, and a sync keeps the jobs that were under it. Links
 * to files, out of the tree, or to nothing in it are skipped, as before.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSource } from '../../src/source/index.js';
import type { Snapshot } from '../../src/source/types.js';
import { SYMLINK_DIR_REFUSED } from '../../src/system/walk.js';
import { parseCronD } from '../../src/scheduler/crond/parse.js';
import { createRepo, git, gitAvailable, makeFakeSsh, startGitServer } from './helpers/git-server.js';
import type { GitServer, TestRepo } from './helpers/git-server.js';
import { ensureBuilt, runCli } from './fixtures/sync-cli.js';

const never = new AbortController().signal;

const job = (name: string): string => `apiVersion: v1\nkind: Job\nmetadata: { name: ${name}, tenant: acme }\nspec: { schedule: "0 3 * * *", command: /bin/true }\n`;

/** One tree entry: a file's content, or `{ link: target }` for a symbolic link. */
type Entry = string | { link: string };

/**
 * Commits exactly `tree` on `main` through git's plumbing (the test helper's commit() writes
 * files only), on top of the branch. Returns the commit id.
 */
function commitTree(repo: TestRepo, tree: Record<string, Entry>): string {
  const index = `${repo.gitdir}.symlink-index`;
  rmSync(index, { force: true });
  const env = { GIT_DIR: repo.gitdir, GIT_INDEX_FILE: index };
  for (const [p, e] of Object.entries(tree)) {
    const oid = git(['hash-object', '-w', '--stdin'], { env, input: typeof e === 'string' ? e : e.link });
    git(['update-index', '--add', '--cacheinfo', `${typeof e === 'string' ? '100644' : '120000'},${oid},${p}`], { env });
  }
  const sha = git(['commit-tree', git(['write-tree'], { env }), '-p', repo.revParse('main'), '-m', 'links'], { env });
  git(['update-ref', 'refs/heads/main', sha], { env });
  return sha;
}

/** The tree after `prod/` was moved to `prod-v2/` and `prod` made a link to it, with harmless links beside. */
const SWAPPED: Record<string, Entry> = {
  'prod-v2/a.yaml': job('a'),
  'prod-v2/b.yaml': job('b'),
  prod: { link: 'prod-v2' },
  'docs/LICENSE': 'text',
  'prod-notes': { link: 'docs/LICENSE' },
  'prod-out': { link: '../elsewhere' },
  'prod-abs': { link: '/srv/jobs' },
  'prod-gone': { link: 'no-such-dir' },
};

const errors = (s: Snapshot): [string, string][] => s.files.flatMap((f) => (f.error === undefined ? [] : [[f.path, f.error]]));

describe.skipIf(!gitAvailable)('e2e: a git symlink standing for a directory of manifests', () => {
  let dir: string;
  let server: GitServer;
  let fakeSsh: string;
  let knownHosts: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cronsync-git-symlink-'));
    server = await startGitServer({ root: path.join(dir, 'srv') });
    ({ fakeSsh, knownHosts } = makeFakeSsh(dir));
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(['http', 'ssh', 'local'] as const)('over %s: the link to a directory is an error at its path; links to a file, out of the tree or to nothing are not', async (kind) => {
    const repo = createRepo(path.join(dir, 'srv'), `swap-${kind}`, { 'prod/a.yaml': job('a'), 'prod/b.yaml': job('b') });
    const url = kind === 'http' ? server.repoUrl(repo.name) : kind === 'ssh' ? `ssh://git@git.example.test${repo.gitdir}` : repo.gitdir;
    const source = createSource({ url, paths: ['prod/**/*.yaml'], ...(kind === 'ssh' ? { ssh: { knownHosts } } : {}) }, { stateDir: mkdtempSync(path.join(dir, 'state-')), sshProgram: fakeSsh });

    const before = await source.fetch(never);
    commitTree(repo, SWAPPED);
    const after = await source.fetch(never, before);

    expect(errors(before)).toEqual([]);
    expect(before.files.map((f) => f.path)).toEqual(['prod/a.yaml', 'prod/b.yaml']);
    expect(errors(after)).toEqual([['prod', expect.stringContaining(`${SYMLINK_DIR_REFUSED}; the jobs of the files that were under prod keep their last applied version`)]]);
    expect(after.files.map((f) => f.path)).toEqual(['prod']);
  }, 60_000);

  it('a sync keeps the jobs that were under the link, and reports it', async () => {
    await ensureBuilt();
    const repo = createRepo(path.join(dir, 'srv'), 'swap-sync', { 'prod/a.yaml': job('a'), 'prod/b.yaml': job('b'), 'other/c.yaml': job('c') });
    const work = mkdtempSync(path.join(dir, 'sync-'));
    mkdirSync(path.join(work, 'cron.d'));
    const config = path.join(work, 'config.yaml');
    writeFileSync(config, [
      'agent: { tenant: acme }',
      `source: { url: ${JSON.stringify(repo.gitdir)}, paths: ["prod/**/*.yaml", "other/**/*.yaml"] }`,
      `scheduler: { kind: cron.d, cronDir: ${JSON.stringify(path.join(work, 'cron.d'))} }`,
      `stateDir: ${JSON.stringify(path.join(work, 'state'))}`,
      '',
    ].join('\n'));
    const jobs = (): string[] => parseCronD(readFileSync(path.join(work, 'cron.d/cronsync'), 'utf8'), 'cronsync', '').entries.flatMap((e) => (e.marker ? [e.marker.jobId] : [])).sort();

    const first = await runCli(['sync', '--config', config]);
    const installed = jobs();
    commitTree(repo, { ...SWAPPED, 'other/c.yaml': job('c'), 'other/d.yaml': job('d') });
    const second = await runCli(['sync', '--config', config]);
    const status = JSON.parse(readFileSync(path.join(work, 'state/status.json'), 'utf8')) as { lastAttempt: { result: string }; problems: { path: string; rule: string }[] };

    expect(first.code, first.stderr).toBe(0);
    expect(installed).toEqual(['acme/a', 'acme/b', 'acme/c']);
    // The link's jobs stay; the rest of the commit (a new job elsewhere) is applied.
    expect(jobs()).toEqual(['acme/a', 'acme/b', 'acme/c', 'acme/d']);
    expect(status.lastAttempt.result).toBe('partial');
    expect(status.problems.filter((p) => p.rule === 'source-file').map((p) => p.path)).toEqual(['prod']);
    expect(second.code, second.stderr).toBe(0);
  }, 60_000);
});
