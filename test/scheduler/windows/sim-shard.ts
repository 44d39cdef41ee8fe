/**
 * One shard of the Task Scheduler simulation (simulator-corpus.ts) as a vitest suite: rendered
 * tasks, started under every interpretation of what Windows leaves undocumented and filtered by
 * the exec guard, run exactly the SPEC §2a fires. The corpus is split over files so that vitest
 * runs the shards in parallel.
 */
import { describe, expect, it } from 'vitest';

import { jobTriggers } from '../../../src/scheduler/windows/triggers.js';
import { MAX_TRIGGERS } from '../../../src/scheduler/windows/types.js';
import { EXPRESSIONS, HOST_ZONES, JOB_ZONES_PER_EXPRESSION, simulateShard, summary } from './simulator-corpus.js';
import { INTERPRETATIONS } from './simulator.js';

/** Number of shard files. */
export const SHARDS = 3;

/** Declares the suite of shard `shard` (0-based). */
export function describeShard(shard: number): void {
  const name = `${shard + 1}/${SHARDS}`;
  describe(`scheduler/windows: Task Scheduler + exec guard = SPEC §2a (shard ${name})`, () => {
    it('runs exactly the §2a fires under every interpretation, with at most 48 triggers per task', () => {
      const s = simulateShard(jobTriggers, shard, SHARDS);

      console.log(summary(`windows sim shard ${name}`, s));

      expect(s.mismatches.slice(0, 5)).toEqual([]);
      expect(s.expressions).toBe(EXPRESSIONS / SHARDS);
      expect(s.jobs).toBe(s.expressions * JOB_ZONES_PER_EXPRESSION * HOST_ZONES.length);
      expect(Math.max(...s.triggerCounts)).toBeLessThanOrEqual(MAX_TRIGGERS);
      expect(s.checks).toBe(s.windows * INTERPRETATIONS.length);
      expect(s.windows).toBeGreaterThan(s.jobs * 6);
      expect(s.fires).toBeGreaterThan(100_000);
      expect(s.classChecks).toBeGreaterThan(0);
    }, 180_000);
  });
}
