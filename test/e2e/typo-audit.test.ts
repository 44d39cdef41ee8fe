/**
 * The promise "a typo in one manifest never takes down the other jobs", held by the built CLI on
 * real parts: a plain-directory source of three jobs, `scheduler.kind: cron.d` into a temp dir,
 * a temp state dir. Each case syncs the good repository, breaks one manifest, and checks that
 * the cron.d file keeps its bytes, the broken job keeps its last applied version (`invalid`),
 * status.json and every lint format name file:line:col and the field, and no output carries a
 * stack trace. The agent config gets the same treatment.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli, type CliRun } from './fixtures/sync-cli.js';

const A = `apiVersion: v1
kind: Job
metadata:
  name: job-a
  tenant: acme
spec:
  schedule: "0 2 * * *"
  timezone: Europe/Berlin
  command: /bin/echo a
`;
// Line numbers of the cases below refer to this file.
const B = `apiVersion: v1
kind: Job
metadata:
  name: job-b
  tenant: acme
spec:
  schedule: "*/15 * * * *"
  command: /bin/echo b
  retry:
    enabled: true
    attempts: 2
`;
const C = `apiVersion: v1
kind: Job
metadata:
  name: job-c
  tenant: acme
spec:
  schedule: "30 4 * * MON"
  command: /bin/echo c
  timeout: 5m
`;

const CONFIG = (dir: string): string => `agent:
  name: host1
  tenant: acme
source:
  url: ${dir}/src
  interval: 60s
scheduler:
  kind: cron.d
  cronDir: ${dir}/cron
stateDir: ${dir}/state
`;

let root: string;
/** Agents synced with the three good jobs, lent to one case at a time (see {@link withAgent}). */
const pool: Agent[] = [];
const waiting: ((a: Agent) => void)[] = [];

beforeAll(async () => {
  await ensureBuilt();
  root = mkdtempSync(join(tmpdir(), 'cronsync-typo-'));
  pool.push(...(await Promise.all([0, 1].map((i) => syncedAgent(join(root, `agent-${i}`))))));
}, 300_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Agent { dir: string; config: string; cron: string; status: string; cronBytes: Buffer }

/** A fresh agent dir with the three good jobs synced. */
async function syncedAgent(dir: string): Promise<Agent> {
  for (const d of ['src', 'cron', 'state']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'src/a.yaml'), A);
  writeFileSync(join(dir, 'src/b.yaml'), B);
  writeFileSync(join(dir, 'src/c.yaml'), C);
  writeFileSync(join(dir, 'config.yaml'), CONFIG(dir));
  const paths = { dir, config: join(dir, 'config.yaml'), cron: join(dir, 'cron/cronsync'), status: join(dir, 'state/status.json') };
  const first = await runCli(['sync', '--config', paths.config], { cwd: dir });
  expect(first.code, first.stderr).toBe(0);
  const cronBytes = readFileSync(paths.cron);
  expect(cronBytes.toString()).toMatch(/acme\/job-a[\s\S]*acme\/job-b[\s\S]*acme\/job-c/);
  return { ...paths, cronBytes };
}

/**
 * Runs `fn` with an agent of the pool, then puts the good b.yaml and config back. A broken
 * manifest or config applies nothing, so the agent's last applied state stays the good one and
 * the next case starts from it; a regression that did change the cron file fails every later case
 * too (they compare with the bytes of the first sync).
 */
async function withAgent(fn: (a: Agent) => Promise<void>): Promise<void> {
  const agent = pool.pop() ?? (await new Promise<Agent>((resolve) => waiting.push(resolve)));
  try {
    await fn(agent);
  } finally {
    writeFileSync(join(agent.dir, 'src/b.yaml'), B);
    writeFileSync(agent.config, CONFIG(agent.dir));
    const next = waiting.shift();
    if (next) next(agent);
    else pool.push(agent);
  }
}

/** Fails on anything that looks like a crash rather than a message for a person. */
function expectNoCrash(...runs: CliRun[]): void {
  for (const r of runs) {
    // The random temp dir could spell "NaN" or "undefined" by chance.
    const all = (r.stdout + r.stderr).replaceAll(root, '<root>');
    expect(all).not.toMatch(/^\s+at /m);
    expect(all).not.toMatch(/internal error|please report|Cannot read prop/i);
    expect(all).not.toMatch(/\b(TypeError|ReferenceError|RangeError|SyntaxError|undefined|NaN)\b|\[object Object\]/);
    expect(r.signal).toBeNull();
  }
}

interface StatusFile {
  lastAttempt: { result: string };
  jobs: { id: string; state: string }[];
  problems: { path: string; line: number; column: number; rule: string; severity: string; message: string }[];
}

interface Case {
  name: string;
  /** The broken text of b.yaml. */
  text: string;
  line: number;
  col: number;
  rule: string;
  /** The field the issue names (lint --format json `path`); '' for a file-level problem. */
  field: string;
  /** Which jobs end up `invalid` (default: job-b only). */
  invalid?: string[];
}

const sub = (from: string, to: string): string => {
  if (!B.includes(from)) throw new Error(`case text: ${from} not in B`);
  return B.replace(from, to);
};

const CASES: Case[] = [
  { name: 'misspelt schedule key', text: sub('schedule:', 'schedul:'), line: 7, col: 3, rule: 'unknown-field', field: 'spec.schedul' },
  { name: 'misspelt timezone key', text: sub('  command:', '  timezon: UTC\n  command:'), line: 8, col: 3, rule: 'unknown-field', field: 'spec.timezon' },
  { name: 'misspelt command key', text: sub('command:', 'comand:'), line: 8, col: 3, rule: 'unknown-field', field: 'spec.comand' },
  { name: 'misspelt tenant key', text: sub('tenant:', 'tenat:'), line: 5, col: 3, rule: 'unknown-field', field: 'metadata.tenat' },
  { name: 'number for command', text: sub('command: /bin/echo b', 'command: 42'), line: 8, col: 12, rule: 'schema', field: 'spec.command' },
  { name: 'string for retry.attempts', text: sub('attempts: 2', 'attempts: "two"'), line: 11, col: 15, rule: 'schema', field: 'spec.retry.attempts' },
  { name: 'negative retry.attempts', text: sub('attempts: 2', 'attempts: -1'), line: 11, col: 15, rule: 'schema', field: 'spec.retry.attempts' },
  { name: 'list for env', text: sub('  retry:', '  env:\n    - A=1\n  retry:'), line: 10, col: 5, rule: 'schema', field: 'spec.env' },
  { name: 'string for args', text: sub('  retry:', '  args: --x\n  retry:'), line: 9, col: 9, rule: 'schema', field: 'spec.args' },
  { name: 'string for enabled', text: sub('  retry:', '  enabled: "yes"\n  retry:'), line: 9, col: 12, rule: 'schema', field: 'spec.enabled' },
  { name: 'number for a label', text: sub('  tenant: acme', '  tenant: acme\n  labels:\n    port: 8080'), line: 7, col: 11, rule: 'schema', field: 'metadata.labels.port' },
  { name: '6-field schedule', text: sub('"*/15 * * * *"', '"0 */15 * * * *"'), line: 7, col: 14, rule: 'cron-fields', field: 'spec.schedule' },
  { name: 'minute 61', text: sub('"*/15 * * * *"', '"61 * * * *"'), line: 7, col: 14, rule: 'cron-range', field: 'spec.schedule' },
  { name: '@reboot', text: sub('"*/15 * * * *"', '"@reboot"'), line: 7, col: 14, rule: 'cron-reboot', field: 'spec.schedule' },
  { name: 'misspelt zone', text: sub('  command:', '  timezone: Europe/Berln\n  command:'), line: 8, col: 13, rule: 'timezone', field: 'spec.timezone' },
  { name: 'timeout 5x', text: sub('  command:', '  timeout: 5x\n  command:'), line: 8, col: 12, rule: 'schema', field: 'spec.timeout' },
  { name: 'negative timeout', text: sub('  command:', '  timeout: -5m\n  command:'), line: 8, col: 12, rule: 'schema', field: 'spec.timeout' },
  { name: 'negative retry delay', text: sub('attempts: 2', 'attempts: 2\n    delay: -10s'), line: 12, col: 12, rule: 'schema', field: 'spec.retry.delay' },
  { name: 'unknown concurrency', text: sub('  command:', '  concurrency: Sometimes\n  command:'), line: 8, col: 16, rule: 'schema', field: 'spec.concurrency' },
  { name: 'unknown backoff', text: sub('attempts: 2', 'attempts: 2\n    backoff: linear'), line: 12, col: 14, rule: 'schema', field: 'spec.retry.backoff' },
  { name: 'kind CronJob', text: sub('kind: Job', 'kind: CronJob'), line: 2, col: 7, rule: 'kind', field: 'kind' },
  { name: 'bad indentation', text: sub('  command: /bin/echo b', '   command: /bin/echo b'), line: 8, col: 1, rule: 'yaml-syntax', field: '' },
  { name: 'tab indentation', text: sub('  command: /bin/echo b', '\tcommand: /bin/echo b'), line: 8, col: 1, rule: 'yaml-syntax', field: '' },
  // yaml itself reports where the string ran out (12:1, past the last line); the opening quote is what to fix.
  { name: 'unclosed double quote', text: sub('"*/15 * * * *"', '"*/15 * * * *'), line: 7, col: 13, rule: 'yaml-syntax', field: 'spec.schedule' },
  { name: 'unclosed single quote', text: sub('attempts: 2', "attempts: 2\n    backoff: 'fixed"), line: 12, col: 14, rule: 'yaml-syntax', field: 'spec.retry.backoff' },
  { name: 'duplicate key', text: sub('  command: /bin/echo b', '  command: /bin/echo b\n  command: /bin/echo b2'), line: 9, col: 3, rule: 'yaml-duplicate-key', field: 'spec.command' },
  { name: 'a scalar document', text: 'hello\n', line: 1, col: 1, rule: 'yaml-not-mapping', field: '' },
  { name: 'two documents with the same name', text: `${B}---\n${B.replace('/bin/echo b', '/bin/echo b2')}`, line: 16, col: 9, rule: 'name-unique', field: 'metadata.name' },
  { name: 'one good and one bad document', text: `${B}---\n${B.replace('job-b', 'job-d').replace('command:', 'comand:')}`, line: 20, col: 3, rule: 'unknown-field', field: 'spec.comand', invalid: ['acme/job-d'] },
  // b.yaml now names job-a: neither copy is trusted, and job-b (last applied from b.yaml) is not "deleted".
  { name: "a name colliding with another file's job", text: sub('name: job-b', 'name: job-a'), line: 4, col: 9, rule: 'name-unique', field: 'metadata.name', invalid: ['acme/job-a', 'acme/job-b'] },
  // A truncated write or a bad merge, not a deletion.
  { name: 'an empty file', text: '', line: 1, col: 1, rule: 'empty-file', field: '' },
  { name: 'a whitespace-only file', text: '\n  \n', line: 1, col: 1, rule: 'empty-file', field: '' },
];

describe('e2e/typo-audit: one broken manifest', () => {
  it.concurrent.each(CASES)('$name: other jobs untouched, broken job kept, error at file:line:col', async (c) => {
    await withAgent(async (agent) => {
    writeFileSync(join(agent.dir, 'src/b.yaml'), c.text);

    const sync = await runCli(['sync', '--config', agent.config], { cwd: agent.dir });
    const lint = await runCli(['lint', '--format', 'json', 'src'], { cwd: agent.dir });

    expectNoCrash(sync, lint);
    expect(sync.code, sync.stdout + sync.stderr).toBe(0);
    expect(readFileSync(agent.cron).equals(agent.cronBytes), readFileSync(agent.cron, 'utf8')).toBe(true);
    const status = JSON.parse(readFileSync(agent.status, 'utf8')) as StatusFile;
    expect(status.lastAttempt.result).toBe('partial');
    const invalid = c.invalid ?? ['acme/job-b'];
    expect(status.jobs.filter((j) => j.state === 'invalid').map((j) => j.id).sort()).toEqual(invalid);
    expect(status.jobs.filter((j) => j.state === 'installed').map((j) => j.id).sort()).toEqual(['acme/job-a', 'acme/job-b', 'acme/job-c'].filter((id) => !invalid.includes(id)));
    expect(status.problems).toContainEqual(expect.objectContaining({ path: 'b.yaml', line: c.line, column: c.col, rule: c.rule, severity: 'error' }));
    // Every job kept at its last version points at its own file (SPEC §7: path, line, column).
    const kept = status.problems.filter((p) => p.rule === 'kept-invalid');
    const wasInstalled = invalid.filter((id) => ['acme/job-a', 'acme/job-b', 'acme/job-c'].includes(id));
    expect(kept.map((p) => p.path).sort()).toEqual(wasInstalled.map((id) => `${id.slice('acme/job-'.length)}.yaml`));
    expect(sync.stdout).toContain(`b.yaml:${c.line}:${c.col}: [${c.rule}]`);
    expect(lint.code).toBe(1);
    const report = JSON.parse(lint.stdout) as { valid: boolean; issues: { file: string; line: number; col: number; path: string; rule: string }[] };
    expect(report.valid).toBe(false);
    expect(report.issues).toContainEqual(expect.objectContaining({ file: 'src/b.yaml', line: c.line, col: c.col, rule: c.rule, path: c.field }));
    });
  }, 30_000);

  it.concurrent.each(CASES.filter((c) => ['misspelt command key', 'unclosed double quote', "a name colliding with another file's job", 'an empty file'].includes(c.name)))('$name: text and github lint, render, diff and status say it too', async (c) => {
    await withAgent(async (agent) => {
    writeFileSync(join(agent.dir, 'src/b.yaml'), c.text);
    const sync = await runCli(['sync', '--config', agent.config], { cwd: agent.dir });

    const [text, github, render, diff, status] = await Promise.all([
      runCli(['lint', 'src'], { cwd: agent.dir, env: { NO_COLOR: '1' } }),
      runCli(['lint', '--format', 'github', 'src'], { cwd: agent.dir }),
      runCli(['render', '--scheduler', 'cron.d', 'src'], { cwd: agent.dir }),
      runCli(['diff', '--config', agent.config], { cwd: agent.dir }),
      runCli(['status', '--config', agent.config], { cwd: agent.dir, env: { NO_COLOR: '1' } }),
    ]);

    expectNoCrash(sync, text, github, render, diff, status);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`src/b.yaml:${c.line}:${c.col}: error [${c.rule}]`);
    expect(github.code).toBe(1);
    expect(github.stdout).toContain(`::error file=src/b.yaml,line=${c.line},col=${c.col},title=${c.rule}::`);
    expect(render.code).toBe(1);
    expect(render.stderr).toContain(`src/b.yaml:${c.line}:${c.col}: error [${c.rule}]`);
    expect(render.stdout).toContain('acme/job-c');
    // The plan keeps every job: nothing to add, change or remove.
    expect(diff.code, diff.stdout).toBe(0);
    expect(diff.stdout).toContain(`b.yaml:${c.line}:${c.col}: [${c.rule}]`);
    expect(diff.stdout).not.toMatch(/^\s*[-~+] acme\//m);
    expect(status.code, status.stdout).toBe(0);
    expect(status.stdout).toContain(`b.yaml:${c.line}:${c.col}: error [${c.rule}]`);
    expect(status.stdout).toMatch(/^acme\/job-b .* invalid /m);
    // Each "Invalid jobs" line names its job once.
    expect(status.stdout).not.toMatch(/(acme\/job-[a-z]): \1:/);
    });
  }, 30_000);
});

interface ConfigCase { name: string; edit: (cfg: string) => string; line: number; col: number; says: RegExp }

const CONFIG_CASES: ConfigCase[] = [
  { name: 'misspelt key', edit: (s) => s.replace('stateDir:', 'stateDr:'), line: 10, col: 1, says: /unknown field "stateDr" \(did you mean "stateDir"\?\)/ },
  { name: 'wrong type', edit: (s) => s.replace('  name: host1', '  name: [host1]'), line: 2, col: 9, says: /agent\.name must be a string/ },
  { name: 'bad duration', edit: (s) => s.replace('interval: 60s', 'interval: 5x'), line: 6, col: 13, says: /source\.interval must be a duration/ },
  { name: 'negative duration', edit: (s) => s.replace('interval: 60s', 'interval: -60s'), line: 6, col: 13, says: /source\.interval must be a duration/ },
  { name: 'unknown scheduler kind', edit: (s) => s.replace('kind: cron.d', 'kind: cron-d'), line: 8, col: 9, says: /scheduler\.kind must be one of/ },
  { name: 'unclosed quote', edit: (s) => s.replace('  tenant: acme', '  tenant: "acme'), line: 3, col: 11, says: /unclosed " quote in the value of agent\.tenant/ },
  { name: 'duplicate key', edit: (s) => s.replace('  tenant: acme', '  tenant: acme\n  tenant: acme2'), line: 4, col: 3, says: /duplicate key "tenant" in agent/ },
];

describe('e2e/typo-audit: a broken agent config', () => {
  it.concurrent.each(CONFIG_CASES)('$name: names config file, line and key; exits per SPEC; nothing installed changes', async (c) => {
    await withAgent(async (agent) => {
    const statusBefore = readFileSync(agent.status);
    writeFileSync(agent.config, c.edit(CONFIG(agent.dir)));

    const runs = await Promise.all(['sync', 'diff', 'status', 'lint'].map((cmd) => runCli([cmd, '--config', agent.config], { cwd: agent.dir })));

    expectNoCrash(...runs);
    expect(runs.map((r) => r.code)).toEqual([1, 1, 1, 2]);
    for (const r of runs) expect(r.stderr).toMatch(new RegExp(`${agent.config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${c.line}:${c.col}: .*${c.says.source}`));
    expect(readFileSync(agent.cron).equals(agent.cronBytes)).toBe(true);
    expect(readFileSync(agent.status).equals(statusBefore)).toBe(true);
    });
  }, 30_000);
});
