/**
 * Fuzzing over every adapter in the registry (issue 11 item 7): hostile manifests go through
 * lint (loadManifests), then their valid jobs through render and apply on each registered kind
 * (with fakes). Required: no crash or stack trace, no scheduler line or XML element that was not
 * meant (the rendered and the written text are parsed and compared with the jobs), and no change
 * to other jobs caused by an invalid document. A fixed seed in CI; `FUZZ_RUNS=2000` (and
 * optionally `FUZZ_SEED=…`) for a longer run; `FUZZ_DUMP=FILE` writes a failing input as JSON.
 */
import { writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { desiredJob, selectJobs } from '../../src/desired/select.js';
import type { DesiredJob } from '../../src/desired/types.js';
import { isCronsyncError } from '../../src/errors.js';
import { loadManifests } from '../../src/manifest/load.js';
import type { LoadResult, ManifestInput } from '../../src/manifest/load.js';
import type { JobId } from '../../src/manifest/types.js';
import { planChanges } from '../../src/plan/plan.js';
import type { Plan } from '../../src/plan/types.js';
import { renderEntryOrError } from '../../src/scheduler/entry-error.js';
import { registeredKinds } from '../../src/scheduler/registry.js';
import type { SchedulerAdapter, SchedulerKind } from '../../src/scheduler/types.js';
import { SOURCE, signal } from '../scheduler/fixtures.js';
import { FUZZ_KINDS, fuzzKind } from './harness.js';
import type { FuzzHarness, Written } from './harness.js';
import { invalidDocText, manifestSet } from './inputs.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 15);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : process.env.FUZZ_RUNS !== undefined ? Date.now() : 20261206;
/** Per test: generous, since a long FUZZ_RUNS run scales with the runs. */
const TIMEOUT = 60_000 + RUNS * 2_000;
const ORIGIN = { sourceId: SOURCE, url: 'https://git.example.com/ops/jobs.git', ref: 'main', commit: 'c'.repeat(40) };
const AGENT = { name: 'host-1', tenant: 'acme', labels: {} };
const KINDS = registeredKinds();

const counts = {
  files: 0, documents: 0, valid: 0, invalid: 0, issues: 0, invalidDocs: 0, validBadDocsSkipped: 0,
  renders: Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<string, number>,
  refused: Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<string, number>,
  applies: Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<string, number>,
  ms: Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<string, number>,
};

/** Errors reported by lint, per rule. */
const rules = new Map<string, number>();

/** Why a thrown value is a crash (anything but a CronsyncError, or a message with a stack trace); null when it is not. */
function crash(stage: string, err: unknown): string | null {
  if (isCronsyncError(err) && !err.message.includes('    at ')) return null;
  return `${stage} crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
}

/** Runs `fn`; a crash fails the run with the stage, a CronsyncError is returned. */
async function stage<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const c = crash(name, err);
    if (c) throw new Error(c, { cause: err });
    throw err;
  }
}

/** Lint: loadManifests never throws, and no issue carries a stack trace or a stack overflow. */
function lint(inputs: readonly ManifestInput[], fuzzed = true): LoadResult {
  let res: LoadResult;
  try {
    res = loadManifests(inputs);
  } catch (err) {
    throw new Error(crash('lint', err) ?? `lint threw ${String(err)}`, { cause: err });
  }
  for (const i of res.issues) {
    if (/ {4}at |Maximum call stack|RangeError|TypeError/.test(i.message)) throw new Error(`lint issue carries a crash: ${i.file}:${i.line}:${i.col} [${i.rule}] ${i.message}`);
    if (!Number.isInteger(i.line) || !Number.isInteger(i.col) || i.line < 1 || i.col < 1) throw new Error(`lint issue without a position: ${JSON.stringify(i)}`);
  }
  if (!fuzzed) return res;
  counts.files += inputs.length;
  for (const f of res.files.values()) {
    counts.documents += f.valid + f.invalid;
    counts.valid += f.valid;
    counts.invalid += f.invalid;
  }
  counts.issues += res.issues.filter((i) => i.severity === 'error').length;
  for (const i of res.issues) if (i.severity === 'error') rules.set(i.rule, (rules.get(i.rule) ?? 0) + 1);
  return res;
}

/** The jobs each adapter can hold (what sync's entryError keeps); refusals must be clean errors. */
function accepted(adapter: SchedulerAdapter, jobs: readonly DesiredJob[]): DesiredJob[] {
  return jobs.filter((d) => {
    let r: ReturnType<typeof renderEntryOrError>;
    try {
      r = renderEntryOrError(adapter, d);
    } catch (err) {
      throw new Error(crash(`${adapter.kind} renderEntry of ${d.id}`, err) ?? String(err), { cause: err });
    }
    if (typeof r === 'string') return true;
    if (r.error.includes('    at ')) throw new Error(`${adapter.kind} refusal of ${d.id} carries a stack trace: ${r.error}`);
    counts.refused[adapter.kind]!++;
    return false;
  });
}

/** A rendered file's bytes as text: UTF-16LE after a byte-order mark, else UTF-8. */
function decode(data: Uint8Array): string {
  const b = Buffer.from(data);
  return b[0] === 0xff && b[1] === 0xfe ? b.subarray(2).toString('utf16le') : b.toString('utf8');
}

/** What render() shows, checking that the bytes it would write say the same. */
function texts(h: FuzzHarness, jobs: readonly DesiredJob[]): Written[] {
  return h.adapter.render(jobs).files.map((f) => {
    if (f.data !== undefined && decode(f.data) !== f.content) throw new Error(`${h.adapter.kind}: the bytes of ${JSON.stringify(f.name)} differ from its text`);
    return { name: h.name(f.name), text: f.content };
  });
}

/** A sync's plan against what the adapter holds: what steps.ts' planChanges call gets. */
async function planFor(adapter: SchedulerAdapter, load: LoadResult | null, desired: readonly DesiredJob[], applied: ReadonlyMap<JobId, DesiredJob>): Promise<Plan> {
  const state = new Map<JobId, DesiredJob>(desired.map((d) => [d.id, d]));
  const entryError = (d: DesiredJob): string | null => {
    const r = renderEntryOrError(adapter, d);
    return typeof r === 'string' ? null : r.error;
  };
  return planChanges({
    sourceId: SOURCE, desired: state, excluded: new Map(),
    invalid: new Set([...(load?.invalidIds ?? [])].filter((id) => !state.has(id as JobId))) as Set<JobId>,
    brokenFiles: load?.brokenFiles ?? new Set(),
    installed: await adapter.inventory(signal), applied,
    isCurrent: (e, d) => !e.drifted && e.raw === adapter.renderEntry(d), entryError,
    prune: true, force: false, allowMassRemoval: true,
  }).plan;
}

function fail(kind: SchedulerKind, what: string, problems: readonly string[]): void {
  if (problems.length > 0) throw new Error(`${kind}: ${what}:\n  ${problems.slice(0, 12).join('\n  ')}`);
}

async function withHarness<T>(kind: SchedulerKind, fn: (h: FuzzHarness) => Promise<T>): Promise<T> {
  const start = performance.now();
  const h = await fuzzKind(kind).make();
  try {
    return await fn(h);
  } finally {
    await h.cleanup();
    counts.ms[kind]! += performance.now() - start;
  }
}

const clip = (s: string, n = 1500): string => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);

/** Runs a property with the suite's seed; a failure reports the seed, a clipped counterexample and the error. */
async function check<T>(property: fc.IAsyncProperty<T>, runs: number): Promise<void> {
  const r = await fc.check(property, { numRuns: runs, seed: SEED, endOnFailure: true });
  if (!r.failed) return;
  const err = r.errorInstance instanceof Error ? r.errorInstance.message : String(r.errorInstance);
  if (process.env.FUZZ_DUMP) writeFileSync(process.env.FUZZ_DUMP, JSON.stringify(r.counterexample, (_k, v: unknown) => (v instanceof Uint8Array ? { bytes: Buffer.from(v).toString('base64') } : v)));
  throw new Error(`property failed (seed ${r.seed}, path ${String(r.counterexamplePath)}, FUZZ_SEED=${r.seed} reproduces it)\ncounterexample: ${clip(JSON.stringify(r.counterexample))}\n${clip(err, 4000)}`);
}

afterAll(() => {
  console.log(`fuzz (seed ${SEED}, ${RUNS} runs): ${counts.files} files, ${counts.documents} documents, ${counts.valid} valid, ${counts.invalid} invalid, ${counts.issues} errors reported; ` +
    `invalid-document property: ${counts.invalidDocs} invalid documents, ${counts.validBadDocsSkipped} valid ones skipped; ` +
    KINDS.map((k) => `${k}: ${counts.renders[k]} renders, ${counts.applies[k]} applies, ${counts.refused[k]} jobs refused, ${Math.round(counts.ms[k]!)} ms`).join('; ') +
    `; errors by rule: ${[...rules].sort((a, b) => b[1] - a[1]).map(([r, n]) => `${r} ${n}`).join(', ')}`);
});

describe('fuzz: manifests → lint → render/apply on every registered adapter', () => {
  it.each(KINDS)('has a fuzz harness for %s', (kind) => {
    expect(FUZZ_KINDS[kind], `add a fuzz harness for "${kind}" in test/fuzz/harness.ts`).toBeTypeOf('object');
  });

  it('hostile manifests: no crash, no stack trace, nothing injected, a second apply writes nothing', async () => {
    await check(fc.asyncProperty(manifestSet, async (inputs) => {
      const load = lint(inputs);
      const desired = load.jobs.map((lj) => desiredJob(lj, ORIGIN));
      for (const kind of KINDS) {
        const { check } = fuzzKind(kind);
        await withHarness(kind, async (h) => {
          const jobs = accepted(h.adapter, desired);
          const rendered = await stage(`${kind} render`, () => texts(h, jobs));
          counts.renders[kind]!++;
          fail(kind, 'render', check(rendered, jobs));

          const plan = await stage(`${kind} plan`, () => planFor(h.adapter, load, jobs, new Map()));
          await stage(`${kind} apply`, () => h.adapter.apply(plan, signal));
          counts.applies[kind]!++;
          fail(kind, 'apply', check(await h.written(), jobs));
          const inv = await stage(`${kind} inventory`, () => h.adapter.inventory(signal));
          const ours = inv.filter((e) => e.marker?.sourceId === SOURCE);
          fail(kind, 'inventory', [
            ...(JSON.stringify(ours.map((e) => e.marker!.jobId).sort()) === JSON.stringify(jobs.map((d) => d.id).sort()) ? [] : [`inventory ${ours.map((e) => e.marker!.jobId).join(',')} for jobs ${jobs.map((d) => d.id).join(',')}`]),
            ...inv.filter((e) => !e.marker).map((e) => `foreign entry appeared: ${JSON.stringify(e.raw)}`),
            ...ours.filter((e) => e.drifted).map((e) => `${e.marker!.jobId} reads back as drifted`),
          ]);

          const again = await stage(`${kind} second apply`, async () => h.adapter.apply(await planFor(h.adapter, load, jobs, new Map(jobs.map((d) => [d.id, d]))), signal));
          fail(kind, 'second apply', again.changed ? [`rewrote ${again.written.join(', ')}`] : []);
        });
      }
    }), RUNS);
  }, TIMEOUT);
});

/** Three good jobs whose values are hostile but valid; v2 changes each of them. */
function goodFile(version: 1 | 2): ManifestInput {
  const job = (name: string, spec: Record<string, unknown>, annotations: Record<string, string> = {}): string =>
    stringify({ apiVersion: 'v1', kind: 'Job', metadata: { name, tenant: 'acme', annotations }, spec }, { lineWidth: 0 });
  const docs = [
    job('backup', { schedule: version === 1 ? '0 2 * * *' : '30 2 * * *', timezone: 'America/New_York', command: 'pg_dump "$DB" | gzip > /b/%F.gz; echo `id` $(id)\r\n* * * * * root evil', env: { DB: 'postgres://x%y' } }),
    job('report', { schedule: '*/15 * * * *', paused: version === 2, command: 'report', args: ['\u202e--all', '</Arguments><Exec>', "it's \\ \"quoted\""] }, { owner: 'ops\u200b@example.com\n# injected' }),
    job('cleanup', { schedule: version === 1 ? '@daily' : '0 3 * * 1', timezone: 'Australia/Lord_Howe', command: 'find /tmp -delete', workingDir: '/srv/$(id)/%' }),
  ];
  return { path: 'good/jobs.yaml', content: docs.join('---\n') };
}

/** One sync of `inputs` onto the harness (the reconciler's load → select → plan → apply). */
async function sync(h: FuzzHarness, inputs: readonly ManifestInput[], applied: Map<JobId, DesiredJob>): Promise<Written[]> {
  const load = lint(inputs, false);
  const { desired } = selectJobs(load.jobs, AGENT, ORIGIN);
  const plan = await stage(`${h.adapter.kind} plan`, () => planFor(h.adapter, load, [...desired.values()], applied));
  await stage(`${h.adapter.kind} apply`, () => h.adapter.apply(plan, signal));
  counts.applies[h.adapter.kind]!++;
  applied.clear();
  for (const d of plan.final) applied.set(d.id, d);
  return h.written();
}

describe('fuzz: an invalid document changes no other job', () => {
  const badFile = fc.tuple(fc.array(invalidDocText, { minLength: 1, maxLength: 2 }), fc.constantFrom('bad.yaml', 'good/jobs.yml', 'a/../good/jobs.yaml', 'zz.yaml', '0.yaml'), fc.boolean())
    .map(([docs, path, first]) => ({ first, input: { path, content: docs.find((d): d is Uint8Array => typeof d !== 'string') ?? docs.join('\n---\n') } as ManifestInput }));

  it('the good jobs render and apply byte-identical with and without a fuzzed invalid file beside them', async () => {
    const good1 = goodFile(1);
    const good2 = goodFile(2);
    const expected = new Map<SchedulerKind, { written: Written[]; rendered: Written[] }>();
    for (const kind of KINDS) {
      expected.set(kind, await withHarness(kind, async (h) => {
        const applied = new Map<JobId, DesiredJob>();
        await sync(h, [good1], applied);
        return { written: await sync(h, [good2], applied), rendered: texts(h, [...applied.values()]) };
      }));
    }
    await check(fc.asyncProperty(badFile, async ({ first, input }) => {
      if (lint([input]).jobs.length > 0) {
        counts.validBadDocsSkipped++;
        return;
      }
      counts.invalidDocs++;
      const withBad = first ? [input, good2] : [good2, input];
      for (const kind of KINDS) {
        const alone = expected.get(kind)!;
        const beside = await withHarness(kind, async (h) => {
          const applied = new Map<JobId, DesiredJob>();
          await sync(h, [good1], applied);
          return { written: await sync(h, withBad, applied), rendered: texts(h, [...applied.values()]) };
        });
        counts.renders[kind]!++;
        expect(beside.rendered, `${kind}: rendered beside ${JSON.stringify(input.path)}`).toEqual(alone.rendered);
        expect(beside.written, `${kind}: written beside ${JSON.stringify(input.path)}`).toEqual(alone.written);
        expect(alone.written.map((w) => w.text).join('').length, `${kind}: something was written`).toBeGreaterThan(0);
      }
    }), Math.max(4, Math.round(RUNS / 3)));
  }, TIMEOUT);
});
