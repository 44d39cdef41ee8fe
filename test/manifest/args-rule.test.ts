import { describe, expect, it } from 'vitest';
import { loadManifests } from '../../src/manifest/load.js';

const header = 'apiVersion: v1\nkind: Job\nmetadata:\n  name: job-a\n  tenant: acme\nspec:\n  schedule: "0 2 * * *"\n';
/** A manifest whose `command` key is on line 8, column 3. */
const job = (command: string, args = '  args: [touch, /tmp/pwned]\n'): string => `${header}  command: ${command}\n${args}`;

function lint(content: string): ReturnType<typeof loadManifests> {
  return loadManifests([{ path: 'jobs/a.yaml', content }]);
}

describe('manifest/rules command-args', () => {
  it.each`
    name                              | command                                       | col   | says
    ${'| block ending in a comment'}  | ${'|\n    pg_dump\n    # done'}             | ${12} | ${'ends in a comment, so the arguments would be silently dropped'}
    ${'> block ending in a comment'}  | ${'>\n    pg_dump\n    # done\n'}           | ${12} | ${'ends in a comment'}
    ${'trailing comment'}             | ${'"pg_dump # nightly"'}                      | ${12} | ${'ends in a comment'}
    ${'trailing backslash'}           | ${"'pg_dump \\'"}                             | ${12} | ${'line continuation (\\)'}
    ${'here-doc'}                     | ${'|\n    psql <<SQL\n    select 1;\n    SQL'} | ${12} | ${'here-document (<<SQL)'}
    ${'trailing ;'}                   | ${'"pg_dump;"'}                               | ${12} | ${'ends with `;`, so the first argument would run as a command'}
    ${'trailing & in a | block'}      | ${'|\n    pg_dump &'}                         | ${12} | ${'ends with `&`, so the first argument would run as a command'}
    ${'trailing redirection'}         | ${'pg_dump >'}                                | ${12} | ${'used as its file name'}
    ${'assignment only'}              | ${'PGHOST=db'}                                | ${12} | ${'first argument would run as the program'}
    ${'eval'}                         | ${'eval "$CMD"'}                              | ${12} | ${'parse the arguments as shell code'}
    ${'loop'}                         | ${'|\n    for f in *; do\n      gzip "$f"\n    done'} | ${12} | ${'ends with `done`'}
  `('rejects a $name with args as an error at spec.command', ({ command, col, says }: { command: string; col: number; says: string }) => {
    const res = lint(job(command));

    expect(res.issues).toEqual([expect.objectContaining({ file: 'jobs/a.yaml', line: 8, col, path: 'spec.command', rule: 'command-args', severity: 'error' })]);
    expect(res.issues[0]?.message).toContain(says);
    expect(res.issues[0]?.message).toContain('write "$@" in the command where the arguments belong');
    expect(res.jobs).toEqual([]);
  });

  it('reports the line and column of a command that is not the first spec field', () => {
    const res = lint(`${header}  timezone: UTC\n  args: [a]\n  command:   "pg_dump;"\n`);

    expect(res.issues).toEqual([expect.objectContaining({ line: 10, col: 14, rule: 'command-args', severity: 'error' })]);
  });

  it.each`
    name                                   | command                                         | args
    ${'| block (trailing newline)'}        | ${'|\n    pg_dump --format=custom'}             | ${'  args: [--database=prod]\n'}
    ${'> block (trailing newline)'}        | ${'>\n    pg_dump\n    --format=custom'}        | ${'  args: [--database=prod]\n'}
    ${'| block ending in \\'}              | ${'|\n    pg_dump \\\n      --format=custom \\'} | ${'  args: [--database=prod]\n'}
    ${'here-doc followed by a command'}    | ${'|\n    cat <<EOF >/tmp/x\n    hi\n    EOF\n    backup.sh'} | ${'  args: [a]\n'}
    ${'"$@" placed before a comment'}      | ${'pg_dump "$@" # nightly'}                     | ${'  args: [a]\n'}
    ${'"$@" placed before a ;'}            | ${'\'pg_dump "$@";\''}                          | ${'  args: [a]\n'}
    ${'trailing comment without args'}     | ${'pg_dump # nightly'}                          | ${''}
    ${'trailing ; with empty args'}        | ${'"pg_dump;"'}                                 | ${'  args: []\n'}
  `('accepts a $name', ({ command, args }: { command: string; args: string }) => {
    const res = lint(job(command, args));

    expect(res.issues).toEqual([]);
    expect(res.jobs).toHaveLength(1);
  });

  it('warns, without rejecting, when only cmd.exe would mishandle the args', () => {
    const res = lint(job('backup.cmd ^', '  args: [a]\n'));

    expect(res.issues).toEqual([expect.objectContaining({ line: 8, col: 12, rule: 'command-args', severity: 'warning' })]);
    expect(res.issues[0]?.message).toMatch(/^on a Windows agent \(cmd\.exe\): .*line continuation \(\^\)/);
    expect(res.jobs).toHaveLength(1);
  });

  it('warns that an arg with a line break cannot reach a command on a Windows agent, at that arg', () => {
    const res = lint(job('report.sh', '  args: [--title, "two\\nlines"]\n'));

    expect(res.issues).toEqual([expect.objectContaining({ line: 9, path: 'spec.args.1', rule: 'command-args', severity: 'warning' })]);
    expect(res.issues[0]?.message).toMatch(/^on a Windows agent: spec\.args\[1\] holds a line break/);
    expect(res.jobs).toHaveLength(1);
  });

  it('does not warn about cmd.exe for a multi-line sh script', () => {
    const res = lint(job('|\n    cd /srv\n    ./backup.sh', '  args: [a]\n'));

    expect(res.issues).toEqual([]);
  });
});
