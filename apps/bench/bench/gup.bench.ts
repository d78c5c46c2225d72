// Benchmark 4: slow gup under a modelled mmap_sem — a real reader-writer lock on Atomics shared by
// worker threads, contended by a writer thread doing mmap/munmap — vs lockless gup_fast on x86,
// and the generic fallback on arm (no gup_fast: everything under mmap_sem); with the share of pages
// that fall back to the slow path because their pte is special (2.6.32 zero-page ptes).
import type { BenchCase, BenchOptions, MeasureResult } from '../src/api.js';
import { defineBenchFile } from '../src/api.js';
import { runWorkers } from '../src/lib/threads.js';
import { RWSEM_SLOTS } from '../src/workers/shared.js';

interface Report {
  role: string;
  pinned: number;
  fellBack: number;
  lockTaken: number;
  rounds: number;
  ms: number;
}

const MODES = [
  { key: 'x86-slow', arch: 'x86', method: 'slow', specialShare: 0, label: 'x86 get_user_pages (mmap_sem)' },
  { key: 'x86-fast-0', arch: 'x86', method: 'fast', specialShare: 0, label: 'x86 gup_fast, 0% special' },
  { key: 'x86-fast-10', arch: 'x86', method: 'fast', specialShare: 0.1, label: 'x86 gup_fast, 10% special' },
  { key: 'x86-fast-50', arch: 'x86', method: 'fast', specialShare: 0.5, label: 'x86 gup_fast, 50% special' },
  { key: 'arm-fast', arch: 'arm', method: 'fast', specialShare: 0, label: 'arm gup_fast → generic (mmap_sem)' },
] as const;

async function measure(o: BenchOptions): Promise<MeasureResult> {
  const pages = o.quick ? 1024 : 65536;
  const batch = 16; // a 64 KiB direct I/O
  const ms = o.quick ? 60 : 600;
  const gupThreads = Math.max(1, o.threads - 1);
  const rows: Array<Array<string | number>> = [];
  const metrics: Record<string, number> = { gupThreads, writerThreads: 1, batch };
  const bars: number[] = [];
  for (const m of MODES) {
    for (const contended of [false, true]) {
      const sem = new SharedArrayBuffer(RWSEM_SLOTS * 4);
      const datas: Array<Record<string, unknown>> = Array.from({ length: gupThreads }, () => ({ role: 'gup', arch: m.arch, method: m.method, pages, batch, specialShare: m.specialShare, sem }));
      if (contended) datas.push({ role: 'writer', arch: m.arch, method: m.method, pages: 64, batch, specialShare: 0, sem });
      const rep = await runWorkers<Report>(o.workerUrl('gup'), datas, ms);
      const g = rep.filter((r) => r.role === 'gup');
      const w = rep.find((r) => r.role === 'writer');
      const pinned = g.reduce((a, r) => a + r.pinned, 0);
      const fell = g.reduce((a, r) => a + r.fellBack, 0);
      const mpps = g.reduce((a, r) => a + r.pinned / r.ms, 0) / g.length / 1000; // M pages/s per gup thread
      const nsPerPage = 1000 / mpps;
      const share = pinned ? fell / pinned : 0;
      const tag = `${m.key}${contended ? '+writer' : ''}`;
      metrics[`${tag}.MpagesPerSecPerThread`] = mpps;
      metrics[`${tag}.fallbackShare`] = share;
      if (w) metrics[`${tag}.writerOpsPerSec`] = (w.rounds / w.ms) * 1000;
      rows.push([m.label, contended ? 'yes' : 'no', +mpps.toFixed(2), +nsPerPage.toFixed(1), `${(share * 100).toFixed(1)}%`, w ? Math.round((w.rounds / w.ms) * 1000) : '']);
      if (contended) bars.push(+mpps.toFixed(2));
    }
  }
  return {
    samplesNsPerOp: [1000 / metrics['x86-fast-0+writer.MpagesPerSecPerThread']!],
    metrics,
    tables: [{
      title: `gup vs gup_fast: ${gupThreads} gup thread(s) pinning ${batch}-page batches of a ${pages}-page buffer; writer thread: mmap+fault+munmap of 16 pages under down_write, 20 µs apart`,
      columns: ['method', 'writer', 'M pages/s per gup thread', 'ns/page', 'fell back (special pte / no gup_fast)', 'writer ops/s'],
      rows,
    }],
    charts: [{
      id: 'gup-vs-gup-fast',
      title: 'Pages pinned per gup thread (M/s) with a writer contending mmap_sem',
      option: {
        xAxis: { type: 'category', data: MODES.map((m) => m.label), axisLabel: { interval: 0, fontSize: 9, rotate: 15 } },
        yAxis: { type: 'value', name: 'M pages/s' },
        series: [{ type: 'bar', data: bars, label: { show: true, position: 'top' } }],
      },
    }],
  };
}

export default defineBenchFile({
  benchmarks(o: BenchOptions): BenchCase[] {
    return [{
      id: 'gup/gup-vs-gup-fast',
      group: 'gup',
      title: 'gup (mmap_sem rwlock on Atomics, contended by mmap/munmap) vs lockless gup_fast (x86) and its fallback (arm)',
      tags: { arch: 'x86|arm', kernel: '2.6.32', kind: 'gup-fast' },
      unit: 'page (x86 gup_fast, contended)',
      ops: 1,
      default: true,
      measure: () => measure(o),
    }];
  },
});
