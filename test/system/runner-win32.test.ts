import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createWin32Platform, type ToolRunner } from '../../src/system/platform.js';
import { createNodeRunner } from '../../src/system/runner.js';
import { tempStateDir } from '../shim/fixtures.js';

/** Whether `pid` runs (a zombie does not: the killed root's child waits to be reaped by init). */
const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
};

describe('system/runner on Windows (platform fakes)', () => {
  it('a timeout terminates the tree at once (taskkill /T /F): console jobs cannot be asked to stop', async () => {
    const calls: string[][] = [];
    // Stands in for taskkill: /T alone is ignored (as by a console program), /F terminates.
    const tools: ToolRunner = {
      runSync: () => ({ status: 1, stdout: '' }),
      start(file, args) {
        calls.push([file, ...args]);
        if (args.includes('/F')) process.kill(Number(args[1]), 'SIGKILL');
      },
    };
    const runner = createNodeRunner(createWin32Platform({ tools, exists: () => true }));

    const r = await runner.run({ file: process.execPath, args: ['-e', 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)'] }, { timeoutMs: 100, killGraceMs: 100 });

    expect(r.timedOut).toBe(true);
    expect(calls.map((c) => c.filter((a) => !/^\d+$/.test(a)))).toEqual([['taskkill', '/PID', '/T', '/F']]);
  });

  it('a cancel terminates the tree at once too, whatever signal was asked for', async () => {
    const calls: string[][] = [];
    const tools: ToolRunner = {
      runSync: () => ({ status: 1, stdout: '' }),
      start(file, args) {
        calls.push([file, ...args]);
        if (args.includes('/F')) process.kill(Number(args[1]), 'SIGKILL');
      },
    };
    const runner = createNodeRunner(createWin32Platform({ tools, exists: () => true }));
    const controller = new AbortController();

    const run = runner.run({ file: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'] }, { signal: controller.signal, killGraceMs: 60_000, onSpawn: () => controller.abort('SIGINT') });

    expect((await run).cancelled).toBe(true);
    expect(calls.map((c) => c.filter((a) => !/^\d+$/.test(a)))).toEqual([['taskkill', '/PID', '/T', '/F']]);
  });

  it('leaves no child behind when the root would have exited during the grace period', async () => {
    // The root starts a child that runs on, and exits by itself a while after the timeout. A
    // graceful /T first would find the root gone by the time /T /F was due, and the child would
    // survive it (Windows walks a tree from its live root; there are no process groups).
    const dir = tempStateDir();
    const pidFile = join(dir, 'child.pid');
    const root = `const { spawn } = require('child_process');
const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(c.pid));
c.unref();
setTimeout(() => process.exit(0), 4000);`;
    const killed: number[] = [];
    // taskkill /T /F ends the root and its descendants: here the one child, named in the pid file.
    const tools: ToolRunner = {
      runSync: () => ({ status: 1, stdout: '' }),
      start(_file, args) {
        if (!args.includes('/F')) return;
        for (const pid of [Number(args[1]), Number(readFileSync(pidFile, { encoding: 'utf8', flag: 'a+' }))]) {
          if (alive(pid)) {
            process.kill(pid, 'SIGKILL');
            killed.push(pid);
          }
        }
      },
    };
    const runner = createNodeRunner(createWin32Platform({ tools, exists: () => true }));
    let child = 0;
    try {
      // The timeout comes once the root has written the child's pid.
      const r = await runner.run({ file: process.execPath, args: ['-e', root] }, { timeoutMs: 1500, killGraceMs: 10_000 });
      child = Number(readFileSync(pidFile, 'utf8'));

      expect(r.timedOut).toBe(true);
      expect(killed).toContain(child);
      expect(alive(child)).toBe(false);
    } finally {
      if (child && alive(child)) process.kill(child, 'SIGKILL');
    }
  });
});
