/** The temp-file port of the windows adapter: the task XML handed to `schtasks /Create /XML`. */
import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Writes and removes the temporary task files. */
export interface TaskFileFs {
  /** Writes `data` to a new file (never an existing one) in `dir`; returns its path. */
  writeTemp(dir: string, data: Uint8Array): Promise<string>;
  /** Removes a file; no error when it is already gone. */
  remove(path: string): Promise<void>;
}

/** TaskFileFs on the real file system; files are created exclusively, readable by the owner only. */
export const nodeTaskFileFs: TaskFileFs = {
  async writeTemp(dir, data) {
    const path = join(dir, `cronsync-task-${randomUUID()}.xml`);
    await writeFile(path, data, { flag: 'wx', mode: 0o600 });
    return path;
  },
  remove: (path) => rm(path, { force: true }),
};
