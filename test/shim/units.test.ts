import { describe, expect, it } from 'vitest';
import { parseDuration, formatDuration } from '../../src/shim/duration.js';
import { CHECKIN_BACKOFF, isRetryableStatus, jobBackoff, maxAttempts, nextDelay, parseRetryAfter } from '../../src/shim/retry.js';
import { TailBuffer, tailChars } from '../../src/shim/output.js';
import { quoteWindowsArg, shellCommand } from '../../src/shim/command.js';
import { EXEC_USAGE, parseExecArgs } from '../../src/shim/cli.js';

describe('shim/duration', () => {
  it.each`
    text        | ms
    ${'90s'}    | ${90_000}
    ${'15m'}    | ${900_000}
    ${'2h'}     | ${7_200_000}
    ${'1h30m'}  | ${5_400_000}
    ${' 10s '}  | ${10_000}
  `('parses $text', ({ text, ms }) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'abc', '10x', '5m3', '-1s', '250ms', '1d', '5', '30m2h'])('rejects %j with a ConfigError', (text) => {
    expect(() => parseDuration(text)).toThrow(expect.objectContaining({ code: 'CRONSYNC_CONFIG' }));
  });

  it('formats', () => {
    expect([formatDuration(850), formatDuration(12_340), formatDuration(245_000)]).toEqual(['850ms', '12.3s', '4m05s']);
  });
});

describe('shim/retry', () => {
  const mid = (): number => 0.5; // no jitter

  it('fixed backoff repeats the delay, exponential doubles up to maxDelay', () => {
    const fixed = jobBackoff({ enabled: true, attempts: 3, backoff: 'fixed', delay: '10s', maxDelay: '5m' });
    const exp = jobBackoff({ enabled: true, attempts: 9, backoff: 'exponential', delay: '10s', maxDelay: '1m' });

    expect([1, 2, 3].map((n) => nextDelay(n, fixed, undefined, mid))).toEqual([10_000, 10_000, 10_000]);
    expect([1, 2, 3, 4, 5].map((n) => nextDelay(n, exp, undefined, mid))).toEqual([10_000, 20_000, 40_000, 60_000, 60_000]);
  });

  it('jitter stays within ±20% and under the cap', () => {
    expect(nextDelay(1, CHECKIN_BACKOFF, undefined, () => 0)).toBe(800);
    expect(nextDelay(1, CHECKIN_BACKOFF, undefined, () => 1)).toBe(1200);
    expect(nextDelay(10, CHECKIN_BACKOFF, undefined, () => 1)).toBe(30_000);
  });

  it('a longer Retry-After wins over the formula; a shorter one, 0 or a past date keeps the backoff', () => {
    expect(nextDelay(1, CHECKIN_BACKOFF, 7000, mid)).toBe(7000);
    expect(nextDelay(1, CHECKIN_BACKOFF, 0, mid)).toBe(1000);
    expect(nextDelay(3, CHECKIN_BACKOFF, 10, mid)).toBe(4000);
    expect(nextDelay(1, CHECKIN_BACKOFF, parseRetryAfter('Thu, 01 Jan 1970 00:00:00 GMT', new Date()), mid)).toBe(1000);
    const now = new Date('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it.each`
    status | retry
    ${408} | ${true}
    ${429} | ${true}
    ${500} | ${true}
    ${503} | ${true}
    ${400} | ${false}
    ${401} | ${false}
    ${422} | ${false}
  `('status $status retryable: $retry', ({ status, retry }) => {
    expect(isRetryableStatus(status)).toBe(retry);
  });

  it('counts attempts only when enabled', () => {
    expect(maxAttempts({ enabled: false, attempts: 3, backoff: 'fixed', delay: '1s', maxDelay: '1s' })).toBe(1);
    expect(maxAttempts({ enabled: true, attempts: 3, backoff: 'fixed', delay: '1s', maxDelay: '1s' })).toBe(4);
  });
});

describe('shim/output', () => {
  it('keeps short output unchanged', () => {
    const t = new TailBuffer();
    t.push('hello ');
    t.push(Buffer.from('wörld'));

    expect(t.text()).toBe('hello wörld');
  });

  it('keeps only the tail of >1 MB, with a notice, within 10,000 characters', () => {
    const t = new TailBuffer();
    for (let i = 0; i < 1100; i++) t.push(Buffer.alloc(1024, 'x'));
    t.push('THE END');

    const s = t.text();

    expect(s.length).toBeLessThanOrEqual(10_000);
    expect(s.startsWith('[cronsync: output truncated, 1126407 bytes')).toBe(true);
    expect(s.endsWith('xxxTHE END')).toBe(true);
  });

  it('never cuts inside a multi-byte character', () => {
    for (const ch of ['é', '€', '😀']) {
      const t = new TailBuffer(1001);
      // Shift the byte cut through every offset inside the character.
      for (let pad = 0; pad < 4; pad++) {
        t.push('a'.repeat(pad) + ch.repeat(5000));
        const s = t.text(500);
        expect(s).not.toContain('\uFFFD');
        const body = s.slice(s.indexOf('\n') + 1);
        expect(body.replaceAll(ch, '')).toBe('');
      }
    }
  });

  it('tailChars does not start with half a surrogate pair', () => {
    expect(tailChars('a😀b', 2)).toBe('b');
    expect(tailChars('a😀b', 3)).toBe('😀b');
  });
});

describe('shim/command', () => {
  it('passes args as positional parameters on POSIX', () => {
    expect(shellCommand('echo', ['a b', '$HOME'], 'linux')).toEqual({ file: '/bin/sh', args: ['-c', 'echo "$@"', 'sh', 'a b', '$HOME'] });
    expect(shellCommand('echo hi', [], 'linux')).toEqual({ file: '/bin/sh', args: ['-c', 'echo hi'] });
  });

  it('quotes args for cmd.exe', () => {
    expect(quoteWindowsArg('plain')).toBe('^"plain^"');
    expect(quoteWindowsArg('a b&c')).toBe('^"a^ b^&c^"');
    expect(quoteWindowsArg('say "hi"\\')).toBe('^"say^ \\^"hi\\^"\\\\^"');
    expect(shellCommand('dir', ['x y'], 'win32')).toEqual({ file: 'C:\\Windows\\System32\\cmd.exe', args: ['/d', '/v:off', '/s', '/c', '"dir ^"x^ y^""'], windowsVerbatimArguments: true });
  });
});

describe('shim/cli', () => {
  const env = { CRONSYNC_STATE_DIR: '/st' };

  it.each`
    argv                                                  | want
    ${['acme/job']}                                       | ${{ ok: true, help: false, jobId: 'acme/job', scheduled: false, stateDir: '/st' }}
    ${['exec', '--scheduled', 'acme/job']}                | ${{ ok: true, help: false, jobId: 'acme/job', scheduled: true, stateDir: '/st' }}
    ${['--state-dir', '/x', 'acme/job']}                  | ${{ ok: true, help: false, jobId: 'acme/job', scheduled: false, stateDir: '/x' }}
    ${['--state-dir=/y', 'acme/job']}                     | ${{ ok: true, help: false, jobId: 'acme/job', scheduled: false, stateDir: '/y' }}
    ${['--help']}                                         | ${{ ok: true, help: true }}
    ${[]}                                                 | ${{ ok: false, message: 'missing job id TENANT/NAME' }}
    ${['--bogus', 'acme/job']}                            | ${{ ok: false, message: 'unknown option --bogus' }}
    ${['a/b', 'c/d']}                                     | ${{ ok: false, message: 'exactly one job id expected' }}
  `('parses $argv', ({ argv, want }) => {
    expect(parseExecArgs(argv, env)).toEqual(want);
  });

  it('defaults the state dir to /var/lib/cronsync', () => {
    expect(parseExecArgs(['a/b'], {})).toMatchObject({ stateDir: '/var/lib/cronsync' });
  });

  it.each`
    argv                                                         | config
    ${['--config', '/etc/c.yaml', 'acme/job']}                   | ${{ file: '/etc/c.yaml' }}
    ${['-c', 'c.yaml', 'acme/job']}                              | ${{ file: 'c.yaml' }}
    ${['exec', '--config=/etc/c.yaml', '--scheduled', 'acme/job']} | ${{ file: '/etc/c.yaml' }}
    ${['--config', 'c.yaml', '--state-dir', '/x', 'acme/job']}   | ${{ file: 'c.yaml', stateDir: '/x' }}
    ${['--state-dir=/x', '-c', 'c.yaml', 'acme/job']}            | ${{ file: 'c.yaml', stateDir: '/x' }}
  `('takes --config: $argv', ({ argv, config }) => {
    expect(parseExecArgs(argv, env)).toEqual({ ok: true, help: false, jobId: 'acme/job', scheduled: argv.includes('--scheduled'), stateDir: (config as { stateDir?: string }).stateDir ?? '/st', config });
  });

  it.each`
    argv                                  | message
    ${['acme/job', '--config']}           | ${'--config needs a file'}
    ${['acme/job', '-c']}                 | ${'-c needs a file'}
    ${['--config=', 'acme/job']}          | ${'--config needs a file'}
    ${['--state-dir=', 'acme/job']}       | ${'--state-dir needs a directory'}
  `('refuses $argv', ({ argv, message }) => {
    expect(parseExecArgs(argv, env)).toEqual({ ok: false, message });
  });

  it('reads no config without --config, whatever $CRONSYNC_CONFIG says', () => {
    expect(parseExecArgs(['acme/job'], { ...env, CRONSYNC_CONFIG: '/etc/cronsync/config.yaml' })).not.toHaveProperty('config');
  });

  it('documents --config in the usage', () => {
    expect(EXEC_USAGE).toMatch(/^Usage: cronsync exec \[--scheduled\] \[--config FILE\] \[--state-dir DIR\] TENANT\/NAME$/m);
    expect(EXEC_USAGE).toMatch(/^ {2}-c, --config FILE {2}/m);
  });
});
