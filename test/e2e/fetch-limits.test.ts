/**
 * A Git server that never stops talking must not grow the agent without limit (issue #11):
 * every HTTP response is capped (the ref advertisement at a fixed size, the pack at
 * source.maxFetchSize), peak RSS stays within the cap plus a fixed overhead, a timeout is
 * reported as a timeout, and SSH sources stop at the same limits.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SourceError } from '../../src/errors.js';
import { createSource, MAX_ADVERTISEMENT_BYTES } from '../../src/source/index.js';
import { createRepo, gitAvailable, startGitServer } from './helpers/git-server.js';
import type { GitServer } from './helpers/git-server.js';
import { startEndlessGitServer } from './helpers/endless-git.js';
import type { EndlessGitServer, EndlessMode } from './helpers/endless-git.js';

const MiB = 1024 * 1024;
const CAP = 4 * MiB;
/**
 * What a capped fetch may use beyond the same fetch against a well-behaved server plus the cap
 * itself. Both modes: V8's young generation and response chunks already consumed but not yet
 * collected (V8 frees Buffers' memory in batches of MiBs, not chunk by chunk): 32 MiB; measured
 * about 5 MiB over the cap for the pack. The advertisement adds the refs parsed from a capped
 * advertisement: some 80,000 Map entries of two strings each, ~500 bytes apiece with the
 * garbage of parsing them; measured about 43 MiB over the cap in all. Without the caps the
 * same fetches grew by ~650 MiB before their 20 s timeout.
 */
const OVERHEAD = { pack: 32 * MiB, advertisement: 64 * MiB } as const;
/** The fetch timeout inside the children: far longer than a capped fetch needs. */
const CHILD_TIMEOUT_MS = 20_000;
const never = new AbortController().signal;

interface ChildOutcome {
  ok: boolean;
  code?: string;
  message?: string;
  data?: Record<string, unknown>;
  peakRss: number;
}

describe.skipIf(!gitAvailable)('e2e/fetch-limits', () => {
  let dir: string;
  let childBundle: string;
  let uploadPackBundle: string;
  let good: GitServer;
  let baseline: ChildOutcome;
  let hostile: EndlessGitServer | null = null;

  const runChild = (url: string, maxFetchBytes: number): Promise<ChildOutcome> =>
    new Promise((resolve, reject) => {
      const stateDir = mkdtempSync(path.join(dir, 'state-'));
      const child = spawn(process.execPath, [childBundle, url, String(maxFetchBytes), String(CHILD_TIMEOUT_MS), stateDir], { stdio: ['ignore', 'pipe', 'inherit'] });
      // A guard so a regression cannot leave a child behind; the fetch's own timeout comes first.
      const guard = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS + 10_000);
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.on('error', reject);
      child.on('close', () => {
        clearTimeout(guard);
        rmSync(stateDir, { recursive: true, force: true });
        try {
          resolve(JSON.parse(out) as ChildOutcome);
        } catch {
          reject(new Error(`child printed no outcome: ${out}`));
        }
      });
    });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cronsync-limits-'));
    childBundle = path.join(dir, 'fetch-child.mjs');
    uploadPackBundle = path.join(dir, 'upload-pack.mjs');
    for (const [entry, outfile] of [['fetch-rss-child.ts', childBundle], ['endless-upload-pack.ts', uploadPackBundle]] as const) {
      buildSync({ entryPoints: [path.join(import.meta.dirname, 'fixtures', entry)], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile, logLevel: 'error',
        // isomorphic-git's CommonJS parts require Node built-ins.
        banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" } });
    }
    good = await startGitServer();
    createRepo(good.root, 'ok', { 'a.yaml': 'a: 1\n' });
    baseline = await runChild(good.repoUrl('ok'), CAP);
  }, 60_000);

  afterAll(async () => {
    await good?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  afterEach(async () => {
    await hostile?.stop();
    hostile = null;
  });

  it('the baseline fetch against a well-behaved server succeeds', () => {
    expect(baseline).toMatchObject({ ok: true, files: 1 });
  });

  it.each<{ mode: keyof typeof OVERHEAD; limit: number; names: RegExp }>([
    { mode: 'advertisement', limit: MAX_ADVERTISEMENT_BYTES, names: /ref advertisement .*more than 4 MiB/ },
    { mode: 'pack', limit: CAP, names: /more than 4 MiB .*source\.maxFetchSize/ },
  ])('http: an endless $mode stops at its cap, and peak RSS stays within baseline + cap + overhead', async ({ mode, limit, names }) => {
    hostile = await startEndlessGitServer(mode);

    const r = await runChild(hostile.url, CAP);

    expect(r).toMatchObject({ ok: false, code: 'CRONSYNC_SOURCE_FETCH' });
    expect(r.message).toMatch(names);
    expect(r.data).toMatchObject({ limit });
    expect(r.peakRss - baseline.peakRss).toBeLessThan(limit + OVERHEAD[mode]);
  }, 60_000);

  it('http: a stalled advertisement reports the timeout and names source.timeout, not a missing ref', async () => {
    hostile = await startEndlessGitServer('stall');
    const stateDir = mkdtempSync(path.join(dir, 'state-'));

    const err = (await createSource({ url: hostile.url, ref: 'main', timeoutMs: 300 }, { stateDir }).fetch(never).catch((e: unknown) => e)) as SourceError;

    expect(err).toBeInstanceOf(SourceError);
    expect(err.kind).toBe('network');
    expect(err.data.timeout).toBe(true);
    expect(err.message).toContain('timed out after 300 ms');
    expect(err.message).toContain('source.timeout');
    expect(err.message).not.toContain('not found');
  });

  describe('ssh', () => {
    const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';

    /** A stand-in ssh whose remote end is the hostile upload-pack; returns the file where it records the bytes it sent. */
    function hostileSsh(mode: EndlessMode): { ssh: string; knownHosts: string; sentFile: string } {
      const sentFile = path.join(dir, `sent-${mode}`);
      const ssh = path.join(dir, `ssh-${mode}`);
      // `-G` is git's probe of the ssh variant: answer it like OpenSSH, without a server behind it.
      writeFileSync(ssh, `#!/bin/sh\nfor a; do [ "$a" = -G ] && exit 0; done\nexec '${process.execPath}' '${uploadPackBundle}' ${mode} '${sentFile}'\n`);
      chmodSync(ssh, 0o755);
      const knownHosts = path.join(dir, 'known_hosts');
      writeFileSync(knownHosts, `git.example.test ${KEY}\n`);
      return { ssh, knownHosts, sentFile };
    }

    /** The most bytes one of `connections` to the hostile server carried (each records its count as it ends). */
    async function sentBytes(file: string, connections: number): Promise<number> {
      const counts = (): number[] => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').map(Number) : []);
      for (let i = 0; i < 100 && counts().length < connections; i++) await new Promise((r) => setTimeout(r, 50));
      return Math.max(...counts());
    }

    it.each<{ mode: EndlessMode; limit: number; names: RegExp }>([
      { mode: 'advertisement', limit: MAX_ADVERTISEMENT_BYTES, names: /ref advertisement .*more than 4 MiB/ },
      { mode: 'pack', limit: CAP, names: /more than 4 MiB .*source\.maxFetchSize/ },
    ])('an endless $mode is cut at its cap: the child is stopped and the limit reported', async ({ mode, limit, names }) => {
      const h = hostileSsh(mode);
      const stateDir = mkdtempSync(path.join(dir, 'state-'));
      const source = createSource({ url: 'ssh://git@git.example.test/repo.git', ref: 'main', timeoutMs: CHILD_TIMEOUT_MS, maxFetchSize: CAP, ssh: { knownHosts: h.knownHosts } }, { stateDir, sshProgram: h.ssh });

      const err = (await source.fetch(never).catch((e: unknown) => e)) as SourceError;

      expect(err).toBeInstanceOf(SourceError);
      expect(err.code).toBe('CRONSYNC_SOURCE_FETCH');
      expect(err.message).toMatch(names);
      expect(err.data).toMatchObject({ limit });
      // The server was cut off, not done: it sent more than the cap, and no more than the cap (the
      // advertisement's too, on the fetch's connection) plus the few 64 KiB buffers of the pipes.
      const sent = await sentBytes(h.sentFile, mode === 'pack' ? 2 : 1);
      expect(sent).toBeGreaterThan(limit);
      expect(sent).toBeLessThan(limit + (mode === 'pack' ? MAX_ADVERTISEMENT_BYTES : 0) + MiB);
      const packDir = path.join(stateDir, 'sources', source.id, 'objects', 'pack');
      expect(existsSync(packDir) ? readdirSync(packDir).filter((f) => f.startsWith('tmp_')) : []).toEqual([]);
    }, 60_000);
  });
});
