/**
 * Zone-table cache: `<stateDir>/cache/zones/<runtime>/<zone>.<year>.json`, one UTC year of a
 * zone's offsets as src/schedule/zone.ts exports it. `cronsync exec --scheduled` in a zone
 * other than UTC needs a few offsets, and the first `Intl.DateTimeFormat` of a process costs
 * 10-20 ms; a table that an earlier run built with the same Node, ICU and time-zone data gives
 * the same answers without it. `<runtime>` names those versions, so an upgrade of Node or of its
 * tz data starts a fresh cache. Files are written atomically and read with validation; a bad or
 * missing file only means the tables are built from Intl again.
 */
import { join } from 'node:path';
import { isZoneYear } from '../schedule/zone.js';
import type { ZoneYear } from '../schedule/zone.js';
import { readFileOrNullSync, writeFileAtomicSync } from './sync-io.js';

/** The versions whose data the tables come from, as a directory name. */
export function runtimeKey(versions: NodeJS.ProcessVersions = process.versions): string {
  return `node-${versions.node}-icu-${versions.icu ?? 'none'}-tz-${versions.tz ?? 'none'}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** Path of a cached year, or null for a zone name that cannot be a safe file name. */
export function zoneYearPath(stateDir: string, zone: string, year: number, runtime = runtimeKey()): string | null {
  // Zone names the schedule core accepts: letters, digits, `_+-/`; no dots, so no `..`.
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(zone) || zone.length > 64 || !Number.isInteger(year)) return null;
  return join(stateDir, 'cache', 'zones', runtime, `${zone.replace(/\//g, '~')}.${year}.json`);
}

/** A cached year, or null when absent, unreadable or not for this zone and year. */
export function readZoneYear(stateDir: string, zone: string, year: number): ZoneYear | null {
  const path = zoneYearPath(stateDir, zone, year);
  if (!path) return null;
  try {
    const text = readFileOrNullSync(path);
    const v: unknown = text === null ? null : JSON.parse(text);
    return isZoneYear(v) && v.zone === zone && v.year === year ? v : null;
  } catch {
    return null;
  }
}

/** Stores a year (mode 0644: time-zone data, no secret). Best effort: false when it cannot. */
export function writeZoneYear(stateDir: string, data: ZoneYear): boolean {
  const path = zoneYearPath(stateDir, data.zone, data.year);
  if (!path) return false;
  try {
    writeFileAtomicSync(path, JSON.stringify(data), 0o644, false);
    return true;
  } catch {
    return false;
  }
}
