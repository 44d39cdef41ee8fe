/**
 * Every rendered task validates against the Task Scheduler XSD (../shared/windows): written as
 * UTF-16LE+BOM files and checked by one xmllint call per batch (libxml2-utils; CI installs it).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import type { DesiredJob } from '../../../src/desired/types.js';
import { encodeUtf16, renderTask } from '../../../src/scheduler/windows/render.js';
import type { TriggersOf } from '../../../src/scheduler/windows/render.js';
import { MAX_TRIGGERS } from '../../../src/scheduler/windows/types.js';
import type { TriggerSet } from '../../../src/scheduler/windows/types.js';
import { prng, randomSchedule } from '../../schedule/random.js';
import { desired } from '../fixtures.js';
import { CTX, SETTINGS_EDITS, TRIGGER_CORPUS, exportLikeWindows, setOf, stubTriggersOf } from './render-fixtures.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const XSD = resolve(ROOT, '../shared/windows/TaskSchedulerV2Schema.xsd');
const hasXmllint = spawnSync('xmllint', ['--version']).status === 0;
if (!hasXmllint) console.warn('xsd.test.ts: xmllint not found (Debian: apt-get install libxml2-utils); XSD checks skipped');

type JobTriggers = (schedule: string, jobZone: string, hostZone: string, opts?: { now?: Date }) => TriggerSet;
// triggers.ts is written separately; until it exists the corpus runs on hand-built triggers.
const TRIGGERS_MODULE = '../../../src/scheduler/windows/triggers.js';
const jobTriggers = await import(/* @vite-ignore */ TRIGGERS_MODULE).then((m: { jobTriggers: JobTriggers }) => m.jobTriggers, () => null);
const NOW = new Date('2026-06-01T00:00:00Z');
const realTriggers = (hostZone: string): TriggersOf | null =>
  jobTriggers && ((d) => jobTriggers(d.job.spec.schedule, d.job.spec.timezone, hostZone, { now: NOW }));

const dir = mkdtempSync(join(tmpdir(), 'cronsync-xsd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** Writes UTF-16LE+BOM files, validates them in batches of 250; returns the files that fail. */
function invalidFiles(xmls: readonly string[]): { failed: string[]; log: string } {
  const files = xmls.map((x) => {
    const f = join(dir, `t${++n}.xml`);
    writeFileSync(f, encodeUtf16(x));
    return f;
  });
  const failed: string[] = [];
  let log = '';
  for (let i = 0; i < files.length; i += 250) {
    const r = spawnSync('xmllint', ['--noout', '--schema', XSD, ...files.slice(i, i + 250)], { encoding: 'utf8' });
    log += r.stderr;
    failed.push(...[...r.stderr.matchAll(/^(\S+) fails to validate$/gm)].map((m) => m[1]!));
    if (r.status !== 0 && failed.length === 0) throw new Error(`xmllint failed: ${r.stderr}`);
  }
  return { failed, log: log.split('\n').filter((l) => !l.endsWith(' validates')).slice(0, 20).join('\n') };
}

function exampleJobs(): DesiredJob[] {
  const base = join(ROOT, 'manifests-example');
  const files = readdirSync(base, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.yaml')).sort();
  return files.flatMap((f) => parseAllDocuments(readFileSync(join(base, f), 'utf8')).map((d) => d.toJS() as { metadata: { name: string; tenant: string }; spec: Record<string, unknown> }))
    .map((m) => desired(m.metadata.name, String(m.spec.schedule), {
      timezone: typeof m.spec.timezone === 'string' ? m.spec.timezone : 'UTC',
      paused: m.spec.paused === true,
      ...(typeof m.spec.timeout === 'string' ? { timeout: m.spec.timeout } : {}),
    }, m.metadata.tenant));
}

/** Schedules that stress the translation (DST gaps and repeats, month ends, OR of day fields). */
const TRICKY: [string, string][] = [
  ['30 2 * * *', 'America/New_York'], ['0 1 * * *', 'America/Havana'], ['15 2 * * *', 'Australia/Lord_Howe'],
  ['*/15 * * * *', 'Australia/Lord_Howe'], ['*/15 * * * *', 'Pacific/Chatham'], ['0 12 */2 * 1', 'UTC'],
  ['0 0 31 * *', 'Europe/London'], ['0 0 29 2 *', 'Asia/Kolkata'], ['*/7 * * * *', 'UTC'], ['0 */5 * * *', 'Europe/Berlin'],
  ['0 0 1-7 * 1', 'America/New_York'], ['* * * * *', 'Europe/London'], ['59 23 28-31 * *', 'America/New_York'],
  ['0,30 1 * * *', 'Europe/Berlin'], ['5 4 * * SUN', 'Australia/Lord_Howe'], ['0 9-17 * * 1-5', 'Europe/London'],
];
const HOSTS = ['UTC', 'America/New_York', 'Europe/Berlin'];

describe.skipIf(!hasXmllint)('scheduler/windows XSD conformance', () => {
  it('xmllint catches an invalid task (the check is not vacuous)', () => {
    const bad = renderTask(desired('bad', 'corpus:every-fifteen'), CTX, setOf(TRIGGER_CORPUS['every-fifteen']!)).replace('PT15M', 'PT30S');

    expect(invalidFiles([bad]).failed).toHaveLength(1);
  });

  it('the example jobs, every trigger shape, paused, S4U and odd paths validate', { timeout: 30_000 }, () => {
    const odd = { ...CTX, user: 'CORP\\svc & <ops>', stateDir: 'C:\\state "x" & <y>\\', execCommand: { file: 'C:\\A & B\\node.exe', args: ["C:\\it's\\main.js"] } };
    const triggersOf = realTriggers('America/New_York') ?? stubTriggersOf;
    const xmls = [
      ...exampleJobs().map((d) => renderTask(d, CTX, triggersOf(d))),
      ...Object.keys(TRIGGER_CORPUS).map((k) => renderTask(desired(k, `corpus:${k}`), CTX, stubTriggersOf(desired(k, `corpus:${k}`)))),
      renderTask(desired('held', '0 1 * * *', { paused: true, timeout: '2h' }), odd, stubTriggersOf(desired('held', '0 1 * * *'))),
    ];

    const r = invalidFiles(xmls);

    expect(xmls.length).toBeGreaterThan(20);
    expect(r.failed, r.log).toEqual([]);
  });

  it('tasks with non-ASCII state dir, user, program path and manifest path (the marker listing the runs) validate', () => {
    const ctx = { ...CTX, user: 'CORP\\müller', stateDir: 'C:\\Données\\cronsync', execCommand: { file: 'C:\\Programme\\nodé\\node.exe', args: ['C:\\日本 😀\\launch.cjs'] } };
    const base = desired('daily', 'corpus:daily');
    const d = { ...base, provenance: { ...base.provenance, path: 'jobs/été/日本.yaml' } };
    const xmls = [renderTask(d, ctx, setOf(TRIGGER_CORPUS.daily!)), renderTask(desired('held', '0 1 * * *', { paused: true }), { ...ctx, user: undefined }, setOf(TRIGGER_CORPUS.dated!))];

    const r = invalidFiles(xmls);

    expect(xmls[0]).toContain('"nonAscii":');
    expect(r.failed, r.log).toEqual([]);
  });

  it('a character task XML cannot hold makes the document ill-formed for xmllint, so render refuses it', () => {
    const good = renderTask(desired('daily', 'corpus:daily'), CTX, setOf(TRIGGER_CORPUS.daily!));
    const lint = (xml: string) => {
      const f = join(dir, `t${++n}.xml`);
      writeFileSync(f, encodeUtf16(xml));
      return spawnSync('xmllint', ['--noout', f], { encoding: 'utf8' });
    };

    const ok = lint(good);
    const bad = lint(good.replace('C:\\ProgramData', 'C:\\Program\u0001Data'));

    expect([ok.status, ok.stderr]).toEqual([0, '']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/invalid Char value 1/i);
    expect(() => renderTask(desired('daily', 'corpus:daily'), { ...CTX, stateDir: 'C:\\Program\u0001Data' }, setOf(TRIGGER_CORPUS.daily!))).toThrow(/stateDir must not contain U\+0001/);
  });

  it('the Windows-export fixtures and the Settings edits that Windows would accept validate (parse tests read them)', () => {
    const xml = renderTask(desired('every-fifteen', 'corpus:every-fifteen'), CTX, setOf(TRIGGER_CORPUS['every-fifteen']!));
    const edited = (valid: boolean): string[] => SETTINGS_EDITS.filter((e) => e[2] === valid).map(([, edit]) => edit(exportLikeWindows(xml)));
    const accepted = edited(true);
    const refused = edited(false);

    const r = invalidFiles([exportLikeWindows(xml), exportLikeWindows(xml, true), ...accepted]);

    expect(r.failed, r.log).toEqual([]);
    expect(invalidFiles(refused).failed).toHaveLength(refused.length);
  });

  it.skipIf(!jobTriggers)('tricky schedules and 1,000 random jobs × host zones: ≤ 48 triggers, intervals PT1M..P31D, XSD-valid', () => {
    const rand = prng(20261206);
    const zones = ['UTC', 'America/New_York', 'Europe/London', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham'];
    const jobs = [
      ...TRICKY.map(([s, tz], i) => desired(`tricky-${i}`, s, { timezone: tz })),
      ...Array.from({ length: 1000 }, (_, i) => desired(`random-${i}`, randomSchedule(rand, i % 2 === 0), { timezone: zones[i % zones.length]! })),
    ];
    const counts: number[] = [];
    const xmls = jobs.map((d, i) => {
      const host = HOSTS[i % HOSTS.length]!;
      const set = jobTriggers!(d.job.spec.schedule, d.job.spec.timezone, host, { now: NOW });
      counts.push(set.triggers.length);
      for (const t of set.triggers) {
        if (t.repetition) expect(t.repetition.intervalMinutes, d.job.spec.schedule).toBeGreaterThanOrEqual(1);
        if (t.repetition) expect(t.repetition.intervalMinutes, d.job.spec.schedule).toBeLessThanOrEqual(31 * 1440);
      }
      return renderTask(d, CTX, set);
    });

    const r = invalidFiles(xmls);
    const sorted = [...counts].sort((a, b) => a - b);
    console.info(`windows triggers per job over ${counts.length}: median ${sorted[sorted.length >> 1]}, p99 ${sorted[Math.floor(sorted.length * 0.99)]}, max ${sorted.at(-1)}`);

    expect(Math.max(...counts)).toBeLessThanOrEqual(MAX_TRIGGERS);
    expect(r.failed, r.log).toEqual([]);
  }, 60_000);
});
