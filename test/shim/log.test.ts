import { describe, expect, it } from 'vitest';
import { createLineLogger } from '../../src/shim/log.js';

/** The lines a line logger at `level` writes for one record of each of its levels. */
function linesAt(level: string | undefined): string[] {
  let out = '';
  const log = createLineLogger({ write: (s: string) => { out += s; return true; } }, level, 'cronsync[acme/a]');
  log.debug({}, 'd');
  log.info({}, 'i');
  log.warn({}, 'w');
  log.error({}, 'e');
  return out.split('\n').filter((l) => l !== '');
}

describe('shim/log (the exec line logger)', () => {
  it.each`
    level        | shown
    ${undefined} | ${['w', 'e']}
    ${''}        | ${['w', 'e']}
    ${'trace'}   | ${['d', 'i', 'w', 'e']}
    ${'debug'}   | ${['d', 'i', 'w', 'e']}
    ${'info'}    | ${['i', 'w', 'e']}
    ${'warn'}    | ${['w', 'e']}
    ${'error'}   | ${['e']}
    ${'fatal'}   | ${[]}
    ${'silent'}  | ${[]}
  `('at $level (a level of log.level, or unset) shows $shown', ({ level, shown }: { level: string | undefined; shown: string[] }) => {
    expect(linesAt(level).map((l) => l.split(' ').at(-1))).toEqual(shown);
  });

  it.each(['verbose', 'DEBUG', ' ', 'constructor'])('a level it does not know (%j) is warn, and says so once on its first line', (level) => {
    expect(linesAt(level)).toEqual([
      `cronsync[acme/a]: WARN CRONSYNC_LOG_LEVEL ${JSON.stringify(level)} is not a level (trace, debug, info, warn, error, fatal, silent); using warn`,
      'cronsync[acme/a]: WARN w',
      'cronsync[acme/a]: ERROR e',
    ]);
  });
});
