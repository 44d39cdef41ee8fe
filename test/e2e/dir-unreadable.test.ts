/**
 * A plain-directory source with a file or a directory the agent's user may not read (a chmod
 * gone wrong), with the real CLI run as `nobody` (root cannot be refused a read; skipped unless
 * root). An unreadable file is that file's error: its job keeps its last version, the others
 * sync. An unreadable directory is an error at its path: its files are not known to be gone, so
 * the jobs of the files under it keep their last version, and the rest syncs.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, manifest, markerJobs, runCli, writeConfig } from './fixtures/sync-cli.js';

const NOBODY = 65534;
const canRun = process.getuid?.() === 0 && spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim() === String(NOBODY);
if (!canRun) console.warn('test/e2e/dir-unreadable: skipped: needs root and the user nobody (uid 65534)');

describe.runIf(canRun)('e2e/dir-unreadable: a manifest or directory the agent may not read', { timeout: 60_000 }, () => {
  let dir: string;
  let jobs: string;
  let cronFile: string;
  let config: string;
  const sync = () => runCli(['sync', '--config', config], { uid: NOBODY, gid: NOBODY, env: { HOME: dir } });
  const status = () => JSON.parse(readFileSync(path.join(dir, 'state', 'status.json'), 'utf8')) as { lastAttempt: { result: string }; problems: Array<{ path: string; rule: string; message: string }>; jobs: Array<{ id: string; state: string; schedule: string }> };

  beforeAll(async () => {
    await ensureBuilt();
    dir = mkdtempSync(path.join(tmpdir(), 'cronsync-e2e-unreadable-'));
    jobs = path.join(dir, 'jobs');
    mkdirSync(jobs);
    mkdirSync(path.join(dir, 'crond'));
    for (const p of [dir, path.join(dir, 'crond')]) chownSync(p, NOBODY, NOBODY);
    writeFileSync(path.join(jobs, 'a.yaml'), manifest('a'));
    writeFileSync(path.join(jobs, 'b.yaml'), manifest('b'));
    cronFile = path.join(dir, 'crond', 'cronsync');
    config = writeConfig(dir, {
      agent: { name: 'host-1', tenant: 'acme' },
      source: { url: jobs },
      scheduler: { kind: 'cron.d', user: 'nobody', cronDir: path.join(dir, 'crond') },
      stateDir: path.join(dir, 'state'),
      log: { level: 'warn' },
    });
  }, 60_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('an unreadable file is reported as that file\'s error and keeps its job; a change to another file applies', async () => {
    const first = await sync();
    const before = readFileSync(cronFile, 'utf8');
    chmodSync(path.join(jobs, 'b.yaml'), 0o000);
    writeFileSync(path.join(jobs, 'a.yaml'), manifest('a', { schedule: '45 4 * * *' }));

    const second = await sync();
    const after = readFileSync(cronFile, 'utf8');
    const s = status();

    expect(first.code, first.stderr).toBe(0);
    expect(markerJobs(before)).toEqual(['acme/a', 'acme/b']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).not.toMatch(/\n\s+at /);
    expect(s.lastAttempt.result).toBe('partial');
    expect(s.problems).toContainEqual(expect.objectContaining({ path: 'b.yaml', rule: 'source-file', message: expect.stringContaining('cannot read the file (EACCES: permission denied') }));
    expect(s.jobs.map((j) => [j.id, j.state, j.schedule])).toEqual([['acme/a', 'installed', '45 4 * * *'], ['acme/b', 'invalid', '15 3 * * *']]);
    expect(markerJobs(after)).toEqual(['acme/a', 'acme/b']);
    expect(after).toMatch(/^45 4 \* \* \* nobody /m);
    // b's line is the one installed before, byte for byte.
    const bLine = (text: string) => text.split('\n').filter((l) => l.includes('acme/b'));
    expect(bLine(after)).toEqual(bLine(before));
    chmodSync(path.join(jobs, 'b.yaml'), 0o644);
  });

  it('an unreadable directory is an error at its path: its jobs stay, a change elsewhere applies', async () => {
    await sync();
    const before = readFileSync(cronFile, 'utf8');
    mkdirSync(path.join(jobs, 'team'));
    writeFileSync(path.join(jobs, 'team', 'c.yaml'), manifest('c'));
    const added = await sync();
    const withC = readFileSync(cronFile, 'utf8');
    chmodSync(path.join(jobs, 'team'), 0o000);
    writeFileSync(path.join(jobs, 'd.yaml'), manifest('d'));

    const refused = await sync();
    const s = status();
    chmodSync(path.join(jobs, 'team'), 0o755);

    expect(markerJobs(before)).toEqual(['acme/a', 'acme/b']);
    expect(added.code, added.stderr).toBe(0);
    expect(markerJobs(withC)).toEqual(['acme/a', 'acme/b', 'acme/c']);
    expect(refused.code, refused.stderr).toBe(0);
    expect(refused.stderr + refused.stdout).toContain('team:1:1: [source-file] cannot list this directory (EACCES)');
    expect(refused.stderr + refused.stdout).toContain('acme/c: its manifest team/c.yaml is under team, which could not be read');
    expect(refused.stderr + refused.stdout).not.toContain('removed');
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    expect(s.lastAttempt.result).toBe('partial');
    expect(markerJobs(readFileSync(cronFile, 'utf8'))).toEqual(['acme/a', 'acme/b', 'acme/c', 'acme/d']);
  });
});
