// Preloaded with `node --import ./bench/ansible/probe.mjs …` by sync-memory.mjs: at exit,
// writes the process's peak RSS, memoryUsage() and V8 heap spaces as one JSON line to the
// file named by SYNC_MEMORY_PROBE (the process's own stdout/stderr are left alone).
import { appendFileSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import v8 from 'node:v8';

const out = process.env.SYNC_MEMORY_PROBE;
const require = createRequire(import.meta.url);
const marks = [];

/** Resident kB at this moment by mapping kind, from /proc/self/smaps. */
function residentByMapping() {
  const out = {};
  let kind = null;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[1];
      kind = name === '' ? 'anonymous (V8 heap, malloc arenas, wasm)' : name === process.execPath || name.endsWith('/node') ? 'node binary' : name.startsWith('[') ? name : name.includes('.so') ? 'shared libraries' : 'other files';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && kind) out[kind] = (out[kind] ?? 0) + Number(rss[1]);
  }
  return out;
}

/** Records memoryUsage() under `label` (called at exit; importable for more points). */
export function mark(label) {
  const m = process.memoryUsage();
  marks.push({ label, rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers });
}

mark('preload');
process.on('exit', (code) => {
  mark('exit');
  if (!out) return;
  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }]));
  const heap = v8.getHeapStatistics();
  const code_ = v8.getHeapCodeStatistics();
  appendFileSync(out, JSON.stringify({
    code,
    maxRssKb: process.resourceUsage().maxRSS,
    cpuMs: (process.resourceUsage().userCPUTime + process.resourceUsage().systemCPUTime) / 1000,
    marks,
    spaces,
    heap: { total: heap.total_heap_size, used: heap.used_heap_size, malloced: heap.malloced_memory, peakMalloced: heap.peak_malloced_memory, external: heap.external_memory },
    codeStats: code_,
    cjsModules: Object.keys(require.cache).length,
    mappings: residentByMapping(),
  }) + '\n');
});
