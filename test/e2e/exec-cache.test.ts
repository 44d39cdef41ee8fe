/**
 * The V8 code cache of the exec bundle (dist/exec.cjs.cache, made by tools/build-exec-cache.mjs
 * in `npm run build`): the launcher dist/cli/launch.cjs, which scheduler entries run, compiles
 * the bundle with it (and so does dist/cli/main.js, which older entries run), and runs the same
 * job the same way when the cache is missing, made for another build of the bundle (even one of the same
 * length, which V8 alone would take), or damaged: the bundle then compiles from source, silently.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execCommand } from '../../src/cli/agent.js';
import { install, makeJob, tempStateDir } from '../shim/fixtures.js';
import { startCheckinServer } from './helpers/checkin-server.js';
import type { CheckinServer } from './helpers/checkin-server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const BUNDLE = join(root, 'dist/exec.cjs');
const LAUNCHER = join(root, 'dist/cli/launch.cjs');
let work: string;
let srv: CheckinServer;

interface Launch {
  cacheHeader: (source: string) => string | null;
  BUNDLE_HEAD: string;
  BUNDLE_TAIL: string;
}

/** A copy of the built package whose dist/exec.cjs.cache is `cache` (absent when null); returns its launcher. */
function variant(name: string, cache: Buffer | null, bundle?: string): string {
  const dir = join(work, name);
  cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true, filter: (s) => !s.endsWith('exec.cjs.cache') });
  writeFileSync(join(dir, 'package.json'), readFileSync(join(root, 'package.json')));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  if (bundle !== undefined) writeFileSync(join(dir, 'dist/exec.cjs'), bundle);
  if (cache) writeFileSync(join(dir, 'dist/exec.cjs.cache'), cache);
  return join(dir, 'dist/cli/launch.cjs');
}

function cli(main: string, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], { env: { PATH: process.env.PATH, CHECKIN_SECRET: 'cache-secret' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

/**
 * Compiles the bundle with `cachedData` in a fresh process (V8 reuses a script compiled earlier
 * in the same process and ignores the cache then); returns what V8 said of the cache.
 */
function compileInChild(cachedData: Buffer): { rejected: boolean; exports: string[] } {
  const file = join(work, `cache-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, cachedData);
  const code = `import { readFileSync } from 'node:fs';
const [launcher, bundle, cache] = process.argv.slice(1);
const { compileExecBundle } = await import(launcher);
const module = { exports: {} };
const script = compileExecBundle(module, bundle, readFileSync(bundle, 'utf8'), readFileSync(cache));
process.stdout.write(JSON.stringify({ rejected: script.cachedDataRejected, exports: Object.keys(module.exports) }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', code, pathToFileURL(LAUNCHER).href, BUNDLE, file], { encoding: 'utf8' });
  return JSON.parse(out) as { rejected: boolean; exports: string[] };
}

let launch: Launch;
let cacheHeader: Launch['cacheHeader'];
let cache: Buffer;
let source: string;
/** EXEC_USAGE as built, and a rewording of the same length. */
const USAGE_LINE = 'Runs a job as last applied by cronsync';
const REWORDED = 'Runs a JOB as last applied by cronsync';
const mains: Record<string, string> = {};

beforeAll(async () => {
  if (!existsSync(BUNDLE) || !existsSync(`${BUNDLE}.cache`)) execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'ignore' });
  launch = (await import(pathToFileURL(LAUNCHER).href)) as Launch;
  ({ cacheHeader } = launch);
  cache = readFileSync(`${BUNDLE}.cache`);
  source = readFileSync(BUNDLE, 'utf8');
  work = mkdtempSync(join(tmpdir(), 'cronsync-exec-cache-'));
  const header = cacheHeader(source) as string;
  mains['as built'] = LAUNCHER;
  mains['as built, through dist/cli/main.js (older entries)'] = join(root, 'dist/cli/main.js');
  mains['missing'] = variant('missing', null);
  // What a rebuild of a changed bundle of the same length leaves with the old cache: a new build mark.
  mains['made for another build'] = variant('stale', cache, source.replace(USAGE_LINE, REWORDED).replace(/[0-9a-f]{32}\n$/, (id) => `${id.slice(0, 31)}${id[31] === '0' ? '1' : '0'}\n`));
  mains['left by esbuild alone'] = variant('unmarked', cache, source.slice(0, source.lastIndexOf('\n//# cronsync-build ')));
  mains['truncated'] = variant('truncated', cache.subarray(0, header.length + ((cache.length - header.length) >> 1)));
  mains['without the bundle'] = variant('unbuilt', null);
  rmSync(join(work, 'unbuilt/dist/exec.cjs'));
  mains['not a V8 cache'] = variant('garbage', Buffer.concat([Buffer.from(header, 'latin1'), Buffer.from('not a V8 code cache'.repeat(100))]));
  srv = await startCheckinServer();
}, 180_000);
afterAll(async () => {
  await srv?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('e2e/exec-cache: the code cache of dist/exec.cjs', () => {
  it('fits the bundle it was made with, which ends with the build mark its cache starts with', () => {
    const header = cacheHeader(source) as string;

    const r = compileInChild(cache.subarray(header.length));

    expect(header).toMatch(/^\/\/# cronsync-build [0-9a-f]{32}\n$/);
    expect(source.endsWith(`\n${header}`)).toBe(true);
    expect(cache.subarray(0, header.length).toString('latin1')).toBe(header);
    expect(r).toEqual({ rejected: false, exports: ['distConfigLoader', 'execCommand'] });
    // import() in a script compiled by node:vm fails without a loader callback: esbuild turns them into require.
    expect(source).not.toMatch(/\bimport\(/);
  });

  it('is one function expression, compiled as the file reads, and a CommonJS module for require', () => {
    const { BUNDLE_HEAD, BUNDLE_TAIL } = launch;
    const body = 'exports.kind = typeof module; exports.self = this === exports; exports.file = __filename;';
    const file = join(work, 'wrapped.cjs');
    writeFileSync(file, `${BUNDLE_HEAD}${body}${BUNDLE_TAIL}`);
    // In a child: the launcher as built (the test runner would load its TypeScript source).
    const code = `import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const [launcher, file, body] = process.argv.slice(1);
const { compileExecBundle } = await import(launcher);
const compiled = { exports: {} };
const plain = { exports: {} };
compileExecBundle(compiled, file, readFileSync(file, 'utf8'));
compileExecBundle(plain, file, body + '\\n');
process.stdout.write(JSON.stringify([compiled.exports, plain.exports, createRequire(file)(file)]));`;

    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', code, pathToFileURL(LAUNCHER).href, file, body], { encoding: 'utf8' })) as unknown[];

    expect(source.startsWith(BUNDLE_HEAD)).toBe(true);
    expect(source.slice(0, source.lastIndexOf('\n//# cronsync-build ')).endsWith(BUNDLE_TAIL)).toBe(true);
    expect(out).toEqual([0, 1, 2].map(() => ({ kind: 'object', self: true, file })));
  });

  it('has no header for a bundle without a build mark', () => {
    expect(cacheHeader('"use strict";\nmodule.exports = {};\n')).toBeNull();
  });

  it.each([
    { name: 'truncated', data: () => cache.subarray(0, cache.length >> 1) },
    { name: 'not a V8 cache', data: () => Buffer.from('not a V8 code cache'.repeat(100)) },
  ])('V8 rejects a cache $name silently, and the bundle compiles from source', ({ data }) => {
    const r = compileInChild(data());

    expect(r).toEqual({ rejected: true, exports: ['distConfigLoader', 'execCommand'] });
  });

  it('is what scheduler entries run: node and the launcher', () => {
    expect(execCommand()).toEqual({ file: process.execPath, args: [LAUNCHER] });
  });

  it.each(['as built', 'as built, through dist/cli/main.js (older entries)', 'missing', 'made for another build', 'left by esbuild alone', 'truncated', 'not a V8 cache', 'without the bundle'])('exec runs the job and checks in with the cache %s', async (which) => {
    const dir = tempStateDir();
    const id = await install(dir, makeJob('cached', { command: 'echo "ran $CRONSYNC_JOB"; exit 3' }), { checkin: { url: srv.url, protocol: 'crontopus', start: false } });
    const before = srv.received.length;

    const r = await cli(mains[which] as string, ['exec', '--state-dir', dir, id]);

    expect(r).toEqual({ code: 3, out: 'ran acme/cached\n', err: '' });
    const got = srv.received.slice(before);
    expect(got).toHaveLength(1);
    expect(JSON.parse(got[0]!.body)).toMatchObject({ job_name: 'cached', status: 'failure', exit_code: 3 });
  });

  it('a bundle rebuilt to the same length runs its own code, not the old cache\'s', async () => {
    const r = await cli(mains['made for another build'] as string, ['exec', '--help']);

    expect(r.code).toBe(0);
    expect(r.out).toContain(REWORDED);
  });

  it('a run loads no built-in module it does not use: not node:module (the launcher), not node:crypto, not node:fs/promises', async () => {
    const dir = tempStateDir();
    const id = await install(dir, makeJob('lean', { command: 'true' }), { checkin: { url: srv.url, protocol: 'crontopus', start: false } });
    const list = join(work, `modules-${Math.random().toString(36).slice(2)}.json`);
    const recorder = join(work, 'module-list.cjs');
    writeFileSync(recorder, `process.on('exit', () => require('fs').writeFileSync(process.env.MODULE_LIST, JSON.stringify(process.moduleLoadList)));\n`);

    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, ['--require', recorder, LAUNCHER, 'exec', '--scheduled', '--state-dir', dir, id], { env: { PATH: process.env.PATH, CHECKIN_SECRET: 'cache-secret', MODULE_LIST: list }, stdio: 'ignore' });
      child.on('error', reject);
      child.on('close', resolve);
    });

    expect(code).toBe(0);
    const loaded = JSON.parse(readFileSync(list, 'utf8')) as string[];
    expect(loaded).toContain('NativeModule vm');
    expect(loaded).toContain('NativeModule http');
    expect(loaded.filter((m) => m === 'NativeModule module' || m === 'NativeModule crypto' || m.startsWith('NativeModule internal/crypto/'))).toEqual([]);
    // node:fs/promises pulls in readline, fs watchers and directory streams (~1 ms of every run).
    expect(loaded.filter((m) => m === 'NativeModule fs/promises' || m.startsWith('NativeModule internal/fs/promises') || m.startsWith('NativeModule internal/readline/'))).toEqual([]);
  });

  it('a job that prints nothing exits with its own code (stdout never opened, nothing to drain)', async () => {
    const dir = tempStateDir();
    const id = await install(dir, makeJob('quiet', { command: 'exit 5', checkin: { enabled: false, timeout: 1 } }));

    const r = await cli(mains['as built'] as string, ['exec', '--state-dir', dir, id]);

    expect(r).toEqual({ code: 5, out: '', err: '' });
  });

  it.each([
    { name: '--version', args: ['--version'], out: /^\d+\.\d+\.\d+/ },
    { name: 'exec --version', args: ['exec', '--version'], out: /^\d+\.\d+\.\d+/ },
    { name: 'another command', args: ['status', '--help'], out: /^Usage: cronsync status/ },
  ])('the launcher hands $name to the main CLI', async ({ args, out }) => {
    const r = await cli(LAUNCHER, args);

    expect(r.code).toBe(0);
    expect(r.out).toMatch(out);
    expect(r.err).toBe('');
  });

  it('the launcher passes exec --config the config loader of dist/', async () => {
    const dir = tempStateDir();
    const id = await install(dir, makeJob('configured', { command: 'echo "ran $CRONSYNC_JOB"; exit 3', checkin: { enabled: false, timeout: 1 } }));
    const config = join(dir, 'config.yaml');
    writeFileSync(config, `agent:\n  tenant: acme\nsource:\n  url: https://git.example.com/ops/jobs.git\nstateDir: ${JSON.stringify(dir)}\n`);

    const r = await cli(LAUNCHER, ['exec', '--config', config, id]);

    expect(r).toEqual({ code: 3, out: 'ran acme/configured\n', err: '' });
  });
});
