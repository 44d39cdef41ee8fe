import { describe, expect, it } from 'vitest';
import { debugEnabled, stripUrlCredentials, stripUrlPassword } from '../src/errors.js';

describe('errors', () => {
  describe('stripUrlCredentials of a URL', () => {
    it.each`
      name                                 | url                                                 | want
      ${'user and password'}               | ${'https://bot:tok@h.example/r.git'}                | ${'https://h.example/r.git'}
      ${'a space in the password'}         | ${'https://alice:Pw S3cret@127.0.0.1:1/r'}          | ${'https://127.0.0.1:1/r'}
      ${'an @ in the password'}            | ${'https://bob:p@ss@git.example.com/ops/jobs.git'}  | ${'https://git.example.com/ops/jobs.git'}
      ${'percent-escapes'}                 | ${'https://a%3Ab:p%40ss%20x@h/r'}                   | ${'https://h/r'}
      ${'an IPv6 host and a port'}         | ${'https://a:b@[::1]:8080/r'}                       | ${'https://[::1]:8080/r'}
      ${'a token as user name'}            | ${'https://ghp_t0ken@github.com/o/r.git'}           | ${'https://github.com/o/r.git'}
      ${'no path'}                         | ${'https://a:b c@h'}                                | ${'https://h'}
      ${'a query after the host'}          | ${'https://a:b c@h?x=1'}                            | ${'https://h?x=1'}
      ${'a line break in the password'}    | ${'https://a:b\nc@h/r'}                             | ${'https://h/r'}
      ${'a tab in the password'}           | ${'https://a:b\tc@h/r'}                             | ${'https://h/r'}
      ${'spaces around the URL'}           | ${'  https://a:b c@h/r  '}                          | ${'  https://h/r  '}
      ${'an upper-case scheme'}            | ${'HTTPS://U:P@H/r'}                                | ${'HTTPS://H/r'}
      ${'no slashes after https:'}         | ${'https:a:b c@h/r'}                                | ${'https:h/r'}
      ${'backslashes after https:'}        | ${'https:\\\\a:b@h/r'}                              | ${'https:\\\\h/r'}
      ${'ssh with a password'}             | ${'ssh://alice:SshPwS3cret@127.0.0.1:2/repo.git'}   | ${'ssh://127.0.0.1:2/repo.git'}
      ${'ssh with a space in the password'} | ${'ssh://alice:Pw S3cret@h/r'}                     | ${'ssh://h/r'}
      ${'ssh with a backslash in it'}      | ${'ssh://a:p\\q@h/r'}                               | ${'ssh://h/r'}
      ${'ssh with a user only'}            | ${'ssh://git@h/r'}                                  | ${'ssh://h/r'}
      ${'a URL in the query'}              | ${'https://h/r?next=http://u:p w@x/'}               | ${'https://h/r?next=http://x/'}
      ${'no credentials'}                  | ${'https://Host.example//a/../r.git?x#y'}           | ${'https://Host.example//a/../r.git?x#y'}
      ${'an @ in the path only'}           | ${'https://h/@scope/r@v2'}                          | ${'https://h/@scope/r@v2'}
      ${'scp-like (the user is no secret)'} | ${'git@github.com:org/r.git'}                      | ${'git@github.com:org/r.git'}
      ${'a local path'}                    | ${'/srv/jobs@2024/x'}                               | ${'/srv/jobs@2024/x'}
      ${'a file URL'}                      | ${'file:///srv/jobs'}                               | ${'file:///srv/jobs'}
    `('removes the userinfo the URL parser reads: $name', ({ url, want }: { url: string; want: string }) => {
      const out = stripUrlCredentials(url);

      expect(out).toBe(want);
    });

    it.each([
      'https://alice:Pw S3cret@127.0.0.1:1/r',
      'https://a:b\nc@h/r',
      'https:\\\\a:b@h/r',
      'https://a:p@s s@[::1]:8080/r',
      'ssh://alice:Pw S3cret@h:2/r',
    ])('leaves nothing WHATWG URL would send as credentials: %j', (url) => {
      const out = new URL(stripUrlCredentials(url));

      expect([out.username, out.password]).toEqual(['', '']);
    });
  });

  describe('stripUrlCredentials of a text', () => {
    it.each`
      name                                | text                                                                           | want
      ${'a space in the password'}        | ${'Git source https://alice:Pw S3cret@127.0.0.1:1/r: network error'}           | ${'Git source https://127.0.0.1:1/r: network error'}
      ${'an @ in the password'}           | ${'clone of https://bob:a@b@c@git.example.com/x failed'}                       | ${'clone of https://git.example.com/x failed'}
      ${'several URLs'}                   | ${'from https://a:b@h1/x to ssh://c:d e@h2/y and http://f@h3?q'}                | ${'from https://h1/x to ssh://h2/y and http://h3?q'}
      ${'URLs without paths'}             | ${'from https://a:b@h1 to https://c:d@h2'}                                     | ${'from https://h1 to https://h2'}
      ${'a URL without credentials first'} | ${'from https://h1/x to https://c:d@h2/y'}                                    | ${'from https://h1/x to https://h2/y'}
      ${'one URL per line'}               | ${'fatal: https://a:p w@h/r\nssh: ssh://b:q@h2/r'}                             | ${'fatal: https://h/r\nssh: ssh://h2/r'}
      ${'an @ on the next line'}          | ${'see https://h\nmail bob@example.org'}                                       | ${'see https://h\nmail bob@example.org'}
      ${'quoted URLs'}                    | ${`unable to access 'https://a:b c@h/r/': refused`}                             | ${`unable to access 'https://h/r/': refused`}
      ${'an IPv6 host'}                   | ${'connect to http://u:p@[fe80::1%25eth0]:80/r'}                               | ${'connect to http://[fe80::1%25eth0]:80/r'}
      ${'no URL'}                         | ${'mail bob@example.org: pw is p@ss'}                                          | ${'mail bob@example.org: pw is p@ss'}
      ${'extra slashes (WHATWG skips them)'} | ${'POST https:///user:pw@host/x failed'}                                     | ${'POST https:///host/x failed'}
      ${'no slashes (WHATWG adds them)'}  | ${'fetch of https:user:pw@host/r failed; retry http:u:p@h2'}                   | ${'fetch of https:host/r failed; retry http:h2'}
      ${'backslashes (WHATWG reads /)'}   | ${'GET https:\\\\user:pw@host/x'}                                                | ${'GET https:\\\\host/x'}
      ${'a scheme word in prose'}         | ${'use https: bob@example.org'}                                                | ${'use https: bob@example.org'}
    `('removes every userinfo: $name', ({ text, want }: { text: string; want: string }) => {
      const out = stripUrlCredentials(text);

      expect(out).toBe(want);
    });
  });

  describe('stripUrlPassword', () => {
    it.each`
      url                                                | want
      ${'ssh://alice:SshPwS3cret@127.0.0.1:2/repo.git'}  | ${'ssh://alice@127.0.0.1:2/repo.git'}
      ${'ssh://alice:Pw S3cret@h/r'}                     | ${'ssh://alice@h/r'}
      ${'ssh://alice:p@ss:x@[::1]:2/r'}                  | ${'ssh://alice@[::1]:2/r'}
      ${'ssh://alice@h/r'}                               | ${'ssh://alice@h/r'}
      ${'ssh://alice:@h/r'}                              | ${'ssh://alice:@h/r'}
      ${'ssh://h:2/r'}                                   | ${'ssh://h:2/r'}
      ${'git@h:org/r.git'}                               | ${'git@h:org/r.git'}
    `('keeps the user name of $url', ({ url, want }: { url: string; want: string }) => {
      const out = stripUrlPassword(url);

      expect(out).toBe(want);
    });
  });
});

describe('errors: debugEnabled', () => {
  it('is on for any CRONSYNC_DEBUG but empty, 0, false, no or off', () => {
    expect(['', '0', 'false', 'FALSE', 'no', 'off', ' 0 '].map((v) => debugEnabled({ CRONSYNC_DEBUG: v }))).toEqual([false, false, false, false, false, false, false]);
    expect(['1', 'yes', 'true', 'on', 'please'].map((v) => debugEnabled({ CRONSYNC_DEBUG: v }))).toEqual([true, true, true, true, true]);
    expect(debugEnabled({})).toBe(false);
  });
});
