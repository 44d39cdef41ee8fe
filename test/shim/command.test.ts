import { describe, expect, it } from 'vitest';
import { argsPlan, argsRefusalMessage } from '../../src/manifest/args/plan.js';
import { ARGS_REFUSED_EXIT, argsRefusal, shellCommand } from '../../src/shim/command.js';

describe('shim/command', () => {
  describe('POSIX: args appended as "$@"', () => {
    it.each`
      name                              | command                                              | text
      ${'a plain command'}              | ${'pg_dump'}                                         | ${'pg_dump'}
      ${'a | block (trailing newline)'} | ${'pg_dump --format=custom\n'}                       | ${'pg_dump --format=custom'}
      ${'trailing blank lines'}         | ${'pg_dump\n\n  \n\t\n'}                             | ${'pg_dump'}
      ${'a multi-line script'}          | ${'set -e\ncd /srv\n./backup.sh\n'}                  | ${'set -e\ncd /srv\n./backup.sh'}
      ${'a final \\ + newline'}         | ${'pg_dump \\\n  --format=custom \\\n'}              | ${'pg_dump \\\n  --format=custom'}
      ${'an escaped backslash'}         | ${'echo a \\\\'}                                     | ${'echo a \\\\'}
      ${'a comment on an earlier line'} | ${'# nightly\npg_dump # dump\nbackup.sh\n'}          | ${'# nightly\npg_dump # dump\nbackup.sh'}
      ${'a finished here-doc'}          | ${'cat <<EOF >/tmp/x\nhi\nEOF\nbackup.sh\n'}          | ${'cat <<EOF >/tmp/x\nhi\nEOF\nbackup.sh'}
      ${'a pipeline'}                   | ${'dump | gzip'}                                     | ${'dump | gzip'}
      ${'redirections and fd numbers'}  | ${'backup.sh >>/var/log/b.log 2>&1'}                 | ${'backup.sh >>/var/log/b.log 2>&1'}
      ${'assignments before a program'} | ${'PGHOST=db pg_dump'}                               | ${'PGHOST=db pg_dump'}
      ${'reserved words as arguments'}  | ${'echo fi done }'}                                  | ${'echo fi done }'}
      ${'exec with a program'}          | ${'exec /opt/backup'}                                | ${'exec /opt/backup'}
      ${'a quoted expansion'}           | ${'"$PGDUMP"'}                                       | ${'"$PGDUMP"'}
      ${'an expansion and a word'}      | ${'$SUDO pg_dump'}                                   | ${'$SUDO pg_dump'}
      ${'an arithmetic expansion'}      | ${'echo $((1))'}                                     | ${'echo $((1))'}
      ${'# inside a word'}              | ${'echo ${x#pre} $# a#b'}                            | ${'echo ${x#pre} $# a#b'}
      ${'$0, $$ and $#'}                | ${'echo $0 $$1 $# "$$"'}                             | ${'echo $0 $$1 $# "$$"'}
      ${'$@ inside single quotes'}      | ${"awk '{print $@}'"}                                | ${"awk '{print $@}'"}
      ${'substitutions'}                | ${'echo "$(date +%F)" `id -u` $((1+2)) "${x:-it\'s}"'} | ${'echo "$(date +%F)" `id -u` $((1+2)) "${x:-it\'s}"'}
      ${'case inside $()'}              | ${'echo $(case a in a) echo x;; esac)'}              | ${'echo $(case a in a) echo x;; esac)'}
    `('appends after $name', ({ command, text }: { command: string; text: string }) => {
      const plan = argsPlan(command, 'linux');

      expect(plan).toEqual({ kind: 'append', text });
      expect(shellCommand(command, ['--database=prod'], 'linux')).toEqual({ file: '/bin/sh', args: ['-c', `${text} "$@"`, 'sh', '--database=prod'] });
    });

    it.each`
      name                           | command
      ${'"$@"'}                      | ${'pg_dump "$@" --format=custom # nightly'}
      ${'$* in a here-doc'}          | ${'cat <<EOF\nargs: $*\nEOF\n'}
      ${'${@} in double quotes'}     | ${'echo "x${@}y";'}
      ${'$@ in a function'}          | ${'f() { echo "$@"; }; f &'}
      ${'$@ in a substitution'}      | ${'echo `printf %s $@`'}
      ${'$1 as an option value'}     | ${'pg_dump --db="$1" # nightly'}
      ${'${10} in arithmetic'}       | ${'echo $((${10} + 1)) &'}
      ${'$1 as the program'}         | ${'$1'}
    `('leaves the args to a command that places them itself ($name)', ({ command }: { command: string }) => {
      expect(argsPlan(command, 'linux')).toEqual({ kind: 'placed' });
      expect(shellCommand(command, ['a b'], 'linux')).toEqual({ file: '/bin/sh', args: ['-c', command, 'sh', 'a b'] });
    });

    it('never refuses a command without args', () => {
      expect(shellCommand('pg_dump # nightly', [], 'linux')).toEqual({ file: '/bin/sh', args: ['-c', 'pg_dump # nightly'] });
      expect(shellCommand('dir &', [], 'win32')).toEqual({ file: 'C:\\Windows\\System32\\cmd.exe', args: ['/d', '/v:off', '/s', '/c', '"dir &"'], windowsVerbatimArguments: true });
    });

    it('gives the line a refused run reports, and nothing for args that can be passed or no args', () => {
      expect(argsRefusal('pg_dump;', ['x'], 'linux')).toBe(`cronsync: refusing to run: ${argsRefusalMessage({ hazard: 'operator', token: ';' }, 'linux')}`);
      expect(argsRefusal('backup.cmd &', ['x'], 'win32')).toContain('cronsync: refusing to run: spec.args cannot be appended');
      expect(argsRefusal('pg_dump', ['x'], 'linux')).toBeUndefined();
      expect(argsRefusal('pg_dump;', [], 'linux')).toBeUndefined();
    });

    it('replaces a refused command by one that only reports why, the message passed as data', () => {
      const cmd = shellCommand('pg_dump;', ['touch', '/tmp/pwned'], 'linux');

      expect(cmd.file).toBe('/bin/sh');
      expect(cmd.args).toEqual(['-c', `printf '%s\\n' "$1" >&2; exit ${ARGS_REFUSED_EXIT}`, 'sh', expect.stringContaining('cronsync: refusing to run: spec.args cannot be appended')]);
      expect(cmd.args.join(' ')).not.toContain('pg_dump');
      expect(cmd.args.join(' ')).not.toContain('/tmp/pwned');
    });
  });

  describe('Windows: args appended to the cmd.exe line', () => {
    it.each`
      name                           | command                                  | text
      ${'a plain command'}           | ${'dir'}                                 | ${'dir'}
      ${'a trailing CRLF'}           | ${'backup.cmd\r\n'}                      | ${'backup.cmd'}
      ${'a pipeline'}                | ${'type a | sort'}                       | ${'type a | sort'}
      ${'redirections'}              | ${'backup.cmd >>log.txt 2>&1'}           | ${'backup.cmd >>log.txt 2>&1'}
      ${'@ and escapes'}             | ${'@echo a^&b'}                          | ${'@echo a^&b'}
      ${'parentheses as text'}       | ${'echo (a)'}                            | ${'echo (a)'}
      ${'a for loop'}                | ${'for %i in (*) do echo %i'}            | ${'for %i in (*) do echo %i'}
      ${'quotes'}                    | ${'"C:\\Program Files\\x.exe" /q'}       | ${'"C:\\Program Files\\x.exe" /q'}
    `('appends after $name', ({ command, text }: { command: string; text: string }) => {
      expect(argsPlan(command, 'win32')).toEqual({ kind: 'append', text });
      expect(shellCommand(command, ['a b'], 'win32')).toEqual({ file: 'C:\\Windows\\System32\\cmd.exe', args: ['/d', '/v:off', '/s', '/c', `"${text} ^"a^ b^""`], windowsVerbatimArguments: true });
    });

    it('replaces a refused command by one that only echoes a sanitised reason and fails', () => {
      const cmd = shellCommand('backup.cmd & rem x', ['& calc'], 'win32');

      expect(cmd).toEqual({ file: 'C:\\Windows\\System32\\cmd.exe', args: ['/d', '/v:off', '/s', '/c', expect.stringMatching(new RegExp(`^"echo cronsync: refusing to run: [A-Za-z0-9 .,:'-]+ 1>&2 & exit /b ${ARGS_REFUSED_EXIT}"$`))], windowsVerbatimArguments: true });
      expect(cmd.args[4]).not.toContain('calc');
      expect(cmd.args[4]).toContain('run a script that takes them');
    });

    it('refuses an arg with a line break, which cmd.exe would cut there (POSIX passes it whole)', () => {
      const args = ['first', 'line1\nline2', '--after'];

      const cmd = shellCommand('report.exe', args, 'win32');

      expect(cmd.args[4]).toMatch(new RegExp(`^"echo cronsync: refusing to run: spec.args 1 holds a line break.* 1>&2 & exit /b ${ARGS_REFUSED_EXIT}"$`));
      expect(cmd.args[4]).not.toContain('line2');
      expect(argsRefusal('report.exe', args, 'win32')).toBe('cronsync: refusing to run: spec.args[1] holds a line break, which cmd.exe (that starts commands on Windows) cannot pass: it ends the command line there, so the argument would be cut and those after it dropped; pass the text another way (a file, an environment variable in spec.env)');
      expect(argsRefusal('report.exe', ['a\rb'], 'win32')).toContain('spec.args[0] holds a line break');
      expect(argsRefusal('report.exe', args, 'linux')).toBeUndefined();
      expect(shellCommand('report.exe', args, 'linux').args).toEqual(['-c', 'report.exe "$@"', 'sh', ...args]);
    });
  });
});
