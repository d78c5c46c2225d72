// Reverse-map counters on struct page (mm/rmap.c): only the mapcount side is modelled; the
// reverse walk itself is not needed by these paths. Reference §1.4.

import type { Machine } from './machine.js';
import type { Vma } from './mm_types.js';
import { VM_LOCKED } from './constants.js';
import { PG_anon, PG_mlocked } from './page_alloc.js';
import { vmSpecial } from './mmap.js';
import { folioAddLru, mlockFolio, mlockNewFolio, munlockFolio } from './swap.js';

/** page_add_file_rmap: one more pte maps this page (modern: in `vma`, which may mlock it). */
export function pageAddFileRmap(k: Machine, pfn: number, vma?: Vma): void {
  k.mem.mapcount[pfn]!++;
  if (vma && k.f.mlockCount) mlockVmaFolio(k, pfn, vma);
}

/**
 * Modern mlock_vma_folio (mm/internal.h), called by the rmap add of a small folio: a pte in a
 * VM_LOCKED vma that is not VM_SPECIAL mlocks the page (mlock_folio).
 */
function mlockVmaFolio(k: Machine, pfn: number, vma: Vma): void {
  if ((vma.flags & VM_LOCKED) && !(vma.flags & vmSpecial(k))) mlockFolio(k, pfn);
}

/** page_add_new_anon_rmap: first mapping of a fresh anonymous page. */
export function pageAddNewAnonRmap(k: Machine, pfn: number, vma: Vma, address: number): void {
  const m = k.mem;
  m.mapcount[pfn] = 0;
  m.flags[pfn] = m.flags[pfn]! | PG_anon;
  m.mapping[pfn] = vma.anonVma ? vma.anonVma.id : 0;
  m.index[pfn] = Math.floor((address - vma.start) / 4096) + vma.pgoff;
  if (k.f.mlockCount) folioAddLruVma(k, pfn, vma);
  else if (vma.flags & VM_LOCKED) mlockNewPage(k, pfn, vma);
}

/** Modern folio_add_lru_vma, which follows every folio_add_new_anon_rmap: mlock_new_folio in a VM_LOCKED vma. */
function folioAddLruVma(k: Machine, pfn: number, vma: Vma): void {
  if ((vma.flags & VM_LOCKED) && !(vma.flags & vmSpecial(k))) mlockNewFolio(k, pfn);
  else folioAddLru(k, pfn);
}

/**
 * 2.6.28+: a new anonymous page of a VM_LOCKED vma that is not VM_SPECIAL goes to the unevictable
 * list already mlocked (page_evictable → is_mlocked_vma: lru_cache_add_active_or_unevictable in
 * 2.6.28, page_add_new_anon_rmap from 2.6.29; modern mlock_new_folio). ≤2.6.27 has no PG_mlocked.
 */
function mlockNewPage(k: Machine, pfn: number, vma: Vma): void {
  if (k.f.mlock === 'make_pages_present' || vma.flags & vmSpecial(k)) return;
  k.mem.flags[pfn] = k.mem.flags[pfn]! | PG_mlocked;
}

/**
 * page_dup_rmap (fork). With CONFIG_DEBUG_VM in 2.6.22–2.6.28 it BUG()s on a page that was not
 * mapped at all (RM22, c97a9e10eae) — reachable through a COW PFNMAP pfn_valid page (A9).
 */
export function pageDupRmap(k: Machine, pfn: number, chain: () => string[]): void {
  if (k.f.dupRmapCheck && k.mem.mapcount[pfn]! < 0) {
    k.bug('page_dup_rmap: page_mapcount(page) == 0 (BUG_ON in __page_check_anon_rmap path)', chain());
  }
  k.mem.mapcount[pfn]!++;
}

/**
 * page_remove_rmap: one pte less; returns the new _mapcount (-1: no pte maps the page). ≤2.6.28 it
 * BUG()s itself when the mapcount goes negative ("Eeek!"); from 2.6.29 it checks nothing, and
 * zap_pte_range reports a bad pte when the count went below -1 (3dc147414cc). Reference §1.4, §2.15.
 */
export function pageRemoveRmap(k: Machine, pfn: number, vma: Vma, chain: () => string[]): number {
  const m = k.mem;
  const mc = --m.mapcount[pfn]!;
  // modern munlock_vma_folio: a pte of a VM_LOCKED vma going is one mlock less. 2.6.28–2.6.32's
  // page_remove_rmap leaves PG_mlocked alone: munmap and exit munlock a VM_LOCKED vma before the zap,
  // and a page still mlocked here keeps the flag until it is freed (free_page_mlock)
  if (k.f.mlockCount && vma.flags & VM_LOCKED) munlockFolio(k, pfn);
  if (mc < -1 && k.f.negativeMapcount === 'bug') mapcountWentNegative(k, pfn, mc, chain);
  return mc;
}

/** The "Eeek!" BUG (≤2.6.28), out of line so that page_remove_rmap stays small enough to inline into zap. */
function mapcountWentNegative(k: Machine, pfn: number, mc: number, chain: () => string[]): void {
  k.report(`Eeek! page_mapcount(page) went negative! (${mc + 1}) pfn 0x${pfn.toString(16)}`);
  k.bug('page_remove_rmap: page_mapcount(page) went negative', chain());
}
