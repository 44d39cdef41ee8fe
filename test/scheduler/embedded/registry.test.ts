import { describe, expect, it } from 'vitest';
import {
  decodeRecord, entryOfRecord, parseRecordLine, parseRegistry, recordLine, recordOf, serializeRegistry,
} from '../../../src/scheduler/embedded/registry.js';
import type { EmbeddedRecord } from '../../../src/scheduler/embedded/registry.js';
import { desiredOf, makeJob } from '../../fakes/jobs.js';

const rec = (over: Partial<EmbeddedRecord> = {}): EmbeddedRecord => ({
  sourceId: 's1', jobId: 'acme/a', commit: null, path: 'a.yaml', index: 0, manifestHash: 'h', schedule: '0 2 * * *', timezone: 'UTC', paused: false, ...over,
});

describe('scheduler/embedded/registry', () => {
  it('serializes sorted records, one canonical line each, and parses them back', () => {
    const records = [rec({ jobId: 'acme/b' }), rec({ jobId: 'acme/a', paused: true, commit: 'c'.repeat(40) })];

    const text = serializeRegistry(records);

    expect(text).toBe(`{\n  "version": 1,\n  "jobs": [\n    ${recordLine(records[1]!)},\n    ${recordLine(records[0]!)}\n  ]\n}\n`);
    expect(parseRegistry(text)).toEqual({ records: [records[1], records[0]], problems: [] });
    expect(serializeRegistry([])).toBe('{\n  "version": 1,\n  "jobs": []\n}\n');
  });

  it('recordLine has a fixed key order and round-trips', () => {
    const r = rec();

    expect(recordLine(r)).toBe('{"source":"s1","job":"acme/a","commit":null,"path":"a.yaml","index":0,"hash":"h","schedule":"0 2 * * *","timezone":"UTC","paused":false}');
    expect(parseRecordLine(recordLine(r))).toEqual(r);
    expect(parseRecordLine('not json')).toBeNull();
  });

  it('recordOf takes the marker from provenance and the timer fields from the job', () => {
    const d = desiredOf(makeJob('x', { spec: { schedule: '*/5 * * * *', timezone: 'Europe/Berlin', paused: true } }));

    expect(recordOf(d, 'mine')).toEqual({
      sourceId: 'mine', jobId: 'acme/x', commit: d.provenance.commit, path: 'jobs/x.yaml', index: 0, manifestHash: d.manifestHash,
      url: d.provenance.url, ref: d.provenance.ref,
      schedule: '*/5 * * * *', timezone: 'Europe/Berlin', paused: true,
    });
  });

  it('records when the job was applied, and reads it back from its line', () => {
    const d = { ...desiredOf(makeJob('x')), appliedAt: '2026-12-01T08:00:00.000Z' };

    const line = recordLine(recordOf(d, 'mine'));

    expect(line).toContain('"url":"https://git.example/r.git","ref":"main","applied":"2026-12-01T08:00:00.000Z","schedule"');
    expect(parseRecordLine(line)?.appliedAt).toBe('2026-12-01T08:00:00.000Z');
  });

  it.each`
    name                | value
    ${'not an object'}  | ${[1]}
    ${'bad job id'}     | ${{ ...JSON.parse(recordLine(rec())), job: 'Acme/A' }}
    ${'empty source'}   | ${{ ...JSON.parse(recordLine(rec())), source: '' }}
    ${'negative index'} | ${{ ...JSON.parse(recordLine(rec())), index: -1 }}
    ${'paused string'}  | ${{ ...JSON.parse(recordLine(rec())), paused: 'no' }}
    ${'no schedule'}    | ${{ ...JSON.parse(recordLine(rec())), schedule: undefined }}
  `('decodeRecord rejects $name', ({ value }: { value: unknown }) => {
    expect(decodeRecord(value)).toBeNull();
  });

  it.each`
    name               | text                                              | problem
    ${'invalid JSON'}  | ${'{'}                                            | ${/not valid JSON/}
    ${'no jobs array'} | ${'{"version":1}'}                                | ${/no "jobs" array/}
    ${'null'}          | ${'null'}                                         | ${/no "jobs" array/}
  `('parseRegistry reads $name as empty, with a problem', ({ text, problem }: { text: string; problem: RegExp }) => {
    const parsed = parseRegistry(text);

    expect(parsed.records).toEqual([]);
    expect(parsed.problems[0]).toMatch(problem);
  });

  it('parseRegistry drops malformed and duplicate records and notes an unknown version', () => {
    const text = JSON.stringify({ version: 2, jobs: [JSON.parse(recordLine(rec())), { job: 'x' }, JSON.parse(recordLine(rec({ paused: true })))] });

    const parsed = parseRegistry(text);

    expect(parsed.records).toEqual([rec()]);
    expect(parsed.problems).toEqual(['registry version 2 is not 1; reading it anyway', 'registry record 1 is malformed; dropped', 'registry record 2 duplicates acme/a; dropped']);
    expect(parseRegistry(null)).toEqual({ records: [], problems: [] });
  });

  it('entryOfRecord builds an inventory entry with the marker and the canonical raw line', () => {
    const r = rec({ paused: true });

    expect(entryOfRecord(r)).toEqual({
      key: 'embedded:s1:acme/a',
      marker: { sourceId: 's1', jobId: 'acme/a', commit: null, path: 'a.yaml', index: 0, manifestHash: 'h' },
      paused: true, drifted: false, raw: recordLine(r),
    });
  });
});
