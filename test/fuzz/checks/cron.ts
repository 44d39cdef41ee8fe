/** The cron checker of the fuzz suite (cron.d and crontab). */
import type { DesiredJob } from '../../../src/desired/types.js';
import { renderHeader } from '../../../src/scheduler/crond/render.js';
import { SOURCE } from '../../scheduler/fixtures.js';
import { CONTROL, EXEC, STATE_DIR, sameMarker, show } from './shared.js';
import type { Written } from './shared.js';

/** How the cron text of a kind is framed. */
export interface CronShape {
  /** cron.d: the user field before the command. */
  user?: string;
  /** crontab: the BEGIN/END lines of the block. */
  block?: boolean;
}

/**
 * Checks cron text line by line: every line is a header line, a blank, a marker of an expected
 * job (once each, with the job's provenance), or one of that job's lines right after it:
 * `<5 fields> [user] <exec> exec --scheduled [--state-dir DIR] tenant/name`, or `#paused: `
 * and the same line for a paused job. Nothing else, and no control character anywhere.
 */
export function checkCron(texts: readonly Written[], jobs: readonly DesiredJob[], shape: CronShape): string[] {
  const problems: string[] = [];
  const byId = new Map(jobs.map((d) => [d.id as string, d]));
  const seen = new Set<string>();
  const active = new Map<string, number>();
  const pausedLines = new Map<string, number>();
  const header = new Set(shape.block ? [] : renderHeader());
  const blockLines = [`# BEGIN cronsync ${SOURCE}`, '# Managed by cronsync: do not edit inside this block, change the manifests in Git.', `# END cronsync ${SOURCE}`];
  const commands = (id: string): string[] => [
    [...EXEC, 'exec', '--scheduled', '--state-dir', STATE_DIR, id].join(' '),
    [...EXEC, 'exec', '--scheduled', id].join(' '),
  ];
  const isJobLine = (line: string, id: string): boolean => {
    const m = /^([0-9*,/-]+) ([0-9*,/-]+) ([0-9*,/-]+) ([0-9*,/-]+) ([0-9*,/-]+) (.*)$/.exec(line);
    if (!m) return false;
    let rest = m[6]!;
    if (shape.user !== undefined) {
      if (!rest.startsWith(`${shape.user} `)) return false;
      rest = rest.slice(shape.user.length + 1);
    }
    return commands(id).includes(rest);
  };
  for (const { name, text } of texts) {
    if (text === '') continue;
    if (!text.endsWith('\n')) problems.push(`${name}: no final newline`);
    const lines = text.slice(0, text.endsWith('\n') ? -1 : undefined).split('\n');
    if (shape.block && (lines[0] !== blockLines[0] || lines.at(-1) !== blockLines[2])) problems.push(`${name}: block not framed by BEGIN/END lines`);
    let current: DesiredJob | undefined;
    lines.forEach((line, i) => {
      const at = `${name}:${i + 1}`;
      if (CONTROL.test(line)) problems.push(`${at}: control character in ${show(line)}`);
      if (line === '') {
        current = undefined;
        return;
      }
      if (line.startsWith('# cronsync:v1 ')) {
        let v: Record<string, unknown>;
        try {
          v = JSON.parse(line.slice('# cronsync:v1 '.length)) as Record<string, unknown>;
        } catch {
          problems.push(`${at}: marker is not JSON: ${show(line)}`);
          return;
        }
        const d = byId.get(String(v.job));
        if (!d) problems.push(`${at}: marker of an unexpected job ${show(String(v.job))}`);
        else if (seen.has(d.id)) problems.push(`${at}: second marker of ${d.id}`);
        else if (!sameMarker(v, d)) problems.push(`${at}: marker of ${d.id} differs from its provenance: ${show(line)}`);
        if (d) seen.add(d.id);
        current = d;
        return;
      }
      if (line.startsWith('#paused: ')) {
        const body = line.slice('#paused: '.length);
        if (!current) problems.push(`${at}: paused line outside an entry: ${show(line)}`);
        else if (body === `never fires: ${current.job.spec.schedule}`) pausedLines.set(current.id, (pausedLines.get(current.id) ?? 0) + 1);
        else if (!current.job.spec.paused || !isJobLine(body, current.id)) problems.push(`${at}: unexpected paused line for ${current.id}: ${show(line)}`);
        else pausedLines.set(current.id, (pausedLines.get(current.id) ?? 0) + 1);
        return;
      }
      if (shape.block && blockLines.includes(line)) {
        // Entries follow each other without blank lines inside the block; END closes the last.
        if (current && line !== blockLines[2]) problems.push(`${at}: block line inside the entry of ${current.id}`);
        current = undefined;
        return;
      }
      if (header.has(line)) {
        if (current) problems.push(`${at}: header line inside the entry of ${current.id}`);
        return;
      }
      if (line.startsWith('#')) {
        problems.push(`${at}: unexpected comment ${show(line)}`);
        return;
      }
      if (!current) problems.push(`${at}: injected line outside any entry: ${show(line)}`);
      else if (current.job.spec.paused) problems.push(`${at}: active line of paused job ${current.id}: ${show(line)}`);
      else if (!isJobLine(line, current.id)) problems.push(`${at}: line is not ${current.id}'s entry line: ${show(line)}`);
      else active.set(current.id, (active.get(current.id) ?? 0) + 1);
    });
  }
  for (const d of jobs) {
    if (!seen.has(d.id)) problems.push(`no marker for ${d.id}`);
    const n = (active.get(d.id) ?? 0) + (pausedLines.get(d.id) ?? 0);
    if (n === 0) problems.push(`no lines for ${d.id}`);
  }
  return problems;
}
