/**
 * The registrations of the built-in kinds: each derives its adapter's settings from the agent
 * config, builds it over the shared dependencies, and says whether `auto` should pick it. The
 * registry (registry.ts) lists them in the order `auto` considers them.
 */
import { userInfo } from 'node:os';
import { SchedulerError } from '../errors.js';
import type { RunJob } from './embedded/index.js';
import { defineScheduler, lazyModule, orList } from './registration.js';
import type { DetectContext, SchedulerConfig, SchedulerDeps } from './registration.js';
import type { AdapterOptions } from './types.js';

// Each adapter's code is imported only when its kind is used (the idle daemon's memory, #16).
const windows = lazyModule('windows', () => import('./windows/index.js'));
const crond = lazyModule('cron.d', () => import('./crond/index.js'));
const crontab = lazyModule('crontab', () => import('./crontab/index.js'));
const embedded = lazyModule('embedded', () => import('./embedded/index.js'));

function agentUser(deps: SchedulerDeps): string {
  return deps.identity?.user ?? userInfo().username;
}

/** The cron adapters' settings: run-as user (default: the agent's), cron dir, state dir. */
export function cronOptions(config: SchedulerConfig, deps: SchedulerDeps): AdapterOptions {
  return {
    sourceId: deps.sourceId,
    user: config.scheduler.user ?? agentUser(deps),
    cronDir: config.scheduler.cronDir,
    execCommand: deps.execCommand,
    stateDir: config.stateDir,
    hostZone: deps.hostZone,
    horizon: deps.horizon,
  };
}

/** A cron daemon on this host, as `auto` describes it; null when none is found. */
function cronDaemon({ probe }: DetectContext): string | null {
  // Debian's cron, cronie (and busybox) crond: each reads /etc/cron.d and the users' crontabs.
  const path = ['/usr/sbin/cron', '/usr/sbin/crond', '/usr/bin/crond'].find((p) => probe.exists(p));
  if (path) return `${path} installed`;
  return probe.processRunning('cron') || probe.processRunning('crond') ? 'cron daemon running' : null;
}

/** `windows`: one task per job in `scheduler.taskFolder`; principal `scheduler.user`, else SYSTEM. */
export const windowsScheduler = defineScheduler({
  kind: 'windows',
  targetPlatform: 'win32',
  options: (config, deps) => ({
    sourceId: deps.sourceId,
    execCommand: deps.execCommand,
    stateDir: config.stateDir,
    hostZone: deps.hostZone,
    taskFolder: config.scheduler.taskFolder,
    user: config.scheduler.user,
    now: () => deps.clock.now(),
  }),
  load: windows.load,
  create: (o, deps) => windows.get().createWindowsAdapter(o, { runner: deps.runner }),
  runAs: (o) => o.user,
  detect: ({ probe }) => (probe.platform === 'win32' ? { found: true, reason: 'Windows host' } : null),
});

/** `cron.d` (root): the file `<cronDir>/cronsync`, entries run as `scheduler.user`. */
export const cronDScheduler = defineScheduler({
  kind: 'cron.d',
  aliases: ['crond'],
  options: cronOptions,
  load: crond.load,
  create: (o) => crond.get().createCronDAdapter(o),
  runAs: (o) => o.user,
  detect(ctx) {
    const { probe, config } = ctx;
    const dir = config.scheduler.cronDir;
    const daemon = cronDaemon(ctx);
    if (probe.isRoot && probe.exists(dir) && daemon) return { found: true, reason: `root, ${dir} present, ${daemon}` };
    return { found: false, reason: !probe.isRoot ? 'not root' : !probe.exists(dir) ? `${dir} missing` : 'no cron daemon found' };
  },
});

/** `crontab` (any user): a managed block in the crontab of `scheduler.user`. */
export const crontabScheduler = defineScheduler({
  kind: 'crontab',
  options: cronOptions,
  load: crontab.load,
  create: (o, deps) => crontab.get().createCrontabAdapter(o, { runner: deps.runner, crontabSpool: deps.crontabSpool, identity: deps.identity }),
  runAs: (o) => o.user,
  detect(ctx) {
    const { probe, rejected } = ctx;
    if (!probe.onPath('crontab')) return { found: false, reason: 'no crontab on PATH' };
    // Still the pick (the daemon may be started later, or run where this user cannot see it),
    // but said where the status shows it: without a cron daemon, no entry fires.
    const said = rejected.some((r) => r.reason === 'no cron daemon found');
    const warn = cronDaemon(ctx) ? [] : [...(said ? [] : ['no cron daemon found']), 'its entries fire only once one runs'];
    return { found: true, reason: [...rejected.map((r) => r.reason), 'crontab found on PATH', ...warn].join('; ') };
  },
});

const notInDaemon: RunJob = () => Promise.reject(new SchedulerError('embedded jobs run only inside `cronsync daemon`'));

/** `embedded`: the daemon's in-process scheduler, its entries in `<stateDir>/embedded.json`. */
export const embeddedScheduler = defineScheduler({
  kind: 'embedded',
  inProcess: true,
  options: (config, deps) => ({
    sourceId: deps.sourceId,
    stateDir: config.stateDir,
    // Without the daemon's runtime (render), the adapter is never started, so nothing runs.
    runJob: deps.inProcess?.runJob ?? notInDaemon,
    previousSourceIds: deps.inProcess?.previousSourceIds,
    timers: deps.inProcess?.timers,
  }),
  load: embedded.load,
  create: (o, deps) => embedded.get().createEmbeddedAdapter({ ...o, clock: deps.clock, log: deps.log.child({ component: 'embedded' }) }),
  detect: ({ rejected }) => {
    const none = rejected.length === 0 ? '' : `no ${orList(rejected.map((r) => r.kind))} available; `;
    return { found: true, reason: `${none}using the in-process scheduler` };
  },
});
