// Reconcile 10,000 job manifests (1,000 files of 10 documents) from an in-memory fetched
// snapshot through validation, selection, the plan and the real cron.d adapter (temp cronDir,
// temp state dir), against `yaml` alone parsing the same files; then a no-change re-sync
// (same reconciler, same commit) against the full sync. Best of 3, alternating, in-process.
// The reconciler gets the ports the agent gives it (src/cli/agent.ts): the state store, the
// PATH lookup and the spool's check-in figures.
//
// Debian's cron reads at most 10,000 lines of one cron.d file (3 lines per job: marker, entry,
// blank), so one agent cannot install all 10,000 jobs: the agent selects SELECTED of them by
// label, the rest target other agents (still parsed and validated, as in a shared repository).
// Informational floor: creating the SELECTED snapshot files alone (exclusive create and
// write in place; no JSON, no fsync), timed after each sync, against the same `yaml` baseline; and
// yaml's parser alone (text to CST tokens, no composer), the part of the baseline any path
// through the library pays. The sync parses with yaml's env-free build (dist/vendor/yaml.cjs,
// see src/manifest/parse.ts); the goal stays against the stock `yaml` import, and two
// informational rows measure the sync and the parser against that build, so that the gain from
// the build and the sync's own cost above it can be told apart.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LineCounter, Parser, parseAllDocuments } from 'yaml';
import { createReconciler } from '../dist/reconcile/reconciler.js';
import { createCronDAdapter } from '../dist/scheduler/crond/index.js';
import { createFsStateStore } from '../dist/state/fs-store.js';
import { commandInPath } from '../dist/system/walk.js';
import { jobManifest } from './lib/manifest.mjs';

const FILES = 1000;
const DOCS = 10;
const SELECTED = 2500;
/** yaml's env-free build, bundled by `npm run build`: the one the sync parses with. */
const bundled = createRequire(import.meta.url)('../dist/vendor/yaml.cjs');
const zones = ['UTC', 'UTC', 'Europe/London', 'Asia/Kolkata', 'America/New_York'];
const schedules = ['0 2 * * *', '*/15 * * * *', '30 1 * * SUN', '0 9-17 * * 1-5', '@daily', '5 4 1,15 * *', '0 12 */2 * 1'];

function manifest(i) {
  // Every (FILES*DOCS/SELECTED)-th job selects this agent's role; the others select other roles.
  const role = i % Math.round((FILES * DOCS) / SELECTED) === 0 ? 'db' : `r${i % 7}`;
  return jobManifest(i, { tenant: 'acme', schedule: schedules[i % schedules.length], timezone: zones[i % zones.length], role });
}

function buildFiles() {
  const files = [];
  for (let f = 0; f < FILES; f++) {
    const docs = [];
    for (let d = 0; d < DOCS; d++) docs.push(manifest(f * DOCS + d));
    const content = Buffer.from(docs.join('---\n'));
    files.push({ path: `prod/d${f % 20}/f${f}.yaml`, oid: createHash('sha1').update(content).digest('hex'), content });
  }
  return files;
}

/** A fetched snapshot held in memory; an unchanged commit answers `unchanged` like the git source. */
function memorySource(files) {
  const commit = createHash('sha1').update('bench').digest('hex');
  return {
    id: 'bench-source',
    async fetch(_signal, previous) {
      if (previous?.commit === commit) return { ...previous, unchanged: true };
      return { sourceId: 'bench-source', url: 'https://git.example/jobs.git', ref: 'main', commit, fetchedAt: new Date(0).toISOString(), files, unchanged: false };
    },
  };
}

function config(stateDir, cronDir) {
  return {
    file: null, agent: { name: 'bench-host', tenant: 'acme', labels: { role: 'db' } },
    source: { url: 'https://git.example/jobs.git', paths: ['**/*.yaml'], exclude: [], interval: '60s', timeout: '60s' },
    scheduler: { kind: 'cron.d', user: 'root', cronDir, unitDir: '/etc/systemd/system', taskFolder: '\\cronsync' },
    checkin: { protocol: 'crontopus', start: false, spool: { maxAgeDays: 7, maxCount: 100 } },
    stateDir, prune: true, allowMassRemoval: false,
    daemon: { startDelay: '0s', maxBackoff: '10m' }, log: { level: 'silent' },
  };
}

const quiet = { info() {}, warn() {}, error() {}, debug() {} };
const clock = { now: () => new Date(Date.UTC(2026, 10, 23, 10)), sleep: async () => undefined };

function yamlOnly(files, parse = parseAllDocuments) {
  const t0 = performance.now();
  let docs = 0;
  for (const f of files) for (const d of parse(f.content.toString('utf8'))) { d.toJS(); docs++; }
  if (docs !== FILES * DOCS) throw new Error(`yaml saw ${docs} documents`);
  return performance.now() - t0;
}

/**
 * Informational floor: yaml's own parser alone (text to CST tokens, which the sync's parse runs
 * first too), without the composer that builds the documents. Any path through the library pays
 * this; what the sync pays above it is the composer, validation, planning and applying.
 */
function yamlTokensOnly(files, lib = { Parser, LineCounter }) {
  const t0 = performance.now();
  let docs = 0;
  for (const f of files) {
    for (const token of new lib.Parser(new lib.LineCounter().addNewLine).parse(f.content.toString('utf8'))) if (token.type === 'document') docs++;
  }
  if (docs !== FILES * DOCS) throw new Error(`yaml's parser saw ${docs} documents`);
  return performance.now() - t0;
}

async function fullThenResync(files) {
  const dir = mkdtempSync(join(tmpdir(), 'cronsync-bench-rec-'));
  try {
    const stateDir = join(dir, 'state');
    const cronDir = join(dir, 'cron.d');
    mkdirSync(cronDir);
    const source = memorySource(files);
    const adapter = createCronDAdapter({ sourceId: source.id, user: 'root', cronDir, stateDir, execCommand: { file: '/usr/bin/node', args: ['/usr/lib/cronsync/dist/cli/main.js'] }, hostZone: 'UTC' });
    // The ports src/cli/agent.ts gives the reconciler of `sync` and the daemon.
    const state = createFsStateStore(stateDir);
    const make = () => createReconciler({
      config: config(stateDir, cronDir), source, adapter, scheduler: { kind: 'cron.d', reason: 'bench' }, clock, log: quiet, state,
      commandExists: commandInPath(process.env.PATH ?? ''), checkinStats: () => state.spoolStats(),
    });
    // The same path without writing anything (what `cronsync diff` does): fetch to plan.
    const td = performance.now();
    const dry = await make().reconcile({ dryRun: true });
    const dryMs = performance.now() - td;
    if (dry.result !== 'ok' || dry.context.load.parsed !== FILES) throw new Error(`dry run: ${dry.result}`);
    const rec = make();
    const t0 = performance.now();
    const full = await rec.reconcile();
    const fullMs = performance.now() - t0;
    if (full.result !== 'ok' || full.status.counts.installed !== SELECTED) throw new Error(`full sync: ${full.result} ${full.status.lastAttempt.error ?? ''} installed ${full.status.counts.installed}`);
    const cronStat = statSync(join(cronDir, 'cronsync'));
    const t1 = performance.now();
    const again = await rec.reconcile();
    const resyncMs = performance.now() - t1;
    if (again.result !== 'ok' || again.changes) throw new Error('re-sync changed something');
    if (again.context.load.parsed !== 0) throw new Error(`re-sync parsed ${again.context.load.parsed} files`);
    if (statSync(join(cronDir, 'cronsync')).mtimeMs !== cronStat.mtimeMs) throw new Error('re-sync rewrote the cron.d file');
    const snapshots = readdirSync(join(stateDir, 'jobs', 'acme')).length;
    if (snapshots !== SELECTED) throw new Error(`${snapshots} snapshots`);
    const sample = readFileSync(join(stateDir, 'jobs', 'acme', 'job-0.json'), 'utf8');
    return { fullMs, resyncMs, dryMs, sample };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Informational: what creating the SELECTED snapshot files costs the file system alone, each
 * created exclusively (mode 0600) in place, as the state store does for a job new to it, with
 * no fsync (the sync's one fsync is its batch). No JSON, no reconciler: a floor under the
 * apply part of the full sync.
 */
function snapshotFilesFloor(text) {
  const dir = mkdtempSync(join(tmpdir(), 'cronsync-bench-rec-floor-'));
  try {
    const jobs = join(dir, 'jobs', 'acme');
    mkdirSync(jobs, { recursive: true });
    const t0 = performance.now();
    for (let n = 0; n < SELECTED; n++) {
      const file = join(jobs, `job-${n}.json`);
      writeFileSync(file, text, { mode: 0o600, flag: 'wx' });
    }
    return performance.now() - t0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Default export for bench/run.mjs. */
export default async function reconcileBench() {
  const files = buildFiles();
  const yaml = [];
  const runs = [];
  const floor = [];
  const tokens = [];
  const envFree = [];
  const envFreeTokens = [];
  for (let i = 0; i < 3; i++) {
    yaml.push(yamlOnly(files));
    tokens.push(yamlTokensOnly(files));
    envFree.push(yamlOnly(files, bundled.parseAllDocuments));
    envFreeTokens.push(yamlTokensOnly(files, bundled));
    runs.push(await fullThenResync(files));
    floor.push(snapshotFilesFloor(runs[i].sample));
  }
  const y = Math.min(...yaml);
  const full = Math.min(...runs.map((r) => r.fullMs));
  const resync = Math.min(...runs.map((r) => r.resyncMs));
  const dry = Math.min(...runs.map((r) => r.dryMs));
  const files0 = Math.min(...floor);
  const cst = Math.min(...tokens);
  const yb = Math.min(...envFree);
  const cstb = Math.min(...envFreeTokens);
  return [
    { name: `sync 10k manifests (${SELECTED} into cron.d) vs yaml parse only`, ratio: full / y, goal: 1.5, detail: `sync ${full.toFixed(0)} ms (of which ~${Math.max(0, full - dry).toFixed(0)} ms applying: job snapshots, cron.d, status), yaml ${y.toFixed(0)} ms; best of 3, in-process; each round's ratio: ${runs.map((r, i) => (r.fullMs / yaml[i]).toFixed(2)).join(', ')}` },
    { name: 'the same as a dry run (fetch to plan, nothing written) vs yaml', ratio: dry / y, detail: `dry run ${dry.toFixed(0)} ms` },
    { name: `floor: creating ${SELECTED} snapshot files alone (exclusive create + write, no fsync) vs yaml`, ratio: files0 / y, detail: `${files0.toFixed(0)} ms for ${SELECTED} files of ${Buffer.byteLength(runs[0].sample)} bytes; best of 3, after each sync` },
    { name: 'floor: yaml\'s parser alone (text to tokens, no composer) vs yaml', ratio: cst / y, detail: `${cst.toFixed(0)} ms; best of 3` },
    { name: 'the same sync vs yaml\'s env-free build (the one the sync parses with) parse only', ratio: full / yb, detail: `env-free yaml ${yb.toFixed(0)} ms (${(yb / y).toFixed(2)}× the stock import); best of 3` },
    { name: 'floor: yaml\'s env-free parser alone (text to tokens) vs yaml', ratio: cstb / y, detail: `${cstb.toFixed(0)} ms; best of 3` },
    { name: 'no-change re-sync vs full sync (0 files parsed)', ratio: resync / full, goal: 0.03, detail: `re-sync ${resync.toFixed(1)} ms, full sync ${full.toFixed(0)} ms` },
  ];
}
