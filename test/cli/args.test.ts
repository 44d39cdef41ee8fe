/**
 * An argument a command does not take is a usage error (exit 2, SPEC §5) that names it, never
 * ignored: `prune --all --force acme-corp/one` once removed every entry of the agent.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCommandArgs } from '../../src/cli/args.js';
import { testTempDir } from '../system/tempdir.js';
import { cli } from './helpers.js';

describe('cli/args', () => {
  it('refuses a positional argument unless the command takes some, and names it escaped and cut short', () => {
    const long = 'x'.repeat(5000);

    const taken = parseCommandArgs(['--format', 'json', 'a', 'b'], { format: { type: 'string' } }, { positionals: true });
    const refused = (argv: string[]): unknown => {
      try {
        return parseCommandArgs(argv, {});
      } catch (err) {
        return err;
      }
    };

    expect(taken.positionals).toEqual(['a', 'b']);
    expect(refused(['acme/one'])).toMatchObject({ code: 'CRONSYNC_USAGE', message: "Unexpected argument 'acme/one': this command takes no arguments" });
    expect((refused(['--config', 'c.yaml', long]) as Error).message).toBe(`Unexpected argument '${'x'.repeat(200)}…': this command takes no arguments`);
    expect(refused(['--', '--all'])).toMatchObject({ message: "Unexpected argument '--all': this command takes no arguments" });
  });
});

describe('commands that take no arguments', { timeout: 30_000 }, () => {
  it.each([
    { name: 'sync', argv: ['sync', '--dry-run', 'extra'] },
    { name: 'diff', argv: ['diff', 'extra'] },
    { name: 'status', argv: ['status', '--state-dir', '.', 'extra'] },
    { name: 'prune (the id would be ignored and every entry removed)', argv: ['prune', '--all', '--force', '--config', 'c.yaml', 'extra'] },
    { name: 'demo', argv: ['demo', 'extra'] },
    // Last: the daemon command tunes this process's V8 for an idle life before it parses.
    { name: 'daemon', argv: ['daemon', '--config', 'c.yaml', 'extra'] },
  ])('$name: exits 2 naming the argument, before it reads a config or touches anything', async ({ argv }) => {
    const dir = testTempDir('cronsync-args-');
    writeFileSync(join(dir, 'c.yaml'), `agent: { tenant: acme }\nsource: { url: ${dir} }\nstateDir: ${join(dir, 'state')}\nscheduler: { kind: embedded }\n`);

    const res = await cli(argv, dir);

    expect(res).toEqual({ code: 2, out: '', err: "cronsync: Unexpected argument 'extra': this command takes no arguments\n" });
    expect([existsSync(join(dir, 'state')), existsSync(join(dir, '.cronsync'))]).toEqual([false, false]);
  });

  it('lint: a PATH with --config is a usage error (it would go unlinted), escaped', async () => {
    const dir = testTempDir('cronsync-args-');

    const res = await cli(['lint', '--config', 'c.yaml', 'jobs/\u001b[31mred.yaml'], dir);

    expect(res).toEqual({ code: 2, out: '', err: "cronsync: Unexpected argument 'jobs/\\x1b[31mred.yaml': with --config, lint checks the configured source, not PATHs\n" });
  });

  it('refuses an empty --config, which would otherwise read the working directory as the file', () => {
    for (const argv of [['--config='], ['--config', ''], ['-c', '']]) {
      expect(() => parseCommandArgs(argv, {})).toThrow(expect.objectContaining({ code: 'CRONSYNC_USAGE', message: '--config needs a file' }));
    }
  });
});
