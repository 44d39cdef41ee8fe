/** The final check-in when it can neither be delivered nor spooled: counted as dropped, never silently lost. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sendFinal } from '../../src/shim/report.js';
import { listSpool, spoolStats } from '../../src/shim/spool.js';
import { SENDING_HERE } from '../../src/shim/spool-entry.js';
import { createFsStateStore } from '../../src/state/fs-store.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { FakeHttp } from '../fakes/FakeHttp.js';
import { makeJob, makeSnapshot, memoryLog, tempStateDir } from './fixtures.js';

describe('shim/report', () => {
  it('counts a check-in as dropped when the spool cannot be written', async () => {
    const dir = tempStateDir();
    writeFileSync(join(dir, 'spool'), 'not a directory');
    const log = memoryLog();
    const payload = { job_name: 'job', tenant: 'acme', status: 'success' as const, started_at: 'x', agent_id: 'h', run_id: 'r-lost', attempts: 1, commit: null };

    const outcome = await sendFinal({ stateDir: dir, state: createFsStateStore(dir), jobId: 'acme/job', snapshot: makeSnapshot(makeJob('job')), secret: 's', http: new FakeHttp([], 503), clock: new FakeClock(), log, requestTimeoutMs: 100, random: () => 0.5 }, payload, 2500);

    expect(outcome).toBe('lost');
    expect(await spoolStats(dir)).toEqual({ spooled: 0, dropped: 1 });
    expect(log.lines.map((l) => l.msg)).toContain('Check-in lost: cannot write the spool');
  });

  it('lists its spool entry as being sent here while it delivers it, and not after', async () => {
    const dir = tempStateDir();
    const payload = { job_name: 'job', tenant: 'acme', status: 'success' as const, started_at: 'x', agent_id: 'h', run_id: 'r-here', attempts: 1, commit: null };
    const during: string[][] = [];
    const http = { request: async () => (during.push([...SENDING_HERE]), { statusCode: 200, headers: {}, body: '' }) };

    const outcome = await sendFinal({ stateDir: dir, state: createFsStateStore(dir), jobId: 'acme/job', snapshot: makeSnapshot(makeJob('job')), secret: 's', http, clock: new FakeClock(), log: memoryLog(), requestTimeoutMs: 100, random: () => 0.5 }, payload, 2500);

    expect(outcome).toBe('delivered');
    expect(during).toHaveLength(1);
    expect(during[0]).toEqual([expect.stringMatching(/^\d{14}-r-here\.json$/)]);
    expect([...SENDING_HERE]).toEqual([]);
  });

  it('a check-in whose first spool copy was written is spooled, not counted lost, when the durable copy cannot be written (a full disk)', async () => {
    const dir = tempStateDir();
    const fs = createFsStateStore(dir);
    // Room for one copy, none for the second one beside it.
    const state = { ...fs, writeSpool: (entry: Parameters<typeof fs.writeSpool>[0], durable: boolean) => {
      if (durable) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      return fs.writeSpool(entry, durable);
    } };
    const log = memoryLog();
    const payload = { job_name: 'job', tenant: 'acme', status: 'success' as const, started_at: 'x', agent_id: 'h', run_id: 'r-kept', attempts: 1, commit: null };

    const outcome = await sendFinal({ stateDir: dir, state, jobId: 'acme/job', snapshot: makeSnapshot(makeJob('job')), secret: 's', http: new FakeHttp([], 503), clock: new FakeClock(), log, requestTimeoutMs: 100, random: () => 0.5 }, payload, 2500);

    expect(outcome).toBe('spooled');
    expect(await spoolStats(dir)).toEqual({ spooled: 1, dropped: 0 });
    expect((await listSpool(dir))[0]).toMatch(/-r-kept\.json$/);
    expect(log.lines.map((l) => l.msg)).toContain('Check-in spooled for later delivery, not synced to disk');
  });
});
