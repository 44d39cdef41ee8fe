// Where the peak RSS of a one-shot `cronsync sync` of 100 jobs goes (issue #16 item 6). Not a
// bench row: run by hand after `npm run build`, prints a report.
//   node bench/ansible/sync-memory.mjs
// 1. Peak RSS of bare node and of node importing each runtime dependency (or a dist module) on
//    its own: the fixed cost of loading code.
// 2. `cronsync sync` (first install and no change, cron.d in a temp dir, the same 100 jobs
//    over the loopback git server) with probe.mjs preloaded: peak RSS, memoryUsage() and the
//    V8 heap spaces at exit, under V8 flags that bound the young generation and the heap.
// 3. With --heap-prof: the live sampled allocations at exit, grouped by package.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../git-server.mjs';
import { makeJobs, manifest, manifestPath } from './jobs.mjs';
import { createRepo } from './repo.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const CLI = path.join(root, 'dist', 'cli', 'main.js');
const PROBE = fileURLToPath(new URL('probe.mjs', import.meta.url));
const MB = (b) => (b / 1048576).toFixed(1);
const REPS = 3;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function nodeRss(code) {
  const xs = [];
  for (let i = 0; i < REPS; i++) {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `${code}; process.stdout.write(String(process.resourceUsage().maxRSS))`], { cwd: root, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    xs.push(Number(r.stdout));
  }
  return median(xs) / 1024;
}

const server = await startServer();
const work = mkdtempSync(path.join(tmpdir(), 'cronsync-sync-memory-'));
try {
  console.log('## 1. Peak RSS of loading code (MiB, median of 3)');
  const bare = process.env.SKIP_IMPORTS ? 0 : nodeRss('');
  console.log(`bare node: ${bare.toFixed(1)}`);
  const imports = {
    yaml: "await import('yaml')",
    ajv: "await import('ajv')",
    'isomorphic-git': "await import('isomorphic-git')",
    'isomorphic-git/http/node': "await import('isomorphic-git/http/node')",
    pino: "await import('pino')",
    'pino-pretty': "await import('pino-pretty')",
    undici: "await import('undici')",
    picomatch: "await import('picomatch')",
    'prom-client': "await import('prom-client')",
    chokidar: "await import('chokidar')",
    xmlbuilder2: "await import('xmlbuilder2')",
    'dist/cli/commands/sync-run.js (the sync command, its whole static graph)': "await import('./dist/cli/commands/sync-run.js')",
    'dist/cli/agent.js': "await import('./dist/cli/agent.js')",
    'dist/source/index.js': "await import('./dist/source/index.js')",
    'dist/manifest/validate.js': "await import('./dist/manifest/validate.js')",
    'global fetch (node:internal undici + llhttp wasm)': "await fetch('http://127.0.0.1:9/').catch(() => {})",
    'one Intl zone (ICU data)': "new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Berlin', hour: 'numeric' }).formatToParts(new Date())",
  };
  for (const [name, code] of Object.entries(process.env.SKIP_IMPORTS ? {} : imports)) {
    try {
      const rss = nodeRss(code);
      console.log(`${name}: ${rss.toFixed(1)} (+${(rss - bare).toFixed(1)})`);
    } catch (e) {
      console.log(`${name}: failed (${String(e.message).split('\n')[0]})`);
    }
  }

  const jobs = makeJobs(100);
  createRepo(server.root, 'mem', Object.fromEntries(jobs.map((j) => [manifestPath(j), manifest(j)])));
  const cronDir = path.join(work, 'cron.d');
  mkdirSync(cronDir);
  const config = path.join(work, 'cronsync.yaml');
  writeFileSync(config, [
    'agent: { name: bench-host, tenant: acme }',
    `source: { url: ${JSON.stringify(server.url('mem'))} }`,
    `scheduler: { kind: cron.d, cronDir: ${JSON.stringify(cronDir)} }`,
    `stateDir: ${JSON.stringify(path.join(work, 'state'))}`,
    'log: { level: warn }',
    '',
  ].join('\n'));

  // spawnSync would block the git server living in this process: run the sync asynchronously.
  const { spawn } = await import('node:child_process');
  const sync = (flags, fresh, env = {}) => new Promise((resolve, reject) => {
    if (fresh) {
      rmSync(path.join(work, 'state'), { recursive: true, force: true });
      rmSync(path.join(cronDir, 'cronsync'), { force: true });
    }
    const probe = path.join(work, `probe-${Math.random()}.jsonl`);
    const child = spawn(process.execPath, [...flags, '--import', PROBE, CLI, 'sync', '--config', config], { cwd: work, env: { PATH: process.env.PATH, HOME: work, SYNC_MEMORY_PROBE: probe, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`sync exited ${code}: ${err}`));
      resolve(JSON.parse(readFileSync(probe, 'utf8').trim().split('\n').pop()));
    });
  });

  console.log('\n## 2. cronsync sync of 100 jobs: peak RSS and state at exit (MiB, median of 3 by peak)');
  const variants = [
    ['default', []],
    ['--max-semi-space-size=1', ['--max-semi-space-size=1']],
    ['--max-semi-space-size=2', ['--max-semi-space-size=2']],
    ['--max-semi-space-size=4', ['--max-semi-space-size=4']],
    ['--max-semi-space-size=1 --max-old-space-size=32', ['--max-semi-space-size=1', '--max-old-space-size=32']],
    ['--lite-mode', ['--lite-mode']],
    ['--max-lazy', ['--max-lazy']],
    ['--lite-mode', ['--lite-mode']],
  ];
  // VARIANTS=substring keeps only the matching variants (a partial rerun).
  for (const [label, flags] of variants.filter(([l]) => !process.env.VARIANTS || l.includes(process.env.VARIANTS))) {
    for (const fresh of [true, false]) {
      const runs = [];
      for (let i = 0; i < REPS; i++) runs.push(await sync(flags, fresh));
      const r = runs.sort((a, b) => a.maxRssKb - b.maxRssKb)[1];
      const exit = r.marks.find((m) => m.label === 'exit');
      const sp = r.spaces;
      console.log(`${label.padEnd(48)} ${fresh ? 'first' : 'no-change'}: peak ${(r.maxRssKb / 1024).toFixed(1)}, CPU ${median(runs.map((x) => x.cpuMs)).toFixed(0)} ms (runs ${runs.map((x) => (x.maxRssKb / 1024).toFixed(1)).join('/')}); exit rss ${MB(exit.rss)} heapTotal ${MB(exit.heapTotal)} heapUsed ${MB(exit.heapUsed)} external ${MB(exit.external)} arrayBuffers ${MB(exit.arrayBuffers)}; new ${MB(sp.new_space.size)} old ${MB(sp.old_space.size)}/${MB(sp.old_space.used)} code ${MB(sp.code_space.size)} large ${MB(sp.large_object_space.size)}; malloced peak ${MB(r.heap.peakMalloced)}; bytecode+metadata ${MB(r.codeStats.bytecode_and_metadata_size)}; resident at exit by mapping: ${Object.entries(r.mappings).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${(v / 1024).toFixed(1)}`).join(', ')}`);
    }
  }

  console.log('\n## 3. --heap-prof (first install): live sampled allocations at exit by package (MiB)');
  const profDir = path.join(work, 'prof');
  mkdirSync(profDir);
  await sync(['--heap-prof', `--heap-prof-dir=${profDir}`, '--heap-prof-interval=4096'], true);
  const prof = JSON.parse(readFileSync(path.join(profDir, readdirSync(profDir)[0]), 'utf8'));
  const byPkg = new Map();
  const walk = (n) => {
    const self = (n.selfSize ?? 0);
    const url = n.callFrame.url || '(native/internal)';
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? (url.includes('/dist/') ? `dist/${url.split('/dist/')[1].split('/')[0]}` : url.startsWith('node:') ? 'node:internal' : url);
    byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + self);
    for (const c of n.children ?? []) walk(c);
  };
  walk(prof.head);
  const total = [...byPkg.values()].reduce((a, b) => a + b, 0);
  console.log(`total live sampled: ${MB(total)}`);
  for (const [k, v] of [...byPkg].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${k}: ${MB(v)}`);
} finally {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}
