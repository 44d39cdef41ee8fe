import { describe, expect, it } from 'vitest';
import { makeDirUnselected, makeMatcher } from '../../src/source/select.js';

describe('source/select: directories no selected file can be under', () => {
  it.each`
    paths                                  | exclude                   | dir                        | want
    ${['production/**/*.yaml']}            | ${[]}                     | ${'lost+found'}            | ${'paths'}
    ${['production/**/*.yaml']}            | ${[]}                     | ${'staging/team'}          | ${'paths'}
    ${['production/**/*.yaml']}            | ${[]}                     | ${'production'}            | ${null}
    ${['production/**/*.yaml']}            | ${[]}                     | ${'production/a/b'}        | ${null}
    ${['production/**/*.yaml']}            | ${[]}                     | ${'production/.cache'}     | ${'paths'}
    ${['production/*.yaml']}               | ${[]}                     | ${'production/team'}       | ${'paths'}
    ${['*.yaml']}                          | ${[]}                     | ${'team'}                  | ${'paths'}
    ${['a.yaml']}                          | ${[]}                     | ${'a.yaml'}                | ${'paths'}
    ${['teams/*/jobs/*.yaml']}             | ${[]}                     | ${'teams/ops/tmp'}         | ${'paths'}
    ${['teams/*/jobs/*.yaml']}             | ${[]}                     | ${'teams/ops'}             | ${null}
    ${undefined}                           | ${[]}                     | ${'lost+found'}            | ${null}
    ${undefined}                           | ${[]}                     | ${'.Trash-0'}              | ${'paths'}
    ${undefined}                           | ${[]}                     | ${'a/.snapshot/b'}         | ${'paths'}
    ${['**/.config/*.yaml']}               | ${[]}                     | ${'x/.config'}             | ${null}
    ${['**/prod/*.yaml']}                  | ${[]}                     | ${'lost+found'}            | ${null}
    ${['{production,staging}/*.yaml']}     | ${[]}                     | ${'lost+found'}            | ${'paths'}
    ${['{production,lost+found/x}/*.yaml']} | ${[]}                    | ${'lost+found'}            | ${null}
    ${['a/@(b|c/d)/*.yaml']}               | ${[]}                     | ${'a/c'}                   | ${null}
    ${['a/!(tmp)/*.yaml']}                 | ${[]}                     | ${'a/tmp'}                 | ${null}
    ${['!production/**']}                  | ${[]}                     | ${'lost+found'}            | ${null}
    ${['./production/*.yaml']}             | ${[]}                     | ${'lost+found'}            | ${null}
    ${['a\\/b/*.yaml']}                    | ${[]}                     | ${'lost+found'}            | ${null}
    ${['production/**/*.yaml', 'x/*.yaml']} | ${[]}                    | ${'x'}                     | ${null}
    ${undefined}                           | ${['scratch/**']}         | ${'scratch'}               | ${'exclude'}
    ${undefined}                           | ${['scratch/**']}         | ${'scratch/a/b'}           | ${'exclude'}
    ${undefined}                           | ${['**/tmp/**']}          | ${'a/tmp/b'}               | ${'exclude'}
    ${undefined}                           | ${['scratch/*.yaml']}     | ${'scratch'}               | ${null}
    ${undefined}                           | ${['scratch']}            | ${'scratch'}               | ${null}
    ${undefined}                           | ${['!scratch/**']}        | ${'scratch'}               | ${null}
    ${['**/*.yaml', '**/.*.yaml']}         | ${['scratch/**']}         | ${'scratch'}               | ${null}
    ${['{a,.b}/**/*.yaml']}                | ${['a/**']}               | ${'a'}                     | ${null}
    ${undefined}                           | ${['lost+found/**']}      | ${'lost+found'}            | ${'exclude'}
    ${undefined}                           | ${['lost+found/**']}      | ${'lost+found/a'}          | ${'exclude'}
    ${undefined}                           | ${['lost+found/**']}      | ${'lostfound'}             | ${null}
    ${undefined}                           | ${['lost+found/**']}      | ${'losttfound'}            | ${null}
    ${undefined}                           | ${['*+/**']}              | ${'c++'}                   | ${'exclude'}
    ${undefined}                           | ${['a/b+c/**']}           | ${'a/b+c'}                 | ${'exclude'}
    ${undefined}                           | ${['+(lost)/**']}         | ${'lost'}                  | ${null}
    ${undefined}                           | ${['a+(b)/**']}           | ${'ab'}                    | ${null}
    ${undefined}                           | ${['a++b/**']}            | ${'a+b'}                   | ${null}
    ${undefined}                           | ${['a++b/**']}            | ${'a++b'}                  | ${null}
  `('$paths minus $exclude, directory $dir: $want', ({ paths, exclude, dir, want }: { paths?: string[]; exclude: string[]; dir: string; want: string | null }) => {
    expect(makeDirUnselected(paths, exclude)(dir)).toBe(want);
  });

  // Whenever a directory is said to hold no selected file, the matcher itself selects none of a
  // range of paths below it: the skip never drops a file the fetch would have read.
  it('never leaves out a directory below which the matcher selects a file', () => {
    const globs = [['production/**/*.yaml'], undefined, ['*.yaml'], ['teams/*/jobs/*.yaml'], ['**/.config/*.yaml'], ['**/prod/*.yml'], ['a/**/b/*.yaml'], ['{a,b}/*.{yaml,yml}'], ['a?/[bc]*/*.yaml'], ['**/**/x.yaml']];
    const excludes = [[], ['scratch/**'], ['**/tmp/**'], ['a/**', 'b/c/**'], ['*/**']];
    const names = ['a', 'b', 'bc', 'a1', 'production', 'prod', 'teams', 'jobs', 'tmp', 'scratch', 'lost+found', '.config', '.h', '..x', 'team\nops'];
    const dirs = names.flatMap((n1) => [n1, ...names.map((n2) => `${n1}/${n2}`)]);
    for (const n1 of ['production', 'teams', 'a', '.h']) for (const n2 of names) for (const n3 of ['jobs', 'b', '.h']) dirs.push(`${n1}/${n2}/${n3}`);
    const rels = [...['x.yaml', 'x.yml', '.x.yaml'], ...names.flatMap((n) => [`${n}/x.yaml`, `${n}/.x.yml`, `${n}/jobs/x.yaml`, `${n}/b/x.yaml`])];
    const below = new Map(dirs.map((d) => [d, rels.map((f) => `${d}/${f}`)]));
    const wrong: string[] = [];
    let skipped = 0;

    for (const paths of globs) {
      for (const exclude of excludes) {
        const unselected = makeDirUnselected(paths, exclude);
        const match = makeMatcher(paths, exclude);
        for (const dir of dirs) {
          if (unselected(dir) === null) continue;
          skipped++;
          for (const f of below.get(dir)!) if (match(f)) wrong.push(`${JSON.stringify(paths)} - ${JSON.stringify(exclude)}: ${f}`);
        }
      }
    }

    expect(wrong).toEqual([]);
    expect(skipped).toBeGreaterThan(1000);
  });

  it.each`
    paths                            | exclude                  | dir                | file
    ${['team[[:punct:]]ops/*.yaml']} | ${[]}                    | ${'team'}          | ${'team/ops/x.yaml'}
    ${['a[+-0]b/*.yaml']}            | ${[]}                    | ${'a'}             | ${'a/b/x.yaml'}
    ${['x{+..0}y/*.yaml']}           | ${[]}                    | ${'x'}             | ${'x/y/a.yaml'}
    ${undefined}                     | ${['!(production)/**']}  | ${'production-eu'} | ${'production-eu/b.yaml'}
    ${['"a/b"/x.yaml']}              | ${[]}                    | ${'a/b'}           | ${'a/b/x.yaml'}
    ${['**']}                        | ${['"a/**']}             | ${'a'}             | ${'a/a/x.yaml'}
  `('a class, range or quoted span that can match "/", or an extglob head, is never trusted: $dir under paths $paths, exclude $exclude may hold $file', ({ paths, exclude, dir, file }: { paths?: string[]; exclude: string[]; dir: string; file: string }) => {
    expect(makeMatcher(paths, exclude)(file)).toBe(true);
    expect(makeDirUnselected(paths, exclude)(dir)).toBeNull();
  });

  // A literal `+` (`lost+found/**`) lets an exclude take a directory whole; `+(…)` is an extglob,
  // and picomatch compiles `++` alone as the regex quantifier `\++` (`a++b` matches `a+b`), which
  // `a++b/**` does not exclude: neither may skip a directory a selected file can be under.
  it('never leaves out a directory below which the matcher selects a file, for excludes with a "+"', () => {
    const segs = ['lost+found', 'a+', '+a', 'a+b', 'a++b', '++', '+', '*+', '+*', '?+', 'a+?', '+(a)', 'a+(b)', '*+(a)', 'a', '*'];
    const names = ['lost+found', 'lostfound', 'losttfound', 'a+', '+a', 'a+b', 'a++b', 'a+++b', 'ab', 'abb', 'a', 'aa', '+', '++', '+++', 'c++', '.a+'];
    const dirs = names.flatMap((n1) => [n1, ...names.map((n2) => `${n1}/${n2}`)]);
    const wrong: string[] = [];
    const excluded = new Set<string>();

    for (const s1 of segs) {
      for (const head of [s1, ...segs.map((s2) => `${s1}/${s2}`)]) {
        const exclude = [`${head}/**`];
        const unselected = makeDirUnselected(undefined, exclude);
        const match = makeMatcher(undefined, exclude);
        for (const dir of dirs) {
          if (unselected(dir) === null) continue;
          excluded.add(head);
          if (match(`${dir}/x.yaml`)) wrong.push(`${exclude[0]}: ${dir}/x.yaml`);
        }
      }
    }

    expect(wrong).toEqual([]);
    expect([...excluded]).toEqual(expect.arrayContaining(['lost+found', 'a+b', '*+', 'a/lost+found']));
  });

  // Seeded random globs of extglobs, classes and braces, one to four segments, and excludes of
  // them before `/**`: no directory said to hold nothing selected has a selected file below it.
  it('never leaves out a directory below which the matcher selects a file, for random globs of extglobs, classes and braces', () => {
    let seed = 12345;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
    const segs = ['"a/b"', '"a', 'a"', '"a*"', 'a!(b)', '!(a)*', '*!(a)', 'a[[:punct:]]b', '[[:punct:]]', 'a[+-0]b', '!(a|b)', '@(!(a))', 'a*(b)', 'a', 'b', 'ab', '*', '?', '**', 'a*', '*b', '.a', '.*', '{a,b}', '{a,.b}', '{,a}', '@(a|b)', '+(a)', '*(a)', '?(a)', '!(a)', '[ab]', '[!a]', '[^a]', 'a?', '{a,b}*', '*.yaml', '*.{yaml,yml}', 'x.yaml', '[a-c]', '@(a|.b)', 'a{,b}', '{a..c}', '*([ab])', '[[:alpha:]]', '[[:lower:]]*'];
    const names = ['"a', 'a"', 'a-b', 'ab-c', 'a_b', 'ba', 'a', 'b', 'ab', 'c', '.a', '.b', 'a.b', 'x.yaml', '.x.yaml', 'aa', 'b.yaml', '(a)', '{a,b}', '[ab]', '!a', 'a+'];
    const files = ['x.yaml', 'a', '.x.yaml', 'b.yaml', 'a/x.yaml', 'b/x.yaml', '.a/x.yaml', 'a/b/x.yaml', 'ab/.a/x.yaml', 'a/a/a/x.yaml'];
    const dirs = names.flatMap((n1) => [n1, ...names.map((n2) => `${n1}/${n2}`)]);
    const wrong: string[] = [];
    let skipped = 0;

    for (let t = 0; t < 1500; t++) {
      const glob = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => pick(segs)).join('/');
      const exclude = rnd() < 0.3 ? [`${Array.from({ length: 1 + Math.floor(rnd() * 2) }, () => pick(segs)).join('/')}/**`] : [];
      const unselected = makeDirUnselected([glob], exclude);
      const match = makeMatcher([glob], exclude);
      for (const dir of dirs) {
        if (unselected(dir) === null) continue;
        skipped++;
        const hit = files.find((f) => match(`${dir}/${f}`));
        if (hit !== undefined) wrong.push(`${JSON.stringify(glob)} - ${JSON.stringify(exclude)}: ${dir}/${hit}`);
      }
    }

    expect(wrong).toEqual([]);
    expect(skipped).toBeGreaterThan(10_000);
  });
});
