/**
 * `cronsync exec` as users and entries of older versions start it, `node dist/cli/main.js exec`
 * (current entries run dist/cli/launch.cjs: test/e2e/exec-cache.test.ts), which hands over to the single-file bundle dist/exec.cjs (built by `npm run build`; built here
 * when missing); the same commands through a copy of dist without the bundle (the fallback);
 * and the bundle's check-in transport (src/shim/transport.ts) against node:http's on the
 * same scripted server bytes.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXEC_USAGE } from '../../src/shim/cli.js';
import { firedMarkerPath } from '../../src/state/fired.js';
import { install, makeJob, tempStateDir as newStateDir } from '../shim/fixtures.js';
import { startCheckinServer } from './helpers/checkin-server.js';
import type { CheckinServer } from './helpers/checkin-server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const SECRET = 'bundle-secret-91c4';
let work: string;
let srv: CheckinServer;
const MAIN = join(root, 'dist/cli/main.js');
let fallbackMain: string;

interface Run { code: number | null; out: string; err: string; required: string[] }

/** Runs `node <main> ...args` and records every CommonJS module the process loaded. */
function cli(main: string, args: string[]): Promise<Run> {
  const record = join(work, `required-${Math.random().toString(36).slice(2)}.json`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', join(work, 'record.cjs'), main, ...args], {
      env: { PATH: process.env.PATH, CHECKIN_SECRET: SECRET, RECORD_REQUIRE: record },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const required = existsSync(record) ? (JSON.parse(readFileSync(record, 'utf8')) as string[]) : [];
      resolve({ code, out, err, required });
    });
  });
}

beforeAll(async () => {
  if (!existsSync(join(root, 'dist/exec.cjs')) || !existsSync(MAIN)) {
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'ignore' });
  }
  work = mkdtempSync(join(tmpdir(), 'cronsync-exec-bundle-'));
  writeFileSync(join(work, 'record.cjs'), `
const M = require('module'); const seen = []; const load = M._load;
M._load = function (request) { const m = load.apply(this, arguments); seen.push(request); return m; };
process.on('exit', () => require('fs').writeFileSync(process.env.RECORD_REQUIRE, JSON.stringify(seen)));
`);
  // A copy of dist without the bundle: `exec` then runs through the ESM modules.
  cpSync(join(root, 'dist'), join(work, 'pkg/dist'), { recursive: true, filter: (s) => !s.endsWith('exec.cjs') });
  writeFileSync(join(work, 'pkg/package.json'), readFileSync(join(root, 'package.json')));
  // Its dependencies, as an installed package has them (`exec --config` loads the config loader).
  symlinkSync(join(root, 'node_modules'), join(work, 'pkg/node_modules'), 'dir');
  fallbackMain = join(work, 'pkg/dist/cli/main.js');
  srv = await startCheckinServer(() => ({ status: 200 }));
}, 120_000);
afterAll(async () => {
  await srv?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

const made: string[] = [];
/** A temporary state dir, removed after the test. */
function tempStateDir(): string {
  const d = newStateDir();
  made.push(d);
  return d;
}
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('e2e/exec-bundle: node dist/cli/main.js exec', () => {
  it('runs the job through dist/exec.cjs, returns its exit code and checks in', async () => {
    const dir = tempStateDir();
    const id = await install(dir, makeJob('bundled', { command: 'echo "ran $CRONSYNC_JOB"; exit 3' }), { checkin: { url: srv.url, protocol: 'crontopus', start: false } });
    const before = srv.received.length;

    const r = await cli(MAIN, ['exec', '--state-dir', dir, id]);

    expect(r.code).toBe(3);
    expect(r.out).toBe('ran acme/bundled\n');
    expect(r.required).toContain('../exec.cjs');
    // node:crypto costs every run ~3 ms and ~250 KB of heap: random bytes come from /dev/urandom.
    expect(r.required.filter((m) => m === 'crypto' || m === 'node:crypto')).toEqual([]);
    const got = srv.received.slice(before);
    expect(got).toHaveLength(1);
    expect(got[0]!.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(JSON.parse(got[0]!.body)).toMatchObject({ job_name: 'bundled', tenant: 'acme', status: 'failure', exit_code: 3, output: 'ran acme/bundled\n' });
    expect(JSON.parse(readFileSync(join(dir, 'runs/acme/bundled.json'), 'utf8'))).toMatchObject({ status: 'failure', exitCode: 3 });
    expect(readdirSync(join(dir, 'spool')).filter((f) => f.endsWith('.json'))).toEqual([]);
  });

  it('--scheduled skips a paused job silently, as without the bundle', async () => {
    const dir = tempStateDir();
    const id = await install(dir, makeJob('paused', { paused: true, command: 'echo never' }), { checkin: { url: srv.url, protocol: 'crontopus', start: false } });
    const before = srv.received.length;

    const bundled = await cli(MAIN, ['exec', '--scheduled', '--state-dir', dir, id]);
    const fallback = await cli(fallbackMain, ['exec', '--scheduled', '--state-dir', dir, id]);

    expect(bundled).toMatchObject({ code: 0, out: '', err: '' });
    expect(fallback).toMatchObject({ code: 0, out: '', err: '' });
    expect(srv.received.length).toBe(before);
  });

  it.each([
    { name: '--help', args: ['exec', '--help'] },
    { name: '-h after options', args: ['exec', '--scheduled', '-h'] },
    { name: 'no job id', args: ['exec'] },
    { name: 'an unknown option', args: ['exec', '--nope', 'acme/x'] },
    { name: 'a malformed job id', args: ['exec', '--state-dir', '/nonexistent', 'Not/A/Job'] },
    { name: 'a job that is not installed', args: ['exec', '--state-dir', '/nonexistent', 'acme/missing'] },
    { name: '--version (left to the main CLI)', args: ['exec', '--version'] },
    { name: '--config without a file', args: ['exec', 'acme/x', '--config'] },
    { name: 'a config file that does not exist', args: ['exec', '--config', '/nonexistent/cronsync.yaml', 'acme/x'] },
    { name: 'a config that is not valid', args: ['exec', '--config', '/dev/null', 'acme/x'] },
  ])('answers $name exactly as the unbundled path does', async ({ args }) => {
    const bundled = await cli(MAIN, args);
    const fallback = await cli(fallbackMain, args);

    expect({ code: bundled.code, out: bundled.out, err: bundled.err }).toEqual({ code: fallback.code, out: fallback.out, err: fallback.err });
    expect(bundled.required.includes('../exec.cjs')).toBe(!args.includes('--version'));
    expect(fallback.required).not.toContain('../exec.cjs');
  });

  it('prints the exec usage for --help through the bundle', async () => {
    const r = await cli(MAIN, ['exec', '--help']);

    expect(r).toMatchObject({ code: 0, out: EXEC_USAGE, err: '' });
    expect(r.required).toContain('../exec.cjs');
  });

  it('--config takes the state dir from the config, through the bundle and without it', async () => {
    const dir = tempStateDir();
    const id = await install(dir, makeJob('configured', { command: 'echo "ran $CRONSYNC_JOB"; exit 3', checkin: { enabled: false, timeout: 1 } }));
    const config = join(dir, 'config.yaml');
    writeFileSync(config, `agent:\n  tenant: acme\nsource:\n  url: https://git.example.com/ops/jobs.git\nstateDir: ${JSON.stringify(dir)}\n`);

    const bundled = await cli(MAIN, ['exec', '--config', config, id]);
    const fallback = await cli(fallbackMain, ['exec', '--config', config, id]);

    expect(bundled).toMatchObject({ code: 3, out: 'ran acme/configured\n', err: '' });
    expect(fallback).toMatchObject({ code: 3, out: 'ran acme/configured\n', err: '' });
    expect(bundled.required).toContain('../exec.cjs');
  });

  it('a bad --config is reported as `status --config` reports it', async () => {
    const dir = tempStateDir();
    const config = join(dir, 'config.yaml');
    writeFileSync(config, 'agent:\n  tenant: Not Valid\n');

    const exec = await cli(MAIN, ['exec', '--config', config, 'acme/x']);
    const status = await cli(MAIN, ['status', '--config', config]);

    expect(exec.code).toBe(1);
    expect({ code: exec.code, out: exec.out, err: exec.err }).toEqual({ code: status.code, out: status.out, err: status.err });
    expect(exec.required).toContain('../exec.cjs');
  });

  it('the bundle holds no config loader: plain exec loads neither YAML nor Ajv', async () => {
    const text = readFileSync(join(root, 'dist/exec.cjs'), 'utf8');
    const dir = tempStateDir();
    const id = await install(dir, makeJob('plain', { command: 'true', checkin: { enabled: false, timeout: 1 } }));

    const r = await cli(MAIN, ['exec', '--state-dir', dir, id]);

    expect(text).not.toMatch(/require\("(yaml|ajv)"\)|config\.v1\.schema\.json|src\/config\/load\.ts/);
    expect(r.code).toBe(0);
    expect(r.required.filter((m) => /^(yaml|ajv)$|config\/load/.test(m))).toEqual([]);
  });

  it('--scheduled runs a minute once: a start of a claimed minute exits 0 silently, a manual start runs', async () => {
    const dir = tempStateDir();
    const id = await install(dir, makeJob('every', { command: 'echo ran', checkin: { enabled: false, timeout: 1 } }));
    // `* * * * *` fires every minute: claim this one and the next two, as earlier starts would have.
    const now = Date.now();
    for (const m of [0, 1, 2]) {
      const path = firedMarkerPath(dir, id, new Date(now + m * 60_000));
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, '');
    }

    const bundled = await cli(MAIN, ['exec', '--scheduled', '--state-dir', dir, id]);
    const fallback = await cli(fallbackMain, ['exec', '--scheduled', '--state-dir', dir, id]);
    const manual = await cli(MAIN, ['exec', '--state-dir', dir, id]);

    expect(bundled).toMatchObject({ code: 0, out: '', err: '' });
    expect(fallback).toMatchObject({ code: 0, out: '', err: '' });
    expect(manual).toMatchObject({ code: 0, out: 'ran\n', err: '' });
  });
});
