/** The agent configuration (SPEC §3) after validation, with every default applied. */

/** Scheduler kinds a config may name. */
export type SchedulerKindSetting = 'auto' | 'crontab' | 'cron.d' | 'systemd' | 'windows' | 'embedded';

/** AgentConfig is a validated config file plus environment and flag overrides. */
export interface AgentConfig {
  /** The file it was loaded from, or null when built from defaults and overrides only. */
  file: string | null;
  agent: { name: string; tenant: string; labels: Record<string, string> };
  source: {
    url: string;
    ref?: string;
    paths: string[];
    exclude: string[];
    auth?: { username?: string; passwordFile?: string; passwordEnv?: string };
    ssh?: { keyFile?: string; knownHosts?: string };
    interval: string;
    timeout: string;
  };
  scheduler: { kind: SchedulerKindSetting; user?: string; cronDir: string; unitDir: string; taskFolder: string };
  checkin: { url?: string; protocol: 'crontopus' | 'healthchecks'; start: boolean; spool: { maxAgeDays: number; maxCount: number } };
  secretsFile?: string;
  stateDir: string;
  prune: boolean;
  allowMassRemoval: boolean;
  daemon: {
    startDelay: string;
    maxBackoff: string;
    health?: { listen?: string };
    webhooks?: { listen?: string; secretFile?: string; secretEnv?: string };
  };
  log: { level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent' };
}
