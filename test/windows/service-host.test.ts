/**
 * windows/service/CronsyncService.cs run under mono on Linux, as far as that is possible without
 * a Service Control Manager: a small driver calls the service's OnStart and OnStop (by
 * reflection, as SCM would through ServiceBase) in a mono process. It checks the parts that do
 * not need Windows: the daemon's command line, that OnStop closes the daemon's stdin and the
 * real `cronsync daemon --stop-on-stdin-eof` then stops cleanly (exit 0), the JSON log file and
 * its rotation, and that an unexpected daemon exit ends the host with exit code 1. SCM itself,
 * the Event Log (mono's is switched off here), RequestAdditionalTime and `taskkill /T` are
 * Windows-only: windows/check-service.ps1 covers them on a real host.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFileOrNullSync } from '../../src/state/sync-io.js';
import { ensureBuilt } from '../e2e/fixtures/daemon-process.js';
import { TempDirs, testTempDir } from '../system/tempdir.js';
import { hasMcs } from './helpers/csharp.js';

const ROOT = resolve(import.meta.dirname, '../..');
const hasMono = spawnSync('mono', ['--version'], { stdio: 'ignore' }).status === 0;
/** A bound against hangs, not a latency assertion. */
const WAIT_MS = 30_000;
const MiB = 1024 * 1024;

/** Plays SCM: OnStart, then OnStop when a line arrives on stdin (mode "stop"), or nothing (mode "wait"). */
const DRIVER = `
using System;
using System.Reflection;
using System.Threading;
using Cronsync.Service;

static class Driver
{
    static void Call(object o, string name, object[] args)
    {
        o.GetType().GetMethod(name, BindingFlags.NonPublic | BindingFlags.Instance).Invoke(o, args);
    }

    static int Main(string[] a)
    {
        CronsyncService svc = new CronsyncService(a[0], a[1], a[2], a[3]);
        Call(svc, "OnStart", new object[] { new string[0] });
        Console.WriteLine("started");
        if (a[4] == "wait")
        {
            Thread.Sleep(Timeout.Infinite);
        }
        Console.In.ReadLine();
        Call(svc, "OnStop", new object[0]);
        Console.WriteLine("stopped");
        return 0;
    }
}
`;

/** A stand-in daemon: prints its argv, then exits 3 ("crash" in the config path) or on the end of stdin. */
const FAKE_DAEMON = `
console.log(JSON.stringify({ msg: 'fake-start', argv: process.argv.slice(2) }));
if (process.argv.some((a) => a.endsWith('crash.yaml'))) { console.error('fake daemon dying'); process.exit(3); }
process.stdin.resume();
process.stdin.on('end', () => { console.log(JSON.stringify({ msg: 'fake-eof' })); process.exit(0); });
`;

const dirs = new TempDirs();
let exe = '';
let fake = '';
const children: ChildProcess[] = [];

beforeAll(() => {
  if (!hasMcs || !hasMono) return;
  const dir = dirs.make('cronsync-svc-host-');
  writeFileSync(join(dir, 'Driver.cs'), DRIVER);
  fake = join(dir, 'fake-daemon.js');
  writeFileSync(fake, FAKE_DAEMON);
  exe = join(dir, 'driver.exe');
  const r = spawnSync('mcs', ['-langversion:5', '-target:exe', '-main:Driver', `-out:${exe}`, '-r:System.ServiceProcess.dll', join(ROOT, 'windows/service/CronsyncService.cs'), join(dir, 'Driver.cs')], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`mcs failed:\n${r.stdout}${r.stderr}`);
}, 90_000);
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(() => dirs.removeAll());

/** Runs the driver under mono: the service with `node`, `main`, `config` and `logDir`. */
function host(main: string, config: string, logDir: string, mode: 'stop' | 'wait') {
  const proc = spawn('mono', [exe, process.execPath, main, config, logDir, mode], {
    env: { PATH: process.env.PATH, HOME: logDir, LANG: 'C', MONO_EVENTLOG_TYPE: 'null' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(proc);
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | string>((r) => proc.on('exit', (code, signal) => r(code ?? `signal:${signal}`)));
  return { proc, output: () => out, exited };
}

async function until(what: string, check: () => boolean): Promise<void> {
  const end = Date.now() + WAIT_MS;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The file's text, or '' while it does not exist (the host may be renaming it away to rotate it). */
const read = (f: string): string => readFileOrNullSync(f) ?? '';
const jsonLines = (f: string): Record<string, unknown>[] => read(f).split(/\r?\n/).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

describe.runIf(hasMcs && hasMono)('windows service host under mono (OnStart/OnStop without SCM)', () => {
  it('OnStop closes stdin and the real daemon stops cleanly; its JSON log lines and the stop land in the log file', { timeout: 240_000 }, async () => {
    await ensureBuilt();
    const dir = testTempDir('cronsync-svc-run-');
    mkdirSync(join(dir, 'manifests'));
    writeFileSync(join(dir, 'manifests', 'job.yaml'), 'apiVersion: v1\nkind: Job\nmetadata:\n  name: svc\n  tenant: t1\nspec:\n  schedule: "0 0 1 1 *"\n  command: echo svc\n');
    const config = join(dir, 'my config.yaml');
    writeFileSync(config, [
      'agent: { name: svc-host, tenant: t1 }',
      `source: { url: ${JSON.stringify(join(dir, 'manifests'))}, interval: 1h }`,
      'scheduler: { kind: embedded }',
      `stateDir: ${JSON.stringify(join(dir, 'state'))}`,
      'daemon: { startDelay: 0s }',
      '',
    ].join('\n'));
    const log = join(dir, 'logs', 'cronsync.log');
    const h = host(join(ROOT, 'dist/cli/main.js'), config, join(dir, 'logs'), 'stop');
    await until('the first sync', () => existsSync(join(dir, 'state', 'status.json')) && read(log).includes('"Starting"'));

    h.proc.stdin?.write('\n');
    const code = await Promise.race([h.exited, until('the host to exit', () => false)]);

    const msgs = jsonLines(log).map((l) => l.msg);
    expect(code, h.output()).toBe(0);
    expect(h.output()).toContain('stopped');
    expect(msgs).toContain('Standard input closed; stopping as on SIGTERM');
    expect(jsonLines(log).find((l) => l.msg === 'Stopped')).toMatchObject({ clean: true });
    expect(msgs.at(-1)).toBe('cronsync daemon stopped with exit code 0');
  });

  it('passes the config path quoted (spaces) with daemon --config … --stop-on-stdin-eof, and rotates a full log at start', { timeout: 60_000 }, async () => {
    const dir = testTempDir('cronsync-svc-rotate-');
    const logDir = join(dir, 'log dir');
    mkdirSync(logDir);
    const log = join(logDir, 'cronsync.log');
    writeFileSync(log, Buffer.alloc(10 * MiB, 0x20));
    for (let i = 1; i <= 5; i++) writeFileSync(`${log}.${i}`, `gen${i}\n`);
    const config = join(dir, 'a config.yaml');
    const h = host(fake, config, logDir, 'stop');
    await until('the fake daemon to start', () => read(log).includes('fake-start'));

    h.proc.stdin?.write('\n');
    const code = await Promise.race([h.exited, until('the host to exit', () => false)]);

    expect(code, h.output()).toBe(0);
    expect(jsonLines(log)[0]).toEqual({ msg: 'fake-start', argv: ['daemon', '--config', config, '--stop-on-stdin-eof'] });
    expect(jsonLines(log).map((l) => l.msg)).toEqual(['fake-start', 'fake-eof', 'cronsync daemon stopped with exit code 0']);
    expect(statSync(`${log}.1`).size).toBe(10 * MiB);
    expect([2, 3, 4, 5].map((i) => read(`${log}.${i}`))).toEqual(['gen1\n', 'gen2\n', 'gen3\n', 'gen4\n']);
    expect(existsSync(`${log}.6`)).toBe(false);
  });

  it('exits 1 when the daemon exits on its own, so that SCM recovery restarts the service', { timeout: 60_000 }, async () => {
    const dir = testTempDir('cronsync-svc-crash-');
    const log = join(dir, 'logs', 'cronsync.log');
    const h = host(fake, join(dir, 'crash.yaml'), join(dir, 'logs'), 'wait');

    const code = await Promise.race([h.exited, until('the host to exit', () => false)]);

    expect(code, h.output()).toBe(1);
    expect(read(log)).toContain('fake daemon dying');
    expect(jsonLines(log).at(-1)).toMatchObject({ level: 'error', source: 'service', msg: expect.stringContaining('exited unexpectedly with code 3') as unknown });
  });
});
