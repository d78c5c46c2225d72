// Benchmark 3 (seed 003): ZERO_PAGE refcount contention. Real worker threads fault and unmap
// zero-page mappings; with the 2.6.19–2.6.23 refcounted zero page all of them hit one shared
// struct page (a SharedArrayBuffer updated with Atomics), with 2.6.32's special ptes none does.
import type { BenchCase, BenchOptions, MeasureResult } from '../src/api.js';
import { defineBenchFile } from '../src/api.js';
import { runWorkers } from '../src/lib/threads.js';

interface Report {
  ops: number;
  ms: number;
  localCount: number;
  localMapcount: number;
}

async function measure(o: BenchOptions): Promise<MeasureResult> {
  const pages = o.quick ? 256 : 4096;
  const ms = o.quick ? 60 : 1000;
  const threads = Math.max(1, o.threads);
  const rows: Array<Array<string | number>> = [];
  const perThread: Record<string, number> = {};
  for (const mode of ['refcounted', 'special'] as const) {
    for (const n of threads > 1 ? [1, threads] : [1]) {
      const zero = new SharedArrayBuffer(64); // one cacheline: _count, _mapcount
      const rep = await runWorkers<Report>(o.workerUrl('zero-page'), Array.from({ length: n }, () => ({ mode, pages, zero })), ms);
      const z = new Int32Array(zero);
      if (z[0] !== 0 || z[1] !== 0) throw new Error(`shared ZERO_PAGE counts did not balance: count ${z[0]}, mapcount ${z[1]}`);
      // ops = faults; each fault's pte is also zapped by the munmap that ends the round
      const mopsPerThread = rep.map((r) => r.ops / r.ms / 1000);
      const avg = mopsPerThread.reduce((a, b) => a + b, 0) / n;
      perThread[`${mode}@${n}`] = avg;
      rows.push([mode === 'refcounted' ? 'refcounted ZERO_PAGE (2.6.23)' : 'special zero pte (2.6.32)', n, +avg.toFixed(3), +(avg * n).toFixed(3)]);
    }
  }
  const T = threads > 1 ? threads : 1;
  const ratio = perThread[`special@${T}`]! / perThread[`refcounted@${T}`]!;
  const metrics = {
    threads: T,
    refcountedMopsPerThread: perThread[`refcounted@${T}`]!,
    specialMopsPerThread: perThread[`special@${T}`]!,
    specialOverRefcounted: ratio,
    refcountedScaling: perThread[`refcounted@${T}`]! / perThread['refcounted@1']!,
    specialScaling: perThread[`special@${T}`]! / perThread['special@1']!,
  };
  const cats = rows.map((r) => `${String(r[0]).split(' (')[0]} ×${r[1]}`);
  return {
    samplesNsPerOp: [1000 / perThread[`refcounted@${T}`]!],
    metrics,
    tables: [{
      title: `ZERO_PAGE contention: read fault + unmap per page, per thread (${pages} pages per mmap/munmap round, ${ms} ms per run)`,
      columns: ['zero page', 'threads', 'M faults+zaps/s per thread', 'M/s all threads'],
      rows: [...rows, ['special ÷ refcounted, per thread', T, +ratio.toFixed(2), '']],
    }],
    charts: [{
      id: 'zero-page-contention',
      title: `Zero-page read faults + unmaps per thread (M/s): refcounted 2.6.23 vs special 2.6.32, 1 and ${T} threads`,
      option: {
        xAxis: { type: 'category', data: cats, axisLabel: { interval: 0, fontSize: 10 } },
        yAxis: { type: 'value', name: 'M/s per thread' },
        series: [{ type: 'bar', data: rows.map((r) => r[2]), label: { show: true, position: 'top' } }],
      },
    }],
  };
}

export default defineBenchFile({
  benchmarks(o: BenchOptions): BenchCase[] {
    return [{
      id: 'zero-page/contention',
      group: 'zero-page',
      title: `ZERO_PAGE refcount contention: ${o.threads} worker threads, refcounted (2.6.19–2.6.23) vs special ptes (2.6.32)`,
      tags: { arch: 'x86', kernel: '2.6.23|2.6.32', kind: 'zero-page-contention' },
      unit: 'fault+zap',
      ops: 1,
      default: true,
      measure: () => measure(o),
    }];
  },
});
