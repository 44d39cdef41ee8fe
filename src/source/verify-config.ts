/**
 * The config check of `source.verify` that needs the disk: signatures live on commits, so a
 * source that is a plain directory cannot be verified. The source's kind is decided by
 * `detectSource`, as the sync decides it (index.ts loads no source implementation up front).
 */
import { existsSync } from 'node:fs';
import { detectSource } from './index.js';

/**
 * Why `source.verify` cannot work with `url`, or null. Remote URLs are Git; a local path must be
 * a Git repository (a work tree with `.git`, or a bare repository), as `detectSource` decides.
 */
export function verifySourceProblem(url: string, mode: 'off' | 'head' | undefined, cwd = process.cwd()): string | null {
  if (mode !== 'head') return null;
  let d: ReturnType<typeof detectSource>;
  try {
    d = detectSource(url, cwd);
  } catch {
    // An unsupported URL: the source's own check reports it.
    return null;
  }
  if (d.kind !== 'dir') return null;
  const what = existsSync(d.path ?? url) ? 'is a plain directory (no commits to verify)' : 'does not exist';
  return `source.verify.mode head needs a Git source, but source.url ${url} ${what}: use a Git repository or set source.verify.mode off`;
}
