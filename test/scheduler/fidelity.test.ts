import { describe, expect, it } from 'vitest';
import { transitionsBetween } from '../../src/schedule/zone.js';
import { prng, randomSchedule } from '../schedule/random.js';
import { prepare, simulateWindow } from './sim.js';

const JOB_ZONES = ['UTC', 'America/New_York', 'Europe/London', 'Asia/Kolkata', 'Australia/Lord_Howe'];
const HOST_ZONES = ['UTC', 'America/New_York', 'Europe/Berlin'];
const FROM = Date.UTC(2026, 0, 1);
const TO = Date.UTC(2028, 0, 1);
const HOUR = 3_600_000;
const SAMPLES = 1000;

const iso = (t: number): string => new Date(t).toISOString();

describe('scheduler/cronline/translate: Debian cron + exec guard = SPEC §2a', () => {
  it(`fires exactly the §2a instants for ${SAMPLES} random schedules over every DST change of 2026-2027`, () => {
    const rand = prng(20261108);
    const pairs = JOB_ZONES.flatMap((j) => HOST_ZONES.map((h) => [j, h] as const));
    const mismatches: string[] = [];
    let windows = 0;
    let fires = 0;
    let starts = 0;

    for (let i = 0; i < SAMPLES; i++) {
      const schedule = randomSchedule(rand, i % 2 === 0);
      const [jobZone, hostZone] = pairs[i % pairs.length]!;
      const p = prepare(schedule, jobZone, hostZone);
      const transitions = [...transitionsBetween(jobZone, FROM, TO), ...transitionsBetween(hostZone, FROM, TO)].map((t) => t.at);
      const ordinary = FROM + Math.floor(rand() * 729) * 24 * HOUR + 12 * HOUR;
      for (const at of [...transitions, ordinary]) {
        // Every tenth schedule runs the real guard, isFireTime(), on every start.
        const r = simulateWindow(p, at - 12 * HOUR, at + 12 * HOUR, i % 10 === 0);
        windows++;
        fires += r.expected.length;
        starts += r.starts;
        if (JSON.stringify(r.actual) !== JSON.stringify(r.expected)) {
          const missing = r.expected.filter((t) => !r.actual.includes(t)).map(iso);
          const extra = r.actual.filter((t, k) => r.actual.indexOf(t) !== k || !r.expected.includes(t)).map(iso);
          mismatches.push(`${schedule} job ${jobZone} host ${hostZone} around ${iso(at)}: lines ${JSON.stringify(p.lines)} missing ${missing.slice(0, 3)} extra ${extra.slice(0, 3)}`);
        }
      }
    }

    console.log(`fidelity: ${SAMPLES} schedules, ${windows} windows, ${fires} fires, ${starts} host starts, ${mismatches.length} mismatches`);
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(windows).toBeGreaterThan(SAMPLES * 5);
    expect(fires).toBeGreaterThan(10_000);
  }, 120_000);
});
