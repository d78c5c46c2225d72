// core's own micro-benchmark (discovered and built by apps/bench; see apps/bench/README.md):
// vm_normal_page calls per second on the ptes of a populated mapping — normal anonymous pages
// and special zero-page ptes on x86 2.6.32 — with the pte words read up front, so that the
// figure is vm_normal_page itself, not the page-table walk.
import { createMachine, handleMmFault, vmNormalPage, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '@mixedmap/core';
import x86 from '@mixedmap/arch-x86';
import type { BenchCase, BenchFile, BenchOptions } from '../../../apps/bench/src/api.js';

function setup(pages: number, write: boolean) {
  const k = createMachine({ arch: x86, kernel: '2.6.32', debug: false, memory: { ram: (pages + 8192) * 4096 } });
  const p = k.spawn('p');
  const addr = k.mmap(p, { length: pages * 4096, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS }).addr!;
  const vma = k.findVmaOf(p, addr)!;
  const lo = new Int32Array(pages) // pte words as the page tables hold them (pte.ts);
  const hi = new Int32Array(pages);
  for (let i = 0; i < pages; i++) {
    handleMmFault(k, p.threads[0]!, vma, addr + i * 4096, write);
    const pte = k.readPte(p, addr + i * 4096);
    lo[i] = pte.lo;
    hi[i] = pte.hi;
  }
  return { k, vma, addr, lo, hi, pages, sink: 0 };
}

type St = ReturnType<typeof setup>;

function run(s: St): void {
  const { k, vma, addr, lo, hi, pages } = s;
  let acc = 0;
  for (let rep = 0; rep < 8; rep++) {
    for (let i = 0; i < pages; i++) acc += vmNormalPage(k, vma, addr + i * 4096, lo[i]!, hi[i]!);
  }
  s.sink = acc;
}

const file: BenchFile = {
  benchmarks(o: BenchOptions): BenchCase[] {
    const pages = o.quick ? 4096 : 1 << 20;
    return (['normal', 'special-zero'] as const).map((what) => {
      let st: St | undefined;
      return {
        id: `vm_normal_page/${what}`,
        group: 'vm_normal_page',
        title: `vm_normal_page on ${what === 'normal' ? 'normal anonymous' : 'special zero-page'} ptes (x86 2.6.32, ${pages} ptes × 8)`,
        tags: { arch: 'x86', kernel: '2.6.32', size: pages, kind: `vm_normal_page-${what}` },
        unit: 'call',
        ops: pages * 8,
        samples: 5,
        warmup: 2,
        default: true,
        // one machine for every sample: vm_normal_page does not change it
        setup: () => (st ??= setup(pages, what === 'normal')),
        run,
        teardown: () => undefined,
      };
    });
  },
};

export default file;
