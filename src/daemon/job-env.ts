/**
 * The environment of a job the daemon runs itself (the embedded scheduler). Under cron, systemd
 * or Task Scheduler a job starts from the scheduler's environment, which holds none of the
 * agent's secrets; in process it would inherit the daemon's whole environment. The agent's own
 * secrets are taken out: the variables the config names for them (`source.auth.passwordEnv`,
 * `daemon.webhooks.secretEnv`) and every `CRONSYNC_*` config override (`CRONSYNC_SOURCE_URL` may
 * carry credentials). They are neither passed to the command nor resolvable as `${VAR}`.
 */
import type { AgentConfig } from '../config/types.js';

/** `env` without the agent's own secrets (see above). */
export function embeddedJobEnv(env: Readonly<Record<string, string | undefined>>, cfg: Pick<AgentConfig, 'source' | 'daemon'>): Record<string, string | undefined> {
  const secret = new Set([cfg.source.auth?.passwordEnv, cfg.daemon.webhooks?.secretEnv].filter((v): v is string => v !== undefined));
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) {
    if (secret.has(k) || /^CRONSYNC_/i.test(k)) continue;
    out[k] = v;
  }
  return out;
}
