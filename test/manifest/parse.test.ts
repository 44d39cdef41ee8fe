import { describe, expect, it } from 'vitest';
import { MAX_FILE_BYTES, parseManifestFile } from '../../src/manifest/parse.js';

describe('manifest/parse', () => {
  it('keeps every document with its index, line and column, skipping empty ones', () => {
    const text = 'a: 1\n---\n---\n# only a comment\n---\nb:\n  c: on\n';

    const res = parseManifestFile('f.yaml', text);

    expect(res.issues).toEqual([]);
    expect(res.documents.map((d) => [d.index, d.line, d.col])).toEqual([[0, 1, 1], [3, 6, 1]]);
    expect(res.documents[1]!.value).toEqual({ b: { c: 'on' } });
  });

  it('parses YAML 1.2 core: on, yes and off stay strings', () => {
    const res = parseManifestFile('f.yaml', 'a: on\nb: yes\nc: off\nd: true\ne: 010\n');

    expect(res.documents[0]!.value).toEqual({ a: 'on', b: 'yes', c: 'off', d: true, e: 10 });
  });

  it('locates values and keys', () => {
    const res = parseManifestFile('f.yaml', 'spec:\n  schedule: "0 0 * * *"\n  list:\n    - x\n    - y\n');
    const doc = res.documents[0]!;

    expect(doc.locate(['spec', 'schedule'])).toEqual({ line: 2, col: 13, quoted: true });
    expect(doc.locate(['spec', 'schedule'], true)).toEqual({ line: 2, col: 3 });
    expect(doc.locate(['spec', 'list', 1])).toEqual({ line: 5, col: 7 });
    expect(doc.locate(['spec', 'missing'])).toEqual({ line: 2, col: 3 });
  });

  it.each`
    name                  | input                                                   | rule                    | line | col
    ${'duplicate key'}    | ${'a: 1\nb: 2\na: 3\n'}                                 | ${'yaml-duplicate-key'} | ${3} | ${1}
    ${'syntax error'}     | ${'a: [1, 2\nb: 3\n'}                                   | ${'yaml-syntax'}        | ${2} | ${1}
    ${'sequence'}         | ${'- a\n- b\n'}                                         | ${'yaml-not-mapping'}   | ${1} | ${1}
    ${'scalar'}           | ${'---\njust text\n'}                                   | ${'yaml-not-mapping'}   | ${2} | ${1}
  `('reports $name as $rule at $line:$col', ({ input, rule, line, col }) => {
    const res = parseManifestFile('f.yaml', input as string);

    expect(res.issues[0]).toMatchObject({ file: 'f.yaml', rule, line, col, severity: 'error' });
    expect(res.failed).toBe(1);
  });

  it('words a non-mapping for what the file is: a manifest, or the config file', () => {
    const manifest = parseManifestFile('f.yaml', '- a\n');
    const config = parseManifestFile('config.yaml', '- a\n', { kind: 'config' });

    expect(manifest.issues[0]!.message).toBe('document 1 is a sequence; a manifest must be a mapping');
    expect(config.issues[0]).toMatchObject({ file: 'config.yaml', line: 1, col: 1, rule: 'yaml-not-mapping', message: 'the config file is a sequence; it must be a mapping of settings' });
  });

  it('stops alias bombs', () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);

    const res = parseManifestFile('bomb.yaml', lines.join('\n'));

    expect(res.documents).toEqual([]);
    expect(res.issues[0]!.rule).toBe('yaml-alias-limit');
  });

  it('rejects files over 1 MiB and bytes that are not UTF-8', () => {
    const big = parseManifestFile('big.yaml', Buffer.alloc(MAX_FILE_BYTES + 1, 0x20));
    const bad = parseManifestFile('bad.yaml', Buffer.from([0x61, 0x3a, 0x0a, 0x62, 0x3a, 0x20, 0xff, 0xfe]));

    expect(big.issues[0]).toMatchObject({ rule: 'yaml-too-large', line: 1, col: 1 });
    expect(bad.issues[0]).toMatchObject({ rule: 'yaml-encoding', line: 2, col: 4 });
    expect(bad.issues[0]!.message).toContain('offset 6');
  });

  it('keeps a document with only duplicate keys so the rest can be validated, but marks it invalid', () => {
    const res = parseManifestFile('f.yaml', 'a: 1\na: 2\nb: 3\n');

    expect(res.documents[0]!.invalid).toBe(true);
    expect(res.issues.map((i) => i.rule)).toEqual(['yaml-duplicate-key']);
  });

  it.each`
    name                        | input                                                            | line | col  | path                     | message
    ${'at the top level'}       | ${'a: 1\nb: 2\na: 3\n'}                                          | ${3} | ${1}  | ${'a'}                   | ${'duplicate key "a" at the top level (first at 1:1)'}
    ${'nested, quoted once'}    | ${'spec:\n  command: a\n  "command": b\n'}                        | ${3} | ${3}  | ${'spec.command'}        | ${'duplicate key "command" in spec (first at 2:3)'}
    ${'in a flow mapping'}      | ${'spec:\n  retry: { attempts: 2, attempts: 5 }\n'}                | ${2} | ${25} | ${'spec.retry.attempts'} | ${'duplicate key "attempts" in spec.retry (first at 2:12)'}
    ${'in a sequence item'}     | ${'spec:\n  steps:\n    - name: a\n    - name: b\n      name: c\n'} | ${5} | ${7}  | ${'spec.steps.1.name'}   | ${'duplicate key "name" in spec.steps.1 (first at 4:7)'}
    ${'a number key'}           | ${'x:\n  1: a\n  1: b\n'}                                          | ${3} | ${3}  | ${'x.1'}                 | ${'duplicate key "1" in x (first at 2:3)'}
  `('names the field and its first place for a duplicate key $name', ({ input, line, col, path, message }) => {
    const res = parseManifestFile('f.yaml', input as string);

    expect(res.issues).toEqual([{ file: 'f.yaml', line, col, path, rule: 'yaml-duplicate-key', severity: 'error', message }]);
  });

  it('names each repeat of a key after the first', () => {
    const res = parseManifestFile('f.yaml', 'metadata:\n  name: a\n  name: b\n  name: c\n');

    expect(res.issues.map((i) => [i.line, i.path, i.message])).toEqual([
      [3, 'metadata.name', 'duplicate key "name" in metadata (first at 2:3)'],
      [4, 'metadata.name', 'duplicate key "name" in metadata (first at 2:3)'],
    ]);
  });

  it('strips a UTF-8 byte order mark', () => {
    const res = parseManifestFile('f.yaml', Buffer.from('\ufeffa: 1\n', 'utf8'));

    expect(res.documents[0]!.value).toEqual({ a: 1 });
  });
});
