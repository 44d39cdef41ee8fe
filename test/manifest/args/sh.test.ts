import { describe, expect, it } from 'vitest';
import { argsPlan, argsRefusalMessage } from '../../../src/manifest/args/plan.js';

describe('manifest/args sh', () => {
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
});
