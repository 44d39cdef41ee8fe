// Lint 10,000 generated manifests spread over 1,000 files, against `yaml` alone parsing the
// same files. Both run in a fresh child process each so peak RSS is per task.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jobManifest } from './lib/manifest.mjs';

const zones = ['UTC', 'America/New_York', 'Europe/Berlin', 'Asia/Kolkata', 'Australia/Lord_Howe'];
const schedules = ['0 2 * * *', '*/15 * * * *', '30 1 * * SUN', '0 9-17 * * 1-5', '@daily', '5 4 1,15 * *', '0 12 */2 * 1'];

function manifest(i) {
  return jobManifest(i, { tenant: `tenant-${i % 7}`, schedule: schedules[i % schedules.length], timezone: zones[i % zones.length], role: `r${i % 5}` });
}

function runChild(mode, dir) {
  const script = fileURLToPath(new URL('./lint-child.mjs', import.meta.url));
  const res = spawnSync(process.execPath, [script, mode, dir], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`${mode} child failed: ${res.stderr}`);
  return JSON.parse(res.stdout);
}

export default async function lintBench() {
  const dir = mkdtempSync(join(tmpdir(), 'cronsync-bench-lint-'));
  try {
    for (let f = 0; f < 1000; f++) {
      const sub = join(dir, `d${f % 20}`);
      mkdirSync(sub, { recursive: true });
      const docs = [];
      for (let d = 0; d < 10; d++) docs.push(manifest(f * 10 + d));
      writeFileSync(join(sub, `f${f}.yaml`), docs.join('---\n'));
    }
    // Warm the page cache, then alternate to even out noise; best of 3 each.
    const yaml = [];
    const lint = [];
    for (let i = 0; i < 3; i++) {
      yaml.push(runChild('yaml', dir));
      lint.push(runChild('lint', dir));
    }
    const best = (xs) => xs.reduce((a, b) => (a.ms < b.ms ? a : b));
    const y = best(yaml);
    const l = best(lint);
    if (l.jobs !== 10000 || l.errors !== 0) throw new Error(`lint saw ${l.jobs} jobs and ${l.errors} errors`);
    return [
      { name: 'lint 10k manifests / 1k files vs yaml parse only', ratio: l.ms / y.ms, goal: 2, detail: `lint ${l.ms.toFixed(0)} ms, yaml ${y.ms.toFixed(0)} ms (best of 3, each a fresh child, walk + read + parse)` },
      { name: 'lint peak RSS vs yaml parse only', ratio: l.rssMb / y.rssMb, detail: `lint peak RSS ${l.rssMb.toFixed(0)} MiB, yaml-only ${y.rssMb.toFixed(0)} MiB (maxRSS of each child)` },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
