// Benchmark 2 (seed 000): "100 guests". N guests each map an XIP image of S bytes from a shared
// z/VM DCSS on s390. Up to 2.6.25 every guest that loads the DCSS gets a struct page per DCSS page
// (add_shared_memory); from 2.6.26 none (vmem_add_mapping, VM_MIXEDMAP with special ptes).
// The table and chart are the arithmetic, checked against the model's own mem_map accounting for
// one guest (s390 segment_load on 2.6.25 with and without memcg, and 2.6.26); then a real model run:
// 100 guests × 1 GiB XIP, every page faulted, with its time and the process RSS.

import {
  createMachine, defineDriver, handleMmFault, vmInsertMixed, MAP_PRIVATE, PROT_READ, VM_MIXEDMAP, VM_FAULT_NOPAGE, VM_FAULT_OOM,
  type Driver, type Inode, type Machine, type Vma,
} from '@mixedmap/core';
import s390 from '@mixedmap/arch-s390';
import type { BenchCase, BenchOptions, MeasureResult } from '../src/api.js';
import { defineBenchFile } from '../src/api.js';

const GiB = 1024 ** 3;
const DCSS_START = 4 * GiB; // above the guest's storage

function seg(size: number) {
  return [{ name: 'XIPIMG', start: DCSS_START, size, type: 'SR' }];
}

/** mem_map bytes one guest spends on the DCSS, from the model (arch-s390 segment_load + segment_info). */
export function modelMemmapPerGuest(kernel: string, size: number, memcg: boolean): number {
  const k = createMachine({ arch: s390, kernel, kernelOptions: { memcg }, archOptions: { segments: seg(size) }, memory: { ram: 64 << 20 }, debug: false });
  const r = k.driverOp('s390', 'segment_load', { name: 'XIPIMG' });
  if ((r.ret ?? -1) < 0) throw new Error(`segment_load failed: ${r.errno}`);
  return k.driverOp('s390', 'segment_info', {}).ret!;
}

// ---- a minimal VM_MIXEDMAP XIP driver, used only if @mixedmap/driver-xip does not work --------

const liteXip: Driver<Record<string, unknown>, { start: number; pages: number }> = defineDriver<Record<string, unknown>, { start: number; pages: number }>({
  name: 'bench-dcss-xip',
  paths: () => ['/mnt/dcss'],
  init(k) {
    const ret = k.driverOp('s390', 'segment_load', { name: 'XIPIMG' }).ret ?? -1;
    if (ret < 0) throw new Error(`segment_load: ${ret}`);
    const r = k.mem.region('dcss:XIPIMG')!;
    return { start: r.startPfn, pages: r.endPfn - r.startPfn };
  },
  lookup(k, st, path): Inode {
    return k.newInode(liteXip as never, path, st.pages * 4096, null);
  },
  mmap(_k, st, _file, vma) {
    vma.flags |= VM_MIXEDMAP;
    vma.ops = {
      name: 'bench_dcss_xip_vm_ops',
      fault(v: Vma, vmf, k: Machine) {
        if (vmf.pgoff >= st.pages) return 2; // VM_FAULT_SIGBUS
        const err = vmInsertMixed(k, v, vmf.virtualAddress, st.start + vmf.pgoff);
        return err === 0 ? VM_FAULT_NOPAGE : VM_FAULT_OOM;
      },
    };
    return 0;
  },
});

interface Guest {
  k: Machine;
  vma: Vma;
  addr: number;
}

async function bootGuest(kernel: string, size: number, useXip: boolean): Promise<Guest> {
  let k: Machine;
  let path: string;
  if (useXip) {
    const { xip } = await import('@mixedmap/driver-xip');
    k = createMachine({
      arch: s390, kernel, archOptions: { segments: seg(size) }, memory: { ram: 64 << 20 }, debug: false,
      drivers: [{ driver: xip, settings: { segment: 'XIPIMG', readOnly: true, files: [{ path: 'image', size }] } }],
    });
    path = '/mnt/xip/image';
  } else {
    k = createMachine({ arch: s390, kernel, archOptions: { segments: seg(size) }, memory: { ram: 64 << 20 }, debug: false, drivers: [{ driver: liteXip }] });
    path = '/mnt/dcss/image';
  }
  const task = k.spawn('guest');
  const f = k.open(task, path, { write: false });
  if (!f.file) throw new Error(`open ${path}: ${f.errno ?? f.outcome}`);
  const m = k.mmap(task, { length: size, prot: PROT_READ, flags: MAP_PRIVATE, file: f.file });
  if (m.addr === undefined) throw new Error(`mmap: ${m.errno ?? m.outcome} ${m.reports.join('; ')}`);
  return { k, vma: k.findVmaOf(task, m.addr)!, addr: m.addr };
}

function faultGuest(g: Guest, pages: number): void {
  const thread = g.k.tasks[0]!.threads[0]!;
  for (let i = 0; i < pages; i++) {
    const r = handleMmFault(g.k, thread, g.vma, g.addr + i * 4096, false);
    if (r & 0x3) throw new Error(`fault ${i}: ${r}`); // OOM | SIGBUS
  }
}

async function measure(o: BenchOptions): Promise<MeasureResult> {
  const S = o.quick ? 64 << 20 : 2 * GiB; // the arithmetic's image size
  const runGuests = o.quick ? 4 : 100;
  const runSize = o.quick ? 16 << 20 : GiB;
  const pagesS = S / 4096;

  // the model's mem_map per guest (one guest machine each)
  const per56 = modelMemmapPerGuest('2.6.25', S, false);
  const per64 = modelMemmapPerGuest('2.6.25', S, true);
  const per26 = modelMemmapPerGuest('2.6.26', S, false);
  const per32 = modelMemmapPerGuest('2.6.32', S, false);
  const breakEven56 = S / per56;
  const breakEven64 = S / per64;
  const counts = [1, 10, 25, 50, 64, 73, 74, 100, 128, 150, 200];
  const MiB = 1024 * 1024;
  const rows = counts.map((n) => [n, +((n * per56) / MiB).toFixed(1), +((n * per64) / MiB).toFixed(1), +((n * per26) / MiB).toFixed(1), `${((n * per56 * 100) / S).toFixed(1)}%`]);

  // the real run: N guests × 1 GiB XIP, every page faulted, all guests resident at the end
  let driver = 'xip';
  let driverNote = '@mixedmap/driver-xip (ext2 -o xip on dcssblk, xip_file_fault → get_xip_mem → vm_insert_mixed)';
  try {
    const g = await bootGuest('2.6.32', 16 << 20, true);
    faultGuest(g, 4096);
    const pte = g.k.readPte(g.k.tasks[0]!, g.addr);
    if (!pte.special) throw new Error('the XIP pte is not special');
  } catch (e) {
    driver = 'bench-dcss-xip';
    driverNote = `in-bench VM_MIXEDMAP driver over the DCSS "segment" region with core's vmInsertMixed (driver-xip failed: ${(e as Error).message})`;
  }
  globalThis.gc?.();
  const rss0 = process.memoryUsage().rss;
  const guests: Guest[] = [];
  const t0 = performance.now();
  let faultMs = 0;
  for (let i = 0; i < runGuests; i++) {
    const g = await bootGuest('2.6.32', runSize, driver === 'xip');
    const f0 = performance.now();
    faultGuest(g, runSize / 4096);
    faultMs += performance.now() - f0;
    guests.push(g);
  }
  const totalMs = performance.now() - t0;
  const mu = process.memoryUsage();
  const ptes = runGuests * (runSize / 4096);
  const ptBytes = guests.reduce((a, g) => a + g.k.pageTableBytes(g.k.tasks[0]!), 0);
  const dcssMemmap = guests.reduce((a, g) => a + (g.k.driverOp('s390', 'segment_info', {}).ret ?? 0), 0);
  const special = guests.every((g) => g.k.readPte(g.k.tasks[0]!, g.addr + runSize - 4096).special);
  // the same guests on 2.6.25 would have spent this on struct pages for the DCSS
  const would25 = runGuests * modelMemmapPerGuest('2.6.25', runSize, false);
  guests.length = 0;
  globalThis.gc?.();
  // the same run through the minimal in-bench VM_MIXEDMAP driver: what the core fault path costs
  // without driver-xip's per-file block map (bench-findings.md)
  let liteMs = 0;
  let liteFaultMs = 0;
  if (driver === 'xip') {
    const l0 = performance.now();
    for (let i = 0; i < runGuests; i++) {
      const g = await bootGuest('2.6.32', runSize, false);
      const f0 = performance.now();
      faultGuest(g, runSize / 4096);
      liteFaultMs += performance.now() - f0;
      guests.push(g);
    }
    liteMs = performance.now() - l0;
    guests.length = 0;
  }

  const metrics = {
    imageBytes: S,
    structPageBytes56PerGuest: per56,
    structPageBytes64PerGuest: per64,
    memmapBytes2626PerGuest: per26,
    memmapBytes2632PerGuest: per32,
    breakEvenGuests56: breakEven56,
    breakEvenGuests64: breakEven64,
    runGuests,
    runImageBytes: runSize,
    runPtes: ptes,
    runDriver: driver,
    runDriverNote: driverNote,
    runMs: totalMs,
    runFaultMs: faultMs,
    runNsPerFault: (faultMs * 1e6) / ptes,
    runRssBytes: mu.rss,
    runRssGrowthBytes: mu.rss - rss0,
    runPageTableBytes: ptBytes,
    runDcssMemmapBytes: dcssMemmap,
    runDcssMemmapBytesOn2625: would25,
    runAllPtesSpecial: special,
    ...(liteMs ? { liteDriverRunMs: liteMs, liteDriverNsPerFault: (liteFaultMs * 1e6) / ptes } : {}),
  };
  const xs = Array.from({ length: 200 }, (_, i) => i + 1);
  const gib = (b: number) => +(b / GiB).toFixed(3);
  return {
    samplesNsPerOp: [(faultMs * 1e6) / ptes],
    metrics,
    tables: [
      {
        title: `mem_map for the DCSS: N guests × ${S / GiB} GiB XIP image (${pagesS} pages), MiB — per guest from the model: ${per56} B (2.6.25), ${per64} B (2.6.25 + memcg), ${per26} B (2.6.26+)`,
        columns: ['guests', '≤2.6.25, 56 B/page', '2.6.25 memcg, 64 B/page', '2.6.26+ VM_MIXEDMAP', 'struct pages ÷ image (56 B)'],
        rows: [...rows, ['break-even', +breakEven56.toFixed(1), +breakEven64.toFixed(1), '—', '100%']],
      },
      {
        title: `Model run: ${runGuests} guests × ${runSize / GiB} GiB XIP, every page read-faulted (s390 2.6.32, ${driver})`,
        columns: ['driver', 'ptes', 'time (s)', 'ns/fault', 'RSS (MiB)', 'page tables (MiB)', 'DCSS mem_map', 'same on 2.6.25 (MiB)', 'all ptes special'],
        rows: [
          [driver, ptes, +(totalMs / 1000).toFixed(2), +((faultMs * 1e6) / ptes).toFixed(1), Math.round(mu.rss / MiB), +(ptBytes / MiB).toFixed(1), dcssMemmap, +(would25 / MiB).toFixed(1), special ? 'yes' : 'no'],
          ...(liteMs ? [['bench-dcss-xip (minimal VM_MIXEDMAP driver, for comparison)', ptes, +(liteMs / 1000).toFixed(2), +((liteFaultMs * 1e6) / ptes).toFixed(1), '', '', '', '', '']] : []),
        ],
      },
    ],
    charts: [{
      id: 'guests-memmap',
      title: `struct pages for a shared ${S / GiB} GiB DCSS image vs guests (GiB): break-even ${breakEven56.toFixed(1)} guests at 56 B, ${breakEven64.toFixed(1)} at 64 B`,
      height: 360,
      option: {
        legend: { top: 24 },
        xAxis: { type: 'value', name: 'guests', min: 0, max: 200 },
        yAxis: { type: 'value', name: 'GiB' },
        series: [
          { name: '≤2.6.25 (56 B)', type: 'line', showSymbol: false, data: xs.map((n) => [n, gib(n * per56)]) },
          { name: '2.6.25 memcg (64 B)', type: 'line', showSymbol: false, data: xs.map((n) => [n, gib(n * per64)]) },
          { name: '2.6.26+ (none)', type: 'line', showSymbol: false, data: xs.map((n) => [n, gib(n * per26)]) },
          {
            name: 'image size', type: 'line', showSymbol: false, lineStyle: { type: 'dashed' }, data: [[0, gib(S)], [200, gib(S)]],
            markPoint: { symbolSize: 40, data: [{ coord: [+breakEven56.toFixed(1), gib(S)], value: breakEven56.toFixed(1) }, { coord: [+breakEven64.toFixed(1), gib(S)], value: breakEven64.toFixed(1) }] },
          },
        ],
      },
    }],
  };
}

export default defineBenchFile({
  benchmarks(o: BenchOptions): BenchCase[] {
    return [{
      id: 'guests/100-guests',
      group: 'guests',
      title: 'The 100-guests claim (seed 000): DCSS struct pages per guest (≤2.6.25) vs none (2.6.26+), and 100 guests × 1 GiB XIP fully faulted',
      tags: { arch: 's390', kernel: '2.6.25|2.6.26|2.6.32', driver: 'xip', kind: 'guests' },
      unit: 'XIP fault',
      ops: 1,
      default: true,
      measure: () => measure(o),
    }];
  },
});
