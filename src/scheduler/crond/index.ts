/**
 * The cron.d adapter (root): one file `<cronDir>/cronsync`, mode 0644, rewritten atomically
 * (temp file with a dot in its name, then rename) and only when its bytes differ.
 */
import { join } from 'node:path';
import type { DesiredJob } from '../../desired/types.js';
import { SchedulerError } from '../../errors.js';
import { ownedSourceIds } from '../../plan/plan.js';
import type { InstalledEntry, Plan } from '../../plan/types.js';
import { renderJobEntry } from '../cronline/entry.js';
import type { AdapterOptions, ApplyResult, Rendered, SchedulerAdapter } from '../types.js';
import { hostTimeZone } from '../types.js';
import { nodeCronDirFs } from './files.js';
import type { CronDirFs } from './files.js';
import { parseCronD } from './parse.js';
import { CROND_FILE, renderCronD } from './render.js';
import type { CronDContext } from './render.js';

/** Mode of the cron.d file: Debian cron ignores group/other-writable files. */
export const CROND_MODE = 0o644;

/** Ports of the cron.d adapter. */
export interface CronDPorts {
  fs?: CronDirFs;
}

function context(o: AdapterOptions): CronDContext {
  return {
    sourceId: o.sourceId,
    hostZone: o.hostZone ?? hostTimeZone(),
    exec: [o.execCommand.file, ...o.execCommand.args],
    // Always, even for the default dir: the file is shared, and an older cronsync sharing it
    // writes a CRONSYNC_STATE_DIR= line of its own that would otherwise apply to our entries.
    execOptions: ['--state-dir', o.stateDir],
    user: o.user,
    horizon: o.horizon,
  };
}

/** Creates the cron.d adapter. */
export function createCronDAdapter(options: AdapterOptions, ports: CronDPorts = {}): SchedulerAdapter {
  const fs = ports.fs ?? nodeCronDirFs;
  const ctx = context(options);
  const path = join(options.cronDir, CROND_FILE);

  /** The last parse of each file, reused while its text is unchanged (every re-sync reads it). */
  const parses = new Map<string, { text: string; entries: InstalledEntry[] }>();

  async function inventory(signal: AbortSignal): Promise<InstalledEntry[]> {
    signal.throwIfAborted();
    const out: InstalledEntry[] = [];
    for (const name of (await fs.list(options.cronDir)).sort()) {
      // Other cron.d files are listed only when they carry cronsync markers.
      if (name.startsWith('.')) continue;
      const text = await fs.read(join(options.cronDir, name));
      if (text === null) continue;
      if (name !== CROND_FILE && !text.includes('# cronsync:v1 ')) continue;
      let hit = parses.get(name);
      if (hit?.text !== text) {
        const parsed = parseCronD(text, name, options.sourceId);
        hit = { text, entries: name === CROND_FILE ? parsed.entries : parsed.entries.filter((e) => e.marker !== null) };
        parses.set(name, hit);
      }
      out.push(...hit.entries.map((e) => ({ ...e })));
    }
    return out;
  }

  function render(desired: readonly DesiredJob[]): Rendered {
    return { kind: 'cron.d', files: [{ name: path, content: renderCronD(desired, ctx) }] };
  }

  async function apply(plan: Plan, signal: AbortSignal): Promise<ApplyResult> {
    signal.throwIfAborted();
    if (plan.sourceId !== options.sourceId) {
      throw new SchedulerError(`plan is for source ${plan.sourceId}, this cron.d file belongs to ${options.sourceId}`, { planSource: plan.sourceId, sourceId: options.sourceId });
    }
    const current = await fs.read(path);
    // Entries of this agent's previous source ids are rewritten from the plan, never kept.
    const kept = current === null ? undefined : parseCronD(current, CROND_FILE, options.sourceId, ownedSourceIds(plan)).kept;
    const next = renderCronD(plan.final, ctx, kept, plan.preserve ?? []);
    await removeStaleTemps();
    const st = current === null ? null : await fs.stat(path);
    if (current === next && st !== null && st.mode === CROND_MODE) return { changed: false, written: [] };
    signal.throwIfAborted();
    const tmp = await fs.writeTemp(options.cronDir, CROND_FILE, next, CROND_MODE);
    try {
      await fs.rename(tmp, path);
    } catch (err) {
      await fs.remove(tmp).catch(() => undefined);
      throw err;
    }
    return { changed: true, written: [path] };
  }

  async function removeStaleTemps(): Promise<void> {
    // Left behind by a crash between write and rename; cron ignores them, we tidy up.
    for (const name of await fs.list(options.cronDir)) {
      if (name.startsWith(`.${CROND_FILE}.`) && name.endsWith('.tmp')) await fs.remove(join(options.cronDir, name));
    }
  }

  return {
    kind: 'cron.d',
    inventory,
    render,
    renderEntry: (d) => renderJobEntry(d, ctx),
    apply,
  };
}
