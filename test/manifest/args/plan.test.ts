import { describe, expect, it } from 'vitest';
import { argsRefusalMessage } from '../../../src/manifest/args/plan.js';

describe('manifest/args plan', () => {
  it('says why and what to write instead', () => {
    expect(argsRefusalMessage({ hazard: 'comment', token: '# x' }, 'linux')).toBe('spec.args cannot be appended to this command: the last line of the command ends in a comment, so the arguments would be silently dropped; write "$@" in the command where the arguments belong (cronsync then appends nothing), or put them into the command');
    expect(argsRefusalMessage({ hazard: 'operator', token: ';' }, 'linux')).toContain('ends with `;`, so the first argument would run as a command');
  });
});
