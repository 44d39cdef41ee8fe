/**
 * The config check of `source.verify` that needs the disk: signatures live on commits, so a
 * source that is a plain directory cannot be verified. Kept apart from `index.ts` so that config
 * loading does not load the source implementations.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseSshUrl } from './known-hosts.js';

/**
 * Why `source.verify` cannot work with `url`, or null. Remote URLs are Git; a local path must be
 * a Git repository (a work tree with `.git`, or a bare repository), as `detectSource` decides.
 */
export function verifySourceProblem(url: string, mode: 'off' | 'head' | undefined, cwd = process.cwd()): string | null {
  if (mode !== 'head') return null;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !/^file:\/\//i.test(url)) return null;
  if (parseSshUrl(url) && !/^[a-z]:[\\/]/i.test(url) && !url.startsWith('/') && !url.startsWith('.')) return null;
  const dir = path.resolve(cwd, url.replace(/^file:\/\//i, ''));
  const bare = ['HEAD', 'objects', 'refs'].every((f) => existsSync(path.join(dir, f)));
  if (existsSync(path.join(dir, '.git')) || bare) return null;
  return `source.verify.mode head needs a Git source, but source.url ${url} is a plain directory (no commits to verify): use a Git repository or set source.verify.mode off`;
}
