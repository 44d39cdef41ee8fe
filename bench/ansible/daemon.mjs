/* global fetch */
// Push-to-applied with `cronsync daemon`, polling every second or woken by a webhook.
import { spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { applied, pushChange } from './change.mjs';
import { clearRootCrontab, readEntries, readRootCrontab } from './crontab.mjs';
import { changedSchedule, makeJobs, manifest, manifestPath } from './jobs.mjs';
import { createRepo } from './repo.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A port free right now on 127.0.0.1 (for the webhook listener). */
function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function startDaemon(cli, config, cwd, env) {
  const child = spawn(process.execPath, [cli, 'daemon', '--config', config], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c) => (err = (err + c).slice(-5000)));
  child.exited = new Promise((r) => child.on('exit', r));
  child.errText = () => err;
  return child;
}

async function waitFor(cond, ms, what, child) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (child && child.exitCode !== null) throw new Error(`daemon exited while waiting for ${what}: ${child.errText()}`);
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${child ? `: ${child.errText()}` : ''}`);
    await sleep(2);
  }
}

/**
 * Push-to-applied of a one-job change with `cronsync daemon` (root crontab): `webhook` false
 * polls every 1s; true polls every hour and is told by a signed generic webhook right after
 * the push. Returns the `trials` times in ms.
 */
export async function daemonPushToApplied({ server, work, cli, jobs: count, changed, trials, webhook }) {
  const jobs = makeJobs(count);
  const kind = webhook ? 'webhook' : 'poll';
  const dir = path.join(work, `daemon-${kind}`);
  mkdirSync(dir, { recursive: true });
  const repo = createRepo(server.root, `daemon-${kind}`, Object.fromEntries(jobs.map((j) => [manifestPath(j), manifest(j)])));
  const secret = randomUUID();
  writeFileSync(path.join(dir, 'webhook-secret'), secret, { mode: 0o600 });
  const port = webhook ? await freePort() : 0;
  const config = path.join(dir, 'cronsync.yaml');
  writeFileSync(config, [
    'agent: { name: bench-host, tenant: acme }',
    `source: { url: ${JSON.stringify(server.url(`daemon-${kind}`))}, interval: ${webhook ? '1h' : '1s'} }`,
    'scheduler: { kind: crontab }',
    `stateDir: ${JSON.stringify(path.join(dir, 'state'))}`,
    'log: { level: warn }',
    ...(webhook ? [`daemon: { webhooks: { listen: "127.0.0.1:${port}", secretFile: ${JSON.stringify(path.join(dir, 'webhook-secret'))} } }`] : []),
    '',
  ].join('\n'));
  clearRootCrontab();
  const child = startDaemon(cli, config, dir, { PATH: process.env.PATH, HOME: dir, LANG: 'C.UTF-8' });
  const times = [];
  try {
    await waitFor(() => readEntries(readRootCrontab(), { cronD: false }).size === count, 60_000, 'the first sync', child);
    const m = { jobs, csRepo: repo };
    for (let i = 0; i < trials; i++) {
      // A random phase against the poll timer.
      await sleep(300 + Math.random() * 1000);
      const schedule = changedSchedule(i % 2 === 0);
      const done = applied(readRootCrontab, false, schedule, changed);
      pushChange(m, 'cs', schedule, changed);
      const t0 = process.hrtime.bigint();
      if (webhook) {
        const body = JSON.stringify({ ref: 'refs/heads/main' });
        const sig = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
        const res = await fetch(`http://127.0.0.1:${port}/hooks/generic`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-signature': sig, 'x-delivery': randomUUID() } });
        if (res.status >= 300) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
      }
      await waitFor(done, 30_000, `the change (trial ${i})`, child);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  } finally {
    child.kill('SIGTERM');
    await child.exited;
    clearRootCrontab();
  }
  return times;
}
