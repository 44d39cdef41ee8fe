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
    /** Size string (`512MiB`, `64KiB`, bytes); unset means 512 MiB (the source applies the default). */
    maxFetchSize?: string;
    /** Signed-commit verification; unset means mode `off`. */
    verify?: { mode: 'off' | 'head'; sshAllowedSigners?: string; openpgpKeys?: string };
  };
  scheduler: {
    kind: SchedulerKindSetting; user?: string; cronDir: string; unitDir: string; taskFolder: string;
    /** Accounts `spec.user` may name: user names, or `*` (every account but root, unless root is named); unset: none. */
    allowedUsers?: readonly string[] | '*';
  };
  checkin: {
    url?: string;
    protocol: CheckinProtocolSetting;
    start: boolean;
    spool: { maxAgeDays: number; maxCount: number };
    /** crontopus-agent, pre-provisioned identity: endpoint id and the file holding its token. */
    endpointId?: number;
    tokenFile?: string;
    /** crontopus-agent, enrolled identity: the file holding the enrollment token. */
    enrollmentTokenFile?: string;
  };
  secretsFile?: string;
  stateDir: string;
  prune: boolean;
  allowMassRemoval: boolean;
  daemon: {
    startDelay: string;
    maxBackoff: string;
    syncTimeout: string;
    health?: { listen?: string };
    webhooks?: { listen?: string; secretFile?: string; secretEnv?: string };
  };
  log: { level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent' };
}

/** Every value `checkin.protocol` accepts. */
export type CheckinProtocolSetting = 'crontopus' | 'healthchecks' | 'crontopus-agent';
