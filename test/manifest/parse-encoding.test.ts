import { describe, expect, it } from 'vitest';
import { parseManifestFile } from '../../src/manifest/parse.js';

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('manifest/parse: bytes that are not UTF-8', () => {
  // The offset is the first byte of the ill-formed sequence; the column counts UTF-16 units, as
  // yaml's columns do (the emoji is two).
  it.each`
    name                                              | bytes                                                                | line | col  | offset
    ${'a byte that never starts a sequence'}          | ${latin1('a:\nb: \xff\xfe')}                                         | ${2} | ${4} | ${6}
    ${'Latin-1 é (a lead byte) before a newline'}     | ${latin1('a: caf\xe9\n')}                                            | ${1} | ${7} | ${6}
    ${'Latin-1 é as the last byte of the file'}       | ${latin1('a: caf\xe9')}                                              | ${1} | ${7} | ${6}
    ${'Latin-1 ñ (a 4-byte lead) before a space'}     | ${latin1('a: \xf1 x\n')}                                             | ${1} | ${4} | ${3}
    ${'a 4-byte sequence cut by the end of the file'} | ${latin1('a: \xf0\x9f\x98')}                                         | ${1} | ${4} | ${3}
    ${'a surrogate encoded in UTF-8'}                 | ${latin1('a: \xed\xa0\x80\n')}                                       | ${1} | ${4} | ${3}
    ${'an overlong encoding'}                         | ${latin1('a: \xe0\x80\xaf\n')}                                       | ${1} | ${4} | ${3}
    ${'after UTF-8 ñ and an emoji on the line'}       | ${Buffer.concat([Buffer.from('x: 1\na: ñ 😀 '), latin1('caf\xe9\n')])} | ${2} | ${12} | ${19}
    ${'on line 1 after a byte order mark'}            | ${Buffer.concat([Buffer.from('\uFEFFa: '), latin1('\xe9\n')])}       | ${1} | ${4} | ${6}
    ${'after a U+FFFD written in the file'}           | ${Buffer.concat([Buffer.from('a: \uFFFD '), latin1('\xe9\n')])}      | ${1} | ${6} | ${7}
  `('$name: line $line, column $col, offset $offset', ({ bytes, line, col, offset }: { bytes: Buffer; line: number; col: number; offset: number }) => {
    const res = parseManifestFile('f.yaml', bytes);

    expect(res.documents).toEqual([]);
    expect(res.issues).toEqual([
      { file: 'f.yaml', line, col, path: '', rule: 'yaml-encoding', severity: 'error', message: `file is not valid UTF-8 (first bad byte at offset ${offset})` },
    ]);
  });
});
