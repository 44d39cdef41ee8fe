/**
 * Benchmark of the schedule core at lint scale: 10,000 jobs, each parsed, checked for a
 * valid zone, checked with neverFires and given its next run. Run: `npx vitest bench --run bench/schedule.bench.ts`.
 */
import { bench, describe } from 'vitest';

import { parseCron } from '../src/schedule/cron.js';
import { firstFire, isFireTime, neverFires } from '../src/schedule/fires.js';
import { isValidTimeZone } from '../src/schedule/zone.js';

const ZONES = ['UTC', 'America/New_York', 'Europe/Berlin', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham'];
const EXPRS = ['*/5 * * * *', '0 2 * * *', '30 9 * * MON-FRI', '0 0 1 * *', '15 */6 * * *', '0 0 29 2 *', '0 12 */2 * 1', '@daily'];
const JOBS = Array.from({ length: 10_000 }, (_, i) => ({ schedule: EXPRS[i % EXPRS.length]!, zone: ZONES[i % ZONES.length]! }));
const NOW = new Date(Date.UTC(2026, 10, 23, 10));

describe('schedule core, 10,000 jobs', () => {
  bench('parse + zone check + neverFires + next run', () => {
    for (const job of JOBS) {
      const r = parseCron(job.schedule);
      if (!r.ok || !isValidTimeZone(job.zone)) throw new Error('invalid');
      if (neverFires(r.value, job.zone)) throw new Error('never');
      firstFire(r.value, job.zone, NOW);
    }
  }, { iterations: 3 });

  bench('isFireTime (exec guard)', () => {
    for (const job of JOBS) isFireTime(job.schedule, job.zone, NOW);
  }, { iterations: 3 });
});
