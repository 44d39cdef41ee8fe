import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ALLOWED_ENV_VARS } from '../../src/config/load.js';
import { EARLY_SIGNALS, createSignalRelay, stopsOnStdinEof } from '../../src/daemon/signals.js';
import type { EarlySignals } from '../../src/daemon/signals.js';
import { nullLogger } from '../../src/log.js';
import { ensureBuilt } from '../e2e/fixtures/daemon-process.js';
import { flush } from '../fakes/ManualClock.js';
import { TempDirs, testTempDir } from '../system/tempdir.js';

class FakeSignals extends EventEmitter {}

describe('daemon/signals', () => {
  it('listens on the process from the start, so no signal takes its default action (kill) before the loop runs', () => {
    const proc = new FakeSignals();

    const relay = createSignalRelay(proc, () => nullLogger);

    expect(['SIGTERM', 'SIGINT', 'SIGHUP'].map((s) => proc.listenerCount(s))).toEqual([1, 1, 1]);
    relay.close();
    expect(['SIGTERM', 'SIGINT', 'SIGHUP'].map((s) => proc.listenerCount(s))).toEqual([0, 0, 0]);
  });

  it('hands a signal received before anyone listened to the first listener, once', async () => {
    const proc = new FakeSignals();
    const relay = createSignalRelay(proc, () => nullLogger);
    const got: string[] = [];

    proc.emit('SIGTERM');
    relay.on('SIGTERM', () => got.push('term'));
    relay.on('SIGHUP', () => got.push('hup'));
    await flush();
    proc.emit('SIGHUP');

    expect(got).toEqual(['term', 'hup']);
  });

  it('takes over the signals src/cli/main.ts held while the daemon loaded, and removes its listeners', async () => {
    const proc = new FakeSignals();
    const held: EarlySignals = { pending: [], handlers: new Map() };
    for (const name of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
      const handler = (): void => void held.pending.push(name);
      held.handlers.set(name, handler);
      proc.on(name, handler);
    }
    (globalThis as Record<symbol, unknown>)[EARLY_SIGNALS] = held;
    proc.emit('SIGHUP');

    const relay = createSignalRelay(proc, () => nullLogger);
    const got: string[] = [];
    relay.on('SIGHUP', () => got.push('hup'));
    await flush();

    expect(got).toEqual(['hup']);
    expect(['SIGTERM', 'SIGINT', 'SIGHUP'].map((s) => proc.listenerCount(s))).toEqual([1, 1, 1]);
    expect((globalThis as Record<symbol, unknown>)[EARLY_SIGNALS]).toBeUndefined();
    relay.close();
  });

  it('keeps holding signals after the listeners left (the daemon drains embedded jobs), and drops them', async () => {
    const proc = new FakeSignals();
    const relay = createSignalRelay(proc, () => nullLogger);
    const got: string[] = [];
    const l = (): void => void got.push('hup');
    relay.on('SIGHUP', l);
    relay.off('SIGHUP', l);

    proc.emit('SIGHUP');
    relay.close();
    relay.on('SIGHUP', l);
    await flush();

    expect(got).toEqual([]);
    expect(proc.listenerCount('SIGHUP')).toBe(0);
  });
});

/** A stdin stand-in: a PassThrough that counts resume/pause. */
function fakeStdin(): PassThrough & { resumed: number; paused: number } {
  const s = Object.assign(new PassThrough(), { resumed: 0, paused: 0 });
  const resume = s.resume.bind(s);
  const pause = s.pause.bind(s);
  s.resume = () => (s.resumed++, resume());
  s.pause = () => (s.paused++, pause());
  return s;
}

describe('daemon/signals: --stop-on-stdin-eof (the Windows service host closes stdin to stop)', () => {
  it('relays the end of stdin as one SIGTERM, also when close follows end', async () => {
    const stdin = fakeStdin();
    const relay = createSignalRelay(new FakeSignals(), () => nullLogger, undefined, { stdin: () => stdin, flag: true });
    const got: string[] = [];
    relay.on('SIGTERM', () => got.push('term'));
    stdin.write('ignored bytes\n');

    stdin.end();
    await new Promise((r) => stdin.on('close', r));
    await flush();

    expect(got).toEqual(['term']);
    expect(stdin.resumed).toBeGreaterThan(0);
    relay.close();
  });

  it('keeps an end of stdin that came before the loop listened, like a signal', async () => {
    const stdin = fakeStdin();
    const relay = createSignalRelay(new FakeSignals(), () => nullLogger, undefined, { stdin: () => stdin, env: { CRONSYNC_STOP_ON_STDIN_EOF: '1' } });
    const got: string[] = [];

    stdin.destroy(new Error('EPIPE'));
    await new Promise((r) => stdin.on('close', r));
    relay.on('SIGTERM', () => got.push('term'));
    await flush();

    expect(got).toEqual(['term']);
    relay.close();
  });

  it('without the flag or CRONSYNC_STOP_ON_STDIN_EOF=1, stdin is not even created', () => {
    let asked = 0;
    const stdin = () => (asked++, fakeStdin());

    createSignalRelay(new FakeSignals(), () => nullLogger, undefined, { stdin, flag: false, env: { CRONSYNC_STOP_ON_STDIN_EOF: '0' } }).close();
    createSignalRelay(new FakeSignals(), () => nullLogger, undefined, { stdin, env: {} }).close();
    createSignalRelay(new FakeSignals(), () => nullLogger).close();

    expect(asked).toBe(0);
    expect([stopsOnStdinEof({ stdin, flag: true }), stopsOnStdinEof({ stdin, env: { CRONSYNC_STOP_ON_STDIN_EOF: '1' } }), stopsOnStdinEof({ stdin })]).toEqual([true, true, false]);
  });

  it('close() stops watching stdin and pauses it, so the process can exit', async () => {
    const stdin = fakeStdin();
    const relay = createSignalRelay(new FakeSignals(), () => nullLogger, undefined, { stdin: () => stdin, flag: true });
    const got: string[] = [];
    relay.on('SIGTERM', () => got.push('term'));

    relay.close();
    stdin.destroy(new Error('late'));
    await new Promise((r) => stdin.on('close', r));
    await flush();

    expect(got).toEqual([]);
    expect(stdin.paused).toBeGreaterThan(0);
    expect(stdin.listenerCount('end')).toBe(0);
  });
});

const ROOT = resolve(import.meta.dirname, '../..');
/** A bound against hangs, not a latency assertion. */
const WAIT_MS = 20_000;

/** A child process with piped stdio; its stdout lines parsed as JSON where they are. */
function spawnPiped(file: string, args: string[], env: NodeJS.ProcessEnv): { proc: ChildProcess; lines: () => Record<string, unknown>[]; stderr: () => string; exited: Promise<number | string> } {
  const proc = spawn(file, args, { cwd: ROOT, env: { PATH: process.env.PATH, HOME: tmpdir(), LANG: 'C', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(proc);
  const parsed: Record<string, unknown>[] = [];
  let partial = '';
  let err = '';
  proc.stdout?.on('data', (c: Buffer) => {
    const parts = (partial + c.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      try {
        parsed.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // Not a JSON line.
      }
    }
  });
  proc.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | string>((r) => proc.on('exit', (code, signal) => r(code ?? `signal:${signal}`)));
  return { proc, lines: () => parsed, stderr: () => err, exited };
}

async function within<T>(what: string, p: Promise<T>, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/**
 * The relay and runDaemon in a real process, bundled from the sources (not dist/) with esbuild.
 * Its one sync waits until the stop has been requested, so the stop always finds it in flight.
 */
const HARNESS = `
import { createSignalRelay } from './src/daemon/signals.ts';
import { runDaemon } from './src/daemon/run.ts';
import { systemClock } from './src/system/clock.ts';
const out = (msg, o = {}) => process.stdout.write(JSON.stringify({ ...o, msg }) + '\\n');
const log = { debug() {}, info: (o, m) => out(m, o), warn: (o, m) => out(m, o), error: (o, m) => out(m, o), child: () => log };
const relay = createSignalRelay(process, () => log, undefined, { stdin: () => process.stdin, flag: process.argv.includes('--stop-on-stdin-eof'), env: process.env });
let stopAsked;
const asked = new Promise((r) => (stopAsked = r));
relay.on('SIGTERM', () => stopAsked());
const daemon = await runDaemon({
  intervalMs: 3_600_000, backoff: { baseMs: 1000, maxMs: 1000 }, health: null, webhooks: null, clock: systemClock, log, signals: relay,
  async sync() {
    out('sync-start');
    await asked;
    await new Promise((r) => setTimeout(r, 50));
    out('sync-end');
    return { ok: true, result: 'success', jobsByState: {} };
  },
});
const result = await daemon.done;
relay.close();
out('harness-stopped', result);
`;

describe('daemon: a real process stops cleanly when its stdin ends', () => {
  let bundle = '';
  const dirs = new TempDirs();
  afterAll(() => dirs.removeAll());
  beforeAll(async () => {
    const dir = dirs.make('cronsync-stdin-eof-');
    bundle = join(dir, 'harness.mjs');
    await build({ stdin: { contents: HARNESS, resolveDir: ROOT, sourcefile: 'harness.ts', loader: 'ts' }, bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: bundle, logLevel: 'error' });
  }, 60_000);

  it('finishes the sync in flight, releases stdin and exits 0 (relay + runDaemon)', { timeout: 60_000 }, async () => {
    const child = spawnPiped(process.execPath, [bundle, '--stop-on-stdin-eof'], {});
    await within('the sync to start', waitForLine(child.lines, 'sync-start'));

    child.proc.stdin?.end();
    const code = await within('the process to exit after stdin ended', child.exited);

    const msgs = child.lines().map((l) => l.msg);
    expect(code, child.stderr()).toBe(0);
    expect(msgs.indexOf('Standard input closed; stopping as on SIGTERM')).toBeGreaterThan(msgs.indexOf('sync-start'));
    expect(msgs.indexOf('sync-end')).toBeGreaterThan(msgs.indexOf('Standard input closed; stopping as on SIGTERM'));
    expect(child.lines().find((l) => l.msg === 'harness-stopped')).toMatchObject({ inFlight: true, aborted: false, clean: true });
  });

  /** `cronsync daemon` from dist/ against a local-directory source and the embedded scheduler. */
  async function cliStopsOnEof(args: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
    await ensureBuilt();
    const dir = testTempDir('cronsync-stdin-eof-cli-');
    mkdirSync(join(dir, 'manifests'));
    writeFileSync(join(dir, 'manifests', 'job.yaml'), 'apiVersion: v1\nkind: Job\nmetadata:\n  name: eof\n  tenant: t1\nspec:\n  schedule: "0 0 1 1 *"\n  command: echo eof\n');
    writeFileSync(join(dir, 'config.yaml'), [
      'agent: { name: eof-host, tenant: t1 }',
      `source: { url: ${JSON.stringify(join(dir, 'manifests'))}, interval: 1h }`,
      'scheduler: { kind: embedded }',
      `stateDir: ${JSON.stringify(join(dir, 'state'))}`,
      'daemon: { startDelay: 0s }',
      '',
    ].join('\n'));
    const child = spawnPiped(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'daemon', '--config', join(dir, 'config.yaml'), ...args], env);
    await within('the daemon to start', waitForLine(child.lines, 'Starting'));
    await within('the first sync (status.json)', poll(() => existsSync(join(dir, 'state', 'status.json'))));

    child.proc.stdin?.end();
    const code = await within('the daemon to exit after stdin ended', child.exited);

    expect(code, child.stderr()).toBe(0);
    expect(child.lines().map((l) => l.msg)).toContain('Standard input closed; stopping as on SIGTERM');
    expect(child.lines().find((l) => l.msg === 'Stopped')).toMatchObject({ clean: true });
  }

  it('the CLI: `cronsync daemon --stop-on-stdin-eof` exits 0 after a clean stop when its stdin ends', { timeout: 240_000 }, async () => {
    await cliStopsOnEof(['--stop-on-stdin-eof'], {});
  });

  // The config loader rejects unknown CRONSYNC_* variables; this runs once the variable is listed there.
  it.runIf(ALLOWED_ENV_VARS.includes('CRONSYNC_STOP_ON_STDIN_EOF'))('the CLI: CRONSYNC_STOP_ON_STDIN_EOF=1 does the same without the flag', { timeout: 240_000 }, async () => {
    await cliStopsOnEof([], { CRONSYNC_STOP_ON_STDIN_EOF: '1' });
  });
});

async function poll(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 50));
}

function waitForLine(lines: () => Record<string, unknown>[], msg: string): Promise<void> {
  return poll(() => lines().some((l) => l.msg === msg));
}
