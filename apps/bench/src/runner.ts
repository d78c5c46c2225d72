// Runs one benchmark case: warm-up and timed samples through tinybench (setup/teardown untimed, in
// its beforeEach/afterEach hooks), GC time inside the samples from PerformanceObserver 'gc'
// entries, and the process memory after each sample (peak over the samples).

import { PerformanceObserver, performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { threadId, Worker } from 'node:worker_threads';
import { Bench } from 'tinybench';
import type { BenchCase, MeasureResult } from './api.js';
import type { BenchResult, Stat } from './results.js';
import type { CaseJob } from './workers/case.js';

setFlagsFromString('--expose-gc');
/** a full GC between samples (untimed), so that one sample's garbage does not land in the next */
export const fullGc: () => void = runInNewContext('gc') as () => void;

interface GcEntry {
  start: number;
  end: number;
}
const gcEntries: GcEntry[] = [];
const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcEntries.push({ start: e.startTime, end: e.startTime + e.duration });
});
obs.observe({ entryTypes: ['gc'] });

/**
 * Lets the event loop turn so that the GCs of a synchronous run reach the observer: Node creates
 * 'gc' entries from an immediate task after each collection, so a benchmark that never yields has
 * none until it returns (reading them at once gave 0 % GC on every run).
 */
async function settleGcEntries(): Promise<void> {
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 0));
}

/** GC milliseconds that fall inside the given windows. */
function gcInside(windows: Array<[number, number]>): number {
  for (const e of obs.takeRecords()) gcEntries.push({ start: e.startTime, end: e.startTime + e.duration });
  let ms = 0;
  for (const g of gcEntries) {
    for (const [a, b] of windows) {
      const lo = Math.max(a, g.start);
      const hi = Math.min(b, g.end);
      if (hi > lo) ms += hi - lo;
    }
  }
  return ms;
}

export function stat(values: number[]): Stat {
  const v = [...values].sort((a, b) => a - b);
  const n = v.length;
  const median = n === 0 ? NaN : n % 2 ? v[(n - 1) / 2]! : (v[n / 2 - 1]! + v[n / 2]!) / 2;
  return { median, min: v[0] ?? NaN, max: v[n - 1] ?? NaN };
}

interface Mem {
  heapUsed: number;
  arrayBuffers: number;
  rss: number;
}

function peak(a: Mem, b: NodeJS.MemoryUsage): Mem {
  return { heapUsed: Math.max(a.heapUsed, b.heapUsed), arrayBuffers: Math.max(a.arrayBuffers, b.arrayBuffers), rss: Math.max(a.rss, b.rss) };
}

export async function runCase(c: BenchCase, quick: boolean): Promise<Omit<BenchResult, 'package' | 'file'>> {
  const base = { id: c.id, group: c.group, title: c.title, tags: c.tags ?? {}, unit: c.unit, ops: c.ops, threadId };
  fullGc();
  await new Promise((r) => setImmediate(r));
  gcEntries.length = 0;
  obs.takeRecords();
  let mem: Mem = { heapUsed: 0, arrayBuffers: 0, rss: 0 };
  if (c.measure) {
    const t0 = performance.now();
    const m: MeasureResult = await c.measure();
    const t1 = performance.now();
    await settleGcEntries();
    mem = peak(mem, process.memoryUsage());
    if (m.missing) return { ...base, status: 'missing', reason: m.missing, samples: 0, metrics: m.metrics ?? {}, tables: m.tables ?? [], charts: m.charts ?? [] };
    const ns = m.samplesNsPerOp ?? [];
    const s = stat(ns);
    return {
      ...base, status: 'ok', samples: ns.length, nsPerOp: ns.length ? s : undefined, opsPerSec: ns.length ? 1e9 / s.median : undefined,
      sampleMs: undefined, memory: mem, gcShare: gcInside([[t0, t1]]) / (t1 - t0), wallMs: t1 - t0,
      metrics: m.metrics ?? {}, tables: m.tables ?? [], charts: m.charts ?? [],
    };
  }
  if (!c.run) throw new Error(`benchmark ${c.id} has neither run nor measure`);
  const samples = quick ? 1 : (c.samples ?? 5);
  const warmup = quick ? 0 : (c.warmup ?? 1);
  const total = samples + warmup;
  let state: unknown;
  /**
   * The last sample's state, kept alive until the next sample's setup has built its own. V8 holds the
   * hidden classes of objects built field by field (every class instance) only weakly from their
   * transition trees: once the last machine of a run died in the full GC between samples, the next
   * machine got new maps, and the optimised fault path, whose type feedback named the dead ones, was
   * thrown away inside every timed sample ("insufficient type feedback" deopts in vm_normal_page,
   * copy_pte_range, zap_pte_range, handle_mm_fault). A program that models one machine keeps its maps.
   */
  let previous: unknown;
  let calls = 0;
  let metrics: Record<string, number | string | boolean> = {};
  const windows: Array<[number, number]> = [];
  const run = c.run;
  const wall0 = performance.now();
  const bench = new Bench({
    iterations: samples, time: 0, warmup: warmup > 0, warmupIterations: warmup, warmupTime: 0, retainSamples: true, throws: true,
  });
  bench.add(c.id, () => {
    const t0 = performance.now();
    run(state);
    const t1 = performance.now();
    if (calls >= warmup) windows.push([t0, t1]);
  }, {
    beforeEach: async () => {
      state = c.setup ? await c.setup() : undefined;
      // The previous sample's state dies only now that this one's objects exist (see `previous`),
      // and its garbage goes before the timed call.
      previous = undefined;
      fullGc();
    },
    afterEach: () => {
      calls++;
      mem = peak(mem, process.memoryUsage());
      if (calls === total && c.metrics) metrics = c.metrics(state);
      c.teardown?.(state);
      previous = state;
      state = undefined;
    },
  });
  await bench.run();
  const wallMs = performance.now() - wall0;
  await settleGcEntries();
  const task = bench.tasks[0]!;
  const r = task.result as { state: string; error?: Error; latency?: { samples?: ArrayLike<number> } };
  if (r.state === 'errored' || r.error) throw r.error ?? new Error(`benchmark ${c.id} failed`);
  // the per-sample times we took ourselves (tinybench's latency samples include its hooks' bookkeeping)
  const ms = windows.map(([a, b]) => b - a);
  const sMs = stat(ms);
  const nsPerOp = stat(ms.map((x) => (x * 1e6) / c.ops));
  const timed = ms.reduce((a, b) => a + b, 0);
  return {
    ...base, status: 'ok', samples: ms.length, nsPerOp, opsPerSec: 1e9 / nsPerOp.median, sampleMs: sMs, memory: mem,
    gcShare: timed > 0 ? gcInside(windows) / timed : 0, wallMs, metrics, tables: [], charts: [],
  };
}

/**
 * Runs one benchmark in a worker thread of its own (workers/case.ts): a fresh V8 isolate, so that the
 * type feedback the benchmarks before it left in the model's code does not slow it down.
 */
export function runIsolated(job: CaseJob, workerUrl: URL): Promise<Omit<BenchResult, 'package' | 'file'>> {
  return new Promise((resolve, reject) => {
    let result: Omit<BenchResult, 'package' | 'file'> | undefined;
    const w = new Worker(workerUrl, { workerData: job });
    w.once('message', (r: Omit<BenchResult, 'package' | 'file'>) => (result = r));
    w.once('error', reject);
    w.once('exit', (code) => (result ? resolve(result) : reject(new Error(`the benchmark's worker exited (code ${code}) without a result`))));
  });
}
