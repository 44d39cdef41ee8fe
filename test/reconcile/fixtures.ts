/** Shared by the reconcile tests: an agent config for a state dir (cron.d, tenant acme, host1). */
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
