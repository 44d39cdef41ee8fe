/**
 * `cronsync exec` as a real process (bundled with esbuild in setup): kill -9 in the middle of a
 * check-in, SIGTERM forwarding, the Forbid lock across processes and kill -9, no secret in any
 * process's argv, and processes racing to start the same scheduled minute.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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
/** runExec as `exec --scheduled` runs it, on a clock stopped at argv[4], after the go file argv[5] appears. */
let fixedClockBundle: string;
let bundleDir: string;
let mode: 'hang' | 'ok' = 'ok';
let srv: CheckinServer;
const made: string[] = [];

beforeAll(async () => {
  bundleDir = mkdtempSync(join(tmpdir(), 'cronsync-bundle-'));
  bundle = join(bundleDir, 'exec.mjs');
  fixedClockBundle = join(bundleDir, 'exec-at.mjs');
  const resolveDir = fileURLToPath(new URL('../..', import.meta.url));
  buildSync({
    stdin: { contents: "import { runExecCli } from './src/shim/run.ts';\nprocess.exitCode = await runExecCli(process.argv.slice(2));\n", resolveDir, loader: 'ts' },
    bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: bundle, logLevel: 'error',
  });
  buildSync({
    stdin: {
      contents: `import { existsSync } from 'node:fs';
import { createFireTimeGuard } from './src/shim/guard.ts';
import { createLineLogger } from './src/shim/log.ts';
import { runExec } from './src/shim/run.ts';
import { createNodeHttpClient } from './src/system/http.ts';
import { nodeRunner } from './src/system/runner.ts';
const [dir, id, at, go] = process.argv.slice(2);
process.stdout.write('ready\\n');
while (!existsSync(go)) await new Promise((r) => setTimeout(r, 1));
const clock = { now: () => new Date(at), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };
process.exitCode = await runExec({
  jobId: id, stateDir: dir, scheduled: true, isFireTime: createFireTimeGuard(dir), clock, http: createNodeHttpClient(),
  runner: nodeRunner, env: process.env, log: createLineLogger(process.stderr, 'debug', 'shim'), stdout: process.stdout, stderr: process.stderr,
});
`,
      resolveDir, loader: 'ts',
    },
    bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: fixedClockBundle, logLevel: 'error',
  });
  srv = await startCheckinServer(() => (mode === 'hang' ? 'hang' : { status: 200 }));
});
afterAll(async () => {
  await srv?.close();
  if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
});
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A temporary directory, removed after the test. */
function tmp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}

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
  made.push(dir);
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
    const work = tmp('cronsync-term-');
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
    const work = tmp('cronsync-forbid-');
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

  it('processes racing to start one scheduled minute: exactly one runs and checks in, the others exit 0 silently', async () => {
    mode = 'ok';
    const work = tmp('cronsync-dup-');
    const out = join(work, 'runs.txt');
    // 10:00 in Berlin on 23 November is 09:00 UTC; concurrency Allow, so only the marker stands in the way.
    const { dir, id } = await setup({ command: `echo "$CRONSYNC_RUN_ID" >> '${out}'`, schedule: '0 10 * * *', timezone: 'Europe/Berlin', concurrency: 'Allow' });
    const go = join(work, 'go');
    const before = srv.delivered().length;
    const starts = ['2026-11-23T09:00:00.000Z', '2026-11-23T09:00:00.000Z', '2026-11-23T09:00:02.000Z', '2026-11-23T09:00:05.000Z', '2026-11-23T09:00:59.000Z', '2026-11-23T09:00:00.000Z'];
    const children = starts.map((at) => {
      const child = spawn(process.execPath, [fixedClockBundle, dir, id, at, go], { env: { PATH: process.env.PATH, CHECKIN_SECRET: SECRET }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
      return { ready: () => stdout.includes('ready'), done };
    });
    await until(() => children.every((c) => c.ready()), 30_000);
    writeFileSync(go, '');
    const results = await Promise.all(children.map((c) => c.done));

    expect(results.map((r) => r.code)).toEqual(starts.map(() => 0));
    const ran = readFileSync(out, 'utf8').split('\n').filter(Boolean);
    expect(ran).toHaveLength(1);
    expect(results.filter((r) => r.stderr.includes('duplicate start skipped'))).toHaveLength(starts.length - 1);
    await until(() => srv.delivered().length > before);
    expect(srv.delivered().slice(before).map((b) => b.run_id)).toEqual(ran);
  }, 60_000);
});
