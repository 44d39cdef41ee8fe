/**
 * The promise "secrets never appear in scheduler entries, logs, the status file, the process list
 * or error messages", checked end to end with canaries: a distinctive value in every place a
 * secret comes from (the Git password in a file, in a variable and in URL userinfo, the check-in
 * secret and a job's `${VAR}`s from the secrets file and the environment, the webhook secret),
 * then the built CLI through its commands and failure modes against a real `git http-backend`
 * and a loopback check-in server that echoes every request back in its error answers. Every
 * output, every file under the state dirs and cron.d dirs, and /proc/<pid>/cmdline of every
 * process (taken while a fetch waits for the server and while the job runs) is searched for each
 * canary, as sent and as the Basic header carries it. What the README exempts is not searched
 * for: values under 6 characters, and what a job reads by itself.
 */
import { createHmac } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli } from './fixtures/sync-cli.js';
import type { CliRun } from './fixtures/sync-cli.js';
import { startCli, waitFor } from './fixtures/daemon-process.js';
import { createRepo, gitAvailable, startGitServer } from './helpers/git-server.js';
import type { GitServer } from './helpers/git-server.js';

/** One canary per place a secret comes from (each 6+ characters, so the shim masks the job's). */
const CANARY = {
  passwordFile: 'CANARYgitpw-7f3a9c',
  passwordEnv: 'CANARYgitenv-1b2c3d',
  urlPassword: 'CANARYurlpw-4e5f6a',
  checkinSecret: 'CANARYchk-8d9e0f',
  secretsFileVar: 'CANARYjob-2a3b4c',
  environmentVar: 'CANARYenvv-5d6e7f',
  webhookSecret: 'CANARYhook-9a8b7c6d5e4f',
} as const;

/** Each canary as it may travel: as is, and inside a Basic `Authorization` header. */
const FORMS: Array<[name: string, text: string]> = Object.entries(CANARY).flatMap(([name, v]) => [
  [name, v] as [string, string],
  [`${name} (basic auth)`, Buffer.from(`cronsync:${v}`).toString('base64').replace(/=+$/, '')] as [string, string],
]);

/** The canaries found in `text`, by name. */
function canariesIn(text: string): string[] {
  return FORMS.filter(([, form]) => text.includes(form)).map(([name]) => name);
}

/** Every `where: canary` found among the texts seen. */
function leaks(seen: ReadonlyArray<[where: string, text: string]>): string[] {
  return seen.flatMap(([where, text]) => canariesIn(text).map((name) => `${where}: ${name}`));
}

/** Every file under `dir`, as [path, content]. */
function filesUnder(dir: string): Array<[string, string]> {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true, recursive: true });
  } catch {
    return [];
  }
  return entries.filter((e) => e.isFile()).map((e) => {
    const p = path.join(e.parentPath, e.name);
    return [p, readFileSync(p, 'latin1')];
  });
}

/** The command lines of every process now, one per line. */
function processList(): string {
  const lines: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      lines.push(`${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ')}`);
    } catch {
      // Gone meanwhile.
    }
  }
  return lines.join('\n');
}

/** A job that records the process list while it runs, then prints its two secrets. */
function leakyJob(procsFile: string): string {
  return [
    'apiVersion: v1',
    'kind: Job',
    'metadata: { name: leaky, tenant: acme }',
    'spec:',
    '  schedule: "0 3 * * *"',
    `  command: 'for f in /proc/[0-9]*/cmdline; do tr "\\000" " " < "$f" 2>/dev/null; echo; done > "$PROCS"; echo "db=$DB_PASS api=$API_KEY"; echo "db=$DB_PASS" >&2; exit 3'`,
    '  env:',
    '    DB_PASS: "${DB_PASS_SECRET}"',
    '    API_KEY: "${API_KEY_ENV}"',
    `    PROCS: ${JSON.stringify(procsFile)}`,
    '  checkin: { secret: "${CHECKIN_TOKEN}" }',
    '',
  ].join('\n');
}

const me = process.getuid?.() === 0 ? 'root' : userInfo().username;

const writeSecret = (file: string, text: string): string => {
  writeFileSync(file, text);
  chmodSync(file, 0o600);
  return file;
};

// The process list is read from /proc (Linux).
describe.skipIf(!gitAvailable || !existsSync('/proc/self/cmdline'))('e2e/secret-canary', { timeout: 60_000 }, () => {
  let dir: string;
  let server: GitServer;
  let checkins: http.Server;
  /** What the check-in server answers next: its status, with the request echoed in the body. */
  let answer = 422;
  /** Check-ins received, and the spool as it was on disk when each arrived. */
  const received: Array<{ authorization?: string; body: string }> = [];
  const spoolSeen: Array<[string, string]> = [];
  /** The process list at each request to the Git server (the fetching CLI waits for the answer). */
  const fetchProcs: string[] = [];
  const stateDir = (): string => path.join(dir, 'state');
  const cronDir = (): string => path.join(dir, 'cron.d');
  const procsFile = (): string => path.join(dir, 'procs.txt');
  let config: Record<string, unknown>;

  /** Writes `cfg` (JSON is YAML) as `<dir>/<name>.yaml`. */
  const writeConfig = (name: string, cfg: object): string => {
    const file = path.join(dir, `${name}.yaml`);
    writeFileSync(file, JSON.stringify(cfg, null, 2));
    return file;
  };
  /** The config with `source` replaced by `source`, with state and cron.d dirs of its own. */
  const withSource = (name: string, source: object): string => {
    mkdirSync(path.join(dir, `${name}-cron.d`), { recursive: true });
    return writeConfig(name, { ...config, source, stateDir: path.join(dir, `${name}-state`), scheduler: { kind: 'cron.d', user: me, cronDir: path.join(dir, `${name}-cron.d`) } });
  };
  const cli = async (seen: Array<[string, string]>, args: string[], env: NodeJS.ProcessEnv = {}, cwd = dir): Promise<CliRun> => {
    const r = await runCli(args, { env, cwd });
    seen.push([`${args.join(' ')} (stdout)`, r.stdout], [`${args.join(' ')} (stderr)`, r.stderr]);
    return r;
  };
  /** Every file cronsync wrote: the state dirs and cron.d dirs of every config. */
  const written = (): Array<[string, string]> => readdirSync(dir).filter((d) => /(^|-)(state|cron\.d)$/.test(d)).flatMap((d) => filesUnder(path.join(dir, d)));

  beforeAll(async () => {
    await ensureBuilt();
    dir = mkdtempSync(path.join(tmpdir(), 'cronsync-canary-'));
    mkdirSync(cronDir());
    server = await startGitServer({ auth: { username: 'cronsync', password: CANARY.passwordFile } });
    createRepo(server.root, 'jobs', { 'prod/leaky.yaml': leakyJob(procsFile()) });
    // `render --config` reads the manifests of a checkout.
    mkdirSync(path.join(dir, 'checkout', 'prod'), { recursive: true });
    writeFileSync(path.join(dir, 'checkout', 'prod', 'leaky.yaml'), leakyJob(procsFile()));
    server.hook = () => {
      fetchProcs.push(processList());
      return false;
    };
    checkins = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ authorization: req.headers.authorization, body });
        for (const [f, text] of filesUnder(path.join(stateDir(), 'spool'))) spoolSeen.push([f, text]);
        // A server that echoes the request it refuses, headers and all.
        res.writeHead(answer, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ detail: 'refused', url: req.url, headers: req.headers, body }));
      });
    });
    await new Promise<void>((resolve) => checkins.listen(0, '127.0.0.1', resolve));
    const secretsFile = writeSecret(path.join(dir, 'secrets.env'), `DB_PASS_SECRET=${CANARY.secretsFileVar}\nCHECKIN_TOKEN=${CANARY.checkinSecret}\n`);
    config = {
      agent: { name: 'host-1', tenant: 'acme' },
      source: { url: server.repoUrl('jobs'), ref: 'main', auth: { username: 'cronsync', passwordFile: writeSecret(path.join(dir, 'git-token'), `${CANARY.passwordFile}\n`) } },
      scheduler: { kind: 'cron.d', user: me, cronDir: cronDir() },
      checkin: { url: `http://127.0.0.1:${(checkins.address() as AddressInfo).port}/api/checkins` },
      secretsFile,
      stateDir: stateDir(),
      daemon: {
        health: { listen: '127.0.0.1:0' },
        webhooks: { listen: '127.0.0.1:0', secretFile: writeSecret(path.join(dir, 'webhook-secret'), `${CANARY.webhookSecret}\n`) },
      },
    };
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    await new Promise((resolve) => checkins?.close(resolve));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('config errors never quote URL credentials: a YAML syntax error\'s token, the Crontopus base URL, a URL read as a key', async () => {
    const seen: Array<[string, string]> = [];
    const yamlError = path.join(dir, 'yaml-error.yaml');
    writeFileSync(yamlError, `agent: { name: host-1, tenant: acme }\nsource: { url: "https://example.com/jobs.git" }\n]  https://cronsync:${CANARY.urlPassword}@example.com/jobs.git\n`);
    // No space after `url:` in a flow mapping: YAML reads the whole URL as a key.
    const keyTypo = path.join(dir, 'key-typo.yaml');
    writeFileSync(keyTypo, `agent: { name: host-1, tenant: acme }\nsource: { url:https://cronsync:${CANARY.urlPassword}@example.com/jobs.git }\n`);
    const route = writeConfig('crontopus-route', { ...config, checkin: { url: `https://cronsync:${CANARY.urlPassword}@api.example.com/api/checkins`, protocol: 'crontopus-agent', enrollmentTokenFile: path.join(dir, 'enroll') } });

    const runs = [];
    for (const file of [yamlError, route, keyTypo]) {
      for (const args of [['lint', '--config', file], ['sync', '--config', file], ['exec', '--config', file, 'acme/leaky']]) runs.push(await cli(seen, args));
    }

    expect(runs.map((r) => r.code)).toEqual([2, 1, 1, 2, 1, 1, 2, 1, 1]);
    expect(leaks(seen)).toEqual([]);
    expect(runs[0]!.stderr).toContain('Unexpected scalar token in YAML stream: "https://example.com/jobs.git"');
    expect(runs[3]!.stderr).toContain('without the route (got https://api.example.com/api/checkins)');
    expect(runs[6]!.stderr).toContain('unknown field "source.url:https://example.com/jobs.git"');
  });

  it('sync, diff, status, lint and render: outputs, state dir, cron.d and the process list during fetches', async () => {
    const seen: Array<[string, string]> = [];
    const good = writeConfig('good', config);
    const inUrl = withSource('in-url', { url: server.repoUrl('jobs').replace('://', `://cronsync:${CANARY.urlPassword}@`), ref: 'main' });
    const down = withSource('down', { url: `http://cronsync:${CANARY.urlPassword}@127.0.0.1:9/jobs.git` });

    const first = await cli(seen, ['sync', '--config', good, '--log-level', 'debug']);
    await cli(seen, ['sync', '--config', good, '--log-level', 'trace']);
    await cli(seen, ['diff', '--config', good, '--log-level', 'debug']);
    await cli(seen, ['status', '--config', good, '--json']);
    await cli(seen, ['status', '--config', good]);
    await cli(seen, ['lint', '--config', good]);
    for (const kind of ['cron.d', 'crontab', 'systemd', 'windows']) await cli(seen, ['render', '--config', good, '--scheduler', kind], {}, path.join(dir, 'checkout'));
    const wrong = await cli(seen, ['sync', '--config', inUrl, '--log-level', 'debug']);
    await cli(seen, ['status', '--config', inUrl, '--json']);
    server.auth = { username: 'cronsync', password: CANARY.urlPassword };
    const right = await cli(seen, ['sync', '--config', inUrl, '--log-level', 'debug']);
    const rendered = await cli(seen, ['render', '--config', inUrl, '--scheduler', 'systemd'], {}, path.join(dir, 'checkout'));
    server.auth = { username: 'cronsync', password: CANARY.passwordFile };
    const refused = await cli(seen, ['sync', '--config', down]);
    await cli(seen, ['status', '--config', down, '--json']);
    server.hook = (_req, res) => {
      res.writeHead(302, { location: `http://cronsync:${CANARY.urlPassword}@127.0.0.2:1/jobs.git/info/refs?token=${CANARY.urlPassword}` });
      res.end();
      return true;
    };
    const redirected = await cli(seen, ['sync', '--config', good]);
    server.hook = () => {
      fetchProcs.push(processList());
      return false;
    };

    expect([first.code, wrong.code, right.code, rendered.code, refused.code, redirected.code]).toEqual([0, 1, 0, 0, 1, 1]);
    expect(rendered.stdout).toContain(`"url":"${server.repoUrl('jobs')}"`);
    expect(wrong.stderr).toContain('authentication failed (HTTP 401)');
    expect(redirected.stderr).toContain('the server redirects to http://127.0.0.2:1/jobs.git/info/refs');
    expect(readFileSync(path.join(cronDir(), 'cronsync'), 'utf8')).toContain('acme/leaky');
    expect(fetchProcs.some((p) => p.includes(good))).toBe(true);
    expect(leaks([...seen, ...written(), ...fetchProcs.map((p, i): [string, string] => [`process list at fetch ${i}`, p])])).toEqual([]);
  });

  it('exec: the job\'s output masked, check-in errors that echo the request, the spool, run records, the process list', async () => {
    const seen: Array<[string, string]> = [];
    await cli(seen, ['sync', '--config', writeConfig('exec', config)]);
    const env = { API_KEY_ENV: CANARY.environmentVar, CRONSYNC_LOG_LEVEL: 'debug' };

    answer = 422;
    const rejected = await cli(seen, ['exec', '--state-dir', stateDir(), 'acme/leaky'], env);
    answer = 401;
    const refused = await cli(seen, ['exec', '--state-dir', stateDir(), 'acme/leaky'], env);
    const procs = readFileSync(procsFile(), 'latin1');

    expect([rejected.code, refused.code]).toEqual([3, 3]);
    expect(rejected.stdout).toBe('db=[masked] api=[masked]\n');
    expect(rejected.stderr).toContain('Check-in rejected by the server');
    expect(received.map((r) => r.authorization)).toEqual([`Bearer ${CANARY.checkinSecret}`, `Bearer ${CANARY.checkinSecret}`]);
    expect(spoolSeen.length).toBeGreaterThan(0);
    expect(procs).toContain('acme/leaky');
    expect(leaks([...seen, ...written(), ...spoolSeen, ['process list while the job ran', procs], ...received.map((r, i): [string, string] => [`check-in ${i} body`, r.body])])).toEqual([]);
  });

  it('daemon: its log, /metrics, /healthz, /readyz, webhooks signed with the secret, a reload that fails', async () => {
    const seen: Array<[string, string]> = [];
    server.auth = { username: 'cronsync', password: CANARY.passwordEnv };
    const file = writeConfig('daemon', { ...config, source: { url: server.repoUrl('jobs'), ref: 'main', auth: { username: 'cronsync', passwordEnv: 'GIT_TOKEN' } }, log: { level: 'debug' } });
    const started = new Date().toISOString();
    const daemon = startCli(['daemon', '--config', file], { cwd: dir, env: { GIT_TOKEN: CANARY.passwordEnv, TZ: 'UTC' } });
    try {
      const listening = await waitFor('both listeners', () => {
        const l = daemon.logs().filter((x) => x.msg === 'Listening');
        return l.length === 2 && l;
      }, 15_000);
      const port = (serves: string): string => String(listening.find((l) => (l.serves as string[]).includes(serves))!.address).split(':')[1]!;
      const health = `http://127.0.0.1:${port('health')}`;
      const hooks = `http://127.0.0.1:${port('webhooks')}/hooks`;
      await waitFor('a sync', () => {
        const status = JSON.parse(readFileSync(path.join(stateDir(), 'status.json'), 'utf8')) as { lastAttempt: { startedAt: string; result: string } };
        return status.lastAttempt.startedAt >= started && status.lastAttempt.result === 'ok';
      }, 15_000);
      const body = JSON.stringify({ ref: 'refs/heads/main' });
      const calls = [
        fetch(`${hooks}/gitlab`, { method: 'POST', headers: { 'x-gitlab-token': CANARY.webhookSecret }, body }),
        fetch(`${hooks}/gitlab`, { method: 'POST', headers: { 'x-gitlab-token': `${CANARY.webhookSecret}-wrong` }, body }),
        fetch(`${hooks}/github`, { method: 'POST', headers: { 'x-hub-signature-256': `sha256=${createHmac('sha256', CANARY.webhookSecret).update(body).digest('hex')}` }, body }),
        fetch(`${hooks}/generic?secret=${CANARY.webhookSecret}`, { method: 'POST', headers: { authorization: `Bearer ${CANARY.webhookSecret}` }, body }),
      ];
      const statuses = await Promise.all(calls.map(async (c) => (await c).status));
      for (const p of ['/metrics', '/healthz', '/readyz']) seen.push([p, await (await fetch(`${health}${p}`)).text()]);
      writeFileSync(file, `agent: { name: host-1, tenant: acme }\n]  https://cronsync:${CANARY.urlPassword}@example.com/jobs.git\n`);
      daemon.proc.kill('SIGHUP');
      await waitFor('the failed reload', () => daemon.logs().some((l) => String(l.msg).startsWith('Reload failed')), 15_000);
      seen.push(['process list of the daemon', processList()]);
      daemon.proc.kill('SIGTERM');
      await daemon.exited;

      expect(statuses).toEqual([202, 401, 202, 401]);
    } finally {
      await daemon.kill();
      server.auth = { username: 'cronsync', password: CANARY.passwordFile };
    }

    expect(leaks([...seen, ['daemon stdout', daemon.stdout()], ['daemon stderr', daemon.stderr()], ...written()])).toEqual([]);
  });
});
