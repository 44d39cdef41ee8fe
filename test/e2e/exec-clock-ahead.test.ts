/**
 * `cronsync exec --scheduled` as entries run it (dist/cli/launch.cjs, real processes), under a
 * wall clock set ahead, through libfaketime (Debian package `faketime`): a daily job started
 * while the host's clock was three days ahead claims its minute early. When that minute really
 * comes, three days later by the monotonic clock too, the job runs again: the early claim is
 * stale (src/state/fired.ts). A start within the same minute after that still skips.
 *
 * libfaketime moves the monotonic clock with the wall clock unless FAKETIME_DONT_FAKE_MONOTONIC
 * is set (DONT_FAKE_MONOTONIC in older builds; both are): the early start runs with the real monotonic clock (only the wall clock is wrong),
 * the later ones with both clocks ahead, as three days on. The test first checks that the
 * library does so on this machine. Skipped when libfaketime is not installed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { execCommand } from '../../src/cli/agent.js';
import { firedMarkerPath } from '../../src/state/fired.js';
import { install, makeJob, tempStateDir } from '../shim/fixtures.js';
import { ensureBuilt } from './fixtures/daemon-process.js';

const LIB = ['x86_64-linux-gnu', 'aarch64-linux-gnu', 'arm-linux-gnueabihf', 'i386-linux-gnu']
  .map((arch) => `/usr/lib/${arch}/faketime/libfaketimeMT.so.1`)
  .concat(['/usr/lib/faketime/libfaketimeMT.so.1', '/usr/local/lib/faketime/libfaketimeMT.so.1'])
  .find((p) => existsSync(p));
const DAY = 86_400_000;
const AHEAD = '+3d';

/** The environment of a process whose wall clock is three days ahead; its monotonic clock too when `monotonic`. */
function ahead(monotonic: boolean): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, LD_PRELOAD: LIB, FAKETIME: AHEAD, FAKETIME_NO_CACHE: '1', ...(monotonic ? {} : { FAKETIME_DONT_FAKE_MONOTONIC: '1', DONT_FAKE_MONOTONIC: '1' }) };
}

/** Runs `cronsync exec` as an entry does; its exit code and output. */
function exec(args: string[], env: NodeJS.ProcessEnv): { code: number | null; out: string; err: string } {
  const entry = execCommand();
  const r = spawnSync(entry.file, [...entry.args, 'exec', ...args], { env, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe.skipIf(!LIB || process.platform !== 'linux')('e2e exec --scheduled after a clock set ahead (libfaketime)', () => {
  it('a minute claimed three days early runs when it really comes, once', async () => {
    await ensureBuilt();
    // What the library does to the clocks here: wall and monotonic 3 days ahead, or the wall alone.
    const clocks = (env: NodeJS.ProcessEnv): [number, number] =>
      JSON.parse(execFileSync(process.execPath, ['-e', 'console.log(JSON.stringify([Date.now(), Number(process.hrtime.bigint() / 1000000n)]))'], { env, encoding: 'utf8' })) as [number, number];
    const realMono = Number(process.hrtime.bigint() / 1_000_000n);
    const [wallAhead, monoAhead] = clocks(ahead(true));
    const [wallOnly, monoReal] = clocks(ahead(false));
    expect(wallAhead - Date.now()).toBeGreaterThan(2.9 * DAY);
    expect(wallOnly - Date.now()).toBeGreaterThan(2.9 * DAY);
    expect(monoAhead - realMono).toBeGreaterThan(2 * DAY);
    expect(Math.abs(monoReal - realMono)).toBeLessThan(60_000);

    // A daily job whose minute is the one the clock three days ahead shows now. Every start
    // below lies within the 10-minute window after it, so all of them start that one fire.
    const fire = new Date(Math.floor(wallAhead / 60_000) * 60_000);
    const dir = tempStateDir();
    const id = await install(dir, makeJob('daily', {
      schedule: `${fire.getUTCMinutes()} ${fire.getUTCHours()} * * *`, command: 'echo ran', checkin: { enabled: false, timeout: 1 },
    }));
    const args = ['--scheduled', '--state-dir', dir, id];

    const early = exec(args, ahead(false));
    const come = exec(args, ahead(true));
    const again = exec(args, ahead(true));

    expect(early).toMatchObject({ code: 0, out: 'ran\n' });
    expect(come).toMatchObject({ code: 0, out: 'ran\n' });
    expect(again).toMatchObject({ code: 0, out: '' });
    const marker = firedMarkerPath(dir, id, fire);
    expect(readdirSync(dirname(marker)).sort()).toEqual([marker, `${marker}.1`].map((p) => p.slice(dirname(marker).length + 1)));
    // The early claim holds the real monotonic clock, the later one the clock three days on.
    expect(Math.abs(Number(readFileSync(marker, 'utf8')) - realMono)).toBeLessThan(120_000);
    expect(Number(readFileSync(`${marker}.1`, 'utf8')) - realMono).toBeGreaterThan(2 * DAY);
  }, 60_000);
});
