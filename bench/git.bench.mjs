/* global AbortController */
// Benchmarks of the git source against git itself, on one loopback `git http-backend` server.
// Run after `npm run build`: `node bench/run.mjs` calls the default export.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { commitOne, createLargeRepo, manifest, run, startServer } from './git-server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const distSource = path.join(here, '..', 'dist', 'source', 'index.js');
const never = new AbortController().signal;

async function time(fn) {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function medianOf(n, fn) {
  const xs = [];
  for (let i = 0; i < n; i++) xs.push(await time(() => fn(i)));
  return median(xs);
}

/** Peak RSS of a child process doing the first sync of `url` (MiB). */
function childPeakRss(url, stateDir) {
  const code = `const { createSource } = await import(${JSON.stringify(distSource)});
const s = await createSource({ url: ${JSON.stringify(url)} }, { stateDir: ${JSON.stringify(stateDir)} }).fetch(new AbortController().signal);
if (s.files.length < 10000) process.exit(2);
process.stdout.write(String(process.resourceUsage().maxRSS / 1024));`;
  return new Promise((resolve, reject) => {
    let out = '';
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', (c) => (out += c));
    child.on('close', (status) => (status === 0 ? resolve(Number(out)) : reject(new Error(`child exited ${status}`))));
  });
}

export default async function gitBench() {
  const { createSource } = await import(distSource);
  const server = await startServer();
  const work = mkdtempSync(path.join(tmpdir(), 'cronsync-bench-work-'));
  try {
    const gitdir = createLargeRepo(server.root, 'big', 10_000);
    const url = server.url('big');
    const results = [];

    // First sync of 10,000 manifests vs `git clone --depth 1`.
    const ours1 = await medianOf(3, (i) => createSource({ url }, { stateDir: path.join(work, `s${i}`) }).fetch(never));
    const git1 = await medianOf(3, (i) => run('git', ['clone', '-q', '--depth', '1', url, path.join(work, `c${i}`)]));
    results.push({ name: 'git: first sync, 10k manifests vs git clone --depth 1', ratio: ours1 / git1, goal: 2, detail: `${ours1.toFixed(0)} ms vs ${git1.toFixed(0)} ms (median of 3)` });

    // No-change poll vs `git ls-remote`.
    const source = createSource({ url }, { stateDir: path.join(work, 'poll') });
    let snap = await source.fetch(never);
    const ours2 = await medianOf(15, async () => {
      snap = await source.fetch(never, snap);
    });
    const git2 = await medianOf(15, () => run('git', ['ls-remote', url]));
    results.push({ name: 'git: no-change poll vs git ls-remote', ratio: ours2 / git2, goal: 1.2, detail: `${ours2.toFixed(1)} ms vs ${git2.toFixed(1)} ms (median of 15)` });

    // One-file update vs `git fetch && git checkout` in a shallow clone.
    const clone = path.join(work, 'c0');
    let n = 0;
    const ours3 = await medianOf(5, async () => {
      commitOne(gitdir, 'team1/job-1.yaml', manifest(`u${n++}`), n);
      snap = await source.fetch(never, snap);
    });
    const git3 = await medianOf(5, async (i) => {
      commitOne(gitdir, 'team2/job-2.yaml', manifest(`g${i}`), 100 + i);
      await run('git', ['-C', clone, 'fetch', '-q', '--depth', '1', 'origin', 'main']);
      await run('git', ['-C', clone, 'checkout', '-q', '-f', 'FETCH_HEAD']);
    });
    results.push({ name: 'git: one-file update vs git fetch && git checkout', ratio: ours3 / git3, goal: 1, detail: `${ours3.toFixed(0)} ms vs ${git3.toFixed(0)} ms (median of 5)` });

    // Peak RSS of a first sync of 10,000 manifests, in a fresh child process.
    const rss = await childPeakRss(url, path.join(work, 'rss'));
    results.push({ name: 'git: peak RSS, first sync of 10k manifests vs a 150 MiB budget', ratio: rss / 150, goal: 1, detail: `${rss.toFixed(0)} MiB (maxRSS of a fresh child); the baseline is a fixed budget, not measured` });
    return results;
  } finally {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const r of await gitBench()) console.log(`${r.name}: ${r.ratio.toFixed(2)}x (goal <= ${r.goal}) ${r.detail}`);
}
