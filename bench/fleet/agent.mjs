// One simulated agent of the fleet benchmark: the product's daemon loop (createDaemonLoop) on a
// simulated clock, around a sync made of the product's git source (a real smart-HTTP exchange
// with the loopback server at every poll, its own clone in its own state dir) and the product's
// spool flush (real check-in requests), as `cronsync daemon` runs them each cycle.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { mulberry32 } from '../lib/random.mjs';

/** A seeded uniform [0, 1) generator (mulberry32), one per agent, so runs are reproducible. */
export const seeded = mulberry32;

/**
 * Creates agent `index`; call `agent.loop.start()`. `agent.commitAt` maps each commit the agent
 * has synced to the simulated time it first had it.
 */
export function createAgent(o) {
  const { sim, product, index } = o;
  const agent = sim.agent();
  const stateDir = path.join(o.root, `a${index}`);
  mkdirSync(stateDir, { recursive: true });
  const random = seeded(index * 7919 + 1);
  const source = product.createSource({ url: o.gitUrl }, { stateDir, http: o.gitHttp, now: () => agent.clock.now() });
  agent.stateDir = stateDir;
  agent.commitAt = new Map();
  agent.failures = 0;
  let snapshot;
  // As `cronsync daemon`'s flushNow: a 10 s budget, and the daemon's flush policy when the build has one.
  const flushOptions = { stateDir, http: o.checkinHttp, clock: agent.clock, log: product.nullLogger, env: {}, budgetMs: 10_000, random };
  if (product.flushPolicy) flushOptions.policy = product.flushPolicy;
  if (product.createFsStateStore) flushOptions.state = product.createFsStateStore(stateDir);
  const flush = (signal) => product.flushSpool({ ...flushOptions, signal }).catch(() => null);
  async function sync(signal) {
    agent.enter();
    try {
      let ok = false;
      try {
        snapshot = await source.fetch(signal, snapshot);
        ok = true;
        if (!agent.commitAt.has(snapshot.commit)) agent.commitAt.set(snapshot.commit, agent.now);
      } catch (err) {
        agent.failures++;
        agent.lastError = err;
      }
      // As `cronsync daemon` does: the spool is flushed after every sync, failed or not.
      await flush(signal);
      return { ok };
    } finally {
      agent.leave();
    }
  }
  agent.loop = product.createDaemonLoop({
    sync,
    intervalMs: o.intervalMs,
    startDelayMaxMs: o.startDelayMs,
    backoff: { baseMs: 5_000, maxMs: o.maxBackoffMs },
    clock: agent.clock,
    random,
    log: product.nullLogger,
  });
  return agent;
}
