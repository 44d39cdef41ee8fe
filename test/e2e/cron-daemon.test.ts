/**
 * Jobs really fire through Debian's cron daemon (`/usr/sbin/cron`, package `cron`): a throwaway
 * user runs `cronsync sync` itself (the non-root path: `crontab -l` / `crontab -`) from a plain
 * directory in its home, and the daemon starts `cronsync exec` for the active jobs only.
 * Root only (useradd, runuser, starting cron); skipped otherwise.
 *
 * Time bound: the daemon reloads changed crontabs and starts jobs once a minute, a second or
 * so after the minute turns, so the first run comes at most ~61 s after the sync. The wait is
 * bounded at 130 s (one spare minute for a loaded machine), polling every 2 s. A cron daemon
 * that is already running is used as is; otherwise one is started in the foreground and
 * stopped afterwards (only that process). While it runs it also runs the host's /etc/crontab
 * and /etc/cron.d entries, as any cron daemon on the machine would.
 *
 * The user must be able to read dist/ and run node. When it cannot (a checkout under /root,
 * node under ~/.nvm), or when E2E_COPY_PACKAGE=1, the built package (package.json,
 * dist, node_modules) and the node binary are copied into the user's home first.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, MAIN, markerJobs, ROOT } from './fixtures/sync-cli.js';

const CRON = '/usr/sbin/cron';
const SPOOL = '/var/spool/cron/crontabs';
const TENANT = 'acme';
const WAIT_MS = 130_000;
const POLL_MS = 2_000;

const isRoot = process.getuid?.() === 0;
const hasTools = spawnSync('sh', ['-c', 'command -v crontab && command -v useradd && command -v userdel && command -v runuser && command -v pgrep'], { stdio: 'ignore' }).status === 0;
const canRun = isRoot && hasTools && existsSync(CRON) && existsSync(SPOOL);
if (!canRun) console.warn(`test/e2e/cron-daemon: skipped: needs root, ${CRON} and the crontab, useradd, runuser and pgrep programs (Debian packages cron, passwd, util-linux, procps)`);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const readIf = (file: string): string | null => (existsSync(file) ? readFileSync(file, 'utf8') : null);
const linesOf = (text: string | null): string[] => (text ?? '').split('\n').filter((l) => l !== '');
/** `HH:MM` in UTC, as `date -u +%H:%M` prints it. */
const hhmm = (t: number): string => new Date(t).toISOString().slice(11, 16);

/** Is a cron daemon running (a zombie left by a stopped one does not count)? */
function cronRunning(): boolean {
  const pids = spawnSync('pgrep', ['-x', 'cron'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  return pids.some((pid) => {
    try {
      return !/^State:\s*Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
    } catch {
      return false; // gone since pgrep listed it
    }
  });
}

/** A Job manifest; the command is JSON-quoted (JSON is YAML). */
function job(name: string, schedule: string, command: string, extra: string[] = [], timezone = 'UTC'): string {
  return ['apiVersion: v1', 'kind: Job', 'metadata:', `  name: ${name}`, `  tenant: ${TENANT}`, 'spec:', `  schedule: "${schedule}"`, `  timezone: ${timezone}`, `  command: ${JSON.stringify(command)}`, ...extra, ''].join('\n');
}

describe.runIf(canRun)('e2e/cron-daemon: jobs fire through the real Debian cron daemon', { timeout: WAIT_MS + 60_000 }, () => {
  const user = `csdmn${process.pid % 100000}`;
  const home = `/home/${user}`;
  const stateDir = path.join(home, 'state');
  const config = path.join(home, 'config.yaml');
  const out = (name: string): string => path.join(home, `${name}.out`);
  const runRecord = (name: string): string => path.join(stateDir, 'runs', TENANT, `${name}.json`);
  let cli: { node: string; main: string };
  let cron: ChildProcess | null = null;
  let cronExited: Promise<void> = Promise.resolve();
  let uid = -1;

  /** Runs a command as the throwaway user with a clean environment (runuser sets HOME). */
  const asUser = (file: string, args: string[]) =>
    spawnSync('runuser', ['-u', user, '--', file, ...args], { cwd: home, encoding: 'utf8', env: { PATH: process.env.PATH, LANG: 'C' }, timeout: 60_000 });
  const runCli = (...args: string[]) => asUser(cli.node, [cli.main, ...args, '--config', config]);
  const canAccess = (test: string, file: string): boolean => asUser('test', [test, file]).status === 0;

  /** The node binary and main.js the user can run: in place, or copied into its home. */
  function cliForUser(): { node: string; main: string } {
    const inPlace = canAccess('-r', MAIN) && canAccess('-x', process.execPath);
    if (inPlace && process.env.E2E_COPY_PACKAGE !== '1') return { node: process.execPath, main: MAIN };
    const pkg = path.join(home, 'cronsync');
    mkdirSync(pkg, { recursive: true });
    copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
    for (const dir of ['dist', 'node_modules']) cpSync(path.join(ROOT, dir), path.join(pkg, dir), { recursive: true });
    const node = path.join(pkg, 'node');
    copyFileSync(process.execPath, node);
    chmodSync(node, 0o755);
    execFileSync('chown', ['-R', `${user}:`, pkg]);
    return { node, main: path.join(pkg, 'dist/cli/main.js') };
  }

  /** Mail cron sent the user (job output), for failure messages; empty when there is no MTA. */
  const mail = (): string => readIf(`/var/mail/${user}`)?.slice(-4000) ?? '';

  beforeAll(async () => {
    await ensureBuilt();
    spawnSync('crontab', ['-u', user, '-r'], { stdio: 'ignore' });
    spawnSync('userdel', ['-r', user], { stdio: 'ignore' });
    execFileSync('useradd', ['-m', '-d', home, '-s', '/bin/sh', user]);
    uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
    cli = cliForUser();

    // D: a fixed time 30 minutes from now (UTC), so it cannot fire while the test runs.
    const later = new Date(Date.now() + 30 * 60_000);
    const schedD = `${later.getUTCMinutes()} ${later.getUTCHours()} * * *`;
    const jobs = path.join(home, 'jobs');
    mkdirSync(jobs);
    const append = (name: string): string => `date -u +%H:%M >> ${out(name)}`;
    writeFileSync(path.join(jobs, 'a.yaml'), job('a', '* * * * *', append('a')));
    writeFileSync(path.join(jobs, 'b.yaml'), job('b', '* * * * *', append('b'), [], 'Asia/Kolkata'));
    writeFileSync(path.join(jobs, 'c.yaml'), job('c', '* * * * *', append('c'), ['  paused: true']));
    writeFileSync(path.join(jobs, 'd.yaml'), job('d', schedD, append('d')));
    // A long interval: `status` must not call the sync stale while the test waits.
    writeFileSync(config, `${JSON.stringify({
      agent: { name: 'host-1', tenant: TENANT },
      source: { url: jobs, interval: '10m' },
      scheduler: { kind: 'crontab' },
      stateDir,
      log: { level: 'warn' },
    }, null, 2)}\n`);
    execFileSync('chown', ['-R', `${user}:`, jobs, config]);

    if (!cronRunning()) {
      // Foreground (-f), so this is the daemon's own pid; the host zone comes from /etc/localtime.
      const child = spawn(CRON, ['-f'], { stdio: 'ignore', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
      cronExited = new Promise((resolve) => child.once('exit', () => resolve()));
      await sleep(500);
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${CRON} -f exited at once (${child.exitCode ?? child.signalCode})`);
      cron = child;
    }
  }, 120_000);

  afterAll(async () => {
    spawnSync('crontab', ['-u', user, '-r'], { stdio: 'ignore' });
    if (cron) {
      cron.kill('SIGTERM');
      await Promise.race([cronExited, sleep(5_000)]);
    }
    spawnSync('userdel', ['-r', user], { stdio: 'ignore' });
  });

  it('syncs as the user, and the daemon runs the active jobs every minute and never the paused or later ones', async () => {
    const syncedAt = Date.now();
    const sync = runCli('sync');
    expect(sync.status, `${sync.stdout}${sync.stderr}`).toBe(0);
    expect(statSync(path.join(stateDir, 'status.json')).uid).toBe(uid);
    const tab = execFileSync('crontab', ['-u', user, '-l'], { encoding: 'utf8' });
    expect(markerJobs(tab)).toEqual(['acme/a', 'acme/b', 'acme/c', 'acme/d']);
    // Entries run the CommonJS launcher beside main.js (src/cli/agent.ts execCommand).
    expect(tab).toContain(`* * * * * ${cli.node} ${cli.main.replace(/main\.js$/, 'launch.cjs')} exec --scheduled --state-dir ${stateDir} acme/a\n`);
    expect(tab).toMatch(/^#paused: .* exec --scheduled .* acme\/c$/m);
    expect(tab).toMatch(/^[^#\n].* exec --scheduled --state-dir \S+ acme\/d$/m);
    expect(statSync(path.join(SPOOL, user)).uid).toBe(uid);

    // Both active jobs have finished a run (their last-run record is written after the command).
    const deadline = Date.now() + WAIT_MS;
    while (!(existsSync(runRecord('a')) && existsSync(runRecord('b'))) && Date.now() < deadline) await sleep(POLL_MS);
    // A paused job started in the same cron tick would have finished by one more poll.
    await sleep(POLL_MS);
    const waited = Date.now() - syncedAt;
    console.info(`test/e2e/cron-daemon: first runs seen ${Math.round(waited / 1000)} s after the sync (cron ${cron ? `started by the test, pid ${cron.pid}` : 'already running'})`);
    expect(existsSync(runRecord('a')) && existsSync(runRecord('b')), `no run within ${WAIT_MS / 1000} s; crontab:\n${tab}\nmail:\n${mail()}`).toBe(true);

    const recordA = JSON.parse(readFileSync(runRecord('a'), 'utf8')) as { startedAt: string; status: string; exitCode: number; attempts: number };
    const recordB = JSON.parse(readFileSync(runRecord('b'), 'utf8')) as { status: string; exitCode: number };
    const a = linesOf(readIf(out('a')));
    const b = linesOf(readIf(out('b')));
    const minutes = new Set<string>();
    for (let t = syncedAt - (syncedAt % 60_000); t <= Date.now(); t += 60_000) minutes.add(hhmm(t));

    expect(recordA, mail()).toMatchObject({ status: 'success', exitCode: 0, attempts: 1 });
    expect(recordB, mail()).toMatchObject({ status: 'success', exitCode: 0 });
    // Started by cron, and the minute it started in is the one the command wrote.
    expect(a).toContain(hhmm(Date.parse(recordA.startedAt)));
    for (const lines of [a, b]) {
      expect(lines.length).toBeGreaterThanOrEqual(1);
      expect(lines.every((l) => /^\d{2}:\d{2}$/.test(l) && minutes.has(l)), lines.join(',')).toBe(true);
      expect(new Set(lines).size).toBe(lines.length); // once per minute, never twice
    }
    expect(b[0]).toBe(a[0]); // the same cron tick: `* * * * *` in Kolkata is every UTC minute too
    expect(statSync(out('a')).uid).toBe(uid);
    expect(statSync(out('b')).uid).toBe(uid);
    for (const name of ['c', 'd']) {
      expect(existsSync(out(name)), `${name} ran`).toBe(false);
      expect(existsSync(runRecord(name)), `${name} has a run record`).toBe(false);
    }

    const text = runCli('status');
    const json = runCli('status', '--json');
    const status = JSON.parse(json.stdout) as { healthy: boolean; jobs: Array<{ id: string; state: string; lastRun: { status: string; exitCode: number } | null }> };
    const byId = new Map(status.jobs.map((j) => [j.id, j]));

    expect(text.status, text.stdout + text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^acme\/a .*success \(exit 0\)/m);
    expect(json.status, json.stderr).toBe(0);
    expect(status.healthy).toBe(true);
    expect(byId.get('acme/a')?.lastRun).toMatchObject({ status: 'success', exitCode: 0 });
    expect(byId.get('acme/b')?.lastRun).toMatchObject({ status: 'success', exitCode: 0 });
    expect(byId.get('acme/c')).toMatchObject({ state: 'paused', lastRun: null });
    expect(byId.get('acme/d')).toMatchObject({ state: 'installed', lastRun: null });
  });
});
