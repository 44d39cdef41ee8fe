/** Step 0b of a sync (./steps.ts): the check of `secretsFile`, as `cronsync exec` will make it. */
import { statSync } from 'node:fs';
import { isCronsyncError } from '../errors.js';
import { readSecretsFile } from '../shim/secrets.js';
import type { Step } from './steps.js';

/**
 * Step 0b: read `secretsFile` as `cronsync exec` will, with the same check (src/shim/secrets.ts),
 * so that an unsafe or unreadable file is reported now, not by a run at 3 a.m. exiting 77.
 * Records the problem; never stops the sync. The values read are dropped at once. A file found
 * safe is not read again while its stat is unchanged (a chmod, chown or ACL edit changes its
 * ctime): on Windows the check runs icacls, on every sync of a daemon.
 */
export const checkSecretsFile: Step = async (ctx, deps, mem) => {
  const file = deps.config.secretsFile;
  if (!file) return;
  const key = statKey(file);
  if (key !== null && key === mem.secretsKey) return;
  mem.secretsKey = undefined;
  try {
    readSecretsFile(file);
    mem.secretsKey = key ?? undefined;
  } catch (err) {
    if (!isCronsyncError(err)) throw err;
    ctx.secretsFileProblem = `${err.message}; jobs that use \${VAR} from it will fail`;
  }
};

/** What identifies a file's content and permissions, or null when it cannot be stat'ed. */
function statKey(file: string): string | null {
  try {
    const st = statSync(file, { bigint: true });
    return `${file}\0${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.mode}:${st.uid}:${st.gid}`;
  } catch {
    return null;
  }
}
