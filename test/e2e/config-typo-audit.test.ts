/**
 * The promise "bad input gets a clear error naming where it came from, never a crash, a stack
 * trace or a change to what is installed", held by the built CLI for what typo-audit.test.ts
 * does not cover: `CRONSYNC_*` overrides, command-line flags, and a SIGHUP reload of the daemon.
 * Real parts: a plain-directory source, `scheduler.kind: cron.d` into a temp dir, a temp state
 * dir. Every child process has a time limit.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAIN, cliEnv, ensureBuilt } from './fixtures/sync-cli.js';

const JOB = `apiVersion: v1
kind: Job
metadata:
  name: job-a
  tenant: acme
spec:
  schedule: "0 2 * * *"
  command: /bin/echo a
`;

const CONFIG = (dir: string, name = 'host1'): string => `agent:
  name: ${name}
  tenant: acme
source:
  url: ${dir}/src
  interval: 1s
scheduler:
  kind: cron.d
  cronDir: ${dir}/cron
stateDir: ${dir}/state
`;

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Children still running; a test that fails or times out leaves none behind (afterEach). */
const children = new Set<ChildProcess>();

/** Starts the built CLI; killed (SIGKILL) after `ms`, and at the end of the test at the latest. */
function start(args: string[], env: NodeJS.ProcessEnv, ms: number): ChildProcess {
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: root, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'], timeout: ms, killSignal: 'SIGKILL' });
  children.add(child);
  child.on('close', () => children.delete(child));
  return child;
}

/** Runs the built CLI to its end (at most `ms`). */
function cli(args: string[], env: NodeJS.ProcessEnv = {}, ms = 10_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = start(args, env, ms);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

let root: string;
let config: string;
const cronFile = (): Buffer => readFileSync(join(root, 'cron/cronsync'));
const statusFile = (): Buffer => readFileSync(join(root, 'state/status.json'));

beforeAll(async () => {
  await ensureBuilt();
  root = mkdtempSync(join(tmpdir(), 'cronsync-cfg-typo-'));
  for (const d of ['src', 'cron', 'state']) mkdirSync(join(root, d));
  writeFileSync(join(root, 'src/a.yaml'), JOB);
  config = join(root, 'config.yaml');
  writeFileSync(config, CONFIG(root));
  const first = await cli(['sync', '--config', config]);
  expect(first.code, first.stderr).toBe(0);
}, 300_000);
afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Runs `args` and asserts nothing installed or recorded changed and no stack trace shows. */
async function refused(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const cron = cronFile();
  const status = statusFile();

  const run = await cli(args, env);

  expect(`${run.stdout}${run.stderr}`).not.toMatch(/^\s+at /m);
  expect(cronFile().equals(cron)).toBe(true);
  expect(statusFile().equals(status)).toBe(true);
  return run;
}

describe('e2e/config-typo-audit: CRONSYNC_* variables', { timeout: 30_000 }, () => {
  it.each(['sync', 'diff'])('%s checks CRONSYNC_LOG_LEVEL even though its default --log-level warn wins over it', async (command) => {
    const run = await refused([command, '--config', config], { CRONSYNC_LOG_LEVEL: 'loud' });

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('CRONSYNC_LOG_LEVEL: log.level must be one of');
    expect(run.stderr).toContain('(got "loud")');
  });

  it('quotes a bad value escaped, keeping one line per problem', async () => {
    const run = await refused(['sync', '--config', config], { CRONSYNC_SOURCE_INTERVAL: '5x\u001b[31m\nq', CRONSYNC_CHECKIN_START: 'ma\nybe' });

    expect(run.code).toBe(1);
    expect(run.stderr.split('\n')).toEqual([
      `cronsync: invalid config ${config}:`,
      '  CRONSYNC_CHECKIN_START: CRONSYNC_CHECKIN_START must be true or false (got "ma\\nybe")',
      '',
    ]);
    const second = await refused(['status', '--config', config], { CRONSYNC_SOURCE_INTERVAL: '5x\u001b[31m\nq' });
    expect(second.stderr).toContain('CRONSYNC_SOURCE_INTERVAL: source.interval must be a duration such as 90s, 15m, 2h or 1h30m (got "5x\\u001b[31m\\nq")\n');
    expect(second.stderr).not.toContain('\u001b');
  });

  it('names the variable behind a rule over several keys (source.verify)', async () => {
    const run = await refused(['diff', '--config', config], { CRONSYNC_SOURCE_VERIFY_MODE: 'head' });

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('CRONSYNC_SOURCE_VERIFY_MODE: source.verify.mode head needs trusted keys');
  });

  it.each(['sync', 'status'])('%s: a CRONSYNC_STATE_DIR that is a file is a config error naming it', async (command) => {
    const run = await refused([command, '--config', config], { CRONSYNC_STATE_DIR: config });

    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`cronsync: invalid config ${config}:\n  CRONSYNC_STATE_DIR: stateDir ${config} is a file, not a directory\n`);
  });

  it('names CRONSYNC_CONFIG when the file it names cannot be read', async () => {
    const run = await refused(['sync'], { CRONSYNC_CONFIG: join(root, 'nope.yaml') });

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`cannot read config file ${join(root, 'nope.yaml')} (from CRONSYNC_CONFIG): no such file`);
  });

  it('daemon: a CRONSYNC_STOP_ON_STDIN_EOF it cannot read stops the start, rather than meaning "off"', async () => {
    const run = await refused(['daemon', '--config', config], { CRONSYNC_STOP_ON_STDIN_EOF: 'maybe' });

    expect(run.signal).toBeNull();
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('cronsync: CRONSYNC_STOP_ON_STDIN_EOF must be 1 or 0 (got "maybe")\n');
  });
});

describe('e2e/config-typo-audit: flags', { timeout: 30_000 }, () => {
  it('refuses an option given twice with different values (exit 2), before touching anything', async () => {
    const other = join(root, 'other-state');

    const run = await refused(['sync', '--config', config, '--state-dir', join(root, 'state'), '--state-dir', other]);

    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`cronsync: --state-dir is given twice ("${join(root, 'state')}", then "${other}"); give it once\n`);
  });

  it('says which option lacks its value, on one line', async () => {
    const run = await refused(['sync', '--state-dir', '--config', config]);

    expect(run.code).toBe(2);
    expect(run.stderr).toBe('cronsync: --state-dir needs a value\n');
  });

  it.each([
    ['a file', (): string => config, 'is a file, not a directory'],
    ['a path with a line break', (): string => join(root, 's\ntate'), 'must not contain control characters'],
  ])('--state-dir naming %s is a usage error naming the flag', async (_, dir, said) => {
    const run = await refused(['sync', '--config', config, '--state-dir', dir()]);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--state-dir: stateDir ');
    expect(run.stderr).toContain(said);
  });
});

describe('e2e/config-typo-audit: daemon reload', () => {
  it('SIGHUP with a broken config keeps the old one and keeps syncing, logs file:line and key without a stack; a fixed one is taken', { timeout: 40_000 }, async () => {
    const child = start(['daemon', '--config', config, '--log-level', 'info'], {}, 35_000);
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    const until = async (ok: () => boolean, ms = 8000): Promise<boolean> => {
      for (const t0 = Date.now(); Date.now() - t0 < ms;) {
        if (ok()) return true;
        await new Promise((r) => setTimeout(r, 50));
      }
      return ok();
    };
    const attempt = (): string => (JSON.parse(statusFile().toString()) as { lastAttempt: { startedAt: string } }).lastAttempt.startedAt;
    try {
      expect(await until(() => out.includes('"msg":"Starting"'))).toBe(true);
      const cron = cronFile();
      const good = CONFIG(root);
      const broken: [string, RegExp][] = [
        [good.replace('  tenant: acme\n', '  tenant: [acme\n'), /config\.yaml:4:1: /],
        [good.replace('  interval: 1s\n', '  interval: 1s\n  intervall: 2s\n'), /config\.yaml:7:3: unknown field \\"source\.intervall\\"/],
        [good.replace('  interval: 1s\n', '  interval: [1]\n'), /config\.yaml:6:13: source\.interval must be a string/],
      ];

      for (const [text, said] of broken) {
        writeFileSync(config, text);
        const from = out.length;
        child.kill('SIGHUP');
        expect(await until(() => out.slice(from).includes('Reload failed'))).toBe(true);
        const before = attempt();
        expect(await until(() => attempt() !== before, 5000)).toBe(true);

        const line = out.slice(from).split('\n').find((l) => l.includes('Reload failed'))!;
        expect(line).toMatch(said);
        expect(line).not.toContain('    at ');
        expect(child.exitCode).toBeNull();
        expect(cronFile().equals(cron)).toBe(true);
      }
      writeFileSync(config, CONFIG(root, 'host2'));
      const from = out.length;
      child.kill('SIGHUP');
      expect(await until(() => out.slice(from).includes('Configuration reloaded'))).toBe(true);
      expect(await until(() => (JSON.parse(statusFile().toString()) as { agent: { name: string } }).agent.name === 'host2')).toBe(true);
      expect(cronFile().equals(cron)).toBe(true);
      child.kill('SIGTERM');

      expect(await exited).toBe(0);
      expect(out).not.toMatch(/^\s+at /m);
    } finally {
      writeFileSync(config, CONFIG(root));
    }
  });
});
