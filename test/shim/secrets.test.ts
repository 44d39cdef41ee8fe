import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createResolver, isPureReference, parseSecretsFile, readSecretsFile } from '../../src/shim/secrets.js';
import { tempStateDir } from './fixtures.js';

describe('shim/secrets', () => {
  it('parses KEY=value lines', () => {
    const m = parseSecretsFile('# c\nA=1\nexport B = "two words"\nC=\'x=y\'\nnot a line\n\n');

    expect([...m]).toEqual([['A', '1'], ['B', 'two words'], ['C', 'x=y']]);
  });

  it('refuses a group- or world-readable file (name in the message, never a value)', () => {
    const dir = tempStateDir();
    const f = join(dir, 'secrets.env');
    writeFileSync(f, 'TOKEN=hunter2\n');
    chmodSync(f, 0o640);

    expect(() => readSecretsFile(f)).toThrow(/Refusing secrets file .*mode 640/);
    try {
      readSecretsFile(f);
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2');
      expect(err).toMatchObject({ code: 'CRONSYNC_SECRETS' });
    }
    chmodSync(f, 0o600);
    expect(readSecretsFile(f).get('TOKEN')).toBe('hunter2');
  });

  it.skipIf(process.platform === 'win32')('refuses a directory or a FIFO in place of the file, without blocking', () => {
    const dir = tempStateDir();
    const fifo = join(dir, 'fifo.env');
    execFileSync('mkfifo', ['-m', '600', fifo]);
    mkdirSync(join(dir, 'dir.env'), { mode: 0o700 });

    for (const f of [fifo, join(dir, 'dir.env')]) {
      expect(() => readSecretsFile(f), f).toThrow(/Cannot read secrets file .*ENOTREG/);
    }
  }, 10_000);

  it('resolves from the environment first, then the file, lazily', () => {
    const dir = tempStateDir();
    const f = join(dir, 'secrets.env');
    writeFileSync(f, 'A=file-a\nB=file-b\n', { mode: 0o600 });
    const r = createResolver({ A: 'env-a' }, f);
    const noFile = createResolver({ X: '1' }, join(dir, 'missing.env'));

    expect(r('${A}-${B}', 'spec.env.X')).toBe('env-a-file-b');
    expect(noFile('x${X}', 'f')).toBe('x1');
    expect(() => r('${NOPE}', 'spec.checkin.secret')).toThrow('Variable ${NOPE} used in spec.checkin.secret is not set');
  });

  it('knows pure references', () => {
    expect([isPureReference('${A}'), isPureReference('${A}${B}'), isPureReference('x${A}'), isPureReference('plain')]).toEqual([true, true, false, false]);
  });
});
