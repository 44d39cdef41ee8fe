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
import { ensureBuilt, runCli } from './fixtures/sync-cli.js';
import { A, B, C, MANIFEST_TYPOS as CASES, expectNoCrash } from './fixtures/typo-cases.js';


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

interface StatusFile {
  lastAttempt: { result: string };
  jobs: { id: string; state: string }[];
  problems: { path: string; line: number; column: number; rule: string; severity: string; message: string }[];
}


describe('e2e/typo-audit: one broken manifest', () => {
  it.concurrent.each(CASES)('$name: other jobs untouched, broken job kept, error at file:line:col', async (c) => {
    await withAgent(async (agent) => {
    writeFileSync(join(agent.dir, 'src/b.yaml'), c.text);

    const sync = await runCli(['sync', '--config', agent.config], { cwd: agent.dir });
    const lint = await runCli(['lint', '--format', 'json', 'src'], { cwd: agent.dir });

    expectNoCrash(root, sync, lint);
    expect(sync.code, sync.stdout + sync.stderr).toBe(0);
    expect(readFileSync(agent.cron).equals(agent.cronBytes), readFileSync(agent.cron, 'utf8')).toBe(true);
    const status = JSON.parse(readFileSync(agent.status, 'utf8')) as StatusFile;
    expect(status.lastAttempt.result).toBe('partial');
    const invalid = (c.invalid ?? ['B']).map((x) => (x === 'B' ? 'acme/job-b' : x === 'D' ? 'acme/job-d' : x)).sort();
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

    expectNoCrash(root, sync, text, github, render, diff, status);
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

    expectNoCrash(root, ...runs);
    expect(runs.map((r) => r.code)).toEqual([1, 1, 1, 2]);
    for (const r of runs) expect(r.stderr).toMatch(new RegExp(`${agent.config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${c.line}:${c.col}: .*${c.says.source}`));
    expect(readFileSync(agent.cron).equals(agent.cronBytes)).toBe(true);
    expect(readFileSync(agent.status).equals(statusBefore)).toBe(true);
    });
  }, 30_000);
});
