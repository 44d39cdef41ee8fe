/**
 * The embedded adapter as the daemon builds it (default sleep cap) when the host's wall clock
 * misbehaves: NTP steps forward and back, and a suspend (the wall clock jumps while monotonic
 * time stood still). A stall, where both clocks move on, is checked on the real process (with
 * a pause, SIGSTOP) in test/e2e/embedded-clock.test.ts, under libfaketime.
 */
import { describe, expect, it } from 'vitest';
import type { DesiredJob } from '../../../src/desired/types.js';
import type { Plan } from '../../../src/plan/types.js';
import { createEmbeddedAdapter } from '../../../src/scheduler/embedded/index.js';
import type { RegistryFiles } from '../../../src/scheduler/embedded/index.js';
import { claimFireInstant } from '../../../src/state/fired.js';
import { desiredOf, makeJob } from '../../fakes/jobs.js';
import { testTempDir } from '../../system/tempdir.js';
import { ManualTimers } from '../../fakes/ManualTimers.js';
import { recordingLogger, recordingRunJob } from './helpers.js';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const signal = new AbortController().signal;

function memoryFiles(): RegistryFiles {
  let text: string | null = null;
  return { read: async () => text, write: async (_path, data) => { text = data; } };
}

function planOf(final: DesiredJob[]): Plan {
  return { sourceId: 'src1', final, add: [], update: [], remove: [], unchanged: [], kept: [], orphaned: [], conflicts: [], preserve: [] };
}

/**
 * A started adapter whose runJob claims the minute as the daemon's does (runExec), on a state
 * dir of its own, and records each outcome: `<minute> ran|skipped`. The host's monotonic clock
 * of the claims is the fake's, which the wall-clock jumps do not move.
 */
async function claiming(start: string, schedule: string) {
  const stateDir = testTempDir('cronsync-embedded-markers-');
  const timers = new ManualTimers(new Date(start));
  const claims: string[] = [];
  const runJob = async (jobId: string, scheduledFor: Date): Promise<number> => {
    claims.push(`${scheduledFor.toISOString().slice(0, 16)} ${claimFireInstant(stateDir, jobId, scheduledFor, timers.monotonic).claimed ? 'ran' : 'skipped'}`);
    return 0;
  };
  const adapter = createEmbeddedAdapter({ sourceId: 'src1', stateDir, runJob, clock: timers.clock, monotonic: timers.monotonic, log: recordingLogger(), timers, files: memoryFiles() });
  await adapter.apply(planOf([desiredOf(makeJob('a', { spec: { schedule, timezone: 'UTC' } }))]), signal);
  await adapter.start();
  return { stateDir, timers, claims };
}

/** A started adapter (no maxSleepMs: the daemon's default) running `schedule` in `timezone`. */
async function started(start: string, schedule: string, timezone = 'UTC') {
  const timers = new ManualTimers(new Date(start));
  const log = recordingLogger();
  const run = recordingRunJob(timers);
  const adapter = createEmbeddedAdapter({ sourceId: 'src1', stateDir: '/nonexistent', runJob: run.runJob, clock: timers.clock, monotonic: timers.monotonic, log, timers, files: memoryFiles() });
  await adapter.apply(planOf([desiredOf(makeJob('a', { spec: { schedule, timezone } }))]), signal);
  await adapter.start();
  const fires = (): string[][] => run.calls.map((c) => [c.scheduledFor.slice(11, 19), c.calledAt.slice(11, 23)]);
  const missed = (): unknown[] => log.records.filter((r) => r.level === 'warn').map((r) => r.obj.missed);
  return { timers, fires, missed };
}

describe('scheduler/embedded (clock steps)', () => {
  it('after a forward step that lands just before a fire time, that fire runs on time', async () => {
    const { timers, fires, missed } = await started('2026-05-01T10:00:02Z', '0 * * * *');

    timers.jump(HOUR - 7 * SEC);
    timers.advance(2 * MIN);

    expect(fires()).toEqual([['11:00:00', '11:00:00.000']]);
    expect(missed()).toEqual([]);
  });

  it('a forward step of 3 h runs the latest skipped fire once within a second, reports the others, then keeps time', async () => {
    const { timers, fires, missed } = await started('2026-05-01T10:00:10Z', '* * * * *');

    timers.jump(3 * HOUR + 45 * SEC);
    timers.advance(80 * SEC);

    expect(fires()).toEqual([['13:00:00', '13:00:56.000'], ['13:01:00', '13:01:00.000'], ['13:02:00', '13:02:00.000']]);
    expect(missed()).toEqual([180]);
  });

  it('a suspend in the New York fall-back hour (monotonic time stood still) keeps §2a instants after the resume', async () => {
    // 06:01Z is 01:01 EST, the second pass of 01:xx, whose instants a '*' hour keeps.
    const { timers, fires } = await started('2026-11-01T06:01:00Z', '*/15 * * * *', 'America/New_York');

    timers.jump(13 * MIN + 55 * SEC);
    timers.advance(20 * MIN);

    expect(fires()).toEqual([['06:15:00', '06:15:00.000'], ['06:30:00', '06:30:00.000']]);
  });

  it('a monthly job run by a clock set a month ahead runs again on the real day: the minute it claimed then is stale by then', async () => {
    const { timers, claims } = await claiming('2026-05-01T00:00:30Z', '0 0 1 * *');

    timers.jump(new Date('2026-05-31T23:59:50Z').getTime() - new Date('2026-05-01T00:00:30Z').getTime());
    timers.advance(MIN); // the wrong clock's June 1st 00:00
    timers.jump(-(new Date('2026-06-01T00:00:50Z').getTime() - new Date('2026-05-01T00:01:30Z').getTime()));
    timers.advance(31 * 24 * HOUR);

    expect(claims).toEqual(['2026-06-01T00:00 ran', '2026-06-01T00:00 ran']);
  });

  it('a monthly job re-run on its real day still yields to another start that claimed that minute first (an entry left in cron after a scheduler switch)', async () => {
    const { stateDir, timers, claims } = await claiming('2026-05-01T00:00:30Z', '0 0 1 * *');
    timers.jump(new Date('2026-05-31T23:59:50Z').getTime() - new Date('2026-05-01T00:00:30Z').getTime());
    timers.advance(MIN); // the wrong clock's June 1st 00:00
    timers.jump(-(new Date('2026-06-01T00:00:50Z').getTime() - new Date('2026-05-01T00:01:30Z').getTime()));
    timers.advanceTo(new Date('2026-05-31T23:59:59.500Z'));

    // The real June 1st: a cron entry's exec claims the minute an instant before the loop's tick.
    const rival = claimFireInstant(stateDir, 'acme/a', new Date('2026-06-01T00:00:00.100Z'), timers.monotonic);
    timers.advance(MIN);

    expect(rival.claimed).toBe(true);
    expect(claims).toEqual(['2026-06-01T00:00 ran', '2026-06-01T00:00 skipped']);
  });

  it('a fire run a day and half a minute early is not run again: the loop keeps a minute over the claim\'s limit, so the two never disagree', async () => {
    const { timers, claims } = await claiming('2026-05-03T23:59:30Z', '0 0 * * 2'); // a Sunday

    timers.jump(24 * HOUR + 25 * SEC); // Monday 23:59:55 by the wrong clock: its Tuesday 00:00 in 5 s
    timers.advance(10 * SEC); // the wrong clock's Tuesday 00:00 runs
    timers.jump(-(24 * HOUR + 30 * SEC)); // back to the real time
    timers.advanceTo(new Date('2026-05-05T00:05:00Z')); // the real Tuesday 00:00 comes, a day and 30 s later

    expect(claims).toEqual(['2026-05-05T00:00 ran']);
  });

  it('a weekly job run by a clock set 47 hours ahead runs again when its time comes (ran more than a day earlier)', async () => {
    const { timers, claims } = await claiming('2026-05-04T00:00:00Z', '0 23 * * 2'); // a Monday

    timers.jump(47 * HOUR); // Tuesday 23:00 by the wrong clock
    timers.advance(5 * MIN);
    timers.jump(-47 * HOUR);
    timers.advanceTo(new Date('2026-05-05T23:30:00Z'));

    expect(claims).toEqual(['2026-05-05T23:00 ran', '2026-05-05T23:00 ran']);
  });

  it.each`
    step
    ${-5 * MIN}
    ${-HOUR}
  `('after a backward step of $step ms no instant fires twice, and the next new one is on time', async ({ step }: { step: number }) => {
    // Running for an hour before the step: the instants it goes back over have all run.
    const { timers, fires } = await started('2026-05-01T08:59:30Z', '*/5 * * * *');
    timers.advance(HOUR + 40 * SEC);

    timers.jump(step);
    timers.advance(-step + 5 * MIN);

    const onTime = Array.from({ length: 14 }, (_, i) => new Date(Date.UTC(2026, 4, 1, 9, 5 * i)).toISOString().slice(11, 19));
    expect(fires()).toEqual(onTime.map((t) => [t, `${t}.000`]));
    expect(onTime.slice(-2)).toEqual(['10:00:00', '10:05:00']);
  });
});
