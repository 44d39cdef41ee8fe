import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { reportError } from '../../src/cli/main.js';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError, UsageError } from '../../src/errors.js';
import { parseLogLevel } from '../../src/log.js';
import { testTempDir } from '../system/tempdir.js';

/** reportError's exit code and what it printed. */
function report(err: unknown, env: NodeJS.ProcessEnv = {}): { code: number; err: string } {
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (d: Buffer) => { text += d.toString(); });
  const code = reportError(err, { stdout: new PassThrough(), stderr, env, cwd: '/' });
  return { code, err: text };
}

const issue = (file: string) => ({ file, line: 0, col: 0, path: 'scheduler.kind', rule: 'config', severity: 'error', message: `${file} must be one of …` });

describe('cli/main reportError', () => {
  it.each([
    [undefined, false], ['', false], ['0', false], ['false', false], ['No', false], ['off', false],
    ['1', true], ['yes', true], ['true', true],
  ])('CRONSYNC_DEBUG=%j shows the stack of an internal error: %s', (value, shown) => {
    const r = report(new TypeError('x is undefined'), value === undefined ? {} : { CRONSYNC_DEBUG: value });

    expect(r.err).toContain('internal error: x is undefined');
    expect(/\n\s+at /.test(r.err)).toBe(shown);
  });

  it.each([
    { name: 'an unknown flag', err: new UsageError("Unknown option '--bogus'"), want: 2 },
    { name: 'a bad --log-level (parseLogLevel)', err: (() => { try { parseLogLevel('loud'); } catch (e) { return e; } })(), want: 2 },
    { name: 'a bad --scheduler found by the config loader', err: new ConfigError('invalid config', { issues: [issue('--scheduler')] }), want: 2 },
    { name: 'a bad --log-level found by the config loader', err: new ConfigError('invalid config', { issues: [issue('/etc/cronsync/config.yaml'), issue('--log-level')] }), want: 2 },
    { name: 'an invalid config file', err: new ConfigError('invalid config', { issues: [issue('/etc/cronsync/config.yaml')] }), want: 1 },
    { name: 'an unexpected error', err: new TypeError('x is undefined'), want: 1 },
  ])('exits $want on $name', ({ err, want }) => {
    expect(report(err).code).toBe(want);
  });

  it('prints each issue of a config error on a line of its own, escaped', () => {
    const issues = [issue('/etc/cronsync/config.yaml'), { ...issue('CRONSYNC_X'), message: 'unknown \u001b[2J' }];

    const out = report(new ConfigError('invalid config /etc/cronsync/config.yaml:\n  one\n  unknown \u001b[2J', { issues }));

    expect(out.err).toBe('cronsync: invalid config /etc/cronsync/config.yaml:\n  one\n  unknown \\x1b[2J\n');
  });

  it('escapes every newline of a config error when an issue quotes one, so no line can be forged', () => {
    const out = report(new ConfigError('invalid config c.yaml:\n  bad "x\ncronsync: ok"', { issues: [issue('c.yaml')] }));

    expect(out.err).toBe('cronsync: invalid config c.yaml:\\n  bad "x\\ncronsync: ok"\n');
  });

  it('prints the README\'s unknown-variable example as it shows it', () => {
    const dir = testTempDir('cronsync-main-');
    const file = join(dir, 'config.yaml');
    writeFileSync(file, `agent: { tenant: t }\nsource: { url: ${dir} }\nstateDir: ${dir}\n`);
    const example = /```\n(cronsync: invalid config \/etc\/cronsync\/config\.yaml:\n[^`]*)```/.exec(readFileSync(new URL('../../README.md', import.meta.url), 'utf8'))?.[1];
    let err: unknown;
    try {
      loadConfig({ file, env: { CRONSYNC_STATEDIR: '/x' }, cwd: dir });
    } catch (e) {
      err = e;
    }

    const out = report(err);

    expect(example).toBeDefined();
    expect(out.err.replace(file, '/etc/cronsync/config.yaml')).toBe(example);
    expect(out.code).toBe(1);
  });

  it('escapes control characters in the message', () => {
    const out = report(new UsageError('bad value "x\n\u001b[31mFAKE"'));

    expect(out.err).toBe('cronsync: bad value "x\\n\\x1b[31mFAKE"\n');
  });
});
