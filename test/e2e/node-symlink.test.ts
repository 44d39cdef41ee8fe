/**
 * Entries name node by the symlink it was started through (src/system/node-program.ts): a real
 * `cronsync sync` into a temp cron.d, started as `<tmp>/bin/node` (a symlink to a "versioned"
 * link to this node, as `/usr/local/bin/node` to `/opt/node-v20.x/bin/node`), and again as a
 * bare `node` found on PATH. After an "upgrade" (the link moved to a new version directory, the
 * old one removed) the program the entries name still runs. Before, entries named the real path.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { testTempDir } from '../system/tempdir.js';
import { MAIN, cliEnv, ensureBuilt, manifest, writeConfig } from './fixtures/sync-cli.js';

const me = process.getuid?.() === 0 ? 'root' : (process.env.USER ?? 'root');

/** Runs the built CLI with program `file` (its argv0 as given) and PATH `pathVar`. */
function runAs(file: string, args: string[], pathVar: string): { code: number | null; stderr: string } {
  const r = spawnSync(file, [MAIN, ...args], { env: cliEnv({ PATH: pathVar }), encoding: 'utf8' });
  return { code: r.status, stderr: r.stderr };
}

/** The program of every cron line in `text` (the word after the user). */
function programs(text: string): string[] {
  return text.split('\n').filter((l) => /^[0-9*]/.test(l)).map((l) => l.split(/\s+/)[6]!);
}

describe.skipIf(process.platform !== 'linux')('e2e: entries name node by the symlink it was started through', () => {
  it('an absolute symlink, and a bare name on PATH; the entries survive an upgrade that moves the link', { timeout: 60_000 }, async () => {
    await ensureBuilt();
    const dir = testTempDir('cronsync-node-symlink-');
    for (const d of ['src', 'cron.d', 'bin', 'node-v1/bin']) mkdirSync(path.join(dir, d), { recursive: true });
    symlinkSync(process.execPath, path.join(dir, 'node-v1/bin/node'));
    const link = path.join(dir, 'bin/node');
    symlinkSync(path.join(dir, 'node-v1/bin/node'), link);
    writeFileSync(path.join(dir, 'src/a.yaml'), manifest('a'));
    const cronFile = path.join(dir, 'cron.d', 'cronsync');
    const config = writeConfig(dir, {
      agent: { name: 'host-1', tenant: 'acme' }, source: { url: path.join(dir, 'src') },
      scheduler: { kind: 'cron.d', user: me, cronDir: path.join(dir, 'cron.d') }, stateDir: path.join(dir, 'state'), log: { level: 'warn' },
    });
    const PATH = `${path.join(dir, 'bin')}:${process.env.PATH}`;

    const absolute = runAs(link, ['sync', '--config', config], process.env.PATH!);
    const byAbsolute = programs(readFileSync(cronFile, 'utf8'));
    // A bare name: spawn finds `node` on PATH, first in <dir>/bin. A new job makes the sync write.
    writeFileSync(path.join(dir, 'src/b.yaml'), manifest('b'));
    const bare = runAs('node', ['sync', '--config', config], PATH);
    const byBare = programs(readFileSync(cronFile, 'utf8'));

    expect(absolute).toMatchObject({ code: 0, stderr: '' });
    expect(bare).toMatchObject({ code: 0, stderr: '' });
    expect(byAbsolute).toEqual([link]);
    expect(byBare).toEqual([link, link]);

    // The upgrade: a new version directory, the link moved to it (rename over it), the old one gone.
    mkdirSync(path.join(dir, 'node-v2/bin'), { recursive: true });
    symlinkSync(process.execPath, path.join(dir, 'node-v2/bin/node'));
    symlinkSync(path.join(dir, 'node-v2/bin/node'), `${link}.new`);
    renameSync(`${link}.new`, link);
    rmSync(path.join(dir, 'node-v1'), { recursive: true });
    expect(spawnSync(byBare[0]!, ['-e', 'process.exit(7)']).status).toBe(7);
  });
});
