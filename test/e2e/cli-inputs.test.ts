/**
 * The built CLI on inputs that once hung it or reached the terminal raw: a FIFO as the status
 * file, a status file of wrong types (checked by the validator the build precompiles from
 * status.v1.schema.json, which `exec`'s bundle must not take in), a hostile job id typed to
 * `exec`, and arguments a command does not take.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import type { ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileSchema } from '../../src/manifest/precompiled.js';
import { STATUS_PRECOMPILED } from '../../src/status/schema.js';
import { cliEnv, ensureBuilt, MAIN, ROOT } from './fixtures/sync-cli.js';

let work: string;

beforeAll(async () => {
  await ensureBuilt();
  work = mkdtempSync(join(tmpdir(), 'cronsync-cli-inputs-'));
  writeFileSync(join(work, 'record.cjs'), `
const M = require('module'); const seen = []; const load = M._load;
M._load = function (request) { const m = load.apply(this, arguments); seen.push(request); return m; };
process.on('exit', () => require('fs').writeFileSync(process.env.RECORD_REQUIRE, JSON.stringify(seen)));
`);
}, 300_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Run { code: number | null; signal: NodeJS.Signals | null; out: string; err: string; required: string[] }

/** `node dist/cli/main.js ARGS`, killed after 10 s (a hang is a failure, not a stuck suite); records what it required. */
function cli(args: string[]): Promise<Run> {
  const record = join(work, `required-${Math.random().toString(36).slice(2)}.json`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', join(work, 'record.cjs'), MAIN, ...args], { cwd: work, env: cliEnv({ RECORD_REQUIRE: record }), stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, err, required: existsSync(record) ? (JSON.parse(readFileSync(record, 'utf8')) as string[]) : [] });
    });
  });
}

const COUNTS = { desired: 0, installed: 0, added: 0, updated: 0, removed: 0, unchanged: 0, invalid: 0, conflicts: 0, orphaned: 0 };
const at = '2026-12-01T00:00:00.000Z';
/** A valid status file with one job that ran. */
const STATUS = {
  schemaVersion: 1,
  agent: { name: 'h', tenant: 'acme', labels: { role: 'x' }, version: '0.1.0' },
  scheduler: { kind: 'cron.d', reason: 'r' },
  source: { id: 's', url: 'https://git.example/jobs.git', ref: 'main', commit: 'a'.repeat(40), fetchedAt: at },
  lastAttempt: { startedAt: at, finishedAt: at, result: 'ok', error: null, reason: null },
  lastSuccess: { startedAt: at, finishedAt: at, commit: 'a'.repeat(40) },
  counts: COUNTS,
  jobs: [{ id: 'acme/a', namespace: 'default', path: 'a.yaml', commit: null, schedule: '0 1 * * *', timezone: 'UTC', nextRun: at, user: null, state: 'installed', lastRun: { startedAt: at, status: 'success', exitCode: 0, durationMs: 5, attempts: 1 } }],
  problems: [{ path: 'a.yaml', line: 1, column: 2, rule: 'r', severity: 'warning', message: 'm' }],
  checkins: { spooled: 0, dropped: 0 },
  daemon: { consecutiveFailures: 0, nextAttemptAt: null, intervalMs: 600_000 },
  crontopus: null,
};

function stateDir(status: unknown): string {
  const dir = mkdtempSync(join(work, 'state-'));
  writeFileSync(join(dir, 'status.json'), JSON.stringify(status));
  return dir;
}

describe('e2e: cronsync status, exec and argument checks as built', { timeout: 60_000 }, () => {
  it('status checks the file with the precompiled validator and names the first field wrong', async () => {
    const dir = stateDir({ ...STATUS, jobs: [{ ...STATUS.jobs[0], lastRun: {} }] });

    const res = await cli(['status', '--state-dir', dir]);

    expect([res.code, res.out, res.err]).toEqual([1, '', `cronsync: ${join(dir, 'status.json')} is damaged: jobs[0].lastRun.startedAt is missing; the next sync rewrites it\n`]);
    expect(res.required.some((r) => r.endsWith('status.v1.validate.cjs'))).toBe(true);
    // Nothing compiled at run time: ajv itself is never loaded.
    expect(res.required).not.toContain('ajv');
  });

  it.skipIf(process.platform === 'win32')('status refuses a FIFO as the status file at once', async () => {
    const dir = mkdtempSync(join(work, 'state-'));
    execFileSync('mkfifo', [join(dir, 'status.json')]);

    const res = await cli(['status', '--state-dir', dir]);

    expect([res.signal, res.code, res.err]).toEqual([null, 1, `cronsync: ${join(dir, 'status.json')} is a FIFO, not a regular file; remove it, and the next sync writes the status file again\n`]);
  });

  it('exec (the bundle) escapes and cuts a typed job id, and its bundle holds no status validator', async () => {
    const dir = mkdtempSync(join(work, 'state-'));

    const hostile = await cli(['exec', '--state-dir', dir, 'a/\u001b]0;pwned\u0007\u001b[31mred']);
    const long = await cli(['exec', '--state-dir', dir, `acme/${'x'.repeat(5000)}`]);

    expect(hostile.code).toBe(64);
    expect(hostile.err.split('\n')[0]).toBe('cronsync exec: invalid job id "a/\\x1b]0;pwned\\x07\\x1b[31mred": expected TENANT/NAME (lower-case letters, digits and dashes)');
    expect(long.err.split('\n')[0]).toBe(`cronsync exec: invalid job id "acme/${'x'.repeat(195)}…": expected TENANT/NAME (lower-case letters, digits and dashes)`);
    expect(hostile.required).toContain('../exec.cjs');
    const bundle = readFileSync(join(ROOT, 'dist/exec.cjs'), 'utf8');
    expect([bundle.includes('status.v1.validate'), bundle.includes('import_meta')]).toEqual([false, false]);
  });

  it('prune refuses an argument it does not take before it reads the config', async () => {
    const res = await cli(['prune', '--all', '--force', '--config', 'missing.yaml', 'acme-corp/one']);

    expect([res.code, res.out, res.err]).toEqual([2, '', "cronsync: Unexpected argument 'acme-corp/one': this command takes no arguments\n"]);
  });

  it('the precompiled status validator gives the verdicts and errors of ajv at run time', () => {
    const load = (): ValidateFunction => {
      const mod = createRequire(import.meta.url)(join(ROOT, 'dist', STATUS_PRECOMPILED.module)) as ValidateFunction | { default: ValidateFunction };
      return typeof mod === 'function' ? mod : mod.default;
    };
    const precompiled = load();
    const runtime = compileSchema(JSON.parse(readFileSync(join(ROOT, 'src', STATUS_PRECOMPILED.schema), 'utf8')) as object);
    // Every field of the valid file replaced by a value of each wrong kind, or removed.
    const docs: unknown[] = [STATUS];
    const visit = (node: unknown, replace: (v: unknown) => unknown): void => {
      if (node === null || typeof node !== 'object') return;
      for (const [k, v] of Object.entries(node)) {
        const put = (nv: unknown): unknown => replace(Array.isArray(node) ? node.map((x, i) => (String(i) === k ? nv : x)) : { ...node, [k]: nv });
        for (const bad of [null, 42, -1, 1.5, '', [], {}]) docs.push(put(bad));
        if (!Array.isArray(node)) {
          const { [k]: _gone, ...without } = node as Record<string, unknown>;
          docs.push(replace(without));
        }
        visit(v, put);
      }
    };
    visit(STATUS, (v) => v);
    const shape = (f: ValidateFunction): unknown => (f.errors ?? []).map((e) => ({ instancePath: e.instancePath, keyword: e.keyword, params: e.params }));

    let invalid = 0;
    for (const doc of docs) {
      const ok = precompiled(structuredClone(doc));
      expect({ ok, errors: shape(precompiled) }).toEqual({ ok: runtime(structuredClone(doc)), errors: shape(runtime) });
      if (!ok) invalid++;
    }

    expect(docs.length).toBeGreaterThan(200);
    expect(invalid).toBeGreaterThan(docs.length / 2);
  });
});
