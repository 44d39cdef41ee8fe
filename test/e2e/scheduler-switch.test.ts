/**
 * A change of scheduler kind with the real CLI, Debian's real `crontab` binary and a cron.d
 * directory in a temp dir, for a throwaway user (root only; skipped otherwise): the jobs the
 * user's crontab still holds are reported by every sync until `prune --scheduler crontab`
 * removes them, which keeps the user's own lines and the snapshots the cron.d entries run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, manifest, markerJobs, runCli, writeConfig } from './fixtures/sync-cli.js';

const SPOOL = '/var/spool/cron/crontabs';
const isRoot = process.getuid?.() === 0;
const canRun = isRoot && spawnSync('sh', ['-c', 'command -v crontab && command -v useradd']).status === 0 && existsSync(SPOOL);
if (!canRun) console.warn('test/e2e/scheduler-switch: skipped: needs root and the `crontab` and `useradd` programs (Debian package `cron`)');

describe.runIf(canRun)('e2e/scheduler-switch: crontab to cron.d', { timeout: 60_000 }, () => {
  const user = `csswitch${process.pid % 100000}`;
  const own = '# my own jobs\n*/5 * * * * /usr/bin/backup\n';
  let dir: string;
  let config: string;
  let ids: { uid: number; gid: number };
  const crontab = (): string => execFileSync('crontab', ['-u', user, '-l'], { encoding: 'utf8' });
  const cli = (...args: string[]) => runCli([...args, '--config', config], { ...ids, env: { HOME: dir } });

  beforeAll(async () => {
    await ensureBuilt();
    spawnSync('userdel', [user]);
    execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', user]);
    execFileSync('crontab', ['-u', user, '-'], { input: own });
    dir = mkdtempSync(path.join(tmpdir(), 'cronsync-e2e-switch-'));
    ids = { uid: Number(execFileSync('id', ['-u', user], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', user], { encoding: 'utf8' })) };
    mkdirSync(path.join(dir, 'jobs'));
    mkdirSync(path.join(dir, 'crond'));
    writeFileSync(path.join(dir, 'jobs', 'a.yaml'), manifest('a', { schedule: '*/10 * * * *' }));
    writeFileSync(path.join(dir, 'jobs', 'b.yaml'), manifest('b'));
    for (const p of [dir, path.join(dir, 'jobs'), path.join(dir, 'crond')]) chownSync(p, ids.uid, ids.gid);
    config = writeConfig(dir, {
      agent: { name: 'host-1', tenant: 'acme' },
      source: { url: path.join(dir, 'jobs') },
      scheduler: { kind: 'crontab', cronDir: path.join(dir, 'crond') },
      stateDir: path.join(dir, 'state'),
      log: { level: 'warn' },
    });
  }, 60_000);
  afterAll(() => {
    spawnSync('crontab', ['-u', user, '-r']);
    spawnSync('userdel', [user]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reports the jobs left in the crontab, also one removed from Git, until prune --scheduler crontab removes them', async () => {
    const before = await cli('sync');
    const switched = await cli('sync', '--scheduler', 'cron.d');
    unlinkSync(path.join(dir, 'jobs', 'b.yaml'));
    const removed = await cli('sync', '--scheduler', 'cron.d');
    const status = JSON.parse((await cli('status', '--json')).stdout) as { problems: Array<{ rule: string; message: string }> };
    const leftover = crontab();

    const pruned = await cli('prune', '--all', '--force', '--scheduler', 'crontab');
    const after = await cli('sync', '--scheduler', 'cron.d');
    const diff = await cli('diff', '--scheduler', 'cron.d');

    expect(before.code, before.stderr).toBe(0);
    expect(switched.code, switched.stderr).toBe(0);
    expect(switched.stdout).toMatch(/Warning \[other-scheduler\]: 2 jobs of this agent \(acme\/a, acme\/b\) are still installed in the crontab scheduler, which this agent no longer uses \(it uses cron\.d\)/);
    expect(removed.stdout).toMatch(/- acme\/b /);
    expect(removed.stdout).toMatch(/\(acme\/a, acme\/b\) are still installed in the crontab scheduler/);
    expect(status.problems.map((p) => p.rule)).toEqual(['other-scheduler']);
    expect(markerJobs(leftover)).toEqual(['acme/a', 'acme/b']);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(crontab()).toBe(own);
    expect(existsSync(path.join(dir, 'state', 'jobs', 'acme', 'a.json'))).toBe(true);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).not.toMatch(/other-scheduler/);
    expect(diff.code).toBe(0);
    expect(diff.stdout).not.toMatch(/other-scheduler/);
  });

  it('a change of kind and of source id in one edit: the old entries stay reported at every sync and prunable, and the old id goes once they are', async () => {
    const own2 = crontab();
    const d = mkdtempSync(path.join(tmpdir(), 'cronsync-e2e-switch2-'));
    try {
      mkdirSync(path.join(d, 'jobs'));
      mkdirSync(path.join(d, 'crond'));
      writeFileSync(path.join(d, 'jobs', 'c.yaml'), manifest('c'));
      for (const p of [d, path.join(d, 'jobs'), path.join(d, 'crond')]) chownSync(p, ids.uid, ids.gid);
      const base = { agent: { name: 'host-1', tenant: 'acme' }, stateDir: path.join(d, 'state'), log: { level: 'warn' } };
      const cfg = writeConfig(d, { ...base, source: { url: path.join(d, 'jobs') }, scheduler: { kind: 'crontab', cronDir: path.join(d, 'crond') } });
      const run = (...args: string[]) => runCli([...args, '--config', cfg], { ...ids, env: { HOME: d } });
      const sources = () => JSON.parse(readFileSync(path.join(d, 'state', 'sources.json'), 'utf8')) as { current: string; previous: string[] };

      const installed = await run('sync');
      const tab = crontab();
      const oldId = sources().current;
      // One edit: another kind, and `paths` (part of the source id) narrowed.
      writeConfig(d, { ...base, source: { url: path.join(d, 'jobs'), paths: ['*.yaml'] }, scheduler: { kind: 'cron.d', cronDir: path.join(d, 'crond') } });
      const first = await run('sync');
      const second = await run('sync');
      const recorded = sources();
      const status = JSON.parse((await run('status', '--json')).stdout) as { problems: Array<{ rule: string }> };
      const pruned = await run('prune', '--all', '--force', '--scheduler', 'crontab');
      const after = await run('sync');

      expect(installed.code, installed.stderr).toBe(0);
      expect(markerJobs(tab)).toEqual(['acme/c']);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toMatch(/1 job of this agent \(acme\/c\) is still installed in the crontab scheduler/);
      expect(second.stdout).toMatch(/1 job of this agent \(acme\/c\) is still installed in the crontab scheduler/);
      expect(recorded.current).not.toBe(oldId);
      expect(recorded.previous).toEqual([oldId]);
      expect(status.problems.map((p) => p.rule)).toEqual(['other-scheduler']);
      expect(pruned.code, pruned.stderr).toBe(0);
      expect(crontab()).toBe(own2);
      expect(after.code, after.stderr).toBe(0);
      expect(after.stdout).not.toMatch(/other-scheduler/);
      expect(sources().previous).toEqual([]);
      expect(markerJobs(readFileSync(path.join(d, 'crond', 'cronsync'), 'utf8'))).toEqual(['acme/c']);
    } finally {
      spawnSync('crontab', ['-u', user, '-'], { input: own2 });
      rmSync(d, { recursive: true, force: true });
    }
  });
});
