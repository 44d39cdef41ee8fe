/**
 * Something other than a directory where a Git source keeps its clone (`<stateDir>/sources/<id>`,
 * or `<stateDir>/sources` itself): the entry is removed with a warning naming it and the source
 * is cloned again, over HTTP (`git http-backend`) and over SSH (system git, a stand-in ssh). A
 * symlink there is removed itself: nothing it points at, outside the state dir, is touched. A
 * symlink at `sources` is an administrator's relocation: used when it leads to a directory,
 * never removed otherwise (the fetch fails, naming it).
 */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSource } from '../../src/source/index.js';
import { sourceIdOf } from '../../src/source/select.js';
import type { SourceLog } from '../../src/source/types.js';
import { createRepo, gitAvailable, makeFakeSsh, startGitServer } from './helpers/git-server.js';
import type { GitServer, TestRepo } from './helpers/git-server.js';
import { ensureBuilt, manifest, markerJobs, runCli, writeConfig } from './fixtures/sync-cli.js';

const never = new AbortController().signal;

/** A SourceLog that keeps the warnings. */
function recordingLog(): SourceLog & { warnings: Array<Record<string, unknown>> } {
  const warnings: Array<Record<string, unknown>> = [];
  return { warnings, debug: () => undefined, info: () => undefined, warn: (obj: object, msg?: string) => void warnings.push({ ...obj, msg }) };
}

/** Every entry under `dir` with its kind and, for files, content: a fingerprint of a tree. */
function fingerprint(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).sort().map((f) => {
    const st = lstatSync(path.join(dir, f));
    return st.isFile() ? `${f}=${readFileSync(path.join(dir, f), 'utf8')}` : `${f}/`;
  });
}

/** Damage done to the state dir before a fetch; returns the path the warning must name. */
type Damage = (stateDir: string, id: string, outside: string) => string;

const DAMAGE: Array<[string, Damage]> = [
  ['a regular file at sources/<id>', (stateDir, id) => {
    mkdirSync(path.join(stateDir, 'sources'), { recursive: true });
    writeFileSync(path.join(stateDir, 'sources', id), 'not a clone\n');
    return path.join(stateDir, 'sources', id);
  }],
  ['a symlink at sources/<id> to a directory outside the state dir', (stateDir, id, outside) => {
    mkdirSync(path.join(stateDir, 'sources'), { recursive: true });
    symlinkSync(outside, path.join(stateDir, 'sources', id));
    return path.join(stateDir, 'sources', id);
  }],
  ['a symlink at sources/<id> to a file outside the state dir', (stateDir, id, outside) => {
    mkdirSync(path.join(stateDir, 'sources'), { recursive: true });
    symlinkSync(path.join(outside, 'keep.txt'), path.join(stateDir, 'sources', id));
    return path.join(stateDir, 'sources', id);
  }],
  ['a dangling symlink at sources/<id>', (stateDir, id, outside) => {
    mkdirSync(path.join(stateDir, 'sources'), { recursive: true });
    symlinkSync(path.join(outside, 'missing'), path.join(stateDir, 'sources', id));
    return path.join(stateDir, 'sources', id);
  }],
  ['a FIFO at sources/<id>', (stateDir, id) => {
    mkdirSync(path.join(stateDir, 'sources'), { recursive: true });
    expect(spawnSync('mkfifo', [path.join(stateDir, 'sources', id)]).status).toBe(0);
    return path.join(stateDir, 'sources', id);
  }],
  ['a regular file at sources', (stateDir) => {
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(path.join(stateDir, 'sources'), 'not a directory\n');
    return path.join(stateDir, 'sources');
  }],
];

describe.skipIf(!gitAvailable || process.platform === 'win32')('e2e/clone-dir: a clone path that is not a directory is rebuilt', { timeout: 60_000 }, () => {
  let server: GitServer;
  let repo: TestRepo;
  let dir: string;
  let fakeSsh: string;
  let knownHosts: string;

  beforeAll(async () => {
    await ensureBuilt();
    server = await startGitServer();
    repo = createRepo(server.root, 'jobs', { 'jobs/a.yaml': manifest('a'), 'jobs/b.yaml': manifest('b') });
    dir = mkdtempSync(path.join(tmpdir(), 'cronsync-e2e-clone-dir-'));
    ({ fakeSsh, knownHosts } = makeFakeSsh(dir));
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh state dir and an outside directory (with a file in it) for one case. */
  function caseDirs(): { stateDir: string; outside: string } {
    const base = mkdtempSync(path.join(dir, 'case-'));
    const outside = path.join(base, 'outside');
    mkdirSync(path.join(outside, 'sub'), { recursive: true });
    writeFileSync(path.join(outside, 'keep.txt'), 'precious\n');
    writeFileSync(path.join(outside, 'sub', 'HEAD'), 'not ours\n');
    return { stateDir: path.join(base, 'state'), outside };
  }

  const transports = [
    ['http', () => ({ url: server.repoUrl('jobs'), ref: 'main' })],
    ['ssh', () => ({ url: `ssh://git@git.example.test${repo.gitdir}`, ref: 'main', ssh: { knownHosts } })],
  ] as const;

  for (const [transport, configOf] of transports) {
    it.each(DAMAGE)(`${transport}: %s`, async (_name, damage) => {
      const { stateDir, outside } = caseDirs();
      const config = configOf();
      const id = sourceIdOf(config);
      const bad = damage(stateDir, id, outside);
      const outsideBefore = fingerprint(outside);
      const log = recordingLog();
      const source = createSource(config, { stateDir, log, ...(transport === 'ssh' ? { sshProgram: fakeSsh } : {}) });

      const snap = await source.fetch(never);
      const again = await createSource(config, { stateDir, log: recordingLog(), ...(transport === 'ssh' ? { sshProgram: fakeSsh } : {}) }).fetch(never);

      expect(snap.files.map((f) => f.path)).toEqual(['jobs/a.yaml', 'jobs/b.yaml']);
      expect(snap.commit).toBe(repo.revParse('main'));
      expect(again.commit).toBe(snap.commit);
      expect(log.warnings).toEqual([expect.objectContaining({ path: bad, msg: 'Source clone path is not a directory; removed, the source is cloned again' })]);
      for (const p of [path.join(stateDir, 'sources'), path.join(stateDir, 'sources', id)]) expect(lstatSync(p).isDirectory()).toBe(true);
      expect(readdirSync(path.join(stateDir, 'sources', id))).toContain('HEAD');
      expect(fingerprint(outside)).toEqual(outsideBefore);
    });
  }

  it.each(transports)('%s: sources as a symlink to a directory elsewhere (clones moved to another disk) is kept and used', async (transport, configOf) => {
    const { stateDir, outside } = caseDirs();
    const elsewhere = path.join(outside, 'clones');
    mkdirSync(elsewhere);
    mkdirSync(stateDir, { recursive: true });
    symlinkSync(elsewhere, path.join(stateDir, 'sources'));
    const config = configOf();
    const log = recordingLog();

    const snap = await createSource(config, { stateDir, log, ...(transport === 'ssh' ? { sshProgram: fakeSsh } : {}) }).fetch(never);

    expect(snap.files.map((f) => f.path)).toEqual(['jobs/a.yaml', 'jobs/b.yaml']);
    expect(log.warnings).toEqual([]);
    expect(lstatSync(path.join(stateDir, 'sources')).isSymbolicLink()).toBe(true);
    expect(readdirSync(path.join(elsewhere, sourceIdOf(config)))).toContain('HEAD');
  });

  it.each([
    ['a disk not mounted (a dangling link)', (stateDir: string, outside: string) => symlinkSync(path.join(outside, 'not-mounted'), path.join(stateDir, 'sources')), /target cannot be followed \(ENOENT\)/],
    ['a loop', (stateDir: string) => symlinkSync(path.join(stateDir, 'sources'), path.join(stateDir, 'sources')), /target cannot be followed \(ELOOP\)/],
    ['a link to a file', (stateDir: string, outside: string) => symlinkSync(path.join(outside, 'keep.txt'), path.join(stateDir, 'sources')), /target is not a directory/],
  ] as const)('sources as a symlink that leads to no directory (%s) is never removed: the fetch fails naming it', async (_name, make, why) => {
    const { stateDir, outside } = caseDirs();
    mkdirSync(stateDir, { recursive: true });
    make(stateDir, outside);
    const before = readlinkSync(path.join(stateDir, 'sources'));
    const outsideBefore = fingerprint(outside);

    const fetched = createSource({ url: server.repoUrl('jobs'), ref: 'main' }, { stateDir, log: recordingLog() }).fetch(never);

    await expect(fetched).rejects.toMatchObject({ code: expect.stringMatching(/^CRONSYNC_SOURCE/), message: expect.stringMatching(why) });
    await expect(fetched).rejects.toMatchObject({ message: expect.stringContaining(`${path.join(stateDir, 'sources')} is a symbolic link whose target`) });
    expect(readlinkSync(path.join(stateDir, 'sources'))).toBe(before);
    expect(fingerprint(outside)).toEqual(outsideBefore);
  });

  it('cronsync sync over a regular file at the clone path: warns naming it, clones again and installs the jobs', async () => {
    const { stateDir } = caseDirs();
    const cronDir = path.join(path.dirname(stateDir), 'cron.d');
    mkdirSync(cronDir);
    const source = { url: server.repoUrl('jobs'), ref: 'main' };
    const config = writeConfig(path.dirname(stateDir), {
      agent: { name: 'host-1', tenant: 'acme' },
      source,
      scheduler: { kind: 'cron.d', user: process.getuid?.() === 0 ? 'root' : 'nobody', cronDir },
      stateDir,
      log: { level: 'warn' },
    });
    const bad = path.join(stateDir, 'sources', sourceIdOf({ ...source, paths: ['**/*.{yaml,yml}'], exclude: [] }));
    mkdirSync(path.dirname(bad), { recursive: true });
    writeFileSync(bad, 'junk\n');

    const first = await runCli(['sync', '--config', config]);
    const second = await runCli(['sync', '--config', config]);

    expect(first.code).toBe(0);
    expect(first.stderr).toContain('"msg":"Source clone path is not a directory; removed, the source is cloned again"');
    expect(first.stderr).toContain(`"path":${JSON.stringify(bad)}`);
    expect(first.stderr).toContain('"found":"a regular file"');
    expect(markerJobs(readFileSync(path.join(cronDir, 'cronsync'), 'utf8'))).toEqual(['acme/a', 'acme/b']);
    expect(lstatSync(bad).isDirectory()).toBe(true);
    expect(second.code).toBe(0);
    expect(second.stderr).toBe('');
  });
});
