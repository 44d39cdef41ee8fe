import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Marker } from '../../src/plan/types.js';
import { decodeMarker, encodeMarker, entryHash, markerOf } from '../../src/scheduler/marker.js';
import { desiredOf, makeJob } from '../fakes/jobs.js';

const marker: Marker = { sourceId: 'src-1', jobId: 'acme/backup', commit: 'c'.repeat(40), path: 'jobs/a b%\n"x".yaml', index: 2, manifestHash: 'h1' };

describe('scheduler/marker', () => {
  it('round-trips on one line, with the entry hash', () => {
    const line = encodeMarker(marker, '0 1 * * * x');

    expect(line.includes('\n')).toBe(false);
    expect(decodeMarker(line)).toEqual({ marker, entryHash: entryHash('0 1 * * * x') });
    expect(decodeMarker(`${line}\r`)?.marker).toEqual(marker);
    expect(decodeMarker(encodeMarker({ ...marker, commit: null }))).toEqual({ marker: { ...marker, commit: null }, entryHash: null });
  });

  it('records the URL, ref and applied time after the hash, and still reads markers written without them', () => {
    const full: Marker = { ...marker, url: 'https://git.example/r.git', ref: 'main', appliedAt: '2026-12-01T08:00:00.000Z' };

    const line = encodeMarker(full, 'x');
    const older = '# cronsync:v1 {"source":"src-1","job":"acme/backup","commit":null,"path":"p","index":0,"hash":"h1","entry":"e"}';

    expect(line).toContain('"hash":"h1","url":"https://git.example/r.git","ref":"main","applied":"2026-12-01T08:00:00.000Z","entry":');
    expect(decodeMarker(line)?.marker).toEqual(full);
    expect(decodeMarker(older)?.marker).toEqual({ sourceId: 'src-1', jobId: 'acme/backup', commit: null, path: 'p', index: 0, manifestHash: 'h1' });
  });

  it.each([
    ['a number as url', '"url":1'],
    ['an applied time that is not ISO', '"applied":"yesterday"'],
    ['an applied time with an offset', '"applied":"2026-12-01T09:00:00+01:00"'],
  ])('drops %s, keeping the entry ours', (_name, field) => {
    const line = `# cronsync:v1 {"source":"s","job":"a/b","commit":null,"path":"p","index":0,"hash":"h",${field}}`;

    expect(decodeMarker(line)?.marker).toEqual({ sourceId: 's', jobId: 'a/b', commit: null, path: 'p', index: 0, manifestHash: 'h' });
  });

  it('markerOf strips credentials from the URL, and leaves the applied time out when asked', () => {
    const d = { ...desiredOf(makeJob('x')), appliedAt: '2026-12-01T08:00:00.000Z' };
    const withUser = { ...d, provenance: { ...d.provenance, url: 'https://bob:t0ken@git.example/r.git' } };

    expect(markerOf(withUser, 's').url).toBe('https://git.example/r.git');
    expect(markerOf(d, 's').appliedAt).toBe('2026-12-01T08:00:00.000Z');
    expect(markerOf(d, 's', false).appliedAt).toBeUndefined();
  });

  it.each([
    ['not a marker', '# just a comment'],
    ['truncated json', '# cronsync:v1 {"source":"s","job":"a/b"'],
    ['json array', '# cronsync:v1 []'],
    ['bad job id', '# cronsync:v1 {"source":"s","job":"A/b","commit":null,"path":"p","index":0,"hash":"h"}'],
    ['negative index', '# cronsync:v1 {"source":"s","job":"a/b","commit":null,"path":"p","index":-1,"hash":"h"}'],
    ['missing hash', '# cronsync:v1 {"source":"s","job":"a/b","commit":null,"path":"p","index":0}'],
    ['empty source', '# cronsync:v1 {"source":"","job":"a/b","commit":null,"path":"p","index":0,"hash":"h"}'],
    ['other version', '# cronsync:v2 {"source":"s","job":"a/b","commit":null,"path":"p","index":0,"hash":"h"}'],
  ])('returns null for %s', (_name, line) => {
    expect(decodeMarker(line)).toBeNull();
  });

  it('never throws on arbitrary hand edits', () => {
    const good = encodeMarker(marker, 'x');
    fc.assert(
      fc.property(fc.string(), fc.nat(good.length), fc.nat(good.length), (junk, at, cut) => {
        const edited = good.slice(0, at) + junk + good.slice(Math.max(at, cut));
        const r = decodeMarker(edited);
        expect(r === null || typeof r.marker.jobId === 'string').toBe(true);
      }),
      { numRuns: 500, seed: 42 },
    );
  });
});
