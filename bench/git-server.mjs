// A minimal `git http-backend` server on 127.0.0.1:0 for the git benchmarks (plain JS twin of
// test/e2e/helpers/git-server.ts, so that `npm run bench` needs no TypeScript loader).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const gitEnv = { PATH: process.env.PATH, HOME: tmpdir(), GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', LANG: 'C' };

export function git(args, input) {
  const r = spawnSync('git', args, { input, env: gitEnv, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`git ${args[0]} failed: ${r.stderr}`);
  return r.stdout.toString().trim();
}

/** Runs a command asynchronously (the server lives in this process); resolves with the exit code. */
export function run(cmd, args, opts = {}) {
  return new Promise((resolve) => spawn(cmd, args, { env: gitEnv, stdio: 'ignore', ...opts }).on('close', resolve));
}

export async function startServer() {
  const root = mkdtempSync(path.join(tmpdir(), 'cronsync-bench-'));
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const env = {
      ...gitEnv, GIT_PROJECT_ROOT: root, GIT_HTTP_EXPORT_ALL: '1', PATH_INFO: url.pathname, QUERY_STRING: url.search.slice(1),
      REQUEST_METHOD: req.method, CONTENT_TYPE: req.headers['content-type'] ?? '', HTTP_GIT_PROTOCOL: req.headers['git-protocol'] ?? '',
      HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '', REMOTE_ADDR: '127.0.0.1',
      ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
    };
    const child = spawn('/usr/lib/git-core/git-http-backend', [], { env, stdio: ['pipe', 'pipe', 'ignore'] });
    req.pipe(child.stdin);
    let head = Buffer.alloc(0);
    let body = false;
    child.stdout.on('data', (c) => {
      if (body) return void res.write(c);
      head = Buffer.concat([head, c]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      body = true;
      for (const line of head.subarray(0, end).toString().split('\r\n')) {
        const i = line.indexOf(':');
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === 'status') res.statusCode = parseInt(v, 10);
        else res.setHeader(k, v);
      }
      res.write(head.subarray(end + 4));
    });
    child.on('close', () => res.end());
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    root,
    url: (name) => `${base}/${name}.git`,
    async stop() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** One commit of `count` manifests on `main`, via fast-import. */
export function createLargeRepo(root, name, count) {
  const gitdir = path.join(root, `${name}.git`);
  git(['init', '--bare', '-q', '-b', 'main', gitdir]);
  const parts = ['commit refs/heads/main\ncommitter B <b@example.com> 1700000000 +0000\ndata 5\nlarge\n'];
  for (let i = 0; i < count; i++) parts.push(`M 100644 inline team${i % 40}/job-${i}.yaml\ndata <<EOF\n${manifest(`job-${i}`)}EOF\n`);
  git(['--git-dir', gitdir, 'fast-import', '--quiet'], parts.join('') + '\n');
  return gitdir;
}

/** Commits a change of one file on top of `main`. */
export function commitOne(gitdir, file, content, n) {
  git(['--git-dir', gitdir, 'fast-import', '--quiet'], `commit refs/heads/main\ncommitter B <b@example.com> ${1700000100 + n} +0000\ndata 6\nupdate\nfrom refs/heads/main^0\nM 100644 inline ${file}\ndata <<EOF\n${content}EOF\n\n`);
}

export function manifest(name) {
  return `apiVersion: v1\nkind: Job\nmetadata:\n  name: ${name}\n  tenant: acme\nspec:\n  schedule: "0 * * * *"\n  command: /usr/local/bin/${name}.sh\n`;
}
