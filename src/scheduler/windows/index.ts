/**
 * The `windows` adapter (SPEC §8): one Task Scheduler task per job, `\cronsync\<tenant>\<name>`,
 * with triggers from triggers.ts in the host's zone, applied through `schtasks.exe`.
 */
import type { SchedulerAdapter } from '../types.js';
import { hostTimeZone } from '../types.js';
import { createSchtasksAdapter } from './schtasks.js';
import type { WindowsAdapterOptions, WindowsAdapterPorts } from './schtasks.js';
import { jobTriggers } from './triggers.js';

export { DEFAULT_TASK_FOLDER } from './schtasks.js';
export type { WindowsAdapterOptions, WindowsAdapterPorts } from './schtasks.js';

/** Creates the windows adapter; the host zone is resolved once, the clock read at each render. */
export function createWindowsAdapter(options: WindowsAdapterOptions, ports: WindowsAdapterPorts): SchedulerAdapter {
  const hostZone = options.hostZone ?? hostTimeZone();
  const now = options.now ?? (() => new Date());
  return createSchtasksAdapter(options, ports, (d) => jobTriggers(d.job.spec.schedule, d.job.spec.timezone, hostZone, { now: now() }));
}
