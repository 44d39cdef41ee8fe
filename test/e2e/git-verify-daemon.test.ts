/**
 * The acceptance of `source.verify` (issue 15): `cronsync daemon` as a real child process (the
 * built CLI) against a real Git smart-HTTP server, writing a cron.d file into a temporary
 * directory. Signed commits apply; an unsigned one is refused: the last good jobs stay in the
 * cron.d file, the status file and /metrics show the refusal, the daemon keeps polling, and a
 * later signed commit applies. Every wait is a poll with a deadline.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseCronD } from '../../src/scheduler/crond/parse.js';
import type { StatusFile } from '../../src/status/types.js';
import { ensureBuilt, jobYaml, startCli, waitFor } from './fixtures/daemon-process.js';
import type { CliChild } from './fixtures/daemon-process.js';
import { createRepo, gitAvailable, startGitServer } from './helpers/git-server.js';
import type { GitServer } from './helpers/git-server.js';
import { createSigningKeys, signingAvailable } from './helpers/signing.js';
import type { SigningKeys } from './helpers/signing.js';

const WAIT_MS = 20_000;
const enabled = gitAvailable && signingAvailable;

let server: GitServer;
let keys: SigningKeys;
let dir: string;
const children: CliChild[] = [];

beforeAll(async () => {
  if (!enabled) return;
  await ensureBuilt();
  server = await startGitServer();
  keys = createSigningKeys();
  dir = mkdtempSync(join(tmpdir(), 'cronsync-verify-daemon-'));
}, 180_000);

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') {
    for (const c of children) console.error(`daemon ${c.pid} stdout (tail):\n${c.stdout().slice(-4000)}\nstderr:\n${c.stderr().slice(-2000)}`);
  }
  await Promise.all(children.splice(0).map((c) => c.kill()));
});

afterAll(async () => {
  await server?.stop();
  keys?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

describe.skipIf(!enabled)('e2e/git-verify-daemon', () => {
  it('only signed commits apply; a refusal shows in status and metrics while the last good jobs stay installed', async () => {
    const stateDir = join(dir, 'state');
    const cronDir = join(dir, 'cron.d');
    mkdirSync(cronDir);
    const cronFile = join(cronDir, 'cronsync');
    const config = join(dir, 'config.yaml');
    const repo = createRepo(server.root, 'signed', null);
    const good = keys.commit(repo, { 'jobs/one.yaml': jobYaml('t1', 'one') }, 'ssh');
    writeFileSync(config, [
      'agent: { name: verify-host, tenant: t1 }',
      'source:',
      `  url: ${JSON.stringify(server.repoUrl('signed'))}`,
      '  ref: main',
      '  interval: 1s',
      '  timeout: 10s',
      `  verify: { mode: head, sshAllowedSigners: ${JSON.stringify(keys.allowedSigners)}, openpgpKeys: ${JSON.stringify(keys.openpgpKeys)} }`,
      `scheduler: { kind: cron.d, cronDir: ${JSON.stringify(cronDir)} }`,
      `stateDir: ${JSON.stringify(stateDir)}`,
      'daemon: { maxBackoff: 2s, health: { listen: "127.0.0.1:0" } }',
      'log: { level: info }',
      '',
    ].join('\n'));
    const child = startCli(['daemon', '--config', config], { cwd: dir });
    children.push(child);
    const status = (): StatusFile | null => {
      const text = readText(join(stateDir, 'status.json'));
      return text === null ? null : (JSON.parse(text) as StatusFile);
    };
    const cronJobs = (): string => parseCronD(readText(cronFile) ?? '', 'cronsync', '').entries.flatMap((e) => (e.marker ? [e.marker.jobId] : [])).sort().join(',');
    const line = await waitFor('the health listener', () => child.logs().find((l) => l.msg === 'Listening' && (l.serves as string[] | undefined)?.includes('health')), 15_000);
    const metricsUrl = `http://127.0.0.1:${String(line.address).split(':').pop()}/metrics`;
    await waitFor('the signed commit installed', () => cronJobs() === 't1/one', WAIT_MS, 25);
    const installed = readText(cronFile);

    const unsigned = keys.commit(repo, { 'jobs/two.yaml': jobYaml('t1', 'two') }, null);
    const refused = await waitFor('two refusals of the unsigned commit', () => {
      const s = status();
      return s?.source.verification?.commit === unsigned && (s.daemon?.consecutiveFailures ?? 0) >= 2 ? s : undefined;
    }, WAIT_MS);
    const metrics = await (await fetch(metricsUrl)).text();
    const whileRefused = readText(cronFile);
    const signed = keys.commit(repo, { 'jobs/three.yaml': jobYaml('t1', 'three') }, 'gpg');
    await waitFor('the signed head installed', () => cronJobs() === 't1/one,t1/three,t1/two', WAIT_MS, 25);
    const after = await waitFor('status at the signed head', () => {
      const s = status();
      return s?.source.commit === signed && s.lastAttempt.result === 'ok' ? s : undefined;
    }, 5_000);

    expect(refused.lastAttempt).toMatchObject({ result: 'error', reason: 'SourceVerifyFailed' });
    expect(refused.source.commit).toBe(good);
    expect(refused.source.verification).toEqual({ mode: 'head', commit: unsigned, result: 'unsigned', signer: null });
    expect(refused.problems.map((p) => [p.rule, p.message])).toEqual([['verify', expect.stringContaining(`commit ${unsigned} refused: it is not signed`)]]);
    expect(refused.jobs.map((j) => [j.id, j.state])).toEqual([['t1/one', 'installed']]);
    expect(Number(/^cronsync_source_verify_failures_total\{result="unsigned"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(2);
    expect(metrics).toMatch(/^cronsync_source_verify_failures_total\{result="untrusted"\} 0$/m);
    expect(whileRefused).toBe(installed);
    expect(after.source.verification).toMatchObject({ mode: 'head', commit: signed, result: 'valid' });
    expect(after.problems).toEqual([]);
    expect(child.alive()).toBe(true);
  }, 90_000);
});
