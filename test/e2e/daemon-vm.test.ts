/**
 * The daemon's V8 tuning (src/system/heap.ts) in a child process, since V8 flags are
 * process-wide: after preferSmallFootprint() a hot function is never compiled by TurboFan, after
 * preferSpeed() it is. V8's --trace-opt output says which functions it optimised. Also what the
 * daemon leaves unloaded while unused (node:http without a listener), from a child's
 * process.moduleLoadList.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt } from './fixtures/sync-cli.js';

beforeAll(async () => {
  await ensureBuilt();
}, 180_000);

/** Runs a hot loop after calling `calls` of dist/system/heap.js; returns --trace-opt's lines about it. */
function traceHot(calls: string[]): string[] {
  const heap = pathToFileURL(path.join(ROOT, 'dist/system/heap.js')).href;
  const script = [
    `const heap = await import(${JSON.stringify(heap)});`,
    ...calls.map((c) => `heap.${c};`),
    'function hotLoopForTrace(n) { let s = 0; for (let i = 0; i < n; i++) s += i % 7; return s; }',
    'let t = 0; for (let k = 0; k < 2000; k++) t += hotLoopForTrace(1000);',
    'console.log(t);',
  ].join('\n');
  const out = execFileSync(process.execPath, ['--trace-opt', '--input-type=module', '-e', script], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes('hotLoopForTrace') && l.includes('completed'));
}

describe('daemon VM tuning (system/heap.ts)', () => {
  it('a hot function is optimised by default', () => {
    expect(traceHot([])).not.toEqual([]);
  });

  it('preferSmallFootprint(\'idle\'): no hot function is optimised', () => {
    expect(traceHot(["preferSmallFootprint('idle')"])).toEqual([]);
  });

  it('preferSpeed undoes it', () => {
    expect(traceHot(["preferSmallFootprint('idle')", 'preferSpeed()'])).not.toEqual([]);
  });
});

describe('daemon modules loaded on demand', () => {
  it('node:http is loaded by the first listener, not by the daemon modules', () => {
    const url = (f: string) => JSON.stringify(pathToFileURL(path.join(ROOT, 'dist', f)).href);
    const script = [
      `await import(${url('daemon/run.js')});`,
      'const loaded = () => process.moduleLoadList.includes("NativeModule http");',
      'const before = loaded();',
      `const { listen } = await import(${url('daemon/http.js')});`,
      'const l = await listen({ host: "127.0.0.1", port: 0, routes: [], log: { info() {}, warn() {}, error() {}, debug() {} } });',
      'const after = loaded();',
      'await l.close();',
      'console.log(JSON.stringify({ before, after }));',
    ].join('\n');
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ before: false, after: true });
  });
});
