/**
 * `cronsync render --scheduler KIND [PATH...]`: print (or write to `--out DIR`) what would be
 * installed, and with `--fires FROM..TO` the jobs' expected fire instants (SPEC §2a, §8a).
 */
import { lstat, mkdir, readFile, realpath } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename, join, resolve, sep, win32 } from 'node:path';
import { loadConfig } from '../../config/load.js';
import { desiredJob, selectJobs } from '../../desired/select.js';
import type { DesiredJob } from '../../desired/types.js';
import { IoError, ioError, SchedulerError, UsageError } from '../../errors.js';
import { loadManifests } from '../../manifest/load.js';
import { canonicalTimeZone } from '../../schedule/zone.js';
import { renderEntryOrError } from '../../scheduler/entry-error.js';
import { isMarkerTime } from '../../scheduler/marker.js';
import { firesReport, parseFireWindow } from '../../scheduler/fires-report.js';
import { DEFAULT_SCHEDULER_CONFIG, createAdapter, kindOfName, loadScheduler, registrationOf, schedulerNames } from '../../scheduler/registry.js';
import type { SchedulerConfig } from '../../scheduler/registry.js';
import type { RenderedFile, SchedulerKind } from '../../scheduler/types.js';
import { detectSource, provenanceUrl, sourceIdOf } from '../../source/index.js';
import { makeMatcher } from '../../source/select.js';
import { readStatus } from '../../status/io.js';
import { createFsStateStore } from '../../state/fs-store.js';
import { atomicWriteFile } from '../../system/files.js';
import { makeDirSync } from '../../system/regular-file.js';
import { scanManifestFiles } from '../../system/walk.js';
import { schedulerDeps } from '../agent.js';
import { parseCommandArgs } from '../args.js';
import { escapeText } from '../escape.js';
import type { CliIo } from '../io.js';

export const usage = `Usage: cronsync render --scheduler KIND [PATH...] [--config FILE] [--host-zone ZONE] [--out DIR]
       cronsync render --fires FROM..TO [--format json|text] [--scheduler KIND] [PATH...]

Prints exactly what would be installed for the valid manifests in PATHs (default: .).
KIND is one of: ${schedulerNames().join(', ')}.

With --config, only the jobs this agent selects (its source's paths and exclude, tenant,
selector, enabled) are rendered, with its settings, source id and URL (run it from the source
directory, or from a checkout of the repository), and each entry's applied time and commit
taken from the agent's state dir where it holds that version; without it, every valid enabled
job is rendered. Invalid manifests are reported on stderr and left out.

  --host-zone ZONE  the IANA zone of the host that runs the scheduler (default: this one's)
  --out DIR         write each file into DIR (created) instead of printing it, as the
                    scheduler takes it (Windows tasks: DIR/<tenant>/<name>.xml, UTF-16LE)
  --fires FROM..TO  print each job's expected fire instants (SPEC §2a) from FROM (included)
                    to TO (excluded), dates (2026-03-01, midnight UTC) or ISO instants with
                    Z or an offset; at most 10000 per job ("capped": true when cut)
  --format F        with --fires: json (default) or text (one "<job> <instant>" per line)
`;

const OPTIONS = {
  scheduler: { type: 'string' },
  'host-zone': { type: 'string' },
  out: { type: 'string' },
  fires: { type: 'string' },
  format: { type: 'string' },
} as const;

/** The kind a `--scheduler` value names. @throws {UsageError} */
function kindFlag(value: string | undefined): SchedulerKind {
  const kind = value === undefined ? undefined : kindOfName(value);
  if (!kind) throw new UsageError(`--scheduler must be one of ${schedulerNames().join(', ')} (got "${value ?? ''}")`);
  return kind;
}

/** Runs render. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS, { positionals: true });
  const window = values.fires === undefined ? undefined : parseFireWindow(values.fires);
  if (window && 'error' in window) throw new UsageError(`--fires: ${window.error}`);
  const kind = window && values.scheduler === undefined ? undefined : kindFlag(values.scheduler);
  const format = values.format ?? (window ? 'json' : 'text');
  if (format !== 'json' && format !== 'text') throw new UsageError(`--format must be json or text (got "${format}")`);
  if (format === 'json' && !window) throw new UsageError('--format json goes with --fires');
  if (values.out !== undefined && !kind) throw new UsageError('--out needs --scheduler');
  const hostZone = values['host-zone'] === undefined ? undefined : canonicalTimeZone(values['host-zone']);
  if (hostZone === null) throw new UsageError(`--host-zone must be an IANA time zone such as Europe/Berlin (got "${values['host-zone']}")`);

  const cfg = values.config !== undefined || io.env.CRONSYNC_CONFIG ? loadConfig({ file: values.config, env: io.env, cwd: io.cwd }) : null;
  let inputs;
  try {
    const scanned = await scanManifestFiles(positionals.length > 0 ? positionals : ['.'], io.cwd);
    if (scanned.errors[0]) throw scanned.errors[0];
    // With a config, only the files its source selects, as sync reads them.
    const selected = cfg ? makeMatcher(cfg.source.paths, cfg.source.exclude) : () => true;
    const files = scanned.files.filter((f) => selected(f.display));
    // A symlink or FIFO in a directory is what the agent's source refuses: reported as lint and
    // sync report it ([source-file]), never opened.
    inputs = await Promise.all(files.map(async (f) => (f.error !== undefined ? { path: f.display, content: '', error: f.error } : { path: f.display, content: await readFile(f.bytes ?? f.absolute) })));
  } catch (err) {
    if (err instanceof IoError) throw new UsageError(err.message);
    throw err;
  }
  const load = loadManifests(inputs);
  // Paths and messages quote manifest text: control characters are escaped, as lint prints them.
  for (const i of load.issues.filter((x) => x.severity === 'error')) io.stderr.write(`${escapeText(i.file)}:${i.line}:${i.col}: error [${i.rule}] ${escapeText(i.message)}\n`);
  // With a config, entries carry the agent's own source id, exactly as `sync` installs them.
  const sourceId = cfg ? sourceIdOf(cfg.source) : `local-${createHash('sha256').update(positionals.join('\0')).digest('hex').slice(0, 12)}`;
  // A plain directory has no ref: its snapshots record ''.
  const ref = !cfg || detectSource(cfg.source.url, io.cwd).kind === 'dir' ? '' : cfg.source.ref ?? '';
  const origin = { sourceId, url: cfg ? provenanceUrl(cfg.source.url) : io.cwd, ref, commit: null };
  let jobs: DesiredJob[];
  if (cfg) {
    jobs = [...selectJobs(load.jobs, cfg.agent, origin).desired.values()];
  } else {
    // No agent: render every valid enabled job, whatever its tenant and selector.
    jobs = load.jobs.filter((j) => j.job.spec.enabled).map((j) => desiredJob(j, origin));
  }

  // As in sync, an entry records the commit and time its job's version was first applied, which
  // only the agent's state dir knows.
  if (cfg) jobs = await asSyncWould(jobs, cfg.stateDir, sourceId);

  let rejected = 0;
  let files: RenderedFile[] = [];
  if (kind) {
    await loadScheduler(kind);
    const adapter = createAdapter(kind, cfg ?? defaultConfig(kind, io.env), schedulerDeps(sourceId, { hostZone }));
    // As in sync: a job whose entry the scheduler cannot hold (e.g. over cron's line limit) is
    // reported and left out; the other jobs are still rendered.
    jobs = jobs.filter((d) => {
      const r = renderEntryOrError(adapter, d);
      if (typeof r === 'string') return true;
      io.stderr.write(`${escapeText(d.provenance.path)}: error [entry-invalid] ${d.id}: ${escapeText(r.error)}\n`);
      rejected++;
      return false;
    });
    files = adapter.render(jobs).files;
  }
  if (values.out !== undefined) {
    for (const path of await writeRenderedFiles(resolve(io.cwd, values.out), files)) io.stderr.write(`wrote ${path}\n`);
  } else if (!window) {
    for (const f of files) io.stdout.write(f.content);
  }
  if (window) {
    const report = firesReport(jobs, window);
    for (const j of report.jobs.filter((x) => x.capped)) io.stderr.write(`${j.id}: more than ${report.limit} fires in the window; only the first ${report.limit} are listed\n`);
    if (format === 'json') io.stdout.write(`${JSON.stringify(report)}\n`);
    else for (const j of report.jobs) for (const t of j.fires) io.stdout.write(`${j.id} ${t}\n`);
  }
  return rejected > 0 || load.issues.some((i) => i.severity === 'error') ? 1 : 0;
}

/**
 * `jobs` as a sync would install them over the snapshots in `stateDir` (see plan.ts and
 * `appliedTimes`): a job whose version a snapshot holds keeps that snapshot's applied time, and,
 * applied from the same source and place, its commit (a commit that did not touch a job does not
 * rewrite it). Without a configured ref, the ref is the branch the last fetch resolved (a git
 * source's remote HEAD), from the status file. A job the state dir does not hold has neither
 * time nor commit: a sync gives it its own.
 */
async function asSyncWould(jobs: readonly DesiredJob[], stateDir: string, sourceId: string): Promise<DesiredJob[]> {
  const state = createFsStateStore(stateDir);
  const snaps = await Promise.all(jobs.map((d) => state.readSnapshot(d.id).catch(() => null)));
  // The ref the last fetch resolved, as the status file records it (a job whose entry was refused
  // keeps a snapshot of an older fetch).
  const status = await readStatus(stateDir).catch(() => null);
  const fetched = status?.source.id === sourceId ? status.source.ref : undefined;
  return jobs.map((d, i) => {
    const snap = snaps[i];
    const ref = d.provenance.ref === '' && fetched !== undefined ? fetched : d.provenance.ref;
    if (!snap || snap.manifestHash !== d.manifestHash || !isMarkerTime(snap.appliedAt)) return ref === d.provenance.ref ? d : { ...d, provenance: { ...d.provenance, ref } };
    const p = snap.provenance;
    const same = p.sourceId === sourceId && p.path === d.provenance.path && p.index === d.provenance.index;
    return { ...d, provenance: { ...d.provenance, ref, commit: same ? p.commit : null }, appliedAt: snap.appliedAt };
  });
}

/** SPEC §3 defaults, with the state dir of the OS the kind's entries run on. */
function defaultConfig(kind: SchedulerKind, env: NodeJS.ProcessEnv): SchedulerConfig {
  if (registrationOf(kind).targetPlatform !== 'win32') return DEFAULT_SCHEDULER_CONFIG;
  return { ...DEFAULT_SCHEDULER_CONFIG, stateDir: win32.join(env.ProgramData ?? 'C:\\ProgramData', 'cronsync', 'state') };
}

/**
 * The relative path of a rendered file under `--out`: its `fileName`, else the last part of
 * its `name` when that is a path, else its `name` made file-safe (`crontab of root` →
 * `crontab-of-root`).
 * @throws {SchedulerError} for a fileName that is absolute or climbs out (`..`).
 */
export function outFileName(f: Pick<RenderedFile, 'name' | 'fileName'>): string[] {
  const name = f.fileName ?? (/[/\\]/.test(f.name) ? win32.basename(basename(f.name)) : f.name.replace(/[^A-Za-z0-9._-]+/g, '-'));
  const parts = name.split('/');
  if (/^[A-Za-z]:|\\|\0/.test(name) || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new SchedulerError(`refusing to write rendered file "${name}": not a relative path inside the output directory`, { fileName: name });
  }
  return parts;
}

/**
 * Writes each rendered file under `dir` (created): its `data`, else its `content` as UTF-8,
 * atomically, mode 0644. Never writes outside `dir`: no `..` or absolute names, and no
 * directory on the way that is a symbolic link.
 * @returns the paths written. @throws {SchedulerError} @throws {IoError}
 */
export async function writeRenderedFiles(dir: string, files: readonly RenderedFile[]): Promise<string[]> {
  const targets = files.map((f) => ({ f, parts: outFileName(f) }));
  const seen = new Set<string>();
  for (const { parts } of targets) {
    const key = parts.join('/');
    if (seen.has(key)) throw new SchedulerError(`two rendered files would both be written to ${key}`, { fileName: key });
    seen.add(key);
  }
  let root: string;
  try {
    // Not mkdir's recursive mode, which never returns under /proc (see makeDirSync).
    makeDirSync(dir, 0o777);
    root = await realpath(dir);
  } catch (err) {
    if (err instanceof IoError) throw err;
    throw ioError('create', dir, err);
  }
  const written: string[] = [];
  for (const { f, parts } of targets) {
    let at = root;
    for (const part of parts.slice(0, -1)) {
      at = join(at, part);
      await ensurePlainDir(at);
    }
    const path = join(at, parts.at(-1)!);
    if (!path.startsWith(root + sep)) throw new SchedulerError(`refusing to write ${path}: outside ${root}`, { path });
    // rename() replaces a symbolic link at `path` itself; it never writes through it.
    await atomicWriteFile(path, f.data ?? f.content, 0o644);
    written.push(path);
  }
  return written;
}

/** Creates `path` as a directory, or checks that it is one and not a symbolic link. */
async function ensurePlainDir(path: string): Promise<void> {
  try {
    await mkdir(path);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError('create', path, err);
  }
  const st = await lstat(path);
  if (!st.isDirectory()) throw new SchedulerError(`refusing to write into ${path}: not a plain directory (a link or a file)`, { path });
}
