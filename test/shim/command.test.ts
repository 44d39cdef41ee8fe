import { describe, expect, it } from 'vitest';
import { ARGS_REFUSED_EXIT, argsPlan, argsRefusalMessage, shellCommand } from '../../src/shim/command.js';

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

    it.each`
      name                              | command                                       | hazard            | token
      ${'a trailing comment'}           | ${'pg_dump # nightly'}                        | ${'comment'}      | ${'# nightly'}
      ${'a | block ending in a comment'}| ${'pg_dump\n# done\n'}                        | ${'comment'}      | ${'# done'}
      ${'a final backslash'}            | ${'pg_dump \\'}                               | ${'continuation'} | ${'\\'}
      ${'a here-doc at the end'}        | ${'cat <<EOF\nhi\nEOF\n'}                     | ${'heredoc'}      | ${'<<EOF'}
      ${'a quoted here-doc'}            | ${"psql <<-'SQL'\n\tselect $@;\n\tSQL"}       | ${'heredoc'}      | ${'<<SQL'}
      ${'an unterminated here-doc'}     | ${'cat <<EOF\nhi\n'}                          | ${'heredoc'}      | ${'<<EOF'}
      ${'a here-doc operator last'}     | ${'cat <<EOF'}                                | ${'heredoc'}      | ${'<<EOF'}
      ${'a trailing ;'}                 | ${'pg_dump;'}                                 | ${'operator'}     | ${';'}
      ${'a trailing ; in a | block'}    | ${'pg_dump;\n'}                               | ${'operator'}     | ${';'}
      ${'a trailing &'}                 | ${'pg_dump &'}                                | ${'operator'}     | ${'&'}
      ${'a trailing |'}                 | ${'pg_dump |'}                                | ${'operator'}     | ${'|'}
      ${'a trailing &&'}                | ${'cd /srv &&'}                               | ${'operator'}     | ${'&&'}
      ${'a trailing ||'}                | ${'cd /srv ||'}                               | ${'operator'}     | ${'||'}
      ${'a trailing !'}                 | ${'!'}                                        | ${'operator'}     | ${'!'}
      ${'a trailing then'}              | ${'if true; then'}                            | ${'operator'}     | ${'then'}
      ${'a trailing redirection'}       | ${'pg_dump >'}                                | ${'redirect'}     | ${'>'}
      ${'a trailing fi'}                | ${'if true; then a; fi'}                      | ${'compound'}     | ${'fi'}
      ${'a trailing done'}              | ${'for f in *; do gzip "$f"; done'}           | ${'compound'}     | ${'done'}
      ${'a trailing esac'}              | ${'case $x in a) b;; esac'}                   | ${'compound'}     | ${'esac'}
      ${'a trailing }'}                 | ${'{ a; b; }'}                                | ${'compound'}     | ${'}'}
      ${'a trailing subshell'}          | ${'(cd /srv && make) >log'}                   | ${'compound'}     | ${')'}
      ${'an unfinished for'}            | ${'for f in a b'}                             | ${'compound'}     | ${'for'}
      ${'only an assignment'}           | ${'PGHOST=db'}                                | ${'no-program'}   | ${''}
      ${'only a redirection'}           | ${'2>/dev/null'}                              | ${'no-program'}   | ${''}
      ${'an empty command'}             | ${' \n'}                                      | ${'no-program'}   | ${''}
      ${'a lone exec'}                  | ${'exec 2>&1'}                                | ${'no-program'}   | ${'exec'}
      ${'a lone command'}               | ${'command'}                                  | ${'no-program'}   | ${'command'}
      ${'a lone .'}                     | ${'.'}                                        | ${'no-program'}   | ${'.'}
      ${'a lone trap'}                  | ${'trap'}                                     | ${'no-program'}   | ${'trap'}
      ${'eval'}                         | ${'eval "$BACKUP_CMD"'}                       | ${'eval'}         | ${'eval'}
      ${'a quoted eval'}                | ${'"ev"al $x'}                                | ${'eval'}         | ${'eval'}
      ${'a program that may vanish'}    | ${'$PGDUMP'}                                  | ${'vanish'}       | ${'$PGDUMP'}
      ${'only expansions'}              | ${'PGHOST=db ${TOOL}$(which x) `y`'}          | ${'vanish'}       | ${'${TOOL}$(which x)'}
      ${'exec and an expansion'}        | ${'exec $TOOL'}                               | ${'no-program'}   | ${'exec'}
      ${"an open '"}                    | ${"echo 'abc"}                                | ${'quote'}        | ${"'"}
      ${'an open "'}                    | ${'echo "abc'}                                | ${'quote'}        | ${'"'}
      ${'an open `'}                    | ${'echo `date'}                               | ${'quote'}        | ${'`'}
      ${'an open $('}                   | ${'echo $(date'}                              | ${'quote'}        | ${'$('}
      ${'an open ${'}                   | ${'echo ${x'}                                 | ${'quote'}        | ${'${'}
      ${'an open ('}                    | ${'(cd /srv; make'}                           | ${'quote'}        | ${'('}
    `('refuses $name', ({ command, hazard, token }: { command: string; hazard: string; token: string }) => {
      const plan = argsPlan(command, 'linux');

      expect(plan).toEqual({ kind: 'refuse', hazard, token });
    });

    it('refuses, without exhausting the stack, substitutions nested deeper than 64', () => {
      const deep = (n: number): string => `echo ${'$(echo '.repeat(n)}${')'.repeat(n)}`;

      expect(argsPlan(deep(64), 'linux')).toEqual({ kind: 'append', text: deep(64) });
      expect(argsPlan(deep(65), 'linux')).toMatchObject({ kind: 'refuse', hazard: 'quote' });
      expect(argsPlan('"$('.repeat(1365), 'linux')).toMatchObject({ kind: 'refuse', hazard: 'quote' });
      expect(argsRefusalMessage({ hazard: 'vanish', token: '`'.repeat(4000) }, 'linux').length).toBeLessThan(400);
    });

    it('never refuses a command without args', () => {
      expect(shellCommand('pg_dump # nightly', [], 'linux')).toEqual({ file: '/bin/sh', args: ['-c', 'pg_dump # nightly'] });
      expect(shellCommand('dir &', [], 'win32')).toEqual({ file: 'cmd.exe', args: ['/d', '/s', '/c', '"dir &"'], windowsVerbatimArguments: true });
    });

    it('replaces a refused command by one that only reports why, the message passed as data', () => {
      const cmd = shellCommand('pg_dump;', ['touch', '/tmp/pwned'], 'linux');

      expect(cmd.file).toBe('/bin/sh');
      expect(cmd.args).toEqual(['-c', `printf '%s\\n' "$1" >&2; exit ${ARGS_REFUSED_EXIT}`, 'sh', expect.stringContaining('cronsync: refusing to run: spec.args cannot be appended')]);
      expect(cmd.args.join(' ')).not.toContain('pg_dump');
      expect(cmd.args.join(' ')).not.toContain('/tmp/pwned');
    });

    it('says why and what to write instead', () => {
      expect(argsRefusalMessage({ hazard: 'comment', token: '# x' }, 'linux')).toBe('spec.args cannot be appended to this command: the last line of the command ends in a comment, so the arguments would be silently dropped; write "$@" in the command where the arguments belong (cronsync then appends nothing), or put them into the command');
      expect(argsRefusalMessage({ hazard: 'operator', token: ';' }, 'linux')).toContain('ends with `;`, so the first argument would run as a command');
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
      expect(shellCommand(command, ['a b'], 'win32')).toEqual({ file: 'cmd.exe', args: ['/d', '/s', '/c', `"${text} ^"a^ b^""`], windowsVerbatimArguments: true });
    });

    it.each`
      name                      | command                          | hazard            | token
      ${'a line break'}         | ${'backup.cmd\r\necho done'}     | ${'multiline'}    | ${''}
      ${'a trailing &'}         | ${'backup.cmd &'}                | ${'operator'}     | ${'&'}
      ${'a trailing &&'}        | ${'backup.cmd &&'}               | ${'operator'}     | ${'&&'}
      ${'a trailing |'}         | ${'backup.cmd |'}                | ${'operator'}     | ${'|'}
      ${'a trailing ||'}        | ${'backup.cmd ||'}               | ${'operator'}     | ${'||'}
      ${'rem'}                  | ${'backup.cmd & REM nightly'}    | ${'comment'}      | ${'REM'}
      ${'::'}                   | ${':: nightly'}                  | ${'comment'}      | ${'::'}
      ${'a trailing ^'}         | ${'backup.cmd ^'}                | ${'continuation'} | ${'^'}
      ${'a trailing ^ + CRLF'}  | ${'backup.cmd ^\r\n'}            | ${'continuation'} | ${'^'}
      ${'a trailing >'}         | ${'backup.cmd >'}                | ${'redirect'}     | ${'>'}
      ${'an open quote'}        | ${'echo "abc'}                   | ${'quote'}        | ${'"'}
      ${'an open block'}        | ${'if exist x (echo a'}          | ${'quote'}        | ${'('}
      ${'a closed block'}       | ${'if exist x (echo a)'}         | ${'compound'}     | ${')'}
      ${'a redirected block'}   | ${'(dir & echo a) >log.txt'}     | ${'compound'}     | ${')'}
      ${'only a redirection'}   | ${'>out.txt'}                    | ${'no-program'}   | ${''}
      ${'nothing'}              | ${'\r\n'}                        | ${'no-program'}   | ${''}
    `('refuses $name', ({ command, hazard, token }: { command: string; hazard: string; token: string }) => {
      expect(argsPlan(command, 'win32')).toEqual({ kind: 'refuse', hazard, token });
    });

    it('replaces a refused command by one that only echoes a sanitised reason and fails', () => {
      const cmd = shellCommand('backup.cmd & rem x', ['& calc'], 'win32');

      expect(cmd).toEqual({ file: 'cmd.exe', args: ['/d', '/s', '/c', expect.stringMatching(new RegExp(`^"echo cronsync: refusing to run: [A-Za-z0-9 .,:'-]+ 1>&2 & exit /b ${ARGS_REFUSED_EXIT}"$`))], windowsVerbatimArguments: true });
      expect(cmd.args[3]).not.toContain('calc');
      expect(cmd.args[3]).toContain('run a script that takes them');
    });
  });
});
