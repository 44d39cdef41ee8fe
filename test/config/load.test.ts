import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALLOWED_ENV_VARS, configEnvVars, loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

function file(text: string): string {
  const p = join(mkdtempSync(join(tmpdir(), 'cronsync-cfg-')), 'config.yaml');
  writeFileSync(p, text);
  return p;
}

const minimal = 'agent:\n  tenant: acme\nsource:\n  url: https://git.example.com/ops/jobs.git\n';

function thrown(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

describe('config/load', () => {
  it('applies defaults', () => {
    const cfg = loadConfig({ file: file(minimal), env: {} });

    expect(cfg.source).toEqual({ url: 'https://git.example.com/ops/jobs.git', paths: ['**/*.{yaml,yml}'], exclude: [], interval: '60s', timeout: '60s' });
    expect(cfg.scheduler).toEqual({ kind: 'auto', cronDir: '/etc/cron.d', unitDir: '/etc/systemd/system', taskFolder: '\\cronsync' });
    expect(cfg.checkin).toEqual({ protocol: 'crontopus', start: false, spool: { maxAgeDays: 7, maxCount: 10000 } });
    expect(cfg.stateDir).toBe('/var/lib/cronsync');
    expect(cfg.agent.name.length).toBeGreaterThan(0);
    expect(cfg.prune).toBe(true);
    expect(cfg.allowMassRemoval).toBe(false);
  });

  it('takes the file, then CRONSYNC_* variables, then flags', () => {
    const f = file(`${minimal}stateDir: /from/file\nscheduler:\n  cronDir: /from/file\n`);

    const cfg = loadConfig({
      file: f,
      env: { CRONSYNC_STATE_DIR: '/from/env', CRONSYNC_SCHEDULER_CRON_DIR: '/env/cron', CRONSYNC_AGENT_LABELS: 'role=db,region=eu', CRONSYNC_CHECKIN_START: 'true', CRONSYNC_SOURCE_PATHS: 'a/**,b/*.yaml' },
      overrides: { stateDir: '/from/flag' },
    });

    expect(cfg.stateDir).toBe('/from/flag');
    expect(cfg.scheduler.cronDir).toBe('/env/cron');
    expect(cfg.agent.labels).toEqual({ role: 'db', region: 'eu' });
    expect(cfg.checkin.start).toBe(true);
    expect(cfg.source.paths).toEqual(['a/**', 'b/*.yaml']);
  });

  it('finds the file through CRONSYNC_CONFIG', () => {
    const cfg = loadConfig({ env: { CRONSYNC_CONFIG: file(minimal.replace('acme', 'beta')) } });

    expect(cfg.agent.tenant).toBe('beta');
  });

  it('reports every problem with file:line:col', () => {
    const f = file('agent:\n  tenant: Acme Corp\nsource:\n  url: x\n  intervall: 5m\nscheduler:\n  kind: cron\n');

    const err = thrown(() => loadConfig({ file: f, env: {} }));

    expect(err.message).toContain(`${f}:2:11: agent.tenant must be lowercase letters`);
    expect(err.message).toContain(`${f}:5:3: unknown field "source.intervall" (did you mean "interval"?)`);
    expect(err.message).toContain(`${f}:7:9: scheduler.kind must be one of "auto", "crontab", "cron.d", "systemd", "windows", "embedded"`);
    expect(err.message).not.toMatch(/\n\s+at /);
  });

  it('refuses credentials in checkin.url and never echoes them', () => {
    const f = file(`${minimal}checkin:\n  url: https://bot:hunter2@checkins.example/api/checkins\n`);

    const err = thrown(() => loadConfig({ file: f, env: {} }));

    expect(err.message).toContain(`${f}:6:8: checkin.url must not contain credentials`);
    expect(err.message).not.toContain('hunter2');
  });

  it('names the variable of a bad override', () => {
    const err = thrown(() => loadConfig({ file: file(minimal), env: { CRONSYNC_PRUNE: 'maybe', CRONSYNC_SCHEDULER_KIND: 'nope' } }));

    expect(err.message).toContain('CRONSYNC_PRUNE must be true or false (got "maybe")');
  });

  it('explains a missing file and a broken one', () => {
    expect(thrown(() => loadConfig({ file: '/nonexistent/c.yaml', env: {} })).message).toContain('cannot read config file /nonexistent/c.yaml: no such file');
    expect(thrown(() => loadConfig({ file: file('agent: [\n'), env: {} })).message).toMatch(/c?onfig.yaml:2:1: /);
  });

  it('rejects an unknown CRONSYNC_* variable, naming it and the closest known one', () => {
    const typo = thrown(() => loadConfig({ file: file(minimal), env: { CRONSYNC_STATEDIR: '/tmp/x' } }));
    const far = thrown(() => loadConfig({ file: file(minimal), env: { CRONSYNC_SCHEDULER_CRONDIR: '/x', CRONSYNC_WHATEVER: '1' } }));

    expect(typo.message).toContain('CRONSYNC_STATEDIR: unknown environment variable CRONSYNC_STATEDIR (did you mean CRONSYNC_STATE_DIR?)');
    expect(typo.message).not.toMatch(/\n\s+at /);
    expect(far.message).toContain('unknown environment variable CRONSYNC_SCHEDULER_CRONDIR (did you mean CRONSYNC_SCHEDULER_CRON_DIR?)');
    expect(far.message).toMatch(/unknown environment variable CRONSYNC_WHATEVER \(config keys map to CRONSYNC_<KEY_PATH>, e\.g\. CRONSYNC_SOURCE_URL\)/);
  });

  it('allows the CRONSYNC_* variables that are not config keys, and those named by passwordEnv or secretEnv', () => {
    const f = file(`${minimal}  auth: { passwordEnv: CRONSYNC_GIT_TOKEN }\ndaemon:\n  webhooks: { listen: "127.0.0.1:0", secretEnv: CRONSYNC_HOOK_SECRET }\n`);
    const env = Object.fromEntries([...ALLOWED_ENV_VARS, 'CRONSYNC_LOG_LEVEL', 'CRONSYNC_GIT_TOKEN', 'CRONSYNC_HOOK_SECRET'].map((n) => [n, n === 'CRONSYNC_LOG_LEVEL' ? 'debug' : 'x']));
    delete env.CRONSYNC_CONFIG;

    const cfg = loadConfig({ file: f, env });

    expect(ALLOWED_ENV_VARS).toEqual(expect.arrayContaining(['CRONSYNC_CONFIG', 'CRONSYNC_DEBUG', 'CRONSYNC_JOB', 'CRONSYNC_RUN_ID']));
    expect(cfg.log.level).toBe('debug');
  });

  it.each`
    kind          | text                  | got
    ${'sequence'} | ${'- a\n- b\n'}       | ${'sequence'}
    ${'scalar'}   | ${'\n  just text\n'}  | ${'scalar'}
  `('says a config file that is a $kind must be a mapping, at file:line:col', ({ text, got }) => {
    const f = file(text as string);

    const err = thrown(() => loadConfig({ file: f, env: {} }));

    expect(err.message).toContain(`${f}:${got === 'scalar' ? '2:3' : '1:1'}: the config file is a ${got as string}; it must be a mapping`);
    expect(err.message).not.toContain('manifest');
  });

  it('maps every schema leaf to an environment variable', () => {
    const names = configEnvVars().map((l) => l.env);

    expect(names).toEqual(expect.arrayContaining(['CRONSYNC_SOURCE_URL', 'CRONSYNC_SOURCE_AUTH_PASSWORD_FILE', 'CRONSYNC_CHECKIN_SPOOL_MAX_COUNT', 'CRONSYNC_DAEMON_HEALTH_LISTEN', 'CRONSYNC_ALLOW_MASS_REMOVAL']));
  });

  it('rejects a zero poll interval or fetch timeout (a busy loop, or fetches that always time out)', () => {
    const err = thrown(() => loadConfig({ file: file(`${minimal}  interval: 0s\n`), env: {} }));
    expect(err.message).toMatch(/config\.yaml:5:13: source\.interval must be at least 1s/);
    const env = thrown(() => loadConfig({ file: file(minimal), env: { CRONSYNC_SOURCE_TIMEOUT: '0m' } }));
    expect(env.message).toContain('CRONSYNC_SOURCE_TIMEOUT: source.timeout must be at least 1s');
  });
});
