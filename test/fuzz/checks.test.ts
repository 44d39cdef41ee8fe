/**
 * The fuzz checkers can fail: each passes the real rendering of some jobs and reports an
 * injected line, element, setting or record in it.
 */
import { describe, expect, it } from 'vitest';
import { registeredKinds } from '../../src/scheduler/registry.js';
import type { SchedulerKind } from '../../src/scheduler/types.js';
import { desired } from '../scheduler/fixtures.js';
import { fuzzKind } from './harness.js';
import type { Written } from './harness.js';

/** Adds something nobody meant to the first file of a rendering. */
const INJECT: Partial<Record<SchedulerKind, (text: string) => string>> = {
  'cron.d': (t) => `${t}* * * * * root /bin/evil\n`,
  crontab: (t) => t.replace(/^# END /m, '* * * * * /bin/evil\n# END '),
  windows: (t) => t.replace('</Exec>', '</Exec>\r\n    <Exec><Command>evil.exe</Command></Exec>'),
  systemd: (t) => `${t}ExecStartPost=/bin/evil\n`,
  embedded: (t) => t.replace('"jobs": [', '"jobs": [\n    {"source":"src-1a2b3c","job":"acme/evil","commit":null,"path":"x","index":0,"hash":"h","schedule":"* * * * *","timezone":"UTC","paused":false},'),
};

const jobs = [desired('backup', '0 2 * * *', { timezone: 'America/New_York' }), desired('held', '*/10 * * * *', { paused: true })];

describe.each(registeredKinds())('fuzz checker: %s', (kind) => {
  it('passes the real rendering and reports an injection into it', async () => {
    const inject = INJECT[kind];
    expect(inject, `add an injection for "${kind}" in test/fuzz/checks.test.ts`).toBeTypeOf('function');
    const k = fuzzKind(kind);
    const h = await k.make();
    try {
      const files: Written[] = h.adapter.render(jobs).files.map((f) => ({ name: h.name(f.name), text: f.content }));
      const tampered = [{ ...files[0]!, text: inject!(files[0]!.text) }, ...files.slice(1)];

      expect(k.check(files, jobs)).toEqual([]);
      expect(tampered[0]!.text).not.toBe(files[0]!.text);
      expect(k.check(tampered, jobs).length).toBeGreaterThan(0);
      expect(k.check(files, jobs.slice(1)).length).toBeGreaterThan(0);
    } finally {
      await h.cleanup();
    }
  });
});
