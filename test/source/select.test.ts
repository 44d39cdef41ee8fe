import { describe, expect, it } from 'vitest';
import { SourceError } from '../../src/errors.js';
import { resolveCredentials, splitUrlAuth } from '../../src/source/auth.js';
import { classify } from '../../src/source/classify.js';
import { knownHostsHas, parseSshUrl } from '../../src/source/known-hosts.js';
import { parseUploadPackResponse, resolveRemoteRef, UploadPackError } from '../../src/source/protocol.js';
import { buildFiles, diffFiles, linkedDirFiles, makeEntrySelector, makeMatcher, resolveLink, sourceIdOf, treeShape } from '../../src/source/select.js';
import { SYMLINK_DIR_REFUSED } from '../../src/system/walk.js';
import { detectSource } from '../../src/source/index.js';

describe('source/select', () => {
  it.each`
    path                     | want
    ${'a.yaml'}              | ${true}
    ${'x/y/b.yml'}           | ${true}
    ${'x/README.yaml'}       | ${false}
    ${'a.json'}              | ${false}
    ${'.hidden/a.yaml'}      | ${false}
    ${'nl\nfile.yaml'}       | ${true}
    ${'team\nops/b.yaml'}    | ${true}
    ${'a/team\r\u2028ops/x/b.yml'} | ${true}
    ${'x\n/README.yaml'}     | ${false}
    ${'a\n.yaml/b.txt'}      | ${false}
  `('default globs with exclude match $path: $want', ({ path, want }: { path: string; want: boolean }) => {
    expect(makeMatcher(undefined, ['**/README*'])(path)).toBe(want);
  });

  it('derives a stable source id that ignores credentials', () => {
    const a = sourceIdOf({ url: 'https://u:p@h/r.git', ref: 'main' });

    expect(a).toBe(sourceIdOf({ url: 'https://h/r.git', ref: 'main' }));
    expect(a).not.toBe(sourceIdOf({ url: 'https://h/r.git', ref: 'dev' }));
    expect(a).not.toBe(sourceIdOf({ url: 'https://h/r.git', ref: 'main', paths: ['x/**'] }));
    expect(a).toMatch(/^[0-9a-f]{16}$/);
  });

  it('diffs file lists by path and oid', () => {
    const f = (path: string, oid: string) => ({ path, oid, content: Buffer.alloc(0) });

    expect(diffFiles(new Map([['a', '1'], ['b', '2'], ['c', '3']]), [f('a', '1'), f('b', '9'), f('d', '4')])).toEqual({ added: ['d'], modified: ['b'], deleted: ['c'] });
    expect(diffFiles(null, [f('a', '1')])).toEqual({ added: ['a'], modified: [], deleted: [] });
  });

  it('reads only blobs it does not know, and marks symlinks, submodules and big files', async () => {
    const asked: string[] = [];
    const read = async (oids: readonly string[]) => {
      asked.push(...oids);
      return new Map(oids.map((o) => [o, o === 'big' ? Buffer.alloc(2 * 1024 * 1024) : Buffer.from(o)]));
    };
    const entries = [
      { path: 'a', mode: '100644', oid: 'old' },
      { path: 'b', mode: '100644', oid: 'new' },
      { path: 'c', mode: '120000', oid: 'l' },
      { path: 'd', mode: '160000', oid: 's' },
      { path: 'e', mode: '100644', oid: 'big' },
    ];

    const { files } = await buildFiles(entries, read, [{ path: 'a', oid: 'old', content: Buffer.from('kept') }]);

    expect(asked).toEqual(['new', 'big']);
    expect(files.map((x) => x.error ?? x.content.toString())).toEqual(['kept', 'new', 'symbolic link not followed', expect.stringMatching(/^submodule not supported: its files are not read, .*source\.exclude "[^"]+\/\*\*"\)$/), 'file is 2097152 bytes, over the 1 MiB limit']);
  });
});

describe('source/select: makeEntrySelector', () => {
  it('reads the selected files, and a submodule only where a selected file could be under it', () => {
    const select = makeEntrySelector(['prod/**/*.yaml'], ['prod/scratch/**']);

    expect([
      select('prod/a.yaml', '100644'),
      select('prod/team', '160000'),
      select('prod/team', '100644'),
      select('docs/vendor', '160000'),
      select('prod/scratch/lib', '160000'),
      select('prod/link', '120000'),
    ]).toEqual([true, true, false, false, false, false]);
    expect(['prod/link', 'prod/a.yaml', 'docs/link', 'prod/scratch/x'].map((p) => select.linkCandidate(p))).toEqual([true, false, false, false]);
  });
});

describe('source/select: symbolic links standing for a directory', () => {
  it.each`
    from              | target               | to
    ${'prod'}         | ${'prod-v2'}         | ${'prod-v2'}
    ${'a/prod'}       | ${'../b/./v2/'}      | ${'b/v2'}
    ${'a/prod'}       | ${'..'}              | ${''}
    ${'prod'}         | ${'../outside'}      | ${null}
    ${'prod'}         | ${'/srv/jobs'}       | ${null}
    ${'prod'}         | ${''}                | ${null}
    ${'prod'}         | ${'a\0b'}           | ${null}
  `('resolves $from -> $target to $to', ({ from, target, to }: { from: string; target: string; to: string | null }) => {
    expect(resolveLink(from, target)).toBe(to);
  });

  it('follows the tree\'s own links on the way, as the kernel does, and gives up on a loop', () => {
    const links = new Map([['prod', 'current'], ['current', 'releases/v2'], ['up', 'a/b'], ['loop1', 'loop2'], ['loop2', 'loop1']]);

    expect(resolveLink('prod', 'current', links)).toBe('releases/v2');
    // `..` climbs from where `up` leads (a/b), not from `up` itself.
    expect(resolveLink('x', 'up/../c', links)).toBe('a/c');
    expect(resolveLink('loop1', 'loop2', links)).toBeNull();
  });

  /** Reads link targets (blob id → text) and records the ids asked for. */
  const linkReader = (targets: Record<string, string>, asked: string[] = []) => async (oids: readonly string[]) =>
    (asked.push(...oids), new Map(oids.map((o) => [o, Buffer.from(targets[o] ?? '')])));

  it('reports the links that lead to a directory of the tree, reading the links only when one is a candidate', async () => {
    const all = [
      { path: 'prod', mode: '120000', oid: 'l1' },
      { path: 'prod-v2/a.yaml', mode: '100644', oid: 'f1' },
      { path: 'notes', mode: '120000', oid: 'l2' },
      { path: 'chain', mode: '120000', oid: 'l3' },
      { path: 'picked', mode: '120000', oid: 'l4' },
    ];
    const asked: string[] = [];
    const read = linkReader({ l1: 'prod-v2', l2: 'prod-v2/a.yaml', l3: 'prod', l4: 'prod-v2' }, asked);

    const select = { linkCandidate: (p: string) => p !== 'picked', match: makeMatcher(['prod/**/*.yaml']) };

    const files = await linkedDirFiles(treeShape(all, select), read);
    const none = await linkedDirFiles(treeShape(all.filter((e) => e.mode !== '120000'), select), read);

    expect(files.map((f) => [f.path, f.error])).toEqual([['prod', `${SYMLINK_DIR_REFUSED}; the jobs of the files that were under prod keep their last applied version (put the directory itself there, or leave it out with source.exclude "prod/**")`]]);
    expect(asked.sort()).toEqual(['l1', 'l2', 'l3', 'l4']);
    expect(none).toEqual([]);
  });

  it('stops at a part of the way that is no directory of the tree (ENOTDIR), and bounds hostile targets', () => {
    const dirs = new Set(['', 'prod', 'a', 'a/b']);
    const long = `x${'/.'.repeat(150_000)}`;
    const deep = 'a/'.repeat(50_000);
    const start = process.hrtime.bigint();

    const results = [
      resolveLink('x', 'LICENSE/../prod', new Map(), dirs),
      resolveLink('x', 'a/b/../b', new Map(), dirs),
      resolveLink('x', long, new Map(), dirs),
      resolveLink('x', deep, new Map(), dirs),
      resolveLink('x', 'a/'.repeat(2000), new Map(), dirs),
    ];

    expect(results).toEqual([null, 'a/b', null, null, null]);
    // Not a timing assertion: a guard against a hang (the quadratic walk took 24 s for `deep`).
    expect(Number(process.hrtime.bigint() - start) / 1e9).toBeLessThan(20);
  });

  it('checks links against the globs within a budget, and says how many it skipped', async () => {
    const all = [
      ...Array.from({ length: 50 }, (_, i) => ({ path: `l${String(i).padStart(2, '0')}`, mode: '120000', oid: 'dot' })),
      ...Array.from({ length: 100 }, (_, i) => ({ path: `docs/f${String(i).padStart(2, '0')}.md`, mode: '100644', oid: 'f' })),
    ];
    const read = linkReader({ dot: '.' });
    const skipped: number[] = [];

    const files = await linkedDirFiles(treeShape(all, makeEntrySelector()), read, (n) => skipped.push(n), 15_000);

    expect(files).toEqual([]);
    // The budget counts characters, each path its length plus one. The root's 150 paths are
    // matched once (all unread: 50 links of 3, 100 .md files of 11): 1,400. Then each link
    // matches them below itself (`l00/` first): 50 × 8 + 100 × 16 = 2,000. Seven links start
    // while some budget is left; the other 43 are skipped.
    expect(skipped).toEqual([43]);
  });

  it('reports a link that leads to the directory through another link (prod -> current -> prod-v2)', async () => {
    const all = [
      { path: 'prod', mode: '120000', oid: 'l1' },
      { path: 'current', mode: '120000', oid: 'l2' },
      { path: 'prod-v2/a.yaml', mode: '100644', oid: 'f1' },
    ];
    const read = linkReader({ l1: 'current', l2: 'prod-v2' });

    const files = await linkedDirFiles(treeShape(all, makeEntrySelector(['prod/**/*.yaml'])), read);

    expect(files.map((f) => f.path)).toEqual(['prod']);
  });

  it('skips a link whose files the globs read at their own paths anyway (it hides nothing)', async () => {
    const all = [
      { path: 'current', mode: '120000', oid: 'l1' },
      { path: 'v2/a.yaml', mode: '100644', oid: 'f1' },
      { path: 'legacy', mode: '120000', oid: 'l2' },
      { path: 'old/b.yaml', mode: '100644', oid: 'f2' },
    ];
    const read = linkReader({ l1: 'v2', l2: 'old' });
    const select = makeEntrySelector(['**/*.yaml'], ['old/**']);

    const files = await linkedDirFiles(treeShape(all, select), read);

    // current/a.yaml is v2/a.yaml, read anyway; legacy/b.yaml is old/b.yaml, which exclude leaves out.
    expect(files.map((f) => f.path)).toEqual(['legacy']);
  });
});

describe('source/auth', () => {
  it('moves URL userinfo out of the URL', () => {
    expect(splitUrlAuth('https://bot:tok@h.example/r.git')).toEqual({ url: 'https://h.example/r.git', username: 'bot', password: 'tok' });
  });

  it('reads the password file without its trailing newline', () => {
    expect(resolveCredentials({ url: 'https://h/r', auth: { username: 'u', passwordFile: '/f' } }, {}, () => 'pw\n')).toEqual({ username: 'u', password: 'pw' });
    expect(resolveCredentials({ url: 'https://h/r' }, {})).toBeNull();
  });

  it('an unreadable password file is an auth error naming the file only', () => {
    const read = () => {
      throw Object.assign(new Error('x'), { code: 'EACCES' });
    };

    expect(() => resolveCredentials({ url: 'https://h/r', auth: { username: 'u', passwordFile: '/f' } }, {}, read)).toThrow(SourceError);
  });
});

describe('source/classify', () => {
  const ctx = { url: 'https://u:pw@h/r.git', secrets: ['pw'], timeoutMs: 5, timedOut: false };
  it.each([
    [{ code: 'HttpError', data: { statusCode: 401 } }, 'auth'],
    [{ code: 'HttpError', data: { statusCode: 403 } }, 'auth'],
    [{ code: 'HttpError', data: { statusCode: 404 } }, 'not-found'],
    [{ code: 'HttpError', data: { statusCode: 502 } }, 'server'],
    [{ code: 'ECONNRESET' }, 'network'],
    [{ code: 'SELF_SIGNED_CERT_IN_CHAIN' }, 'network'],
    [new UploadPackError('upload-pack: not our ref abc', true), 'not-found'],
    [new UploadPackError('malformed', false), 'corrupt'],
    [new Error('pw leaked?'), 'other'],
  ])('%o is %s, without secrets', (err, kind) => {
    const e = classify(err, ctx);

    expect(e.kind).toBe(kind);
    expect(e.message).not.toContain('pw');
    expect(e.message).toContain('https://h/r.git');
  });

  it('the fetch timeout wins over the abort error', () => {
    expect(classify({ name: 'AbortError' }, { ...ctx, timedOut: true }).data.timeout).toBe(true);
  });
});

describe('source/protocol', () => {
  const pkt = (s: string | Buffer) => {
    const b = Buffer.from(s);
    return Buffer.concat([Buffer.from((b.length + 4).toString(16).padStart(4, '0')), b]);
  };

  it('parses shallow lines, NAK and the side-band pack', () => {
    const buf = Buffer.concat([pkt(`shallow ${'a'.repeat(40)}\n`), Buffer.from('0000'), pkt('NAK\n'), pkt(Buffer.from('\x01PA')), pkt(Buffer.from('\x02progress')), pkt(Buffer.from('\x01CK')), Buffer.from('0000')]);

    expect(parseUploadPackResponse(buf)).toEqual({ pack: Buffer.from('PACK'), shallow: ['a'.repeat(40)], unshallow: [] });
    expect(() => parseUploadPackResponse(Buffer.concat([pkt('ERR no such ref\n')]))).toThrow('no such ref');
  });

  it('resolves branches, tags (peeled), SHAs and HEAD', () => {
    const ad = { refs: new Map([['HEAD', '1'], ['refs/heads/main', '1'], ['refs/tags/v1', 't'], ['refs/tags/v1^{}', 'c']]), symrefs: new Map([['HEAD', 'refs/heads/main']]), capabilities: new Set<string>() };

    expect(resolveRemoteRef(ad, 'main')).toEqual({ oid: '1', fullRef: 'refs/heads/main' });
    expect(resolveRemoteRef(ad, 'v1')).toEqual({ oid: 'c', fullRef: 'refs/tags/v1' });
    expect(resolveRemoteRef(ad, undefined)).toEqual({ oid: '1', fullRef: 'refs/heads/main' });
    expect(resolveRemoteRef(ad, 'f'.repeat(40))?.oid).toBe('f'.repeat(40));
    expect(resolveRemoteRef(ad, 'nope')).toBeNull();
  });
});

describe('source/known-hosts', () => {
  it('parses ssh and scp-like URLs', () => {
    expect(parseSshUrl('ssh://git@h.example:2222/o/r.git')).toEqual({ host: 'h.example', port: 2222 });
    expect(parseSshUrl('git@github.com:org/repo.git')).toEqual({ host: 'github.com', port: 22 });
    expect(parseSshUrl('https://h/r')).toBeNull();
  });

  it('finds plain, bracketed, wildcard and hashed entries', () => {
    const hashed = '|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|3988QV0VE8wmZL7suNrYQLITLCg=';
    const text = `# c\nh.example,alias ssh-ed25519 AAAA\n[p.example]:2222 ssh-rsa AAAA\n*.wild ssh-rsa AAAA\n@revoked bad.example ssh-rsa AAAA\n${hashed} ssh-rsa AAAA\n`;

    expect(knownHostsHas(text, 'h.example')).toBe(true);
    expect(knownHostsHas(text, 'p.example', 2222)).toBe(true);
    expect(knownHostsHas(text, 'p.example')).toBe(false);
    expect(knownHostsHas(text, 'x.wild')).toBe(true);
    expect(knownHostsHas(text, 'bad.example')).toBe(false);
    expect(knownHostsHas(text, '192.168.1.61')).toBe(true);
  });

  it('detects the kind of a source URL', () => {
    expect(detectSource('https://h/r.git').kind).toBe('git-http');
    expect(detectSource('git@host.example:o/r.git').kind).toBe('git-ssh');
    expect(detectSource('/nonexistent/dir').kind).toBe('dir');
  });
});
