/**
 * Zone-table cache: `<stateDir>/cache/zones/<runtime>/<zone>.<year>.json`, one UTC year of a
 * zone's offsets as src/schedule/zone.ts exports it. `cronsync exec --scheduled` in a zone
 * other than UTC needs a few offsets, and the first `Intl.DateTimeFormat` of a process costs
 * 10-20 ms; a table that an earlier run built with the same Node, ICU and time-zone data gives
 * the same answers without it. `<runtime>` names those versions, so an upgrade of Node or of its
 * tz data starts a fresh cache. Files are written atomically and read with validation; a bad or
 * missing file only means the tables are built from Intl again.
 *
 * A wrong table would make a job fire at a wrong minute or not at all, and nothing short of
 * asking Intl (what the cache avoids) can prove a table right. So a file is trusted only when it
 * is what a run of ours wrote: a regular file owned by this user or root that nobody else may
 * write (POSIX), whose checksum matches (damage), and whose offsets are plausible (whole seconds,
 * under a day). Anything else is ignored and rebuilt.
 */
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { isZoneYear } from '../schedule/zone.js';
import type { ZoneYear } from '../schedule/zone.js';
import { nodePlatform, type Platform } from '../system/platform.js';
import { readRegularFileSync } from '../system/regular-file.js';
import { writeFileAtomicSync } from './sync-io.js';

/** The zone names the schedule core accepts: letters, digits, `_+-/`; no dots, so no `..`. */
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+\-/]*$/;
const MS_DAY = 86_400_000;

/** The versions whose data the tables come from, as a directory name. */
export function runtimeKey(versions: NodeJS.ProcessVersions = process.versions): string {
  return `node-${versions.node}-icu-${versions.icu ?? 'none'}-tz-${versions.tz ?? 'none'}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** Path of a cached year, or null for a zone name that cannot be a safe file name. */
export function zoneYearPath(stateDir: string, zone: string, year: number, runtime = runtimeKey()): string | null {
  if (!ZONE_NAME.test(zone) || zone.length > 64 || !Number.isInteger(year)) return null;
  return join(stateDir, 'cache', 'zones', runtime, `${zone.replace(/\//g, '~')}.${year}.json`);
}

/**
 * Checksum of a year's data (64 bits, hex), over its values in a fixed order: catches a file
 * damaged on disk that still parses. Not a defence against a writer (see the module comment).
 */
export function zoneYearChecksum(d: ZoneYear): string {
  const text = JSON.stringify([d.zone, d.canonical, d.year, d.startOffset, d.transitions.map((t) => [t.at, t.before, t.after])]);
  // cyrb53-style mixing of two 32-bit lanes: no node:crypto on the start-up path of `exec`.
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h2 >>> 0).toString(16).padStart(8, '0') + (h1 >>> 0).toString(16).padStart(8, '0');
}

/** Offsets and instants as Intl yields them: whole seconds, offsets under a day either way. */
function plausible(d: ZoneYear): boolean {
  const offset = (o: number): boolean => o % 1000 === 0 && Math.abs(o) < MS_DAY;
  if (!ZONE_NAME.test(d.canonical) || d.canonical.length > 64 || !offset(d.startOffset)) return false;
  return d.transitions.every((t) => t.at % 1000 === 0 && offset(t.before) && offset(t.after));
}

/** Only what this user (or root) wrote, and nobody else can rewrite, is trusted (POSIX). */
function trusted(st: Stats, platform: Platform): boolean {
  if (!st.isFile()) return false;
  if (platform.kind === 'win32' || typeof process.geteuid !== 'function') return true;
  return (st.mode & 0o022) === 0 && (st.uid === process.geteuid() || st.uid === 0);
}

/** A cached year, or null when absent, unreadable, untrusted, damaged or not for this zone and year. */
export function readZoneYear(stateDir: string, zone: string, year: number, platform: Platform = nodePlatform): ZoneYear | null {
  const path = zoneYearPath(stateDir, zone, year);
  if (!path) return null;
  try {
    // Checked on the open file: the checks and the read see the same file.
    const { data } = readRegularFileSync(path, { check: (st) => { if (!trusted(st, platform)) throw new Error('untrusted'); } });
    const v = JSON.parse(data.toString('utf8')) as unknown;
    if (!isZoneYear(v) || v.zone !== zone || v.year !== year || !plausible(v)) return null;
    if ((v as { sum?: unknown }).sum !== zoneYearChecksum(v)) return null;
    return { zone: v.zone, canonical: v.canonical, year: v.year, startOffset: v.startOffset, transitions: v.transitions.map((t) => ({ at: t.at, before: t.before, after: t.after })) };
  } catch {
    return null;
  }
}

/** Stores a year (mode 0644: time-zone data, no secret). Best effort: false when it cannot. */
export function writeZoneYear(stateDir: string, data: ZoneYear): boolean {
  const path = zoneYearPath(stateDir, data.zone, data.year);
  if (!path || !isZoneYear(data) || !plausible(data)) return false;
  try {
    writeFileAtomicSync(path, JSON.stringify({ ...data, sum: zoneYearChecksum(data) }), 0o644, false);
    return true;
  } catch {
    return false;
  }
}
