/**
 * cronsync as a drop-in Crontopus agent (issue #12): the built daemon, given only an enrollment
 * token, enrolls with a loopback fake of the backend (test/e2e/helpers/crontopus-backend.ts),
 * heartbeats, reports its job instances after syncing a directory laid out as Crontopus writes
 * it; `cronsync exec` runs report each run once on the agent route with the endpoint token; a
 * check-in made while the backend is down is spooled and delivered once by the daemon; a
 * refused token makes the daemon enroll again (same machine, same endpoint, new token).
 * Every wait is a poll with a deadline; nothing asserts on elapsed time.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runExec } from '../../src/shim/run.js';
import { listSpool } from '../../src/shim/spool.js';
import type { StatusFile } from '../../src/status/types.js';
import { systemClock } from '../../src/system/clock.js';
import { createNodeHttpClient } from '../../src/system/http.js';
import { nodeRunner } from '../../src/system/runner.js';
import { memoryLog } from '../shim/fixtures.js';
import { ensureBuilt, exitWithin, startCli, waitFor } from './fixtures/daemon-process.js';
import type { CliChild } from './fixtures/daemon-process.js';
import { startCrontopusBackend } from './helpers/crontopus-backend.js';
import type { CrontopusBackend } from './helpers/crontopus-backend.js';

const WAIT_MS = 20_000;
const ENROLLMENT_TOKEN = 'cet_e2e-enrollment-token-0123456789';

const children: CliChild[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  await ensureBuilt();
}, 180_000);

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') {
    for (const c of children) console.error(`daemon ${c.pid} stdout (tail):\n${c.stdout().slice(-4000)}\nstderr:\n${c.stderr().slice(-2000)}`);
  }
  await Promise.all(children.splice(0).map((c) => c.kill()));
  for (const c of cleanups.splice(0).reverse()) await c();
});

const job = (name: string, spec: string, schedule = '*/5 * * * *'): string => `apiVersion: v1\nkind: Job\nmetadata:\n  name: ${name}\n  tenant: t1\nspec:\n  schedule: "${schedule}"\n${spec}`;

function setup(backend: CrontopusBackend, identity?: { endpointId: number; token: string }) {
  const dir = mkdtempSync(join(tmpdir(), 'cronsync-crontopus-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const repo = join(dir, 'manifests');
  const files: Record<string, string> = {
    'production/backup.yaml': job('backup', '  command: echo backed up\n'),
    'production/fail.yaml': job('fail', '  command: "echo boom; exit 3"\n'),
    'nightly.yaml': job('nightly', '  command: echo nightly\n  paused: true\n'),
    'staging/broken.yaml': job('broken', '  command: echo never\n', '99 * * * *'),
  };
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(repo, p, '..'), { recursive: true });
    writeFileSync(join(repo, p), text);
  }
  const cronDir = join(dir, 'cron.d');
  mkdirSync(cronDir);
  const tokenFile = join(dir, identity ? 'endpoint-token' : 'enrollment-token');
  writeFileSync(tokenFile, `${identity?.token ?? ENROLLMENT_TOKEN}\n`, { mode: 0o600 });
  const idKeys = identity ? `endpointId: ${identity.endpointId}, tokenFile: ${JSON.stringify(tokenFile)}` : `enrollmentTokenFile: ${JSON.stringify(tokenFile)}`;
  const stateDir = join(dir, 'state');
  const config = join(dir, 'config.yaml');
  writeFileSync(config, [
    'agent: { name: e2e-host, tenant: t1 }',
    `source: { url: ${JSON.stringify(repo)}, interval: 1s }`,
    `scheduler: { kind: cron.d, cronDir: ${JSON.stringify(cronDir)} }`,
    `checkin: { url: ${JSON.stringify(backend.url)}, protocol: crontopus-agent, ${idKeys} }`,
    `stateDir: ${JSON.stringify(stateDir)}`,
    'log: { level: info }',
    '',
  ].join('\n'));
  return { dir, repo, stateDir, config };
}

function status(stateDir: string): StatusFile | null {
  try {
    return JSON.parse(readFileSync(join(stateDir, 'status.json'), 'utf8')) as StatusFile;
  } catch {
    return null;
  }
}

async function exec(stateDir: string, id: string): Promise<number | string> {
  const child = startCli(['exec', '--state-dir', stateDir, id]);
  return exitWithin(child, WAIT_MS);
}

describe('e2e crontopus-agent', () => {
  it('enrolls, heartbeats, reports job instances and runs, spools through an outage, and enrolls again after a refused token', async () => {
    const backend = await startCrontopusBackend({ enrollmentTokens: [ENROLLMENT_TOKEN] });
    cleanups.push(() => backend.close());
    const env = setup(backend);
    const daemon = startCli(['daemon', '--config', env.config], { cwd: env.dir });
    children.push(daemon);

    // Enroll, heartbeat, sync, job instances.
    const ep = await waitFor('enrollment', () => backend.endpoints.get(1), WAIT_MS);
    await waitFor('a heartbeat', () => ep.heartbeats.length > 0, WAIT_MS);
    await waitFor('job instances', () => ep.instances.length === 4, WAIT_MS);
    const firstToken = ep.token;
    const store = join(env.stateDir, 'crontopus', 'endpoint.json');
    const st = await waitFor('status with the crontopus block', () => {
      const s = status(env.stateDir);
      return s?.crontopus?.jobInstances?.ok ? s : undefined;
    }, WAIT_MS);

    expect(ep.enroll).toMatchObject({ name: 'e2e-host', git_repo_url: env.repo, git_branch: 'main' });
    expect(typeof ep.enroll.machine_id).toBe('string');
    expect(ep.heartbeats[0]).toMatchObject({ status: 'active', version: expect.stringMatching(/^cronsync\//) });
    expect(ep.instances).toEqual([
      { job_name: 'nightly', namespace: 'default', status: 'paused', source: 'git', original_command: 'echo nightly' },
      { job_name: 'backup', namespace: 'production', status: 'scheduled', source: 'git', original_command: 'echo backed up' },
      { job_name: 'fail', namespace: 'production', status: 'scheduled', source: 'git', original_command: 'echo boom; exit 3' },
      { job_name: 'broken', namespace: 'staging', status: 'error', source: 'git', original_command: null },
    ]);
    expect(statSync(store).mode & 0o777).toBe(0o600);
    expect(st.crontopus).toMatchObject({ identity: 'enrolled', endpointId: 1, heartbeat: { ok: true }, enrollment: { ok: true, statusCode: 201 } });

    // Two runs: success and exit 3, each recorded once with the endpoint token.
    expect(await exec(env.stateDir, 't1/backup')).toBe(0);
    expect(await exec(env.stateDir, 't1/fail')).toBe(3);

    expect(backend.runs.map((r) => r.body)).toEqual([
      expect.objectContaining({ endpoint_id: 1, job_name: 'backup', namespace: 'production', status: 'success', exit_code: 0, output: 'backed up\n', error_message: null }),
      expect.objectContaining({ endpoint_id: 1, job_name: 'fail', namespace: 'production', status: 'failure', exit_code: 3, output: 'boom\n' }),
    ]);
    expect(backend.runs.every((r) => Number.isInteger(r.body.duration) && r.authorization === `Bearer ${firstToken}`)).toBe(true);
    expect(String(backend.runs[1]?.body.error_message)).toMatch(/exit code 3/);

    // The backend is down: the check-in is spooled, then delivered once by the daemon.
    await backend.down();
    const code = await runExec({
      jobId: 't1/backup', stateDir: env.stateDir, clock: systemClock, http: createNodeHttpClient(), runner: nodeRunner,
      log: memoryLog(), env: {}, stdout: { write: () => true }, stderr: { write: () => true }, requestTimeoutMs: 500, checkinBudgetMs: 1,
    });
    const spooled = await listSpool(env.stateDir);
    const entry = spooled[0] ? readFileSync(join(env.stateDir, 'spool', spooled[0]), 'utf8') : '';
    await backend.up();
    await waitFor('the spooled check-in delivered', () => backend.runs.length === 3, WAIT_MS);
    await waitFor('the spool emptied', async () => (await listSpool(env.stateDir)).length === 0, WAIT_MS);

    expect(code).toBe(0);
    expect(spooled).toHaveLength(1);
    expect(JSON.parse(entry)).toMatchObject({ protocol: 'crontopus-agent', namespace: 'production' });
    expect(entry).not.toContain(firstToken);
    expect(backend.runs[2]?.body).toMatchObject({ job_name: 'backup', status: 'success', endpoint_id: 1 });

    // The token is refused: the run's check-in is kept, the daemon enrolls again and delivers it.
    backend.revokeToken(1);
    expect(await exec(env.stateDir, 't1/fail')).toBe(3);
    await waitFor('re-enrollment', () => backend.requests.filter((r) => r.path === '/api/endpoints/enroll').length === 2, WAIT_MS);
    await waitFor('the refused check-in delivered', () => backend.runs.length === 4, WAIT_MS);

    expect(backend.endpoints.size).toBe(1);
    expect(backend.requests.filter((r) => r.path === '/api/endpoints/enroll').map((r) => JSON.parse(r.body).machine_id)).toEqual([ep.enroll.machine_id, ep.enroll.machine_id]);
    expect(backend.runs[3]?.authorization).toBe(`Bearer ${ep.token}`);
    expect(backend.runs[3]?.body).toMatchObject({ job_name: 'fail', exit_code: 3 });
    expect(new Set(backend.runs.map((r) => r.body.run_id)).size).toBe(4);
    // Tokens never reach the logs or the status file.
    const outputs = `${daemon.stdout()}${daemon.stderr()}${readFileSync(join(env.stateDir, 'status.json'), 'utf8')}`;
    for (const t of [firstToken, ep.token, ENROLLMENT_TOKEN]) expect(outputs).not.toContain(t);
  }, 120_000);

  it('pre-provisioned: heartbeats and reports with the endpoint id and token file of the config, never enrolling', async () => {
    const backend = await startCrontopusBackend({ enrollmentTokens: [ENROLLMENT_TOKEN] });
    cleanups.push(() => backend.close());
    // An endpoint that exists already, as the Crontopus agent left it.
    const reply = await fetch(`${backend.url}/api/endpoints/enroll`, { method: 'POST', headers: { authorization: `Bearer ${ENROLLMENT_TOKEN}`, 'content-type': 'application/json' }, body: '{"name": "old-agent", "machine_id": "other"}' });
    const { agent_id: endpointId, token } = (await reply.json()) as { agent_id: number; token: string };
    const env = setup(backend, { endpointId, token });
    const daemon = startCli(['daemon', '--config', env.config], { cwd: env.dir });
    children.push(daemon);

    const ep = backend.endpoints.get(endpointId)!;
    await waitFor('a heartbeat', () => ep.heartbeats.length > 0, WAIT_MS);
    await waitFor('job instances', () => ep.instances.length === 4, WAIT_MS);
    expect(await exec(env.stateDir, 't1/backup')).toBe(0);

    expect(backend.requests.filter((r) => r.path === '/api/endpoints/enroll')).toHaveLength(1);
    expect(backend.runs).toEqual([expect.objectContaining({ authorization: `Bearer ${token}`, body: expect.objectContaining({ endpoint_id: endpointId, job_name: 'backup', namespace: 'production', status: 'success' }) })]);
    expect(readFileSync(join(env.stateDir, 'crontopus', 'endpoint.json'), 'utf8')).not.toContain(token);
    expect(`${daemon.stdout()}${daemon.stderr()}`).not.toContain(token);
  }, 60_000);
});
