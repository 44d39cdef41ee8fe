/**
 * The `--scheduled` guard of `cronsync exec` (SPEC §2a): is this minute a fire time of the job
 * in its zone? Outside UTC the zone's offsets come from the state dir's zone cache when an
 * earlier run left them there (src/state/zone-cache.ts); otherwise they are built from `Intl`
 * and stored for the next runs. Either way the answer is isFireTime()'s.
 */
import type { Job } from '../manifest/types.js';
import { isFireTime } from '../schedule/fires.js';
import { exportZoneYear, importZoneYear, isUtcName } from '../schedule/zone.js';
import { readZoneYear, writeZoneYear } from '../state/zone-cache.js';

/** isFireTime() reads offsets at most three days before the minute and a day after it. */
const REACH_MS = 3 * 86_400_000;

/** Creates the guard of scheduled runs for state dir `stateDir`. */
export function createFireTimeGuard(stateDir: string): (job: Job, minute: Date) => boolean {
  // Zone years this guard already has (a start that is no fire time asks about the ten minutes
  // before it too): each is read from the cache, or built, once.
  const known = new Set<string>();
  return (job, minute) => {
    const zone = job.spec.timezone;
    const t = minute.getTime();
    if (isUtcName(zone) || !Number.isFinite(t)) return isFireTime(job.spec.schedule, zone, minute);
    const missing: number[] = [];
    for (let y = new Date(t - REACH_MS).getUTCFullYear(); y <= new Date(t + REACH_MS).getUTCFullYear(); y++) {
      const key = `${zone}\0${y}`;
      if (known.has(key)) continue;
      known.add(key);
      const cached = readZoneYear(stateDir, zone, y);
      if (cached) importZoneYear(cached);
      else missing.push(y);
    }
    const fire = isFireTime(job.spec.schedule, zone, minute);
    for (const y of missing) {
      const data = exportZoneYear(zone, y);
      if (data) writeZoneYear(stateDir, data);
    }
    return fire;
  };
}
