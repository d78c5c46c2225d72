// Benchmark 3's worker: one "CPU" faulting and unmapping zero-page mappings on its own model
// machine. In 'refcounted' mode (2.6.19–2.6.23) every read fault takes a reference and a mapcount
// on the one global ZERO_PAGE and every zap drops them: the model's fault and zap paths run on the
// worker's machine, and the shared struct page (count at [0], mapcount at [1] of one 64-byte line
// of a SharedArrayBuffer) gets the same atomic read-modify-writes from every worker. In 'special'
// mode (2.6.32) the ptes are special and nothing is counted.
import { parentPort, workerData } from 'node:worker_threads';
import { createMachine, handleMmFault, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '@mixedmap/core';
import x86 from '@mixedmap/arch-x86';
import { CTL_STOP, waitForGo } from './shared.js';

interface Data {
  mode: 'refcounted' | 'special';
  pages: number;
  ctl: SharedArrayBuffer;
  zero: SharedArrayBuffer;
}

const d = workerData as Data;
const ctl = new Int32Array(d.ctl);
const zero = new Int32Array(d.zero);
const kernel = d.mode === 'refcounted' ? '2.6.23' : '2.6.32';
const k = createMachine({ arch: x86, kernel, debug: false, memory: { ram: 64 * 1024 * 1024 } });
const task = k.spawn('w');
const t = task.threads[0]!;
const len = d.pages * 4096;
const shared = d.mode === 'refcounted';

// one round: mmap, read-fault every page, munmap (warms the JIT before the barrier too)
function round(): void {
  const addr = k.mmap(task, { length: len, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS }).addr!;
  const vma = k.findVmaOf(task, addr)!;
  for (let i = 0; i < d.pages; i++) {
    handleMmFault(k, t, vma, addr + i * 4096, false);
    if (shared) {
      Atomics.add(zero, 0, 1); // page_cache_get(ZERO_PAGE)
      Atomics.add(zero, 1, 1); // page_add_file_rmap
    }
  }
  k.munmap(task, addr, len);
  if (shared) {
    for (let i = 0; i < d.pages; i++) {
      Atomics.sub(zero, 1, 1); // page_remove_rmap
      Atomics.sub(zero, 0, 1); // tlb_remove_page → put_page
    }
  }
}

for (let i = 0; i < 3; i++) round();
waitForGo(ctl);
let ops = 0;
const t0 = performance.now();
while (Atomics.load(ctl, CTL_STOP) === 0) {
  round();
  ops += d.pages;
}
const ms = performance.now() - t0;
const localZero = k.pageInfo(k.zeroPfn)!;
parentPort!.postMessage({ ops, ms, localCount: localZero.count, localMapcount: localZero.mapcount });
