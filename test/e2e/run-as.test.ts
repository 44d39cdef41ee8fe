/**
 * `spec.user` end to end (issue 15): the agent runs as root with the cron.d adapter (a temp
 * cron.d dir) and a plain directory source. `cronsync exec` is started directly, as root, the
 * way the cron.d entry starts it, rather than waiting up to a minute for a cron daemon
 * (test/e2e/cron-daemon.test.ts covers real firing). A throwaway user with a supplementary group
 * is created with useradd and removed afterwards, with a second account sharing its uid (useradd -o)
 * and another group. Root only, with useradd and setpriv; skipped otherwise.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCheckinServer } from './helpers/checkin-server.js';
import type { CheckinServer } from './helpers/checkin-server.js';
import { cliEnv, ensureBuilt, MAIN, markerJobs, runCli, writeConfig } from './fixtures/sync-cli.js';

const isRoot = process.getuid?.() === 0;
const hasTools = spawnSync('sh', ['-c', 'command -v useradd && command -v userdel && command -v groupadd && command -v groupdel && command -v setpriv && command -v getent && command -v pgrep'], { stdio: 'ignore' }).status === 0;
const canRun = isRoot && hasTools && process.platform === 'linux';
if (!canRun) console.warn('test/e2e/run-as: skipped: needs root on Linux and the useradd, groupadd, setpriv, getent and pgrep programs (Debian packages passwd, util-linux, procps)');

const TENANT = 'acme';

/** A Job manifest; the command is JSON-quoted (JSON is YAML). */
function job(name: string, command: string, extra: string[] = []): string {
  return ['apiVersion: v1', 'kind: Job', 'metadata:', `  name: ${name}`, `  tenant: ${TENANT}`, 'spec:', '  schedule: "15 3 * * *"', `  command: ${JSON.stringify(command)}`, '  checkin: { secret: "${CHECKIN_TOKEN}" }', ...extra, ''].join('\n');
}

interface Exec { code: number | null; stdout: string; stderr: string }

/** The descriptor `exec` inherits: Node marks 3 close-on-exec at start-up, but not higher ones. */
const INHERITED_FD = 30;

/**
 * Runs `cronsync exec ID --config FILE` as root with one more descriptor (INHERITED_FD, without
 * close-on-exec, as a careless parent would pass it) and an agent-only variable.
 */
function exec(id: string, config: string, fd: number): Promise<Exec> {
  return new Promise((resolve, reject) => {
    const stdio: ('ignore' | 'pipe' | number)[] = ['ignore', 'pipe', 'pipe'];
    while (stdio.length < INHERITED_FD) stdio.push('ignore');
    stdio.push(fd);
    const child = spawn(process.execPath, [MAIN, 'exec', id, '--config', config], { cwd: tmpdir(), env: cliEnv({ AGENT_ONLY: 'agent-secret-value' }), stdio });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Pids of `uid`'s processes that still run. Zombies do not count: killed orphans linger as
 * zombies in containers whose init does not reap them.
 */
function liveProcesses(uid: number): string[] {
  return spawnSync('pgrep', ['-U', String(uid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).filter((pid) => {
    try {
      return !/^State:\s*[ZX]/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
    } catch {
      return false;
    }
  });
}

/** Polls `cond` every 50 ms, for at most 20 s. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!cond()) throw new Error('condition not met within 20 s');
}

/** `key=value` lines of a job's output. */
const fields = (text: string): Record<string, string> => Object.fromEntries(text.split('\n').filter((l) => /^[a-z]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

describe.runIf(canRun)('e2e/run-as: spec.user with the cron.d adapter, agent as root', { timeout: 60_000 }, () => {
  const user = `csra${process.pid % 100000}`;
  const group = `csrag${process.pid % 100000}`;
  // Shares `user`'s uid, comes after it in the password database, and has another group.
  const twin = `csrb${process.pid % 100000}`;
  const twinGroup = `csrbg${process.pid % 100000}`;
  let dir = '';
  let repo = '';
  let stateDir = '';
  let cronDir = '';
  let secrets = '';
  let config = '';
  let server: CheckinServer;
  let uid = -1;
  let gid = -1;
  let twinGid = -1;

  const writeConfigWith = (allowedUsers: string[] | '*'): string => writeConfig(dir, {
    agent: { name: 'host-1', tenant: TENANT },
    source: { url: repo },
    scheduler: { kind: 'cron.d', cronDir, allowedUsers },
    checkin: { url: server.url, protocol: 'crontopus' },
    secretsFile: secrets,
    stateDir,
    log: { level: 'warn' },
  });
  const status = async (): Promise<{ jobs: { id: string; state: string; user?: string | null; reason?: string }[] }> => {
    const r = await runCli(['status', '--json', '--config', config]);
    return JSON.parse(r.stdout) as never;
  };
  const row = (s: Awaited<ReturnType<typeof status>>, name: string) => s.jobs.find((j) => j.id === `${TENANT}/${name}`);

  const removeAccounts = (): void => {
    spawnSync('userdel', [twin], { stdio: 'ignore' });
    spawnSync('userdel', ['-r', user], { stdio: 'ignore' });
    spawnSync('groupdel', [group], { stdio: 'ignore' });
    spawnSync('groupdel', [twinGroup], { stdio: 'ignore' });
  };

  beforeAll(async () => {
    await ensureBuilt();
    removeAccounts();
    expect(spawnSync('groupadd', [group]).status).toBe(0);
    expect(spawnSync('groupadd', [twinGroup]).status).toBe(0);
    expect(spawnSync('useradd', ['-m', '-s', '/bin/sh', '-G', group, user]).status).toBe(0);
    uid = Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout);
    gid = Number(spawnSync('getent', ['group', group], { encoding: 'utf8' }).stdout.split(':')[2]);
    twinGid = Number(spawnSync('getent', ['group', twinGroup], { encoding: 'utf8' }).stdout.split(':')[2]);
    expect(spawnSync('useradd', ['-o', '-u', String(uid), '-M', '-N', '-g', twinGroup, '-d', `/home/${user}`, '-s', '/bin/sh', twin]).status).toBe(0);
    dir = mkdtempSync(path.join(tmpdir(), 'cronsync-e2e-runas-'));
    // Traversable by the job's user, so only the state dir's and files' own modes protect them.
    chmodSync(dir, 0o755);
    repo = path.join(dir, 'repo');
    stateDir = path.join(dir, 'state');
    cronDir = path.join(dir, 'cron.d');
    mkdirSync(repo);
    mkdirSync(cronDir);
    secrets = path.join(dir, 'secrets.env');
    writeFileSync(secrets, 'CHECKIN_TOKEN=tok-123\nJOB_TOKEN=job-token-value\n', { mode: 0o600 });
    server = await startCheckinServer();
    const probe = [
      'echo "uid=$(id -u)"', 'echo "gid=$(id -g)"', 'echo "groups=$(id -G)"',
      'echo "home=$HOME"', 'echo "username=$USER"', 'echo "logname=$LOGNAME"', 'echo "shell=$SHELL"', 'echo "pwd=$(pwd)"',
      'echo "agentonly=${AGENT_ONLY-unset}"', 'echo "jobtoken=$JOB_TOKEN"',
      // Listed by a child shell, so that no descriptor of the listing (a redirection's saved
      // stdout, a pipe) is in the job shell's own list.
      'sh -c \'ls -l /proc/$PPID/fd > "$HOME/fds"\'', 'printf fds=; awk \'/ -> / && $(NF-2) > 2 { printf "%s:%s ", $(NF-2), $NF }\' "$HOME/fds"; echo',
      `ls "${stateDir}" >/dev/null 2>&1 && echo statedir=readable || echo statedir=denied`,
      `cat "${stateDir}/status.json" >/dev/null 2>&1 && echo status=readable || echo status=denied`,
      `cat "${stateDir}/jobs/${TENANT}/plain.json" >/dev/null 2>&1 && echo snapshot=readable || echo snapshot=denied`,
      `cat "${secrets}" >/dev/null 2>&1 && echo secrets=readable || echo secrets=denied`,
    ].join('\n');
    writeFileSync(path.join(repo, 'whoami.yaml'), job('whoami', probe, [`  user: ${user}`, '  env: { JOB_TOKEN: "${JOB_TOKEN}" }']));
    writeFileSync(path.join(repo, 'twin.yaml'), job('twin', probe, [`  user: ${twin}`]));
    writeFileSync(path.join(repo, 'rootfds.yaml'), job('rootfds', probe, ['  user: root']));
    writeFileSync(path.join(repo, 'plain.yaml'), job('plain', 'echo "uid=$(id -u)"'));
    writeFileSync(path.join(repo, 'nobody.yaml'), job('nobody', 'echo "uid=$(id -u) pwd=$(pwd) home=$HOME"', ['  user: nobody']));
    writeFileSync(path.join(repo, 'slow.yaml'), job('slow', 'sleep 300 & sleep 300', [`  user: ${user}`, '  timeout: 1s']));
    writeFileSync(path.join(repo, 'long.yaml'), job('long', 'sleep 300 & sleep 300', [`  user: ${user}`]));
    // The first run takes the marker and stays; the second finds it and ends at once.
    writeFileSync(path.join(repo, 'replaced.yaml'), job('replaced', '[ -e "$HOME/taken" ] && exit 0; touch "$HOME/taken"; sleep 300 & sleep 300', [`  user: ${user}`, '  concurrency: Replace']));
    writeFileSync(path.join(repo, 'denied.yaml'), job('denied', 'id -u', ['  user: daemon']));
    writeFileSync(path.join(repo, 'ghost.yaml'), job('ghost', 'id -u', ['  user: csnosuchuser']));
    config = writeConfigWith([user, twin, 'csnosuchuser', 'nobody', 'root']);
  }, 180_000);

  afterAll(async () => {
    await server?.close();
    // Only the throwaway user's processes (started by these tests), by pid, so userdel can run.
    if (uid > 0) {
      for (const pid of liveProcesses(uid)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    removeAccounts();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('installs allowed jobs and reports a user that is not allowed or not on the host as invalid', async () => {
    const r = await runCli(['sync', '--config', config]);

    expect(r.stderr).toBe('');
    expect(markerJobs(readFileSync(path.join(cronDir, 'cronsync'), 'utf8'))).toEqual(['acme/long', 'acme/nobody', 'acme/plain', 'acme/replaced', 'acme/rootfds', 'acme/slow', 'acme/twin', 'acme/whoami']);
    const s = await status();
    const table = (await runCli(['status', '--config', config])).stdout.split('\n');
    expect(row(s, 'whoami')).toMatchObject({ state: 'installed', user });
    expect(row(s, 'plain')).toMatchObject({ state: 'installed', user: 'root' });
    expect(row(s, 'denied')).toMatchObject({ state: 'invalid', user: 'daemon' });
    expect(row(s, 'denied')?.reason).toContain(`spec.user "daemon" is not allowed on this agent (scheduler.allowedUsers: ${user}, ${twin}, csnosuchuser, nobody, root)`);
    expect(row(s, 'ghost')?.reason).toContain('spec.user "csnosuchuser" does not exist on this host');
    expect(table.find((l) => l.startsWith('JOB'))).toMatch(/ STATE +USER +LAST RUN$/);
    expect(table.find((l) => l.startsWith('acme/whoami'))).toMatch(new RegExp(` installed +${user} +-$`));
  });

  it('runs the command as the user, with its groups, login variables and home, and nothing of the agent', async () => {
    const fd = openSync(secrets, 'r');
    let r: Exec;
    try {
      r = await exec(`${TENANT}/whoami`, config, fd);
    } finally {
      closeSync(fd);
    }

    expect(r.code).toBe(0);
    const body = server.delivered().find((b) => b.job_name === 'whoami');
    const out = fields(String(body?.output ?? ''));
    expect(out).toMatchObject({
      uid: String(uid), home: `/home/${user}`, username: user, logname: user, shell: '/bin/sh', pwd: `/home/${user}`,
      // The resolved ${JOB_TOKEN} reached the command, and is masked in its output (an exact match).
      agentonly: 'unset', jobtoken: '[masked]',
      // SPEC §7: the status file is readable by everyone (0644, reached by name through the
      // 0711 state dir); the dir cannot be listed, and snapshots and secrets stay private.
      statedir: 'denied', status: 'readable', snapshot: 'denied', secrets: 'denied',
    });
    expect(out.groups?.split(' ').map(Number)).toContain(gid);
    expect(out.groups?.split(' ').map(Number)).not.toContain(0);
    // The descriptor the agent inherited (the secrets file) reaches the job as /dev/null.
    const fds = out.fds?.trim().split(' ').filter(Boolean) ?? [];
    expect(fds).toContain(`${INHERITED_FD}:/dev/null`);
    expect(fds.filter((e) => !e.endsWith(':/dev/null'))).toEqual([]);
  });

  it('gives an account that shares a uid its own groups, not those of the first account with that uid', async () => {
    const fd = openSync('/dev/null', 'r');
    const r = await exec(`${TENANT}/twin`, config, fd);
    closeSync(fd);

    expect(r.code).toBe(0);
    const out = fields(String(server.delivered().find((b) => b.job_name === 'twin')?.output ?? ''));
    expect(out).toMatchObject({ uid: String(uid), gid: String(twinGid), username: twin });
    const groups = out.groups?.split(' ').map(Number);
    expect(groups).toContain(twinGid);
    expect(groups).not.toContain(gid);
    expect(groups).not.toContain(0);
  });

  it('masks the agent\'s descriptors also for a job whose account is the agent\'s own (root)', async () => {
    const fd = openSync(secrets, 'r');
    let r: Exec;
    try {
      r = await exec(`${TENANT}/rootfds`, config, fd);
    } finally {
      closeSync(fd);
    }

    expect(r.code).toBe(0);
    const out = fields(String(server.delivered().find((b) => b.job_name === 'rootfds')?.output ?? ''));
    expect(out).toMatchObject({ uid: '0', username: 'root', secrets: 'readable' });
    const fds = out.fds?.trim().split(' ').filter(Boolean) ?? [];
    expect(fds).toContain(`${INHERITED_FD}:/dev/null`);
    expect(fds.filter((e) => !e.endsWith(':/dev/null'))).toEqual([]);
  });

  it('runs a job without spec.user as the agent (root)', async () => {
    const fd = openSync('/dev/null', 'r');
    const r = await exec(`${TENANT}/plain`, config, fd);
    closeSync(fd);

    expect(r.code).toBe(0);
    expect(r.stdout).toBe('uid=0\n');
  });

  it('runs as nobody, in / when its home does not exist', async () => {
    const nobody = spawnSync('getent', ['passwd', 'nobody'], { encoding: 'utf8' }).stdout.split(':');
    const fd = openSync('/dev/null', 'r');
    const r = await exec(`${TENANT}/nobody`, config, fd);
    closeSync(fd);

    expect(r.code).toBe(0);
    const cwd = existsSync(nobody[5]!) ? nobody[5] : '/';
    expect(r.stdout).toBe(`uid=${nobody[2]} pwd=${cwd} home=${nobody[5]}\n`);
  });

  it('kills the whole process tree of the user at the timeout (exit 124)', async () => {
    const fd = openSync('/dev/null', 'r');
    const r = await exec(`${TENANT}/slow`, config, fd);
    closeSync(fd);

    expect(r.code).toBe(124);
    expect(liveProcesses(uid)).toEqual([]);
  });

  it('forwards a signal to the whole process tree of the user', async () => {
    const child = spawn(process.execPath, [MAIN, 'exec', `${TENANT}/long`, '--config', config], { cwd: tmpdir(), env: cliEnv(), stdio: ['ignore', 'ignore', 'ignore'] });
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    await until(() => liveProcesses(uid).length >= 3);

    child.kill('SIGTERM');
    const code = await exited;

    expect(code).toBe(143);
    expect(liveProcesses(uid)).toEqual([]);
  });

  it('Replace terminates the running tree of the user', async () => {
    const first = spawn(process.execPath, [MAIN, 'exec', `${TENANT}/replaced`, '--config', config], { cwd: tmpdir(), env: cliEnv(), stdio: ['ignore', 'ignore', 'ignore'] });
    const firstExited = new Promise<number | null>((r) => first.on('close', (code) => r(code)));
    await until(() => liveProcesses(uid).length >= 3);

    const fd = openSync('/dev/null', 'r');
    const second = await exec(`${TENANT}/replaced`, config, fd);
    closeSync(fd);
    const firstCode = await firstExited;

    expect(second.code).toBe(0);
    expect(firstCode).toBe(143);
    expect(liveProcesses(uid)).toEqual([]);
  });

  it('keeps the last good version of a job whose user is no longer allowed, and syncs the others', async () => {
    writeFileSync(path.join(repo, 'whoami.yaml'), job('whoami', 'echo "uid=$(id -u)"', ['  user: daemon']));
    writeFileSync(path.join(repo, 'added.yaml'), job('added', 'true'));

    const r = await runCli(['sync', '--config', config]);

    expect(r.stderr).toBe('');
    expect(markerJobs(readFileSync(path.join(cronDir, 'cronsync'), 'utf8'))).toEqual(['acme/added', 'acme/long', 'acme/nobody', 'acme/plain', 'acme/replaced', 'acme/rootfds', 'acme/slow', 'acme/twin', 'acme/whoami']);
    const s = await status();
    expect(row(s, 'whoami')).toMatchObject({ state: 'invalid', user });
    expect(row(s, 'whoami')?.reason).toContain('spec.user "daemon" is not allowed');
    expect(row(s, 'added')).toMatchObject({ state: 'installed', user: 'root' });
  });

  it('never lets "*" choose root; naming root allows it', async () => {
    writeFileSync(path.join(repo, 'rooted.yaml'), job('rooted', 'id -u', ['  user: root']));
    config = writeConfigWith('*');

    await runCli(['sync', '--config', config]);
    const star = await status();
    config = writeConfigWith(['*', 'root']);
    await runCli(['sync', '--config', config]);
    const named = await status();

    expect(row(star, 'rooted')?.reason).toContain('spec.user "root" is root (uid 0), which scheduler.allowedUsers must name explicitly');
    expect(row(star, 'whoami')).toMatchObject({ state: 'installed', user: 'daemon' });
    expect(row(named, 'rooted')).toMatchObject({ state: 'installed', user: 'root' });
  });

  // README: narrowing the list takes effect at the next sync for installed jobs too, also for
  // a job whose entry is copied through as it is (its last version cannot be re-rendered now).
  it('a narrowed allowedUsers stops an installed job at its next run, with exit 67 and the reason', async () => {
    config = writeConfigWith(['root']);
    const sync = await runCli(['sync', '--config', config]);
    const s = await status();

    const r = await exec(`${TENANT}/slow`, config, 0);

    expect(sync.stderr).toBe('');
    expect(markerJobs(readFileSync(path.join(cronDir, 'cronsync'), 'utf8'))).toContain(`${TENANT}/slow`);
    expect(row(s, 'slow')).toMatchObject({ state: 'invalid' });
    expect(r.code).toBe(67);
    expect(r.stderr).toContain(`spec.user "${user}" is not allowed on this agent (scheduler.allowedUsers: root)`);
    expect(liveProcesses(uid)).toEqual([]);
  });
});
