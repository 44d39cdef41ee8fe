/** The real host probe for `resolveAuto` (file system, PATH, /proc). */
import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { HostProbe } from './registration.js';
import { hostOs } from '../system/platform.js';

function onPath(program: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, program), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

function processRunning(name: string): boolean {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return false;
  }
  return pids.some((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name;
    } catch {
      return false;
    }
  });
}

/** nodeHostProbe describes this machine. */
export const nodeHostProbe: HostProbe = {
  platform: hostOs,
  isRoot: typeof process.getuid === 'function' && process.getuid() === 0,
  exists: (p) => existsSync(p),
  onPath,
  processRunning,
};
