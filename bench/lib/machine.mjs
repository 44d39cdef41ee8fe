// The machine and checkout a bench ran on, as recorded in bench/results.md.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

function git(args, cwd) {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function osName() {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m) return m[1];
  } catch {
    // Not Linux, or no os-release: the kernel line below is all there is.
  }
  return os.type();
}

/** Machine is what results.md says about the host: hardware, runtimes and OS. */
export function machine() {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpu: cpus[0]?.model.trim().replace(/\s+/g, ' ') ?? 'unknown',
    memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    git: git(['--version'])?.replace(/^git version /, '') ?? 'not found',
    os: osName(),
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

/** One line naming the machine, to tell two sections' machines apart. */
export function machineLine(m) {
  return `${m.cores} × ${m.cpu}, ${m.memGiB} GiB, Node ${m.node}, git ${m.git}, ${m.os} (${m.kernel})`;
}

/** The commit measured, and whether the working tree had uncommitted changes. */
export function checkout(root) {
  const commit = git(['rev-parse', '--short', 'HEAD'], root);
  if (commit === null) return 'not a git checkout';
  const dirty = git(['status', '--porcelain', '--untracked-files=no'], root);
  return dirty ? `${commit} + uncommitted changes` : commit;
}

/** The 1-minute load average, a hint of how quiet the machine was (0 where unsupported). */
export const load1 = () => Math.round(os.loadavg()[0] * 100) / 100;
