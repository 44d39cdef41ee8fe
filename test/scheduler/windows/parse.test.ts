import { describe, expect, it } from 'vitest';
import { decodeXmlBytes } from '../../../src/scheduler/windows/dom.js';
import { parseQueryXml, parseTaskElement, parseTaskXml, taskEntry } from '../../../src/scheduler/windows/parse.js';
import { encodeUtf16, renderTask } from '../../../src/scheduler/windows/render.js';
import { SOURCE, desired } from '../fixtures.js';
import { CTX, SETTINGS_EDITS, TRIGGER_CORPUS, exportLikeWindows, setOf } from './render-fixtures.js';

const render = (name: string, over = {}): string => renderTask(desired(name, `corpus:${name}`, over), CTX, setOf(TRIGGER_CORPUS[name]!));

/** Reformats task XML the way a re-serialising exporter might: other indentation, LF, no final newline. */
const reformat = (xml: string): string => xml.replace(/\r\n\s*/g, '\n\t').trimEnd();

describe('scheduler/windows/parse', () => {
  it.each(Object.keys(TRIGGER_CORPUS))('round-trips %s: raw equals the rendering, marker decoded, no drift', (name) => {
    const xml = render(name);

    const e = taskEntry('\\cronsync\\acme\\x', parseTaskXml(reformat(xml)), SOURCE);

    expect(e.raw).toBe(xml);
    expect(e.drifted).toBe(false);
    expect(e.paused).toBe(false);
    expect(e.marker).toMatchObject({ sourceId: SOURCE, jobId: `acme/${name}`, path: `jobs/${name}.yaml` });
  });

  it('reads UTF-16LE with BOM, UTF-16BE, UTF-8 with and without BOM', () => {
    const xml = render('daily');
    const be = Buffer.from(encodeUtf16(xml)).swap16();

    expect(decodeXmlBytes(encodeUtf16(xml))).toBe(xml);
    expect(decodeXmlBytes(be)).toBe(xml);
    expect(decodeXmlBytes(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(xml)]))).toBe(xml);
    expect(decodeXmlBytes(Buffer.from(xml))).toBe(xml);
  });

  it('a trigger edited in the Task Scheduler UI is drift', () => {
    const edited = render('daily').replace('2024-01-01T02:30:00', '2024-01-01T03:30:00');

    const e = taskEntry('\\cronsync\\acme\\daily', parseTaskXml(edited), SOURCE);

    expect(e.drifted).toBe(true);
    expect(e.marker?.jobId).toBe('acme/daily');
  });

  it.each([
    ['an end boundary', (x: string) => x.replace('<Enabled>true</Enabled>', '<EndBoundary>2030-01-01T00:00:00</EndBoundary>\r\n<Enabled>true</Enabled>')],
    ['a disabled trigger', (x: string) => x.replace('<Enabled>true</Enabled>\r\n      <ScheduleByDay>', '<Enabled>false</Enabled><ScheduleByDay>')],
    ['an offset on the start boundary', (x: string) => x.replace('2024-01-01T02:30:00', '2024-01-01T02:30:00-05:00')],
    ['another start date', (x: string) => x.replace('2024-01-01T02:30:00', '2025-06-01T02:30:00')],
    ['a second action', (x: string) => x.replace('</Exec>', '</Exec><Exec><Command>calc.exe</Command></Exec>')],
    ['the task disabled', (x: string) => x.replace('<Enabled>true</Enabled>\r\n    <ExecutionTimeLimit>', '<Enabled>false</Enabled><ExecutionTimeLimit>')],
    ['a changed argument', (x: string) => x.replace('acme/daily</Arguments>', 'acme/other</Arguments>')],
  ])('%s is drift', (_, edit) => {
    const xml = render('daily');
    const edited = edit(xml);

    expect(edited).not.toBe(xml);
    expect(taskEntry('\\cronsync\\acme\\daily', parseTaskXml(edited), SOURCE).drifted).toBe(true);
  });

  it('paused: Settings/Enabled false, not drift when rendered so', () => {
    const e = taskEntry('\\cronsync\\acme\\daily', parseTaskXml(render('daily', { paused: true })), SOURCE);

    expect(e).toMatchObject({ paused: true, drifted: false });
  });

  it('drift is reported only for this source; foreign tasks have no marker and are never drift', () => {
    const other = taskEntry('\\cronsync\\acme\\daily', parseTaskXml(render('daily').replace('2024-01-01T02:30:00', '2024-01-01T04:00:00')), 'another-source');
    const foreign = taskEntry('\\cronsync\\mine', parseTaskXml('<?xml version="1.0" encoding="UTF-16"?><Task version="1.4" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task"><Triggers><LogonTrigger><Enabled>true</Enabled></LogonTrigger></Triggers><Actions Context="Author"><Exec><Command>notepad.exe</Command></Exec></Actions></Task>'), SOURCE);

    expect(other.drifted).toBe(false);
    expect(foreign).toMatchObject({ key: 'windows:\\cronsync\\mine', marker: null, drifted: false, paused: false });
  });

  it('a garbled marker is not a marker', () => {
    const xml = render('daily').replace('"job":"acme/daily"', '"job":"ACME daily"');

    expect(taskEntry('\\cronsync\\acme\\daily', parseTaskXml(xml), SOURCE).marker).toBeNull();
  });

  it('reads the /Query /XML ONE document: the comment before each task names its path', () => {
    const doc = `<?xml version="1.0" encoding="UTF-16"?>\r\n<Tasks>\r\n  <!-- \\Other\\t1 -->\r\n${render('daily').replace(/^<\?xml[^>]*\?>\r\n/, '')}\r\n  <!-- \\cronsync\\acme\\weekdays -->\r\n${render('weekdays').replace(/^<\?xml[^>]*\?>\r\n/, '')}</Tasks>\r\n`;

    const tasks = parseQueryXml(doc);

    expect(tasks.map((t) => t.path)).toEqual(['\\Other\\t1', '\\cronsync\\acme\\weekdays']);
    expect(parseTaskElement(tasks[1]!.task).model.uri).toBe('\\cronsync\\acme\\weekdays');
  });

  it('throws on XML that is not well-formed (the adapter turns it into a SchedulerError)', () => {
    expect(() => parseQueryXml('<Tasks><Task>')).toThrow();
  });
});

describe('scheduler/windows/parse: non-ASCII provenance', () => {
  it('marker and description are ASCII; the marker still decodes to the exact path', () => {
    const d = { ...desired('daily', 'corpus:daily'), provenance: { ...desired('daily', 'corpus:daily').provenance, path: 'jobs/été/日本.yaml' } };
    const xml = renderTask(d, CTX, setOf(TRIGGER_CORPUS.daily!));

    const e = taskEntry('\\cronsync\\acme\\daily', parseTaskXml(xml), SOURCE);

    expect(xml).toMatch(/^[\t\n\r -~]*$/);
    expect(e.marker?.path).toBe('jobs/été/日本.yaml');
    expect(e).toMatchObject({ drifted: false, raw: xml });
  });
});

describe('scheduler/windows/parse: Settings', () => {
  it.each(Object.keys(TRIGGER_CORPUS))('%s as Windows exports it (every default Settings child present) is not drift', (name) => {
    const xml = render(name, { timeout: '1h' });

    const full = taskEntry('\\cronsync\\acme\\x', parseTaskXml(exportLikeWindows(xml)), SOURCE);
    const compact = taskEntry('\\cronsync\\acme\\x', parseTaskXml(reformat(exportLikeWindows(xml, true))), SOURCE);

    expect(full).toMatchObject({ drifted: false, raw: xml });
    expect(compact).toMatchObject({ drifted: false, raw: xml });
  });

  it('a paused task as Windows exports it is paused, not drift', () => {
    const xml = render('every-fifteen', { paused: true });

    expect(taskEntry('\\cronsync\\acme\\x', parseTaskXml(exportLikeWindows(xml)), SOURCE)).toMatchObject({ paused: true, drifted: false, raw: xml });
  });

  it('xs:boolean 1/0 and Priority +7 are the default values', () => {
    const xml = exportLikeWindows(render('every-fifteen'))
      .replace('<AllowHardTerminate>true<', '<AllowHardTerminate>1<')
      .replace('<RunOnlyIfIdle>false<', '<RunOnlyIfIdle>0<')
      .replace('<Priority>7<', '<Priority>+7<');

    expect(taskEntry('\\cronsync\\acme\\x', parseTaskXml(xml), SOURCE).drifted).toBe(false);
  });

  describe.each([
    ['as rendered', (x: string) => x],
    ['as Windows exports it', (x: string) => exportLikeWindows(x)],
  ])('a */15 task %s', (_, form) => {
    it.each(SETTINGS_EDITS)('with %s is drift', (_edit, edit) => {
      const xml = form(render('every-fifteen'));
      const edited = edit(xml);

      const e = taskEntry('\\cronsync\\acme\\every-fifteen', parseTaskXml(edited), SOURCE);

      expect(edited).not.toBe(xml);
      expect(e.drifted).toBe(true);
      expect(e.marker?.jobId).toBe('acme/every-fifteen');
    });
  });
});
