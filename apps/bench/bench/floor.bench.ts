// The memory floor under the fault benchmarks: the least work any model on these data structures
// must do, measured on the same machine in the same run, so that a missed target can be read as
// "code" (the model is far above its floor) or "memory" (the floor itself is above the target).
//   floor/pte-store:   per fault, the page-table walk (PageTables.alloc), the read of the pte and one
//                      pte store, in the fault order — a read fault's pte work with no fault path
//                      around it. The read is part of the floor: every fault must see what the pte
//                      holds before it acts (handle_pte_fault's `entry = *pte`), and in random order
//                      that load is a cache miss the store waits on (a store alone does not stall:
//                      it measured 110 ns against 210–280 ns with the read, 4M pages here);
//   floor/struct-page: per pte in address order, the pfn's count and mapcount updates and a flags
//                      read — the struct-page traffic of fork and exit with no pte work around it;
//   floor/fork-copy:   struct-page plus the copy of each pte into the child's table, which is new
//                      memory (one fresh table per 512 ptes, as copy_pte_range allocates it) — all
//                      that fork must do per pte, with no copy_one_pte rules around it;
//   floor/page-flags:  per pte in address order, the pfn's flags read and written back (the
//                      referenced bit of mark_page_accessed) — get_user_pages' struct-page work.

import { PG_anon, PG_referenced, type PageTables } from '@mixedmap/core';
import type { BenchCase, BenchOptions, Order } from '../src/api.js';
import { defineBenchFile } from '../src/api.js';
import { anonProcess, faultAll, pageOrder, pagesLabel, PAGE, type Proc } from '../src/lib/model.js';

interface St {
  p: Proc;
  order: Uint32Array;
  /** fork-copy: the child's page tables (an mm with none yet) */
  child?: PageTables;
}

function pteStore(st: St): void {
  const { p, order } = st;
  const pt = p.vma.mm.pt;
  const pte = p.k.pte;
  const base = p.addr / PAGE;
  const n = p.pages;
  let present = 0;
  for (let i = 0; i < n; i++) {
    if (!pt.alloc(base + order[i]!)) throw new Error('page-table allocation failed');
    const tbl = pt.tbl;
    const slot = pt.slot;
    // pte_none, then the store (present|user|accessed: the value does not matter, the store does)
    if (pte.isNone(tbl[slot]!, tbl[slot + 1]!)) tbl[slot] = 0x25;
    else present++;
  }
  if (present !== 0) throw new Error(`pte-store floor: ${present} ptes were not none`);
}

/**
 * copy_page_range's shape: one walk per pte table, then `perTable` over the ptes of that table (with
 * the child's table for fork-copy), which returns how many of them map anonymous pages; every page
 * must. Each benchmark runs in a worker of its own, so `perTable` is one function per isolate.
 */
function overTables(st: St, perTable: PerTable): void {
  const pt = st.p.vma.mm.pt;
  const base = st.p.addr / PAGE;
  const end = base + st.p.pages;
  const child = st.child;
  let anon = 0;
  for (let vpn = base; vpn < end; ) {
    const stop = pt.tableEnd(vpn, end);
    if (pt.lookup(vpn)) {
      let dtbl: Int32Array | null = null;
      if (child) {
        if (!child.alloc(vpn)) throw new Error('page-table allocation failed');
        dtbl = child.tbl;
      }
      anon += perTable(st, pt.tbl, pt.slot, pt.endSlot(vpn, stop), dtbl);
    }
    vpn = stop;
  }
  if (anon !== st.p.pages) throw new Error(`floor: ${anon} anonymous pages, not ${st.p.pages}`);
}

type PerTable = (st: St, tbl: Int32Array, slot0: number, endSlot: number, dtbl: Int32Array | null) => number;

/** One table's flags traffic: the referenced bit set on each pte's page. Returns the anon pages. */
function pageFlagsTable(st: St, tbl: Int32Array, slot0: number, endSlot: number): number {
  const pte = st.p.k.pte;
  const flags = st.p.k.mem.flags;
  let anon = 0;
  for (let slot = slot0; slot < endSlot; slot += 2) {
    const pfn = pte.pfn(tbl[slot]!, tbl[slot + 1]!);
    const f = flags[pfn]!;
    flags[pfn] = f | PG_referenced;
    if (f & PG_anon) anon++;
  }
  return anon;
}

/**
 * One table's struct-page traffic: count and mapcount up, the flags read; with `dtbl`, each pte is
 * also copied into it (the child's table: same slots, as copy_pte_range walks both in step).
 * Returns the anon pages.
 */
function structPageTable(st: St, tbl: Int32Array, slot0: number, endSlot: number, dtbl: Int32Array | null): number {
  const pte = st.p.k.pte;
  const m = st.p.k.mem;
  let anon = 0;
  for (let slot = slot0; slot < endSlot; slot += 2) {
    const lo = tbl[slot]!;
    const hi = tbl[slot + 1]!;
    const pfn = pte.pfn(lo, hi);
    m.count[pfn]!++;
    m.mapcount[pfn]!++;
    if (m.flags[pfn]! & PG_anon) anon++;
    if (dtbl !== null) {
      dtbl[slot] = lo;
      dtbl[slot + 1] = hi;
    }
  }
  return anon;
}

const KINDS = [
  { kind: 'pte-store', title: 'floor: page-table walk + pte read and store per page', unit: 'fault', prefault: false, child: false, run: pteStore },
  { kind: 'struct-page', title: 'floor: struct-page updates per pte (fork, exit)', unit: 'pte', prefault: true, child: false, run: (st: St) => overTables(st, structPageTable) },
  { kind: 'fork-copy', title: "floor: struct-page updates + pte copy into the child's fresh table", unit: 'pte', prefault: true, child: true, run: (st: St) => overTables(st, structPageTable) },
  { kind: 'page-flags', title: 'floor: page flags update per pte (gup)', unit: 'page', prefault: true, child: false, run: (st: St) => overTables(st, pageFlagsTable) },
] as const;

export default defineBenchFile({
  benchmarks(o: BenchOptions): BenchCase[] {
    const pages = o.quick ? o.sizes[0]! : 4 << 20;
    const out: BenchCase[] = [];
    for (const k of KINDS) {
      for (const order of ['seq', 'rand'] as Order[]) {
        out.push({
          id: `floor/${k.kind}/x86/${pagesLabel(pages)}/${order}`,
          group: 'floor',
          title: `${k.title} — x86, ${pagesLabel(pages)} pages, ${order}`,
          tags: { arch: 'x86', kernel: '2.6.32', size: pages, order, kind: k.kind },
          unit: k.unit,
          ops: pages,
          samples: o.quick ? 1 : 3,
          warmup: o.quick ? 0 : 1,
          default: true,
          setup: () => {
            const order_ = pageOrder(pages, order);
            const p = anonProcess('x86', '2.6.32', pages, pages);
            // struct-page: the pages are faulted in the given order, so a random order scatters the pfns
            if (k.prefault) faultAll(p, order_, true);
            return { p, order: order_, child: k.child ? p.k.spawn('floor-child').mm!.pt : undefined };
          },
          run: k.run,
        });
      }
    }
    return out;
  },
});
