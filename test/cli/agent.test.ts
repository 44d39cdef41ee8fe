import { describe, expect, it } from 'vitest';
import { checkRunAsUser } from '../../src/cli/agent.js';

describe('cli/agent', () => {
  it('refuses a run-as user other than the agent\'s, whose runs could not read the state dir', () => {
    expect(() => checkRunAsUser('alice', 'alice')).not.toThrow();
    expect(() => checkRunAsUser('www-data', 'root')).toThrow(expect.objectContaining({
      code: 'CRONSYNC_CONFIG',
      message: expect.stringContaining('scheduler.user is "www-data" but cronsync runs as "root"'),
    }));
  });
});
