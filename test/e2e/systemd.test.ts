import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const UNIT = join(ROOT, 'systemd/cronsync.service');
const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
const tmp = mkdtempSync(join(tmpdir(), 'cronsync-systemd-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Copies a unit into a fresh dir with ExecStart pointed at `exe`, so verify can resolve it. */
function unitWithExec(text: string, exe: string): string {
  const dir = mkdtempSync(join(tmp, 'unit-'));
  const file = join(dir, 'cronsync.service');
  writeFileSync(file, text.replace(/^ExecStart=\S+/m, `ExecStart=${exe}`));
  return file;
}

function analyze(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('systemd-analyze', args, { encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_COLOR: '0', SYSTEMD_COLORS: '0' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A minimal built package to install: the real systemd/ files plus a stub CLI. */
function fakePackage(version: string): string {
  const src = mkdtempSync(join(tmp, 'pkg-'));
  mkdirSync(join(src, 'dist/cli'), { recursive: true });
  mkdirSync(join(src, 'node_modules/dep'), { recursive: true });
  cpSync(join(ROOT, 'systemd'), join(src, 'systemd'), { recursive: true });
  writeFileSync(join(src, 'package.json'), JSON.stringify({ name: 'cronsync', version, engines: { node: '>=20.18.1' } }, null, 2));
  writeFileSync(join(src, 'dist/cli/main.js'), `console.log(${JSON.stringify(version)});\n`);
  writeFileSync(join(src, 'dist', `only-in-${version}.js`), '');
  // A launcher that loads the bundle beside it as the real one does, after waiting for the FIFO
  // named by its argument (if any) to be written.
  writeFileSync(join(src, 'dist/cli/launch.cjs'), `process.stdout.write('started\\n');
if (process.argv[2]) require('node:fs').readFileSync(process.argv[2]);
process.stdout.write('launch ${version} bundle ' + require('../exec.cjs') + '\\n');
`);
  writeFileSync(join(src, 'dist/exec.cjs'), `module.exports = ${JSON.stringify(version)};\n`);
  return src;
}

/** Runs the staged launcher, which waits for `fifo` (when given) after it started. */
function launch(destdir: string, fifo?: string): { started: Promise<void>; output: Promise<string> } {
  const child = spawn(process.execPath, [join(destdir, 'usr/local/lib/cronsync/dist/cli/launch.cjs'), ...(fifo ? [fifo] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let started: () => void = () => undefined;
  const startedP = new Promise<void>((r) => (started = r));
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    out += c;
    if (out.includes('started\n')) started();
  });
  // A launcher that died before it started must not leave the test waiting: started then too.
  return { started: startedP, output: new Promise((r) => child.on('close', () => (started(), r(out)))) };
}

function install(destdir: string, src: string, env: Record<string, string> = {}): string {
  return execFileSync('sh', [join(ROOT, 'systemd/install.sh')], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, DESTDIR: destdir, CRONSYNC_SRC: src, SKIP_PRUNE: '1', NODE: process.execPath, ...env },
  });
}

const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

describe('e2e systemd unit', () => {
  it.skipIf(!hasAnalyze)('systemd-analyze verify leaves nothing on stderr', () => {
    const file = unitWithExec(readFileSync(UNIT, 'utf8'), '/bin/true');

    const r = analyze(['verify', file]);

    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.skipIf(!hasAnalyze)('verify would catch a broken unit (the check is not vacuous)', () => {
    const file = unitWithExec(readFileSync(UNIT, 'utf8').replace('Restart=on-failure', 'Restart=on-failure\nProtectSystm=strict'), '/bin/true');

    expect(analyze(['verify', file]).stderr).toMatch(/ProtectSystm/);
  });

  it.skipIf(!hasAnalyze)('systemd-analyze security --offline=yes exposure is at most 3.0', () => {
    const file = unitWithExec(readFileSync(UNIT, 'utf8'), '/bin/true');

    const r = analyze(['security', '--offline=yes', '--no-pager', file]);
    const m = /Overall exposure level for \S+: (\d+\.\d)/.exec(r.stdout);
    console.log(`systemd-analyze security exposure: ${m?.[1]}`);

    expect(m).not.toBeNull();
    expect(Number(m?.[1])).toBeLessThanOrEqual(3.0);
  });

  it.skipIf(!hasAnalyze)('the embedded drop-in verifies and lifts the sandbox off the jobs the daemon runs', () => {
    const file = unitWithExec(readFileSync(UNIT, 'utf8'), '/bin/true');
    mkdirSync(`${file}.d`);
    cpSync(join(ROOT, 'systemd/embedded.conf'), join(`${file}.d`, 'embedded.conf'));

    const r = analyze(['verify', file]);
    const m = /Overall exposure level for \S+: (\d+\.\d)/.exec(analyze(['security', '--offline=yes', '--no-pager', file]).stdout);

    expect(r.stderr).toBe('');
    expect(Number(m?.[1])).toBeGreaterThan(9);
  });

  it('the embedded drop-in resets every sandboxing setting of the unit', () => {
    const keys = (text: string) => new Set([...text.matchAll(/^([A-Za-z]+)=/gm)].map((x) => x[1] ?? ''));
    const notSandbox = ['Type', 'ExecStart', 'ExecReload', 'Restart', 'RestartSec', 'KillMode', 'TimeoutStopSec', 'Environment', 'SyslogIdentifier', 'UMask', 'StateDirectory', 'StateDirectoryMode', 'ReadWritePaths', 'RemoveIPC', 'KeyringMode', 'SystemCallErrorNumber', 'AmbientCapabilities'];
    const unit = readFileSync(UNIT, 'utf8');
    const service = unit.slice(unit.indexOf('[Service]'), unit.indexOf('[Install]'));

    const missing = [...keys(service)].filter((k) => !notSandbox.includes(k) && !keys(readFileSync(join(ROOT, 'systemd/embedded.conf'), 'utf8')).has(k));

    expect(missing).toEqual([]);
  });

  it('keeps the settings the daemon relies on', () => {
    const text = readFileSync(UNIT, 'utf8');

    for (const line of ['Restart=on-failure', 'ProtectSystem=strict', 'StateDirectory=cronsync', 'NoNewPrivileges=yes', 'PrivateTmp=yes', 'ProtectHome=yes', 'SystemCallFilter=@system-service']) {
      expect(text).toContain(line);
    }
    expect(text).toMatch(/^ReadWritePaths=.*\/etc\/cron\.d.*\/var\/spool\/cron/m);
    expect(text).toMatch(/^ExecStart=\/usr\/local\/bin\/cronsync daemon --config \/etc\/cronsync\/config\.yaml$/m);
  });
});

describe('e2e systemd install.sh / uninstall.sh', () => {
  const destdir = join(tmp, 'root');

  it('installs package, wrapper, dirs, example config and unit into DESTDIR', () => {
    const out = install(destdir, fakePackage('1.0.0'));

    const lib = join(destdir, 'usr/local/lib/cronsync');
    const wrapper = join(destdir, 'usr/local/bin/cronsync');
    expect(out).toContain('not touching systemd');
    expect(existsSync(join(lib, 'dist/cli/main.js'))).toBe(true);
    expect(existsSync(join(lib, 'node_modules/dep'))).toBe(true);
    expect(readFileSync(wrapper, 'utf8')).toBe(`#!/bin/sh\nexec "${process.execPath}" "/usr/local/lib/cronsync/dist/cli/main.js" "$@"\n`);
    expect(mode(wrapper)).toBe('755');
    expect(mode(join(destdir, 'etc/cronsync'))).toBe('750');
    expect(mode(join(destdir, 'var/lib/cronsync'))).toBe('711');
    expect(mode(join(destdir, 'etc/cronsync/config.yaml'))).toBe('640');
    expect(readFileSync(join(destdir, 'etc/cronsync/config.yaml'), 'utf8')).toBe(readFileSync(join(ROOT, 'systemd/config.example.yaml'), 'utf8'));
    expect(readFileSync(join(destdir, 'etc/systemd/system/cronsync.service'), 'utf8')).toContain('ExecStart=/usr/local/bin/cronsync daemon');
  });

  it.skipIf(!hasAnalyze)('the installed unit verifies cleanly', () => {
    const installed = readFileSync(join(destdir, 'etc/systemd/system/cronsync.service'), 'utf8');
    const file = unitWithExec(installed, join(destdir, 'usr/local/bin/cronsync'));

    expect(analyze(['verify', file]).stderr).toBe('');
  });

  it('a reinstall replaces the package whole and keeps the edited config', () => {
    const config = join(destdir, 'etc/cronsync/config.yaml');
    writeFileSync(config, 'agent: { tenant: mine }\n');

    const out = install(destdir, fakePackage('2.0.0'));

    const dist = join(destdir, 'usr/local/lib/cronsync/dist');
    expect(out).toContain('keeping existing');
    expect(readFileSync(config, 'utf8')).toBe('agent: { tenant: mine }\n');
    expect(existsSync(join(dist, 'only-in-2.0.0.js'))).toBe(true);
    expect(existsSync(join(dist, 'only-in-1.0.0.js'))).toBe(false);
  });

  it('an upgrade switches a symlink to a new versioned directory; a run started before it finishes on the version it started on', async () => {
    const dest = join(tmp, 'upgrade');
    install(dest, fakePackage('1.0.0'));
    const fifo = join(tmp, 'upgrade.fifo');
    execFileSync('mkfifo', [fifo]);
    const before = launch(dest, fifo);
    await before.started;

    try {
      install(dest, fakePackage('2.0.0'));
    } finally {
      await writeFile(fifo, 'go'); // async: a launcher gone would block a pool thread, not the test's timeout
    }

    const lib = join(dest, 'usr/local/lib/cronsync');
    expect(await before.output).toBe('started\nlaunch 1.0.0 bundle 1.0.0\n');
    expect(await launch(dest).output).toBe('started\nlaunch 2.0.0 bundle 2.0.0\n');
    expect(lstatSync(lib).isSymbolicLink()).toBe(true);
    expect(readlinkSync(lib)).toMatch(/^cronsync\.versions\/2\.0\.0-/);
  });

  it('keeps the previous version for runs still on it, removes older ones, and migrates a package directory of an earlier install.sh once', () => {
    const dest = join(tmp, 'migrate');
    const lib = join(dest, 'usr/local/lib/cronsync');
    mkdirSync(join(dest, 'usr/local/lib'), { recursive: true });
    cpSync(fakePackage('0.9.0'), lib, { recursive: true });
    const versions = () => readdirSync(join(dest, 'usr/local/lib/cronsync.versions')).map((d) => d.replace(/-\d{8}T\d{6}Z-\d+$/, '')).sort();

    install(dest, fakePackage('1.0.0'));
    const afterMigration = versions();
    install(dest, fakePackage('2.0.0'));

    expect(afterMigration).toEqual(['1.0.0', 'previous']);
    expect(versions()).toEqual(['1.0.0', '2.0.0']);
    expect(lstatSync(lib).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(lib, 'package.json'), 'utf8')).toContain('2.0.0');
  });

  it('a reinstall keeps config, secrets and state byte for byte and never loosens their modes', () => {
    const dest = join(tmp, 'modes');
    install(dest, fakePackage('1.0.0'));
    const conf = join(dest, 'etc/cronsync');
    const state = join(dest, 'var/lib/cronsync');
    writeFileSync(join(conf, 'config.yaml'), 'agent: { tenant: mine }\n', { mode: 0o600 });
    writeFileSync(join(conf, 'secrets.env'), 'TOKEN=x\n', { mode: 0o600 });
    writeFileSync(join(state, 'status.json'), '{}');
    chmodSync(join(conf, 'config.yaml'), 0o600);
    chmodSync(conf, 0o700);
    chmodSync(state, 0o700);

    const quiet = install(dest, fakePackage('2.0.0'));
    const strict = [mode(conf), mode(state)];
    chmodSync(conf, 0o777);
    chmodSync(state, 0o777);
    const out = install(dest, fakePackage('3.0.0'));

    expect(strict).toEqual(['700', '700']);
    expect(quiet).not.toContain('narrowed');
    expect(out).toContain('narrowed the mode of /etc/cronsync from drwxrwxrwx to drwxr-x---');
    expect(out).toContain('narrowed the mode of /var/lib/cronsync from drwxrwxrwx to drwx--x--x');
    expect([mode(conf), mode(state)]).toEqual(['750', '711']);
    expect(readFileSync(join(conf, 'config.yaml'), 'utf8')).toBe('agent: { tenant: mine }\n');
    expect(readFileSync(join(conf, 'secrets.env'), 'utf8')).toBe('TOKEN=x\n');
    expect(readFileSync(join(state, 'status.json'), 'utf8')).toBe('{}');
    expect([mode(join(conf, 'config.yaml')), mode(join(conf, 'secrets.env'))]).toEqual(['600', '600']);
  });

  it('keeps a config dir that is a symlink, and never writes the example through a config.yaml symlink to nothing', () => {
    const dest = join(tmp, 'links');
    const real = join(tmp, 'links-conf');
    mkdirSync(real, { mode: 0o700 });
    mkdirSync(join(dest, 'etc'), { recursive: true });
    symlinkSync(real, join(dest, 'etc/cronsync'));
    symlinkSync(join(tmp, 'links-missing.yaml'), join(real, 'config.yaml'));

    const out = install(dest, fakePackage('1.0.0'));

    expect(out).toContain('keeping existing /etc/cronsync/config.yaml');
    expect(lstatSync(join(dest, 'etc/cronsync')).isSymbolicLink()).toBe(true);
    expect(mode(real)).toBe('700');
    expect(existsSync(join(tmp, 'links-missing.yaml'))).toBe(false);
  });

  it.runIf(process.getuid?.() === 0)('warns when the config is owned by another account or writable by others', () => {
    const dest = join(tmp, 'owner');
    install(dest, fakePackage('1.0.0'));
    chownSync(join(dest, 'etc/cronsync/config.yaml'), 12345, 0);
    chmodSync(join(dest, 'etc/cronsync/config.yaml'), 0o664);

    const out = install(dest, fakePackage('2.0.0'));

    expect(out).toContain('warning: /etc/cronsync/config.yaml is writable by group or others (-rw-rw-r--)');
    expect(out).toContain('warning: /etc/cronsync/config.yaml is owned by uid 12345, not root');
    expect(statSync(join(dest, 'etc/cronsync/config.yaml')).uid).toBe(12345);
  });

  it('points the unit\'s ExecStart and Documentation at the PREFIX it installs into', () => {
    const dest = join(tmp, 'prefix');

    install(dest, fakePackage('1.0.0'), { PREFIX: '/opt/cronsync' });

    const unit = readFileSync(join(dest, 'etc/systemd/system/cronsync.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=\/opt\/cronsync\/bin\/cronsync daemon /m);
    expect(unit).toMatch(/^Documentation=file:\/\/\/opt\/cronsync\/lib\/cronsync\/README\.md$/m);
  });

  it('refuses a source without a build', () => {
    const src = fakePackage('3.0.0');
    rmSync(join(src, 'dist'), { recursive: true });

    const r = spawnSync('sh', [join(ROOT, 'systemd/install.sh')], { encoding: 'utf8', env: { PATH: process.env.PATH, DESTDIR: join(tmp, 'other'), CRONSYNC_SRC: src } });

    expect(r.status).toBe(1);
    expect(r.stderr).toContain('npm run build');
  });

  it('refuses a node older than the package\'s engines, naming it and its version', () => {
    const src = fakePackage('3.1.0');
    writeFileSync(join(tmp, 'old-node.cjs'), "Object.defineProperty(process.versions, 'node', { value: '18.19.1' });\n");
    const oldNode = join(tmp, 'old-node');
    writeFileSync(oldNode, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} -r ${JSON.stringify(join(tmp, 'old-node.cjs'))} "$@"\n`, { mode: 0o755 });
    const newer = fakePackage('3.1.1');
    writeFileSync(join(newer, 'package.json'), JSON.stringify({ name: 'cronsync', version: '3.1.1', engines: { node: `>=${Number(process.versions.node.split('.')[0]) + 1}.0.0` } }));

    const old = spawnSync('sh', [join(ROOT, 'systemd/install.sh')], { encoding: 'utf8', env: { PATH: process.env.PATH, DESTDIR: join(tmp, 'old'), CRONSYNC_SRC: src, NODE: oldNode } });
    const tooNew = spawnSync('sh', [join(ROOT, 'systemd/install.sh')], { encoding: 'utf8', env: { PATH: process.env.PATH, DESTDIR: join(tmp, 'new'), CRONSYNC_SRC: newer, NODE: process.execPath } });

    expect(old.status).toBe(1);
    expect(old.stderr).toContain(`${oldNode} is Node.js v`);
    expect(old.stderr).toContain('cronsync needs 20.18.1 or later');
    expect(existsSync(join(tmp, 'old'))).toBe(false);
    expect(tooNew.status).toBe(1);
    expect(tooNew.stderr).toContain(`cronsync needs ${Number(process.versions.node.split('.')[0]) + 1}.0.0 or later`);
  });

  /** Replaces the wrapper by a recorder of its argv (the staged wrapper points outside DESTDIR). */
  function recordingWrapper(exitCode: number): string {
    const log = join(tmp, `argv-${exitCode}.log`);
    const wrapper = join(destdir, 'usr/local/bin/cronsync');
    writeFileSync(wrapper, `#!/bin/sh\necho "$@" >> '${log}'\nexit ${exitCode}\n`);
    chmodSync(wrapper, 0o755);
    return log;
  }

  it('uninstall stops when removing scheduler entries fails, leaving everything installed', () => {
    const log = recordingWrapper(1);

    const r = spawnSync('sh', [join(ROOT, 'systemd/uninstall.sh')], { encoding: 'utf8', env: { PATH: process.env.PATH, DESTDIR: destdir } });

    expect(r.status).toBe(1);
    expect(readFileSync(log, 'utf8')).toBe(`prune --all --force --config ${destdir}/etc/cronsync/config.yaml\n`);
    expect(existsSync(join(destdir, 'etc/systemd/system/cronsync.service'))).toBe(true);
    expect(existsSync(join(destdir, 'usr/local/lib/cronsync'))).toBe(true);
  });

  it('uninstall removes scheduler entries first, then unit, wrapper and package; keeps config, state and drop-ins', () => {
    const log = recordingWrapper(0);
    const dropIn = join(destdir, 'etc/systemd/system/cronsync.service.d/override.conf');
    mkdirSync(join(dropIn, '..'));
    writeFileSync(dropIn, '[Service]\nReadWritePaths=/etc/systemd/system\n');

    const out = execFileSync('sh', [join(ROOT, 'systemd/uninstall.sh')], { encoding: 'utf8', env: { PATH: process.env.PATH, DESTDIR: destdir } });

    expect(readFileSync(log, 'utf8')).toBe(`prune --all --force --config ${destdir}/etc/cronsync/config.yaml\n`);
    expect(out).toContain('kept /etc/cronsync, /var/lib/cronsync and /etc/systemd/system/cronsync.service.d');
    expect(readFileSync(dropIn, 'utf8')).toBe('[Service]\nReadWritePaths=/etc/systemd/system\n');
    expect(existsSync(join(destdir, 'etc/systemd/system/cronsync.service'))).toBe(false);
    expect(existsSync(join(destdir, 'usr/local/bin/cronsync'))).toBe(false);
    expect(existsSync(join(destdir, 'usr/local/lib/cronsync'))).toBe(false);
    expect(existsSync(join(destdir, 'usr/local/lib/cronsync.versions'))).toBe(false);
    expect(existsSync(join(destdir, 'etc/cronsync/config.yaml'))).toBe(true);
    expect(existsSync(join(destdir, 'var/lib/cronsync'))).toBe(true);
  });

  it('uninstall --purge also removes config and state', () => {
    const dest = join(tmp, 'purge');
    install(dest, fakePackage('4.0.0'));
    mkdirSync(join(dest, 'etc/systemd/system/cronsync.service.d'));

    const out = execFileSync('sh', [join(ROOT, 'systemd/uninstall.sh'), '--purge', '--keep-entries'], { encoding: 'utf8', env: { PATH: process.env.PATH, DESTDIR: dest } });

    expect(out).toContain('kept cronsync\'s scheduler entries (--keep-entries)');
    expect(existsSync(join(dest, 'etc/systemd/system/cronsync.service.d'))).toBe(false);
    expect(existsSync(join(dest, 'etc/cronsync'))).toBe(false);
    expect(existsSync(join(dest, 'var/lib/cronsync'))).toBe(false);
  });
});
