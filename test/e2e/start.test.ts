/**
 * `npm start`'s path, the README's first command: `cronsync demo` from a fresh working
 * directory runs the bundled example with the embedded scheduler, a demo job fires at the next
 * minute boundary and checks in to the loopback receiver, `cronsync status` works on the
 * config it wrote, and Ctrl-C (SIGINT) exits 0.
 *
 * One test, and a slow one: it waits for a wall-clock minute boundary (at most ~60 s plus start-up
 * and the run). It stays in the default suite because it is what a newcomer runs first.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt, exitWithin, startCli, waitFor } from './fixtures/daemon-process.js';
import type { CliChild } from './fixtures/daemon-process.js';

/** How long to wait for the first check-in (a minute boundary, the run, start-up): a bound against hangs, not an assertion. */
const FIRST_FIRE_MS = 75_000;
const CHECKIN = /^\[check-in\] demo\/hello-every-minute: success exit 0\b/m;

let cwd: string;
let child: CliChild | null = null;

beforeAll(async () => {
  await ensureBuilt();
  cwd = mkdtempSync(join(tmpdir(), 'cronsync-start-'));
}, 180_000);

afterAll(async () => {
  await child?.kill();
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

describe('e2e npm start (cronsync demo)', () => {
  it('fires the every-minute demo job, which checks in; status lists the demo jobs; SIGINT exits 0', async () => {
    const stateDir = join(cwd, 'state');
    child = startCli(['demo', '--state-dir', stateDir], { cwd });
    const c = child;

    const config = join(cwd, '.cronsync', 'config.yaml');
    await waitFor('the demo to write its config', () => existsSync(config), 15_000);
    const line = await waitFor('a hello-every-minute check-in', () => CHECKIN.exec(c.stderr())?.[0], FIRST_FIRE_MS, 200);
    const st = spawnSync(process.execPath, [CLI, 'status', '--config', config], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: tmpdir() }, timeout: 30_000 });
    const stJson = spawnSync(process.execPath, [CLI, 'status', '--json', '--config', config], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: tmpdir() }, timeout: 30_000 });

    c.proc.kill('SIGINT');
    const code = await exitWithin(c, 30_000);

    expect(line).toMatch(CHECKIN);
    expect(c.stderr()).toMatch(/^hello from cronsync at \d\d:\d\d:\d\d, job hello-every-minute$/m);
    expect(st.status, st.stderr).toBe(0);
    expect(st.stdout).toContain('demo/hello-every-minute');
    expect(st.stdout).toContain('demo/disk-report');
    const status = JSON.parse(stJson.stdout) as { scheduler: { kind: string }; jobs: { id: string; state: string; lastRun: { status: string } | null }[] };
    expect(status.scheduler.kind).toBe('embedded');
    const hello = status.jobs.find((j) => j.id === 'demo/hello-every-minute');
    expect(hello?.state).toBe('installed');
    expect(status.jobs.map((j) => j.id)).toEqual(expect.arrayContaining(['demo/hello-every-minute', 'demo/disk-report', 'demo/flaky-demo']));
    // State went where it was told, and the config next to the working directory.
    expect(existsSync(join(stateDir, 'status.json'))).toBe(true);
    expect(code).toBe(0);
  }, FIRST_FIRE_MS + 120_000);
});
