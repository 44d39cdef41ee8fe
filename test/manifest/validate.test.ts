import { describe, expect, it } from 'vitest';
import { loadManifests } from '../../src/manifest/load.js';

const header = 'apiVersion: v1\nkind: Job\nmetadata:\n  name: job-a\n  tenant: acme\nspec:\n';
/** A manifest whose spec lines start at line 7. */
const job = (specLines: string): string => header + specLines;

describe('manifest/validate', () => {
  it('returns a typed Job with every default applied', () => {
    const res = loadManifests([{ path: 'a.yaml', content: job('  schedule: "0 2 * * *"\n  command: /bin/true\n') }]);

    expect(res.issues).toEqual([]);
    expect(res.jobs[0]!.job).toEqual({
      apiVersion: 'v1', kind: 'Job',
      metadata: { name: 'job-a', tenant: 'acme', labels: {}, annotations: {} },
      spec: {
        schedule: '0 2 * * *', timezone: 'UTC', command: '/bin/true', args: [], env: {},
        checkin: { enabled: true, timeout: 3600 },
        retry: { enabled: false, attempts: 3, backoff: 'exponential', delay: '10s', maxDelay: '5m' },
        agent: { selector: {} }, enabled: true, paused: false, concurrency: 'Forbid',
      },
    });
  });

  it.each`
    name                         | spec                                                                                 | rule
    ${'every field'}             | ${'  schedule: "*/15 9-17 * JAN-JUN mon-fri"\n  timezone: Australia/Lord_Howe\n  command: run\n  args: [a, "b c"]\n  workingDir: /srv\n  env: { A_1: x }\n  checkin: { enabled: false, secret: "${S}", timeout: 60 }\n  retry: { enabled: true, attempts: 0, backoff: fixed, delay: 1s, maxDelay: 1s }\n  agent: { selector: { hostname: h1, role: db } }\n  enabled: true\n  paused: true\n  timeout: 1h30m\n  concurrency: Replace\n'} | ${''}
    ${'steps'}                   | ${'  schedule: "@weekly"\n  steps:\n    - { name: a, run: "true" }\n    - { name: b, run: "false", timeout: 5m, onFailure: continue, retry: { enabled: true } }\n'} | ${''}
    ${'half-hour DST zone'}      | ${'  schedule: "0 1 * * *"\n  timezone: Australia/Lord_Howe\n  command: /bin/true\n'} | ${''}
    ${'Feb 29 only'}             | ${'  schedule: "0 0 29 2 *"\n  command: /bin/true\n'}                             | ${''}
    ${'31 Feb or Monday'}        | ${'  schedule: "0 0 31 2 1"\n  command: /bin/true\n'}                             | ${''}
  `('accepts $name', ({ spec }) => {
    const res = loadManifests([{ path: 'a.yaml', content: job(spec as string) }]);

    expect(res.issues.filter((i) => i.severity === 'error')).toEqual([]);
    expect(res.jobs).toHaveLength(1);
  });

  it.each`
    name                     | spec                                                                 | rule                    | line  | col
    ${'seconds field'}       | ${'  schedule: "0 0 2 * * *"\n  command: /bin/true\n'}               | ${'cron-fields'}        | ${7}  | ${14}
    ${'L'}                   | ${'  schedule: "0 0 L * *"\n  command: /bin/true\n'}                 | ${'cron-unsupported'}   | ${7}  | ${18}
    ${'#'}                   | ${'  schedule: "0 0 * * 1#2"\n  command: /bin/true\n'}               | ${'cron-unsupported'}   | ${7}  | ${23}
    ${'H'}                   | ${'  schedule: "H 0 * * *"\n  command: /bin/true\n'}                 | ${'cron-unsupported'}   | ${7}  | ${14}
    ${'?'}                   | ${"  schedule: '0 0 ? * *'\n  command: /bin/true\n"}                 | ${'cron-unsupported'}   | ${7}  | ${18}
    ${'@reboot'}             | ${'  schedule: "@reboot"\n  command: /bin/true\n'}                   | ${'cron-reboot'}        | ${7}  | ${14}
    ${'minute out of range'} | ${'  schedule: 60 0 * * *\n  command: /bin/true\n'}                  | ${'cron-range'}         | ${7}  | ${13}
    ${'hour out of range'}   | ${'  schedule: "0 24 * * *"\n  command: /bin/true\n'}                | ${'cron-range'}         | ${7}  | ${16}
    ${'never fires'}         | ${'  schedule: "0 0 31 2 *"\n  command: /bin/true\n'}                | ${'cron-never-fires'}   | ${7}  | ${13}
    ${'bad timezone'}        | ${'  schedule: "0 0 * * *"\n  timezone: Mars/Olympus\n  command: x\n'} | ${'timezone'}        | ${8}  | ${13}
    ${'timezone case'}       | ${'  schedule: "0 0 * * *"\n  timezone: europe/berlin\n  command: x\n'} | ${'timezone'}      | ${8}  | ${13}
    ${'ICU-only timezone'}   | ${'  schedule: "0 0 * * *"\n  timezone: US/Pacific-New\n  command: x\n'} | ${'timezone'}     | ${8}  | ${13}
    ${'unknown field'}       | ${'  schedule: "0 0 * * *"\n  comand: /bin/true\n'}                  | ${'unknown-field'}      | ${8}  | ${3}
    ${'no command'}          | ${'  schedule: "0 0 * * *"\n'}                                       | ${'command-or-steps'}   | ${7}  | ${3}
    ${'command and steps'}   | ${'  schedule: "0 0 * * *"\n  command: x\n  steps: [{name: a, run: b}]\n'} | ${'command-or-steps'} | ${9} | ${3}
    ${'env name'}            | ${'  schedule: "0 0 * * *"\n  command: x\n  env: { 1BAD: v }\n'}     | ${'env-name'}           | ${9}  | ${10}
    ${'env value NUL'}       | ${'  schedule: "0 0 * * *"\n  command: x\n  env: { A: "a\\0b" }\n'} | ${'env-value'}          | ${9}  | ${13}
    ${'env value number'}    | ${'  schedule: "0 0 * * *"\n  command: x\n  env: { PORT: 8080 }\n'}  | ${'schema'}             | ${9}  | ${16}
    ${'relative workingDir'} | ${'  schedule: "0 0 * * *"\n  command: x\n  workingDir: srv/app\n'}  | ${'working-dir'}        | ${9}  | ${15}
    ${'timeout too long'}    | ${'  schedule: "0 0 * * *"\n  command: x\n  timeout: 200h\n'}        | ${'duration-range'}     | ${9}  | ${12}
    ${'bad duration'}        | ${'  schedule: "0 0 * * *"\n  command: x\n  timeout: 5 minutes\n'}   | ${'schema'}             | ${9}  | ${12}
    ${'too many retries'}    | ${'  schedule: "0 0 * * *"\n  command: x\n  retry: { attempts: 50 }\n'} | ${'schema'}         | ${9}  | ${22}
    ${'delay over maxDelay'} | ${'  schedule: "0 0 * * *"\n  command: x\n  retry:\n    delay: 10m\n    maxDelay: 1m\n'} | ${'duration-range'} | ${10} | ${12}
    ${'bad concurrency'}     | ${'  schedule: "0 0 * * *"\n  command: x\n  concurrency: forbid\n'}  | ${'schema'}             | ${9}  | ${16}
    ${'label not a string'}  | ${'  schedule: "0 0 * * *"\n  command: x\n'}                         | ${'schema'}             | ${7}  | ${3}
    ${'duplicate step'}      | ${'  schedule: "0 0 * * *"\n  steps:\n    - { name: a, run: b }\n    - { name: a, run: c }\n'} | ${'step-name-unique'} | ${10} | ${15}
  `('rejects $name with [$rule] at $line:$col', ({ name, spec, rule, line, col }) => {
    let text = job(spec as string);
    if (name === 'label not a string') text = text.replace('  tenant: acme\n', '  tenant: acme\n  labels: { protect: true }\n').replace('spec:\n', 'spec:\n');

    const res = loadManifests([{ path: 'bad.yaml', content: text }]);

    const errors = res.issues.filter((i) => i.severity === 'error');
    expect(errors.find((i) => i.rule === rule)).toMatchObject({ file: 'bad.yaml', rule, line: name === 'label not a string' ? 6 : line, col: name === 'label not a string' ? 22 : col });
    expect(res.jobs).toEqual([]);
  });

  it.each`
    value        | says
    ${'forbid'}  | ${'spec.concurrency must be one of "Allow", "Forbid", "Replace" (did you mean "Forbid"?)'}
    ${'Replce'}  | ${'spec.concurrency must be one of "Allow", "Forbid", "Replace" (did you mean "Replace"?)'}
    ${'never'}   | ${'spec.concurrency must be one of "Allow", "Forbid", "Replace"'}
    ${'Repl'}    | ${'spec.concurrency must be one of "Allow", "Forbid", "Replace"'}
  `('a value out of its list ($value) names the allowed ones, and the one meant when it is a near miss', ({ value, says }: { value: string; says: string }) => {
    const res = loadManifests([{ path: 'c.yaml', content: job(`  schedule: "0 0 * * *"\n  command: x\n  concurrency: ${value}\n`) }]);

    expect(res.issues.filter((i) => i.severity === 'error').map((i) => i.message)).toEqual([says]);
  });

  it('names the spelling meant by a time zone off only in letter case', () => {
    const res = loadManifests([{ path: 'z.yaml', content: job('  schedule: "30 2 * * *"\n  timezone: europe/berlin\n  command: x\n') }]);

    expect(res.issues.map((i) => `${i.line}:${i.col} ${i.severity} [${i.rule}] ${i.message}`)).toEqual([
      '8:13 error [timezone] unknown time zone "europe/berlin" (did you mean "Europe/Berlin"?)',
    ]);
    expect(res.jobs).toEqual([]);
  });

  it('reports a file the source could not read at its path, and loads the others', () => {
    const res = loadManifests([
      { path: 'big.yaml', content: '', error: 'file is 2097152 bytes; manifests are limited to 1 MiB' },
      { path: 'ok.yaml', content: job('  schedule: "0 2 * * *"\n  command: /bin/true\n') },
    ]);

    expect(res.issues).toEqual([expect.objectContaining({ file: 'big.yaml', line: 1, col: 1, rule: 'source-file', severity: 'error' })]);
    expect(res.brokenFiles).toEqual(new Set(['big.yaml']));
    expect(res.jobs).toHaveLength(1);
  });

  it.each([['name: db-Backup'], ['name: "db-backup "'], ['tenant: ACME'], ['name: db_backup']])('does not take the invalid id of %s for a job, and marks its file as broken', (typo) => {
    const text = job('  schedule: "0 0 * * *"\n  command: x\n').replace(typo.startsWith('tenant') ? 'tenant: acme' : /name: \S+/, typo);

    const res = loadManifests([{ path: 'typo.yaml', content: text }]);

    expect(res.jobs).toEqual([]);
    expect(res.invalidIds).toEqual(new Set());
    expect(res.brokenFiles).toEqual(new Set(['typo.yaml']));
  });

  it('marks a file broken when any of its documents is invalid, even one that names a valid id', () => {
    const res = loadManifests([{ path: 'two.yaml', content: `${job('  schedule: "0 0 * * *"\n  command: x\n')}---\n${job('  schedule: "0 99 * * *"\n  command: x\n').replace(/name: \S+/, 'name: renamed')}` }]);

    expect(res.jobs).toHaveLength(1);
    expect(res.invalidIds).toEqual(new Set(['acme/renamed']));
    expect(res.brokenFiles).toEqual(new Set(['two.yaml']));
  });

  it('rejects other apiVersion and kind values', () => {
    const res = loadManifests([{ path: 'k.yaml', content: 'apiVersion: v2\nkind: CronJob\nmetadata: {}\n' }]);

    expect(res.issues).toEqual([expect.objectContaining({ rule: 'kind', line: 1, col: 13, message: 'apiVersion must be "v1" (got "v2"); kind must be "Job" (got "CronJob")' })]);
  });

  it('requires names unique within a tenant across files and names both places', () => {
    const a = job('  schedule: "0 0 * * *"\n  command: x\n');
    const other = a.replace('tenant: acme', 'tenant: other');

    const res = loadManifests([{ path: 'a.yaml', content: a }, { path: 'b.yaml', content: `${other}---\n${a}` }]);

    expect(res.issues.map((i) => `${i.file}:${i.line}:${i.col} ${i.rule}`)).toEqual(['a.yaml:4:9 name-unique', 'b.yaml:13:9 name-unique']);
    expect(res.issues[0]!.message).toContain('b.yaml:13:9');
    expect(res.jobs.map((j) => `${j.job.metadata.tenant}/${j.job.metadata.name}`)).toEqual(['other/job-a']);
  });

  it('warns about a literal check-in secret and an unknown bare command', () => {
    const res = loadManifests(
      [{ path: 'w.yaml', content: job('  schedule: "0 0 * * *"\n  command: nosuchcmd --x\n  checkin: { secret: hunter2 }\n') }],
      { commandExists: (n) => n === 'ls' },
    );

    expect(res.issues.map((i) => [i.rule, i.severity, i.line])).toEqual([['command-not-found', 'warning', 8], ['secret-literal', 'warning', 9]]);
    expect(res.issues.map((i) => i.message).join(' ')).not.toContain('hunter2');
    expect(res.jobs).toHaveLength(1);
  });

  it('reports a duplicate key, a bad cron field, an unknown field and a bad timezone together', () => {
    const text = [
      'apiVersion: v1', 'kind: Job', 'metadata:', '  name: four', '  tenant: acme', '  name: four-again',
      'spec:', '  schedule: "0 25 * * *"', '  timezone: Nowhere/Land', '  command: /bin/true', '  retries: 3', '',
    ].join('\n');

    const res = loadManifests([{ path: 'four.yaml', content: text }]);

    expect(res.issues.map((i) => `${i.line}:${i.col} ${i.rule}`)).toEqual([
      '6:3 yaml-duplicate-key', '8:16 cron-range', '9:13 timezone', '11:3 unknown-field',
    ]);
    expect(res.jobs).toEqual([]);
  });
});
