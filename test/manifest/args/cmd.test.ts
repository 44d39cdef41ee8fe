import { describe, expect, it } from 'vitest';
import { argsPlan } from '../../../src/manifest/args/plan.js';

describe('manifest/args cmd', () => {
  it.each`
    name                      | command                          | hazard            | token
    ${'a line break'}         | ${'backup.cmd\r\necho done'}     | ${'multiline'}    | ${''}
    ${'a trailing &'}         | ${'backup.cmd &'}                | ${'operator'}     | ${'&'}
    ${'a trailing &&'}        | ${'backup.cmd &&'}               | ${'operator'}     | ${'&&'}
    ${'a trailing |'}         | ${'backup.cmd |'}                | ${'operator'}     | ${'|'}
    ${'a trailing ||'}        | ${'backup.cmd ||'}               | ${'operator'}     | ${'||'}
    ${'rem'}                  | ${'backup.cmd & REM nightly'}    | ${'comment'}      | ${'REM'}
    ${'::'}                   | ${':: nightly'}                  | ${'comment'}      | ${'::'}
    ${'a trailing ^'}         | ${'backup.cmd ^'}                | ${'continuation'} | ${'^'}
    ${'a trailing ^ + CRLF'}  | ${'backup.cmd ^\r\n'}            | ${'continuation'} | ${'^'}
    ${'a trailing >'}         | ${'backup.cmd >'}                | ${'redirect'}     | ${'>'}
    ${'an open quote'}        | ${'echo "abc'}                   | ${'quote'}        | ${'"'}
    ${'an open block'}        | ${'if exist x (echo a'}          | ${'quote'}        | ${'('}
    ${'a closed block'}       | ${'if exist x (echo a)'}         | ${'compound'}     | ${')'}
    ${'a redirected block'}   | ${'(dir & echo a) >log.txt'}     | ${'compound'}     | ${')'}
    ${'only a redirection'}   | ${'>out.txt'}                    | ${'no-program'}   | ${''}
    ${'nothing'}              | ${'\r\n'}                        | ${'no-program'}   | ${''}
  `('refuses $name', ({ command, hazard, token }: { command: string; hazard: string; token: string }) => {
    expect(argsPlan(command, 'win32')).toEqual({ kind: 'refuse', hazard, token });
  });
});
