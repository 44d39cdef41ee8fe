/**
 * kill -9 of `cronsync sync` in the middle of an apply, repeatedly, then a clean re-run: the
 * agent converges. The kill points are chosen from what the child is doing, seen through
 * inotify (fs.watch) on the state and cron.d dirs, so no test hook lives in the product:
 * after the k-th snapshot write, right after the snapshot batch (src/state/batch.ts) is renamed
 * into place, when the cron.d temp file appears, or right after the cron.d rename (while
 * snapshots of removed jobs are being deleted). A power loss is simulated too: snapshot files
 * written without fsync are lost or cut, and `exec` runs those jobs from the batch.
 */
import { spawn } from 'node:child_process';
import { existsSync, watch, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prng } from '../schedule/random.js';
import { MAIN, cliEnv, ensureBuilt, listFiles, manifest, markerJobs, runCli, writeConfig } from './fixtures/sync-cli.js';

const N = 240;
const Q = N / 4;
/** Set A: jobs 0..N-1 at 01:xx. Set B: drops the first quarter, moves the next 1.5 quarters to 02:xx, adds a quarter. */
function desiredSet(which: 'A' | 'B'): Map<string, string> {
  const jobs = new Map<string, string>();
  const ids = which === 'A' ? range(0, N) : range(Q, N + Q);
  for (const i of ids) jobs.set(`job-${i}`, `${i % 60} ${which === 'B' && i < 2.5 * Q ? 2 : 1} * * *`);
  return jobs;
}
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);


type KillPoint = { kind: 'snapshot'; after: number } | { kind: 'batch' } | { kind: 'crond-temp' } | { kind: 'after-rename' };

describe('e2e/sync: kill -9 during apply', () => {
  let dir: string;
  let srcDir: string;
  let stateDir: string;
  let cronDir: string;
  let config: string;
  const user = process.getuid?.() === 0 ? 'root' : userInfo().username;

  beforeAll(async () => {
    await ensureBuilt();
    dir = mkdtempSync(path.join(tmpdir(), 'cronsync-e2e-kill-'));
    srcDir = path.join(dir, 'manifests');
    stateDir = path.join(dir, 'state');
    cronDir = path.join(dir, 'cron.d');
    mkdirSync(cronDir);
    mkdirSync(path.join(stateDir, 'jobs', 'acme'), { recursive: true, mode: 0o700 });
    config = writeConfig(dir, {
      agent: { name: 'host-1', tenant: 'acme' },
      source: { url: srcDir },
      scheduler: { kind: 'cron.d', user, cronDir },
      stateDir,
      log: { level: 'silent' },
    });
  }, 60_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function writeSource(which: 'A' | 'B'): void {
    rmSync(srcDir, { recursive: true, force: true });
    for (const [name, schedule] of desiredSet(which)) {
      const file = path.join(srcDir, `team-${name.length % 4}`, `${name}.yaml`);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, manifest(name, { schedule }));
    }
  }

  /** Runs `cronsync sync` and SIGKILLs it at `point`; resolves with how it ended. */
  function syncAndKill(point: KillPoint): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [MAIN, 'sync', '--config', config], { env: cliEnv(), stdio: 'ignore' });
      const watchers: ReturnType<typeof watch>[] = [];
      const kill = (): void => void child.kill('SIGKILL');
      let snapshots = 0;
      watchers.push(watch(path.join(stateDir, 'jobs', 'acme'), (_e, name) => {
        if (point.kind === 'snapshot' && name?.endsWith('.tmp') && ++snapshots >= point.after) kill();
      }));
      watchers.push(watch(stateDir, (_e, name) => {
        if (point.kind === 'batch' && name === 'jobs.batch.json') kill();
      }));
      watchers.push(watch(cronDir, (_e, name) => {
        if (point.kind === 'crond-temp' && name?.startsWith('.cronsync.')) kill();
        if (point.kind === 'after-rename' && name === 'cronsync') kill();
      }));
      const guard = setTimeout(kill, 20_000);
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        clearTimeout(guard);
        for (const w of watchers) w.close();
        resolve(signal ?? `exit ${code}`);
      });
    });
  }

  it('converges after repeated kills: cron.d equals `cronsync render`, no duplicates, no temp files, one snapshot per installed job', async () => {
    const seed = Number(process.env.E2E_KILL_SEED ?? Date.now() % 1_000_000);
    const rnd = prng(seed);
    writeSource('A');
    expect((await runCli(['sync', '--config', config])).code).toBe(0);
    // Each sync targets the set the cron.d file does not hold, so every one has work to do;
    // a snapshot kill always follows a completed cron.d rename, so 2.5 × Q = 150 snapshot
    // writes (two inotify events each) lie ahead.
    const points: KillPoint[] = [
      { kind: 'snapshot', after: 1 + Math.floor(rnd() * 150) },
      { kind: 'batch' },
      { kind: 'crond-temp' },
      { kind: 'after-rename' },
      { kind: 'snapshot', after: 1 + Math.floor(rnd() * 150) },
      { kind: 'after-rename' },
      { kind: 'snapshot', after: 1 + Math.floor(rnd() * 20) },
    ];
    const outcomes: string[] = [];

    for (const point of points) {
      const holdsA = markerJobs(readFileSync(path.join(cronDir, 'cronsync'), 'utf8')).includes('acme/job-0');
      writeSource(holdsA ? 'B' : 'A');
      outcomes.push(`${point.kind}:${await syncAndKill(point)}`);
    }
    writeSource('A');
    const final = await runCli(['sync', '--config', config]);
    const again = await runCli(['sync', '--config', config, '--dry-run']);
    const rendered = await runCli(['render', '--scheduler', 'crond', '--config', config, '.'], { cwd: srcDir });

    const ctx = `seed ${seed}, outcomes ${outcomes.join(' ')}`;
    expect(outcomes.filter((o) => o.endsWith('SIGKILL')).length, ctx).toBeGreaterThanOrEqual(6);
    expect(final.code, `${ctx}\n${final.stderr}`).toBe(0);
    expect(again.stdout, ctx).toContain('No changes.');
    expect(rendered.code, rendered.stderr).toBe(0);
    const text = readFileSync(path.join(cronDir, 'cronsync'), 'utf8');
    expect(text, ctx).toBe(rendered.stdout);
    const wanted = [...desiredSet('A').keys()].map((n) => `acme/${n}`).sort();
    expect(markerJobs(text), ctx).toEqual(wanted);
    expect(listFiles(cronDir), ctx).toEqual(['cronsync']);
    expect(listFiles(stateDir).filter((f) => f.endsWith('.tmp')), ctx).toEqual([]);
    expect(listFiles(path.join(stateDir, 'jobs')), ctx).toEqual(wanted.map((id) => `${id}.json`).sort());
    const moved = JSON.parse(readFileSync(path.join(stateDir, `jobs/acme/job-${2 * Q}.json`), 'utf8'));
    expect(moved.job.spec.schedule).toBe(`${(2 * Q) % 60} 1 * * *`);
  }, 90_000);

  it('power loss after a sync: lost or cut snapshot files are read from the batch by exec, and restored by the next sync', async () => {
    writeSource('A');
    expect((await runCli(['sync', '--config', config])).code).toBe(0);
    writeSource('B');
    expect((await runCli(['sync', '--config', config])).code).toBe(0);
    const batch = JSON.parse(readFileSync(path.join(stateDir, 'jobs.batch.json'), 'utf8')) as { snapshots: Record<string, string> };
    // Written by this sync (moved to 02:xx, or new): in the batch, and now lost or cut.
    const lost = [`acme/job-${Q}`, `acme/job-${2 * Q}`, `acme/job-${N + 1}`];
    const file = (id: string): string => path.join(stateDir, 'jobs', `${id}.json`);
    unlinkSync(file(lost[0]!));
    writeFileSync(file(lost[1]!), '');
    writeFileSync(file(lost[2]!), batch.snapshots[lost[2]!]!.slice(0, 100));

    const runs = await Promise.all(lost.map((id) => runCli(['exec', '--state-dir', stateDir, id])));
    const restart = await runCli(['sync', '--config', config]);
    const keptOneMore = existsSync(path.join(stateDir, 'jobs.batch.json'));
    const again = await runCli(['sync', '--config', config, '--dry-run']);
    const next = await runCli(['sync', '--config', config]);

    expect(lost.every((id) => batch.snapshots[id] !== undefined)).toBe(true);
    for (const r of runs) {
      // The job ran (its command does not exist on this host: 127), rather than "not installed" (78).
      expect(r.code, r.stderr).not.toBe(78);
      expect(r.stderr).not.toMatch(/not installed|not valid JSON|unsupported format/);
    }
    expect(restart.code, restart.stderr).toBe(0);
    expect(again.stdout).toContain('No changes.');
    for (const id of lost) expect(readFileSync(file(id), 'utf8')).toBe(batch.snapshots[id]);
    // The restored files were written without fsync: their batch stays for one more sync, and
    // goes with the next one that writes no snapshot.
    expect(keptOneMore).toBe(true);
    expect(next.code, next.stderr).toBe(0);
    expect(existsSync(path.join(stateDir, 'jobs.batch.json'))).toBe(false);
    expect(listFiles(stateDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  }, 60_000);
});
