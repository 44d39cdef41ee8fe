/** Builders of jobs and snapshots for the shim tests. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { onTestFinished } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job } from '../../src/manifest/types.js';
import type { Logger } from '../../src/shim/types.js';
import type { JobSnapshot, SnapshotRuntime } from '../../src/state/snapshots.js';
import { writeJobSnapshot } from '../../src/state/snapshots.js';

/** A job with every default applied; `spec` fields override. */
export function makeJob(name: string, spec: Partial<Job['spec']> = {}): Job {
  return {
    apiVersion: 'v1',
    kind: 'Job',
    metadata: { name, tenant: 'acme', labels: {}, annotations: {} },
    spec: {
      schedule: '* * * * *', timezone: 'UTC', command: 'true', args: [], env: {},
      checkin: { enabled: true, secret: '${CHECKIN_SECRET}', timeout: 3600 },
      retry: { enabled: false, attempts: 3, backoff: 'fixed', delay: '10s', maxDelay: '5m' },
      agent: { selector: {} }, enabled: true, paused: false, concurrency: 'Forbid',
      ...spec,
    },
  };
}

/** A snapshot of `job`; `runtime` fields override. */
export function makeSnapshot(job: Job, runtime: Partial<SnapshotRuntime> = {}): JobSnapshot {
  return {
    schemaVersion: 1,
    job,
    provenance: { sourceId: 'src1', url: 'https://git.example.com/ops/jobs.git', ref: 'main', commit: 'a'.repeat(40), path: `jobs/${job.metadata.name}.yaml`, index: 0 },
    manifestHash: 'sha256:0',
    appliedAt: '2026-11-23T09:00:00.000Z',
    runtime: { agentId: 'host-1', checkin: { url: 'http://127.0.0.1:9/api/checkins', protocol: 'crontopus', start: false }, spool: { maxAgeDays: 7, maxCount: 100 }, ...runtime },
  };
}

const created: string[] = [];

/**
 * A fresh temporary state dir. Made inside a test, it is removed when that test finishes
 * (passed or failed); made in a hook or at collection, by {@link removeTempStateDirs} or at the
 * latest when the test file's worker exits.
 */
export function tempStateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cronsync-shim-'));
  try {
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  } catch {
    created.push(dir);
  }
  return dir;
}

process.once('exit', removeTempStateDirs);

/** Removes the state dirs this file's tests made so far (for `afterEach`). */
export function removeTempStateDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Writes a snapshot and returns the job id. */
export async function install(stateDir: string, job: Job, runtime: Partial<SnapshotRuntime> = {}): Promise<string> {
  await writeJobSnapshot(stateDir, makeSnapshot(job, runtime));
  return `${job.metadata.tenant}/${job.metadata.name}`;
}

/** Shell command running a Node script (written to a temp file: no quoting issues). */
export function nodeScript(dir: string, name: string, code: string): string {
  const file = join(dir, `${name}.cjs`);
  writeFileSync(file, code);
  return `'${process.execPath}' '${file}'`;
}

/** A logger that keeps every line, for assertions. */
export function memoryLog(): Logger & { lines: Array<{ level: string; msg: string; obj: Record<string, unknown> }> } {
  const lines: Array<{ level: string; msg: string; obj: Record<string, unknown> }> = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) => void lines.push({ level, msg, obj });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
