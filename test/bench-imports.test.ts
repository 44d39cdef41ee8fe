/**
 * The benches are not run by `npm test` (they take minutes), so nothing else notices when a
 * rename in src/ breaks one: the lint bench imported a walk function renamed a session earlier
 * and failed in the next `npm run bench`. Every named import a bench takes from dist/ must exist.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './e2e/fixtures/sync-cli.js';

const ROOT = resolve(import.meta.dirname, '..');

/** Every .mjs file under bench/. */
function benchFiles(dir = join(ROOT, 'bench')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? benchFiles(join(dir, e.name)) : e.name.endsWith('.mjs') ? [join(dir, e.name)] : []));
}

/** `import { a, b as c } from '…/dist/….js'` of `file`: the module path and the names. */
function distImports(file: string): { module: string; names: string[] }[] {
  const src = readFileSync(file, 'utf8');
  return [...src.matchAll(/^import\s*\{([^}]*)\}\s*from\s*'(\.[^']*\/dist\/[^']+)'/gm)].map((m) => ({
    module: resolve(dirname(file), m[2]!),
    names: m[1]!.split(',').map((n) => n.trim().split(/\s+as\s+/)[0]!).filter(Boolean),
  }));
}

describe('bench scripts', () => {
  beforeAll(async () => {
    await ensureBuilt();
  }, 180_000);

  it('import from dist/ only names its modules export', async () => {
    const imports = benchFiles().flatMap((f) => distImports(f).map((i) => ({ ...i, file: f.slice(ROOT.length + 1) })));
    const missing: string[] = [];

    for (const { file, module, names } of imports) {
      const mod = (await import(pathToFileURL(module).href)) as Record<string, unknown>;
      for (const n of names) if (!(n in mod)) missing.push(`${file}: ${n} from ${module.slice(ROOT.length + 1)}`);
    }

    expect(imports.length).toBeGreaterThanOrEqual(5);
    expect(missing).toEqual([]);
  });
});
