/**
 * The registration of the `systemd` kind (registry.ts lists it after cron.d and before
 * crontab). `auto` picks it when systemd is the init system (sd_booted(3): /run/systemd/system
 * exists) and no cron daemon is installed or running: a host with cron keeps cron.d or
 * crontab, and a host without cron gets native timers instead of a crontab nothing reads.
 */
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { defineScheduler, lazyModule } from '../registration.js';
import type { DetectContext } from '../registration.js';

const systemd = lazyModule('systemd', () => import('./index.js'));

/** The system manager's default unit directory (SPEC §3 `scheduler.unitDir`). */
export const SYSTEM_UNIT_DIR = '/etc/systemd/system';

/** Cron daemons `auto` looks for (Debian's cron, cronie, busybox crond, ...). */
const CRON_DAEMONS = ['/usr/sbin/cron', '/usr/sbin/crond', '/usr/bin/crond', '/usr/sbin/anacron'];

/** Why this host has cron, or null when it has none. */
function cronFound({ probe }: DetectContext): string | null {
  const path = CRON_DAEMONS.find((p) => probe.exists(p));
  if (path) return `${path} installed`;
  return probe.processRunning('cron') || probe.processRunning('crond') ? 'cron daemon running' : null;
}

/**
 * `systemd`: a unit pair per job. Root: system units in `scheduler.unitDir`, services run as
 * `scheduler.user` (default root). Any other user: user units in `~/.config/systemd/user` (or
 * `scheduler.unitDir` when set to something else than the system default).
 */
export const systemdScheduler = defineScheduler({
  kind: 'systemd',
  options: (config, deps) => {
    const isRoot = deps.identity?.isRoot ?? (typeof process.getuid === 'function' && process.getuid() === 0);
    const user = config.scheduler.user ?? deps.identity?.user ?? userInfo().username;
    const configured = config.scheduler.unitDir;
    const userDir = configured && configured !== SYSTEM_UNIT_DIR ? configured : join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'systemd', 'user');
    return {
      sourceId: deps.sourceId,
      execCommand: deps.execCommand,
      stateDir: config.stateDir,
      mode: isRoot ? ('system' as const) : ('user' as const),
      unitDir: isRoot ? configured || SYSTEM_UNIT_DIR : userDir,
      user,
      now: () => deps.clock.now(),
    };
  },
  load: systemd.load,
  create: (o, deps) => systemd.get().createSystemdAdapter(o, { runner: deps.runner, log: deps.log.child({ component: 'systemd' }) }),
  runAs: (o) => o.user,
  detect(ctx) {
    const { probe } = ctx;
    if (probe.platform !== 'linux' || !probe.exists('/run/systemd/system')) return null;
    const cron = cronFound(ctx);
    if (cron) return { found: false, reason: `systemd is PID 1 but ${cron}` };
    const mode = probe.isRoot ? 'system units' : 'user units (systemctl --user)';
    return { found: true, reason: `systemd is PID 1 (/run/systemd/system) and no cron daemon is installed; ${mode}` };
  },
});
