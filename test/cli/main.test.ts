import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { reportError } from '../../src/cli/main.js';
import { ConfigError, UsageError } from '../../src/errors.js';
import { parseLogLevel } from '../../src/log.js';

/** reportError's exit code and what it printed. */
function report(err: unknown): { code: number; err: string } {
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (d: Buffer) => { text += d.toString(); });
  const code = reportError(err, { stdout: new PassThrough(), stderr, env: {}, cwd: '/' });
  return { code, err: text };
}

const issue = (file: string) => ({ file, line: 0, col: 0, path: 'scheduler.kind', rule: 'config', severity: 'error', message: `${file} must be one of …` });

describe('cli/main reportError', () => {
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

  it('escapes control characters in the message', () => {
    const out = report(new UsageError('bad value "x\n\u001b[31mFAKE"'));

    expect(out.err).toBe('cronsync: bad value "x\\n\\x1b[31mFAKE"\n');
  });
});
