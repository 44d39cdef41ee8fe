import { describe, expect, it } from 'vitest';
import { embeddedJobEnv } from '../../src/daemon/job-env.js';

describe('daemon/job-env', () => {
  it('gives an embedded job the daemon environment without the agent\'s secrets and config overrides', () => {
    const env = {
      PATH: '/usr/bin:/bin', HOME: '/root', HTTPS_PROXY: 'http://proxy:3128', DB_PASS: 'job-secret',
      GIT_TOKEN: 'GitTokenLEAK123', WH_SECRET: 'WebhookSecretLEAK4567',
      CRONSYNC_SOURCE_URL: 'https://bot:pw@git.example/r.git', cronsync_log_level: 'debug', CRONSYNC_CONFIG: '/etc/cronsync/config.yaml',
    };

    const out = embeddedJobEnv(env, { source: { url: 'x', auth: { username: 'bot', passwordEnv: 'GIT_TOKEN' } }, daemon: { webhooks: { listen: '127.0.0.1:0', secretEnv: 'WH_SECRET' } } } as never);
    const plain = embeddedJobEnv(env, { source: { url: 'x' }, daemon: {} } as never);

    expect(out).toEqual({ PATH: '/usr/bin:/bin', HOME: '/root', HTTPS_PROXY: 'http://proxy:3128', DB_PASS: 'job-secret' });
    expect(JSON.stringify(out)).not.toMatch(/LEAK|bot:pw/);
    expect(plain).toEqual({ PATH: '/usr/bin:/bin', HOME: '/root', HTTPS_PROXY: 'http://proxy:3128', DB_PASS: 'job-secret', GIT_TOKEN: 'GitTokenLEAK123', WH_SECRET: 'WebhookSecretLEAK4567' });
  });
});
