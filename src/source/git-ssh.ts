/**
 * The git source over SSH, through the system `git` binary (isomorphic-git cannot speak SSH).
 * Host keys are checked strictly against the configured known_hosts file, the key file is the
 * configured one, and git runs with no user or system config and no prompts. What the server
 * sends is capped on its way to git (the ref advertisement at a fixed size, a fetch at
 * `source.maxFetchSize`): past the cap the connection is cut and the limit reported.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { makeDirSync } from '../system/regular-file.js';
import path from 'node:path';
import { SourceError } from '../errors.js';
import type { SourceErrorKind } from '../errors.js';
import { scrub, timeoutText } from './classify.js';
import { knownHostsHas, parseSshUrl } from './known-hosts.js';
import { provenanceUrl } from './url.js';
import { limitError, MAX_ADVERTISEMENT_BYTES, maxFetchBytesOf } from './limits.js';
import type { FetchLimit } from './limits.js';
import { resolveRemoteRef } from './protocol.js';
import { clearCloneDir, removeOtherClones } from './clones.js';
import { buildFiles, diffFiles, fileOids, makeEntrySelector, sourceIdOf, unchangedSnapshot, withLinkedDirs } from './select.js';
import type { TreeEntry } from './tree.js';
import { isSafeName } from './tree.js';
import { nodePlatform, type Platform } from '../system/platform.js';
import { DEFAULT_TIMEOUT_MS } from './types.js';
import type { Snapshot, Source, SourceConfig, SourceLog } from './types.js';
import { timerMs } from '../system/clock.js';
import { nodeProgram } from '../system/node-program.js';

/** Dependencies of the SSH source. */
export interface GitSshDeps {
  stateDir: string;
  log?: SourceLog;
  now?: () => Date;
  /** The git binary (default `git` on PATH). */
  gitBinary?: string;
  /** The ssh program (default `ssh`); tests substitute a local stand-in. */
  sshProgram?: string;
  /** Fetches kept before `git gc` compacts the clone (default 8). */
  compactAfter?: number;
  /** Decides whether git gets its own process group (default nodePlatform). */
  platform?: Platform;
  /** Told how many files match once the source has listed them, before it reads them (git sources). */
  onListed?: (files: number) => void;
  /** Leave the clones of other source ids in place (SourceDeps.keepOtherClones). */
  keepOtherClones?: boolean;
}

interface RunResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Options of one git run. */
interface GitCall {
  input?: string;
  /** Caps what the server may send through ssh on this run, and the run's stdout. */
  limit?: { which: FetchLimit; bytes: number };
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Printed on git's stderr by the ssh wrapper when the server sent more than the cap. */
const LIMIT_MARK = 'cronsync: fetch limit exceeded';
/** Most of a git run's stderr kept (its tail): enough for any message, bounded whatever git prints. */
const MAX_STDERR = 64 * 1024;

/**
 * Relays ssh's stdout (the server's side of the connection) to git, counting bytes; past the cap
 * it prints {@link LIMIT_MARK}, stops ssh and exits, so git sees the connection end. Run with
 * `node -e`: Node is at hand wherever the agent runs, and shell tools such as `head -c` wait
 * for whole blocks, which stalls an interactive protocol.
 */
const RELAY = [
  "const [cap, ...cmd] = process.argv.slice(1);",
  "const c = require('child_process').spawn(cmd[0], cmd.slice(1), { stdio: ['inherit', 'pipe', 'inherit'] });",
  "let n = 0;",
  `c.stdout.on('data', (b) => { n += b.length; if (n > Number(cap)) { process.stderr.write(${JSON.stringify(`${LIMIT_MARK}\n`)}); c.kill(); process.exit(1); } });`,
  "c.stdout.pipe(process.stdout);",
  "process.stdout.on('error', () => { c.kill(); process.exit(1); });",
  "c.on('error', (e) => { process.stderr.write(String(e) + '\\n'); process.exit(255); });",
  "c.on('close', (code) => { process.exitCode = code ?? 255; });",
].join(' ');

/**
 * Wraps an ssh command so that at most `cap` bytes of the server's output reach git. git runs
 * the command through `sh` with the ssh arguments appended, which the relay passes on to ssh.
 */
function cappedSshCommand(ssh: string, cap: number): string {
  return `${q(nodeProgram())} -e ${q(RELAY)} -- ${cap} ${ssh}`;
}

/** Removes the temporary files of an unfinished fetch (`objects/pack/tmp_*`). */
function removeTempPacks(gitdir: string): void {
  const dir = path.join(gitdir, 'objects', 'pack');
  try {
    for (const f of readdirSync(dir)) if (f.startsWith('tmp_')) rmSync(path.join(dir, f), { force: true });
  } catch {
    // No pack dir yet: nothing to remove.
  }
}

/** True when `signal` fired because of its timeout rather than the caller. */
function isTimeout(signal: AbortSignal): boolean {
  return (signal.reason as { name?: string } | undefined)?.name === 'TimeoutError';
}

/**
 * Creates the git source for an `ssh://` or `user@host:path` URL. A password in an `ssh://` URL
 * (the config refuses one) is dropped and the user name kept.
 * @throws {ConfigError} when `source.maxFetchSize` is not a size.
 */
export function createGitSshSource(config: SourceConfig, deps: GitSshDeps): Source {
  const id = sourceIdOf(config);
  // ssh never uses a password from the URL; handed to git, it would only show in the process list.
  const url = provenanceUrl(config.url);
  const gitdir = path.join(deps.stateDir, 'sources', id);
  const gitBin = deps.gitBinary ?? 'git';
  const platform = deps.platform ?? nodePlatform;
  const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = maxFetchBytesOf(config.maxFetchSize);
  const select = makeEntrySelector(config.paths, config.exclude);
  const now = deps.now ?? (() => new Date());
  const fail = (kind: SourceErrorKind, what: string, data: Record<string, unknown> = {}): SourceError => new SourceError(kind, scrub(`Git source ${url}: ${what}`, []), { url, ...data });

  function sshCommand(): string {
    const kh = config.ssh?.knownHosts;
    if (!kh) throw fail('auth', 'source.ssh.knownHosts is required for SSH sources (host keys are checked strictly)');
    let text: string;
    try {
      text = readFileSync(kh, 'utf8');
    } catch {
      throw fail('auth', `known_hosts file ${kh} cannot be read`, { knownHosts: kh });
    }
    const target = parseSshUrl(url);
    if (!target) throw fail('other', 'not an SSH URL');
    if (!knownHostsHas(text, target.host, target.port)) {
      throw fail('auth', `host key of ${target.host}${target.port === 22 ? '' : `:${target.port}`} is unknown: add it to ${kh} (ssh-keyscan, checked out of band)`, { host: target.host });
    }
    const parts = [deps.sshProgram ?? 'ssh', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${q(kh)}`, '-o', 'BatchMode=yes'];
    if (config.ssh?.keyFile) parts.push('-o', 'IdentitiesOnly=yes', '-i', q(config.ssh.keyFile));
    return parts.join(' ');
  }

  function git(args: string[], signal: AbortSignal, env: NodeJS.ProcessEnv, call: GitCall = {}): Promise<RunResult> {
    const { input, limit } = call;
    if (limit && env.GIT_SSH_COMMAND) env = { ...env, GIT_SSH_COMMAND: cappedSshCommand(env.GIT_SSH_COMMAND, limit.bytes + (limit.which === 'pack' ? MAX_ADVERTISEMENT_BYTES : 0)) };
    // ls-remote prints about what it read (plus a symref line or two); nothing else here is capped.
    const maxStdout = limit?.which === 'advertisement' ? limit.bytes + 64 * 1024 : Infinity;
    return new Promise((resolve, reject) => {
      // Its own process group, so a timeout or a cap stops ssh and index-pack with it.
      const child = spawn(gitBin, args, { env, detached: platform.kind !== 'win32', stdio: ['pipe', 'pipe', 'pipe'] });
      let settled = false;
      const stop = (err: unknown): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        try {
          if (child.pid !== undefined && platform.kind !== 'win32') process.kill(-child.pid, 'SIGTERM');
          else child.kill();
        } catch {
          child.kill();
        }
        reject(err);
      };
      const onAbort = (): void => stop(isTimeout(signal) ? fail('network', timeoutText(timeoutMs), { timeout: true }) : fail('network', 'fetch aborted'));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      const out: Buffer[] = [];
      let outBytes = 0;
      let err = '';
      let over = false;
      child.stdout.on('data', (c: Buffer) => {
        outBytes += c.length;
        if (outBytes > maxStdout && limit) stop(limitError(scrub(url, []), limit.which, limit.bytes));
        else out.push(c);
      });
      child.stderr.on('data', (c: Buffer) => {
        err += c.toString();
        over ||= err.includes(LIMIT_MARK);
        if (err.length > MAX_STDERR) err = err.slice(-MAX_STDERR);
      });
      child.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') stop(fail('other', `the git binary (${gitBin}) is not installed; SSH sources need git on PATH`, { missing: gitBin }));
        else stop(e);
      });
      child.on('close', (code) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (over && limit) reject(limitError(scrub(url, []), limit.which, limit.bytes));
        else resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr: err });
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    });
  }

  async function ok(args: string[], signal: AbortSignal, env: NodeJS.ProcessEnv, call?: GitCall): Promise<Buffer> {
    const r = await git(args, signal, env, call);
    if (r.code !== 0) throw classifyStderr(r.stderr);
    return r.stdout;
  }

  function classifyStderr(stderr: string): SourceError {
    const text = scrub(stderr.trim().split('\n').slice(-3).join(' '), []);
    if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/i.test(stderr)) return fail('auth', `host key verification failed: ${text}`);
    if (/Permission denied|publickey/i.test(stderr)) return fail('auth', `authentication failed: ${text}`);
    if (/Could not resolve|Connection refused|timed out|Network is unreachable|Connection closed/i.test(stderr)) return fail('network', text);
    if (/not found|does not appear to be a git repository|couldn't find remote ref|not our ref/i.test(stderr)) return fail('not-found', text);
    // The connection to the server failed (git says it could not read from the remote): a damaged
    // clone is not the cause, and must not be wiped for it (see fetch).
    if (/Could not read from remote repository|Connection reset|No route to host|Broken pipe|hung up unexpectedly|early EOF|unexpected disconnect/i.test(stderr)) return fail('network', text);
    return fail('other', text);
  }

  return {
    id,
    async fetch(signal, previous): Promise<Snapshot> {
      const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: deps.stateDir, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0', LANG: 'C' };
      env.GIT_SSH_COMMAND = sshCommand();
      // We pass OpenSSH options; this also skips git's probe of an unknown ssh program (`ssh -G`).
      env.GIT_SSH_VARIANT = 'ssh';
      // The timeout signal gets a listener of its own: AbortSignal.any() holds its sources weakly,
      // and on Node 20 a timeout signal nothing else holds is garbage-collected and never fires (a
      // silent server then held the fetch past source.timeout, as long as ssh waited).
      const timeout = AbortSignal.timeout(timerMs(timeoutMs));
      timeout.addEventListener('abort', () => undefined, { once: true });
      const sig = AbortSignal.any([signal, timeout]);
      const version = await git(['--version'], sig, env);
      if (version.code !== 0) throw fail('other', `the git binary (${gitBin}) does not run`);
      const refs = new Map<string, string>();
      const symrefs = new Map<string, string>();
      for (const line of (await ok(['ls-remote', '--symref', '--', url], sig, env, { limit: { which: 'advertisement', bytes: MAX_ADVERTISEMENT_BYTES } })).toString().split('\n')) {
        const [left, name] = line.split('\t');
        if (!left || !name) continue;
        if (left.startsWith('ref: ')) symrefs.set(name, left.slice(5));
        else refs.set(name, left);
      }
      const target = resolveRemoteRef({ refs, symrefs, capabilities: new Set() }, config.ref);
      if (!target) throw fail('not-found', `ref ${config.ref ?? 'HEAD'} not found on the server`);
      const fetchedAt = now().toISOString();
      if (previous && previous.sourceId === id && previous.commit === target.oid) return unchangedSnapshot(previous, fetchedAt);
      try {
        return await fromClone(target, fetchedAt, previous, sig, env);
      } catch (err) {
        // The server answered ls-remote, so a git call failing now most likely reads a damaged
        // clone (an empty object file after a power loss, a cut `shallow`, a broken ref), which
        // fails every later fetch the same way: rebuilt from scratch, once. (Not after a pack
        // over source.maxFetchSize: that would only be downloaded again.)
        if (!(err instanceof SourceError) || (err.kind !== 'other' && err.kind !== 'corrupt') || err.data.limit !== undefined || sig.aborted || !existsSync(gitdir)) throw err;
        deps.log?.warn({ sourceId: id, err: err.message }, 'Source clone corrupt, re-cloning');
        rmSync(gitdir, { recursive: true, force: true });
        return await fromClone(target, fetchedAt, previous, sig, env);
      }
    },
  };

  /** Fetches `target` into the clone (unless it holds it) and reads the matching files. */
  async function fromClone(target: { oid: string; fullRef: string }, fetchedAt: string, previous: Snapshot | undefined, sig: AbortSignal, env: NodeJS.ProcessEnv): Promise<Snapshot> {
    const ref = config.ref ?? target.fullRef.replace(/^refs\/heads\//, '');
    clearCloneDir(gitdir, deps.log);
    if (!existsSync(path.join(gitdir, 'HEAD'))) {
      makeDirSync(gitdir);
      await ok(['init', '--bare', '-q', gitdir], sig, env);
    }
    const g = ['--git-dir', gitdir];
    const has = (await git([...g, 'cat-file', '-e', `${target.oid}^{commit}`], sig, env)).code === 0;
    if (!has) {
      try {
        // `--`: the ref comes from the server (its HEAD symref) and must never read as an option.
        await ok([...g, 'fetch', '-q', '--depth', '1', '--no-tags', '--', url, target.fullRef === 'HEAD' || target.fullRef === target.oid ? target.oid : target.fullRef], sig, env, { limit: { which: 'pack', bytes: maxBytes } });
      } catch (err) {
        // A cut or killed fetch leaves index-pack's partial pack behind: up to the cap, each time.
        removeTempPacks(gitdir);
        throw err;
      }
    }
    const type = (await ok([...g, 'cat-file', '-t', target.oid], sig, env)).toString().trim();
    if (type !== 'commit' && type !== 'tag') throw fail('not-found', `ref ${ref} points at a ${type} (${target.oid}), not a commit`, { ref });
    const commit = (await ok([...g, 'rev-parse', `${target.oid}^{commit}`], sig, env)).toString().trim();
    await ok([...g, 'update-ref', 'refs/heads/cronsync', commit], sig, env);
    const entries: TreeEntry[] = [];
    const all: TreeEntry[] = [];
    for (const rec of (await ok([...g, 'ls-tree', '-r', '-l', '-z', '--full-tree', commit], sig, env)).toString().split('\0')) {
      const m = /^(\d+) (\w+) ([0-9a-f]{40}) +(-|\d+)\t(.+)$/s.exec(rec);
      // A blob of a damaged clone has size `BAD`: skipped, its file would look deleted.
      if (!m && rec !== '') throw fail('corrupt', `unexpected git ls-tree output: ${rec.slice(0, 200)}`);
      if (!m || m[2] !== 'blob' && m[2] !== 'commit') continue;
      const p = m[5] as string;
      if (!p.split('/').every(isSafeName)) continue;
      const e = { path: p, mode: m[1] as string, oid: m[3] as string, ...(m[4] !== '-' ? { size: Number(m[4]) } : {}) };
      all.push(e);
      if (select(p, e.mode)) entries.push(e);
    }
    deps.onListed?.(entries.length);
    const read = async (oids: readonly string[]): Promise<Map<string, Buffer>> => readBlobs(oids, sig, env);
    const built = await buildFiles(entries, read, previous?.files);
    const files = await withLinkedDirs(built.files, all, select, read, deps.log, id);
    const packs = readdirSync(path.join(gitdir, 'objects', 'pack')).filter((f) => f.endsWith('.pack')).length;
    if (packs > (deps.compactAfter ?? 8)) await ok([...g, 'gc', '--prune=now', '--quiet'], sig, env);
    const commitObject = await ok([...g, 'cat-file', 'commit', commit], sig, env);
    if (!deps.keepOtherClones) removeOtherClones(path.dirname(gitdir), id);
    return { sourceId: id, url, ref, commit, commitObject, fetchedAt, files, changes: diffFiles(previous ? fileOids(previous.files) : null, files), unchanged: false };
  }

  async function readBlobs(oids: readonly string[], signal: AbortSignal, env: NodeJS.ProcessEnv): Promise<Map<string, Buffer>> {
    const out = await ok(['--git-dir', gitdir, 'cat-file', '--batch'], signal, env, { input: oids.join('\n') + '\n' });
    const map = new Map<string, Buffer>();
    let pos = 0;
    while (pos < out.length) {
      const nl = out.indexOf(10, pos);
      const [oid, , size] = out.toString('latin1', pos, nl).split(' ');
      const n = Number(size);
      if (!oid || Number.isNaN(n)) throw fail('corrupt', 'unexpected git cat-file output');
      map.set(oid, out.subarray(nl + 1, nl + 1 + n));
      pos = nl + 1 + n + 1;
    }
    return map;
  }
}
