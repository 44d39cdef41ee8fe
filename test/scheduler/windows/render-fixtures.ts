/** Shared fixtures of the windows adapter tests: a task context and hand-built trigger sets. */
import type { DesiredJob } from '../../../src/desired/types.js';
import type { TaskContext, TriggersOf } from '../../../src/scheduler/windows/render.js';
import type { TriggerSet, TriggerSpec } from '../../../src/scheduler/windows/types.js';
import { SOURCE } from '../fixtures.js';

/** A task context with Windows paths. */
export const CTX: TaskContext = {
  sourceId: SOURCE,
  taskFolder: '\\cronsync',
  execCommand: { file: 'C:\\Program Files\\nodejs\\node.exe', args: ['C:\\Program Files\\cronsync\\dist\\cli\\launch.cjs'] },
  stateDir: 'C:\\ProgramData\\cronsync\\state',
};

/** Every shape of trigger render.ts writes. */
export const TRIGGER_CORPUS: Record<string, TriggerSpec[]> = {
  daily: [{ type: 'calendar', minuteOfDay: 150, days: { by: 'day' } }],
  'every-fifteen': [{ type: 'calendar', minuteOfDay: 0, days: { by: 'day' }, repetition: { intervalMinutes: 15, durationSeconds: 86400 } }],
  weekdays: [{ type: 'calendar', minuteOfDay: 390, days: { by: 'week', daysOfWeek: [5, 1, 2, 3, 4] } }],
  'month-end': [{ type: 'calendar', minuteOfDay: 0, days: { by: 'month', daysOfMonth: [31, 30, 1], months: [1, 3, 5, 7, 8, 10, 12] } }],
  'last-friday': [{ type: 'calendar', minuteOfDay: 720, days: { by: 'monthDayOfWeek', weeks: [1, 'Last'], daysOfWeek: [5], months: [2, 11] } }],
  dated: [
    { type: 'calendar', minuteOfDay: 90, days: { by: 'day' } },
    { type: 'dated', at: Date.UTC(2026, 10, 1, 5, 30) },
    { type: 'dated', at: Date.UTC(2027, 2, 14, 7, 0), repetition: { intervalMinutes: 15, durationSeconds: 60 } },
  ],
  max: Array.from({ length: 48 }, (_, i): TriggerSpec => ({ type: 'calendar', minuteOfDay: i * 29, days: { by: 'week', daysOfWeek: [i % 7] } })),
  'long-repeat': [{ type: 'calendar', minuteOfDay: 0, days: { by: 'day' }, repetition: { intervalMinutes: 31 * 1440, durationSeconds: 31 * 86400 } }],
};

/** A trigger set for a hand-built list (host UTC). */
export const setOf = (triggers: readonly TriggerSpec[]): TriggerSet => ({ triggers, fidelity: 'exact', hostZone: 'UTC' });

/**
 * Stand-in for triggers.ts: `M H * * *` → one daily trigger at H:M; a schedule named like a
 * corpus entry (`corpus:max`) → that entry; anything else → daily at 00:00.
 */
export const stubTriggersOf: TriggersOf = (d: DesiredJob) => {
  const s = d.job.spec.schedule;
  if (s.startsWith('corpus:')) return setOf(TRIGGER_CORPUS[s.slice(7)]!);
  const m = /^(\d+) (\d+) \* \* \*$/.exec(s);
  return setOf([{ type: 'calendar', minuteOfDay: m ? Number(m[2]) * 60 + Number(m[1]) : 0, days: { by: 'day' } }]);
};
