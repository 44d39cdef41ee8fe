/**
 * `cronsync sync | diff | status` end to end: the built CLI as a child process, a real Git
 * repository served by `git http-backend` over HTTP, a temp state dir and a temp cron.d dir.
 * The first describe is one lifecycle (first install, no-op re-sync, a broken commit, every
 * manifest deleted, --force); its tests run in order and build on each other.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourceIdOf } from '../../src/source/select.js';
import { createRepo, gitAvailable, startGitServer } from './helpers/git-server.js';
import type { GitServer, TestRepo } from './helpers/git-server.js';
import { MAIN, cliEnv, ensureBuilt, fileStamps, listFiles, manifest, markerJobs, runCli, writeConfig } from './fixtures/sync-cli.js';

const me = process.getuid?.() === 0 ? 'root' : userInfo().username;
const SELECTED = Array.from({ length: 10 }, (_, i) => `acme/job-${i}`);

/** 10 jobs this agent selects (one paused, one by hostname), and 3 it must not install. */
function initialFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < 10; i++) {
    const extra = i === 7 ? '  paused: true' : i === 8 ? '  agent: { selector: { hostname: host-1 } }' : i === 9 ? '  agent: { selector: { role: db } }' : undefined;
    files[`prod/team-${i % 3}/job-${i}.yaml`] = manifest(`job-${i}`, { schedule: `${i} 3 * * *`, extra });
  }
  files['prod/other-tenant.yaml'] = manifest('theirs', { tenant: 'globex' });
  files['prod/web-only.yaml'] = manifest('web-only', { extra: '  agent: { selector: { role: web } }' });
  files['prod/disabled.yaml'] = manifest('disabled', { extra: '  enabled: false' });
  files['README.md'] = '# jobs\n';
  return files;
}

interface Setup {
  dir: string;
  stateDir: string;
  cronDir: string;
  config: string;
  cronFile: string;
}

function setupDirs(url: string, extra: object = {}): Setup {
  const dir = mkdtempSync(path.join(tmpdir(), 'cronsync-e2e-sync-'));
  const stateDir = path.join(dir, 'state');
  const cronDir = path.join(dir, 'cron.d');
  mkdirSync(cronDir);
  const config = writeConfig(dir, {
    agent: { name: 'host-1', tenant: 'acme', labels: { role: 'db', region: 'eu' } },
    source: { url, ref: 'main', paths: ['prod/**/*.yaml'] },
    scheduler: { kind: 'cron.d', user: me, cronDir },
    stateDir,
    log: { level: 'warn' },
    ...extra,
  });
  return { dir, stateDir, cronDir, config, cronFile: path.join(cronDir, 'cronsync') };
}

const readJson = (file: string): any => JSON.parse(readFileSync(file, 'utf8')); // eslint-disable-line @typescript-eslint/no-explicit-any

/** The marker line and cron lines of job `id` in a cron.d file. */
function entryOf(text: string, id: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith('# cronsync:v1 ') && l.includes(`"job":"${id}"`));
  if (start < 0) return '';
  let end = start + 1;
  while (end < lines.length && lines[end] !== '' && !lines[end]!.startsWith('# cronsync:v1 ')) end++;
  return lines.slice(start, end).join('\n');
}

describe.skipIf(!gitAvailable)('e2e/sync: cron.d lifecycle over HTTP git', { timeout: 30_000 }, () => {
  let server: GitServer;
  let repo: TestRepo;
  let s: Setup;
  const foreignFile = 'backup-tool';
  const foreignText = '# installed by another package\nMAILTO=""\n17 4 * * * root /usr/sbin/backup --all 2>&1 | logger\n';
  const handLines = ['MAILTO=ops@example.com', '*/5 * * * * root /usr/local/bin/hand-made --pct 50% # keep me'];
  let commit1: string;
  let afterFirst: string;
  const sync = (...args: string[]) => runCli(['sync', '--config', s.config, ...args]);
  const status = () => runCli(['status', '--json', '--config', s.config]);

  beforeAll(async () => {
    await ensureBuilt();
    server = await startGitServer();
    repo = createRepo(server.root, 'jobs', initialFiles());
    commit1 = repo.revParse('main');
    s = setupDirs(server.repoUrl('jobs'));
    writeFileSync(path.join(s.cronDir, foreignFile), foreignText, { mode: 0o644 });
    writeFileSync(path.join(s.cronDir, '.placeholder'), '');
    // A hand-written line in our own file, from before cronsync managed it.
    writeFileSync(s.cronFile, `${handLines.join('\n')}\n`, { mode: 0o644 });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    if (s) rmSync(s.dir, { recursive: true, force: true });
  });

  /** Foreign files are byte-identical and untouched; hand-written lines are kept verbatim. */
  function expectForeignIntact(foreignStamp: string): void {
    expect(readFileSync(path.join(s.cronDir, foreignFile), 'utf8')).toBe(foreignText);
    expect(fileStamps(s.cronDir)[foreignFile]).toBe(foreignStamp);
    expect(listFiles(s.cronDir)).toEqual(['.placeholder', foreignFile, 'cronsync']);
    const lines = readFileSync(s.cronFile, 'utf8').split('\n');
    for (const l of handLines) expect(lines).toContain(l);
  }
  let foreignStamp: string;

  it('diff on first install: exit 3 and one + line per selected job, nothing written', async () => {
    foreignStamp = fileStamps(s.cronDir)[foreignFile]!;

    const r = await runCli(['diff', '--config', s.config]);

    expect(r.stderr).toBe('');
    expect(r.code).toBe(3);
    const plus = r.stdout.split('\n').filter((l) => /^\s+\+ /.test(l)).map((l) => l.trim().split(/\s+/)[1]);
    expect(plus).toEqual(SELECTED);
    expect(r.stdout).toContain('+ acme/job-3  3 3 * * * (UTC)  prod/team-0/job-3.yaml#0 @ ' + commit1.slice(0, 12));
    expect(r.stdout).toContain('Plan: 10 to add, 0 to change, 0 to remove, 0 unchanged.');
    expect(readFileSync(s.cronFile, 'utf8')).toBe(`${handLines.join('\n')}\n`);
    expect(listFiles(s.stateDir).filter((f) => f.startsWith('jobs/') || f === 'status.json')).toEqual([]);
  });

  it('(a) sync writes <cronDir>/cronsync, mode 0644, one marker + entry per selected job, and snapshots', async () => {
    const r = await sync();

    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Sync ok: commit');
    const text = readFileSync(s.cronFile, 'utf8');
    afterFirst = text;
    expect(statSync(s.cronFile).mode & 0o7777).toBe(0o644);
    expect(markerJobs(text)).toEqual(SELECTED);
    for (const id of SELECTED) {
      const entry = entryOf(text, id).split('\n');
      const active = entry.slice(1);
      expect(active.length).toBeGreaterThan(0);
      for (const l of active) {
        if (id === 'acme/job-7') expect(l).toMatch(/^#paused: /);
        else expect(l).toMatch(new RegExp(`^${id.slice(-1)} 3 \\* \\* \\* ${me} \\S+ \\S+/dist/cli/launch\\.cjs exec --scheduled --state-dir ${s.stateDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} ${id}$`));
      }
      const marker = JSON.parse(entry[0]!.slice('# cronsync:v1 '.length));
      expect(marker).toMatchObject({ source: sourceIdOf({ url: server.repoUrl('jobs'), ref: 'main', paths: ['prod/**/*.yaml'], exclude: [] }), job: id, commit: commit1, index: 0 });
    }
    expect(text).not.toContain('theirs');
    expect(text).not.toContain('web-only');
    expect(text).not.toContain('disabled');
    expect(listFiles(path.join(s.stateDir, 'jobs'))).toEqual(SELECTED.map((id) => `${id}.json`).sort());
    expect(statSync(path.join(s.stateDir, 'jobs/acme/job-0.json')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(s.stateDir, 'status.json')).mode & 0o777).toBe(0o644);
    expectForeignIntact(foreignStamp);
  });

  it('(b) a second sync writes nothing: cron.d file and snapshots keep their inode and mtime', async () => {
    const cronBefore = fileStamps(s.cronDir);
    const jobsBefore = fileStamps(path.join(s.stateDir, 'jobs'));

    const r = await sync();
    const d = await runCli(['diff', '--config', s.config]);

    expect(r.code).toBe(0);
    expect(fileStamps(s.cronDir)).toEqual(cronBefore);
    expect(fileStamps(path.join(s.stateDir, 'jobs'))).toEqual(jobsBefore);
    expect(readFileSync(s.cronFile, 'utf8')).toBe(afterFirst);
    expect(d.code).toBe(0);
    expect(d.stdout).toContain('No changes.');
    expect(d.stdout).toContain('Plan: 0 to add, 0 to change, 0 to remove, 10 unchanged.');
  });

  it('(c) status --json shows every job with its provenance', async () => {
    const r = await status();

    expect(r.code).toBe(0);
    const st = JSON.parse(r.stdout);
    const id = sourceIdOf({ url: server.repoUrl('jobs'), ref: 'main', paths: ['prod/**/*.yaml'], exclude: [] });
    expect(st.source).toMatchObject({ id, url: server.repoUrl('jobs'), ref: 'main', commit: commit1 });
    expect(st.lastAttempt).toMatchObject({ result: 'ok', error: null });
    expect(st.counts).toMatchObject({ desired: 10, installed: 10, unchanged: 10, invalid: 0 });
    expect(st.jobs.map((j: { id: string; state: string }) => [j.id, j.state])).toEqual(SELECTED.map((j) => [j, j === 'acme/job-7' ? 'paused' : 'installed']));
    for (const j of st.jobs) {
      const n = Number(j.id.split('-')[1]);
      expect(j.provenance).toMatchObject({ sourceId: id, url: server.repoUrl('jobs'), ref: 'main', commit: commit1, path: `prod/team-${n % 3}/job-${n}.yaml`, index: 0 });
      expect(j.provenance.manifestHash).toMatch(/^[0-9a-f]{64}$/);
      expect(j.schedule).toBe(`${n} 3 * * *`);
    }
  });

  it('(d) a commit breaking a fifth of the jobs keeps them installed and reports them; untouched jobs are not rewritten', async () => {
    const before = readFileSync(s.cronFile, 'utf8');
    const snapshotsBefore = fileStamps(path.join(s.stateDir, 'jobs'));
    repo.commit({
      'prod/team-1/job-1.yaml': manifest('job-1', { schedule: '1 25 * * *' }),
      'prod/team-1/job-4.yaml': manifest('job-4', { schedule: '4 3 * * *', extra: '  retries: 3' }),
      'prod/team-2/job-5.yaml': manifest('job-5', { schedule: '5 4 * * *' }),
    });
    const commit2 = repo.revParse('main');

    const d = await runCli(['diff', '--config', s.config]);
    const r = await sync();
    const st = JSON.parse((await status()).stdout);

    expect(d.code).toBe(3);
    expect(d.stdout.split('\n').filter((l) => /^\s+[-+~] /.test(l))).toEqual([
      `  ~ acme/job-5  5 4 * * * (UTC)  prod/team-2/job-5.yaml#0 @ ${commit2.slice(0, 12)}  changed: schedule`,
    ]);
    expect(d.stdout).toContain('Plan: 0 to add, 1 to change, 0 to remove, 7 unchanged.');
    expect(d.stdout).toContain('prod/team-1/job-1.yaml:8:');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Sync applied with problems');
    const after = readFileSync(s.cronFile, 'utf8');
    expect(markerJobs(after)).toEqual(SELECTED);
    expect(entryOf(after, 'acme/job-1')).toBe(entryOf(before, 'acme/job-1'));
    expect(entryOf(after, 'acme/job-4')).toBe(entryOf(before, 'acme/job-4'));
    expect(entryOf(after, 'acme/job-5')).toContain(`"commit":"${commit2}"`);
    expect(entryOf(after, 'acme/job-5')).toMatch(/\n5 4 \* \* \* /);
    for (const id of SELECTED.filter((x) => x !== 'acme/job-5')) expect(entryOf(after, id)).toBe(entryOf(before, id));
    const snapshotsAfter = fileStamps(path.join(s.stateDir, 'jobs'));
    expect(Object.keys(snapshotsAfter).filter((f) => snapshotsAfter[f] !== snapshotsBefore[f])).toEqual(['acme/job-5.json']);
    expect(st.lastAttempt.result).toBe('partial');
    expect(st.counts).toMatchObject({ installed: 10, invalid: 2 });
    const states = Object.fromEntries(st.jobs.map((j: { id: string; state: string }) => [j.id, j.state]));
    expect(states['acme/job-1']).toBe('invalid');
    expect(states['acme/job-4']).toBe('invalid');
    expect(Object.values(states).filter((x) => x === 'invalid')).toHaveLength(2);
    expect(st.jobs.find((j: { id: string }) => j.id === 'acme/job-1').provenance.commit).toBe(commit1);
    const errs = st.problems.filter((p: { severity: string }) => p.severity === 'error');
    expect(errs).toEqual([
      expect.objectContaining({ path: 'prod/team-1/job-1.yaml', line: 8, column: 16, rule: 'cron-range' }),
      expect.objectContaining({ path: 'prod/team-1/job-4.yaml', line: 11, column: 3 }),
    ]);
    expect(errs[1].message).toContain('retries');
    expectForeignIntact(foreignStamp);
  });

  it('(e) deleting every manifest trips the mass-removal guard; sync --force then removes them', async () => {
    const before = readFileSync(s.cronFile);
    const stampBefore = fileStamps(s.cronDir).cronsync;
    const files = Object.fromEntries(Object.keys(initialFiles()).filter((f) => f.endsWith('.yaml')).map((f) => [f, null]));
    repo.commit(files);

    const r = await sync();
    const st = await status();

    expect(r.code).toBe(1);
    expect(r.stderr).toContain('RemovalGuardTripped');
    expect(readFileSync(s.cronFile).equals(before)).toBe(true);
    expect(fileStamps(s.cronDir).cronsync).toBe(stampBefore);
    expect(st.code).toBe(1);
    expect(JSON.parse(st.stdout).lastAttempt).toMatchObject({ result: 'error', reason: 'RemovalGuardTripped' });
    expect(listFiles(path.join(s.stateDir, 'jobs'))).toHaveLength(10);

    const forced = await sync('--force');

    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/- acme\/job-0 /);
    const text = readFileSync(s.cronFile, 'utf8');
    expect(markerJobs(text)).toEqual([]);
    expect(listFiles(path.join(s.stateDir, 'jobs'))).toEqual([]);
    expect(JSON.parse((await status()).stdout)).toMatchObject({ lastAttempt: { result: 'ok' }, counts: { installed: 0, removed: 10 }, jobs: [] });
    expectForeignIntact(foreignStamp);
  });

  it('(f) diff exits 1 when the server is down', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const down = setupDirs(`http://127.0.0.1:${port}/jobs.git`);
    try {
      const r = await runCli(['diff', '--config', down.config]);

      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/cronsync: .*127\.0\.0\.1/);
      expect(listFiles(down.cronDir)).toEqual([]);
    } finally {
      rmSync(down.dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!gitAvailable)('e2e/sync: basic auth', { timeout: 30_000 }, () => {
  const password = 'p4ss-W0rd-never-shown-9f3a';
  let server: GitServer;
  let s: Setup;

  beforeAll(async () => {
    await ensureBuilt();
    server = await startGitServer({ auth: { username: 'cronsync', password } });
    createRepo(server.root, 'private', { 'prod/a.yaml': manifest('a'), 'prod/b.yaml': manifest('b', { extra: '  env: { TOKEN: "${TOKEN}" }' }) });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    if (s) rmSync(s.dir, { recursive: true, force: true });
  });

  it('(h) a password from passwordFile never appears in output, status, cron.d or the clone', async () => {
    s = setupDirs(server.repoUrl('private'), {});
    const pwFile = path.join(s.dir, 'git-token');
    writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    const cfg = JSON.parse(readFileSync(s.config, 'utf8'));
    cfg.source.auth = { username: 'cronsync', passwordFile: pwFile };
    writeFileSync(s.config, JSON.stringify(cfg));

    const runs = [await runCli(['diff', '--config', s.config]), await runCli(['sync', '--config', s.config]), await runCli(['status', '--config', s.config]), await runCli(['status', '--json', '--config', s.config])];
    writeFileSync(pwFile, 'wrong-password\n');
    const denied = await runCli(['sync', '--config', s.config]);

    expect(runs.map((r) => r.code)).toEqual([3, 0, 0, 0]);
    expect(denied.code).toBe(1);
    expect(markerJobs(readFileSync(s.cronFile, 'utf8'))).toEqual(['acme/a', 'acme/b']);
    expect(server.requests.some((r) => r.user === 'cronsync' && r.status === 200)).toBe(true);
    for (const r of [...runs, denied]) {
      expect(r.stdout).not.toContain(password);
      expect(r.stderr).not.toContain(password);
      expect(r.stderr).not.toContain('wrong-password');
    }
    const everyFile = [...listFiles(s.stateDir).map((f) => path.join(s.stateDir, f)), ...listFiles(s.cronDir).map((f) => path.join(s.cronDir, f))];
    expect(everyFile.some((f) => f.includes(`${path.sep}sources${path.sep}`))).toBe(true);
    for (const f of everyFile) {
      const bytes = readFileSync(f).toString('latin1');
      expect(bytes, f).not.toContain(password);
      expect(bytes, f).not.toContain(Buffer.from(`cronsync:${password}`).toString('base64'));
    }
    expect(readJson(path.join(s.stateDir, 'status.json')).source.url).toBe(server.repoUrl('private'));
  });
});

describe.skipIf(!existsSync('/proc/1'))('e2e/sync: a state dir that cannot be created', () => {
  beforeAll(ensureBuilt, 180_000);

  // Node 20's recursive mkdir spins at full CPU for ever under /proc/1. The child is killed
  // after 20 s, so a regression fails here instead of hanging the suite.
  it('exits 1 at once with an error naming the directory (stateDir: /proc/1/nope)', { timeout: 60_000 }, () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cronsync-e2e-nodir-'));
    try {
      mkdirSync(path.join(dir, 'src'));
      mkdirSync(path.join(dir, 'cron.d'));
      writeFileSync(path.join(dir, 'src', 'a.yaml'), manifest('a'));
      const config = writeConfig(dir, { agent: { name: 'host-1', tenant: 'acme' }, source: { url: path.join(dir, 'src') }, scheduler: { kind: 'cron.d', user: me, cronDir: path.join(dir, 'cron.d') }, stateDir: '/proc/1/nope', log: { level: 'silent' } });

      const r = spawnSync(process.execPath, [MAIN, 'sync', '--config', config], { env: cliEnv(), encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' });

      expect(r.signal, 'sync was killed after 20 s: it hung').toBeNull();
      expect(r.stderr).toMatch(/^cronsync: sync failed \(StateDirFailed\): Cannot create directory \/proc\/1\/nope: /m);
      expect(r.status).toBe(1);
      expect(listFiles(path.join(dir, 'cron.d'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
