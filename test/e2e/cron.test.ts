/**
 * The cron adapters against the real world: Debian's `crontab` binary for a throwaway user
 * (root only; skipped otherwise) and kill -9 of a process in the middle of a cron.d apply.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCronDAdapter } from '../../src/scheduler/crond/index.js';
import { createCrontabAdapter } from '../../src/scheduler/crontab/index.js';
import { nodeRunner } from '../../src/system/runner.js';
import type { Runner } from '../../src/system/runner.js';
import { desired, options, planOf, signal } from '../scheduler/fixtures.js';

const isRoot = process.getuid?.() === 0;
const hasCrontab = spawnSync('sh', ['-c', 'command -v crontab && command -v useradd']).status === 0;
const canUseRealCrontab = isRoot && hasCrontab;
if (!canUseRealCrontab) console.warn('test/e2e/cron: skipping the real crontab test: needs root and the `crontab` and `useradd` programs (Debian package `cron`)');

describe.runIf(canUseRealCrontab)('e2e/cron: real crontab binary', () => {
  const user = `cstest${process.pid % 100000}`;
  beforeAll(() => {
    spawnSync('userdel', ['-r', user]);
    execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', user]);
  });
  afterAll(() => {
    spawnSync('crontab', ['-u', user, '-r']);
    spawnSync('userdel', [user]);
  });

  it('installs the block, keeps the user\'s own lines byte-identical, and does not rewrite an unchanged crontab', async () => {
    const own = '# my jobs\nMAILTO=""\n*/5 * * * * /bin/true 50%\n';
    execFileSync('crontab', ['-u', user, '-'], { input: own });
    const calls: string[][] = [];
    const runner: Runner = { run: (cmd, opts) => (calls.push([cmd.file, ...cmd.args]), nodeRunner.run(cmd, opts)) };
    const adapter = createCrontabAdapter(options({ user, hostZone: 'Europe/Berlin' }), { runner });
    const jobs = [desired('a', '30 2 * * *', { timezone: 'America/New_York' }), desired('b', '0 12 */2 * 1', { paused: true })];

    const first = await adapter.apply(planOf(jobs), signal);
    calls.length = 0;
    const second = await adapter.apply(planOf(jobs), signal);
    expect(calls).toEqual([['crontab', '-u', user, '-l']]);
    const listed = execFileSync('crontab', ['-u', user, '-l'], { encoding: 'utf8' });
    const inv = await adapter.inventory(signal);

    expect(first.changed).toBe(true);
    expect(second.changed).toBe(false);
    expect(listed.startsWith(own)).toBe(true);
    expect(inv.filter((e) => e.marker).map((e) => [e.marker!.jobId, e.paused, e.drifted, e.raw === adapter.renderEntry(jobs.find((j) => j.id === e.marker!.jobId)!)])).toEqual([
      ['acme/a', false, false, true],
      ['acme/b', true, false, true],
    ]);
    expect(inv.filter((e) => !e.marker).map((e) => e.raw)).toEqual(['*/5 * * * * /bin/true 50%']);

    await adapter.apply(planOf([]), signal);
    expect(execFileSync('crontab', ['-u', user, '-l'], { encoding: 'utf8' })).toBe(own);
  });
});

describe('e2e/cron: kill -9 during a cron.d apply', () => {
  let bundle: string;
  let out: string;
  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'crond-bundle-'));
    bundle = join(out, 'child.mjs');
    buildSync({
      entryPoints: [join(import.meta.dirname, 'fixtures/crond-apply-child.ts')],
      bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: bundle, logLevel: 'error',
    });
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  function runChild(dir: string, count: number, schedule: string, hang: boolean): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [bundle, dir, String(count), schedule], { env: { ...process.env, HANG_BEFORE_RENAME: hang ? '1' : '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.on('data', (c: Buffer) => {
        text += c.toString();
        if (hang && text.includes('RENAMING')) child.kill('SIGKILL');
      });
      child.on('error', reject);
      child.on('exit', (code, sig) => resolve(`${text}exit=${code ?? sig}`));
    });
  }

  it('leaves the old file intact, and a re-run converges with no duplicates and no temp files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crond-kill-'));
    try {
      expect(await runChild(dir, 3, '0 1 * * *', false)).toContain('DONE');
      const before = readFileSync(join(dir, 'cronsync'), 'utf8');

      const killed = await runChild(dir, 5, '0 2 * * *', true);

      expect(killed).toContain('exit=SIGKILL');
      expect(readFileSync(join(dir, 'cronsync'), 'utf8')).toBe(before);
      expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toHaveLength(1);

      const adapter = createCronDAdapter(options({ cronDir: dir }));
      const jobs = Array.from({ length: 5 }, (_, i) => desired(`job-${i}`, '0 2 * * *'));
      expect((await adapter.apply(planOf(jobs), signal)).changed).toBe(true);
      const inv = await adapter.inventory(signal);
      expect(inv.map((e) => e.marker?.jobId)).toEqual(jobs.map((j) => j.id));
      expect(readdirSync(dir)).toEqual(['cronsync']);
      expect((await adapter.apply(planOf(jobs), signal)).changed).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
