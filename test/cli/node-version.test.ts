/**
 * cronsync refuses, with one clear line, a Node.js older than package.json's `engines`
 * (src/cli/launch.cts): an entry's node link repointed at an older version must not fail every
 * run with a stack trace. The real launcher and CLI, with `process.versions.node` set older by a
 * preload (no older node binary on this machine).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Launch from '../../src/cli/launch.cjs';
import { ensureBuilt } from '../e2e/fixtures/sync-cli.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
// The built launcher (vitest does not load .cts sources).
await ensureBuilt();
const { MIN_NODE, unsupportedNode } = (await import(pathToFileURL(join(root, 'dist', 'cli', 'launch.cjs')).href)) as typeof Launch;

describe('cli: the oldest Node.js cronsync runs on', () => {
  it('is package.json\'s engines', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
    expect(pkg.engines.node).toBe(`>=${MIN_NODE}`);
  });

  it.each`
    version       | ok
    ${'20.18.1'}  | ${true}
    ${'20.18.2'}  | ${true}
    ${'20.19.0'}  | ${true}
    ${'22.1.0'}   | ${true}
    ${'20.18.0'}  | ${false}
    ${'20.9.0'}   | ${false}
    ${'18.20.4'}  | ${false}
  `('$version: supported $ok', ({ version, ok }: { version: string; ok: boolean }) => {
    const why = unsupportedNode(version, '/opt/node/bin/node');
    expect(why).toBe(ok ? null : `cronsync: needs Node.js ${MIN_NODE} or later; /opt/node/bin/node is ${version}\n`);
  });

  describe('the built launcher and CLI under an older version', () => {
    let work: string;
    beforeAll(() => {
      work = mkdtempSync(join(tmpdir(), 'cronsync-node-version-'));
      writeFileSync(join(work, 'old.cjs'), "Object.defineProperty(process.versions, 'node', { value: '18.19.1' });\n");
    });
    afterAll(() => {
      if (work) rmSync(work, { recursive: true, force: true });
    });
    const run = (script: string, args: string[]): { status: number | null; stdout: string; stderr: string } =>
      spawnSync(process.execPath, ['-r', join(work, 'old.cjs'), join(root, 'dist', 'cli', script), ...args], { encoding: 'utf8', env: { PATH: process.env.PATH } });

    it('exec (as entries run it) exits 70 with the reason; other commands exit 1', () => {
      const line = `cronsync: needs Node.js ${MIN_NODE} or later; ${process.execPath} is 18.19.1\n`;
      expect(run('launch.cjs', ['exec', '--scheduled', '--state-dir', work, 'acme/job'])).toMatchObject({ status: 70, stdout: '', stderr: line });
      expect(run('launch.cjs', ['status', '--state-dir', work])).toMatchObject({ status: 1, stdout: '', stderr: line });
      expect(run('main.js', ['exec', '--state-dir', work, 'acme/job'])).toMatchObject({ status: 70, stdout: '', stderr: line });
      expect(run('main.js', ['--version'])).toMatchObject({ status: 1, stdout: '', stderr: line });
      // The same commands on this node run (the job is not installed: 78).
      expect(spawnSync(process.execPath, [join(root, 'dist', 'cli', 'launch.cjs'), 'exec', '--state-dir', work, 'acme/job'], { encoding: 'utf8' }).status).toBe(78);
    });
  });
});
