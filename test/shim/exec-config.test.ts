/**
 * `cronsync exec --config FILE` (SPEC §5: every command takes --config), through the main CLI
 * in-process: the state dir comes from the config, `--state-dir` wins, a bad config is reported
 * as every other command reports it, and plain `exec` reads no config at all.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { firedDir } from '../../src/state/fired.js';
import { cli } from '../cli/helpers.js';
import { install, makeJob } from './fixtures.js';

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A work dir with `state/` holding job acme/job (`exit 3` after printing its state dir's name) and a config pointing at it. */
async function world(config = 'agent:\n  tenant: acme\nsource:\n  url: https://git.example.com/ops/jobs.git\nstateDir: state\n'): Promise<{ cwd: string; state: string; other: string }> {
  const cwd = mkdtempSync(join(tmpdir(), 'cronsync-exec-config-'));
  made.push(cwd);
  const state = join(cwd, 'state');
  const other = join(cwd, 'other');
  // No check-in URL: nothing leaves the machine.
  const runtime = { checkin: { protocol: 'crontopus' as const, start: false } };
  await install(state, makeJob('job', { command: 'echo from-state; exit 3', checkin: { enabled: false, timeout: 1 } }), runtime);
  await install(other, makeJob('job', { command: 'echo from-other; exit 4', checkin: { enabled: false, timeout: 1 } }), runtime);
  mkdirSync(join(cwd, 'etc'));
  writeFileSync(join(cwd, 'etc', 'config.yaml'), config);
  return { cwd, state, other };
}

const ENV = { PATH: process.env.PATH };

describe('cronsync exec --config', () => {
  it('takes the state dir from the config (relative paths against the working directory)', async () => {
    const { cwd } = await world();

    const r = await cli(['exec', '--config', 'etc/config.yaml', 'acme/job'], cwd, ENV);

    expect(r).toEqual({ code: 3, out: 'from-state\n', err: '' });
  });

  it('accepts -c and --config=FILE, and --scheduled guards in the config\'s state dir', async () => {
    const { cwd, state } = await world();

    const short = await cli(['exec', '-c', join(cwd, 'etc/config.yaml'), 'acme/job'], cwd, ENV);
    const scheduled = await cli(['exec', '--scheduled', `--config=${join(cwd, 'etc/config.yaml')}`, 'acme/job'], cwd, ENV);

    expect(short).toEqual({ code: 3, out: 'from-state\n', err: '' });
    expect(scheduled).toEqual({ code: 3, out: 'from-state\n', err: '' });
    expect(existsSync(firedDir(state, 'acme/job'))).toBe(true);
  });

  it('--state-dir wins over the config, which is still validated; $CRONSYNC_STATE_DIR overrides the file as for every command', async () => {
    const { cwd, other } = await world();

    const flag = await cli(['exec', '--config', 'etc/config.yaml', '--state-dir', other, 'acme/job'], cwd, ENV);
    const envVar = await cli(['exec', '--config', 'etc/config.yaml', 'acme/job'], cwd, { ...ENV, CRONSYNC_STATE_DIR: other });
    writeFileSync(join(cwd, 'etc', 'config.yaml'), 'agent:\n  tenant: Acme\n');
    const invalid = await cli(['exec', '--config', 'etc/config.yaml', '--state-dir', other, 'acme/job'], cwd, ENV);

    expect(flag).toEqual({ code: 4, out: 'from-other\n', err: '' });
    expect(envVar).toEqual({ code: 4, out: 'from-other\n', err: '' });
    expect(invalid.code).toBe(1);
    expect(invalid.out).toBe('');
  });

  it.each([
    { name: 'a missing file', config: null },
    { name: 'an invalid config', config: 'agent:\n  tenant: Acme Corp\nsource:\n  url: x\n  intervall: 5m\n' },
    { name: 'broken YAML', config: 'agent: [\n' },
  ])('reports $name exactly as `status --config` does, without running the job', async ({ config }) => {
    const { cwd } = await world();
    if (config === null) rmSync(join(cwd, 'etc', 'config.yaml'));
    else writeFileSync(join(cwd, 'etc', 'config.yaml'), config);

    const exec = await cli(['exec', '--config', 'etc/config.yaml', 'acme/job'], cwd, ENV);
    const status = await cli(['status', '--config', 'etc/config.yaml'], cwd, ENV);

    expect(exec.code).toBe(1);
    expect(exec).toEqual(status);
    expect(exec.err).toMatch(/^cronsync: .*config\.yaml/);
    expect(exec.err).not.toContain('Usage:');
  });

  it('a missing value is a usage error (64) with the usage', async () => {
    const { cwd } = await world();

    const r = await cli(['exec', 'acme/job', '--config'], cwd, ENV);

    expect(r.code).toBe(64);
    expect(r.err).toMatch(/^cronsync exec: --config needs a file\nUsage: cronsync exec /);
  });

  it('plain exec reads no config: a broken $CRONSYNC_CONFIG or default config does not matter', async () => {
    const { cwd, state } = await world('this: [is not: a config\n');

    const r = await cli(['exec', 'acme/job'], cwd, { ...ENV, CRONSYNC_CONFIG: join(cwd, 'etc', 'config.yaml'), CRONSYNC_STATE_DIR: state });

    expect(r).toEqual({ code: 3, out: 'from-state\n', err: '' });
  });
});
