/**
 * A real Git smart-HTTP server for end-to-end tests: git's own `git http-backend` CGI behind a
 * Node HTTP server on 127.0.0.1:0, with optional basic auth, a request log and a hook to inject
 * failures. Repositories are bare repos under a temporary root, written with the `git` CLI
 * (GIT_CONFIG_GLOBAL=/dev/null, fixed author and dates, so commit ids are reproducible).
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Path of git's CGI. */
export const HTTP_BACKEND = '/usr/lib/git-core/git-http-backend';

/** Whether the machine can run these tests (git and its http-backend present). */
export const gitAvailable = spawnSync('git', ['--version']).status === 0 && existsSync(HTTP_BACKEND);

/** Environment for every git command run by the tests: no user or system config, fixed identity. */
export const gitEnv: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: tmpdir(),
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_AUTHOR_DATE: '1700000000 +0000',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_COMMITTER_DATE: '1700000000 +0000',
  GIT_TERMINAL_PROMPT: '0',
  LANG: 'C',
};

/** One request seen by the server. */
export interface RequestLogEntry {
  method: string;
  /** Path without query, e.g. `/repo.git/info/refs`. */
  path: string;
  /** `git-upload-pack` and friends, from the query or the path. */
  service: string | null;
  /** Basic-auth user name sent, if any (the password is never recorded). */
  user: string | null;
  status: number;
  /** Bytes of response body sent. */
  bytes: number;
}

/** A hook that may answer a request itself (return true) to simulate failures. */
export type RequestHook = (req: http.IncomingMessage, res: http.ServerResponse) => boolean | Promise<boolean>;

/** A running test Git server. */
export interface GitServer {
  /** `http://127.0.0.1:PORT`. */
  readonly baseUrl: string;
  /** Directory holding the bare repositories. */
  readonly root: string;
  /** Every request answered, oldest first. Tests may clear it with `requests.length = 0`. */
  readonly requests: RequestLogEntry[];
  /** Basic auth required by the server, or null for none. Mutable. */
  auth: { username: string; password: string } | null;
  /** Failure injection; runs before auth and the CGI. Mutable. */
  hook: RequestHook | null;
  /** URL of repository `name` (served from `<root>/<name>.git`). */
  repoUrl(name: string): string;
  /** Stops the server and removes the root unless `keep`. */
  stop(opts?: { keep?: boolean }): Promise<void>;
}

/** Starts a server on 127.0.0.1:0. */
export async function startGitServer(opts: { root?: string; auth?: { username: string; password: string } } = {}): Promise<GitServer> {
  const root = opts.root ?? mkdtempSync(path.join(tmpdir(), 'cronsync-gitsrv-'));
  const requests: RequestLogEntry[] = [];
  const sockets = new Set<Socket>();
  const state: { auth: GitServer['auth']; hook: RequestHook | null } = { auth: opts.auth ?? null, hook: null };

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const entry: RequestLogEntry = {
      method: req.method ?? 'GET',
      path: url.pathname,
      service: url.searchParams.get('service') ?? (/\/(git-[a-z-]+)$/.exec(url.pathname)?.[1] ?? null),
      user: null,
      status: 0,
      bytes: 0,
    };
    let bytes = 0;
    const write = res.write.bind(res);
    res.write = ((chunk: Buffer | string, ...rest: never[]) => {
      bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
      return write(chunk, ...rest);
    }) as typeof res.write;
    res.on('finish', () => {
      entry.status = res.statusCode;
      entry.bytes = bytes;
      requests.push(entry);
    });

    if (state.hook && (await state.hook(req, res))) return;

    const header = req.headers.authorization;
    if (header?.startsWith('Basic ')) entry.user = Buffer.from(header.slice(6), 'base64').toString().split(':')[0] ?? null;
    if (state.auth) {
      const want = 'Basic ' + Buffer.from(`${state.auth.username}:${state.auth.password}`).toString('base64');
      if (header !== want) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' });
        res.end('unauthorized');
        return;
      }
    }
    await runCgi(req, res, url);
  }

  function runCgi(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const env: NodeJS.ProcessEnv = {
      ...gitEnv,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      REQUEST_METHOD: req.method ?? 'GET',
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      REMOTE_ADDR: '127.0.0.1',
      REMOTE_USER: state.auth?.username ?? '',
      HTTP_GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
      HTTP_CONTENT_ENCODING: String(req.headers['content-encoding'] ?? ''),
    };
    if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
    return new Promise((resolve) => {
      const child = spawn(HTTP_BACKEND, [], { env, stdio: ['pipe', 'pipe', 'ignore'] });
      req.pipe(child.stdin);
      child.stdin.on('error', () => undefined);
      let head = Buffer.alloc(0);
      let inBody = false;
      child.stdout.on('data', (chunk: Buffer) => {
        if (inBody) {
          res.write(chunk);
          return;
        }
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        inBody = true;
        let status = 200;
        for (const line of head.subarray(0, end).toString().split('\r\n')) {
          const i = line.indexOf(':');
          const name = line.slice(0, i).trim();
          const value = line.slice(i + 1).trim();
          if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
          else res.setHeader(name, value);
        }
        res.statusCode = status;
        const rest = head.subarray(end + 4);
        if (rest.length) res.write(rest);
      });
      child.on('close', () => {
        if (!inBody && !res.headersSent) res.statusCode = 502;
        res.end();
        resolve();
      });
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    root,
    requests,
    get auth() {
      return state.auth;
    },
    set auth(v) {
      state.auth = v;
    },
    get hook() {
      return state.hook;
    },
    set hook(v) {
      state.hook = v;
    },
    repoUrl: (name) => `${baseUrl}/${name}.git`,
    async stop({ keep = false } = {}) {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (!keep && !opts.root) rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Runs git synchronously with the test environment; returns trimmed stdout or throws with stderr. */
export function git(args: string[], opts: { cwd?: string; input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync('git', args, { cwd: opts.cwd, input: opts.input, env: { ...gitEnv, ...opts.env }, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr?.toString()}`);
  return r.stdout.toString().trim();
}

/** Files of a commit: path → content; `null` deletes the path. */
export type FileMap = Record<string, string | Buffer | null>;

/** A bare repository that the test writes commits into without a working tree of its own. */
export interface TestRepo {
  /** Path of the bare repository. */
  readonly gitdir: string;
  readonly name: string;
  /**
   * Commits `files` on top of `branch` (default `main`) and moves the branch; returns the new commit id.
   * With `orphan`, the commit has no parent and holds exactly `files` (history rewritten, as after a force-push).
   */
  commit(files: FileMap, opts?: { branch?: string; message?: string; orphan?: boolean }): string;
  /** Force-pushes unrelated history: `branch` now points at a parentless commit holding exactly `files`. */
  forcePush(files: FileMap, branch?: string): string;
  /** Creates or moves tag `name` to `target` (a commit id or a branch). */
  tag(name: string, target: string): void;
  /** Deletes `branch`. */
  deleteBranch(branch: string): void;
  /** Points `branch` at `commit` by writing the ref file (fast; used to replay prepared commits). */
  setBranch(branch: string, commit: string): void;
  /** Resolves a ref to a commit id. */
  revParse(ref: string): string;
}

/** Creates bare repository `<root>/<name>.git` with an initial commit of `files` on `main` (none if `files` is null). */
export function createRepo(root: string, name: string, files: FileMap | null): TestRepo {
  const gitdir = path.join(root, `${name}.git`);
  git(['init', '--bare', '-q', '-b', 'main', gitdir]);
  // Lets the tests fetch a commit by id over protocol v0/v1, as GitHub and GitLab allow.
  git(['--git-dir', gitdir, 'config', 'uploadpack.allowReachableSHA1InWant', 'true']);
  const index = path.join(root, `${name}.index`);
  const work = path.join(root, `${name}.work`);
  mkdirSync(work, { recursive: true });
  let tick = 0;

  const repo: TestRepo = {
    gitdir,
    name,
    commit(fileMap, { branch = 'main', message, orphan = false } = {}) {
      const env = { GIT_INDEX_FILE: index, GIT_DIR: gitdir, GIT_WORK_TREE: work, GIT_COMMITTER_DATE: `${1700000000 + ++tick} +0000` };
      let parent: string | null = null;
      try {
        parent = git(['rev-parse', '--verify', '-q', `refs/heads/${branch}`], { env });
      } catch {
        parent = null;
      }
      if (orphan || !parent) {
        rmSync(work, { recursive: true, force: true });
        mkdirSync(work, { recursive: true });
        rmSync(index, { force: true });
      } else {
        git(['read-tree', parent], { env });
        git(['checkout-index', '-a', '-f'], { env });
      }
      for (const [p, content] of Object.entries(fileMap)) {
        const full = path.join(work, p);
        if (content === null) rmSync(full, { force: true });
        else {
          mkdirSync(path.dirname(full), { recursive: true });
          writeFileSync(full, content);
        }
      }
      git(['add', '-A', '.'], { env, cwd: work });
      const tree = git(['write-tree'], { env });
      const args = ['commit-tree', tree, '-m', message ?? `commit ${tick}`];
      if (parent && !orphan) args.push('-p', parent);
      const sha = git(args, { env });
      git(['update-ref', `refs/heads/${branch}`, sha], { env });
      return sha;
    },
    forcePush(fileMap, branch = 'main') {
      return repo.commit(fileMap, { branch, orphan: true, message: 'rewritten history' });
    },
    tag(tagName, target) {
      git(['--git-dir', gitdir, 'tag', '-f', tagName, target]);
    },
    deleteBranch(branch) {
      git(['--git-dir', gitdir, 'update-ref', '-d', `refs/heads/${branch}`]);
    },
    setBranch(branch, commit) {
      writeFileSync(path.join(gitdir, 'refs', 'heads', branch), commit + '\n');
    },
    revParse(ref) {
      return git(['--git-dir', gitdir, 'rev-parse', ref]);
    },
  };
  if (files) repo.commit(files);
  return repo;
}

/**
 * Creates a bare repository with one commit of `count` small files on `main`, written by
 * `git fast-import` in one process (10,000 files take well under a second).
 * `fileFor(i)` gives the path and content of file i.
 */
export function createLargeRepo(root: string, name: string, count: number, fileFor: (i: number) => { path: string; content: string }): TestRepo {
  const repo = createRepo(root, name, null);
  const parts: string[] = ['commit refs/heads/main\ncommitter Test <test@example.com> 1700000000 +0000\ndata 5\nlarge\n'];
  for (let i = 0; i < count; i++) {
    const f = fileFor(i);
    parts.push(`M 100644 inline ${f.path}\ndata ${Buffer.byteLength(f.content)}\n${f.content}\n`);
  }
  parts.push('\n');
  git(['--git-dir', repo.gitdir, 'fast-import', '--quiet'], { input: parts.join('') });
  return repo;
}

/**
 * Appends `count` commits to `branch` in one `git fast-import` run, each changing one file via
 * `change(i)`, without moving the branch; returns the commit ids in order. Replay them with
 * `repo.setBranch` to simulate a stream of small pushes cheaply.
 */
export function prepareCommits(repo: TestRepo, branch: string, count: number, change: (i: number) => { path: string; content: string }): string[] {
  const parent = repo.revParse(branch);
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    const f = change(i);
    parts.push(`commit refs/prepared/${branch}\nmark :${i + 1}\ncommitter Test <test@example.com> ${1700001000 + i} +0000\ndata 7\nupdate\n`);
    if (i === 0) parts.push(`from ${parent}\n`);
    parts.push(`M 100644 inline ${f.path}\ndata ${Buffer.byteLength(f.content)}\n${f.content}\n\n`);
  }
  const marks = path.join(path.dirname(repo.gitdir), `${repo.name}.marks`);
  git(['--git-dir', repo.gitdir, 'fast-import', '--quiet', `--export-marks=${marks}`], { input: parts.join('') });
  const ids = git(['--git-dir', repo.gitdir, 'rev-list', '--reverse', `${parent}..refs/prepared/${branch}`]).split('\n');
  return ids;
}

/** The host key in the known_hosts of {@link makeFakeSsh} (a test key, never a real host's). */
export const TEST_SSH_HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';

/**
 * Writes into `dir` a stand-in for ssh, which runs the remote command (git-upload-pack '<path>')
 * locally, and a known_hosts file naming `git.example.test`: an SSH source of
 * `ssh://git@git.example.test<gitdir>` with `sshProgram: fakeSsh` fetches from that local repository.
 */
export function makeFakeSsh(dir: string): { fakeSsh: string; knownHosts: string } {
  const program = path.join(dir, 'fake-ssh');
  writeFileSync(program, '#!/bin/sh\nfor last; do :; done\nexec sh -c "$last"\n');
  chmodSync(program, 0o755);
  const knownHosts = path.join(dir, 'known_hosts');
  writeFileSync(knownHosts, `git.example.test ${TEST_SSH_HOST_KEY}\n`);
  return { fakeSsh: program, knownHosts };
}
