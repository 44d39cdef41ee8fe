/**
 * Mutual exclusion between real processes: children contend for one lock many times, starting
 * from a planted stale lock and guard, and some kill -9 themselves while holding it. Each holder
 * appends enter/exit (or died) markers to a shared log; the markers must never interleave. The
 * children are src/shim/lock.ts bundled by esbuild. Nothing asserts on timing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { processStartTime, tryAcquireLock } from '../../src/shim/lock.js';
import { tempStateDir } from './fixtures.js';

const CHILD = `
import { appendFileSync, readFileSync } from 'node:fs';
import { processStartTime, tryAcquireLock } from './lock.ts';
const [path, log, id, want, dieAt] = process.argv.slice(2);
const me = { pid: process.pid, startTime: processStartTime(process.pid), startedAt: new Date().toISOString() };
const nap = new Int32Array(new SharedArrayBuffer(4));
let got = 0;
for (let tries = 0; got < Number(want) && tries < 200000; tries++) {
  const r = await tryAcquireLock(path, { ...me, runId: id + '-' + got });
  if (!r.acquired) {
    Atomics.wait(nap, 0, 0, 1); // Back off; correctness never depends on it.
    continue;
  }
  appendFileSync(log, 'enter ' + id + '\\n');
  for (let i = 0; i < 3; i++) readFileSync(log);
  if (got === Number(dieAt)) {
    appendFileSync(log, 'died ' + id + '\\n');
    process.kill(process.pid, 'SIGKILL');
  }
  appendFileSync(log, 'exit ' + id + '\\n');
  got++;
  await r.lock.release();
}
process.stdout.write(String(got));
`;

function bundleChild(dir: string): string {
  const outfile = join(dir, 'contender.mjs');
  const resolveDir = fileURLToPath(new URL('../../src/shim', import.meta.url));
  buildSync({ stdin: { contents: CHILD, resolveDir, loader: 'ts' }, bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile, logLevel: 'warning' });
  return outfile;
}

function run(script: string, args: string[]): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, out }));
  });
}

describe('shim/lock across processes', () => {
  it('never lets two processes hold the lock, through stale takeovers and kill -9', async () => {
    const dir = tempStateDir();
    const script = bundleChild(dir);
    const path = join(dir, 'locks', 'acme', 'job.lock');
    const log = join(dir, 'markers.log');
    const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());
    mkdirSync(`${path}.takeover`, { recursive: true });
    writeFileSync(join(`${path}.takeover`, `${dead}-0.owner`), JSON.stringify({ pid: dead, startTime: null }));
    writeFileSync(path, JSON.stringify({ pid: dead, startTime: null, runId: 'dead', startedAt: 'x' }));
    writeFileSync(log, '');
    const plan = [['a', -1], ['b', -1], ['c', -1], ['d', 2], ['e', 5]] as const;
    const WANT = 60;

    const results = await Promise.all(plan.map(([id, dieAt]) => run(script, [path, log, id, String(WANT), String(dieAt)])));

    const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    const broken: string[] = [];
    for (let i = 0; i < lines.length; i += 2) {
      const [enter, leave] = [lines[i], lines[i + 1]];
      const id = enter?.slice('enter '.length);
      if (!enter?.startsWith('enter ') || (leave !== `exit ${id}` && leave !== `died ${id}`)) broken.push(`${i}: ${enter} / ${leave}`);
    }
    expect(broken).toEqual([]);
    expect(results.map((r) => r.signal ?? r.out)).toEqual([String(WANT), String(WANT), String(WANT), 'SIGKILL', 'SIGKILL']);
    expect(lines.filter((l) => l.startsWith('enter')).length).toBe(3 * WANT + (2 + 1) + (5 + 1));
    // Whatever a killed holder left behind is taken over by the next run.
    const me = { pid: process.pid, startTime: processStartTime(process.pid), runId: 'after', startedAt: 'x' };
    expect((await tryAcquireLock(path, me)).acquired).toBe(true);
  }, 60_000);
});
