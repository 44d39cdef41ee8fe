/**
 * `cronsync exec`'s usage errors quote what was typed: escaped like every human-readable output
 * (README, Security) and cut short, so a job id or option cannot drive the terminal or fill it.
 */
import { describe, expect, it } from 'vitest';
import { parseExecArgs } from '../../src/shim/cli.js';
import { runExecCli } from '../../src/shim/run.js';
import { testTempDir } from '../system/tempdir.js';

const HOSTILE_ID = 'a/\u001b]0;pwned\u0007\u001b[31mred';

function streams(): { stdout: { write(s: string): boolean }; stderr: { write(s: string): boolean }; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => ((out += s), true) },
    stderr: { write: (s: string) => ((err += s), true) },
    out: () => out,
    err: () => err,
  };
}

describe('shim/cli: usage errors', () => {
  it.each`
    name                         | argv                                        | message
    ${'a job id with escapes'}   | ${['--state-dir', 'st', HOSTILE_ID]}        | ${'invalid job id "a/\\x1b]0;pwned\\x07\\x1b[31mred": expected TENANT/NAME (lower-case letters, digits and dashes)'}
    ${'an option with escapes'}  | ${['--b\u001b[31mogus', 'acme/job']}       | ${'unknown option --b\\x1b[31mogus'}
    ${'a bidi override'}         | ${['acme/\u202ejob']}                       | ${'invalid job id "acme/\\u{202e}job": expected TENANT/NAME (lower-case letters, digits and dashes)'}
    ${'too many parts'}          | ${['a/b/c']}                                | ${'invalid job id "a/b/c": expected TENANT/NAME (lower-case letters, digits and dashes)'}
    ${'a name over 63'}          | ${[`acme/${'n'.repeat(64)}`]}               | ${`invalid job id "acme/${'n'.repeat(64)}": expected TENANT/NAME (lower-case letters, digits and dashes)`}
  `('escapes $name', ({ argv, message }) => {
    expect(parseExecArgs(argv, {})).toEqual({ ok: false, message });
  });

  it('cuts a long job id or option to 200 characters', () => {
    const id = parseExecArgs([`acme/${'x'.repeat(5000)}`], {});
    const option = parseExecArgs([`--${'y'.repeat(5000)}`, 'acme/job'], {});

    expect(id).toEqual({ ok: false, message: `invalid job id "acme/${'x'.repeat(195)}…": expected TENANT/NAME (lower-case letters, digits and dashes)` });
    expect(option).toEqual({ ok: false, message: `unknown option --${'y'.repeat(198)}…` });
  });

  it('exits 64 and writes no control character to the terminal, whatever was typed', async () => {
    const dir = testTempDir('cronsync-exec-cli-');
    const runs = [];
    for (const argv of [['--state-dir', dir, HOSTILE_ID], ['--state-dir', dir, '--b\u001b[31mogus', 'acme/job'], ['--state-dir', dir, `acme/${'z'.repeat(5000)}`]]) {
      const s = streams();
      runs.push({ code: await runExecCli(argv, {}, s), out: s.out(), err: s.err() });
    }

    expect(runs.map((r) => r.code)).toEqual([64, 64, 64]);
    for (const r of runs) {
      // eslint-disable-next-line no-control-regex
      expect(r.err).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
      expect(r.err.split('\n')[0]!.length).toBeLessThan(300);
      expect(r.out).toBe('');
    }
  });

  it.each`
    argv                                                                     | message
    ${['--state-dir', '/a', '--state-dir', '/b', 'acme/job']}               | ${'--state-dir is given twice ("/a", then "/b"); give it once'}
    ${['--state-dir=/a', '--state-dir', '/b', 'acme/job']}                  | ${'--state-dir is given twice ("/a", then "/b"); give it once'}
    ${['-c', '/etc/a.yaml', '--config=/etc/b.yaml', 'acme/job']}            | ${'--config is given twice ("/etc/a.yaml", then "/etc/b.yaml"); give it once'}
    ${['--state-dir', '/a\u001b[31m', '--state-dir', '/b', 'acme/job']}     | ${'--state-dir is given twice ("/a\\x1b[31m", then "/b"); give it once'}
  `('refuses an option given twice with different values: $argv', ({ argv, message }) => {
    expect(parseExecArgs(argv, {})).toEqual({ ok: false, message });
  });

  it('takes an option given twice with the same value', () => {
    expect(parseExecArgs(['--state-dir', '/a', '--state-dir=/a', 'acme/job'], {})).toMatchObject({ ok: true, stateDir: '/a' });
  });
});
