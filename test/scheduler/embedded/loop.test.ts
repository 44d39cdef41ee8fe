import { describe, expect, it } from 'vitest';
import { firesBetween } from '../../../src/schedule/fires.js';
import { FireLoop, MAX_TIMER_MS, nodeTimers } from '../../../src/scheduler/embedded/loop.js';
import type { ArmSpec } from '../../../src/scheduler/embedded/loop.js';
import { ManualTimers } from '../../fakes/ManualTimers.js';
import { recordingLogger, recordingRunJob } from './helpers.js';
import type { RunCall } from './helpers.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

function harness(start: string, specs: ArmSpec[], o: { maxSleepMs?: number; result?: (c: RunCall) => Promise<number> } = {}) {
  const timers = new ManualTimers(new Date(start));
  const log = recordingLogger();
  const { calls, runJob } = recordingRunJob(timers, o.result);
  const loop = new FireLoop({ clock: timers.clock, monotonic: timers.monotonic, timers, log, runJob, maxSleepMs: o.maxSleepMs });
  loop.set(specs);
  loop.start();
  return { timers, log, calls, loop };
}

const job = (schedule: string, timezone: string, jobId = 'acme/a'): ArmSpec => ({ jobId, schedule, timezone });

describe('scheduler/embedded/loop', () => {
  describe('fires at exactly the §2a instants', () => {
    it.each`
      name                                    | schedule          | zone                     | from                       | to                         | want
      ${'New York spring-forward 02:30'}      | ${'30 2 * * *'}   | ${'America/New_York'}    | ${'2026-03-07T00:00:00Z'}  | ${'2026-03-10T00:00:00Z'}  | ${['2026-03-07T07:30:00.000Z', '2026-03-08T07:30:00.000Z', '2026-03-09T06:30:00.000Z']}
      ${'New York fall-back */15 both passes'} | ${'*/15 * * * *'} | ${'America/New_York'}    | ${'2026-11-01T04:50:00Z'}  | ${'2026-11-01T07:00:00Z'}  | ${['05:00', '05:15', '05:30', '05:45', '06:00', '06:15', '06:30', '06:45', '07:00'].map((t) => `2026-11-01T${t}:00.000Z`)}
      ${'New York fall-back 01:30 once'}      | ${'30 1 * * *'}   | ${'America/New_York'}    | ${'2026-10-31T00:00:00Z'}  | ${'2026-11-03T00:00:00Z'}  | ${['2026-10-31T05:30:00.000Z', '2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']}
      ${'Lord Howe spring-forward 02:15'}     | ${'15 2 * * *'}   | ${'Australia/Lord_Howe'} | ${'2026-10-02T00:00:00Z'}  | ${'2026-10-05T00:00:00Z'}  | ${['2026-10-02T15:45:00.000Z', '2026-10-03T15:45:00.000Z', '2026-10-04T15:15:00.000Z']}
      ${'Lord Howe fall-back */15'}           | ${'*/15 * * * *'} | ${'Australia/Lord_Howe'} | ${'2026-04-04T13:50:00Z'}  | ${'2026-04-04T16:00:00Z'}  | ${['14:00', '14:15', '14:30', '14:45', '15:00', '15:15', '15:30', '15:45', '16:00'].map((t) => `2026-04-04T${t}:00.000Z`)}
    `('$name', ({ schedule, zone, from, to, want }: { schedule: string; zone: string; from: string; to: string; want: string[] }) => {
      const { timers, calls } = harness(from, [job(schedule, zone)]);

      timers.advanceTo(new Date(to));

      expect(calls.map((c) => c.scheduledFor)).toEqual(want);
      expect(calls.map((c) => c.calledAt)).toEqual(want);
      expect(want).toEqual(firesBetween(schedule, zone, new Date(from), new Date(to)).map((d) => d.toISOString()));
    });

    it('runs several jobs from one timer, each at its own instants', () => {
      const { timers, calls } = harness('2026-03-08T06:00:00Z', [job('30 2 * * *', 'America/New_York', 'acme/ny'), job('0 * * * *', 'UTC', 'acme/utc')]);

      timers.advanceTo(new Date('2026-03-08T09:00:00Z'));

      expect(calls.map((c) => `${c.jobId}@${c.calledAt.slice(11, 16)}`)).toEqual(['acme/utc@07:00', 'acme/ny@07:30', 'acme/utc@08:00', 'acme/utc@09:00']);
      expect(timers.armed).toBe(1);
    });
  });

  describe('timer limits', () => {
    it('nodeTimers are unref\'d: the scheduler alone never keeps the process alive', () => {
      const handle = nodeTimers.setTimeout(() => undefined, 1000) as NodeJS.Timeout;

      expect(handle.hasRef()).toBe(false);
      nodeTimers.clearTimeout(handle);
    });

    it('never asks setTimeout for more than 2^31-1 ms and still fires a yearly job on time', () => {
      const { timers, calls } = harness('2026-01-01T00:00:01Z', [job('0 0 1 1 *', 'UTC')], { maxSleepMs: Number.MAX_SAFE_INTEGER });

      timers.advanceTo(new Date('2027-01-01T00:00:00Z'));

      expect(calls.map((c) => c.calledAt)).toEqual(['2027-01-01T00:00:00.000Z']);
      expect(Math.max(...timers.requested)).toBe(MAX_TIMER_MS);
      expect(timers.requested.length).toBeGreaterThan(10);
    });

    it('sleeps at most a minute by default', () => {
      const { timers } = harness('2026-01-01T00:00:30Z', [job('0 0 * * *', 'UTC')]);

      timers.advance(HOUR);

      expect(timers.requested.every((ms) => ms <= MIN)).toBe(true);
      expect(timers.requested.length).toBeGreaterThanOrEqual(60);
    });
  });

  describe('clock jumps', () => {
    it('after a suspend over several fires, runs once for the latest missed instant, then continues on time', () => {
      const { timers, calls, log } = harness('2026-05-01T10:00:30Z', [job('*/15 * * * *', 'UTC')]);

      timers.jump(3 * HOUR);
      timers.advance(MIN);
      timers.advanceTo(new Date('2026-05-01T13:30:00Z'));

      expect(calls.map((c) => [c.scheduledFor, c.calledAt])).toEqual([
        ['2026-05-01T13:00:00.000Z', '2026-05-01T13:01:30.000Z'],
        ['2026-05-01T13:15:00.000Z', '2026-05-01T13:15:00.000Z'],
        ['2026-05-01T13:30:00.000Z', '2026-05-01T13:30:00.000Z'],
      ]);
      expect(log.records.filter((r) => r.level === 'warn').map((r) => [r.obj.missed, r.obj.more])).toEqual([[12, false]]);
    });

    it.each`
      resumed       | runs
      ${'13:10:58'} | ${['2026-05-01T13:00:00.000Z', '2026-05-01T14:00:00.000Z']}
      ${'13:10:59'} | ${['2026-05-01T14:00:00.000Z']}
      ${'13:30:00'} | ${['2026-05-01T14:00:00.000Z']}
    `('a fire found more than 10 minutes late (resumed at $resumed, seen a second later) is missed and logged, as exec --scheduled skips it', ({ resumed, runs }: { resumed: string; runs: string[] }) => {
      const { timers, calls, log } = harness('2026-05-01T10:00:30Z', [job('0 * * * *', 'UTC')], { maxSleepMs: 1000 });

      timers.jump(new Date(`2026-05-01T${resumed}Z`).getTime() - new Date('2026-05-01T10:00:30Z').getTime());
      timers.advanceTo(new Date('2026-05-01T14:30:00Z'));

      expect(calls.map((c) => c.scheduledFor)).toEqual(runs);
      expect(calls[0]!.calledAt).toBe(runs.length === 2 ? '2026-05-01T13:10:59.000Z' : '2026-05-01T14:00:00.000Z');
      const warned = log.records.filter((r) => r.level === 'warn').map((r) => [r.obj.scheduledFor, r.obj.missed, /not run/.test(r.msg)]);
      expect(warned).toEqual(runs.length === 2 ? [['2026-05-01T13:00:00.000Z', 3, false]] : [['2026-05-01T13:00:00.000Z', 3, true]]);
    });

    it('after a very long sleep over a minutely schedule, still runs once for the latest instant', () => {
      const { timers, calls, log } = harness('2026-05-01T10:00:30Z', [job('* * * * *', 'UTC')]);

      timers.jump(30 * DAY);
      timers.advance(MIN);

      expect(calls.map((c) => c.scheduledFor)).toEqual(['2026-05-31T10:01:00.000Z']);
      expect(log.records.find((r) => r.level === 'warn')?.obj).toMatchObject({ more: true, scheduledFor: '2026-05-31T10:01:00.000Z' });
    });

    it('when the clock goes back, no instant fires twice', () => {
      const { timers, calls } = harness('2026-05-01T09:00:30Z', [job('*/15 * * * *', 'UTC')]);
      timers.advanceTo(new Date('2026-05-01T10:00:00Z'));

      timers.jump(-30 * MIN);
      timers.advance(45 * MIN);

      expect(calls.map((c) => c.scheduledFor.slice(11, 16))).toEqual(['09:15', '09:30', '09:45', '10:00', '10:15']);
      expect(calls[4]!.calledAt).toBe('2026-05-01T10:15:00.000Z');
    });

    it('when the clock goes back, instants it never ran fire when the clock reaches them', () => {
      // Started at 09:59: 09:45 never ran in this loop (a run before it claimed its minute
      // marker, which the run itself checks: see test/e2e/shim-exec.test.ts).
      const { timers, calls } = harness('2026-05-01T09:59:00Z', [job('*/15 * * * *', 'UTC')]);
      timers.advanceTo(new Date('2026-05-01T10:00:00Z'));

      timers.jump(-30 * MIN);
      timers.advance(45 * MIN);

      expect(calls.map((c) => [c.scheduledFor.slice(11, 16), c.calledAt.slice(11, 19)])).toEqual([['10:00', '10:00:00'], ['09:45', '09:45:00'], ['10:15', '10:15:00']]);
    });

    it('a wrong forward step corrected back: the day in between runs as scheduled, and upcoming() shows the real next fire', () => {
      const { timers, calls, loop, log } = harness('2026-05-01T10:05:00Z', [job('0 * * * *', 'UTC')], { maxSleepMs: 1000 });

      timers.jump(DAY - 5 * MIN); // 10:00 the next day: that (wrong) clock's 10:00 runs
      timers.advance(MIN);
      timers.jump(-DAY); // back to 10:01 today
      timers.advance(1000);

      expect(loop.upcoming().map((u) => u.next?.toISOString())).toEqual(['2026-05-01T11:00:00.000Z']);
      timers.advanceTo(new Date('2026-05-01T12:30:00Z'));
      expect(calls.map((c) => [c.scheduledFor, c.calledAt])).toEqual([
        ['2026-05-02T10:00:00.000Z', '2026-05-02T10:00:01.000Z'],
        ['2026-05-01T11:00:00.000Z', '2026-05-01T11:00:00.000Z'],
        ['2026-05-01T12:00:00.000Z', '2026-05-01T12:00:00.000Z'],
      ]);
      expect(log.records.some((r) => r.level === 'info' && /clock went back/.test(r.msg))).toBe(true);
    });

    it('a fire run by a clock set more than a day ahead runs again when its time really comes', () => {
      const { timers, calls } = harness('2026-05-01T00:00:30Z', [job('0 0 1 * *', 'UTC')]);
      timers.jump(new Date('2026-05-31T23:58:00Z').getTime() - new Date('2026-05-01T00:00:30Z').getTime());
      timers.advance(5 * MIN); // June 1st 00:00 of the wrong clock runs
      timers.jump(-(new Date('2026-06-01T00:03:00Z').getTime() - new Date('2026-05-01T00:03:00Z').getTime()));

      timers.advanceTo(new Date('2026-06-01T00:01:00Z'));

      // Both called on the clock's June 1st: the first a month early in real time, the second on time.
      expect(calls.map((c) => [c.scheduledFor.slice(0, 16), c.calledAt.slice(0, 10)])).toEqual([['2026-06-01T00:00', '2026-06-01'], ['2026-06-01T00:00', '2026-06-01']]);
    });

    it('a wrong backward step of days, corrected minutes later, does not run again a fire that ran just before it', () => {
      const { timers, calls } = harness('2026-05-01T09:59:30Z', [job('0 * * * *', 'UTC')], { maxSleepMs: 1000 });
      timers.advanceTo(new Date('2026-05-01T10:03:00Z'));
      timers.jump(-3 * DAY);
      timers.advance(2 * MIN);
      timers.jump(3 * DAY); // 10:05: 10:00 is within the late window again

      timers.advanceTo(new Date('2026-05-01T11:30:00Z'));

      expect(calls.map((c) => c.scheduledFor.slice(0, 16))).toEqual(['2026-05-01T10:00', '2026-05-01T11:00']);
    });

    it('after the correction, the instant the wrong clock ran does not run again when really reached', () => {
      const { timers, calls } = harness('2026-05-01T09:58:00Z', [job('0 * * * *', 'UTC')], { maxSleepMs: 1000 });
      timers.jump(3 * MIN); // 10:01, three minutes ahead: 10:00 runs
      timers.advance(1000);
      timers.jump(-3 * MIN); // 09:58:01, re-armed for 10:00, which already ran
      timers.advanceTo(new Date('2026-05-01T11:30:00Z'));

      expect(calls.map((c) => [c.scheduledFor.slice(11, 16), c.calledAt.slice(11, 19)])).toEqual([['10:00', '10:01:01'], ['11:00', '11:00:00']]);
    });

    it('a schedule re-armed after the clock went back never refires an instant already run', () => {
      const { timers, calls, loop } = harness('2026-05-01T09:59:00Z', [job('*/15 * * * *', 'UTC')]);
      timers.advanceTo(new Date('2026-05-01T10:00:00Z'));
      timers.jump(-30 * MIN);

      loop.set([job('*/30 * * * *', 'UTC')]);
      timers.advance(60 * MIN);

      expect(calls.map((c) => c.scheduledFor)).toEqual(['2026-05-01T10:00:00.000Z', '2026-05-01T10:30:00.000Z']);
    });

    it('a timer that wakes early (wall clock behind) re-arms and fires at the instant', () => {
      const { timers, calls } = harness('2026-05-01T09:59:00Z', [job('0 10 * * *', 'UTC')]);

      timers.jump(-5_000);
      timers.advance(MIN);
      expect(calls).toEqual([]);
      timers.advance(5_000);

      expect(calls.map((c) => c.calledAt)).toEqual(['2026-05-01T10:00:00.000Z']);
    });
  });

  describe('robustness', () => {
    it('a throwing or rejecting runJob does not stop later fires', async () => {
      let n = 0;
      const { timers, calls, log } = harness('2026-05-01T10:00:30Z', [job('* * * * *', 'UTC')], {
        result: () => {
          n++;
          if (n === 1) throw new Error('sync boom');
          if (n === 2) return Promise.reject(new Error('async boom'));
          return Promise.resolve(1);
        },
      });

      timers.advance(3 * MIN);
      await new Promise((r) => setImmediate(r));

      expect(calls.map((c) => c.calledAt)).toEqual(['2026-05-01T10:01:00.000Z', '2026-05-01T10:02:00.000Z', '2026-05-01T10:03:00.000Z']);
      expect(log.records.filter((r) => r.level === 'error').map((r) => (r.obj.err as Error).message)).toEqual(['sync boom', 'async boom']);
      expect(timers.armed).toBe(1);
    });

    it('an invalid schedule is logged and not armed; the others still run', () => {
      const { timers, calls, log } = harness('2026-05-01T10:00:30Z', [job('61 * * * *', 'UTC', 'acme/bad'), job('* * * * *', 'Mars/Olympus', 'acme/zone'), job('* * * * *', 'UTC', 'acme/ok')]);

      timers.advance(MIN);

      expect(calls.map((c) => c.jobId)).toEqual(['acme/ok']);
      expect(log.records.filter((r) => r.level === 'warn').map((r) => r.obj.jobId)).toEqual(['acme/bad', 'acme/zone']);
    });

    it('a schedule that never fires arms no timer', () => {
      const { timers, loop } = harness('2026-05-01T10:00:30Z', [job('0 0 31 2 *', 'UTC')]);

      expect(timers.armed).toBe(0);
      expect(loop.upcoming()).toEqual([{ jobId: 'acme/a', next: null }]);
    });

    it('stop() cancels the timer and prevents further fires; running() tracks runs in flight', async () => {
      let finish!: (code: number) => void;
      const { timers, calls, loop } = harness('2026-05-01T10:00:30Z', [job('* * * * *', 'UTC')], {
        result: () => new Promise<number>((r) => { finish = r; }),
      });
      timers.advance(MIN);

      loop.stop();
      timers.advance(10 * MIN);

      expect(calls).toHaveLength(1);
      expect(timers.armed).toBe(0);
      const inflight = loop.running();
      expect(inflight).toHaveLength(1);
      finish(0);
      await Promise.all(inflight);
      expect(loop.running()).toHaveLength(0);
    });
  });

  describe('set()', () => {
    it('keeps the next fire of an unchanged job, re-arms a changed one, drops a removed one', () => {
      const { timers, calls, loop } = harness('2026-05-01T10:00:30Z', [job('*/5 * * * *', 'UTC', 'acme/a'), job('*/10 * * * *', 'UTC', 'acme/b')]);
      timers.advance(5 * MIN);

      loop.set([job('*/5 * * * *', 'UTC', 'acme/a'), job('*/3 * * * *', 'UTC', 'acme/c')]);
      timers.advanceTo(new Date('2026-05-01T10:10:00Z'));

      expect(calls.map((c) => `${c.jobId}@${c.calledAt.slice(14, 16)}`)).toEqual(['acme/a@05', 'acme/c@06', 'acme/c@09', 'acme/a@10']);
      expect(loop.upcoming().map((u) => u.jobId)).toEqual(['acme/a', 'acme/c']);
    });

    it('a job changed while a fire of it is due but not yet run (a busy event loop) still runs that fire', () => {
      const { timers, calls, loop } = harness('2026-05-01T09:59:59.700Z', [job('0 * * * *', 'UTC', 'acme/x'), job('0 * * * *', 'UTC', 'acme/y')], { maxSleepMs: 1000 });
      timers.jump(500); // 10:00:00.2 and the timer has not run: the event loop was busy (this sync)

      loop.set([job('0 * * * *', 'UTC', 'acme/x'), job('0,30 * * * *', 'UTC', 'acme/y')]);
      timers.advanceTo(new Date('2026-05-01T10:45:00Z'));

      expect(calls.map((c) => `${c.jobId}@${c.scheduledFor.slice(11, 16)}`)).toEqual(['acme/x@10:00', 'acme/y@10:00', 'acme/y@10:30']);
    });

    it('a job added (or unpaused) after a quiet spell never runs a fire from before it was added', () => {
      const { timers, calls, loop, log } = harness('2026-05-01T09:50:00Z', [job('0 * * * *', 'UTC')], { maxSleepMs: 1000 });
      loop.set([]); // paused: nothing armed, so no wake moves the loop's last look
      timers.advanceTo(new Date('2026-05-01T10:05:00Z'));

      loop.set([job('0 * * * *', 'UTC')]);
      timers.advanceTo(new Date('2026-05-01T11:30:00Z'));

      expect(calls.map((c) => [c.scheduledFor.slice(11, 16), c.calledAt.slice(11, 19)])).toEqual([['11:00', '11:00:00']]);
      expect(log.records.filter((r) => r.level === 'warn')).toEqual([]);
    });

    it('before start(), set() arms nothing', () => {
      const timers = new ManualTimers(new Date('2026-05-01T10:00:30Z'));
      const { calls, runJob } = recordingRunJob(timers);
      const loop = new FireLoop({ clock: timers.clock, timers, log: recordingLogger(), runJob });

      loop.set([job('* * * * *', 'UTC')]);
      timers.advance(5 * MIN);

      expect(calls).toEqual([]);
      expect(timers.armed).toBe(0);
    });
  });
});
