// Helpers the benchmark files share: machines of a given arch/kernel/size, page orders, and the
// raw fault loop (handleMmFault: the fault path without the OpResult wrapping of Machine.access).

import {
  createMachine, handleMmFault, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, type ArchSpec, type Machine, type Task, type Thread, type Vma,
} from '@mixedmap/core';
import x86 from '@mixedmap/arch-x86';
import arm from '@mixedmap/arch-arm';
import s390 from '@mixedmap/arch-s390';

export const ARCHES: Record<string, ArchSpec> = { x86, arm, s390 };

export const PAGE = 4096;

/** 1048576 → "1M", 4096 → "4K" */
export function pagesLabel(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n >> 20}M`;
  if (n >= 1024 && n % 1024 === 0) return `${n >> 10}K`;
  return String(n);
}

const orders = new Map<string, Uint32Array>();

/** The page visiting order: 0…n-1, or a fixed xorshift permutation (the C program uses the same generator). */
export function pageOrder(n: number, order: 'seq' | 'rand'): Uint32Array {
  const key = `${order}:${n}`;
  let o = orders.get(key);
  if (o) return o;
  o = new Uint32Array(n);
  for (let i = 0; i < n; i++) o[i] = i;
  if (order === 'rand') {
    // xorshift32 Fisher–Yates; native/mm-fault-bench.c uses the same generator and seed
    let x = 0x9e3779b9;
    for (let i = n - 1; i > 0; i--) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      const j = (x >>> 0) % (i + 1);
      const t = o[i]!;
      o[i] = o[j]!;
      o[j] = t;
    }
  }
  orders.set(key, o);
  return o;
}

export interface Proc {
  k: Machine;
  task: Task;
  t: Thread;
  addr: number;
  vma: Vma;
  pages: number;
}

/** A machine with `ramPages` of RAM and one process with an anonymous private mapping of `pages`. */
export function anonProcess(arch: string, kernel: string, pages: number, ramPages: number): Proc {
  const spec = ARCHES[arch];
  if (!spec) throw new Error(`unknown arch ${arch}`);
  const ram = Math.max(ramPages + 8192, 4096) * PAGE;
  const k = createMachine({ arch: spec, kernel, debug: false, memory: { ram } });
  const task = k.spawn('bench');
  const r = k.mmap(task, { length: pages * PAGE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
  if (r.addr === undefined) throw new Error(`mmap of ${pages} pages failed: ${r.errno ?? r.outcome}`);
  const vma = k.findVmaOf(task, r.addr)!;
  return { k, task, t: task.threads[0]!, addr: r.addr, vma, pages };
}

/** Faults every page of the mapping in `order` (raw handleMmFault; the pte is none or write-protected). */
export function faultAll(p: Proc, order: Uint32Array, write: boolean): void {
  const { k, t, vma, addr } = p;
  const n = p.pages;
  for (let i = 0; i < n; i++) handleMmFault(k, t, vma, addr + order[i]! * PAGE, write);
}

/** Bytes of model memory: mem_map arrays and allocator (MemoryModel.modelBytes) plus the page tables. */
export function modelBytes(k: Machine, tasks: Task[]): number {
  return k.mem.modelBytes() + tasks.reduce((a, t) => a + k.pageTableBytes(t), 0);
}
