/**
 * The `windows` adapter over `schtasks.exe` (SPEC §8): one task per job under the task folder,
 * registered with `/Create /XML <file> /TN <path> /F` from a UTF-16LE temp file, removed with
 * `/Delete /TN <path> /F`, read back with `/Query /XML ONE`. A task is written only when what
 * is installed differs from its rendering, so a second apply writes nothing.
 */
import { tmpdir } from 'node:os';
import type { DesiredJob } from '../../desired/types.js';
import type { JobId } from '../../manifest/types.js';
import { ManifestError, SchedulerError } from '../../errors.js';
import { ownedSourceIds } from '../../plan/plan.js';
import type { InstalledEntry, Plan } from '../../plan/types.js';
import type { Runner } from '../../system/runner.js';
import { windowsSystemTool } from '../../system/platform.js';
import { windowsRunAsMessage } from '../../system/users.js';
import type { ApplyResult, ExecCommand, Rendered, SchedulerAdapter } from '../types.js';
import { foreignInPlace } from '../types.js';
import { nodeTaskFileFs } from './files.js';
import type { TaskFileFs } from './files.js';
import { inFolder, normalizeFolder, taskPath } from './model.js';
import { parseQueryXml, parseTaskElement, taskEntry } from './parse.js';
import { encodeUtf16, renderTask, renderTaskFiles } from './render.js';
import type { TaskContext, TriggersOf } from './render.js';

/** Settings of the windows adapter. */
export interface WindowsAdapterOptions {
  /** Source id of this agent; only tasks carrying it are ours. */
  sourceId: string;
  execCommand: ExecCommand;
  /** State dir passed to `exec --state-dir`. */
  stateDir: string;
  /** IANA zone of the host's clock; default: this process's zone. */
  hostZone?: string;
  /** Task folder (SPEC §3 `scheduler.taskFolder`); default `\cronsync`. */
  taskFolder?: string;
  /** Run-as user of the tasks (LogonType S4U, no stored password); default SYSTEM. */
  user?: string;
  /** Clock for the dated DST triggers; default `new Date()`. */
  now?: () => Date;
  /** The schtasks program; default `%SystemRoot%\\System32\\schtasks.exe` (see windowsSystemTool). */
  schtasks?: string;
}

/** Ports of the windows adapter. */
export interface WindowsAdapterPorts {
  runner: Runner;
  /** Directory of the temporary task files; default the OS temp dir. */
  tempDir?: string;
  fs?: TaskFileFs;
}

/** Default task folder. */
export const DEFAULT_TASK_FOLDER = '\\cronsync';

const pathOf = (e: InstalledEntry): string => e.key.replace(/^windows:/, '');

/**
 * Creates the windows adapter with the given trigger computation (index.ts binds triggers.ts).
 * @throws {SchedulerError} from inventory/apply when schtasks fails or its output is unreadable.
 */
export function createSchtasksAdapter(options: WindowsAdapterOptions, ports: WindowsAdapterPorts, triggersOf: TriggersOf): SchedulerAdapter {
  const fs = ports.fs ?? nodeTaskFileFs;
  const program = options.schtasks ?? windowsSystemTool('schtasks.exe');
  const folder = normalizeFolder(options.taskFolder ?? DEFAULT_TASK_FOLDER);
  const ctx: TaskContext = { sourceId: options.sourceId, taskFolder: folder, execCommand: options.execCommand, stateDir: options.stateDir, ...(options.user === undefined ? {} : { user: options.user }) };

  async function schtasks(args: string[], signal: AbortSignal): Promise<string> {
    signal.throwIfAborted();
    const r = await ports.runner.run({ file: program, args }, { signal, timeoutMs: 120_000 });
    if (r.exitCode !== 0 || r.spawnError !== undefined || r.timedOut) {
      const why = (r.spawnError ?? r.stderr).trim().split(/\r?\n/)[0] ?? '';
      throw new SchedulerError(`schtasks ${args[0]} failed (exit ${r.exitCode}): ${why || 'no message'}`, { argv: [program, ...args], exitCode: r.exitCode, stderr: r.stderr });
    }
    return r.stdout;
  }

  async function inventory(signal: AbortSignal): Promise<InstalledEntry[]> {
    const out = await schtasks(['/Query', '/XML', 'ONE'], signal);
    if (out.trim() === '') return [];
    let tasks: ReturnType<typeof parseQueryXml>;
    try {
      tasks = parseQueryXml(out);
    } catch (err) {
      throw new SchedulerError('schtasks /Query /XML ONE printed XML that does not parse', { argv: [program, '/Query', '/XML', 'ONE'] }, { cause: err });
    }
    const entries: InstalledEntry[] = [];
    for (const { path, task } of tasks) {
      const parsed = parseTaskElement(task);
      const at = path ?? parsed.model.uri;
      if (!inFolder(at, folder)) continue;
      entries.push(taskEntry(at, parsed, options.sourceId));
    }
    return entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  // A task's principal is scheduler.user for every job: a job's own user is refused (reported
  // as entry-invalid by the reconciler), never silently run as another account.
  const renderEntry = (d: DesiredJob): string => {
    if (d.job.spec.user !== undefined) throw new ManifestError(windowsRunAsMessage(d.job.spec.user), { jobId: d.id, user: d.job.spec.user });
    return renderTask(d, ctx, triggersOf(d));
  };

  function render(desired: readonly DesiredJob[]): Rendered {
    return { kind: 'windows', files: renderTaskFiles(desired, ctx, triggersOf) };
  }

  async function create(path: string, xml: string, signal: AbortSignal): Promise<void> {
    const file = await fs.writeTemp(ports.tempDir ?? tmpdir(), encodeUtf16(xml));
    try {
      await schtasks(['/Create', '/XML', file, '/TN', path, '/F'], signal);
    } finally {
      await fs.remove(file).catch(() => undefined);
    }
  }

  function occupied(installed: readonly InstalledEntry[]): (d: DesiredJob) => string | null {
    return foreignInPlace(installed, { ofEntry: pathOf, ofJob: (d) => taskPath(folder, d.id), key: (p) => p.toLowerCase() },
      (path) => `a task not made by cronsync is at ${path}; it is left alone: delete or rename it to install this job`);
  }

  async function apply(plan: Plan, signal: AbortSignal): Promise<ApplyResult> {
    signal.throwIfAborted();
    if (plan.sourceId !== options.sourceId) {
      throw new SchedulerError(`plan is for source ${plan.sourceId}, this task folder belongs to ${options.sourceId}`, { planSource: plan.sourceId, sourceId: options.sourceId });
    }
    const owned = ownedSourceIds(plan);
    const isOurs = (e: InstalledEntry | undefined): boolean => e?.marker != null && owned.has(e.marker.sourceId);
    const installed = new Map((await inventory(signal)).map((e) => [pathOf(e).toLowerCase(), e]));
    const written: string[] = [];
    const failed: { id: JobId; error: string }[] = [];
    const targets = new Set<string>();
    /** One task's schtasks call: a refusal is that job's, and the others go on. */
    const attempt = async (id: JobId, call: () => Promise<void>): Promise<boolean> => {
      try {
        await call();
        return true;
      } catch (err) {
        if (signal.aborted || !(err instanceof SchedulerError)) throw err;
        failed.push({ id, error: err.message });
        return false;
      }
    };
    for (const d of plan.final) {
      const path = taskPath(folder, d.id);
      targets.add(path.toLowerCase());
      const cur = installed.get(path.toLowerCase());
      // A task without a marker at our path was made by someone else: never overwritten. The
      // plan rejects such jobs (occupied); this catches a task created since the inventory.
      if (cur && cur.marker === null) {
        failed.push({ id: d.id, error: `a task not made by cronsync is at ${path}; it is left alone` });
        continue;
      }
      const xml = plan.rendered?.get(d.id) ?? renderEntry(d);
      if (cur && isOurs(cur) && cur.marker!.sourceId === options.sourceId && !cur.drifted && cur.raw === xml) continue;
      if (await attempt(d.id, () => create(path, xml, signal))) written.push(path);
    }
    const stale = [...plan.remove, ...plan.update.map((u) => u.installed)];
    for (const e of stale) {
      const key = pathOf(e).toLowerCase();
      // Only our own tasks that are still there and were not just rewritten in place.
      if (!isOurs(e) || targets.has(key) || !isOurs(installed.get(key))) continue;
      if (!(await attempt(e.marker!.jobId, () => schtasks(['/Delete', '/TN', pathOf(e), '/F'], signal).then(() => undefined)))) continue;
      written.push(pathOf(e));
      installed.delete(key);
    }
    return { changed: written.length > 0, written, ...(failed.length > 0 ? { failed } : {}) };
  }

  return { kind: 'windows', inventory, render, renderEntry, occupied, apply };
}
