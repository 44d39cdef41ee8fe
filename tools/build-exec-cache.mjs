#!/usr/bin/env node
// Makes dist/exec.cjs.cache, the V8 code cache of the exec bundle (npm run build, after the
// bundle). dist/cli/launch.cjs, which scheduler entries run, compiles the bundle with it
// (compileExecBundle, src/cli/launch.cts), so that a scheduled run neither parses nor compiles
// the functions it runs.
//
// The cache is taken after two real runs of a job in a temporary state dir, a manual one with
// a check-in to a loopback server and a scheduled one in a timezone with DST: V8 compiles
// functions lazily, on their first call, and a cache made right after loading would hold little
// more than the top level. The runs go through the bundle as exec runs it, so the cache holds
// the functions of exec's usual path.
//
// The bundle is first put between BUNDLE_HEAD and BUNDLE_TAIL (src/cli/launch.cts): Node's
// CommonJS wrapper written into the file, so that the launcher compiles the text it read as it
// is. It gets a last line `//# cronsync-build <hash of the bundle>` and the cache starts with
// the same line: V8 itself checks only the source's length (see cacheHeader in src/cli/launch.cts).
//
// A cache that cannot be made is not an error: exec compiles from source without it, as it does
// when V8 finds the cache does not fit (another Node version, other V8 flags).
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const bundle = join(dist, 'exec.cjs');
const out = `${bundle}.cache`;
const warn = (msg) => process.stderr.write(`build-exec-cache: ${msg}\n`);

/** Installs job `cache/<name>` through the built snapshot writer, so its format is always current. */
async function install(stateDir, name, timezone, checkinUrl) {
  const { writeJobSnapshot } = await import(new URL('../dist/state/snapshots.js', import.meta.url).href);
  const job = {
    apiVersion: 'v1', kind: 'Job', metadata: { name, tenant: 'cache', labels: {}, annotations: {} },
    spec: {
      schedule: '* * * * *', timezone, command: 'exit 0', args: [], env: {}, checkin: { enabled: true, secret: '${CHECKIN_SECRET}', timeout: 60 },
      retry: { enabled: false, attempts: 3, backoff: 'fixed', delay: '10s', maxDelay: '5m' }, agent: { selector: {} }, enabled: true, paused: false, concurrency: 'Forbid',
    },
  };
  await writeJobSnapshot(stateDir, {
    schemaVersion: 1, job, provenance: { sourceId: 'cache', url: 'x', ref: 'main', commit: null, path: 'x.yaml', index: 0 }, manifestHash: 'h', appliedAt: new Date().toISOString(),
    runtime: { agentId: 'cache', checkin: { url: checkinUrl, protocol: 'crontopus', start: false }, spool: { maxAgeDays: 7, maxCount: 100 } },
  });
  return `cache/${name}`;
}

/** Runs exec through the bundle for each argv; problems are reported, never thrown. */
async function warmUp(execCommand) {
  const work = mkdtempSync(join(tmpdir(), 'cronsync-exec-cache-'));
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  try {
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${server.address().port}/api/checkins`;
    const stateDir = join(work, 'state');
    const runs = [
      ['--state-dir', stateDir, await install(stateDir, 'utc', 'UTC', url)],
      ['--scheduled', '--state-dir', stateDir, await install(stateDir, 'berlin', 'Europe/Berlin', url)],
    ];
    let stderr = '';
    const streams = { stdout: { write: () => true }, stderr: { write: (c) => ((stderr += String(c)), true) } };
    for (const argv of runs) {
      const code = await execCommand(argv, { PATH: process.env.PATH, CHECKIN_SECRET: 'cache' }, streams);
      if (code !== 0) warn(`warm-up run ${argv.join(' ')} exited ${code}; the cache holds less`);
    }
    if (stderr) warn(`warm-up runs wrote to stderr:\n${stderr}`);
  } catch (err) {
    warn(`warm-up failed (${err?.message ?? err}); the cache holds less`);
  } finally {
    server.close();
    rmSync(work, { recursive: true, force: true });
  }
}

/** Writes `data` to `path` through a temporary file and a rename: readers see the old or the new file. */
function writeAtomic(path, data) {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

try {
  const { BUNDLE_BUILD_MARK, BUNDLE_HEAD, BUNDLE_TAIL, cacheHeader, compileExecBundle } = await import(new URL('../dist/cli/launch.cjs', import.meta.url).href);
  const built = readFileSync(bundle, 'utf8');
  const at = built.lastIndexOf(BUNDLE_BUILD_MARK);
  const unmarked = at < 0 ? built : built.slice(0, at);
  const body = unmarked.startsWith(BUNDLE_HEAD) ? unmarked : `${BUNDLE_HEAD}${unmarked.trimEnd()}${BUNDLE_TAIL}`;
  const source = `${body}${BUNDLE_BUILD_MARK}${createHash('sha256').update(body).digest('hex').slice(0, 32)}\n`;
  if (source !== built) writeAtomic(bundle, source);
  const module = { exports: {} };
  const script = compileExecBundle(module, bundle, source);
  await warmUp(module.exports.execCommand);
  writeAtomic(out, Buffer.concat([Buffer.from(cacheHeader(source), 'latin1'), script.createCachedData()]));
} catch (err) {
  rmSync(out, { force: true });
  warn(`no code cache made (${err?.message ?? err}); exec compiles the bundle from source`);
}
