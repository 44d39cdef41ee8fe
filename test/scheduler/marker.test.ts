import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Marker } from '../../src/plan/types.js';
import { decodeMarker, encodeMarker, entryHash } from '../../src/scheduler/marker.js';

const marker: Marker = { sourceId: 'src-1', jobId: 'acme/backup', commit: 'c'.repeat(40), path: 'jobs/a b%\n"x".yaml', index: 2, manifestHash: 'h1' };

describe('scheduler/marker', () => {
  it('round-trips on one line, with the entry hash', () => {
    const line = encodeMarker(marker, '0 1 * * * x');

    expect(line.includes('\n')).toBe(false);
    expect(decodeMarker(line)).toEqual({ marker, entryHash: entryHash('0 1 * * * x') });
    expect(decodeMarker(`${line}\r`)?.marker).toEqual(marker);
    expect(decodeMarker(encodeMarker({ ...marker, commit: null }))).toEqual({ marker: { ...marker, commit: null }, entryHash: null });
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
