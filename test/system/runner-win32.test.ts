import { describe, expect, it } from 'vitest';
import { createWin32Platform, type ToolRunner } from '../../src/system/platform.js';
import { createNodeRunner } from '../../src/system/runner.js';

describe('system/runner on Windows (platform fakes)', () => {
  it('a timeout asks taskkill /T first, then kills the tree with /F after the grace period', async () => {
    const calls: string[][] = [];
    // Stands in for taskkill: the graceful /T is ignored (as by a console program), /F terminates.
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
    expect(calls.map((c) => c.filter((a) => !/^\d+$/.test(a)))).toEqual([
      ['taskkill', '/PID', '/T'],
      ['taskkill', '/PID', '/T', '/F'],
    ]);
  });
});
