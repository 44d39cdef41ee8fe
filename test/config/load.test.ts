import { testTempDir } from '../system/tempdir.js';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALLOWED_ENV_VARS, configEnvVars, loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

function file(text: string): string {
  const p = join(testTempDir('cronsync-cfg-'), 'config.yaml');
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
      env: { CRONSYNC_STATE_DIR: '/from/env', CRONSYNC_SCHEDULER_CRON_DIR: '/env/cron', CRONSYNC_AGENT_LABELS: 'role=db,region=eu', CRONSYNC_CHECKIN_START: 'true', CRONSYNC_CHECKIN_PROTOCOL: 'healthchecks', CRONSYNC_SOURCE_PATHS: 'a/**,b/*.yaml' },
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
    // `cron` could be crontab or cron.d: no guess.
    expect(err.message).not.toContain('did you mean "cron');
    expect(err.message).not.toMatch(/\n\s+at /);
  });

  it('names the scheduler kind meant by a near miss (crond, the --scheduler alias)', () => {
    const f = file('agent:\n  tenant: acme\nsource:\n  url: x\nscheduler:\n  kind: crond\n');

    const err = thrown(() => loadConfig({ file: f, env: {} }));

    expect(err.message).toContain(`${f}:6:9: scheduler.kind must be one of "auto", "crontab", "cron.d", "systemd", "windows", "embedded" (did you mean "cron.d"?)`);
  });

  it('bounds durations: at least 1s, at most 576h (a longer timer would fire at once)', () => {
    const f = file(`${minimal}  interval: 1000h\n  timeout: 99999999999999999h\ndaemon:\n  startDelay: 577h\n  maxBackoff: 0s\n`);

    const err = thrown(() => loadConfig({ file: f, env: {} }));
    const ok = loadConfig({ file: file(`${minimal}  interval: 576h\ndaemon:\n  startDelay: 0s\n`), env: {} });

    expect(err.message).toContain(`${f}:5:13: source.interval must be at most 576h (24 days) (got "1000h")`);
    expect(err.message).toContain(`${f}:6:12: source.timeout must be at most 576h (24 days) (got "99999999999999999h")`);
    expect(err.message).toContain(`${f}:8:15: daemon.startDelay must be at most 576h (24 days) (got "577h")`);
    expect(err.message).toContain(`${f}:9:15: daemon.maxBackoff must be at least 1s (got "0s")`);
    expect(ok.source.interval).toBe('576h');
  });

  it('refuses an empty cronDir, unitDir or taskFolder, which would mean the working directory', () => {
    const f = file(`${minimal}scheduler:\n  cronDir: ""\n  unitDir: ""\n  taskFolder: ""\n`);

    const err = thrown(() => loadConfig({ file: f, env: {} }));
    const env = thrown(() => loadConfig({ file: file(minimal), env: { CRONSYNC_SCHEDULER_CRON_DIR: '' } }));

    for (const line of [6, 7, 8]) expect(err.message).toContain(`${f}:${line}:`);
    expect(err.message).toMatch(/scheduler\.cronDir must NOT have fewer than 1 characters[\s\S]*scheduler\.unitDir[\s\S]*scheduler\.taskFolder/);
    expect(env.message).toContain('CRONSYNC_SCHEDULER_CRON_DIR: scheduler.cronDir must NOT have fewer than 1 characters');
  });

  it('refuses credentials in checkin.url and never echoes them', () => {
    const f = file(`${minimal}checkin:\n  url: https://bot:hunter2@checkins.example/api/checkins\n`);

    const err = thrown(() => loadConfig({ file: f, env: {} }));

    expect(err.message).toContain(`${f}:6:8: checkin.url must not contain credentials`);
    expect(err.message).not.toContain('hunter2');
    // Node's URL parser skips the extra slashes and still sends the password.
    const slashes = thrown(() => loadConfig({ file: file(`${minimal}checkin:\n  url: https:///bot:hunter2@checkins.example/api\n`), env: {} }));
    expect(slashes.message).toContain('checkin.url must not contain credentials');
    expect(slashes.message).not.toContain('hunter2');
  });

  it('reads a comma-separated scheduler.allowedUsers from CRONSYNC_SCHEDULER_ALLOWED_USERS, as README says of lists', () => {
    const two = loadConfig({ file: file(minimal), env: { CRONSYNC_SCHEDULER_ALLOWED_USERS: 'alice, bob' } });
    const star = loadConfig({ file: file(minimal), env: { CRONSYNC_SCHEDULER_ALLOWED_USERS: '*' } });

    expect(two.scheduler.allowedUsers).toEqual(['alice', 'bob']);
    expect(star.scheduler.allowedUsers).toEqual(['*']);
  });

  it('refuses source.paths that can match nothing: an empty list, an absolute glob, a .. segment', () => {
    const f = file(`${minimal}  paths: ["/abs/**", "../x/**", "jobs/**"]\n  exclude: ["a/../b"]\n`);

    const err = thrown(() => loadConfig({ file: f, env: {} }));
    const empty = thrown(() => loadConfig({ file: file(minimal), env: { CRONSYNC_SOURCE_PATHS: '' } }));

    expect(err.message).toContain(`${f}:5:11: source.paths.0 must be a glob relative to the repository root: no leading / and no .. segment`);
    expect(err.message).toContain(`${f}:5:22: source.paths.1 must be a glob relative`);
    expect(err.message).not.toContain('source.paths.2');
    expect(err.message).toContain(`${f}:6:13: source.exclude.0 must be a glob relative`);
    expect(empty.message).toContain('CRONSYNC_SOURCE_PATHS: source.paths must NOT have fewer than 1 items');
  });

  it('refuses a glob ending in a backslash, on which picomatch never returns (x/ and four backslashes), with the field; one inside a glob stays', () => {
    const f = file(`${minimal}  paths: ['jobs/\\\\\\\\', 'a\\*.yaml']\n  exclude: ['x\\']\n`);

    const err = thrown(() => loadConfig({ file: f, env: {} }));

    expect(err.message).toContain(`${f}:5:11: source.paths.0 must be a glob relative to the repository root: no leading / and no .. segment, which could never match, and no trailing backslash, which escapes nothing`);
    expect(err.message).not.toContain('source.paths.1');
    expect(err.message).toContain(`${f}:6:13: source.exclude.0 must be a glob relative`);
  });

  it('refuses a secret given both as a file and as a variable', () => {
    const f = file(`${minimal}  auth: { username: bot, passwordFile: /etc/cronsync/pw, passwordEnv: GIT_TOKEN }\ndaemon:\n  webhooks: { listen: "127.0.0.1:9465", secretFile: /etc/cronsync/hook, secretEnv: HOOK }\n`);

    const err = thrown(() => loadConfig({ file: f, env: {} }));

    expect(err.message).toContain(`${f}:5:`);
    expect(err.message).toContain('source.auth: set passwordFile or passwordEnv, not both');
    expect(err.message).toContain(`${f}:7:`);
    expect(err.message).toContain('daemon.webhooks: set secretFile or secretEnv, not both');
  });

  it('refuses an empty CRONSYNC_CONFIG, and a YAML tag it cannot resolve, naming where', () => {
    const tagged = file(`${minimal}  ref: !!js/function "function () {}"\n`);

    const empty = thrown(() => loadConfig({ env: { CRONSYNC_CONFIG: '' } }));
    const tag = thrown(() => loadConfig({ file: tagged, env: {} }));

    expect(empty.message).toContain('CRONSYNC_CONFIG is set but empty');
    expect(tag.message).toMatch(new RegExp(`${tagged.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5:\\d+: .*tag`, 'i'));
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

  it('rejects a daemon.maxBackoff under 1s: failed syncs would be retried at once, over and over', () => {
    const err = thrown(() => loadConfig({ file: file(`${minimal}daemon: { maxBackoff: 0s }\n`), env: {} }));
    expect(err.message).toMatch(/config\.yaml:5:\d+: daemon\.maxBackoff must be at least 1s \(got "0s"\)/);
    const env = thrown(() => loadConfig({ file: file(minimal), env: { CRONSYNC_DAEMON_MAX_BACKOFF: '0s' } }));
    expect(env.message).toContain('CRONSYNC_DAEMON_MAX_BACKOFF: daemon.maxBackoff must be at least 1s');
    expect(loadConfig({ file: file(`${minimal}daemon: { maxBackoff: 1s }\n`), env: {} }).daemon.maxBackoff).toBe('1s');
  });

  it('daemon.syncTimeout defaults to 10m, is read from the file or CRONSYNC_DAEMON_SYNC_TIMEOUT, and is 1s to 576h', () => {
    expect(loadConfig({ file: file(minimal), env: {} }).daemon.syncTimeout).toBe('10m');
    expect(loadConfig({ file: file(`${minimal}daemon: { syncTimeout: 2h }\n`), env: {} }).daemon.syncTimeout).toBe('2h');
    expect(loadConfig({ file: file(minimal), env: { CRONSYNC_DAEMON_SYNC_TIMEOUT: '90s' } }).daemon.syncTimeout).toBe('90s');
    expect(thrown(() => loadConfig({ file: file(`${minimal}daemon: { syncTimeout: 0s }\n`), env: {} })).message).toMatch(/config\.yaml:5:\d+: daemon\.syncTimeout must be at least 1s \(got "0s"\)/);
    expect(thrown(() => loadConfig({ file: file(`${minimal}daemon: { syncTimeout: 577h }\n`), env: {} })).message).toMatch(/daemon\.syncTimeout must be at most 576h/);
  });

  it('reports a source.maxFetchSize too large to count at its line, and accepts a size', () => {
    const err = thrown(() => loadConfig({ file: file(`${minimal}  maxFetchSize: 99999999999999GiB\n`), env: {} }));
    expect(err.message).toMatch(/config\.yaml:5:17: source\.maxFetchSize must be a size such as 512MiB/);

    expect(loadConfig({ file: file(`${minimal}  maxFetchSize: 64KiB\n`), env: {} }).source.maxFetchSize).toBe('64KiB');
  });

  it('refuses a config path that is not a regular file instead of reading it (a device never ends, a FIFO blocks)', () => {
    const dir = testTempDir('cronsync-cfg-');
    const fifo = join(dir, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);

    const device = thrown(() => loadConfig({ file: '/dev/zero', env: {} }));
    const pipe = thrown(() => loadConfig({ file: fifo, env: {} }));
    const folder = thrown(() => loadConfig({ file: dir, env: {} }));

    expect(device.message).toBe('cannot read config file /dev/zero: not a regular file (a character device)');
    expect(pipe.message).toBe(`cannot read config file ${fifo}: not a regular file (a FIFO)`);
    expect(folder.message).toBe(`cannot read config file ${dir}: not a regular file (a directory)`);
  });

  it('rejects a config file that is not valid UTF-8 at file:line:col rather than changing its bytes', () => {
    const f = join(testTempDir('cronsync-cfg-'), 'config.yaml');
    writeFileSync(f, Buffer.concat([Buffer.from('agent:\n  tenant: acme\nsource:\n  url: /srv/'), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]));

    const err = thrown(() => loadConfig({ file: f, env: {} }));

    expect(err.message).toContain(`${f}:4:13: file is not valid UTF-8`);
    expect(err.message).not.toContain('\ufffd');
  });

  it('rejects a config file over 1 MiB without reading it all', () => {
    const f = file(`${minimal}#${'x'.repeat(2 * 1024 * 1024)}\n`);

    const err = thrown(() => loadConfig({ file: f, env: {} }));

    expect(err.message).toMatch(/config\.yaml:1:1: file is \d+ bytes; config files are limited to 1048576 bytes/);
  });

  it('makes relative paths absolute (against the working directory), since cron entries and job snapshots run elsewhere', () => {
    const cwd = testTempDir('cronsync-cwd-');
    mkdirSync(join(cwd, 'etc'));
    const f = join(cwd, 'etc', 'config.yaml');
    writeFileSync(f, `${minimal}  auth: { passwordFile: token }\n  ssh: { keyFile: k, knownHosts: ./kh }\nsecretsFile: secrets.env\nscheduler: { cronDir: cron.d, unitDir: units }\ndaemon:\n  webhooks: { listen: "127.0.0.1:0", secretFile: hook.secret }\n`);

    const cfg = loadConfig({ file: 'etc/config.yaml', env: { CRONSYNC_STATE_DIR: 'state' }, cwd });
    const flag = loadConfig({ file: f, env: {}, cwd, overrides: { stateDir: '../flag-state' } });

    expect(cfg.stateDir).toBe(join(cwd, 'state'));
    expect(cfg.secretsFile).toBe(join(cwd, 'secrets.env'));
    expect(cfg.source.auth).toEqual({ passwordFile: join(cwd, 'token') });
    expect(cfg.source.ssh).toEqual({ keyFile: join(cwd, 'k'), knownHosts: join(cwd, 'kh') });
    expect(cfg.scheduler.cronDir).toBe(join(cwd, 'cron.d'));
    expect(cfg.scheduler.unitDir).toBe(join(cwd, 'units'));
    expect(cfg.daemon.webhooks?.secretFile).toBe(join(cwd, 'hook.secret'));
    expect(cfg.source.url).toBe('https://git.example.com/ops/jobs.git');
    expect(flag.stateDir).toBe(join(cwd, '..', 'flag-state'));
  });

  it('names the flag, not the config key, when a flag value is invalid', () => {
    const err = thrown(() => loadConfig({ file: file(minimal), env: {}, overrides: { 'log.level': 'loud', 'scheduler.kind': 'cron' } }));

    expect(err.message).toContain('--log-level: log.level must be one of');
    expect(err.message).toContain('--scheduler: scheduler.kind must be one of');
    expect(err.message).not.toContain('--log.level');
  });

  it.each`
    url                              | why
    ${'https://exa mple.com/x'}      | ${'is not a valid URL'}
    ${'http://'}                     | ${'is not a valid URL'}
    ${'https://git.example:99999/x'} | ${'is not a valid URL'}
    ${'ftp://bob:pw@host/x'}         | ${'has the unsupported scheme ftp'}
  `('rejects source.url $url at file:line:col instead of failing later', ({ url, why }) => {
    const f = file(`agent:\n  tenant: acme\nsource:\n  url: "${url as string}"\n`);

    const err = thrown(() => loadConfig({ file: f, env: {} }));

    expect(err.message).toContain(`${f}:4:8: source.url ${why as string}`);
    expect(err.message).not.toContain('pw@');
  });

  it.each`
    url                                                  | why
    ${'ssh://alice:SshPwS3cret@127.0.0.1:2/repo.git'}    | ${'must not contain a password (user:password@): ssh never uses a password from the URL'}
    ${'ssh://alice:Pw S3cret@git.example/repo.git'}      | ${'must not contain a password (user:password@)'}
    ${'alice:S3cret@git.example:org/repo.git'}           | ${'must not contain a password (user:password@)'}
    ${'alice:p@S3cret@[::1]:org/repo.git'}               | ${'must not contain a password (user:password@)'}
    ${'file://alice:S3cret@host/srv/jobs'}               | ${'must not contain credentials (user:password@)'}
    ${'https:alice:S3cret@git.example/r.git'}            | ${'must start with https://'}
    ${'https:\\\\alice:S3cret@git.example/r.git'}        | ${'must start with https://'}
    ${' https://alice:S3cret@git.example/r.git'}         | ${'must not contain control characters or start or end with white space'}
    ${'https://alice:S3\\tcret@git.example/r.git'}       | ${'must not contain control characters'}
    ${'https://git.example/r.git?private_token=S3cret'}  | ${'must not contain a query (?…) or fragment (#…)'}
    ${'http://127.0.0.1:8080/r.git#S3cret'}              | ${'must not contain a query (?…) or fragment (#…)'}
    ${'https://alice@git.example/r.git?'}                | ${'must not contain a query (?…) or fragment (#…)'}
  `('rejects source.url $url without repeating it', ({ url, why }) => {
    const f = file(`agent:\n  tenant: acme\nsource:\n  url: "${url as string}"\n`);

    const err = thrown(() => loadConfig({ file: f, env: {} }));

    expect(err.message).toContain(`${f}:4:8: source.url ${why as string}`);
    // Without the config's path, whose random temp name may itself hold "S3".
    expect(err.message.replaceAll(f, '<config>')).not.toContain('S3');
    expect(JSON.stringify(err.data).replaceAll(JSON.stringify(f).slice(1, -1), '<config>')).not.toContain('S3');
  });

  it('rejects a password in an ssh URL from CRONSYNC_SOURCE_URL, naming the variable', () => {
    const err = thrown(() => loadConfig({ file: file(minimal), env: { CRONSYNC_SOURCE_URL: 'ssh://alice:S3cret@git.example/r.git' } }));

    expect(err.message).toContain('CRONSYNC_SOURCE_URL: source.url must not contain a password');
    expect(err.message).not.toContain('S3cret');
  });

  it.each([
    'ssh://git@git.example/org/repo.git',
    'ssh://git@[::1]:2222/repo.git',
    'ssh://alice:@git.example/repo.git',
    'git@github.com:org/repo.git',
    'git.example:org/repo@v2.git',
    'https://alice:Pw S3cret@git.example/r.git',
    'https://bob:p@ss@git.example/r.git',
    '/srv/jobs@2024',
  ])('accepts source.url %s', (url) => {
    const cfg = loadConfig({ file: file(`agent:\n  tenant: acme\nsource:\n  url: "${url}"\n`), env: {} });

    expect(cfg.source.url).toBe(url);
  });

  it('rejects a listen address with a port out of range at file:line:col', () => {
    const f = file(`${minimal}daemon:\n  health: { listen: "127.0.0.1:99999" }\n  webhooks: { listen: "[zz]:9465" }\n`);

    const err = thrown(() => loadConfig({ file: f, env: {} }));

    expect(err.message).toContain(`${f}:6:21: daemon.health.listen must be host:port with a port from 0 to 65535 (got "127.0.0.1:99999")`);
    expect(err.message).toContain(`${f}:7:23: daemon.webhooks.listen must be host:port`);
  });
});

