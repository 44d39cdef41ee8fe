import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { testTempDir } from '../system/tempdir.js';

function configIn(dir: string, source: string): string {
  const p = join(dir, 'config.yaml');
  writeFileSync(p, `agent:\n  tenant: acme\nsource:\n${source}`);
  return p;
}

function thrown(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

describe('source/verify-config (source.verify in the agent config)', () => {
  it('is absent by default and makes relative key paths absolute', () => {
    const dir = testTempDir('cronsync-vcfg-');

    const plain = loadConfig({ file: configIn(dir, '  url: https://git.example/r.git\n'), env: {} });
    const head = loadConfig({ file: configIn(dir, '  url: https://git.example/r.git\n  verify: { mode: head, sshAllowedSigners: keys/allowed, openpgpKeys: /etc/k.asc }\n'), env: {}, cwd: dir });

    expect(plain.source.verify).toBeUndefined();
    expect(head.source.verify).toEqual({ mode: 'head', sshAllowedSigners: join(dir, 'keys/allowed'), openpgpKeys: '/etc/k.asc' });
  });

  it('defaults mode to off and takes CRONSYNC_SOURCE_VERIFY_* variables', () => {
    const dir = testTempDir('cronsync-vcfg-');

    const off = loadConfig({ file: configIn(dir, '  url: https://git.example/r.git\n  verify: { openpgpKeys: /k.asc }\n'), env: {} });
    const env = loadConfig({ file: configIn(dir, '  url: https://git.example/r.git\n'), env: { CRONSYNC_SOURCE_VERIFY_MODE: 'head', CRONSYNC_SOURCE_VERIFY_SSH_ALLOWED_SIGNERS: '/a' } });

    expect(off.source.verify).toEqual({ mode: 'off', openpgpKeys: '/k.asc' });
    expect(env.source.verify).toEqual({ mode: 'head', sshAllowedSigners: '/a' });
  });

  it('requires at least one key file with mode head', () => {
    const dir = testTempDir('cronsync-vcfg-');

    const err = thrown(() => loadConfig({ file: configIn(dir, '  url: https://git.example/r.git\n  verify:\n    mode: head\n'), env: {} }));

    expect(err.message).toMatch(/config\.yaml:6:5: source\.verify\.mode head needs trusted keys/);
  });

  it('rejects unknown keys and modes', () => {
    const dir = testTempDir('cronsync-vcfg-');

    const err = thrown(() => loadConfig({ file: configIn(dir, '  url: https://git.example/r.git\n  verify: { mode: all, keys: x }\n'), env: {} }));

    expect(err.message).toContain('mode');
    expect(err.message).toContain('keys');
  });

  it('is a config error on a plain directory source, not on a local Git repository', () => {
    const dir = testTempDir('cronsync-vcfg-');
    const plainDir = join(dir, 'manifests');
    mkdirSync(plainDir);
    const bare = join(dir, 'repo.git');
    for (const d of ['objects', 'refs']) mkdirSync(join(bare, d), { recursive: true });
    writeFileSync(join(bare, 'HEAD'), 'ref: refs/heads/main\n');
    const verify = '  verify: { mode: head, openpgpKeys: /k.asc }\n';

    const err = thrown(() => loadConfig({ file: configIn(dir, `  url: ./manifests\n${verify}`), env: {}, cwd: dir }));
    const ok = loadConfig({ file: configIn(dir, `  url: ./repo.git\n${verify}`), env: {}, cwd: dir });
    const off = loadConfig({ file: configIn(dir, '  url: ./manifests\n  verify: { mode: off }\n'), env: {}, cwd: dir });

    expect(err.message).toMatch(/config\.yaml:\d+:\d+: source\.verify\.mode head needs a Git source, but source\.url \.\/manifests is a plain directory/);
    expect(ok.source.verify?.mode).toBe('head');
    expect(off.source.verify?.mode).toBe('off');
  });
});
