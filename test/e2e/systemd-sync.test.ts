/**
 * `cronsync sync` (the built CLI) with scheduler.kind systemd against systemctl's own reading of
 * unit files: a `systemctl` stub on PATH hands is-enabled, enable, disable and mask to the real
 * `systemctl --root=ROOT` (offline: no manager needed) and keeps what only a manager knows
 * (active timers; every unit loaded, so no NeedDaemonReload) in ROOT. The units go to
 * ROOT/usr/local/lib/systemd/system, which systemd reads after /etc/systemd/system, where
 * `systemctl mask` links. Root only (system mode); skipped without systemctl.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, manifest, runCli, writeConfig } from './fixtures/sync-cli.js';

const REAL = spawnSync('sh', ['-c', 'command -v systemctl'], { encoding: 'utf8' }).stdout.trim();
const usable = REAL !== '' && spawnSync(REAL, ['--version']).status === 0 && process.getuid?.() === 0;
const tmp = mkdtempSync(path.join(tmpdir(), 'cronsync-e2e-systemd-sync-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The stub: unit-file verbs to the real systemctl offline, manager state in files under STUB_ROOT. */
const STUB = `#!${process.execPath}
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const root = process.env.STUB_ROOT;
const activeFile = path.join(root, 'active.json');
const active = new Set(fs.existsSync(activeFile) ? JSON.parse(fs.readFileSync(activeFile, 'utf8')) : []);
const args = process.argv.slice(2).filter((a) => a !== '--user');
fs.appendFileSync(path.join(root, 'calls.log'), JSON.stringify(args) + '\\n');
const [verb, ...rest] = args;
const units = rest.filter((a) => !a.startsWith('--'));
const now = rest.includes('--now');
const sys = (...a) => spawnSync(${JSON.stringify(REAL)}, ['--root=' + root, ...a], { encoding: 'utf8', env: { PATH: process.env.PATH, LANG: 'C', SYSTEMD_LOG_COLOR: '0' } });
const out = (r) => { process.stdout.write(r.stdout); process.stderr.write(r.stderr); return r.status ?? 1; };
let code = 0;
switch (verb) {
  case 'is-enabled':
    code = out(sys(verb, ...rest));
    break;
  case 'enable':
  case 'disable': {
    const r = sys(verb, ...rest.filter((a) => a !== '--now'));
    code = out(r);
    // Offline, disable of a missing unit says so and exits 0; the manager fails the call.
    if (verb === 'disable' && /does not exist/.test(r.stderr)) code = 1;
    if (code === 0 && now) for (const u of units) verb === 'enable' ? active.add(u) : active.delete(u);
    break;
  }
  case 'is-active':
    for (const u of units) process.stdout.write(active.has(u) ? 'active\\n' : 'inactive\\n');
    code = units.some((u) => active.has(u)) ? 0 : 3;
    break;
  case 'show':
    process.stdout.write(units.map((u) => 'Id=' + u + '\\nNeedDaemonReload=no').join('\\n\\n') + '\\n');
    break;
  case 'daemon-reload':
    break;
  case 'start':
  case 'restart':
    for (const u of units) {
      if (/^masked/.test(sys('is-enabled', u).stdout.trim())) {
        process.stderr.write('Failed to ' + verb + ' ' + u + ': Unit ' + u + ' is masked.\\n');
        code = 1;
      } else active.add(u);
    }
    break;
  case 'stop':
    for (const u of units) active.delete(u);
    break;
  default:
    process.stderr.write('Unknown command verb ' + verb + '.\\n');
    code = 1;
}
fs.writeFileSync(activeFile, JSON.stringify([...active]));
process.exit(code);
`;

const MUTATING = new Set(['enable', 'disable', 'start', 'restart', 'stop', 'daemon-reload']);

/** One agent: a manifest dir, a root with the unit dir, config, and the stub on PATH. */
function agent(name: string, files: Record<string, string>) {
  const dir = mkdtempSync(path.join(tmp, `${name}-`));
  const root = path.join(dir, 'root');
  const unitDir = path.join(root, 'usr/local/lib/systemd/system');
  mkdirSync(unitDir, { recursive: true });
  mkdirSync(path.join(root, 'etc/systemd/system'), { recursive: true });
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(path.join(bin, 'systemctl'), STUB);
  chmodSync(path.join(bin, 'systemctl'), 0o755);
  const manifests = path.join(dir, 'manifests');
  mkdirSync(manifests);
  for (const [f, text] of Object.entries(files)) writeFileSync(path.join(manifests, f), text);
  const config = writeConfig(dir, {
    agent: { name: 'host-1', tenant: 'acme' },
    source: { url: manifests, paths: ['**/*.yaml'] },
    scheduler: { kind: 'systemd', unitDir, user: 'root' },
    stateDir: path.join(dir, 'state'),
    log: { level: 'warn' },
  });
  const env = { PATH: `${bin}:${process.env.PATH}`, STUB_ROOT: root };
  const calls = (): string[][] => (existsSync(path.join(root, 'calls.log')) ? readFileSync(path.join(root, 'calls.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]) : []);
  return {
    root, unitDir, manifests,
    sync: () => runCli(['sync', '--config', config], { env }),
    status: async () => JSON.parse((await runCli(['status', '--json', '--config', config], { env })).stdout) as { jobs: { id: string; state: string; reason?: string }[] },
    mutations: () => calls().filter((c) => MUTATING.has(c[0]!)),
    isEnabled: (unit: string) => spawnSync(REAL, [`--root=${root}`, 'is-enabled', unit], { encoding: 'utf8' }).stdout.trim(),
    mask: (unit: string) => spawnSync(REAL, [`--root=${root}`, 'mask', unit], { encoding: 'utf8' }),
  };
}

describe.skipIf(!usable)('e2e cronsync sync over systemctl --root', () => {
  beforeAll(ensureBuilt, 300_000);

  it('a masked job (names linked to /dev/null) and a broken foreign timer: both left alone, the job reported, the others enabled', async () => {
    const a = agent('mask', { 'a.yaml': manifest('a'), 'd.yaml': manifest('d') });
    symlinkSync('/dev/null', path.join(a.unitDir, 'cronsync-acme-d.timer'));
    symlinkSync('/dev/null', path.join(a.unitDir, 'cronsync-acme-d.service'));
    writeFileSync(path.join(a.unitDir, 'cronsync-zz-broken.timer'), '[Timer\nOnCalendar=daily\n');

    const first = await a.sync();
    const status = await a.status();
    const mutations = a.mutations().length;
    const second = await a.sync();

    expect(first).toMatchObject({ code: 0, stdout: expect.stringContaining('Sync applied with problems') });
    expect(status.jobs.map((j) => [j.id, j.state])).toEqual([['acme/a', 'installed'], ['acme/d', 'invalid']]);
    expect(status.jobs[1]!.reason).toContain(`${a.unitDir}/cronsync-acme-d.timer is a symbolic link to /dev/null (masked)`);
    expect(readlinkSync(path.join(a.unitDir, 'cronsync-acme-d.timer'))).toBe('/dev/null');
    expect(readlinkSync(path.join(a.unitDir, 'cronsync-acme-d.service'))).toBe('/dev/null');
    expect(a.isEnabled('cronsync-acme-a.timer')).toBe('enabled');
    expect(a.mutations().flat()).not.toContain('cronsync-acme-d.timer');
    expect(second.code).toBe(0);
    expect(a.mutations().length).toBe(mutations);
  });

  it('a timer masked with systemctl mask stays masked and reported; a new job of the same sync is enabled', async () => {
    const a = agent('masked', { 'a.yaml': manifest('a') });
    await a.sync();
    expect(a.mask('cronsync-acme-a.timer').status).toBe(0);
    writeFileSync(path.join(a.manifests, 'b.yaml'), manifest('b'));

    const r = await a.sync();
    const status = await a.status();

    expect(r.code).toBe(0);
    expect(a.isEnabled('cronsync-acme-a.timer')).toBe('masked');
    expect(a.isEnabled('cronsync-acme-b.timer')).toBe('enabled');
    expect(status.jobs.map((j) => [j.id, j.state])).toEqual([['acme/a', 'invalid'], ['acme/b', 'installed']]);
    expect(status.jobs[0]!.reason).toMatch(/cronsync-acme-a\.timer is masked \(systemctl is-enabled: masked\)/);
  });

  it('a removal interrupted between the .timer and the .service: the next syncs succeed and remove the .service', async () => {
    const a = agent('removal', { 'a.yaml': manifest('a'), 'd.yaml': manifest('d') });
    await a.sync();
    rmSync(path.join(a.unitDir, 'cronsync-acme-d.timer'));
    rmSync(path.join(a.manifests, 'd.yaml'));

    const first = await a.sync();
    const second = await a.sync();

    expect([first.code, second.code]).toEqual([0, 0]);
    expect(lstatSync(path.join(a.unitDir, 'cronsync-acme-d.service'), { throwIfNoEntry: false })).toBeUndefined();
    expect(a.mutations().filter((c) => c.includes('cronsync-acme-d.timer'))).toEqual([['enable', '--now', 'cronsync-acme-a.timer', 'cronsync-acme-d.timer']]);
  });
});
