/**
 * Command-line quoting for a program started by Task Scheduler: the Exec action's Arguments
 * are handed to the program as one string, which the C runtime (and node.exe) splits with the
 * CommandLineToArgvW rules. No cmd.exe is involved, so no `^` escapes.
 */

/**
 * Quotes one argument so that CommandLineToArgvW yields it unchanged: bare when it has no
 * space, tab, newline or quote and is not empty; otherwise in double quotes, with each `"`
 * preceded by a backslash, and the backslashes before a `"` (or before the closing quote)
 * doubled. Backslashes elsewhere are literal and stay single.
 */
export function quoteArg(arg: string): string {
  if (arg !== '' && !/[\s"]/.test(arg)) return arg;
  const inner = arg.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\+)$/, '$1$1');
  return `"${inner}"`;
}

/** Joins arguments into one command-line tail, each quoted by {@link quoteArg}. */
export function joinArgs(args: readonly string[]): string {
  return args.map(quoteArg).join(' ');
}

/**
 * Splits a command-line tail the way CommandLineToArgvW does for arguments after the program
 * name (2n backslashes + `"` → n backslashes and a quote toggle; 2n+1 → n and a literal `"`;
 * `""` inside quotes → a literal `"`, as the MSVC runtime since 2008). The inverse of
 * {@link joinArgs}; used to read an installed task's Arguments back and by tests.
 */
export function splitArgs(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inQuotes = false;
  let any = false;
  for (let i = 0; i < line.length; ) {
    const c = line[i]!;
    if (c === '\\') {
      let n = 0;
      while (line[i] === '\\') {
        n++;
        i++;
      }
      if (line[i] === '"') {
        cur += '\\'.repeat(Math.floor(n / 2));
        if (n % 2 === 1) {
          cur += '"';
          i++;
        }
      } else {
        cur += '\\'.repeat(n);
      }
      any = true;
    } else if (c === '"') {
      if (inQuotes && line[i + 1] === '"') {
        cur += '"';
        i += 2;
      } else {
        inQuotes = !inQuotes;
        i++;
      }
      any = true;
    } else if ((c === ' ' || c === '\t') && !inQuotes) {
      if (any) out.push(cur);
      cur = '';
      any = false;
      i++;
    } else {
      cur += c;
      any = true;
      i++;
    }
  }
  if (any) out.push(cur);
  return out;
}
