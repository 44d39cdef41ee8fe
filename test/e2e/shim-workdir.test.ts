/**
 * The working directory of a job without `spec.user` or `spec.workingDir`, in real processes: the
 * home of the account `cronsync exec` runs as (HOME), whatever directory the scheduler starts the
 * shim in, and `/` when that home does not exist. The daemon's embedded scheduler runs the same
 * code in its own process (runExec with inProcess), and gets the same directory.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../src/manifest/types.js';
import { install, makeJob, tempStateDir } from '../shim/fixtures.js';
import { testTempDir as tmp } from '../system/tempdir.js';

let bundleDir: string;
/** `cronsync exec` as scheduler entries run it (runExecCli). */
let cliBundle: string;
/** One run as the embedded scheduler starts it in the daemon's process: runExec, inProcess. */
let inProcessBundle: string;

beforeAll(() => {
  bundleDir = mkdtempSync(join(tmpdir(), 'cronsync-workdir-bundle-'));
  cliBundle = join(bundleDir, 'exec.mjs');
  inProcessBundle = join(bundleDir, 'in-process.mjs');
  const resolveDir = fileURLToPath(new URL('../..', import.meta.url));
  const build = (contents: string, outfile: string): void => void buildSync({
    stdin: { contents, resolveDir, loader: 'ts' }, bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile, logLevel: 'error',
  });
  build("import { runExecCli } from './src/shim/run.ts';\nprocess.exitCode = await runExecCli(process.argv.slice(2));\n", cliBundle);
  build(`import { createLineLogger } from './src/shim/log.ts';
import { runExec } from './src/shim/run.ts';
import { systemClock } from './src/system/clock.ts';
import { createNodeHttpClient } from './src/system/http.ts';
import { nodeRunner } from './src/system/runner.ts';
const [stateDir, jobId] = process.argv.slice(2);
process.exitCode = await runExec({
  jobId, stateDir, inProcess: true, clock: systemClock, http: createNodeHttpClient(), runner: nodeRunner, env: { ...process.env },
  log: createLineLogger(process.stderr, 'warn', 'daemon'), stdout: process.stdout, stderr: process.stderr,
});
`, inProcessBundle);
});
afterAll(() => {
  if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
});
/** Runs `bundle` with `args` in `cwd` with HOME=`home`: its exit code and output. */
function run(bundle: string, args: string[], cwd: string, home: string): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [bundle, ...args], { cwd, env: { PATH: process.env.PATH, HOME: home }, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

async function installJob(spec: Partial<Job['spec']> = {}): Promise<{ dir: string; id: string }> {
  const dir = tempStateDir();
  const id = await install(dir, makeJob('where', { command: 'pwd', checkin: { enabled: false, timeout: 60 }, ...spec }), { secretsFile: undefined });
  return { dir, id };
}

describe.skipIf(process.platform === 'win32')('e2e/shim working directory', () => {
  it.each([
    { how: 'cronsync exec', bundle: () => cliBundle, args: (dir: string, id: string) => ['--state-dir', dir, id] },
    { how: 'the embedded scheduler (in-process)', bundle: () => inProcessBundle, args: (dir: string, id: string) => [dir, id] },
  ])('$how starts a job in HOME, not in the directory it was started in, and in / when HOME does not exist', async ({ bundle, args }) => {
    const { dir, id } = await installJob();
    const home = tmp('cronsync-home-');
    const elsewhere = tmp('cronsync-elsewhere-');

    const inHome = run(bundle(), args(dir, id), elsewhere, home);
    const noHome = run(bundle(), args(dir, id), elsewhere, join(home, 'missing'));

    expect(inHome.err).toBe('');
    expect([inHome.code, realpathSync(inHome.out.trim())]).toEqual([0, realpathSync(home)]);
    expect([noHome.code, noHome.out]).toEqual([0, '/\n']);
  });

  it('an explicit workingDir still wins', async () => {
    const workdir = tmp('cronsync-workdir-');
    const { dir, id } = await installJob({ workingDir: workdir });

    const r = run(cliBundle, ['--state-dir', dir, id], tmp('cronsync-elsewhere-'), tmp('cronsync-home-'));

    expect([r.code, realpathSync(r.out.trim())]).toEqual([0, realpathSync(workdir)]);
  });
});
