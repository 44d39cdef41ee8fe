import { describe, expect, it } from 'vitest';
import { heartbeatRequest, jobInstancesRequest, parseEnrollReply, platformName } from '../../src/crontopus/api.js';
import { commandText, jobInstances } from '../../src/crontopus/instances.js';
import { parseMachineGuid } from '../../src/crontopus/machine-id.js';
import type { StatusJob } from '../../src/status/types.js';
import { makeJob } from '../shim/fixtures.js';

const row = (id: string, path: string, state: StatusJob['state'], namespace?: string): StatusJob => ({ id, path, commit: null, schedule: '* * * * *', timezone: 'UTC', nextRun: null, state, lastRun: null, ...(namespace ? { namespace } : {}) });

describe('crontopus/api', () => {
  it.each`
    body                                                   | want
    ${'{"agent_id": 3, "token": "t", "message": "ok"}'}    | ${{ endpointId: 3, token: 't' }}
    ${'{"endpoint_id": 4, "token": "u"}'}                  | ${{ endpointId: 4, token: 'u' }}
    ${'{"agent_id": "3", "token": "t"}'}                   | ${null}
    ${'{"agent_id": 3}'}                                   | ${null}
    ${'not json'}                                          | ${null}
  `('parseEnrollReply($body)', ({ body, want }: { body: string; want: unknown }) => {
    expect(parseEnrollReply(body)).toEqual(want);
  });

  it('builds heartbeat and job-instance requests on the base URL with the endpoint token', () => {
    const id = { endpointId: 8, token: 'tok' };

    const hb = heartbeatRequest('http://c.test/', id, { platform: 'linux', version: 'v' }, 1000);
    const ji = jobInstancesRequest('http://c.test', id, [], 1000);

    expect(hb).toMatchObject({ url: 'http://c.test/api/endpoints/8/heartbeat', method: 'POST', headers: { authorization: 'Bearer tok' } });
    expect(JSON.parse(String(hb.body))).toEqual({ status: 'active', platform: 'linux', version: 'v' });
    expect(ji.url).toBe('http://c.test/api/endpoints/8/job-instances');
    expect(JSON.parse(String(ji.body))).toEqual({ instances: [] });
    expect(platformName('win32')).toBe('windows');
  });

  it('reads the Windows MachineGuid from reg query output', () => {
    expect(parseMachineGuid('\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Cryptography\r\n    MachineGuid    REG_SZ    0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0\r\n')).toBe('0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0');
  });
});

describe('crontopus/instances', () => {
  it('maps job states (installed → scheduled, paused → paused, invalid → error) and namespaces, sorted', () => {
    const rows = [row('t/b', 'production/b.yaml', 'installed'), row('t/a', 'a.yaml', 'paused'), row('t/c', 'staging/c.yaml', 'invalid'), row('t/d', 'x/d.yaml', 'conflict', 'given')];

    const got = jobInstances(rows, (id) => (id === 't/b' ? 'echo b' : undefined));

    expect(got).toEqual([
      { job_name: 'a', namespace: 'default', status: 'paused', source: 'git', original_command: null },
      { job_name: 'd', namespace: 'given', status: 'error', source: 'git', original_command: null },
      { job_name: 'b', namespace: 'production', status: 'scheduled', source: 'git', original_command: 'echo b' },
      { job_name: 'c', namespace: 'staging', status: 'error', source: 'git', original_command: null },
    ]);
  });

  it('shows command, else args, else nothing', () => {
    expect([commandText(makeJob('a', { command: 'echo a' })), commandText(makeJob('b', { command: undefined, args: ['run', 'x'] })), commandText(makeJob('c', { command: undefined }))]).toEqual(['echo a', 'run x', null]);
  });
});
