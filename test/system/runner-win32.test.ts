import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createWin32Platform, type ToolRunner } from '../../src/system/platform.js';
import { createNodeRunner } from '../../src/system/runner.js';
import { tempStateDir } from '../shim/fixtures.js';
import { TASKKILL } from '../fakes/FakeWindowsTools.js';

/** Whether `pid` runs (a zombie does not: a killed root's child waits to be reaped by init). */
const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
};

/**
 * Whether `pid` still runs after up to `ms` for a kill already sent to land: SIGKILL is
 * delivered asynchronously, and a busy machine may not have ended the process when kill(2) returns.
 */
async function aliveAfter(pid: number, ms = 5000): Promise<boolean> {
  for (const end = Date.now() + ms; alive(pid) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
  return alive(pid);
}

const killQuietly = (pid: number | undefined): void => {
  try {
    if (pid) process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
};

/** Stands in for taskkill: /T alone is ignored (as by a console program), /F terminates the root. */
function taskkillTools(calls: string[][]): ToolRunner {
  return {
    runSync: () => ({ status: 1, stdout: '' }),
    start(file, args) {
      calls.push([file, ...args]);
      if (args.includes('/F')) killQuietly(Number(args[1]));
    },
  };
}

// Every process started here ends by itself within 30 s, should a regression leave it behind.
const LINGER = 'process.on("SIGTERM", () => {}); setTimeout(() => {}, 30_000)';

describe('system/runner on Windows (platform fakes)', () => {
  it('a timeout terminates the tree at once (taskkill /T /F): console jobs cannot be asked to stop', async () => {
    const calls: string[][] = [];
    const runner = createNodeRunner(createWin32Platform({ tools: taskkillTools(calls), exists: () => true }));
    let pid: number | undefined;
    try {
      const r = await runner.run({ file: process.execPath, args: ['-e', LINGER] }, { timeoutMs: 100, killGraceMs: 5000, onSpawn: (p) => (pid = p) });

      expect(r.timedOut).toBe(true);
      expect(calls.map((c) => c.filter((a) => !/^\d+$/.test(a)))).toEqual([[TASKKILL, '/PID', '/T', '/F']]);
    } finally {
      killQuietly(pid);
    }
  });

  it('a cancel terminates the tree at once too, whatever signal was asked for', async () => {
    const calls: string[][] = [];
    const runner = createNodeRunner(createWin32Platform({ tools: taskkillTools(calls), exists: () => true }));
    const controller = new AbortController();
    let pid: number | undefined;
    try {
      const r = await runner.run({ file: process.execPath, args: ['-e', LINGER] }, {
        signal: controller.signal, killGraceMs: 5000, onSpawn: (p) => {
          pid = p;
          controller.abort('SIGINT');
        },
      });

      expect(r.cancelled).toBe(true);
      expect(calls.map((c) => c.filter((a) => !/^\d+$/.test(a)))).toEqual([[TASKKILL, '/PID', '/T', '/F']]);
    } finally {
      killQuietly(pid);
    }
  });

  it.skipIf(!existsSync('/proc/self/stat'))('leaves no child behind when the root would have exited during the grace period', async () => {
    // The root starts a child that runs on, and exits by itself a while after the timeout. A
    // graceful /T first would find the root gone by the time /T /F was due, and the child would
    // survive it: Windows walks a tree from its live root (there are no process groups).
    const dir = tempStateDir();
    const pidFile = join(dir, 'child.pid');
    const root = `const { spawn } = require('child_process');
const c = spawn(process.execPath, ['-e', ${JSON.stringify(LINGER)}], { stdio: 'ignore' });
require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(c.pid));
c.unref();
setTimeout(() => process.exit(0), 4000);`;
    const childPid = (): number => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0);
    const killed: number[] = [];
    // taskkill /T /F: when the root still runs, it ends the root and its descendants (here the one
    // child, named in the pid file); a root that is gone takes its children out of reach.
    const tools: ToolRunner = {
      runSync: () => ({ status: 1, stdout: '' }),
      start(_file, args) {
        const root = Number(args[1]);
        if (!args.includes('/F') || !alive(root)) return;
        for (const pid of [root, childPid()].filter((p) => p > 0 && alive(p))) {
          killQuietly(pid);
          killed.push(pid);
        }
      },
    };
    const runner = createNodeRunner(createWin32Platform({ tools, exists: () => true }));
    try {
      // The root has written the child's pid long before the timeout.
      const r = await runner.run({ file: process.execPath, args: ['-e', root] }, { timeoutMs: 1500, killGraceMs: 10_000 });
      const child = childPid();

      expect(r.timedOut).toBe(true);
      expect(child).toBeGreaterThan(0);
      expect(killed).toContain(child);
      expect(await aliveAfter(child)).toBe(false);
    } finally {
      killQuietly(childPid());
    }
  });
});
