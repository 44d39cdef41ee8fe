/**
 * The schedule core (SPEC §2 `spec.schedule`, §2a): cron parsing, time-zone helpers, the
 * fire-time iterator and a model of Debian cron's scheduling loop. Pure: no I/O.
 */
export { dayMatches, parseCron } from './cron.js';
export type { CronError, CronParseResult, CronSpec } from './cron.js';
export { firesBetween, firstFire, isFireTime, neverFires, nextFires, resolveSchedule } from './fires.js';
export {
  canonicalTimeZone, isValidTimeZone, offsetAt, offsetMinutes, toWallTime, transitionsBetween, wallMinuteInstants,
} from './zone.js';
export type { Transition, WallTime } from './zone.js';
export { debianMatches, simulateDebianCron, toDebianEntry } from './debian-cron.js';
export type { DebianEntry, DebianRun, DebianRunReason } from './debian-cron.js';
