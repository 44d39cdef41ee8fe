/**
 * The command length limit cronsync enforces is Debian's own: the longest entry it renders is
 * accepted by the real `crontab` binary (root only; skipped otherwise), one more character is
 * refused by both.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SchedulerError } from '../../src/errors.js';
import { MAX_COMMAND } from '../../src/scheduler/cronline/entry.js';
import { createCrontabAdapter } from '../../src/scheduler/crontab/index.js';
import { DEBIAN_SPOOL_DIR } from '../../src/scheduler/crontab/spool.js';
import { nodeRunner } from '../../src/system/runner.js';
import { desired, options, planOf, signal } from './fixtures.js';

const canRun = process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v crontab && command -v useradd']).status === 0 && existsSync(DEBIAN_SPOOL_DIR);
if (!canRun) console.warn('test/scheduler/crontab-limits: skipped: needs root and the `crontab` and `useradd` programs (Debian package `cron`)');

/** An exec path that makes the command of `acme/a` exactly `length` characters. */
const execOf = (length: number): string => `/opt/${'x'.repeat(length - ' exec --scheduled acme/a'.length - 5)}`;

describe.runIf(canRun)('scheduler/crontab: Debian command length limit (real crontab)', () => {
  const user = `cslim${process.pid % 100000}`;
  beforeAll(() => {
    spawnSync('userdel', [user]);
    execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', user]);
  });
  afterAll(() => {
    spawnSync('crontab', ['-u', user, '-r']);
    spawnSync('userdel', [user]);
  });

  it('installs a command of MAX_COMMAND - 1 characters; crontab refuses one more, and so does the adapter', async () => {
    const fits = createCrontabAdapter(options({ user, execCommand: { file: execOf(MAX_COMMAND - 1), args: [] } }), { runner: nodeRunner });
    const over = createCrontabAdapter(options({ user, execCommand: { file: execOf(MAX_COMMAND), args: [] } }), { runner: nodeRunner });
    const job = desired('a', '0 2 * * *');

    await fits.apply(planOf([job]), signal);
    const listed = execFileSync('crontab', ['-u', user, '-l'], { encoding: 'utf8' });
    const line = listed.split('\n').find((l) => l.startsWith('0 2 * * * '))!;
    const refused = spawnSync('crontab', ['-u', user, '-'], { input: `${listed}0 2 * * * ${line.slice(10)}x\n`, encoding: 'utf8' });

    expect(line.length - '0 2 * * * '.length).toBe(MAX_COMMAND - 1);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/command too long/);
    expect(() => over.renderEntry(job)).toThrow(SchedulerError);
  });

  it('leaves out the new jobs that would pass the 10,000-line limit, reports them as refused, and installs the rest', async () => {
    // Someone's own crontab of 9,990 lines, then this agent's block.
    const foreign = Array.from({ length: 9_990 }, (_, i) => `# note ${i}`).join('\n');
    execFileSync('crontab', ['-u', user, '-'], { input: `${foreign}\n` });
    const adapter = createCrontabAdapter(options({ user }), { runner: nodeRunner });
    const jobs = Array.from({ length: 10 }, (_, i) => desired(`j${String(i).padStart(2, '0')}`, '0 2 * * *'));

    const r = await adapter.apply({ ...planOf(jobs), add: jobs }, signal);
    const listed = execFileSync('crontab', ['-u', user, '-l'], { encoding: 'utf8' });
    const installed = [...listed.matchAll(/exec --scheduled (acme\/j\d+)/g)].map((m) => m[1]);

    expect(r.changed).toBe(true);
    expect(listed.split('\n').length - 1).toBeLessThanOrEqual(10_000);
    expect(listed.startsWith(`${foreign}\n`)).toBe(true);
    expect(installed.length).toBeGreaterThan(0);
    expect(r.failed?.map((f) => f.id)).toEqual(jobs.map((j) => j.id).filter((id) => !installed.includes(id)));
    expect(r.failed?.[0]?.error).toMatch(/limit of 10000 lines/);
    // The last by id are the ones left out.
    expect(installed).toEqual(jobs.slice(0, installed.length).map((j) => j.id));
  });
});
