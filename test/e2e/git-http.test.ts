import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SourceError } from '../../src/errors.js';
import { createSource } from '../../src/source/index.js';
import type { Snapshot, SourceConfig, SourceLog } from '../../src/source/index.js';
import { createLargeRepo, createRepo, git, gitAvailable, prepareCommits, startGitServer } from './helpers/git-server.js';
import type { GitServer } from './helpers/git-server.js';

const job = (name: string): string => `apiVersion: v1\nkind: Job\nmetadata:\n  name: ${name}\n  tenant: acme\nspec:\n  schedule: "0 * * * *"\n  command: echo ${name}\n`;
const never = new AbortController().signal;

function memoryLog(): SourceLog & { lines: string[] } {
  const lines: string[] = [];
  const put = (obj: object, msg?: string): void => void lines.push(JSON.stringify({ ...obj, msg }));
  return { lines, debug: put, info: put, warn: put };
}

function allFilesText(dir: string): string {
  let out = '';
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out += readFileSync(path.join(e.parentPath, e.name)).toString('latin1');
  }
  return out;
}

describe.skipIf(!gitAvailable)('e2e/git-http', () => {
  let server: GitServer;
  let stateDir: string;
  beforeAll(async () => {
    server = await startGitServer();
  });
  afterAll(async () => {
    await server.stop();
  });
  afterEach(() => {
    rmSync(stateDir, { recursive: true, force: true });
  });
  beforeEach(() => {
    stateDir = mkdtempSync(path.join(tmpdir(), 'cronsync-state-'));
    server.auth = null;
    server.hook = null;
    server.requests.length = 0;
  });

  const make = (config: Partial<SourceConfig> & { url: string }, extra: object = {}) => createSource({ timeoutMs: 20_000, ...config }, { stateDir, ...extra });

  it('clones on first fetch, then a poll with no change fetches no pack', async () => {
    const repo = createRepo(server.root, 'first', { 'prod/a.yaml': job('a'), 'prod/b.yml': job('b'), 'README.md': '# hi' });
    const source = make({ url: server.repoUrl('first') });

    const s1 = await source.fetch(never);
    server.requests.length = 0;
    const s2 = await source.fetch(never, s1);

    expect(s1.commit).toBe(repo.revParse('main'));
    expect(s1.ref).toBe('main');
    expect(s1.url).toBe(server.repoUrl('first'));
    expect(s1.files.map((f) => [f.path, f.content.toString()])).toEqual([
      ['prod/a.yaml', job('a')],
      ['prod/b.yml', job('b')],
    ]);
    expect(s1.changes).toEqual({ added: ['prod/a.yaml', 'prod/b.yml'], modified: [], deleted: [] });
    expect(s1.unchanged).toBe(false);
    expect(s2.unchanged).toBe(true);
    expect(s2.files).toBe(s1.files);
    expect(s2.changes).toEqual({ added: [], modified: [], deleted: [] });
    expect(server.requests.map((r) => `${r.method} ${r.service}`)).toEqual(['GET git-upload-pack']);
  });

  it('after a restart (no previous snapshot) an unchanged commit fetches no pack and still returns every file', async () => {
    createRepo(server.root, 'restart', { 'a.yaml': job('a') });
    await make({ url: server.repoUrl('restart') }).fetch(never);
    server.requests.length = 0;

    const s = await make({ url: server.repoUrl('restart') }).fetch(never);

    expect(s.unchanged).toBe(true);
    expect(s.files.map((f) => f.content.toString())).toEqual([job('a')]);
    expect(server.requests.filter((r) => r.method === 'POST')).toEqual([]);
  });

  it('tells onListed how many files match before it reads them, on a clone and after a restart', async () => {
    createRepo(server.root, 'listed', { 'prod/a.yaml': job('a'), 'prod/b.yml': job('b'), 'README.md': '# hi' });
    const listed: number[] = [];

    const first = await make({ url: server.repoUrl('listed') }, { onListed: (n: number) => listed.push(n) }).fetch(never);
    const restart = await make({ url: server.repoUrl('listed') }, { onListed: (n: number) => listed.push(n) }).fetch(never);

    expect([first.files.length, restart.files.length, restart.unchanged]).toEqual([2, 2, true]);
    expect(listed).toEqual([2, 2]);
  });

  it('a new commit yields added, modified and deleted paths and reads only new blobs', async () => {
    const repo = createRepo(server.root, 'update', { 'a.yaml': job('a'), 'b.yaml': job('b'), 'c.yaml': job('c') });
    const source = make({ url: server.repoUrl('update') });
    const s1 = await source.fetch(never);
    repo.commit({ 'a.yaml': job('a2'), 'b.yaml': null, 'd/e.yaml': job('e') });

    const s2 = await source.fetch(never, s1);

    expect(s2.commit).toBe(repo.revParse('main'));
    expect(s2.changes).toEqual({ added: ['d/e.yaml'], modified: ['a.yaml'], deleted: ['b.yaml'] });
    expect(s2.files.map((f) => f.path)).toEqual(['a.yaml', 'c.yaml', 'd/e.yaml']);
    expect(s2.files.find((f) => f.path === 'c.yaml')?.content).toBe(s1.files.find((f) => f.path === 'c.yaml')?.content);
    expect(s2.files.find((f) => f.path === 'a.yaml')?.content.toString()).toBe(job('a2'));
  });

  it('follows a force-push to unrelated history', async () => {
    const repo = createRepo(server.root, 'force', { 'a.yaml': job('a'), 'b.yaml': job('b') });
    const source = make({ url: server.repoUrl('force') });
    const s1 = await source.fetch(never);
    const rewritten = repo.forcePush({ 'z.yaml': job('z'), 'b.yaml': job('b') });

    const s2 = await source.fetch(never, s1);

    expect(s2.commit).toBe(rewritten);
    expect(s2.changes).toEqual({ added: ['z.yaml'], modified: [], deleted: ['a.yaml'] });
    expect(s2.files.map((f) => f.content.toString())).toEqual([job('b'), job('z')]);
  });

  it('a deleted branch is a not-found error and the last snapshot stays usable', async () => {
    const repo = createRepo(server.root, 'gone', { 'a.yaml': job('a') });
    repo.commit({ 'b.yaml': job('b') }, { branch: 'feature' });
    const source = make({ url: server.repoUrl('gone'), ref: 'feature' });
    const s1 = await source.fetch(never);
    const copy = JSON.stringify(s1);
    repo.deleteBranch('feature');

    const err = await source.fetch(never, s1).catch((e: unknown) => e);
    repo.setBranch('feature', s1.commit as string);
    const again = await source.fetch(never, s1);

    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).kind).toBe('not-found');
    expect((err as SourceError).message).toContain('ref feature not found');
    expect(JSON.stringify(s1)).toBe(copy);
    expect(again.unchanged).toBe(true);
  });

  it('a branch moved to a tree or a blob is a not-found error naming the ref, and the clone is kept', async () => {
    const repo = createRepo(server.root, 'notcommit', { 'a.yaml': job('a') });
    const source = make({ url: server.repoUrl('notcommit') });
    const s1 = await source.fetch(never);
    const packDir = path.join(stateDir, 'sources', source.id, 'objects', 'pack');
    const packs = readdirSync(packDir);
    const commit = s1.commit as string;

    const errors: unknown[] = [];
    for (const target of [git(['--git-dir', repo.gitdir, 'rev-parse', `${commit}^{tree}`]), git(['--git-dir', repo.gitdir, 'rev-parse', `${commit}:a.yaml`])]) {
      repo.setBranch('main', target);
      errors.push(await make({ url: server.repoUrl('notcommit') }).fetch(never).catch((e: unknown) => e));
    }

    expect(errors.map((e) => [(e as SourceError).kind, (e as SourceError).message.replace(/ \([0-9a-f]{40}\)/, '')])).toEqual([
      ['not-found', `Git source ${server.repoUrl('notcommit')}: ref main points at a tree, not a commit`],
      ['not-found', `Git source ${server.repoUrl('notcommit')}: ref main points at a blob, not a commit`],
    ]);
    expect(readdirSync(packDir)).toEqual(packs);
  });

  it('a missing repository is not-found', async () => {
    const err = await make({ url: server.repoUrl('nope') }).fetch(never).catch((e: unknown) => e);

    expect((err as SourceError).kind).toBe('not-found');
  });

  it('authenticates with a password file and never writes or shows the password', async () => {
    const secret = 's3cr3t-t0ken-XYZ';
    createRepo(server.root, 'private', { 'a.yaml': job('a') });
    server.auth = { username: 'bot', password: secret };
    const pwFile = path.join(stateDir, 'pw');
    writeFileSync(pwFile, secret + '\n');
    const log = memoryLog();

    const s = await make({ url: server.repoUrl('private'), auth: { username: 'bot', passwordFile: pwFile } }, { log }).fetch(never);
    rmSync(pwFile);

    expect(s.files).toHaveLength(1);
    expect(server.requests.every((r) => r.user === 'bot')).toBe(true);
    expect(server.requests).toHaveLength(2);
    expect(allFilesText(stateDir)).not.toContain(secret);
    expect(allFilesText(stateDir)).not.toContain(Buffer.from(`bot:${secret}`).toString('base64'));
    expect(log.lines.join('\n')).not.toContain(secret);
  });

  it('a wrong password is an auth error that names neither password nor URL userinfo', async () => {
    createRepo(server.root, 'private2', { 'a.yaml': job('a') });
    server.auth = { username: 'bot', password: 'right' };
    const log = memoryLog();
    const url = server.repoUrl('private2').replace('http://', 'http://bot:wrong-pass-123@');

    const err = (await make({ url }, { log }).fetch(never).catch((e: unknown) => e)) as SourceError;

    expect(err.kind).toBe('auth');
    expect(err.code).toBe('CRONSYNC_SOURCE_AUTH');
    expect(err.message).toContain(server.repoUrl('private2'));
    expect(JSON.stringify({ m: err.message, d: err.data, s: err.stack })).not.toContain('wrong-pass-123');
    expect(log.lines.join('\n')).not.toContain('wrong-pass-123');
    expect(allFilesText(stateDir)).not.toContain('wrong-pass-123');
  });

  it('password from an environment variable; an unset variable is an auth error', async () => {
    createRepo(server.root, 'private3', { 'a.yaml': job('a') });
    server.auth = { username: 'bot', password: 'envpw' };

    const ok = await make({ url: server.repoUrl('private3'), auth: { username: 'bot', passwordEnv: 'GIT_PW' } }, { env: { GIT_PW: 'envpw' } }).fetch(never);
    const err = (await make({ url: server.repoUrl('private3'), auth: { username: 'bot', passwordEnv: 'NOPE' } }, { env: {} }).fetch(never).catch((e: unknown) => e)) as SourceError;

    expect(ok.files).toHaveLength(1);
    expect(err.kind).toBe('auth');
    expect(err.message).toContain('NOPE');
  });

  it('server down is a network error', async () => {
    const down = await startGitServer();
    const url = down.repoUrl('x');
    await down.stop();

    const err = (await make({ url }).fetch(never).catch((e: unknown) => e)) as SourceError;

    expect(err.kind).toBe('network');
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('HTTP 500 is a server error, on the advertisement and on the pack request', async () => {
    createRepo(server.root, 'five', { 'a.yaml': job('a') });
    server.hook = (_req, res) => {
      res.writeHead(500);
      res.end('boom');
      return true;
    };
    const e1 = (await make({ url: server.repoUrl('five') }).fetch(never).catch((e: unknown) => e)) as SourceError;
    server.hook = (req, res) => {
      if (req.method !== 'POST') return false;
      res.writeHead(503);
      res.end();
      return true;
    };
    const e2 = (await make({ url: server.repoUrl('five') }).fetch(never).catch((e: unknown) => e)) as SourceError;

    expect([e1.kind, e1.data.status]).toEqual(['server', 500]);
    expect([e2.kind, e2.data.status]).toEqual(['server', 503]);
  });

  it('never follows a redirect to another host, so credentials stay home; the error names where it points, without secrets', async () => {
    createRepo(server.root, 'moved', { 'a.yaml': job('a') });
    const elsewhere: { auth?: string; url?: string }[] = [];
    const other = http.createServer((req, res) => {
      elsewhere.push({ auth: req.headers.authorization, url: req.url });
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    const port = (other.address() as AddressInfo).port;
    const target = `http://evil:pw-in-location@localhost:${port}/moved.git/info/refs?service=git-upload-pack&token=qs-secret`;
    server.hook = (_req, res) => {
      res.writeHead(301, { location: target });
      res.end();
      return true;
    };
    server.auth = { username: 'bot', password: 'home-password-1' };

    const err = (await make({ url: server.repoUrl('moved'), auth: { username: 'bot', passwordEnv: 'PW' } }, { env: { PW: 'home-password-1' } }).fetch(never).catch((e: unknown) => e)) as SourceError;
    await new Promise<void>((r) => other.close(() => r()));

    expect(err).toBeInstanceOf(SourceError);
    expect(elsewhere).toEqual([]);
    expect(err.message).toContain(`redirects to http://localhost:${port}/moved.git/info/refs`);
    expect(err.message).toContain('redirects are not followed');
    expect(err.data.status).toBe(301);
    expect(JSON.stringify({ m: err.message, d: err.data })).not.toMatch(/pw-in-location|qs-secret|home-password-1/);
  });

  it('a slow server hits the timeout', async () => {
    createRepo(server.root, 'slow', { 'a.yaml': job('a') });
    server.hook = () => true; // never answers

    const err = (await make({ url: server.repoUrl('slow'), timeoutMs: 150 }).fetch(never).catch((e: unknown) => e)) as SourceError;

    expect(err.kind).toBe('network');
    expect(err.data.timeout).toBe(true);
    expect(err.message).toContain('timed out after 150 ms');
  });

  it('reads tag and SHA refs (annotated and lightweight tags)', async () => {
    const repo = createRepo(server.root, 'refs', { 'a.yaml': job('v1') });
    const first = repo.revParse('main');
    repo.tag('v1', first);
    repo.commit({ 'a.yaml': job('v2') });
    const { git } = await import('./helpers/git-server.js');
    git(['--git-dir', repo.gitdir, 'tag', '-a', '-m', 'release', 'v2', 'main']);
    repo.commit({ 'a.yaml': job('v3') });

    const light = await make({ url: server.repoUrl('refs'), ref: 'v1' }).fetch(never);
    const annotated = await make({ url: server.repoUrl('refs'), ref: 'v2' }).fetch(never);
    const bySha = await make({ url: server.repoUrl('refs'), ref: first }).fetch(never);

    expect([light.commit, light.ref, light.files[0]?.content.toString()]).toEqual([first, 'v1', job('v1')]);
    expect(annotated.commit).toBe(repo.revParse('v2^{commit}'));
    expect(annotated.files[0]?.content.toString()).toBe(job('v2'));
    expect([bySha.commit, bySha.ref]).toEqual([first, first]);
  });

  it('applies include and exclude globs; changing them re-reads and changes the source id', async () => {
    createRepo(server.root, 'globs', { 'prod/a.yaml': job('a'), 'prod/README.yaml': 'x', 'dev/b.yaml': job('b'), 'prod/sub/c.yml': job('c') });
    const narrow = make({ url: server.repoUrl('globs'), paths: ['prod/**/*.yaml', 'prod/**/*.yml'], exclude: ['**/README*'] });
    const wide = make({ url: server.repoUrl('globs') });

    const s1 = await narrow.fetch(never);
    const s2 = await wide.fetch(never, s1);

    expect(s1.files.map((f) => f.path)).toEqual(['prod/a.yaml', 'prod/sub/c.yml']);
    expect(narrow.id).not.toBe(wide.id);
    expect(s2.unchanged).toBe(false);
    expect(s2.changes).toEqual({ added: ['dev/b.yaml', 'prod/README.yaml'], modified: [], deleted: [] });
  });

  it('removes the clone of an earlier source id once the new one is fetched', async () => {
    createRepo(server.root, 'moved-from', { 'a.yaml': job('a') });
    createRepo(server.root, 'moved-to', { 'b.yaml': job('b') });
    const before = make({ url: server.repoUrl('moved-from') });
    const after = make({ url: server.repoUrl('moved-to') });
    await before.fetch(never);
    mkdirSync(path.join(stateDir, 'sources', 'not-a-clone'));

    const s = await after.fetch(never);

    expect(s.files.map((f) => f.path)).toEqual(['b.yaml']);
    expect(readdirSync(path.join(stateDir, 'sources')).sort()).toEqual([after.id, 'not-a-clone'].sort());
  });

  it('gives files over 1 MiB and symlinks a per-file error, keeping the rest', async () => {
    const repo = createRepo(server.root, 'limits', { 'ok.yaml': job('ok'), 'big.yaml': 'x'.repeat(1024 * 1024 + 1) });
    const { git } = await import('./helpers/git-server.js');
    const blob = git(['--git-dir', repo.gitdir, 'hash-object', '-w', '--stdin'], { input: '/etc/passwd' });
    const tree = git(['--git-dir', repo.gitdir, 'mktree'], {
      input: git(['--git-dir', repo.gitdir, 'ls-tree', 'main']) + `\n120000 blob ${blob}\tlink.yaml\n`,
    });
    repo.setBranch('main', git(['--git-dir', repo.gitdir, 'commit-tree', tree, '-p', 'main', '-m', 'link']));

    const s = await make({ url: server.repoUrl('limits') }).fetch(never);

    expect(s.files.map((f) => [f.path, f.error ?? 'ok'])).toEqual([
      ['big.yaml', 'file is 1048577 bytes, over the 1 MiB limit'],
      ['link.yaml', 'symbolic link not followed'],
      ['ok.yaml', 'ok'],
    ]);
  });

  it('rebuilds a corrupt local clone on its own', async () => {
    const repo = createRepo(server.root, 'corrupt', { 'a.yaml': job('a') });
    const source = make({ url: server.repoUrl('corrupt') });
    const s1 = await source.fetch(never);
    const packDir = path.join(stateDir, 'sources', source.id, 'objects', 'pack');
    for (const f of readdirSync(packDir)) writeFileSync(path.join(packDir, f), 'garbage');
    repo.commit({ 'b.yaml': job('b') });

    const fresh = createSource({ url: server.repoUrl('corrupt') }, { stateDir });
    const s2 = await fresh.fetch(never, s1);

    expect(s2.commit).toBe(repo.revParse('main'));
    expect(s2.changes.added).toEqual(['b.yaml']);
  });

  it('skips a directory nested deeper than 256 levels instead of failing every fetch', async () => {
    const deep = `${Array.from({ length: 300 }, () => 'd').join('/')}/x.yaml`;
    const repo = createRepo(server.root, 'deep', { 'a.yaml': job('a'), [deep]: job('x') });
    const log = memoryLog();
    const source = make({ url: server.repoUrl('deep') }, { compactAfter: 0, log });

    const s1 = await source.fetch(never);
    repo.commit({ 'b.yaml': job('b') });
    const s2 = await source.fetch(never, s1);

    expect(s1.files.map((f) => f.path)).toEqual(['a.yaml']);
    expect(s2.files.map((f) => f.path)).toEqual(['a.yaml', 'b.yaml']);
    expect(log.lines.some((l) => l.includes('Unsafe paths ignored') && l.includes('d/d/d/'))).toBe(true);
  });

  it('removes the temp files a killed fetch left in the clone', async () => {
    createRepo(server.root, 'killed', { 'a.yaml': job('a') });
    const s1 = await make({ url: server.repoUrl('killed') }).fetch(never);
    const gitdir = path.join(stateDir, 'sources', s1.sourceId);
    const pack = readdirSync(path.join(gitdir, 'objects', 'pack')).find((f) => f.endsWith('.pack')) as string;
    const left = [path.join(gitdir, 'objects', 'pack', `${pack}.tmp-4194304`), path.join(gitdir, 'cronsync.json.tmp-77'), path.join(gitdir, 'refs', 'heads', 'cronsync.tmp-77')];
    for (const f of left) writeFileSync(f, 'partial');

    const s2 = await make({ url: server.repoUrl('killed') }).fetch(never);

    expect(s2.files.map((f) => f.content.toString())).toEqual([job('a')]);
    expect(left.filter((f) => existsSync(f))).toEqual([]);
  });

  it('a lost pack of the clone is rebuilt, not read as files emptied by the commit', async () => {
    const repo = createRepo(server.root, 'lostpack', { 'a.yaml': job('a'), 'b.yaml': job('b') });
    const s1 = await make({ url: server.repoUrl('lostpack') }).fetch(never);
    const packDir = path.join(stateDir, 'sources', s1.sourceId, 'objects', 'pack');
    const first = readdirSync(packDir);
    repo.commit({ 'a.yaml': job('a2') });
    await make({ url: server.repoUrl('lostpack') }).fetch(never, s1);
    for (const f of first) rmSync(path.join(packDir, f));

    const s3 = await make({ url: server.repoUrl('lostpack') }).fetch(never);

    expect(s3.commit).toBe(repo.revParse('main'));
    expect(s3.files.map((f) => [f.path, f.content.toString()])).toEqual([
      ['a.yaml', job('a2')],
      ['b.yaml', job('b')],
    ]);
  });

  it('a pack response ended early keeps the clone, so the next fetch is still a small one', async () => {
    const repo = createRepo(server.root, 'cut', { 'a.yaml': job('a') });
    const s1 = await make({ url: server.repoUrl('cut') }).fetch(never);
    const packDir = path.join(stateDir, 'sources', s1.sourceId, 'objects', 'pack');
    const packs = readdirSync(packDir);
    repo.commit({ 'a.yaml': job('a2') });
    server.hook = (req, res) => {
      if (req.method !== 'POST') return false;
      res.writeHead(200, { 'content-type': 'application/x-git-upload-pack-result' });
      res.end('0008NAK\n0025\x01PACK\x00\x00\x00\x02\x00\x00\x00\x03abcdefghijklmnop');
      return true;
    };

    const err = await make({ url: server.repoUrl('cut') }).fetch(never).catch((e: unknown) => e);

    expect((err as SourceError).message).toContain('malformed pkt-line in upload-pack response');
    expect(readdirSync(packDir)).toEqual(packs);
  });

  it('a running source follows a clone that another process compacted, and rebuilds one removed under it', async () => {
    const repo = createRepo(server.root, 'shared', { 'a.yaml': job('a') });
    const daemon = make({ url: server.repoUrl('shared') });
    const s1 = await daemon.fetch(never);
    repo.commit({ 'a.yaml': job('a2') });
    await make({ url: server.repoUrl('shared') }, { compactAfter: 0 }).fetch(never);
    repo.commit({ 'a.yaml': job('a3') });
    const s2 = await daemon.fetch(never, s1);
    rmSync(path.join(stateDir, 'sources'), { recursive: true });
    repo.commit({ 'a.yaml': job('a4') });

    const s3 = await daemon.fetch(never, s2);

    expect([s2, s3].map((s) => s.files[0]?.content.toString())).toEqual([job('a3'), job('a4')]);
  });

  it('a lost pack holding only unmatched files is rebuilt when the clone is compacted', async () => {
    const repo = createRepo(server.root, 'lostcompact', { 'a.yaml': job('a'), 'README.md': '# jobs\n' });
    const s1 = await make({ url: server.repoUrl('lostcompact') }, { compactAfter: 2 }).fetch(never);
    const packDir = path.join(stateDir, 'sources', s1.sourceId, 'objects', 'pack');
    const first = readdirSync(packDir);
    repo.commit({ 'a.yaml': job('a2') });
    const s2 = await make({ url: server.repoUrl('lostcompact') }, { compactAfter: 2 }).fetch(never, s1);
    for (const f of first) rmSync(path.join(packDir, f));
    repo.commit({ 'a.yaml': job('a3') });
    const s3 = await make({ url: server.repoUrl('lostcompact') }, { compactAfter: 2 }).fetch(never, s2);
    repo.commit({ 'a.yaml': job('a4') });

    const s4 = await make({ url: server.repoUrl('lostcompact') }, { compactAfter: 2 }).fetch(never, s3);

    expect(s4.files.map((f) => f.content.toString())).toEqual([job('a4')]);
    expect(readdirSync(packDir).filter((f) => f.endsWith('.pack'))).toHaveLength(1);
  });

  it('syncs a repository of 10,000 files', async () => {
    const repo = createLargeRepo(server.root, 'big', 10_000, (i) => ({ path: `team${i % 40}/job-${i}.yaml`, content: job(`job-${i}`) }));
    const source = make({ url: server.repoUrl('big') });

    const s1 = await source.fetch(never);
    const [next] = prepareCommits(repo, 'main', 1, () => ({ path: 'team1/job-1.yaml', content: job('changed') }));
    repo.setBranch('main', next as string);
    server.requests.length = 0;
    const s2 = await source.fetch(never, s1);

    expect(s1.files).toHaveLength(10_000);
    expect(s1.files[0]?.path).toBe('team0/job-0.yaml');
    expect(s2.changes).toEqual({ added: [], modified: ['team1/job-1.yaml'], deleted: [] });
    expect(s2.files.find((f) => f.path === 'team1/job-1.yaml')?.content.toString()).toBe(job('changed'));
    // The update is a thin pack of a few objects, not the whole tree again.
    expect(server.requests.find((r) => r.method === 'POST')?.bytes).toBeLessThan(20_000);
  }, 60_000);

  it('1,000 small sequential updates keep the clone bounded', async () => {
    const repo = createRepo(server.root, 'many', { 'a.yaml': job('a'), 'b.yaml': job('b') });
    const commits = prepareCommits(repo, 'main', 1000, (i) => ({ path: `f${i % 7}.yaml`, content: job(`n${i}`) }));
    const source = make({ url: server.repoUrl('many') }, { compactAfter: 8 });
    const gitdir = path.join(stateDir, 'sources', source.id);
    let snap: Snapshot = await source.fetch(never);
    let maxPacks = 0;

    for (const [i, c] of commits.entries()) {
      repo.setBranch('main', c);
      snap = await source.fetch(never, snap);
      expect(snap.commit).toBe(c);
      expect(snap.files.find((f) => f.path === `f${i % 7}.yaml`)?.content.toString()).toBe(job(`n${i}`));
      maxPacks = Math.max(maxPacks, readdirSync(path.join(gitdir, 'objects', 'pack')).length / 2);
    }

    const size = readdirSync(gitdir, { recursive: true, withFileTypes: true }).reduce((n, e) => n + (e.isFile() ? statSync(path.join(e.parentPath, e.name)).size : 0), 0);
    expect(snap.files).toHaveLength(9);
    expect(maxPacks).toBeLessThanOrEqual(9);
    expect(readFileSync(path.join(gitdir, 'shallow'), 'utf8').trim().split('\n').length).toBeLessThanOrEqual(9);
    expect(size).toBeLessThan(64 * 1024);
  }, 180_000);
});
