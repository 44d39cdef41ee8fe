/** `cronsync render --scheduler crond|crontab [PATH...]`: print what would be installed. */
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { loadConfig } from '../../config/load.js';
import { desiredJob, selectJobs } from '../../desired/select.js';
import { IoError, UsageError, stripUrlCredentials } from '../../errors.js';
import { loadManifests } from '../../manifest/load.js';
import { renderEntryOrError } from '../../scheduler/entry-error.js';
import { createAdapter, createRegistry } from '../../scheduler/registry.js';
import type { SchedulerKind } from '../../scheduler/types.js';
import { sourceIdOf } from '../../source/index.js';
import { nodeRunner } from '../../system/runner.js';
import { findManifestFiles } from '../../system/walk.js';
import { adapterOptions } from '../agent.js';
import { parseCommandArgs } from '../args.js';
import type { CliIo } from '../io.js';

export const usage = `Usage: cronsync render --scheduler crond|crontab [PATH...] [--config FILE]

Prints exactly what would be installed for the valid manifests in PATHs (default: .):
the cron.d file, or the managed crontab block. With --config, only the jobs this agent
selects (tenant, selector, enabled) are rendered, with its settings and source id (for a
directory source, run it from that directory); without it, every valid enabled job is
rendered. Invalid manifests are reported on stderr and left out.
`;

const KINDS: Record<string, SchedulerKind> = { crond: 'cron.d', 'cron.d': 'cron.d', crontab: 'crontab' };

/** Runs render. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { scheduler: { type: 'string' } });
  const kind = KINDS[values.scheduler ?? ''];
  if (!kind) throw new UsageError(`--scheduler must be crond or crontab (got "${values.scheduler ?? ''}")`);
  const cfg = values.config !== undefined || io.env.CRONSYNC_CONFIG ? loadConfig({ file: values.config, env: io.env, cwd: io.cwd }) : null;
  let inputs;
  try {
    const files = await findManifestFiles(positionals.length > 0 ? positionals : ['.'], io.cwd);
    inputs = await Promise.all(files.map(async (f) => ({ path: f.display, content: await readFile(f.absolute) })));
  } catch (err) {
    if (err instanceof IoError) throw new UsageError(err.message);
    throw err;
  }
  const load = loadManifests(inputs);
  for (const i of load.issues.filter((x) => x.severity === 'error')) io.stderr.write(`${i.file}:${i.line}:${i.col}: error [${i.rule}] ${i.message}\n`);
  // With a config, entries carry the agent's own source id, exactly as `sync` installs them.
  const sourceId = cfg ? sourceIdOf(cfg.source) : `local-${createHash('sha256').update(positionals.join('\0')).digest('hex').slice(0, 12)}`;
  const origin = { sourceId, url: cfg ? stripUrlCredentials(cfg.source.url) : io.cwd, ref: cfg?.source.ref ?? '', commit: null };
  let jobs;
  if (cfg) {
    jobs = [...selectJobs(load.jobs, cfg.agent, origin).desired.values()];
  } else {
    // No agent: render every valid enabled job, whatever its tenant and selector.
    jobs = load.jobs.filter((j) => j.job.spec.enabled).map((j) => desiredJob(j, origin));
  }
  const opts = adapterOptions(cfg ?? defaultsFor(), sourceId);
  const adapter = createAdapter(createRegistry(), kind, opts, { runner: nodeRunner });
  // As in sync: a job whose entry the scheduler cannot hold (e.g. over cron's line limit) is
  // reported and left out; the other jobs are still rendered.
  let rejected = 0;
  const renderable = jobs.filter((d) => {
    const r = renderEntryOrError(adapter, d);
    if (typeof r === 'string') return true;
    io.stderr.write(`${d.provenance.path}: error [entry-invalid] ${d.id}: ${r.error}\n`);
    rejected++;
    return false;
  });
  for (const f of adapter.render(renderable).files) io.stdout.write(f.content);
  return rejected > 0 || load.issues.some((i) => i.severity === 'error') ? 1 : 0;
}

function defaultsFor(): Parameters<typeof adapterOptions>[0] {
  return { scheduler: { kind: 'auto', cronDir: '/etc/cron.d', unitDir: '/etc/systemd/system', taskFolder: '\\cronsync' }, stateDir: '/var/lib/cronsync' } as Parameters<typeof adapterOptions>[0];
}
