/**
 * The check-in spool as the built `cronsync exec` (dist/cli/launch.cjs) flushes it after a
 * delivered check-in, against a loopback server: files named like entries that `exec` cannot
 * have written (a FIFO, a directory, a huge file) never stop the run or the others' delivery;
 * and a state dir that cannot be written does not stop the job.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listSpool, writeSpoolEntry } from '../../src/shim/spool.js';
import { install, makeJob, tempStateDir } from '../shim/fixtures.js';
import { startCheckinServer } from './helpers/checkin-server.js';
import type { CheckinServer } from './helpers/checkin-server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const LAUNCHER = join(root, 'dist/cli/launch.cjs');
const SECRET = 'spool-secret-5e1a';
let servers: CheckinServer[] = [];

beforeAll(() => {
  if (!existsSync(join(root, 'dist/exec.cjs'))) execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'ignore' });
});
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

/** Runs `cronsync exec`; a run still going after `limitMs` is killed (code null): it hung. */
function exec(stateDir: string, jobId: string, limitMs: number, level = 'warn'): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LAUNCHER, 'exec', '--state-dir', stateDir, jobId], {
      env: { PATH: process.env.PATH, CHECKIN_SECRET: SECRET, CRONSYNC_LOG_LEVEL: level }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    // SIGKILL: a process blocked in a system call never runs its SIGTERM handler.
    const limit = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(limit);
      resolve({ code, err });
    });
  });
}

describe('e2e/shim spool', () => {
  it.skipIf(process.platform === 'win32')('a FIFO, a directory and a huge file named like entries neither hang exec nor block the others; they are reported', async () => {
    const s = await startCheckinServer();
    servers.push(s);
    const dir = tempStateDir();
    const id = await install(dir, makeJob('job', { command: 'exit 3' }), { checkin: { url: s.url, protocol: 'crontopus', start: false } });
    const spool = join(dir, 'spool');
    mkdirSync(spool, { recursive: true, mode: 0o700 });
    // Young (within maxAgeDays), so kept rather than expired, and older than the good entry.
    const [fifo, sub, huge] = ['fifo', 'dir', 'huge'].map((n, i) => `${String(Date.now() - 60_000 + i).padStart(14, '0')}-${n}.json`) as [string, string, string];
    execFileSync('mkfifo', [join(spool, fifo)]);
    mkdirSync(join(spool, sub));
    writeFileSync(join(spool, huge), '');
    truncateSync(join(spool, huge), 64 * 1024 * 1024);
    await writeSpoolEntry(dir, {
      version: 1, protocol: 'crontopus', url: s.url, jobId: id, createdAt: new Date().toISOString(), secretRef: '${CHECKIN_SECRET}', owner: null,
      payload: { job_name: 'job', tenant: 'acme', status: 'success', started_at: new Date().toISOString(), agent_id: 'h', run_id: 'older-run', attempts: 1, commit: null },
    });

    const r = await exec(dir, id, 30_000, 'info');

    expect(r.code).toBe(3);
    expect(s.delivered().map((b) => b.run_id)).toContain('older-run');
    expect(s.delivered()).toHaveLength(2);
    expect(await listSpool(dir)).toEqual([fifo, sub, huge]);
    expect(r.err).toContain('Spooled check-ins that cannot be read or are damaged, kept until they expire');
    expect(r.err).not.toContain(SECRET);
  }, 60_000);

  it('a state dir that cannot hold the run lock (read-only, full) still runs the job, exits with its code and says why', async () => {
    const s = await startCheckinServer();
    servers.push(s);
    const dir = tempStateDir();
    const id = await install(dir, makeJob('job', { command: 'exit 3' }), { checkin: { url: s.url, protocol: 'crontopus', start: false } });
    // mkdir of locks/ fails, as on a read-only or full file system (and whoever runs the test).
    writeFileSync(join(dir, 'locks'), '');

    const r = await exec(dir, id, 30_000);

    expect(r.code).toBe(3);
    expect(r.err).toContain('Cannot take the run lock; running without the concurrency guard');
    expect(s.delivered()).toEqual([expect.objectContaining({ status: 'failure', exit_code: 3 })]);
  }, 60_000);

  it.skipIf(process.platform === 'win32')('a file size limit (EFBIG, as a full disk) leaves the job its exit code, delivers directly and leaves no lock debris', async () => {
    const s = await startCheckinServer();
    servers.push(s);
    const dir = tempStateDir();
    const id = await install(dir, makeJob('job', { command: 'exit 4' }), { checkin: { url: s.url, protocol: 'crontopus', start: false } });

    // Files can be created but not written: every state-dir write fails after its open.
    const r = await new Promise<{ code: number | null; err: string }>((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', 'ulimit -f 0 && exec "$@"', 'sh', process.execPath, LAUNCHER, 'exec', '--state-dir', dir, id], {
        env: { PATH: process.env.PATH, CHECKIN_SECRET: SECRET }, stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, err }));
    });

    expect(r.code).toBe(4);
    expect(s.delivered()).toEqual([expect.objectContaining({ exit_code: 4 })]);
    expect(r.err).toContain('Cannot take the run lock');
    expect(readdirSync(join(dir, 'locks', 'acme'))).toEqual([]);
    expect(await listSpool(dir)).toEqual([]);
  }, 60_000);

  it.skipIf(process.platform === 'win32')('Forbid: a run that cannot write its lock (file size limit, as a full disk) while a live run holds it is skipped, not run twice', async () => {
    const dir = tempStateDir();
    const log = join(dir, 'runs.log');
    const release = join(dir, 'release');
    // Each run appends a line, then the first waits until told to finish: no timing involved.
    const id = await install(dir, makeJob('job', { command: `echo run >> '${log}'; while [ ! -f '${release}' ]; do sleep 0.05; done`, concurrency: 'Forbid', checkin: { enabled: false, timeout: 3600 } }));
    const first = exec(dir, id, 60_000);
    while (!existsSync(log)) await new Promise((r) => setTimeout(r, 20));

    const second = await new Promise<{ code: number | null; err: string }>((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', 'ulimit -f 0 && exec "$@"', 'sh', process.execPath, LAUNCHER, 'exec', '--state-dir', dir, id], {
        env: { PATH: process.env.PATH }, stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, err }));
    });
    writeFileSync(release, '');
    await first;

    expect(second.err).toContain('Previous run still going; this run is skipped');
    expect(readFileSync(log, 'utf8')).toBe('run\n');
  }, 60_000);
});
