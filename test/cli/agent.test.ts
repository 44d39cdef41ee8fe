import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { buildAgent, checkRunAsUser, execCommand, loadAgentConfig, loadOneShotConfig, makeAdapter, resolveScheduler, schedulerFlag } from '../../src/cli/agent.js';
import type { Snapshot } from '../../src/source/index.js';
import { loadSchedulers } from '../../src/scheduler/registry.js';
import type { HostProbe } from '../../src/scheduler/registry.js';
import { isInProcess } from '../../src/scheduler/types.js';
import { testTempDir } from '../system/tempdir.js';
import { schedulerConfig, schedulerDeps } from '../scheduler/fixtures.js';

// makeAdapter creates synchronously from adapters already imported (scheduler/registry.ts).
await loadSchedulers();

const host = (platform: NodeJS.Platform): HostProbe => ({ platform, isRoot: false, exists: () => false, onPath: () => false, processRunning: () => false });

describe('cli/agent', () => {
  it('names the launcher by the symlink the program was started through, which upgrades keep, not the version it resolves to', () => {
    const pkg = realpathSync(resolve(import.meta.dirname, '../..'));
    const link = join(testTempDir('cronsync-agent-'), 'cronsync');
    symlinkSync(pkg, link);

    expect(execCommand(join(link, 'dist/cli/main.js')).args).toEqual([join(link, 'dist/cli/launch.cjs')]);
    expect(execCommand(join(pkg, 'dist/cli/main.js')).args).toEqual([join(pkg, 'dist/cli/launch.cjs')]);
    expect(execCommand('/usr/bin/cronsync').args).toEqual([join(pkg, 'dist/cli/launch.cjs')]);
  });

  it('refuses a run-as user other than the agent\'s, whose runs could not read the state dir', () => {
    expect(() => checkRunAsUser('alice', 'alice')).not.toThrow();
    expect(() => checkRunAsUser('www-data', 'root')).toThrow(expect.objectContaining({
      code: 'CRONSYNC_CONFIG',
      message: expect.stringContaining('scheduler.user is "www-data" but cronsync runs as "root"'),
    }));
  });

  it('takes --scheduler auto or a registered kind or alias, and refuses others as a usage error', () => {
    expect(['auto', 'crond', 'cron.d', 'crontab', 'windows', 'embedded'].map(schedulerFlag)).toEqual(['auto', 'cron.d', 'cron.d', 'crontab', 'windows', 'embedded']);
    expect(schedulerFlag('systemd')).toBe('systemd');
    expect(() => schedulerFlag('launchd')).toThrow(expect.objectContaining({
      code: 'CRONSYNC_USAGE',
      message: '--scheduler must be one of auto, windows, cron.d, crond, systemd, crontab, embedded (got "launchd")',
    }));
  });

  it('resolves auto through the registry: Task Scheduler on Windows, no embedded fallback', () => {
    expect(resolveScheduler(schedulerConfig(), host('win32'))).toEqual({ kind: 'windows', reason: 'Windows host' });
    expect(resolveScheduler(schedulerConfig(), host('linux'))).toEqual({ kind: 'embedded', reason: 'no cron.d or crontab available; using the in-process scheduler' });
    expect(resolveScheduler(schedulerConfig({ kind: 'crontab' }), host('win32'))).toEqual({ kind: 'crontab', reason: 'scheduler.kind is crontab in the config' });
  });

  it.runIf(process.platform !== 'win32')('builds the embedded scheduler only with the daemon\'s runtime', () => {
    const withRuntime = makeAdapter(schedulerConfig(), 'embedded', schedulerDeps({ inProcess: { runJob: async () => 0 } }));

    expect(() => makeAdapter(schedulerConfig(), 'embedded', schedulerDeps())).toThrow(expect.objectContaining({
      code: 'CRONSYNC_USAGE',
      message: 'the embedded scheduler runs inside `cronsync daemon`; use the daemon, or set scheduler.kind to cron.d, systemd or crontab',
    }));
    expect(isInProcess(withRuntime)).toBe(true);
  });

  it('checks the run-as user of every kind that has one, before building', () => {
    const deps = schedulerDeps({ identity: { user: 'root', isRoot: true } });

    expect(() => makeAdapter(schedulerConfig({ user: 'www-data' }), 'cron.d', deps)).toThrow(expect.objectContaining({ code: 'CRONSYNC_CONFIG' }));
    expect(() => makeAdapter(schedulerConfig({ user: 'www-data' }), 'windows', deps)).toThrow(expect.objectContaining({ code: 'CRONSYNC_CONFIG' }));
    expect(makeAdapter(schedulerConfig({ user: undefined }), 'windows', deps).kind).toBe('windows');
    expect(makeAdapter(schedulerConfig({ user: undefined }), 'crontab', deps).kind).toBe('crontab');
  });

  it('a one-shot command logs at --log-level, else CRONSYNC_LOG_LEVEL, else warn, whatever the file says (its level is the daemon\'s)', () => {
    const dir = testTempDir('cronsync-cli-agent-');
    writeFileSync(join(dir, 'config.yaml'), `agent: { tenant: acme }\nsource: { url: ${join(dir, 'repo')} }\nstateDir: ${join(dir, 'state')}\nlog: { level: debug }\n`);
    const level = (values: { 'log-level'?: string }, env: NodeJS.ProcessEnv) => {
      const io = { stdout: new PassThrough(), stderr: new PassThrough(), env: { PATH: process.env.PATH, ...env }, cwd: dir };
      return loadOneShotConfig({ config: join(dir, 'config.yaml'), ...values }, io).log.level;
    };

    expect(level({}, {})).toBe('warn');
    expect(level({}, { CRONSYNC_LOG_LEVEL: 'error' })).toBe('error');
    expect(level({ 'log-level': 'info' }, { CRONSYNC_LOG_LEVEL: 'error' })).toBe('info');
    expect(() => level({}, { CRONSYNC_LOG_LEVEL: 'loud' })).toThrow(expect.objectContaining({ code: 'CRONSYNC_CONFIG', message: expect.stringContaining('CRONSYNC_LOG_LEVEL') }));
  });

  it('hands each snapshot the source fetched to afterFetch, before the reconciler plans with it', async () => {
    const dir = testTempDir('cronsync-cli-agent-');
    mkdirSync(join(dir, 'repo'));
    mkdirSync(join(dir, 'cron'));
    for (const name of ['a', 'b']) writeFileSync(join(dir, 'repo', `${name}.yaml`), `apiVersion: v1\nkind: Job\nmetadata: { name: ${name}, tenant: acme }\nspec: { schedule: "0 3 * * *", command: /bin/true }\n`);
    writeFileSync(join(dir, 'config.yaml'), `agent: { tenant: acme }\nsource: { url: ${join(dir, 'repo')} }\nscheduler: { kind: cron.d, cronDir: ${join(dir, 'cron')} }\nstateDir: ${join(dir, 'state')}\n`);
    const io = { stdout: new PassThrough(), stderr: new PassThrough(), env: { PATH: process.env.PATH }, cwd: dir };
    const seen: Snapshot[] = [];

    const agent = await buildAgent(loadAgentConfig({ config: join(dir, 'config.yaml'), 'log-level': 'silent' }, io), io, { afterFetch: (s) => seen.push(s) });
    const out = await agent.reconciler.reconcile({ dryRun: true });

    expect(seen.map((s) => s.files.map((f) => f.path).sort())).toEqual([['a.yaml', 'b.yaml']]);
    expect(out.context.snapshot).toBe(seen[0]);
    expect(out.result).not.toBe('error');
  });
});
