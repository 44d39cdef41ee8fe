import { describe, expect, it } from 'vitest';
import { escapeDeep, escapeMessage, escapeText } from '../../src/cli/escape.js';

describe('cli/escape', () => {
  it.each([
    { name: 'newline, CR and tab', before: 'a\nb\rc\td', want: 'a\\nb\\rc\\td' },
    { name: 'ESC sequence', before: '\u001b[31mred\u001b[0m', want: '\\x1b[31mred\\x1b[0m' },
    { name: 'NUL, BEL and DEL', before: '\u0000\u0007\u007f', want: '\\x00\\x07\\x7f' },
    { name: 'C1 controls (CSI, NEL)', before: '\u009b31m\u0085', want: '\\x9b31m\\x85' },
    { name: 'bidi overrides and isolates', before: '\u202aa\u202eb\u2066c\u2069', want: '\\u{202a}a\\u{202e}b\\u{2066}c\\u{2069}' },
    { name: 'bidi marks', before: '\u200e\u200f\u061c', want: '\\u{200e}\\u{200f}\\u{61c}' },
    { name: 'line and paragraph separators', before: 'a\u2028b\u2029', want: 'a\\u{2028}b\\u{2029}' },
    { name: 'printable text, backslashes and other scripts kept', before: 'C:\\jobs ünï 日本 émoji 🎉 %0A', want: 'C:\\jobs ünï 日本 émoji 🎉 %0A' },
  ])('$name', ({ before, want }) => {
    expect(escapeText(before)).toBe(want);
  });

  it.each([
    { name: 'the intended line breaks kept, each line escaped', text: 'invalid config c.yaml:\n  a \u001b[31m\n  b\t', breaks: 2, want: 'invalid config c.yaml:\n  a \\x1b[31m\n  b\\t' },
    { name: 'one line', text: 'cannot read x\u202e', breaks: 0, want: 'cannot read x\\u{202e}' },
    { name: 'a newline from quoted text: every one escaped', text: 'invalid config c.yaml:\n  bad "x\nFAKE"', breaks: 1, want: 'invalid config c.yaml:\\n  bad "x\\nFAKE"' },
    { name: 'fewer newlines than issues: every one escaped', text: 'a\nb', breaks: 2, want: 'a\\nb' },
    { name: 'CR of a CRLF escaped', text: 'a\r\nb', breaks: 1, want: 'a\\r\nb' },
  ])('escapeMessage: $name', ({ text, breaks, want }) => {
    expect(escapeMessage(text, breaks)).toBe(want);
  });

  it('escapes every string of a document, keys included, and keeps other values', () => {
    const doc = { 'k\n': ['x\u001b', 1, null, { y: 'z\u202e', ok: true }] };

    expect(escapeDeep(doc)).toEqual({ 'k\\n': ['x\\x1b', 1, null, { y: 'z\\u{202e}', ok: true }] });
    expect(doc['k\n'][0]).toBe('x\u001b');
  });
});
