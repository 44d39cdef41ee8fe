/** Shared by the reconcile tests: an agent config for a state dir (cron.d, tenant acme, host1), and a churning job source. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentConfig } from '../../src/config/types.js';

/** A complete agent config; `over` replaces top-level keys. */
export function agentConfig(stateDir: string, over: Partial<AgentConfig> = {}): AgentConfig {
  return {
    file: null, agent: { name: 'host1', tenant: 'acme', labels: {} },
    source: { url: 'https://git.example/jobs.git', paths: ['**/*.yaml'], exclude: [], interval: '60s', timeout: '60s' },
    scheduler: { kind: 'cron.d', cronDir: '/etc/cron.d', unitDir: '/etc/systemd/system', taskFolder: '\\cronsync' },
    checkin: { protocol: 'crontopus', start: false, spool: { maxAgeDays: 7, maxCount: 100 } },
    stateDir, prune: true, allowMassRemoval: false,
    daemon: { startDelay: '0s', maxBackoff: '10m', syncTimeout: '10m' }, log: { level: 'info' },
    ...over,
  };
}

/** A manifest of job `name` (tenant acme) running `/opt/<name>.sh`. */
export function jobManifest(name: string, schedule: string, paused = false): string {
  return `apiVersion: v1\nkind: Job\nmetadata:\n  name: ${name}\n  tenant: acme\nspec:\n  schedule: "${schedule}"\n  command: /opt/${name}.sh\n  paused: ${paused}\n`;
}

/**
 * The jobs a long-run test churns in directory `src`: `add()` writes the next one (job0, job1, …,
 * on `schedule`), and `live` lists those present, oldest first.
 */
export function churnedJobs(src: string, schedule: string): { live: string[]; add(): void } {
  const live: string[] = [];
  let made = 0;
  return {
    live,
    add() {
      const name = `job${made++}`;
      writeFileSync(join(src, `${name}.yaml`), jobManifest(name, schedule));
      live.push(name);
    },
  };
}
