/**
 * The cron adapters against the real world: Debian's `crontab` binary for a throwaway user
 * (root only; skipped otherwise) and kill -9 of a process in the middle of a cron.d apply.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCronDAdapter } from '../../src/scheduler/crond/index.js';
import { createCrontabAdapter } from '../../src/scheduler/crontab/index.js';
import { DEBIAN_SPOOL_DIR as SPOOL, stripSpoolHeader } from '../../src/scheduler/crontab/spool.js';
import { nodeRunner } from '../../src/system/runner.js';
import type { Runner } from '../../src/system/runner.js';
import { fakeCrontab } from '../fakes/FakeRunner.js';
import { desired, options, planOf, signal } from '../scheduler/fixtures.js';

/** Job ids of the markers in a crontab text. */
const markerIds = (text: string): string[] => [...text.matchAll(/^# cronsync:v1 .*"job":"([^"]+)"/gm)].map((m) => m[1]!);

const isRoot = process.getuid?.() === 0;
const hasCrontab = spawnSync('sh', ['-c', 'command -v crontab && command -v useradd']).status === 0;
const canUseRealCrontab = isRoot && hasCrontab && existsSync(SPOOL);
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
    // As root the adapter reads the spool file: no `crontab` call at all when nothing changed.
    expect(calls).toEqual([]);
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

  it('keeps CR, backspace and non-UTF-8 bytes of the user exactly (spool read), and refuses via `crontab -l`', async () => {
    const own = Buffer.concat([Buffer.from('# from Windows\r\n*/5 * * * * printf \'a\\rb\' >/dev/null\r\n# bs \x08 caf'), Buffer.from([0xe9]), Buffer.from('\n')]);
    execFileSync('crontab', ['-u', user, '-'], { input: own });
    const adapter = createCrontabAdapter(options({ user, hostZone: 'UTC' }), { runner: nodeRunner });
    const viaList = createCrontabAdapter(options({ user, hostZone: 'UTC' }), { runner: nodeRunner, crontabSpool: null });

    const refused = await viaList.apply(planOf([desired('a', '0 2 * * *')]), signal).catch((e: unknown) => e);
    await adapter.apply(planOf([desired('a', '0 2 * * *')]), signal);
    const spool = readFileSync(join(SPOOL, user));

    expect((refused as Error).message).toMatch(/line 1 shows "\\r"/);
    expect(stripSpoolHeader(spool.toString('latin1')).startsWith(own.toString('latin1'))).toBe(true);
    expect(markerIds(spool.toString('utf8'))).toEqual(['acme/a']);
    await adapter.apply(planOf([]), signal);
    expect(stripSpoolHeader(readFileSync(join(SPOOL, user)).toString('latin1'))).toBe(own.toString('latin1'));
  });

  it('the fake crontab behaves like the real one: listing escapes, spool header, final-newline rule', async () => {
    // Lines the real binary accepts (the fake does not check cron syntax).
    const inputs = ['# a\r\n# \x08\x07\t\\r x\n* * * * * echo hi\r\n', '# one\n# two\n# three\n# four\n', '* * * * * x', '# last line a comment', '   '];
    for (const input of inputs) {
      const tabs = new Map<string, string>();
      const fake = fakeCrontab(tabs);
      const real = spawnSync('crontab', ['-u', user, '-'], { input });
      const faked = await fake.run({ file: 'crontab', args: ['-u', user, '-'] }, { stdin: input });

      expect(faked.exitCode === 0, JSON.stringify(input)).toBe(real.status === 0);
      if (real.status !== 0) continue;
      const fakeSpool = await fake.spool.read(user);
      const realSpool = readFileSync(join(SPOOL, user), 'latin1');
      expect(fakeSpool.kind === 'file' && stripSpoolHeader(Buffer.from(fakeSpool.bytes).toString('latin1'))).toBe(stripSpoolHeader(realSpool));
      expect(realSpool).not.toBe(stripSpoolHeader(realSpool));
      expect((await fake.run({ file: 'crontab', args: ['-u', user, '-l'] })).stdout).toBe(execFileSync('crontab', ['-u', user, '-l'], { encoding: 'utf8' }));
    }
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
      // CommonJS dependencies (pino, via the test fixtures) call require(): give the ESM bundle one.
      banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
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
