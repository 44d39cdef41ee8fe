// Child of lint.bench.mjs: times one task over a directory and prints JSON.
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { parseAllDocuments } from 'yaml';
import { loadManifests } from '../dist/manifest/load.js';
import { scanManifestFiles } from '../dist/system/walk.js';

const [mode, dir] = process.argv.slice(2);
const t0 = performance.now();
const { files } = await scanManifestFiles([dir], dir);
const inputs = await Promise.all(files.map(async (f) => ({ path: f.display, content: await readFile(f.absolute) })));
let out;
if (mode === 'yaml') {
  let docs = 0;
  for (const input of inputs) for (const d of parseAllDocuments(input.content.toString('utf8'))) { d.toJS(); docs++; }
  out = { docs };
} else {
  const res = loadManifests(inputs);
  out = { jobs: res.jobs.length, errors: res.issues.filter((i) => i.severity === 'error').length };
}
const ms = performance.now() - t0;
process.stdout.write(JSON.stringify({ ...out, ms, rssMb: process.resourceUsage().maxRSS / 1024 }));
