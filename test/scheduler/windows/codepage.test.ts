/**
 * Task text read back through a console code page (src/scheduler/windows/codepage.ts): what
 * `schtasks /Query /XML` prints on a host whose console code page is not UTF-8, decoded as
 * UTF-8 by the runner (test/fakes/FakeSchtasks.ts throughCodePage).
 */
import { describe, expect, it } from 'vitest';
import { encodeMarker, entryHash, markerOf } from '../../../src/scheduler/marker.js';
import { codePageForm } from '../../../src/scheduler/windows/codepage.js';
import { taskBody } from '../../../src/scheduler/windows/model.js';
import { parseTaskXml, taskEntry } from '../../../src/scheduler/windows/parse.js';
import { renderTask, renderTaskXml, taskModel } from '../../../src/scheduler/windows/render.js';
import type { TaskContext } from '../../../src/scheduler/windows/render.js';
import { CP437_HIGH, throughCodePage } from '../../fakes/FakeSchtasks.js';
import { SOURCE, desired } from '../fixtures.js';
import { CTX, TRIGGER_CORPUS, setOf } from './render-fixtures.js';

const UNICODE: TaskContext = {
  ...CTX,
  stateDir: 'C:\\Données\\cronsync',
  user: 'CORP\\müller',
  execCommand: { file: 'C:\\Programme\\nodé\\node.exe', args: ['C:\\Programme\\cronsync\\日本 x\\launch.cjs'] },
};
const job = desired('daily', 'corpus:daily');
const PATH = '\\cronsync\\acme\\daily';
const render = (ctx: TaskContext = UNICODE): string => renderTask(job, ctx, setOf(TRIGGER_CORPUS.daily!));

describe('fakes/FakeSchtasks throughCodePage', () => {
  it('CP437 has 128 upper characters; ASCII is unchanged, code page characters read as U+FFFD, others as ?', () => {
    expect([...CP437_HIGH]).toHaveLength(128);
    expect(throughCodePage('a?b', 'cp437')).toBe('a?b');
    expect(throughCodePage('Données müller', 'cp437')).toBe('Donn\uFFFDes m\uFFFDller');
    expect(throughCodePage('日本 😀', 'cp437')).toBe('?? ?');
    // Two Latin-1 bytes in a row can be valid UTF-8: another character, not U+FFFD.
    expect(throughCodePage('Ã©', 'latin1')).toBe('é');
  });
});

describe('scheduler/windows/codepage', () => {
  it.each([
    ['C:\\state', 'C:\\state'],
    ['C:\\Données', 'C:\\Donn?es'],
    ['C:\\Donn\uFFFD\uFFFDes', 'C:\\Donn?es'],
    ['C:\\Donn??es', 'C:\\Donn?es'],
    ['C:\\日本 x', 'C:\\? x'],
    ['😀?é', '?'],
  ])('codePageForm(%j) = %j', (text, want) => {
    expect(codePageForm(text)).toBe(want);
  });

  it.each(['cp437', 'latin1'] as const)('a task with non-ASCII Command, Arguments and UserId read through %s is not drift, and raw is its rendering', (cp) => {
    const xml = render();
    const printed = throughCodePage(xml, cp);

    const e = taskEntry(PATH, parseTaskXml(printed), SOURCE);

    expect(printed).not.toContain('müller');
    expect(e).toMatchObject({ drifted: false, raw: xml });
    expect(e.marker).toMatchObject({ sourceId: SOURCE, jobId: 'acme/daily' });
  });

  it('the marker stays ASCII and lists the non-ASCII runs of each field', () => {
    const source = /<Source>([^<]*)<\/Source>/.exec(render())![1]!;

    expect(source).toMatch(/^[ -~]*$/);
    expect(JSON.parse(source.slice('# cronsync:v1 '.length))).toMatchObject({ nonAscii: { user: ['ü'], command: ['é'], arguments: ['日本', 'é'] } });
  });

  it.each([
    ['the ASCII part of Arguments', (x: string) => x.replace('cronsync acme/daily', 'cronsync2 acme/daily')],
    ['the ASCII part of UserId', (x: string) => x.replace('CORP\\müller', 'CORP\\mühler')],
    ['a non-ASCII run moved', (x: string) => x.replace('C:\\Données', 'C:\\Dnnées')],
    ['a non-ASCII run added', (x: string) => x.replace('C:\\Données', 'C:\\Dönnées')],
  ])('%s changed is drift, read through cp437', (_, edit) => {
    const edited = edit(render());

    expect(edited).not.toBe(render());
    expect(taskEntry(PATH, parseTaskXml(throughCodePage(edited, 'cp437')), SOURCE).drifted).toBe(true);
  });

  it('an ASCII-only task has the marker earlier versions wrote (no rewrite on upgrade)', () => {
    const model = taskModel(job, CTX, setOf(TRIGGER_CORPUS.daily!));

    expect(model.source).toBe(encodeMarker(markerOf(job, SOURCE), taskBody(model)));
  });

  it('a non-ASCII task written by an earlier version (plain body hash, no runs), read back unmangled, is not drift', () => {
    const model = taskModel(job, UNICODE, setOf(TRIGGER_CORPUS.daily!));
    const old = encodeMarker(markerOf(job, SOURCE), taskBody(model)).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    const xml = renderTaskXml({ ...model, source: old });

    const e = taskEntry(PATH, parseTaskXml(xml), SOURCE);

    expect(old).toContain(`"entry":"${entryHash(taskBody(model))}"`);
    expect(old).not.toContain('nonAscii');
    expect(e.drifted).toBe(false);
  });
});
