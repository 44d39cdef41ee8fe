/**
 * The trusted-key files of `source.verify` (sshAllowedSigners, openpgpKeys), read as the agent
 * reads its other sensitive files: a regular file (a FIFO or device put in its place is refused,
 * never waited on), at most 4 MiB, and, on POSIX, writable by its owner only, since whoever can
 * write it can make their own key trusted.
 */
import { hostOs } from '../system/platform.js';
import { readRegularFileSync } from '../system/regular-file.js';

/** The largest key file read. */
export const MAX_KEY_FILE_BYTES = 4 * 1024 * 1024;

const REASONS: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EPERM: 'permission denied', EISDIR: 'it is a directory' };

/**
 * The bytes of the key file `file` of `source.verify.<setting>`.
 * @throws {Error} naming the setting and the file, and why it is not used.
 */
export function readKeyFile(file: string, setting: 'sshAllowedSigners' | 'openpgpKeys', platform: NodeJS.Platform = hostOs): Buffer {
  const name = `source.verify.${setting} ${file}`;
  let data: Buffer;
  try {
    data = readRegularFileSync(file, {
      maxBytes: MAX_KEY_FILE_BYTES,
      check: (st) => {
        if (platform !== 'win32' && (st.mode & 0o022) !== 0) {
          throw Object.assign(new Error(`${name} is writable by group or others (mode ${(st.mode & 0o777).toString(8)}): whoever can write it can add a trusted key; run chmod go-w`), { code: 'EWRITABLE' });
        }
      },
    }).data;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EWRITABLE') throw e;
    const why = e.code === 'ENOTREG' ? e.message : REASONS[e.code ?? ''] ?? e.code ?? 'error';
    throw new Error(`cannot read ${name}: ${why}`);
  }
  if (data.length > MAX_KEY_FILE_BYTES) throw new Error(`${name} is over 4 MiB`);
  return data;
}
