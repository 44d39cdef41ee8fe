/**
 * `cronsync daemon` with the embedded scheduler as a real process whose wall clock misbehaves,
 * through libfaketime (Debian package `faketime`): the fake clock is an offset in a file read
 * on every call, the monotonic clock is left alone (FAKETIME_DONT_FAKE_MONOTONIC), as during an
 * NTP step. An every-minute job appends its own (fake) start time to a file.
 *
 * One timeline of about 40 s: a fire on time; a step back of 4 s right after it (no second
 * fire); a step forward of 3 h landing 5 s before a minute (the latest skipped minute runs once
 * at once, the next on time); a pause (SIGSTOP) over which the wall clock moves 2 min (the
 * latest missed minute runs once on resume, the other is reported). Skipped when libfaketime
 * is not installed.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureBuilt, exitWithin, startCli, waitFor } from './fixtures/daemon-process.js';
import type { CliChild } from './fixtures/daemon-process.js';

const LIB = ['x86_64-linux-gnu', 'aarch64-linux-gnu', 'arm-linux-gnueabihf', 'i386-linux-gnu']
  .map((arch) => `/usr/lib/${arch}/faketime/libfaketimeMT.so.1`)
  .concat(['/usr/lib/faketime/libfaketimeMT.so.1', '/usr/local/lib/faketime/libfaketimeMT.so.1'])
  .find((p) => existsSync(p));
/** A bound against hangs, not a latency assertion. */
const WAIT_MS = 20_000;
/** How late (s) a fire may start, the job's own start-up included, with room for a busy CI machine: before the fix, ~50 s. */
const SLACK_S = 10;
const HOUR_S = 3600;

const children: CliChild[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.alive()) {
      c.proc.kill('SIGCONT');
      c.proc.kill('SIGTERM');
      await exitWithin(c, 10_000).catch(() => c.kill());
    }
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!LIB || process.platform !== 'linux')('e2e embedded scheduler under wall-clock steps (libfaketime)', () => {
  it('fires on time after steps back and forward, once per instant, and once after a pause', async () => {
    await ensureBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'cronsync-embedded-clock-'));
    dirs.push(dir);
    const fireFile = join(dir, 'fires');
    const rc = join(dir, 'faketime.rc');
    mkdirSync(join(dir, 'm'));
    writeFileSync(join(dir, 'm', 'job.yaml'), [
      'apiVersion: v1', 'kind: Job', 'metadata:', '  name: tick', '  tenant: t1', 'spec:',
      '  schedule: "* * * * *"', `  command: 'date -u +%s.%N >> ${fireFile}'`, '  checkin:', '    enabled: false', '',
    ].join('\n'));
    // A long poll interval: no sync re-arms the timers, the fire loop alone notices the steps.
    writeFileSync(join(dir, 'config.yaml'), [
      'agent:', '  name: clock-host', '  tenant: t1', 'source:', `  url: ${JSON.stringify(join(dir, 'm'))}`, '  interval: 10m',
      'scheduler:', '  kind: embedded', `stateDir: ${JSON.stringify(join(dir, 'state'))}`, 'log:', '  level: debug', '',
    ].join('\n'));
    let offset = 0;
    const fakeNow = (): number => Date.now() / 1000 + offset;
    const setFake = (target: number): void => {
      offset = target - Date.now() / 1000;
      writeFileSync(rc, `${offset >= 0 ? '+' : ''}${offset.toFixed(3)}\n`);
    };
    // The shell creates the file (`>>`) before `date` writes its line: an empty file is no fire yet.
    const fires = (): number[] => (existsSync(fireFile) ? readFileSync(fireFile, 'utf8').split('\n').filter((l) => l !== '').map(Number) : []);
    const firesAtLeast = (n: number) => waitFor(`${n} fires`, () => fires().length >= n && fires(), WAIT_MS);
    const M = Math.ceil(Date.now() / 60_000) * 60 + 600;
    setFake(M - 8);

    const child = startCli(['daemon', '--config', join(dir, 'config.yaml')], {
      env: { LD_PRELOAD: LIB, FAKETIME_TIMESTAMP_FILE: rc, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' },
    });
    children.push(child);
    const onTime = await firesAtLeast(1);

    setFake(M - 4);
    await sleep(12_000);
    const afterBack = fires();

    const B = M + 3 * HOUR_S + 60;
    setFake(B - 5);
    const afterForward = await firesAtLeast(3);
    // The job has written its line, but the daemon may not have seen it exit yet: stopped in
    // between, it would still hold the run lock on resume, and concurrency Forbid would rightly
    // skip the missed minute (CI saw that on a busy machine).
    await waitFor('the third run to finish', () => child.logs().filter((l) => l.msg === 'Embedded job finished').length >= 3, WAIT_MS);

    child.proc.kill('SIGSTOP');
    setFake(fakeNow() + 120);
    await sleep(3_000);
    child.proc.kill('SIGCONT');
    const resumedAt = fakeNow();
    const afterPause = await firesAtLeast(4);
    const due = child.logs().filter((l) => l.msg === 'Embedded job due').map((l) => Date.parse(String(l.scheduledFor)) / 1000);
    const missed = child.logs().filter((l) => typeof l.missed === 'number').map((l) => l.missed);

    expect(onTime[0]! - M).toBeGreaterThanOrEqual(0);
    expect(onTime[0]! - M).toBeLessThan(SLACK_S);
    expect(afterBack).toHaveLength(1);
    expect(afterForward[1]! - (B - 5)).toBeLessThan(SLACK_S);
    expect(afterForward[2]! - B).toBeGreaterThanOrEqual(0);
    expect(afterForward[2]! - B).toBeLessThan(SLACK_S);
    expect(afterPause[3]! - resumedAt).toBeLessThan(SLACK_S);
    expect(due).toEqual([M, B - 60, B, B + 120]);
    expect(missed).toEqual([180, 2]);
    await sleep(500);
    expect(fires()).toHaveLength(4);
  }, 120_000);
});
