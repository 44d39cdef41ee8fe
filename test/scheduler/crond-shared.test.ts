/**
 * The cron.d file shared by several agents (one source id and one state dir each): every entry
 * runs `exec` with its own agent's `--state-dir`, agents taking turns converge, and files of the
 * older format (state dir in a `CRONSYNC_STATE_DIR=` header line) are migrated by one rewrite.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createReconciler } from '../../src/reconcile/reconciler.js';
import { parseEntries } from '../../src/scheduler/cronline/entry.js';
import { createCronDAdapter } from '../../src/scheduler/crond/index.js';
import { parseCronD } from '../../src/scheduler/crond/parse.js';
import { decodeMarker, encodeMarker } from '../../src/scheduler/marker.js';
import { parseExecArgs } from '../../src/shim/cli.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { MemorySource } from '../fakes/MemorySource.js';
import { agentConfig } from '../reconcile/fixtures.js';
import { options, signal } from './fixtures.js';
import { nullLogger } from '../../src/log.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const manifest = (name: string, minute = 0): string =>
  `apiVersion: v1\nkind: Job\nmetadata:\n  name: ${name}\n  tenant: acme\nspec:\n  schedule: "${minute} 2 * * *"\n  command: /opt/${name}.sh\n`;

/** A temp root with a cron.d dir. */
function root(): { root: string; cronDir: string; cronFile: string } {
  const r = mkdtempSync(join(tmpdir(), 'cronsync-shared-'));
  dirs.push(r);
  const cronDir = join(r, 'cron.d');
  mkdirSync(cronDir);
  return { root: r, cronDir, cronFile: join(cronDir, 'cronsync') };
}

/** An agent: its own source id, state dir and manifests, all writing `cronDir`. */
function agent(cronDir: string, sourceId: string, stateDir: string, files: Record<string, string>, adapterStateDir = stateDir) {
  const source = new MemorySource(files);
  const rec = createReconciler({
    config: agentConfig(stateDir),
    source: { id: sourceId, fetch: async (s, prev) => ({ ...(await source.fetch(s, prev)), sourceId }) },
    adapter: createCronDAdapter(options({ cronDir, sourceId, stateDir: adapterStateDir, execCommand: { file: '/usr/bin/cronsync', args: [] } })),
    scheduler: { kind: 'cron.d', reason: 'test' },
    clock: new FakeClock(),
    log: nullLogger,
  });
  return { sourceId, stateDir, source, sync: () => rec.reconcile({ signal }) };
}

/**
 * Per source id: the state dir each cron line's `exec` would use, as cron passes it (variable
 * lines apply to the lines after them) and `cronsync exec` parses it.
 */
function stateDirsBySource(text: string): Record<string, string[]> {
  const lines = text.split('\n');
  const out: Record<string, string[]> = {};
  for (const e of parseEntries(lines).entries) {
    const assigned = lines.slice(0, e.start).filter((l) => l.startsWith('CRONSYNC_STATE_DIR=')).pop();
    const env = assigned === undefined ? {} : { CRONSYNC_STATE_DIR: assigned.slice('CRONSYNC_STATE_DIR='.length) };
    for (const l of e.lines) {
      // `<5 fields> root <command>`: cron turns `\\%` into `%`, then sh splits and unquotes.
      const cmd = l.replace(/^#paused: /, '').split(' ').slice(6).join(' ').replace(/\\%/g, '%');
      const words = (cmd.match(/(?:'[^']*'|\\.|[^\s'\\])+/g) ?? []).map((w) => w.replace(/'([^']*)'|\\(.)/g, (_m, q?: string, c?: string) => q ?? c ?? ''));
      const args = parseExecArgs(words.slice(words.indexOf('exec')), env);
      (out[e.marker.marker.sourceId] ??= []).push(args.ok && !args.help ? args.stateDir : 'bad');
    }
  }
  return out;
}

/** The file as the previous version wrote it: state dir in the header, none in the entries. */
function oldFormat(text: string, sourceId: string, stateDir: string): string {
  const lines = text.split('\n');
  const { entries } = parseEntries(lines);
  const blocks = entries.map((e) => {
    const cron = e.lines.map((l) => l.replace(` --state-dir ${stateDir} `, ' '));
    return [encodeMarker(decodeMarker(lines[e.start]!)!.marker, cron.join('\n')), ...cron].join('\n');
  });
  const header = [
    `# Managed by cronsync for source ${sourceId}: do not edit, the next sync overwrites it.`,
    '# Change the job manifests in Git instead. Times are on the host clock; see `cronsync status`.',
    'SHELL=/bin/sh',
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    `CRONSYNC_STATE_DIR=${stateDir}`,
  ];
  return `${[header.join('\n'), ...blocks].join('\n\n')}\n`;
}

describe('scheduler/crond: one file, several agents', () => {
  it('each agent\'s entries run with its own state dir, and a second sync of either writes nothing', async () => {
    const { root: r, cronDir, cronFile } = root();
    const a = agent(cronDir, 'src-a', join(r, 'state-a'), { 'a.yaml': manifest('a'), 'c.yaml': manifest('c') });
    const b = agent(cronDir, 'src-b', join(r, 'state b'), { 'b.yaml': manifest('b', 30) });

    const firstA = await a.sync();
    const firstB = await b.sync();
    const text = readFileSync(cronFile, 'utf8');
    const mtime = statSync(cronFile).mtimeMs;
    const againA = await a.sync();
    const againB = await b.sync();

    expect([firstA.result, firstB.result]).toEqual(['ok', 'ok']);
    expect(stateDirsBySource(text)).toEqual({ 'src-a': [a.stateDir, a.stateDir], 'src-b': [b.stateDir] });
    expect(text).toContain(`exec --scheduled --state-dir '${b.stateDir}' acme/b\n`);
    expect(text).not.toContain('CRONSYNC_STATE_DIR');
    expect(parseCronD(text, 'cronsync', 'src-a').entries.map((e) => [e.marker?.sourceId, e.marker?.jobId, e.drifted])).toEqual([
      ['src-a', 'acme/a', false], ['src-b', 'acme/b', false], ['src-a', 'acme/c', false],
    ]);
    expect([againA.context.applyResult?.changed, againB.context.applyResult?.changed]).toEqual([false, false]);
    expect([againA.changes, againB.changes]).toEqual([false, false]);
    expect(readFileSync(cronFile, 'utf8')).toBe(text);
    expect(statSync(cronFile).mtimeMs).toBe(mtime);
  });

  it('migrates a file of the previous format (state dir in the header) with one rewrite, then writes nothing', async () => {
    const { root: r, cronDir, cronFile } = root();
    const a = agent(cronDir, 'src-a', join(r, 'state-a'), { 'a.yaml': manifest('a'), 'c.yaml': manifest('c', 5) });
    const b = agent(cronDir, 'src-b', join(r, 'state-b'), { 'b.yaml': manifest('b', 30) });
    await a.sync();
    const newA = readFileSync(cronFile, 'utf8');
    rmSync(cronFile);
    await b.sync();
    const otherOld = oldFormat(readFileSync(cronFile, 'utf8'), 'src-b', b.stateDir).split('\n\n')[1]!.trimEnd();
    const stray = '# added by hand\n15 4 * * * root /usr/local/bin/backup';
    const old = oldFormat(newA, 'src-a', a.stateDir).replace(/\n$/, `\n\n# Not managed by this source, kept as found:\n${otherOld}\n${stray}\n`);
    writeFileSync(cronFile, old);

    const inv = parseCronD(old, 'cronsync', 'src-a');
    const before = stateDirsBySource(old);
    const migrated = await a.sync();
    const text = readFileSync(cronFile, 'utf8');
    const mtime = statSync(cronFile).mtimeMs;
    const again = await a.sync();
    const mtimeAgain = statSync(cronFile).mtimeMs;
    const otherUpdated = await b.sync();
    const afterOther = readFileSync(cronFile, 'utf8');
    const settled = [(await a.sync()).context.applyResult?.changed, (await b.sync()).context.applyResult?.changed];

    expect(inv.entries.map((e) => [e.marker?.sourceId ?? null, e.marker?.jobId ?? e.raw, e.drifted])).toEqual([
      ['src-a', 'acme/a', false], ['src-a', 'acme/c', false], ['src-b', 'acme/b', false], [null, '15 4 * * * root /usr/local/bin/backup', false],
    ]);
    // The bug: the other agent's entries ran with the header's (this agent's) state dir.
    expect(before).toEqual({ 'src-a': [a.stateDir, a.stateDir], 'src-b': [a.stateDir] });
    expect(migrated.result).toBe('ok');
    expect(migrated.context.applyResult?.changed).toBe(true);
    expect(migrated.status.jobs.map((j) => [j.id, j.state])).toEqual([['acme/a', 'installed'], ['acme/c', 'installed']]);
    // The other agent's entry is kept byte-identical; it gets its `--state-dir` when that agent
    // (updated) next syncs, and until then runs with exec's default.
    expect(stateDirsBySource(text)).toEqual({ 'src-a': [a.stateDir, a.stateDir], 'src-b': ['/var/lib/cronsync'] });
    expect(text.split('\n\n')[0]).not.toContain('CRONSYNC_STATE_DIR');
    expect(text).toContain(`\n\n${otherOld}\n\n`);
    expect(text.endsWith(`\n\n# Not managed by cronsync, kept as found:\n${stray}\n`)).toBe(true);
    expect(again.context.applyResult?.changed).toBe(false);
    expect(again.changes).toBe(false);
    expect(mtimeAgain).toBe(mtime);
    expect(otherUpdated.context.applyResult?.changed).toBe(true);
    expect(stateDirsBySource(afterOther)).toEqual({ 'src-a': [a.stateDir, a.stateDir], 'src-b': [b.stateDir] });
    expect(settled).toEqual([false, false]);
  });

  it('a long state dir rejects only the job whose command reaches 999 characters', async () => {
    const { root: r, cronDir, cronFile } = root();
    const long = 'l'.repeat(63);
    // `/usr/bin/cronsync exec --scheduled --state-dir /srv/s… acme/a` is 939 characters; the
    // same for `acme/<long>` is 1001.
    const a = agent(cronDir, 'src-a', join(r, 'state'), { 'a.yaml': manifest('a'), 'long.yaml': manifest(long) }, `/srv/${'s'.repeat(880)}`);

    const first = await a.sync();
    const second = await a.sync();

    expect(first.result).toBe('partial');
    expect(readFileSync(cronFile, 'utf8')).toMatch(/^0 2 \* \* \* root \/usr\/bin\/cronsync exec --scheduled --state-dir \/srv\/s+ acme\/a$/m);
    expect(readFileSync(cronFile, 'utf8')).not.toContain(long);
    expect(first.status.problems).toEqual([expect.objectContaining({ path: 'long.yaml', severity: 'error', message: expect.stringMatching(/command too long/) })]);
    expect(first.status.jobs.map((j) => [j.id, j.state])).toEqual([['acme/a', 'installed'], [`acme/${long}`, 'invalid']]);
    expect(second.context.applyResult?.changed).toBe(false);
  });
});
