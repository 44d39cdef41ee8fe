/**
 * Self-tests of the Task Scheduler simulator on hand-written task XML: each documented rule it
 * models, each undocumented parameter, the XML reader and the exec guard.
 */
import { describe, expect, it } from 'vitest';

import { parseCron } from '../../../src/schedule/cron.js';

import {
  INTERPRETATIONS,
  decodeTaskXml,
  executed,
  guardRuns,
  guardRunsAgainst,
  interpretationName,
  parseBoundary,
  parseDuration,
  parseTask,
  readXml,
  readXmlDom,
  taskStarts,
} from './simulator.js';
import type { Interpretation } from './simulator.js';
import { jobYearCost, simulateShard } from './simulator-corpus.js';
import type { Translate } from './simulator-corpus.js';

const DOC: Interpretation = { fallBack: 'first', repetition: 'elapsed', durationEnd: 'inclusive' };
const MIN = 60_000;

function taskXml(triggers: string, enabled = true): string {
  return `<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo><URI>\\cronsync\\acme\\a&amp;b</URI><!-- a comment --></RegistrationInfo>
  <Triggers>${triggers}</Triggers>
  <Settings><Enabled>${enabled}</Enabled></Settings>
  <Actions Context="Author"><Exec><Command>node.exe</Command><Arguments>"C:\\x y\\main.js" exec</Arguments></Exec></Actions>
</Task>
`;
}

const daily = (time: string, extra = ''): string =>
  `<CalendarTrigger>${extra}<StartBoundary>2024-01-01T${time}</StartBoundary><Enabled>true</Enabled><ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay></CalendarTrigger>`;
const rep = (interval: string, duration: string): string => `<Repetition><Interval>${interval}</Interval><Duration>${duration}</Duration></Repetition>`;

function starts(xml: string, host: string, from: string, to: string, interp: Interpretation = DOC): string[] {
  return taskStarts(parseTask(xml), host, Date.parse(from), Date.parse(to), interp).map((t) => new Date(t).toISOString().slice(0, 16));
}

describe('scheduler/windows simulator: documented rules', () => {
  it('reads a StartBoundary without an offset as host-local wall time, following the host DST', () => {
    const xml = taskXml(daily('02:30:00'));

    const berlinWinter = starts(xml, 'Europe/Berlin', '2026-01-10T00:00Z', '2026-01-11T00:00Z');
    const berlinSummer = starts(xml, 'Europe/Berlin', '2026-07-10T00:00Z', '2026-07-11T00:00Z');
    const utc = starts(xml, 'UTC', '2026-07-10T00:00Z', '2026-07-11T00:00Z');

    expect(berlinWinter).toEqual(['2026-01-10T01:30']);
    expect(berlinSummer).toEqual(['2026-07-10T00:30']);
    expect(utc).toEqual(['2026-07-10T02:30']);
  });

  it('reads a StartBoundary with Z or an offset as an absolute instant on any host', () => {
    const timeZ = taskXml('<TimeTrigger><StartBoundary>2026-11-01T06:30:00Z</StartBoundary><Enabled>true</Enabled></TimeTrigger>');
    const timeOffset = taskXml('<TimeTrigger><StartBoundary>2026-11-01T12:00:00+05:30</StartBoundary></TimeTrigger>');
    const calendarZ = taskXml(daily('02:30:00Z'));

    for (const host of ['UTC', 'America/New_York', 'Europe/Berlin', 'Australia/Lord_Howe']) {
      expect(starts(timeZ, host, '2026-10-31T00:00Z', '2026-11-03T00:00Z')).toEqual(['2026-11-01T06:30']);
      expect(starts(timeOffset, host, '2026-10-31T00:00Z', '2026-11-03T00:00Z')).toEqual(['2026-11-01T06:30']);
    }
    // A recurring trigger with an offset stays on that offset across the host's DST change.
    expect(starts(calendarZ, 'Europe/Berlin', '2026-03-28T00:00Z', '2026-03-31T00:00Z')).toEqual(['2026-03-28T02:30', '2026-03-29T02:30', '2026-03-30T02:30']);
  });

  it('runs a start time inside a spring-forward gap at the first existing minute, under every interpretation', () => {
    const ny = taskXml(daily('02:30:00'));
    const lordHowe = taskXml(daily('02:15:00'));

    for (const i of INTERPRETATIONS) {
      // New York 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00Z).
      expect(starts(ny, 'America/New_York', '2026-03-08T00:00Z', '2026-03-09T00:00Z', i)).toEqual(['2026-03-08T07:00']);
      // Lord Howe 2026-10-04: 02:00 (+10:30) jumps to 02:30 (+11), i.e. 15:30Z the day before.
      expect(starts(lordHowe, 'Australia/Lord_Howe', '2026-10-03T00:00Z', '2026-10-04T00:00Z', i)).toEqual(['2026-10-03T15:30']);
    }
  });

  it('repeats every Interval for Duration elapsed after the start, ending per durationEnd', () => {
    const xml = taskXml(`<TimeTrigger>${rep('PT1M', 'PT4M')}<StartBoundary>2026-01-05T10:00:00Z</StartBoundary></TimeTrigger>`);

    const inclusive = starts(xml, 'America/New_York', '2026-01-05T00:00Z', '2026-01-06T00:00Z', { ...DOC, durationEnd: 'inclusive' });
    const exclusive = starts(xml, 'America/New_York', '2026-01-05T00:00Z', '2026-01-06T00:00Z', { ...DOC, durationEnd: 'exclusive' });

    // IRepetitionPattern: PT1M for PT4M starts five times (Vista and later); four on XP/2003.
    expect(inclusive).toEqual(['2026-01-05T10:00', '2026-01-05T10:01', '2026-01-05T10:02', '2026-01-05T10:03', '2026-01-05T10:04']);
    expect(exclusive).toEqual(inclusive.slice(0, 4));
  });

  it('counts Duration in elapsed time across a fall-back (one more hour of wall clock)', () => {
    const xml = taskXml(daily('00:00:00', rep('PT1H', 'PT23H')));
    const window = ['2026-11-01T04:00Z', '2026-11-02T04:00Z'] as const;

    const elapsed = starts(xml, 'America/New_York', ...window, DOC);
    const elapsedExclusive = starts(xml, 'America/New_York', ...window, { ...DOC, durationEnd: 'exclusive' });
    const wallFirst = starts(xml, 'America/New_York', ...window, { ...DOC, repetition: 'wall' });
    const wallSecond = starts(xml, 'America/New_York', ...window, { ...DOC, repetition: 'wall', fallBack: 'second' });
    const wallBoth = starts(xml, 'America/New_York', ...window, { ...DOC, repetition: 'wall', fallBack: 'both' });

    // 04:00Z (00:00 EDT) + 0..23 h: 01:00 shows twice, the last start is 22:00 EST.
    const hourly = Array.from({ length: 24 }, (_, k) => new Date(Date.parse(window[0]) + k * 3_600_000).toISOString().slice(0, 16));
    expect(elapsed).toEqual(hourly);
    expect(elapsedExclusive).toEqual(hourly.slice(0, 23));
    // Wall steps 00:00..23:00: 01:00 in one pass (05:00Z first, 06:00Z second); 23:00 EST is 24 h after the start.
    expect(wallFirst).toEqual(hourly.filter((t) => t !== '2026-11-01T06:00'));
    expect(wallSecond).toEqual(hourly.filter((t) => t !== '2026-11-01T05:00'));
    expect(wallBoth).toEqual(hourly);
  });

  it('moves a wall-clock repetition step that lands in a gap to the gap end', () => {
    const xml = taskXml(daily('01:15:00', rep('PT1H', 'PT3H')));
    const window = ['2026-03-08T05:00Z', '2026-03-09T05:00Z'] as const;

    const elapsed = starts(xml, 'America/New_York', ...window, DOC);
    const wall = starts(xml, 'America/New_York', ...window, { ...DOC, repetition: 'wall' });

    expect(elapsed).toEqual(['2026-03-08T06:15', '2026-03-08T07:15', '2026-03-08T08:15', '2026-03-08T09:15']);
    // 02:15 does not exist: 03:00 EDT (07:00Z).
    expect(wall).toEqual(['2026-03-08T06:15', '2026-03-08T07:00', '2026-03-08T07:15', '2026-03-08T08:15', '2026-03-08T09:15']);
  });

  it('starts a repeated fall-back wall time in the first pass, the second, or both', () => {
    const xml = taskXml(daily('01:30:00'));
    const window = ['2026-11-01T00:00Z', '2026-11-02T00:00Z'] as const;

    const got = (['first', 'second', 'both'] as const).map((fallBack) => starts(xml, 'America/New_York', ...window, { ...DOC, fallBack }));

    expect(got).toEqual([['2026-11-01T05:30'], ['2026-11-01T06:30'], ['2026-11-01T05:30', '2026-11-01T06:30']]);
  });

  it('skips months without day 31, and runs Day Last on the last day', () => {
    const xml = taskXml(`<CalendarTrigger><StartBoundary>2024-01-01T10:00:00</StartBoundary><ScheduleByMonth><DaysOfMonth><Day>31</Day></DaysOfMonth>
      <Months><January/><February/><March/><April/><May/><June/><July/><August/><September/><October/><November/><December/></Months></ScheduleByMonth></CalendarTrigger>`);
    const last = taskXml(`<CalendarTrigger><StartBoundary>2024-01-01T10:00:00</StartBoundary><ScheduleByMonth><DaysOfMonth><Day>Last</Day></DaysOfMonth><Months><February/></Months></ScheduleByMonth></CalendarTrigger>`);

    const got = starts(xml, 'UTC', '2026-01-01T00:00Z', '2027-01-01T00:00Z');
    const febs = starts(last, 'UTC', '2026-01-01T00:00Z', '2029-01-01T00:00Z');

    expect(got.map((t) => t.slice(5, 10))).toEqual(['01-31', '03-31', '05-31', '07-31', '08-31', '10-31', '12-31']);
    expect(febs).toEqual(['2026-02-28T10:00', '2027-02-28T10:00', '2028-02-29T10:00']);
  });

  it('reads Week N as days 7N-6..7N and Last as the final seven days of the month', () => {
    const xml = taskXml(`<CalendarTrigger><StartBoundary>2024-01-01T09:00:00</StartBoundary><ScheduleByMonthDayOfWeek>
      <Weeks><Week>1</Week><Week>4</Week><Week>Last</Week></Weeks><DaysOfWeek><Monday/></DaysOfWeek><Months><February/><March/></Months>
      </ScheduleByMonthDayOfWeek></CalendarTrigger>`);

    const got = starts(xml, 'UTC', '2026-01-01T00:00Z', '2027-01-01T00:00Z');

    // Feb 2026 has 28 days: week 4 (22-28) is the last week. March: week 4 is 22-28, Last 25-31.
    expect(got).toEqual(['2026-02-02T09:00', '2026-02-23T09:00', '2026-03-02T09:00', '2026-03-23T09:00', '2026-03-30T09:00']);
  });

  it('maps weekday and month element names', () => {
    const weekly = taskXml(`<CalendarTrigger><StartBoundary>2024-01-01T08:00:00</StartBoundary><ScheduleByWeek><WeeksInterval>1</WeeksInterval><DaysOfWeek><Sunday/><Saturday/></DaysOfWeek></ScheduleByWeek></CalendarTrigger>`);
    const monthly = taskXml(`<CalendarTrigger><StartBoundary>2024-01-01T08:00:00</StartBoundary><ScheduleByMonth><DaysOfMonth><Day>15</Day></DaysOfMonth><Months><June/><December/></Months></ScheduleByMonth></CalendarTrigger>`);

    expect(starts(weekly, 'UTC', '2026-01-01T00:00Z', '2026-01-08T00:00Z')).toEqual(['2026-01-03T08:00', '2026-01-04T08:00']);
    expect(starts(monthly, 'UTC', '2026-01-01T00:00Z', '2027-01-01T00:00Z')).toEqual(['2026-06-15T08:00', '2026-12-15T08:00']);
  });

  it('starts nothing for a disabled task or trigger, and nothing at or after EndBoundary', () => {
    const disabledTask = taskXml(daily('08:00:00'), false);
    const disabledTrigger = taskXml(daily('08:00:00').replace('<Enabled>true</Enabled>', '<Enabled>false</Enabled>'));
    const ending = taskXml(daily('08:00:00').replace('</StartBoundary>', '</StartBoundary><EndBoundary>2026-01-03T08:00:00Z</EndBoundary>'));

    expect(starts(disabledTask, 'UTC', '2026-01-01T00:00Z', '2026-01-05T00:00Z')).toEqual([]);
    expect(starts(disabledTrigger, 'UTC', '2026-01-01T00:00Z', '2026-01-05T00:00Z')).toEqual([]);
    expect(starts(ending, 'UTC', '2026-01-01T00:00Z', '2026-01-05T00:00Z')).toEqual(['2026-01-01T08:00', '2026-01-02T08:00']);
  });

  it('keeps one start per trigger: two triggers at one instant start the task twice', () => {
    const xml = taskXml(daily('08:00:00') + daily('08:00:00'));

    expect(starts(xml, 'UTC', '2026-01-01T00:00Z', '2026-01-02T00:00Z')).toEqual(['2026-01-01T08:00', '2026-01-01T08:00']);
  });

  it('starts an hourly repetition through the whole fall-back window (no start lost at the window edge)', () => {
    // The chain began the day before the window: its starts inside the window must appear.
    const xml = taskXml(daily('00:00:00', rep('PT15M', 'P1D')));

    const got = starts(xml, 'UTC', '2026-01-01T12:00Z', '2026-01-01T13:00Z');

    expect(got).toEqual(['2026-01-01T12:00', '2026-01-01T12:15', '2026-01-01T12:30', '2026-01-01T12:45']);
  });
});

describe('scheduler/windows simulator: XML reading', () => {
  const fixtures = [
    taskXml(daily('02:30:00', rep('PT15M', 'PT1H'))),
    taskXml(`<TimeTrigger><StartBoundary>2026-11-01T06:30:00Z</StartBoundary></TimeTrigger>`, false),
    `<t:Task xmlns:t="http://schemas.microsoft.com/windows/2004/02/mit/task" a='1 &lt; 2'><t:x><![CDATA[<raw>]]></t:x><y>&#65;&#x42;&quot;</y></t:Task>`,
  ];

  it.each(fixtures.map((xml, i) => ({ i, xml })))('reads fixture $i as xmlbuilder2 does', ({ xml }) => {
    expect(readXml(xml)).toEqual(readXmlDom(xml));
  });

  it('decodes UTF-16LE with a BOM, as schtasks writes task files', () => {
    const xml = taskXml(daily('08:00:00'));
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml, 'utf16le')]);

    expect(decodeTaskXml(bytes)).toEqual(xml);
    expect(parseTask(bytes)).toEqual(parseTask(xml, 'xmlbuilder2'));
  });

  it('rejects malformed XML and what it does not model', () => {
    expect(() => readXml('<a><b></a>')).toThrow(/unexpected/);
    expect(() => readXml('<a>')).toThrow(/unclosed/);
    expect(() => parseTask(taskXml('<BootTrigger/>'))).toThrow(/not modelled/);
    expect(() => parseTask(taskXml(daily('08:00:00', '<RandomDelay>PT1H</RandomDelay>')))).toThrow(/RandomDelay/);
    expect(() => parseTask(taskXml(daily('08:00:00', '<Repetition><Interval>PT1M</Interval></Repetition>')))).toThrow(/indefinite/);
    expect(() => parseTask(taskXml(daily('08:00:00', rep('PT30S', 'PT1H'))))).toThrow(/PT1M/);
  });

  it('parses boundaries and durations', () => {
    expect(parseBoundary('2024-01-01T02:30:00')).toEqual({ kind: 'local', wall: Date.UTC(2024, 0, 1, 2, 30) });
    expect(parseBoundary('2026-11-01T06:30:00Z')).toEqual({ kind: 'absolute', at: Date.UTC(2026, 10, 1, 6, 30), offsetMs: 0 });
    expect(parseBoundary('2026-11-01T01:30:00-05:00')).toEqual({ kind: 'absolute', at: Date.UTC(2026, 10, 1, 6, 30), offsetMs: -5 * 3_600_000 });
    expect(parseDuration('P1DT2H3M4S')).toBe(((24 + 2) * 60 + 3) * MIN + 4000);
    expect(parseDuration('PT1M')).toBe(MIN);
    expect(() => parseDuration('P1M')).toThrow(/unsupported/);
    expect(() => parseDuration('PT')).toThrow(/unsupported/);
  });
});

describe('scheduler/windows simulator: exec guard', () => {
  it('runs each fire instant once and wastes the other starts', () => {
    const at = (s: string): number => Date.parse(s);
    const s = [at('2026-01-01T08:00Z'), at('2026-01-01T08:00:30Z'), at('2026-01-01T08:00Z'), at('2026-01-01T09:00Z'), at('2026-01-01T08:30Z')];

    const runs = executed(s, '0 * * * *', 'UTC');

    expect(runs).toEqual([at('2026-01-01T08:00Z'), at('2026-01-01T09:00Z')]);
    expect(s.length - runs.length).toBe(3);
  });

  it('judges minutes in the job zone (§2a), not the host zone', () => {
    // 02:30 Europe/London is 02:30Z in January and 01:30Z in July.
    const jan = Date.parse('2026-01-10T02:30Z');
    const jul = Date.parse('2026-07-10T01:30Z');

    expect(executed([jan, jul, jul + 3_600_000], '30 2 * * *', 'Europe/London')).toEqual([jan, jul]);
    expect(guardRuns([jul, jan], () => true)).toEqual([jan, jul]);
  });

  it('gives the same runs against a list of fires as with a predicate', () => {
    const fires = [0, 2, 5, 9].map((m) => m * MIN);
    const starts = [0, 0, 1, 2, 2.5, 3, 9, 9, 10].map((m) => m * MIN);

    const got = guardRunsAgainst(starts, fires);

    expect(got).toEqual(guardRuns(starts, (m) => fires.includes(m)));
    expect(got).toEqual([0, 2 * MIN, 9 * MIN]);
  });
});

describe('scheduler/windows simulator: corpus harness', () => {
  it('catches a translation that misses the second pass of a fall-back when repetition follows the wall clock', () => {
    // Every minute of every host day (elapsed Duration 25 h covers a 25-hour day): a superset
    // on every reading but one where wall-clock steps show a repeated hour in one pass only.
    const everyMinute: Translate = (_spec, _jobZone, hostZone) => ({
      hostZone,
      fidelity: 'superset',
      triggers: [{ type: 'calendar', minuteOfDay: 0, days: { by: 'day' }, repetition: { intervalMinutes: 1, durationSeconds: 25 * 3600 } }],
    });

    const spec = parseCron('*/20 * * * *');
    if (!spec.ok) throw new Error('bad expression');
    const only = [{ index: 25, schedule: spec.value.source, spec: spec.value, jobZones: ['Europe/London'], fixedCentres: [Date.UTC(2026, 5, 1)] }];

    const s = simulateShard(everyMinute, 0, 1, only);
    const failing = new Set(s.mismatches.map((m) => m.replace(/.* under ([^:]*):.*/, '$1')));

    expect(s.jobs).toBe(3);
    expect(s.mismatches.length).toBeGreaterThan(0);
    expect([...failing].sort()).toEqual(['first/wall/exclusive', 'first/wall/inclusive', 'second/wall/exclusive', 'second/wall/inclusive']);
    expect(s.mismatches.every((m) => /host (America\/New_York|Europe\/Berlin)/.test(m))).toBe(true);
    expect(s.classChecks).toBeGreaterThan(0);
  }, 60_000);
});

describe('scheduler/windows simulator: cost per job-year', () => {
  it('counts the starts the guard throws away, repeats of a fire that ran included', () => {
    // `0 8 13 * 5`: the 13th OR Friday, one trigger each; Friday the 13th (February, March and
    // November 2026) starts the task twice.
    const xml = `<Task xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task"><Triggers>
      <CalendarTrigger><StartBoundary>2024-01-01T08:00:00</StartBoundary><ScheduleByMonth><DaysOfMonth><Day>13</Day></DaysOfMonth></ScheduleByMonth></CalendarTrigger>
      <CalendarTrigger><StartBoundary>2024-01-01T08:00:00</StartBoundary><ScheduleByWeek><DaysOfWeek><Friday/></DaysOfWeek></ScheduleByWeek></CalendarTrigger>
      <CalendarTrigger><StartBoundary>2024-01-01T09:00:00</StartBoundary><ScheduleByMonth><DaysOfMonth><Day>1</Day></DaysOfMonth></ScheduleByMonth></CalendarTrigger>
      </Triggers></Task>`;
    const spec = parseCron('0 8 13 * 5');
    if (!spec.ok) throw new Error('bad expression');

    const cost = jobYearCost(parseTask(xml), spec.value, 'UTC', 'UTC', 2026);

    // 12 thirteenths + 52 Fridays - 3 Friday the 13ths; 12 starts on the 1st at 09:00 are not fires.
    expect(cost.fires).toBe(61);
    expect(cost.mismatches).toEqual([]);
    for (const i of INTERPRETATIONS) {
      expect(cost.starts[interpretationName(i)]).toBe(64 + 12);
      expect(cost.wasted[interpretationName(i)]).toBe(3 + 12);
      expect(cost.duplicates[interpretationName(i)]).toBe(3);
    }
  });
});
