/**
 * Found by the fuzz suite (issue 11 item 7): the windows adapter wrote a manifest path into
 * RegistrationInfo/Source and Description with xmlbuilder2's `txt()`, which leaves text that
 * looks like an entity or character reference (`&amp;`, `&#0;`, `&D;`) unescaped. The task then
 * read back with another path (`&amp;` → `&`), or was not well-formed XML at all (`&#0;`, an
 * undefined entity), which `schtasks /Create` refuses, failing the apply of the jobs after it.
 * Also xmlbuilder2's reader decodes `&amp;#0;` twice; dom.ts reads such XML correctly.
 */
import { describe, expect, it } from 'vitest';
import { desired } from '../scheduler/fixtures.js';
import { parseXml } from '../../src/scheduler/windows/dom.js';
import { fuzzKind } from './harness.js';

const PATHS = ['jobs/a&amp;b.yaml', 'jobs/R&D;x.yaml', 'jobs/&#0;.yaml', 'jobs/&#10;.yaml', 'jobs/&lt;Exec&gt;.yaml'];

describe('scheduler/windows: manifest paths in task XML', () => {
  it.each(PATHS)('%s is written escaped and reads back unchanged', async (path) => {
    const kind = fuzzKind('windows');
    const h = await kind.make();
    try {
      const base = desired('backup', '0 2 * * *');
      const job = { ...base, provenance: { ...base.provenance, path } };

      const files = h.adapter.render([job]).files.map((f) => ({ name: h.name(f.name), text: f.content }));

      expect(kind.check(files, [job])).toEqual([]);
      expect(files[0]!.text).toContain(path.replace(/&/g, '&#38;'));
    } finally {
      await h.cleanup();
    }
  });
});

describe('scheduler/windows/dom: references in XML written by Windows', () => {
  it.each([
    ['&amp;#0;', '&#0;'],
    ['a&amp;b', 'a&b'],
    ['&amp;amp;', '&amp;'],
    ['&#38;#10;', '&#10;'],
    ['&lt;Exec&gt;', '<Exec>'],
  ])('reads %s as the text %s', (xml, text) => {
    expect(parseXml(`<Task><Source>${xml}</Source></Task>`).textContent).toBe(text);
  });
});
