/**
 * `cronsync sync` with the crontab adapter and Debian's real `crontab` binary, for a throwaway
 * user (root only; skipped otherwise), from a Git repository served over HTTP: the user's own
 * lines around the managed block survive byte-identical, and a sync with nothing to change does
 * not write the crontab (its spool file keeps its inode and mtime).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRepo, gitAvailable, startGitServer } from './helpers/git-server.js';
import type { GitServer, TestRepo } from './helpers/git-server.js';
import { ensureBuilt, manifest, markerJobs, runCli, writeConfig } from './fixtures/sync-cli.js';

const SPOOL = '/var/spool/cron/crontabs';
const isRoot = process.getuid?.() === 0;
const hasCrontab = spawnSync('sh', ['-c', 'command -v crontab && command -v useradd']).status === 0 && existsSync(SPOOL);
const canRun = isRoot && hasCrontab && gitAvailable;
if (!canRun) console.warn('test/e2e/sync-crontab: skipped: needs root, git, and the `crontab` and `useradd` programs (Debian package `cron`)');

describe.runIf(canRun)('e2e/sync: crontab adapter with the real crontab binary', { timeout: 30_000 }, () => {
  const user = `cssync${process.pid % 100000}`;
  const spoolFile = path.join(SPOOL, user);
  const before = '# my own jobs\nMAILTO=""\n*/5 * * * * /usr/bin/backup --pct 50\\%\n';
  const after = '# added later with crontab -e, below the block\n0 1 * * *\t/bin/true # tab kept\n';
  let server: GitServer;
  let repo: TestRepo;
  let dir: string;
  let config: string;
  const crontab = (): string => execFileSync('crontab', ['-u', user, '-l'], { encoding: 'utf8' });
  const stamp = (): string => {
    const s = statSync(spoolFile, { bigint: true });
    return `${s.ino}:${s.mtimeNs}`;
  };
  // The agent runs as the user whose crontab it manages, as on a real host: its entries run
  // `cronsync exec` as that user, who must be able to read the state dir.
  let ids: { uid: number; gid: number };
  const asUser = (args: string[]) => runCli(args, { ...ids, env: { HOME: dir } });
  const sync = (...args: string[]) => asUser(['sync', '--config', config, ...args]);

  beforeAll(async () => {
    await ensureBuilt();
    spawnSync('userdel', [user]);
    execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', user]);
    execFileSync('crontab', ['-u', user, '-'], { input: before });
    server = await startGitServer();
    repo = createRepo(server.root, 'jobs', {
      'a.yaml': manifest('a', { schedule: '30 2 * * *', timezone: 'America/New_York' }),
      'b.yaml': manifest('b', { schedule: '0 12 */2 * 1', extra: '  paused: true' }),
      'c.yaml': manifest('c', { schedule: '*/10 * * * *' }),
    });
    dir = mkdtempSync(path.join(tmpdir(), 'cronsync-e2e-crontab-'));
    ids = { uid: Number(execFileSync('id', ['-u', user], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', user], { encoding: 'utf8' })) };
    chownSync(dir, ids.uid, ids.gid);
    config = writeConfig(dir, {
      agent: { name: 'host-1', tenant: 'acme' },
      source: { url: server.repoUrl('jobs') },
      scheduler: { kind: 'crontab' },
      stateDir: path.join(dir, 'state'),
      log: { level: 'warn' },
    });
  }, 60_000);
  afterAll(async () => {
    spawnSync('crontab', ['-u', user, '-r']);
    spawnSync('userdel', [user]);
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('installs the block after the user\'s lines; a second sync does not write the crontab', async () => {
    const first = await sync();
    const text = crontab();
    const stampAfterFirst = stamp();

    const second = await sync();
    const diff = await asUser(['diff', '--config', config]);

    expect(first.code, first.stderr).toBe(0);
    expect(text.startsWith(before)).toBe(true);
    expect(markerJobs(text)).toEqual(['acme/a', 'acme/b', 'acme/c']);
    expect(text).toMatch(/^# BEGIN cronsync [0-9a-f]{16}$/m);
    expect(text).toMatch(/^# END cronsync [0-9a-f]{16}\n$/m);
    expect(text).toMatch(/^#paused: .* exec --scheduled .*acme\/b$/m);
    expect(text).toMatch(/^0-50\/10 \* \* \* \* \S+ \S+\/dist\/cli\/launch\.cjs exec --scheduled --state-dir \S+ acme\/c$/m);
    expect(second.code, second.stderr).toBe(0);
    expect(stamp()).toBe(stampAfterFirst);
    expect(crontab()).toBe(text);
    expect(diff.code).toBe(0);
  });

  it('keeps lines the user added after the block byte-identical across changes', async () => {
    execFileSync('crontab', ['-u', user, '-'], { input: crontab() + after });
    const withUserEdit = stamp();

    const unchanged = await sync();
    const stampUnchanged = stamp();
    repo.commit({ 'c.yaml': manifest('c', { schedule: '*/20 * * * *' }), 'a.yaml': null });
    const changed = await sync();
    const text = crontab();

    expect(unchanged.code).toBe(0);
    expect(stampUnchanged).toBe(withUserEdit);
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stdout).toMatch(/~ acme\/c /);
    expect(changed.stdout).toMatch(/- acme\/a /);
    expect(text.startsWith(before)).toBe(true);
    expect(text.endsWith(after)).toBe(true);
    expect(markerJobs(text)).toEqual(['acme/b', 'acme/c']);
    expect(text).toMatch(/^0-40\/20 \* \* \* \* .* acme\/c$/m);

    repo.commit({ 'b.yaml': null, 'c.yaml': null });
    const emptied = await sync('--force');

    expect(emptied.code, emptied.stderr).toBe(0);
    expect(crontab()).toBe(before + after);
  });

  // Debian's `crontab -l` prints a CR as the two characters `\r`, and a user cannot read their
  // own spool file: rather than turn the user's CRLF line into a literal backslash-r, the sync
  // refuses and names the line, changing nothing. (As root, test/e2e/cron.test.ts shows the
  // adapter keeps such lines byte-identical by reading the spool file.)
  it('refuses to rewrite a crontab whose own CRLF line it cannot preserve, and changes nothing', async () => {
    const crlf = '# written on Windows\r\n';
    execFileSync('crontab', ['-u', user, '-'], { input: before + crlf });
    const stampBefore = stamp();
    repo.commit({ 'd.yaml': manifest('d') });

    const r = await sync();

    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/line 4/);
    expect(stamp()).toBe(stampBefore);
    execFileSync('crontab', ['-u', user, '-'], { input: before });
    expect((await sync()).code).toBe(0);
  });

  it('after source.paths changes (a new source id), moves the jobs into one new block and removes the old one', async () => {
    const own = crontab().split('# BEGIN cronsync')[0]!;
    const oldId = /^# BEGIN cronsync (\S+)$/m.exec(crontab())![1]!;
    writeConfig(dir, {
      agent: { name: 'host-1', tenant: 'acme' },
      source: { url: server.repoUrl('jobs'), paths: ['*.yaml'] },
      scheduler: { kind: 'crontab' },
      stateDir: path.join(dir, 'state'),
      log: { level: 'warn' },
    });

    const r = await sync();
    const text = crontab();
    const diff = await asUser(['diff', '--config', config]);
    const sources = JSON.parse(readFileSync(path.join(dir, 'state', 'sources.json'), 'utf8')) as { current: string; previous: string[] };

    expect(r.code, r.stderr).toBe(0);
    expect(text.startsWith(own)).toBe(true);
    expect(text.match(/^# BEGIN cronsync /gm)).toHaveLength(1);
    expect(text).not.toContain(oldId);
    expect(markerJobs(text)).toEqual(['acme/d']);
    expect(sources.current).not.toBe(oldId);
    expect(sources.previous).toEqual([]);
    expect(diff.code).toBe(0);
  });
});
