/**
 * The cron.d adapter (root): the file `<cronDir>/cronsync`, plus `cronsync-2`, `cronsync-3`, …
 * when one file would pass Debian cron's line limit (see render.ts for which entry goes
 * where). Each file is mode 0644, rewritten atomically (temp file with a dot in its name, then
 * rename) and only when its bytes differ; a `cronsync-N` file left with nothing is deleted.
 */
import { join } from 'node:path';
import type { DesiredJob } from '../../desired/types.js';
import { SchedulerError } from '../../errors.js';
import { sameStrings } from '../../memo.js';
import { ownedSourceIds } from '../../plan/plan.js';
import type { InstalledEntry, Plan } from '../../plan/types.js';
import { renderJobEntry } from '../cronline/entry.js';
import { MARKER_PREFIX } from '../marker.js';
import type { AdapterOptions, ApplyResult, Rendered, SchedulerAdapter } from '../types.js';
import { hostTimeZone } from '../types.js';
import { CronFileTooLarge, nodeCronDirFs } from './files.js';
import type { CronDirFs } from './files.js';
import { isOurFile, parseCronD } from './parse.js';
import { assertEntryFits, CROND_FILE, crondFileIndex, crondFileName, layoutCronD } from './render.js';
import type { CronDContext, CronDFile, CurrentFile } from './render.js';

/** Mode of the cron.d files: Debian cron ignores group/other-writable files. */
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
  const dir = options.cronDir;

  /**
   * The last parse of each file by name, reused while its text is unchanged: every re-sync
   * reads the files twice (inventory, then apply), and apply parses what it has just written
   * once, so that the next sync finds it parsed. Entries do not depend on the owned source ids;
   * what a rewrite keeps does, so it is kept per set of owned ids.
   */
  const parses = new Map<string, { text: string; entries: InstalledEntry[]; kept: Map<string, ReturnType<typeof parseCronD>['kept']> }>();
  /**
   * The parse of `text` (file `name`): its entries, and what a plan owning `owned` keeps of it
   * (not computed again for the entries alone, `owned` absent).
   */
  function parsed(name: string, text: string, owned?: ReadonlySet<string>): { entries: InstalledEntry[]; kept: ReturnType<typeof parseCronD>['kept'] | undefined } {
    const last = parses.get(name);
    const same = last?.text === text ? last : undefined;
    if (same && !owned) return { entries: same.entries, kept: undefined };
    const ownedKey = [...(owned ?? [options.sourceId])].sort().join('\0');
    const known = same?.kept.get(ownedKey);
    if (same && known) return { entries: same.entries, kept: known };
    const p = parseCronD(text, name, options.sourceId, owned ?? new Set([options.sourceId]));
    const hit = same ?? { text, entries: p.entries, kept: new Map() };
    if (!same) parses.set(name, hit);
    hit.kept.set(ownedKey, p.kept);
    return { entries: hit.entries, kept: p.kept };
  }
  /**
   * Our files' bytes and text as last read or written, by name. A sync reads them twice (inventory, then
   * apply) and the daemon every cycle: bytes equal to the last read are that text again, not
   * decoded into a new string (1 MiB for 2,500 jobs, ~4 ms). Other files are read as text.
   */
  const lastRead = new Map<string, { bytes: Buffer; text: string }>();
  /**
   * What our files are read into, reused by every read (a read while another is under way gets
   * none): only a file that changed is copied out of it. Grown to the largest file seen.
   */
  const scratch = { buf: Buffer.allocUnsafeSlow(0), busy: false };
  async function read(name: string): Promise<string | null> {
    const path = join(dir, name);
    if (!fs.readBytes || crondFileIndex(name) === null) return fs.read(path);
    const into = scratch.busy ? undefined : scratch.buf;
    if (into) scratch.busy = true;
    let bytes: Buffer | null;
    try {
      bytes = await fs.readBytes(path, into);
    } finally {
      if (into) scratch.busy = false;
    }
    if (bytes === null) {
      lastRead.delete(name);
      return null;
    }
    const last = lastRead.get(name);
    if (last?.bytes.equals(bytes)) return last.text;
    // Kept: a copy when it is a view of the scratch buffer, which the next read overwrites.
    const own = into && bytes.buffer === into.buffer ? Buffer.from(bytes) : bytes;
    fitScratch(own.length);
    const text = own.toString('utf8');
    lastRead.set(name, { bytes: own, text });
    return text;
  }
  /** Grows the scratch buffer to hold a file of `size` bytes, with room to grow. */
  function fitScratch(size: number): void {
    if (!scratch.busy && size >= scratch.buf.length) scratch.buf = Buffer.allocUnsafeSlow(size + (size >> 3) + 4096);
  }
  /**
   * A file listed in the cron dir, as {@link read} reads it, except that a file of another name
   * than ours that is too large to be read is skipped as one that is not a regular file is: it is
   * never touched, and the markers it may hold are not worth reading 16 MiB each sync. One of our
   * names that large fails the sync: its entries cannot be told, so neither can the plan.
   */
  async function readListed(name: string): Promise<string | null> {
    try {
      return await read(name);
    } catch (err) {
      if (err instanceof CronFileTooLarge && crondFileIndex(name) === null) return null;
      throw err;
    }
  }
  async function inventory(signal: AbortSignal): Promise<InstalledEntry[]> {
    signal.throwIfAborted();
    const out: InstalledEntry[] = [];
    const seen = new Set<string>();
    for (const name of (await fs.list(dir)).sort()) {
      // Other cron.d files are listed only when they carry cronsync markers, and only those.
      if (name.startsWith('.')) continue;
      const text = await readListed(name);
      if (text === null) continue;
      const ours = isOurFile(name, text);
      if (!ours && !text.includes(MARKER_PREFIX)) continue;
      const entries = parsed(name, text).entries;
      seen.add(name);
      for (const e of entries) if (ours || e.marker !== null) out.push({ ...e });
    }
    for (const name of [...parses.keys()]) if (!seen.has(name)) parses.delete(name);
    for (const name of [...lastRead.keys()]) if (!seen.has(name)) lastRead.delete(name);
    return out;
  }

  function render(desired: readonly DesiredJob[]): Rendered {
    return { kind: 'cron.d', files: layoutCronD(desired, ctx).map((f) => ({ name: join(dir, f.name), content: f.text })) };
  }

  function renderEntry(d: DesiredJob): string {
    const text = renderJobEntry(d, ctx);
    assertEntryFits(text, d.id);
    return text;
  }

  /** Our files as they are: what each keeps and holds of ours, and the numbers held by others. */
  async function current(owned: ReadonlySet<string>): Promise<{ files: CurrentFile[]; texts: Map<string, string>; taken: Set<number> }> {
    const files: CurrentFile[] = [];
    const texts = new Map<string, string>();
    const taken = new Set<number>();
    for (const name of await fs.list(dir)) {
      const index = crondFileIndex(name);
      if (index === null) continue;
      const text = await read(name);
      if (text === null || !isOurFile(name, text)) {
        // Not a file of ours (or a directory): its name is never used for one.
        taken.add(index);
        continue;
      }
      // Entries of this agent's previous source ids are rewritten from the plan, never kept.
      const p = parsed(name, text, owned);
      const mine = p.entries.flatMap((e) => (e.marker && owned.has(e.marker.sourceId) ? [e.marker.jobId] : []));
      files.push({ index, kept: p.kept!, owned: mine });
      texts.set(name, text);
    }
    return { files, texts, taken };
  }

  /**
   * The last layout and what it was made from. layoutCronD is a function of the files' texts,
   * the owned source ids, the numbers taken by others, the preserved entries and the jobs'
   * entries in order; when all of them are the same again (a re-sync that changes nothing),
   * so is the layout, and it is not made again (2,500 entries: ~6 ms). After a rewrite, it is
   * the layout of the files as written.
   */
  let lastLayout: { input: LayoutKey; next: CronDFile[] } | undefined;

  async function apply(plan: Plan, signal: AbortSignal): Promise<ApplyResult> {
    signal.throwIfAborted();
    if (plan.sourceId !== options.sourceId) {
      throw new SchedulerError(`plan is for source ${plan.sourceId}, this cron.d file belongs to ${options.sourceId}`, { planSource: plan.sourceId, sourceId: options.sourceId });
    }
    const owned = ownedSourceIds(plan);
    const now = await current(owned);
    // The planner's texts (renderEntry's, so the same bytes); a job missing from them is rendered here.
    const entry = (d: DesiredJob): string => plan.rendered?.get(d.id) ?? renderJobEntry(d, ctx);
    const input = layoutInput(plan, owned, now, entry);
    const next = lastLayout && sameLayoutInput(lastLayout.input, input)
      ? lastLayout.next
      : layoutCronD(plan.final, ctx, { current: now.files, preserve: plan.preserve ?? [], taken: now.taken, entry });
    // `cronsync` is the first file of any layout that holds something; a FIFO, device or
    // directory of that name is not ours to replace (the rename would), whoever put it there.
    const first = join(dir, CROND_FILE);
    if (now.taken.has(1) && next.length > 0 && (await fs.stat(first)) !== null) {
      throw new SchedulerError(`${first} is not a regular file; cronsync writes its entries to that file and never replaces what is not one: remove it`, { path: first });
    }
    await removeStaleTemps();
    const writes: CronDFile[] = [];
    for (const f of next) {
      const path = join(dir, f.name);
      if (now.texts.get(f.name) === f.text && (await fs.stat(path))?.mode === CROND_MODE) continue;
      writes.push(f);
    }
    const removes = [...now.texts.keys()].filter((name) => !next.some((f) => f.name === name)).sort();
    // An entry that moves is written to its new file before it leaves the old one: a crash in
    // between leaves a duplicate (the planner removes it, the exec guard runs it once), not a gap.
    const fileOf = new Map(next.flatMap((f) => f.ids.map((id) => [id, f.name] as const)));
    const was = new Map(now.files.map((f) => [crondFileName(f.index), f.owned]));
    const movesOut = (f: CronDFile): boolean => (was.get(f.name) ?? []).some((id) => fileOf.has(id) && fileOf.get(id) !== f.name);
    const written: string[] = [];
    if (writes.length > 0 && !(await fs.stat(dir))) {
      // No cron dir holds no entry: with no job to install (prune, an uninstall after cron was
      // removed) there is nothing to do. Else named as the setting: the temp file's ENOENT was not.
      if (plan.final.length === 0) return { changed: false, written: [] };
      throw new SchedulerError(`scheduler.cronDir ${dir} does not exist (is cron installed? cronsync does not create it)`, { path: dir });
    }
    for (const f of [...writes.filter((f) => !movesOut(f)), ...writes.filter(movesOut)]) {
      signal.throwIfAborted();
      const path = join(dir, f.name);
      // Encoded once: the bytes written are what the next read of this file is compared with.
      const bytes = Buffer.from(f.text, 'utf8');
      const tmp = await fs.writeTemp(dir, f.name, bytes, CROND_MODE);
      try {
        await fs.rename(tmp, path);
      } catch (err) {
        await fs.remove(tmp).catch(() => undefined);
        throw err;
      }
      written.push(path);
      // The next sync reads this text back (inventory, then apply): parsed now, once, and
      // known by its bytes, so that reading it back does not decode it again.
      parsed(f.name, f.text, owned);
      if (fs.readBytes) {
        lastRead.set(f.name, { bytes, text: f.text });
        fitScratch(bytes.length);
      }
    }
    for (const name of removes) {
      signal.throwIfAborted();
      await fs.remove(join(dir, name));
      written.push(join(dir, name));
    }
    // The files now hold `next`, and laying out `next` again gives `next` (a layout is a fixed
    // point, tested in crond-files.test.ts): the next sync with the same jobs finds it here.
    lastLayout = { input: { ...input, texts: new Map(next.map((f) => [f.name, f.text])) }, next };
    return { changed: written.length > 0, written };
  }

  async function removeStaleTemps(): Promise<void> {
    // Left behind by a crash between write and rename; cron ignores them, we tidy up.
    for (const name of await fs.list(dir)) {
      if (/^\.cronsync(-[1-9][0-9]*)?\.[0-9a-f]+\.tmp$/.test(name)) await fs.remove(join(dir, name));
    }
  }

  return { kind: 'cron.d', inventory, render, renderEntry, apply };
}

/** What a layout of apply() is made from (see `lastLayout`). */
interface LayoutKey {
  texts: ReadonlyMap<string, string>;
  owned: string;
  taken: string;
  /** Each preserved entry's source id, job id and text. */
  preserve: string[];
  /** Job id and entry text of each job in `plan.final`, in order. */
  jobs: string[];
}

function layoutInput(plan: Plan, owned: ReadonlySet<string>, now: { texts: Map<string, string>; taken: Set<number> }, entry: (d: DesiredJob) => string): LayoutKey {
  return {
    texts: now.texts,
    owned: [...owned].sort().join('\0'),
    taken: [...now.taken].sort((a, b) => a - b).join(','),
    preserve: (plan.preserve ?? []).flatMap((e) => [e.marker?.sourceId ?? '', e.marker?.jobId ?? '', e.raw]),
    jobs: plan.final.flatMap((d) => [d.id, entry(d)]),
  };
}

function sameLayoutInput(a: LayoutKey, b: LayoutKey): boolean {
  if (a.owned !== b.owned || a.taken !== b.taken || a.texts.size !== b.texts.size) return false;
  for (const [name, text] of a.texts) if (b.texts.get(name) !== text) return false;
  return sameStrings(a.preserve, b.preserve) && sameStrings(a.jobs, b.jobs);
}
