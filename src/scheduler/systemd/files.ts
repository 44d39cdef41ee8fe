/**
 * File port of the systemd adapter: the cron.d adapter's atomic writes (temp file with a dot
 * in its name, fsync, rename, fsync of the directory), plus creating the unit directory
 * (`~/.config/systemd/user` may not exist yet). systemd loads only names with a unit suffix,
 * so a temp file (`.cronsync-….timer.<hex>.tmp`) is never read as a unit.
 */
import { nodeCronDirFs } from '../crond/files.js';
import type { CronDirFs } from '../crond/files.js';
import { makeDirSync } from '../../system/regular-file.js';

/** What the systemd adapter does to the file system. */
export interface UnitDirFs extends CronDirFs {
  /** Creates a directory and its parents (mode 0755); no error when it exists. */
  ensureDir(dir: string): Promise<void>;
}

/** The real file system. */
export const nodeUnitDirFs: UnitDirFs = {
  ...nodeCronDirFs,
  async ensureDir(dir) {
    // Not mkdir's recursive mode, which never returns under /proc (see makeDirSync).
    makeDirSync(dir, 0o755);
  },
};
