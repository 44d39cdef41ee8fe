import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMasker, MASK, MIN_MASKED_LENGTH } from '../../src/shim/mask.js';

/** Pushes `chunks` through a new stream masker of `values` and returns all it let out. */
function through(values: string[], chunks: Array<string | Buffer>): string {
  const make = createMasker(values);
  if (!make) return Buffer.concat(chunks.map((c) => Buffer.from(c))).toString();
  const m = make();
  return Buffer.concat([...chunks.map((c) => m.push(Buffer.from(c))), m.end()]).toString();
}

describe('shim/mask', () => {
  it('replaces each value, also when a chunk boundary cuts it, and lets the rest through as it is', () => {
    const secret = 's3cr3t-t0ken';

    expect(through([secret], [`token=${secret}\n`])).toBe(`token=${MASK}\n`);
    expect(through([secret], ['token=s3c', 'r3t-t0', 'ken and ', secret, '\n'])).toBe(`token=${MASK} and ${MASK}\n`);
    // The start of a value kept back, then not completed: let out as it was.
    expect(through([secret], ['ends with s3cr3t', '-t0k'])).toBe('ends with s3cr3t-t0k');
    expect(through([secret], ['s3cr3t', 's3cr3t-t0ken'])).toBe(`s3cr3t${MASK}`);
  });

  it('masks the longer of two values that begin alike, and values of two or more bytes per character', () => {
    expect(through(['abcdefgh', 'abcdefghij'], ['x abcdefgh', 'ij y abcdefgh z'])).toBe(`x ${MASK} y ${MASK} z`);
    const b = Buffer.from('pässwörd-ü!');
    expect(through(['pässwörd-ü'], [b.subarray(0, 2), b.subarray(2)])).toBe(`${MASK}!`);
    // A value inside a longer one, cut by a write boundary right after it: the longer waits, whole.
    const url = 'postgres://app:hunter2pw@db/x';
    expect(through([url, 'hunter2pw'], ['url=postgres://app:hunter2pw', '@db/x\n'])).toBe(`url=${MASK}\n`);
    expect(through([url, 'hunter2pw'], ['pw=hunter2pw', ' and postgres://app:hun', 'ter2pw@db/y\n'])).toBe(`pw=${MASK} and postgres://app:${MASK}@db/y\n`);
    // A shorter value at the very end, where a longer one could have begun: masked at the end.
    expect(through(['aaaaaa', 'aaaaaaa'], ['x aaaaaa'])).toBe(`x ${MASK}`);
  });

  it(`leaves values shorter than ${MIN_MASKED_LENGTH} characters, and makes no masker when none is left`, () => {
    expect(createMasker(['8080', 'prod', ''])).toBeNull();
    expect(createMasker([])).toBeNull();
    expect(through(['8080', 'longer-value'], ['port 8080 longer-value'])).toBe(`port 8080 ${MASK}`);
  });

  it('gives the same output however the bytes are cut, and no value survives, whatever the values and text', () => {
    // Values and text over a small alphabet, so that they overlap and repeat; no `[` (the mask's).
    const alphabet = fc.constantFrom('a', 'b', 'c', 'é', '\n');
    const value = fc.array(alphabet, { minLength: MIN_MASKED_LENGTH, maxLength: 12 }).map((cs) => cs.join(''));
    // The text is made of the values themselves, parts of them and single characters.
    // Values and pieces of them (a value inside another), at least MIN_MASKED_LENGTH long.
    const values = fc.array(value, { minLength: 1, maxLength: 3 }).chain((vs) => fc.array(fc.tuple(fc.constantFrom(...vs), fc.nat(), fc.nat()), { maxLength: 2 })
      .map((cuts) => [...vs, ...cuts.map(([v, a, b]) => v.slice(a % v.length, a % v.length + MIN_MASKED_LENGTH + (b % 4))).filter((p) => p.length >= MIN_MASKED_LENGTH)]));
    const input = values.chain((values) => fc.tuple(
      fc.constant(values),
      fc.array(fc.oneof(alphabet, fc.constantFrom(...values), fc.constantFrom(...values).map((v) => v.slice(0, v.length - 1))), { maxLength: 40 }),
      fc.array(fc.nat(), { maxLength: 8 }),
    ));
    fc.assert(fc.property(input, ([values, parts, cuts]) => {
      const bytes = Buffer.from(parts.join(''));
      const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      const chunks = [0, ...at].map((from, i) => bytes.subarray(from, [...at, bytes.length][i]));
      const whole = through(values, [bytes]);

      expect(through(values, chunks)).toBe(whole);
      for (const v of values) expect(whole.includes(v)).toBe(false);
      // Nothing but values is taken out: with every mask removed, the text is what was left of it.
      expect(whole.split(MASK).join('').length).toBeLessThanOrEqual(bytes.toString().length);
    }), { seed: 16, numRuns: 400 });
  });
});
