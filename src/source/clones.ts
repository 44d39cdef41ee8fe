/**
 * The clones of a state dir: `<stateDir>/sources/<sourceId>/`, one per source id (a hash of
 * `source.url`, `ref`, `paths` and `exclude`).
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

/**
 * Removes the clones under `sourcesDir` of source ids other than `keep`: left by an earlier
 * `source.url`, `ref`, `paths` or `exclude`, each as big as a clone, and read again only if the
 * config goes back (one fetch then rebuilds it).
 */
export function removeOtherClones(sourcesDir: string, keep: string): void {
  for (const f of existsSync(sourcesDir) ? readdirSync(sourcesDir) : []) {
    if (f !== keep && /^[0-9a-f]{16}$/.test(f)) rmSync(path.join(sourcesDir, f), { recursive: true, force: true });
  }
}
