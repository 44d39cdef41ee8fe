import { describe, expect, it } from 'vitest';
import { loadManifests } from '../../src/manifest/load.js';

const job = (user: string): string => `apiVersion: v1\nkind: Job\nmetadata:\n  name: job-a\n  tenant: acme\nspec:\n  schedule: "0 2 * * *"\n  command: /bin/true\n  user: ${user}\n`;

describe('manifest/validate spec.user', () => {
  it.each(['backup', 'svc-jobs', '_apt', 'Debian-exim', 'www.data', 'machine$', '"root"'])('accepts %s', (user) => {
    const res = loadManifests([{ path: 'a.yaml', content: job(user) }]);

    expect(res.issues).toEqual([]);
    expect(res.jobs[0]?.job.spec.user).toBe(user.replaceAll('"', ''));
  });

  it.each(['"0"', '"1001"', '"a b"', '"../x"', '"-rf"', '"x:y"', '""', `"${'a'.repeat(65)}"`, '[root]'])('rejects %s at its line', (user) => {
    const res = loadManifests([{ path: 'a.yaml', content: job(user) }]);

    expect(res.jobs).toEqual([]);
    const errors = res.issues.filter((i) => i.severity === 'error');
    expect(errors.length).toBeGreaterThan(0);
    expect(new Set(errors.map((i) => `${i.line} ${i.path}`))).toEqual(new Set(['9 spec.user']));
  });
});
