import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { testTempDir } from '../system/tempdir.js';

const base = 'agent:\n  tenant: acme\nsource:\n  url: https://git.example.com/ops/jobs.git\n';

function load(checkin: string, env: NodeJS.ProcessEnv = {}) {
  const dir = testTempDir('cronsync-cfg-crontopus-');
  const p = join(dir, 'config.yaml');
  writeFileSync(p, `${base}checkin:\n${checkin}`);
  return loadConfig({ file: p, env, cwd: dir });
}

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('did not throw');
}

describe('config (crontopus-agent)', () => {
  it('accepts an enrolled identity and makes the token file absolute', () => {
    const cfg = load('  url: https://crontopus.test\n  protocol: crontopus-agent\n  enrollmentTokenFile: cet.txt\n');

    expect(cfg.checkin.protocol).toBe('crontopus-agent');
    expect(cfg.checkin.enrollmentTokenFile).toMatch(/^\/.*\/cet\.txt$/);
  });

  it('accepts a pre-provisioned identity, also from CRONSYNC_CHECKIN_* variables', () => {
    const cfg = load('  url: https://crontopus.test/\n  protocol: crontopus-agent\n', { CRONSYNC_CHECKIN_ENDPOINT_ID: '42', CRONSYNC_CHECKIN_TOKEN_FILE: '/etc/cronsync/endpoint-token' });

    expect(cfg.checkin).toMatchObject({ endpointId: 42, tokenFile: '/etc/cronsync/endpoint-token' });
  });

  it.each([
    ['no identity', '  url: https://c.test\n  protocol: crontopus-agent\n', /needs an endpoint identity: checkin.endpointId with checkin.tokenFile, or checkin.enrollmentTokenFile/],
    ['an id without a token file', '  url: https://c.test\n  protocol: crontopus-agent\n  endpointId: 3\n', /needs an endpoint identity/],
    ['both modes', '  url: https://c.test\n  protocol: crontopus-agent\n  endpointId: 3\n  tokenFile: /t\n  enrollmentTokenFile: /e\n', /cannot be combined/],
    ['no url', '  protocol: crontopus-agent\n  enrollmentTokenFile: /e\n', /checkin.url \(the Crontopus backend's base URL\) is required/],
    ['a route as url', '  url: https://c.test/api/runs/check-in\n  protocol: crontopus-agent\n  enrollmentTokenFile: /e\n', /must be the Crontopus backend's base URL/],
    ['start with crontopus-agent', '  url: https://c.test\n  protocol: crontopus-agent\n  enrollmentTokenFile: /e\n  start: true\n', /checkin.start must be false with the crontopus-agent protocol: a Crontopus backend keeps the `running` check-in as a run of its own that never ends/],
    ['start with the legacy crontopus protocol', '  url: https://c.test/api/checkins\n  start: true\n', /checkin.start must be false with the crontopus protocol/],
    ['identity keys with another protocol', '  url: https://hc.test\n  protocol: healthchecks\n  tokenFile: /t\n', /checkin.tokenFile is used only with checkin.protocol: crontopus-agent/],
  ])('rejects %s', (_name, checkin, want) => {
    expect(message(() => load(checkin))).toMatch(want);
  });

  it('keeps checkin.start for healthchecks', () => {
    expect(load('  url: https://hc.test\n  protocol: healthchecks\n  start: true\n').checkin.start).toBe(true);
  });
});
