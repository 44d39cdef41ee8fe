import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../../src/scheduler/windows/duration.js';
import { joinArgs, quoteArg, splitArgs } from '../../../src/scheduler/windows/quote.js';
import { encodeUtf16, renderTask, renderTaskFiles, taskModel } from '../../../src/scheduler/windows/render.js';
import { SchedulerError } from '../../../src/errors.js';
import { desired } from '../fixtures.js';
import { CTX, TRIGGER_CORPUS, setOf, stubTriggersOf } from './render-fixtures.js';

describe('scheduler/windows/quote', () => {
  it.each([
    ['plain', 'plain'],
    ['', '""'],
    ['a b', '"a b"'],
    ['C:\\Program Files\\x\\', '"C:\\Program Files\\x\\\\"'],
    ['C:\\dir\\', 'C:\\dir\\'],
    ['say "hi"', '"say \\"hi\\""'],
    ['a\\"b', '"a\\\\\\"b"'],
    ['tab\there', '"tab\there"'],
    ['&<>|^%!', '&<>|^%!'],
  ])('quoteArg(%j) = %j', (arg, want) => {
    expect(quoteArg(arg)).toBe(want);
  });

  it('splitArgs (CommandLineToArgvW) gives back every argument joinArgs quoted', () => {
    const args = ['', 'a b', 'C:\\Program Files\\x\\', 'x\\\\', '"', '\\"', 'a\\\\"b c', "it's & <ok>", '\\\\server\\share\\', 'é ü'];

    expect(splitArgs(joinArgs(args))).toEqual(args);
    expect(splitArgs('a "b "" c" d')).toEqual(['a', 'b " c', 'd']);
  });
});

describe('scheduler/windows/duration', () => {
  it.each([[0, 'PT0S'], [60, 'PT1M'], [3900, 'PT1H5M'], [86400, 'P1D'], [31 * 86400, 'P31D'], [90061, 'P1DT1H1M1S']])('%i s ↔ %s', (s, text) => {
    expect(formatDuration(s)).toBe(text);
    expect(parseDuration(text)).toBe(s);
  });

  it('rejects years, months and fractions', () => {
    expect([parseDuration('P1Y'), parseDuration('P1M'), parseDuration('PT1.5S'), parseDuration('P'), parseDuration('PT'), parseDuration('x')]).toEqual([null, null, null, null, null, null]);
  });
});

describe('scheduler/windows/render', () => {
  it('writes schema 1.2 with the task namespace, URI, marker, SYSTEM and the settings of the issue', () => {
    const xml = renderTask(desired('backup', '30 2 * * *', { timeout: '15m' }), CTX, stubTriggersOf(desired('backup', '30 2 * * *')));

    expect(xml).toMatch(/^<\?xml version="1\.0" encoding="UTF-16"\?>\r\n<Task xmlns="http:\/\/schemas\.microsoft\.com\/windows\/2004\/02\/mit\/task" version="1\.2">\r\n/);
    expect(xml).toContain('<URI>\\cronsync\\acme\\backup</URI>');
    expect(xml).toMatch(/<Source># cronsync:v1 \{"source":"src-1a2b3c","job":"acme\/backup".*"entry":"[0-9a-f]{16}"\}<\/Source>/);
    expect(xml).toMatch(/<UserId>S-1-5-18<\/UserId>\r\n {6}<RunLevel>HighestAvailable<\/RunLevel>/);
    expect(xml).not.toContain('LogonType');
    expect(xml).toContain('<MultipleInstancesPolicy>Parallel</MultipleInstancesPolicy>');
    expect(xml).toContain('<DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>');
    expect(xml).toContain('<StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>');
    expect(xml).toContain('<StartWhenAvailable>false</StartWhenAvailable>');
    expect(xml).toContain('<Enabled>true</Enabled>\r\n    <ExecutionTimeLimit>PT20M</ExecutionTimeLimit>');
    expect(xml).toContain('<StartBoundary>2024-01-01T02:30:00</StartBoundary>');
    expect(xml.replace(/\r\n/g, '')).not.toContain('\n');
  });

  it('trigger children follow the XSD order: Repetition, StartBoundary, Enabled, then the schedule', () => {
    const xml = renderTask(desired('x', 'corpus:every-fifteen'), CTX, setOf(TRIGGER_CORPUS['every-fifteen']!)).replace(/\s+/g, '');

    expect(xml).toContain('<CalendarTrigger><Repetition><Interval>PT15M</Interval><Duration>P1D</Duration></Repetition><StartBoundary>2024-01-01T00:00:00</StartBoundary><Enabled>true</Enabled><ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay></CalendarTrigger>');
  });

  it('renders every schedule shape: weeks Monday-first, sorted days of month, Last weeks, dated UTC triggers', () => {
    const flat = (name: string): string => renderTask(desired('x', `corpus:${name}`), CTX, setOf(TRIGGER_CORPUS[name]!)).replace(/\s+/g, '');

    expect(flat('weekdays')).toContain('<ScheduleByWeek><WeeksInterval>1</WeeksInterval><DaysOfWeek><Monday/><Tuesday/><Wednesday/><Thursday/><Friday/></DaysOfWeek></ScheduleByWeek>');
    expect(flat('month-end')).toContain('<DaysOfMonth><Day>1</Day><Day>30</Day><Day>31</Day></DaysOfMonth><Months><January/><March/><May/><July/><August/><October/><December/></Months>');
    expect(flat('last-friday')).toContain('<ScheduleByMonthDayOfWeek><Weeks><Week>1</Week><Week>Last</Week></Weeks><DaysOfWeek><Friday/></DaysOfWeek><Months><February/><November/></Months></ScheduleByMonthDayOfWeek>');
    expect(flat('dated')).toContain('<TimeTrigger><StartBoundary>2026-11-01T05:30:00Z</StartBoundary><Enabled>true</Enabled></TimeTrigger>');
    // Duration is never shorter than the interval.
    expect(flat('dated')).toContain('<TimeTrigger><Repetition><Interval>PT15M</Interval><Duration>PT15M</Duration></Repetition><StartBoundary>2027-03-14T07:00:00Z</StartBoundary>');
  });

  it('calendar StartBoundaries never carry an offset', () => {
    const xml = renderTask(desired('x', 'corpus:max'), CTX, setOf(TRIGGER_CORPUS.max!));

    const bounds = [...xml.matchAll(/<StartBoundary>([^<]*)<\/StartBoundary>/g)].map((m) => m[1]!);
    expect(bounds).toHaveLength(48);
    expect(bounds.every((b) => /^2024-01-01T\d\d:\d\d:00$/.test(b))).toBe(true);
  });

  it('escapes command paths and state dirs with & < > " \' and spaces, and quotes them for CommandLineToArgvW', () => {
    const ctx = { ...CTX, execCommand: { file: 'C:\\A & B <x>\\node.exe', args: ['C:\\it\'s "q"\\main.js'] }, stateDir: 'C:\\state & <dir>\\' };

    const xml = renderTask(desired('backup', '0 2 * * *'), ctx, stubTriggersOf(desired('backup', '0 2 * * *')));
    const model = taskModel(desired('backup', '0 2 * * *'), ctx, setOf([]));

    expect(xml).toContain('<Command>C:\\A &#38; B &lt;x&gt;\\node.exe</Command>');
    expect(xml).toContain('<Arguments>"C:\\it\'s \\"q\\"\\main.js" exec --scheduled --state-dir "C:\\state &#38; &lt;dir&gt;\\\\" acme/backup</Arguments>');
    expect(splitArgs(model.action.arguments)).toEqual(['C:\\it\'s "q"\\main.js', 'exec', '--scheduled', '--state-dir', 'C:\\state & <dir>\\', 'acme/backup']);
  });

  it('paused → Settings/Enabled false; no timeout → PT0S; a user → S4U, least privilege', () => {
    const xml = renderTask(desired('held', '0 2 * * *', { paused: true }), { ...CTX, user: 'CORP\\svc-jobs' }, setOf([]));

    expect(xml).toContain('<Enabled>false</Enabled>\r\n    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>');
    expect(xml.replace(/\s+/g, '')).toContain('<UserId>CORP\\svc-jobs</UserId><LogonType>S4U</LogonType><RunLevel>LeastPrivilege</RunLevel>');
  });

  it('refuses a program path longer than Task Scheduler allows (per-job SchedulerError)', () => {
    const ctx = { ...CTX, execCommand: { file: `C:\\${'x'.repeat(260)}\\node.exe`, args: [] } };

    expect(() => taskModel(desired('a', '0 2 * * *'), ctx, setOf([]))).toThrow(SchedulerError);
  });

  it.each([
    ['scheduler.user', { user: 'CORP\\bob ' }, 'must not start or end with white space'],
    ['scheduler.user', { user: 'CORP\\b\u0001ob' }, 'must not contain U+0001'],
    ['stateDir', { stateDir: 'C:\\state\uFFFE' }, 'must not contain U+FFFE'],
    ['stateDir', { stateDir: 'C:\\state\uD800' }, 'must not contain a lone surrogate (U+D800)'],
    ['stateDir', { stateDir: ' C:\\state' }, 'must not start or end with white space'],
    ['the program path', { execCommand: { file: 'C:\\node\u001b.exe', args: [] } }, 'must not contain U+001B'],
    ['the program path', { execCommand: { file: 'C:\\node.exe\t', args: [] } }, 'must not start or end with white space'],
    ['program argument 1', { execCommand: { file: 'C:\\node.exe', args: ['C:\\x\uDC00.js'] } }, 'must not contain a lone surrogate (U+DC00)'],
    ['scheduler.taskFolder', { taskFolder: '\\Tâches' }, 'must be printable ASCII (it contains U+00E2)'],
    ['scheduler.taskFolder', { taskFolder: '\\cron|sync' }, 'must not contain |'],
    ['scheduler.taskFolder', { taskFolder: '\\cron\u0007' }, 'must not contain U+0007'],
  ])('refuses %s %j (per-job SchedulerError naming the setting)', (field, over, message) => {
    const d = desired('a', '0 2 * * *');

    const err = (() => {
      try {
        return taskModel(d, { ...CTX, ...over }, setOf([]));
      } catch (e) {
        return e;
      }
    })();

    expect(err).toBeInstanceOf(SchedulerError);
    expect((err as SchedulerError).message).toContain(`the task of acme/a cannot be written: ${field} ${message}`);
    expect((err as SchedulerError).data).toMatchObject({ jobId: 'acme/a', field });
  });

  it('accepts non-ASCII text in the user, state dir and program path, and a space inside them', () => {
    const ctx = { ...CTX, user: 'CORP\\Jürgen Müller', stateDir: 'C:\\Données partagées\\cronsync', execCommand: { file: 'C:\\Program Files\\nodé\\node.exe', args: ['C:\\日本\\launch.cjs'] } };

    const m = taskModel(desired('a', '0 2 * * *'), ctx, setOf([]));

    expect([m.principal.userId, m.action.command]).toEqual(['CORP\\Jürgen Müller', 'C:\\Program Files\\nodé\\node.exe']);
    expect(splitArgs(m.action.arguments)).toEqual(['C:\\日本\\launch.cjs', 'exec', '--scheduled', '--state-dir', 'C:\\Données partagées\\cronsync', 'acme/a']);
  });

  it('encodes UTF-16LE with a BOM and CRLF line ends', () => {
    const bytes = encodeUtf16('<a>é</a>\r\n');

    expect([...bytes]).toEqual([0xff, 0xfe, 0x3c, 0, 0x61, 0, 0x3e, 0, 0xe9, 0, 0x3c, 0, 0x2f, 0, 0x61, 0, 0x3e, 0, 0x0d, 0, 0x0a, 0]);
  });

  it('render files: task path, UTF-8 text, <tenant>/<name>.xml and the UTF-16 bytes, sorted by id', () => {
    const files = renderTaskFiles([desired('b', '0 3 * * *'), desired('a', '0 2 * * *', {}, 'other')], CTX, stubTriggersOf);

    expect(files.map((f) => [f.name, f.fileName])).toEqual([['\\cronsync\\acme\\b', 'acme/b.xml'], ['\\cronsync\\other\\a', 'other/a.xml']]);
    expect(files[0]!.data.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xfe]));
    expect(files[0]!.data.subarray(2).toString('utf16le')).toBe(files[0]!.content);
  });
});
