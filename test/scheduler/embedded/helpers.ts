/** Shared helpers of the embedded scheduler tests: a recording logger and a recording runJob. */
import type { Logger } from '../../../src/log.js';
import type { ManualTimers } from '../../fakes/ManualTimers.js';

/** One captured log record. */
export interface LogRecord {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string;
}

/** A Logger that keeps every record in `records`. */
export function recordingLogger(records: LogRecord[] = [], bindings: Record<string, unknown> = {}): Logger & { records: LogRecord[] } {
  const at = (level: LogRecord['level']) => (a: object | string, b?: string): void => {
    if (typeof a === 'string') records.push({ level, obj: { ...bindings }, msg: a });
    else records.push({ level, obj: { ...bindings, ...(a as Record<string, unknown>) }, msg: b ?? '' });
  };
  return {
    records,
    debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'),
    child: (b) => recordingLogger(records, { ...bindings, ...b }),
  };
}

/** One call of runJob: the job, the instant it was due, and the wall clock when it was called. */
export interface RunCall {
  jobId: string;
  scheduledFor: string;
  calledAt: string;
}

/** A runJob that records its calls against the fake clock and returns `result(call)`. */
export function recordingRunJob(timers: ManualTimers, result: (call: RunCall) => Promise<number> = async () => 0): {
  calls: RunCall[];
  runJob: (jobId: string, scheduledFor: Date) => Promise<number>;
} {
  const calls: RunCall[] = [];
  return {
    calls,
    runJob: (jobId, scheduledFor) => {
      const call = { jobId, scheduledFor: scheduledFor.toISOString(), calledAt: timers.clock.now().toISOString() };
      calls.push(call);
      return result(call);
    },
  };
}
