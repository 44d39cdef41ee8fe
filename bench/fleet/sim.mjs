// Simulated time for the fleet benchmark. Every agent gets its own Clock (the product's Clock
// port: now() and sleep()) whose timers live in one shared queue. Time only moves when every
// agent is idle, i.e. waiting on its clock or between syncs: real work (HTTP exchanges with the
// loopback servers, file I/O) takes no simulated time. The driver releases the timers one
// simulated second at a time, so the agents due in the same second run their real HTTP
// exchanges concurrently, and the servers count requests in buckets of that second.
import { setImmediate } from 'node:timers';

const tick = () => new Promise((r) => setImmediate(r));

/** A binary min-heap of timers by (at, seq). */
class Heap {
  items = [];
  get size() {
    return this.items.length;
  }
  peek() {
    return this.items[0];
  }
  less(a, b) {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }
  push(x) {
    const h = this.items;
    h.push(x);
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }
  pop() {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

/** Creates the simulation, starting at `t0` (ms since the epoch). */
export function createSimulation(t0) {
  const heap = new Heap();
  let seq = 0;
  let busy = 0;
  let idleWaiters = [];
  const sim = {
    /** The simulated second (ms since the epoch / 1000) whose timers are running now. */
    second: Math.floor(t0 / 1000),
    /** The simulated time of the driver (last runUntil target). */
    now: t0,
  };

  function update(agent) {
    const b = agent.inSync && agent.waits === 0;
    if (b === agent.busy) return;
    agent.busy = b;
    busy += b ? 1 : -1;
    if (busy === 0) {
      const ws = idleWaiters;
      idleWaiters = [];
      for (const w of ws) w();
    }
  }

  /** A new agent: its own clock, and markers for "inside a sync" (busy unless it waits on its clock). */
  sim.agent = () => {
    const agent = { now: sim.now, inSync: false, waits: 0, busy: false };
    agent.clock = {
      now: () => new Date(agent.now),
      sleep: (ms, signal) =>
        new Promise((resolve, reject) => {
          if (signal?.aborted) return void reject(signal.reason);
          const timer = { at: agent.now + Math.max(0, ms), seq: seq++, cancelled: false, resolve, agent };
          const onAbort = () => {
            timer.cancelled = true;
            agent.waits--;
            update(agent);
            reject(signal.reason);
          };
          timer.release = () => {
            signal?.removeEventListener('abort', onAbort);
            agent.now = Math.max(agent.now, timer.at);
            agent.waits--;
            update(agent);
            resolve();
          };
          agent.waits++;
          update(agent);
          heap.push(timer);
          signal?.addEventListener('abort', onAbort, { once: true });
        }),
    };
    agent.enter = () => {
      agent.inSync = true;
      update(agent);
    };
    agent.leave = () => {
      agent.inSync = false;
      update(agent);
    };
    return agent;
  };

  /** Resolves once no agent does real work and every promise callback has run. */
  async function settle() {
    for (;;) {
      await tick();
      await tick();
      if (busy === 0) return;
      await new Promise((r) => idleWaiters.push(r));
    }
  }

  /** Runs the agents until simulated time `t`, one simulated second at a time. */
  sim.runUntil = async (t) => {
    for (;;) {
      await settle();
      while (heap.size > 0 && heap.peek().cancelled) heap.pop();
      const top = heap.peek();
      if (!top || top.at > t) break;
      sim.second = Math.floor(top.at / 1000);
      const end = Math.min((sim.second + 1) * 1000, t + 1);
      while (heap.size > 0 && heap.peek().at < end) {
        const timer = heap.pop();
        if (!timer.cancelled) timer.release();
      }
    }
    sim.now = t;
    sim.second = Math.floor(t / 1000);
  };

  return sim;
}
