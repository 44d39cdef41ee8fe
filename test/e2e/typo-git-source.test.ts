/**
 * The typo matrix of ./typo-audit.test.ts, run through the path users actually take: a git
 * repository served by `git http-backend` over HTTP, fetched by the built `cronsync sync`
 * (`scheduler.kind: cron.d` into a temp dir). The good repository (plain jobs and one job per
 * case, each in a file of its own) is synced; then one commit breaks every case file at once and
 * the agent syncs again. For each case the error must name the file, line, column and field in
 * the output of sync and diff, status.json, `status` and `lint --config`; the broken job must be
 * kept at its last applied version (`invalid`); every other job must stay installed. The same
 * files go through a plain-directory agent too, and the two must report exactly the same: blobs
 * read from a pack, paths from the git tree and names that are not UTF-8 must not change a line
 * number or a path. Two more commits follow: one that adds a job and leaves the typos (still
 * kept, at the good commit), one that fixes them (no problem left).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRepo, git, gitAvailable, startGitServer, type GitServer, type TestRepo } from './helpers/git-server.js';
import { ensureBuilt, markerJobs, runCli, type CliRun } from './fixtures/sync-cli.js';
import { A, B, C, MANIFEST_TYPOS, expectNoCrash, sub, type ManifestTypo } from './fixtures/typo-cases.js';

/** A typo case: a broken text of B, in a file of its own, as a git source can carry it. */
interface Case extends Omit<ManifestTypo, 'text'> {
  /** The broken text of B (job-b is renamed per case; job-d becomes that name plus `-d`). */
  text: string | Buffer;
  /** File name below `typos/`, as bytes when it is not UTF-8 (default `NN.yaml`). */
  file?: string | Buffer;
  /** The file's path as cronsync shows it, when not the file name itself. */
  shown?: string;
  /** Git mode of the broken file (default 100644). */
  mode?: '100755' | '120000';
}

const typoSchedule = sub('schedule:', 'schedul:');

// The cases of ./typo-audit.test.ts, then the encodings and file names only a git source sees
// differently.
const CASES: Case[] = [
  ...MANIFEST_TYPOS,
  // Not in typo-audit: what an editor on another system writes, read from a blob.
  { name: 'a byte order mark before a typo', text: `\uFEFF${typoSchedule}`, line: 7, col: 3, rule: 'unknown-field', field: 'spec.schedul' },
  { name: 'CRLF line ends with a typo', text: typoSchedule.replaceAll('\n', '\r\n'), line: 7, col: 3, rule: 'unknown-field', field: 'spec.schedul' },
  { name: 'CRLF line ends with an unclosed quote', text: sub('"*/15 * * * *"', '"*/15 * * * *').replaceAll('\n', '\r\n'), line: 7, col: 13, rule: 'yaml-syntax', field: 'spec.schedule' },
  // "é" in Latin-1 (a UTF-8 lead byte) at 8:25: the file cannot be trusted, its job is kept.
  { name: 'a Latin-1 byte in a value', text: Buffer.from(sub('/bin/echo b', '/bin/echo caf\u00e9'), 'latin1'), line: 8, col: 25, rule: 'yaml-encoding', field: '' },
  { name: 'UTF-16 with a byte order mark', text: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(B, 'utf16le')]), line: 1, col: 1, rule: 'yaml-encoding', field: '' },
  { name: 'a YAML error in the second document', text: `${B}---\n${B.replace('job-b', 'job-d').replace('"*/15 * * * *"', '"*/15 * * * *')}`, line: 19, col: 13, rule: 'yaml-syntax', field: 'spec.schedule', invalid: ['D'], twoJobs: true },
  { name: 'a typo in a file whose name is not UTF-8', text: typoSchedule, line: 7, col: 3, rule: 'unknown-field', field: 'spec.schedul', file: Buffer.from('caf\xe9.yaml', 'latin1'), shown: 'caf\uFFFD.yaml' },
  { name: 'a typo in a file with a non-ASCII name', text: typoSchedule, line: 7, col: 3, rule: 'unknown-field', field: 'spec.schedul', file: 'd\u00e9j\u00e0 vu/\u65e5\u672c.yaml' },
  { name: 'a typo in a file with quotes and a space in its name', text: typoSchedule, line: 7, col: 3, rule: 'unknown-field', field: 'spec.schedul', file: 'a "b" c.yml' },
  { name: 'a typo in a file whose name holds a newline', text: typoSchedule, line: 7, col: 3, rule: 'unknown-field', field: 'spec.schedul', file: 'new\nline.yaml' },
  { name: 'a typo in a file whose name holds commas and colons', text: typoSchedule, line: 7, col: 3, rule: 'unknown-field', field: 'spec.schedul', file: 'a,b:7:3.yaml' },
  { name: 'a typo in an executable file', text: typoSchedule, line: 7, col: 3, rule: 'unknown-field', field: 'spec.schedul', mode: '100755' },
  // Read from the pack whole (a tree entry carries no size), then refused by size.
  { name: 'a file over 1 MiB', text: `${B}#${'x'.repeat(1024 * 1024)}\n`, line: 1, col: 1, rule: 'source-file', field: '' },
  // A git symlink is a blob holding the target; the directory agent sees a real symlink.
  { name: 'a file replaced by a symlink', text: 'a.yaml', line: 1, col: 1, rule: 'source-file', field: '', mode: '120000' },
];

const slot = (i: number): string => String(i).padStart(2, '0');
/** The job a case's file defines. */
const jobName = (i: number): string => `typo-${slot(i)}`;
const fileBytes = (c: Case, i: number): Buffer => Buffer.from(c.file ?? `${slot(i)}.yaml`);
/** The case's path in the repository, as cronsync shows it (a Buffer `file` comes with `shown`). */
const shownPath = (c: Case, i: number): string => `typos/${c.shown ?? (typeof c.file === 'string' ? c.file : `${slot(i)}.yaml`)}`;
/** The case's text with job-b and job-d renamed after the case, byte for byte otherwise. */
const rename = (text: string | Buffer, i: number): Buffer => {
  const b = typeof text === 'string' ? Buffer.from(text) : text;
  const names = (s: string): string => s.replaceAll('job-b', jobName(i)).replaceAll('job-d', `${jobName(i)}-d`);
  if (b[0] === 0xff && b[1] === 0xfe) return Buffer.concat([b.subarray(0, 2), Buffer.from(names(b.subarray(2).toString('utf16le')), 'utf16le')]);
  return Buffer.from(names(b.toString('latin1')), 'latin1');
};
const invalidIds = (c: Case, i: number): string[] => (c.invalid ?? ['B']).map((x) => (x === 'B' ? `acme/${jobName(i)}` : x === 'D' ? `acme/${jobName(i)}-d` : x)).sort();

/** Files of one commit: path (bytes, relative to the source root), content (a symlink's: its target) and git mode. */
type Tree = Array<{ path: Buffer; content: Buffer; mode?: string }>;

/** A good job in a file whose name shows as the same `typos/caf\uFFFD.yaml` as a case's (Latin-1 è, not é). */
const TWIN = { path: Buffer.from('typos/caf\xe8.yaml', 'latin1'), content: Buffer.from(B.replace('job-b', 'latin-twin')) };

function tree(broken: boolean): Tree {
  const files: Tree = [
    { path: Buffer.from('a.yaml'), content: Buffer.from(A) },
    { path: Buffer.from('c.yaml'), content: Buffer.from(C) },
    TWIN,
  ];
  CASES.forEach((c, i) => files.push({
    path: Buffer.concat([Buffer.from('typos/'), fileBytes(c, i)]),
    content: rename(broken ? c.text : c.twoJobs ? `${B}---\n${B.replace('job-b', 'job-d')}` : B, i),
    mode: broken ? c.mode : undefined,
  }));
  return files;
}

/** A path for git fast-import: C-quoted, every byte outside printable ASCII as octal. */
function quotePath(p: Buffer): string {
  let out = '"';
  for (const b of p) out += b === 0x22 || b === 0x5c ? `\\${String.fromCharCode(b)}` : b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\${b.toString(8).padStart(3, '0')}`;
  return `${out}"`;
}

/** Commits exactly `files` on `main` with git fast-import (paths are bytes, which the git CLI's worktree would not keep). */
function commitTree(repo: TestRepo, files: Tree, tick: number): string {
  const parts: Buffer[] = [Buffer.from(`commit refs/heads/main\ncommitter Test <test@example.com> ${1700000000 + tick} +0000\ndata 7\nchange\n`)];
  if (tick > 1) parts.push(Buffer.from('from refs/heads/main^0\n'));
  parts.push(Buffer.from('deleteall\n'));
  for (const f of files) parts.push(Buffer.from(`M ${f.mode ?? '100644'} inline ${quotePath(f.path)}\ndata ${f.content.length}\n`), f.content, Buffer.from('\n'));
  parts.push(Buffer.from('\n'));
  git(['--git-dir', repo.gitdir, 'fast-import', '--quiet'], { input: Buffer.concat(parts) });
  return repo.revParse('main');
}

function writeTree(dir: string, files: Tree): void {
  rmSync(dir, { recursive: true, force: true });
  for (const f of files) {
    const full = Buffer.concat([Buffer.from(`${dir}/`), f.path]);
    mkdirSync(full.subarray(0, full.lastIndexOf('/')), { recursive: true });
    if (f.mode === '120000') symlinkSync(f.content, full);
    else writeFileSync(full, f.content, { mode: f.mode === '100755' ? 0o755 : 0o644 });
  }
}

const CONFIG = (dir: string, url: string): string => `agent:
  name: host1
  tenant: acme
source:
  url: ${JSON.stringify(url)}
  interval: 60s
scheduler:
  kind: cron.d
  cronDir: ${dir}/cron
stateDir: ${dir}/state
`;

interface Problem { path: string; line: number; column: number; rule: string; severity: string; message: string }
interface StatusFile {
  lastAttempt: { result: string; error: unknown };
  source: { commit: string | null };
  jobs: { id: string; state: string; path: string }[];
  problems: Problem[];
}
interface LintIssue { file: string; line: number; col: number; path: string; rule: string; severity: string; message: string }

/** What one agent did with the broken commit. */
interface Outcome {
  before: string;
  sync: CliRun;
  after: string;
  status: StatusFile;
  statusText: CliRun;
  /** `lint --config` in json, text and github format. */
  lint: CliRun;
  lintText: CliRun;
  lintGithub: CliRun;
  diff: CliRun;
  issues: LintIssue[];
}

interface Agent { dir: string; config: string; cron: string; statusFile: string }

function agent(dir: string, url: string): Agent {
  mkdirSync(join(dir, 'cron'), { recursive: true });
  mkdirSync(join(dir, 'state'), { recursive: true });
  writeFileSync(join(dir, 'config.yaml'), CONFIG(dir, url));
  return { dir, config: join(dir, 'config.yaml'), cron: join(dir, 'cron/cronsync'), statusFile: join(dir, 'state/status.json') };
}

const sync = (a: Agent): Promise<CliRun> => runCli(['sync', '--config', a.config], { cwd: a.dir, env: { NO_COLOR: '1' } });

async function afterBreak(a: Agent): Promise<Outcome> {
  const before = readFileSync(a.cron, 'utf8');
  const s = await sync(a);
  const after = readFileSync(a.cron, 'utf8');
  const status = JSON.parse(readFileSync(a.statusFile, 'utf8')) as StatusFile;
  const run = (...args: string[]): Promise<CliRun> => runCli([...args, '--config', a.config], { cwd: a.dir, env: { NO_COLOR: '1' } });
  // lint --config and diff fetch under the sync lock: one at a time, status beside them.
  const [statusText, [lint, lintText, lintGithub, diff]] = await Promise.all([
    run('status'),
    (async () => [await run('lint', '--format', 'json'), await run('lint'), await run('lint', '--format', 'github'), await run('diff')])(),
  ]);
  const issues = lint.stdout ? (JSON.parse(lint.stdout) as { issues: LintIssue[] }).issues : [];
  return { before, sync: s, after, status, statusText, lint, lintText, lintGithub, diff, issues };
}

const ALL_JOBS = ['acme/job-a', 'acme/job-c', 'acme/latin-twin', ...CASES.flatMap((c, i) => [`acme/${jobName(i)}`, ...(c.twoJobs ? [`acme/${jobName(i)}-d`] : [])])].sort();

describe.skipIf(!gitAvailable)('e2e/typo-git-source: one commit breaks many manifests of a git source', () => {
  let root: string;
  let server: GitServer;
  let good: string;
  let broken: string;
  let viaGit: Outcome;
  let viaDir: Outcome;
  let firstGit: CliRun;
  let later: string;
  /** After a third commit that adds job-z and leaves the typos, and a fourth that fixes them. */
  let laterStatus: { run: CliRun; cron: string; status: StatusFile };
  let fixedStatus: { run: CliRun; cron: string; status: StatusFile };

  beforeAll(async () => {
    await ensureBuilt();
    root = mkdtempSync(join(tmpdir(), 'cronsync-typo-git-'));
    server = await startGitServer();
    const repo = createRepo(server.root, 'jobs', null);
    good = commitTree(repo, tree(false), 1);
    const gitAgent = agent(join(root, 'git'), server.repoUrl('jobs'));
    const dirAgent = agent(join(root, 'dir'), join(root, 'src'));
    writeTree(join(root, 'src'), tree(false));

    const [g1, d1] = await Promise.all([sync(gitAgent), sync(dirAgent)]);
    firstGit = g1;
    expect(g1.code, g1.stdout + g1.stderr).toBe(0);
    expect(d1.code, d1.stdout + d1.stderr).toBe(0);
    broken = commitTree(repo, tree(true), 2);
    writeTree(join(root, 'src'), tree(true));
    [viaGit, viaDir] = await Promise.all([afterBreak(gitAgent), afterBreak(dirAgent)]);

    // Days later the typos are still there and someone adds a job; then they are fixed.
    const other = { path: Buffer.from('z.yaml'), content: Buffer.from(A.replace('job-a', 'job-z')) };
    later = commitTree(repo, [...tree(true), other], 3);
    const laterSync = await sync(gitAgent);
    laterStatus = { run: laterSync, cron: readFileSync(gitAgent.cron, 'utf8'), status: JSON.parse(readFileSync(gitAgent.statusFile, 'utf8')) as StatusFile };
    commitTree(repo, [...tree(false), other], 4);
    const fixedSync = await sync(gitAgent);
    fixedStatus = { run: fixedSync, cron: readFileSync(gitAgent.cron, 'utf8'), status: JSON.parse(readFileSync(gitAgent.statusFile, 'utf8')) as StatusFile };
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('the good commit installs every job', () => {
    expect(firstGit.stdout).not.toMatch(/\[[a-z-]+\]/);
    expect([...new Set(markerJobs(viaGit.before))].sort()).toEqual(ALL_JOBS);
    expect(markerJobs(viaGit.before)).toEqual(markerJobs(viaDir.before));
  });

  it('the broken commit is applied as partial: every job stays installed with its last applied entry', () => {
    expectNoCrash(root, viaGit.sync, viaGit.statusText, viaGit.lint, viaGit.lintText, viaGit.lintGithub, viaGit.diff);
    expect(viaGit.sync.code, viaGit.sync.stdout + viaGit.sync.stderr).toBe(0);
    expect(viaGit.status.source.commit).toBe(broken);
    expect(viaGit.status.lastAttempt.result).toBe('partial');
    expect(viaGit.after).toEqual(viaGit.before);
    expect(viaGit.before).toContain(good);
    expect(viaGit.statusText.code, viaGit.statusText.stdout).toBe(0);
    expect(viaGit.lint.code, viaGit.lint.stderr).toBe(1);
    expect(viaGit.lintText.code, viaGit.lintText.stderr).toBe(1);
    expect(viaGit.lintGithub.code, viaGit.lintGithub.stderr).toBe(1);
    // The plan keeps every job: nothing to add, change or remove.
    expect(viaGit.diff.code, viaGit.diff.stdout + viaGit.diff.stderr).toBe(0);
    expect(viaGit.diff.stdout).not.toMatch(/^\s*[-~+] acme\//m);
  });

  it('the git agent reports exactly what the directory agent reports', () => {
    // A plain directory has no commit to name; the lines naming the source or commit are left out.
    const same = (text: string): string => text.replace(/\(commit [0-9a-f]{12}\)/g, '(commit unknown)');
    const strip = (o: Outcome): unknown => ({
      sync: same(o.sync.stdout).split('\n').filter((l) => !/^(Sync|No changes)/.test(l)),
      problems: o.status.problems.map((p) => ({ ...p, message: same(p.message) })),
      jobs: o.status.jobs.map((j) => [j.id, j.state, j.path]),
      codes: [o.sync.code, o.statusText.code, o.lint.code, o.lintText.code, o.lintGithub.code, o.diff.code],
      issues: o.issues,
      lintText: o.lintText.stdout,
      lintGithub: o.lintGithub.stdout,
      diff: same(o.diff.stdout).split('\n').filter((l) => !/^(No changes|Source)/.test(l)),
      invalidJobs: same(o.statusText.stdout.slice(o.statusText.stdout.indexOf('Invalid jobs:'))),
    });

    expectNoCrash(root, viaDir.sync, viaDir.statusText, viaDir.lint, viaDir.lintText, viaDir.lintGithub, viaDir.diff);
    expect(strip(viaGit)).toEqual(strip(viaDir));
  });

  it.each(CASES.map((c, i) => ({ ...c, i, path: shownPath(c, i) })))('$name: $path:$line:$col [$rule] named; its job kept, no other touched', (c) => {
    const invalid = invalidIds(c, c.i);
    const { status, sync: s, statusText, issues } = viaGit;

    expect(status.problems).toContainEqual(expect.objectContaining({ path: c.path, line: c.line, column: c.col, rule: c.rule, severity: 'error' }));
    // Text output shows a newline in a name as `\n` (cli/escape.ts).
    const text = c.path.replaceAll('\n', '\\n');
    expect(s.stdout).toContain(`${text}:${c.line}:${c.col}: [${c.rule}]`);
    expect(viaGit.diff.stdout).toContain(`${text}:${c.line}:${c.col}: [${c.rule}]`);
    expect(statusText.stdout).toContain(`${text}:${c.line}:${c.col}: error [${c.rule}]`);
    expect(viaGit.lintText.stdout).toContain(`${text}:${c.line}:${c.col}: error [${c.rule}]`);
    expect(issues).toContainEqual(expect.objectContaining({ file: c.path, line: c.line, col: c.col, rule: c.rule, path: c.field }));
    for (const id of invalid) expect(status.jobs.find((j) => j.id === id)?.state, id).toBe('invalid');
    // Kept, not removed: each job that was installed is still in the cron.d file.
    const installedBefore = invalid.filter((id) => ALL_JOBS.includes(id));
    for (const id of installedBefore) expect(markerJobs(viaGit.after), id).toContain(id);
    const kept = status.problems.filter((p) => p.rule === 'kept-invalid' && invalid.some((id) => p.message.startsWith(`${id}: `)));
    expect(kept.map((p) => p.path).sort(), JSON.stringify(status.problems.filter((p) => p.rule === 'kept-invalid'))).toEqual(
      installedBefore.map((id) => (id === 'acme/job-a' ? 'a.yaml' : c.path)).sort(),
    );
  });

  it('every job no case made invalid is installed', () => {
    const invalid = new Set(CASES.flatMap((c, i) => invalidIds(c, i)));
    const installed = viaGit.status.jobs.filter((j) => j.state === 'installed').map((j) => j.id).sort();

    expect(installed).toEqual(ALL_JOBS.filter((id) => !invalid.has(id)));
    expect(viaGit.status.jobs.filter((j) => j.state === 'invalid').map((j) => j.id).sort()).toEqual([...invalid].sort());
  });

  it('a later commit that leaves the typos adds its job and still keeps every broken one at the good commit', () => {
    const { run, cron, status } = laterStatus;

    expectNoCrash(root, run);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('Plan: 1 to add, 0 to change, 0 to remove');
    expect(status.source.commit).toBe(later);
    expect(status.lastAttempt.result).toBe('partial');
    const withoutZ = cron.split('\n\n').filter((entry) => !entry.includes('acme/job-z')).join('\n\n');
    expect(markerJobs(cron)).toContain('acme/job-z');
    // Every other entry, its marker's commit included, is as the broken commit left it.
    expect(withoutZ).toEqual(viaGit.after);
    expect(status.jobs.filter((j) => j.state === 'invalid').map((j) => j.id)).toEqual(viaGit.status.jobs.filter((j) => j.state === 'invalid').map((j) => j.id));
    expect(status.problems.filter((p) => p.rule === 'kept-invalid').map((p) => p.message)).toEqual(viaGit.status.problems.filter((p) => p.rule === 'kept-invalid').map((p) => p.message));
    expect(status.problems.filter((p) => p.rule !== 'kept-invalid')).toEqual(viaGit.status.problems.filter((p) => p.rule !== 'kept-invalid'));
  });

  it('the commit that fixes the typos leaves no problem and every job installed', () => {
    const { run, cron, status } = fixedStatus;

    expectNoCrash(root, run);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(status.lastAttempt.result).toBe('ok');
    expect(status.problems).toEqual([]);
    expect(status.jobs.filter((j) => j.state !== 'installed')).toEqual([]);
    expect([...new Set(markerJobs(cron))].sort()).toEqual([...ALL_JOBS, 'acme/job-z'].sort());
  });
});
