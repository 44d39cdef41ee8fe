import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { json, parseListenAddress } from '../../src/daemon/http.js';

describe('daemon/http', () => {
  it.each`
    text                | host           | port
    ${'9464'}           | ${'127.0.0.1'} | ${9464}
    ${'127.0.0.1:9464'} | ${'127.0.0.1'} | ${9464}
    ${'0.0.0.0:8080'}   | ${'0.0.0.0'}   | ${8080}
    ${'[::1]:9464'}     | ${'::1'}       | ${9464}
    ${'localhost:0'}    | ${'localhost'} | ${0}
  `('parses $text', ({ text, host, port }) => {
    expect(parseListenAddress(text)).toEqual({ host, port });
  });

  it.each(['', 'host:', ':80', 'a:b', '1.2.3.4:70000', 'http://x:80'])('rejects %j with a ConfigError', (text) => {
    expect(() => parseListenAddress(text)).toThrow(ConfigError);
  });

  it('json() sets the content type and ends with a newline', () => {
    expect(json(200, { a: 1 })).toEqual({ status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: '{"a":1}\n' });
  });
});
