/**
 * `foreignInPlace` (src/scheduler/types.ts), shared by the Windows and systemd adapters' occupied():
 * what is in the way of a job at its own place. Windows passes no source id, so its tasks are in
 * the way only without a marker, as before systemd needed another source's units to count too.
 */
import { describe, expect, it } from 'vitest';
import type { InstalledEntry, Marker } from '../../../src/plan/types.js';
import { foreignInPlace } from '../../../src/scheduler/types.js';
import { createSchtasksAdapter } from '../../../src/scheduler/windows/schtasks.js';
import { fakeSchtasks, memoryTaskFs } from '../../fakes/FakeSchtasks.js';
import { SOURCE, desired, planOf, signal } from '../fixtures.js';
import { CTX, stubTriggersOf } from './render-fixtures.js';

const marker = (sourceId: string, jobId: string): Marker => ({ sourceId, jobId: jobId as Marker['jobId'], commit: null, path: 'x.yaml', index: 0, manifestHash: 'h' });
const at = (place: string, m: Marker | null): InstalledEntry => ({ key: place, marker: m, paused: false, drifted: false, raw: '' });
const place = { ofEntry: (e: InstalledEntry) => e.key, ofJob: (d: { id: string }) => d.id.replace('/', '-'), key: (p: string) => p.toLowerCase() };
const why = (p: string, e: InstalledEntry): string => `${p} held by ${e.marker ? `${e.marker.sourceId} ${e.marker.jobId}` : 'no marker'}`;
const job = desired('b-c', '0 1 * * *', {}, 'a');

describe('scheduler/types foreignInPlace', () => {
  it.each`
    name                                       | entry                                    | sourceId     | want
    ${'no marker'}                             | ${at('A-B-C', null)}                     | ${undefined} | ${'a-b-c held by no marker'}
    ${'no marker, with a source id'}           | ${at('a-b-c', null)}                     | ${SOURCE}    | ${'a-b-c held by no marker'}
    ${'another source, another job'}           | ${at('a-b-c', marker('other', 'a-b/c'))} | ${SOURCE}    | ${'a-b-c held by other a-b/c'}
    ${'another source, another job (Windows)'} | ${at('a-b-c', marker('other', 'a-b/c'))} | ${undefined} | ${null}
    ${'another source, the same job'}          | ${at('a-b-c', marker('other', 'a/b-c'))} | ${SOURCE}    | ${null}
    ${'this source, another job'}              | ${at('a-b-c', marker(SOURCE, 'a-b/c'))}  | ${SOURCE}    | ${null}
    ${'elsewhere'}                             | ${at('x-y', null)}                       | ${SOURCE}    | ${null}
  `('$name → $want', ({ entry, sourceId, want }: { entry: InstalledEntry; sourceId: string | undefined; want: string | null }) => {
    expect(foreignInPlace([entry], place, why, sourceId)(job)).toBe(want);
  });
});

describe('scheduler/windows occupied', () => {
  function harness(sourceId: string, tasks = new Map<string, string>()) {
    const mem = memoryTaskFs();
    const runner = fakeSchtasks(tasks, { read: mem.read });
    return { runner, adapter: createSchtasksAdapter({ sourceId, execCommand: CTX.execCommand, stateDir: CTX.stateDir, hostZone: 'UTC' }, { runner, fs: mem, tempDir: 'C:\\Temp' }, stubTriggersOf) };
  }

  it('a task without a marker at the job\'s path (any case) is in the way; the same job installed by another source is not (the planner\'s conflict)', async () => {
    const foreign = '<?xml version="1.0" encoding="UTF-16"?>\r\n<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task"><Actions Context="Author"><Exec><Command>notepad.exe</Command></Exec></Actions></Task>\r\n';
    const other = harness('other-src', new Map([['\\cronsync\\acme\\MINE', foreign]]));
    await other.adapter.apply({ ...planOf([desired('theirs', '0 1 * * *')]), sourceId: 'other-src' }, signal);
    const ours = harness(SOURCE, other.runner.tasks);

    const occupied = ours.adapter.occupied!(await ours.adapter.inventory(signal));

    expect(occupied(desired('mine', '0 1 * * *'))).toBe('a task not made by cronsync is at \\cronsync\\acme\\mine; it is left alone: delete or rename it to install this job');
    expect(occupied(desired('theirs', '0 1 * * *'))).toBeNull();
    expect(occupied(desired('free', '0 1 * * *'))).toBeNull();
  });
});
