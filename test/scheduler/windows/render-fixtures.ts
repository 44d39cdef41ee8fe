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

const settingValue = (settings: string, name: string): string => new RegExp(`<${name}>([^<]*)</${name}>`).exec(settings)?.[1] ?? '';

/**
 * Task XML as `schtasks /Query /XML` exports a task cronsync registered: Settings in Windows'
 * order, with the defaults Windows adds (at their default values) around the six cronsync
 * writes. `compact`: the form of newer hosts, IdleSettings without Duration and WaitTimeout
 * and the schema 1.3/1.4 flags at their defaults.
 */
export function exportLikeWindows(xml: string, compact = false): string {
  return xml.replace(/<Settings>[\s\S]*?<\/Settings>/, (s) => {
    const v = (name: string): string => settingValue(s, name);
    const idle = compact
      ? ['<IdleSettings>', '  <StopOnIdleEnd>true</StopOnIdleEnd>', '  <RestartOnIdle>false</RestartOnIdle>', '</IdleSettings>']
      : ['<IdleSettings>', '  <Duration>PT10M</Duration>', '  <WaitTimeout>PT1H</WaitTimeout>', '  <StopOnIdleEnd>true</StopOnIdleEnd>', '  <RestartOnIdle>false</RestartOnIdle>', '</IdleSettings>'];
    const lines = [
      `<MultipleInstancesPolicy>${v('MultipleInstancesPolicy')}</MultipleInstancesPolicy>`,
      `<DisallowStartIfOnBatteries>${v('DisallowStartIfOnBatteries')}</DisallowStartIfOnBatteries>`,
      `<StopIfGoingOnBatteries>${v('StopIfGoingOnBatteries')}</StopIfGoingOnBatteries>`,
      '<AllowHardTerminate>true</AllowHardTerminate>',
      `<StartWhenAvailable>${v('StartWhenAvailable')}</StartWhenAvailable>`,
      '<RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>',
      ...idle,
      '<AllowStartOnDemand>true</AllowStartOnDemand>',
      `<Enabled>${v('Enabled')}</Enabled>`,
      '<Hidden>false</Hidden>',
      '<RunOnlyIfIdle>false</RunOnlyIfIdle>',
      ...(compact ? ['<DisallowStartOnRemoteAppSession>false</DisallowStartOnRemoteAppSession>', '<UseUnifiedSchedulingEngine>false</UseUnifiedSchedulingEngine>', '<Volatile>false</Volatile>'] : []),
      '<WakeToRun>false</WakeToRun>',
      `<ExecutionTimeLimit>${v('ExecutionTimeLimit')}</ExecutionTimeLimit>`,
      '<Priority>7</Priority>',
    ];
    return `<Settings>\r\n${lines.map((l) => `    ${l}`).join('\r\n')}\r\n  </Settings>`;
  });
}

/** Sets one Settings child (replacing one of that name, else adding it last). */
export const withSetting = (element: string) => (xml: string): string => xml.replace(/<Settings>[\s\S]*?<\/Settings>/, (s) => {
  const name = /^<(\w+)/.exec(element)![1]!;
  const own = new RegExp(`<${name}>[\\s\\S]*?</${name}>`);
  return own.test(s) ? s.replace(own, element) : s.replace('</Settings>', `  ${element}\r\n  </Settings>`);
});

/**
 * Edits of Settings (and the task's Data) made in the Task Scheduler UI or by hand that change
 * whether or how a task runs; each must read back as drift. The third field: does the edited
 * task validate against the XSD (would Windows accept it)?
 */
export const SETTINGS_EDITS: [string, (xml: string) => string, boolean][] = [
  ['RunOnlyIfIdle true', withSetting('<RunOnlyIfIdle>true</RunOnlyIfIdle>'), true],
  ['RunOnlyIfNetworkAvailable true', withSetting('<RunOnlyIfNetworkAvailable>true</RunOnlyIfNetworkAvailable>'), true],
  ['RestartOnFailure', withSetting('<RestartOnFailure><Interval>PT1M</Interval><Count>3</Count></RestartOnFailure>'), true],
  ['Priority 4', withSetting('<Priority>4</Priority>'), true],
  ['AllowHardTerminate false', withSetting('<AllowHardTerminate>false</AllowHardTerminate>'), true],
  ['AllowStartOnDemand false', withSetting('<AllowStartOnDemand>false</AllowStartOnDemand>'), true],
  ['Hidden true', withSetting('<Hidden>true</Hidden>'), true],
  ['WakeToRun true', withSetting('<WakeToRun>true</WakeToRun>'), true],
  ['ExecutionTimeLimit changed', withSetting('<ExecutionTimeLimit>PT5M</ExecutionTimeLimit>'), true],
  ['IdleSettings RestartOnIdle true', withSetting('<IdleSettings><StopOnIdleEnd>true</StopOnIdleEnd><RestartOnIdle>true</RestartOnIdle></IdleSettings>'), true],
  ['IdleSettings Duration PT30M', withSetting('<IdleSettings><Duration>PT30M</Duration></IdleSettings>'), true],
  ['DeleteExpiredTaskAfter PT0S', withSetting('<DeleteExpiredTaskAfter>PT0S</DeleteExpiredTaskAfter>'), true],
  ['NetworkProfileName', withSetting('<NetworkProfileName>Office</NetworkProfileName>'), true],
  ['Data on the task', (x) => x.replace('  <Actions', '  <Data>payload</Data>\r\n  <Actions'), true],
  ['an unknown element', withSetting('<Frobnicate>true</Frobnicate>'), false],
  ['a second Settings/Enabled', (x) => x.replace('</Settings>', '  <Enabled>false</Enabled>\r\n  </Settings>'), false],
  ['IdleSettings with an unknown child', withSetting('<IdleSettings><Frobnicate>1</Frobnicate></IdleSettings>'), false],
];
