/**
 * `cronsync exec` as a real process (bundled with esbuild in setup): kill -9 in the middle of a
 * check-in, SIGTERM forwarding, the Forbid lock across processes and kill -9, and no secret in
 * any process's argv.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../src/manifest/types.js';
import { lockHolder } from '../../src/shim/lock.js';
import { flushSpool, listSpool } from '../../src/shim/spool.js';
import { createNodeHttpClient } from '../../src/system/http.js';
import { systemClock } from '../../src/system/clock.js';
import { install, makeJob, memoryLog, nodeScript, tempStateDir } from '../shim/fixtures.js';
import { startCheckinServer } from './helpers/checkin-server.js';
import type { CheckinServer } from './helpers/checkin-server.js';

const SECRET = 'S3CRET-cmdline-probe-7f3a';
let bundle: string;
let mode: 'hang' | 'ok' = 'ok';
let srv: CheckinServer;

beforeAll(async () => {
  const out = mkdtempSync(join(tmpdir(), 'cronsync-bundle-'));
  bundle = join(out, 'exec.mjs');
  buildSync({
    stdin: { contents: "import { runExecCli } from './src/shim/run.ts';\nprocess.exitCode = await runExecCli(process.argv.slice(2));\n", resolveDir: fileURLToPath(new URL('../..', import.meta.url)), loader: 'ts' },
    bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: bundle, logLevel: 'error',
  });
  srv = await startCheckinServer(() => (mode === 'hang' ? 'hang' : { status: 200 }));
});
afterAll(() => srv?.close());

function shim(dir: string, jobId: string): ChildProcess & { out: string; err: string; done: Promise<number | null> } {
  const child = spawn(process.execPath, [bundle, '--state-dir', dir, jobId], {
    env: { PATH: process.env.PATH, CHECKIN_SECRET: SECRET, CRONSYNC_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  }) as ChildProcess & { out: string; err: string; done: Promise<number | null> };
  child.out = '';
  child.err = '';
  child.stdout?.on('data', (c: Buffer) => (child.out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (child.err += c.toString()));
  child.done = new Promise((r) => child.on('exit', (code, sig) => r(code ?? (sig ? -1 : null))));
  return child;
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function cmdlinesWith(needle: string): string[] {
  const hits: string[] = [];
  for (const p of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'latin1').includes(needle)) hits.push(p);
    } catch {
      // Process gone.
    }
  }
  return hits;
}

async function setup(spec: Partial<Job['spec']>): Promise<{ dir: string; id: string }> {
  const dir = tempStateDir();
  const id = await install(dir, makeJob('job', spec), { checkin: { url: srv.url, protocol: 'crontopus', start: false } });
  return { dir, id };
}

describe('e2e/shim cli', () => {
  it('kill -9 during the check-in: the run is in the spool and delivered exactly once later; no secret in any argv', async () => {
    mode = 'hang';
    const before = srv.received.length;
    const { dir, id } = await setup({ command: 'echo work' });
    const child = shim(dir, id);

    await srv.waitFor(before + 1);
    const cmdlineHits = existsSync('/proc/self/cmdline') ? cmdlinesWith(SECRET) : [];
    child.kill('SIGKILL');
    await child.done;

    expect(cmdlineHits).toEqual([]);
    const runId = JSON.parse(srv.received[before]?.body ?? '{}').run_id as string;
    expect(srv.received[before]?.headers.authorization).toBe(`Bearer ${SECRET}`);
    const files = await listSpool(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toContain(runId);
    mode = 'ok';
    const okBefore = srv.delivered().length;
    const r = await flushSpool({ stateDir: dir, http: createNodeHttpClient(), clock: systemClock, log: memoryLog(), env: { CHECKIN_SECRET: SECRET }, budgetMs: 5000 });
    const again = await flushSpool({ stateDir: dir, http: createNodeHttpClient(), clock: systemClock, log: memoryLog(), env: { CHECKIN_SECRET: SECRET }, budgetMs: 5000 });
    expect(r.delivered).toBe(1);
    expect(again.delivered).toBe(0);
    expect(srv.delivered().slice(okBefore).map((b) => b.run_id)).toEqual([runId]);
  });

  it('forwards SIGTERM to the job and exits 143 with a cancelled check-in', async () => {
    mode = 'ok';
    const work = mkdtempSync(join(tmpdir(), 'cronsync-term-'));
    const marker = join(work, 'got');
    const script = `process.on('SIGTERM', () => { require('fs').writeFileSync(${JSON.stringify(marker)}, 'TERM'); process.exit(0) }); console.log('ready'); setInterval(() => {}, 1000)`;
    const { dir, id } = await setup({ command: nodeScript(work, 'trap', script) });
    const okBefore = srv.delivered().length;
    const child = shim(dir, id);
    await until(() => child.out.includes('ready'));

    child.kill('SIGTERM');

    expect(await child.done).toBe(143);
    expect(readFileSync(marker, 'utf8')).toBe('TERM');
    expect(srv.delivered().slice(okBefore)).toEqual([expect.objectContaining({ status: 'cancelled', exit_code: 143 })]);
  });

  it('Forbid across processes: a second shim skips; after kill -9 of the first its job still holds the lock; then free', async () => {
    mode = 'ok';
    const work = mkdtempSync(join(tmpdir(), 'cronsync-forbid-'));
    const go = join(work, 'go');
    const { dir, id } = await setup({ command: `if [ -e '${go}' ]; then echo second; else echo started; while [ ! -e '${go}' ]; do sleep 0.05; done; sleep 0.2; fi` });
    const first = shim(dir, id);
    await until(() => first.out.includes('started'));
    // Give the first shim time to record its child's pid in the lock.
    await new Promise((r) => setTimeout(r, 100));

    const second = shim(dir, id);
    expect(await second.done).toBe(0);
    first.kill('SIGKILL');
    await first.done;
    const third = shim(dir, id);
    expect(await third.done).toBe(0);
    writeFileSync(go, '');
    const lockFile = join(dir, 'locks', 'acme', 'job.lock');
    // Free once the orphaned job (its own process group) has exited.
    for (let i = 0; i < 200 && (await lockHolder(lockFile)); i++) await new Promise((r) => setTimeout(r, 25));
    const fourth = shim(dir, id);

    expect(second.err).toContain('this run is skipped');
    expect(second.out).toBe('');
    expect(third.err).toContain('this run is skipped');
    expect(await fourth.done).toBe(0);
    expect(fourth.out).toBe('second\n');
  });
});
