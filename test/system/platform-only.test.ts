import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', '..', 'src');
/** The platform port, and the config defaults (issue #13: the only places allowed to look). */
const ALLOWED = (rel: string): boolean => rel.startsWith('system/') || rel === 'config/load.ts';

describe('system/platform (the one place)', () => {
  it('no file outside src/system/ and the config defaults tests process.platform', () => {
    const offenders = readdirSync(SRC, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => relative(SRC, join(SRC, f)).split('\\').join('/'))
      .filter((rel) => !ALLOWED(rel) && readFileSync(join(SRC, rel), 'utf8').includes('process.platform'));

    expect(offenders).toEqual([]);
  });
});
