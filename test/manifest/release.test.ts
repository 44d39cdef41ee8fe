import { createRequire } from 'node:module';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BUNDLED_YAML, parseManifestFile, releaseYaml } from '../../src/manifest/parse.js';
import { loadValidator, releaseValidator } from '../../src/manifest/precompiled.js';
import { testTempDir } from '../system/tempdir.js';

const require = createRequire(import.meta.url);
const yamlRoot = require.resolve('yaml').replace(/dist[/\\]index\.js$/, '');
const yamlModules = (): string[] => Object.keys(require.cache).filter((id) => id === BUNDLED_YAML || id.startsWith(yamlRoot));

describe('manifest/release', () => {
  it('releaseYaml drops the yaml package from the require cache; the next parse loads it again and earlier documents still locate fields', () => {
    const before = parseManifestFile('a.yaml', 'a:\n  b: 1\n');

    releaseYaml();
    const released = yamlModules();
    const after = parseManifestFile('b.yaml', 'c: [1, 2]\n');

    expect(released).toEqual([]);
    expect(yamlModules().length).toBeGreaterThan(0);
    expect(before.documents[0]!.locate(['a', 'b'])).toEqual({ line: 2, col: 6 });
    expect(after.documents[0]!.value).toEqual({ c: [1, 2] });
  });

  it('parses with the bundled env-free yaml build (npm test builds it first), whose parser reads no environment variable per token', () => {
    parseManifestFile('a.yaml', 'a: 1\n');
    const env = process.env;
    let reads = 0;
    process.env = new Proxy(env, { get: (target, key) => { reads++; return Reflect.get(target, key); } });
    let parsed;
    try {
      parsed = parseManifestFile('b.yaml', 'a: [1, 2, 3]\nb: { c: d }\n');
    } finally {
      process.env = env;
    }

    expect(existsSync(BUNDLED_YAML)).toBe(true);
    expect(yamlModules()).toEqual([BUNDLED_YAML]);
    expect(reads).toBe(0);
    expect(parsed.documents[0]!.value).toEqual({ a: [1, 2, 3], b: { c: 'd' } });
  });

  it('releaseValidator drops a precompiled validator and its runtime helpers from the require cache, and loads it again on demand', () => {
    const dir = testTempDir('cronsync-release-');
    writeFileSync(join(dir, 'helper.cjs'), 'module.exports = (x) => typeof x === "number";\n');
    writeFileSync(join(dir, 'x.v1.validate.cjs'), 'const isNumber = require("./helper.cjs");\nmodule.exports = (v) => isNumber(v);\n');
    const url = pathToFileURL(join(dir, 'x.v1.schema.json'));
    const cached = (): string[] => Object.keys(require.cache).filter((id) => id.startsWith(dir));

    const first = loadValidator(url, () => ({}));
    const loaded = cached();
    const released = releaseValidator(url);
    const again = loadValidator(url, () => ({}));

    expect([first(1), first('1')]).toEqual([true, false]);
    expect(loaded.sort()).toEqual([join(dir, 'helper.cjs'), join(dir, 'x.v1.validate.cjs')]);
    expect(released).toBe(true);
    expect(again).not.toBe(first);
    expect(again(2)).toBe(true);
  });

  it('releaseValidator keeps a validator compiled at run time (no precompiled module): compiling again is slow', () => {
    const url = pathToFileURL(join(testTempDir('cronsync-release-'), 'y.v1.schema.json'));

    expect(releaseValidator(url)).toBe(false);
  });
});
