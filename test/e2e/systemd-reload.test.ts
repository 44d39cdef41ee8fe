/**
 * The unit's ExecReload= (`systemctl reload cronsync`), run as systemd runs it: the command
 * line taken from systemd/cronsync.service, `$$` unescaped to `$`, MAINPID in its environment.
 * Node takes a signal's default action until a handler is installed, and for SIGHUP that is to
 * exit, so a reload sent right after `systemctl start` used to kill the daemon (exit 129). The
 * command now waits until the process catches SIGHUP (/proc/PID/status SigCgt), then signals.
 * Every wait is a poll with a deadline or an event; no assertion depends on how fast anything is.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT, startCli, waitFor } from './fixtures/daemon-process.js';
import type { CliChild } from './fixtures/daemon-process.js';
import { testTempDir } from '../system/tempdir.js';

const UNIT = join(ROOT, 'systemd/cronsync.service');

/** The shell script of the unit's `ExecReload=/bin/sh -c '…'`, with systemd's `$$` → `$`. */
function reloadScript(): string {
  const line = /^ExecReload=(.*)$/m.exec(readFileSync(UNIT, 'utf8'))?.[1] ?? '';
  const m = /^\/bin\/sh -c '([^']*)'$/.exec(line);
  if (!m?.[1]) throw new Error(`ExecReload= is not /bin/sh -c '…': ${line}`);
  // systemd expands $VAR and ${VAR} itself; the unit writes $$ for a literal $ (and uses no %).
  expect(m[1]).not.toMatch(/%|\\|(^|[^$])\$(?!\$)/);
  return m[1].replace(/\$\$/g, '$');
}

interface Done { code: number | null; stderr: string }

/** Runs the reload command for `pid` as systemd would; resolves when it ends. */
function runReload(pid: number | string): { done: Promise<Done>; ended: () => boolean } {
  const p = spawn('/bin/sh', ['-c', reloadScript()], { env: { PATH: process.env.PATH, MAINPID: String(pid) }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let ended = false;
  p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<Done>((resolve) => p.on('close', (code) => ((ended = true), resolve({ code, stderr }))));
  return { done, ended: () => ended };
}

const children: CliChild[] = [];
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.kill()));
});

beforeAll(async () => {
  await ensureBuilt();
}, 180_000);

describe('e2e systemd ExecReload', () => {
  it('waits until the process catches SIGHUP, then signals it (a process without a handler is not killed)', async () => {
    // A process that installs its SIGHUP handler only when told to (a line on stdin).
    const child = spawn(process.execPath, ['-e', `
      process.stdin.once('data', () => {
        process.on('SIGHUP', () => { console.log('hup'); process.exit(0); });
        console.log('handler');
      });`], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<string>((r) => child.on('exit', (code, sig) => r(sig ?? String(code))));
    await waitFor('the child to start', () => child.pid !== undefined && readFileSync(`/proc/${child.pid}/status`, 'utf8').includes('SigCgt'), 10_000);

    const reload = runReload(child.pid ?? 0);
    // The command polls every 0.1 s; after several polls it must still be waiting, the child alive.
    await new Promise((r) => setTimeout(r, 600));
    const waiting = !reload.ended() && child.exitCode === null && child.signalCode === null;
    child.stdin.write('go\n');
    const result = await reload.done;

    expect(waiting).toBe(true);
    expect(result).toEqual({ code: 0, stderr: '' });
    expect(await exited).toBe('0');
    expect(out).toBe('handler\nhup\n');
  }, 20_000);

  it('fails, signalling nothing, when the process is gone', async () => {
    const gone = spawn(process.execPath, ['-e', '0']);
    const pid = gone.pid ?? 0;
    await new Promise((r) => gone.on('exit', r));

    const result = await runReload(pid).done;

    expect(result.code).toBe(1);
  });

  it('fails when MAINPID is empty (the service is not running)', async () => {
    expect((await runReload('').done).code).toBe(1);
  });

  it('a reload sent as the real daemon starts reloads it instead of killing it', async () => {
    const dir = testTempDir('cronsync-reload-');
    mkdirSync(join(dir, 'jobs'));
    mkdirSync(join(dir, 'cron.d'));
    writeFileSync(join(dir, 'jobs/a.yaml'), 'apiVersion: v1\nkind: Job\nmetadata: { name: a, tenant: t1 }\nspec: { schedule: "*/5 * * * *", command: "true" }\n');
    const config = join(dir, 'config.yaml');
    writeFileSync(config, [
      'agent: { name: reload-host, tenant: t1 }',
      `source: { url: ${JSON.stringify(join(dir, 'jobs'))}, interval: 1h }`,
      `scheduler: { kind: cron.d, cronDir: ${JSON.stringify(join(dir, 'cron.d'))} }`,
      `stateDir: ${JSON.stringify(join(dir, 'state'))}`,
      'log: { level: info }',
      '',
    ].join('\n'));

    const daemon = startCli(['daemon', '--config', config], { cwd: dir });
    children.push(daemon);
    // At once, as `systemctl start cronsync && systemctl reload cronsync` does.
    const result = await runReload(daemon.pid).done;
    await waitFor('the reload log', () => daemon.logs().some((l) => l.msg === 'Configuration reloaded'), 20_000);

    expect(result).toEqual({ code: 0, stderr: '' });
    expect(daemon.alive()).toBe(true);
    expect(daemon.logs().some((l) => l.msg === 'Reload signal received')).toBe(true);
  }, 30_000);
});
