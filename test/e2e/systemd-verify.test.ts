/**
 * `systemd-analyze verify` on the units the systemd adapter renders (issue #14): the example
 * manifests through `cronsync render --scheduler systemd --out DIR`, and a corpus of random
 * schedules × zones with an awkward state dir. verify exits 0 for unknown keys and calendar
 * specs it cannot parse, so anything on stderr fails. ExecStart= names this node and the
 * built CLI, which exist while verify runs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCron } from '../../src/schedule/cron.js';
import { renderUnitFiles } from '../../src/scheduler/systemd/render.js';
import { cli } from '../cli/helpers.js';
import { desired } from '../scheduler/fixtures.js';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'dist/cli/main.js');
const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
const tmp = mkdtempSync(join(tmpdir(), 'cronsync-systemd-verify-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function verify(dir: string): { status: number | null; stderr: string; files: number } {
  const files = readdirSync(dir).filter((n) => /\.(service|timer)$/.test(n)).map((n) => join(dir, n));
  const r = spawnSync('systemd-analyze', ['verify', ...files], { encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_COLOR: '0', SYSTEMD_COLORS: '0' } });
  return { status: r.status, stderr: r.stderr, files: files.length };
}

const ZONES = ['UTC', 'America/New_York', 'Europe/London', 'Europe/Berlin', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham'];
const SCHEDULES = ['*/15 * * * *', '30 2 * * *', '0 12 */2 * 1', '0 0 1-7 * MON', '5-55/10 1-4 * 2,3,10,11 *', '0 */3 * * 1-5', '59 23 31 * *', '0 0 29 2 *', '@weekly', '15 2 * * 0,6', '* * * * *', '0 1 * * */2'];

describe('e2e systemd units verify', () => {
  it.skipIf(!hasAnalyze || !existsSync(MAIN))('the example manifests: cronsync render --scheduler systemd --out DIR, verify leaves nothing on stderr', async () => {
    const out = join(tmp, 'example');

    const res = await cli(['render', '--scheduler', 'systemd', '--out', out, join(ROOT, 'manifests-example')], ROOT);
    const r = verify(out);

    expect(res.err.split('\n').filter((l) => l !== '' && !l.startsWith('wrote '))).toEqual([]);
    expect(r.files).toBeGreaterThan(2);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.skipIf(!hasAnalyze || !existsSync(MAIN))('a corpus of schedules × zones, with a state dir holding a space, % and $', () => {
    const dir = mkdtempSync(join(tmp, 'corpus-'));
    const jobs = SCHEDULES.flatMap((s, i) => ZONES.map((zone, j) => desired(`j${i}-${j}`, s, { timezone: zone, paused: (i + j) % 5 === 0 })));
    const ctx = { sourceId: 'src-1', execCommand: { file: process.execPath, args: [MAIN] }, stateDir: join(tmp, 'state dir %n $HOME'), user: 'root', unitDir: dir };

    for (const f of renderUnitFiles(jobs, ctx, Date.UTC(2026, 5, 1))) writeFileSync(join(dir, f.fileName!), f.content);
    const r = verify(dir);

    expect(jobs.every((d) => parseCron(d.job.spec.schedule).ok)).toBe(true);
    expect(r.files).toBe(jobs.length * 2);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.skipIf(!hasAnalyze || !existsSync(MAIN))('verify would catch a broken unit (the check is not vacuous)', () => {
    const dir = mkdtempSync(join(tmp, 'broken-'));
    const ctx = { sourceId: 'src-1', execCommand: { file: process.execPath, args: [MAIN] }, stateDir: '/var/lib/cronsync', user: 'root', unitDir: dir };
    for (const f of renderUnitFiles([desired('a', '0 3 * * *')], ctx, Date.UTC(2026, 5, 1))) {
      writeFileSync(join(dir, f.fileName!), f.content.replace('OnCalendar=*-*-* 03:00:00 UTC', 'OnCalendar=*-*-* 25:00:00 UTC\nAccurateSec=1s'));
    }

    const r = verify(dir);

    expect(r.stderr).toMatch(/Failed to parse calendar specification/);
    expect(r.stderr).toMatch(/AccurateSec/);
  });
});
