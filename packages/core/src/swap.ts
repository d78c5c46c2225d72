// The modern profile's per-CPU folio batches (k.f.mlockCount; mm/swap.c cpu_fbatches.lru_add and
// mm/mlock.c mlock_fbatch, one CPU): a new page waits in the lru_add batch, off the LRU, and
// mlock_folio / mlock_new_folio / munlock_folio only queue the folio, until the batch fills
// (FOLIO_BATCH_SIZE) or lru_add_drain() runs. PG_mlocked is set at once, but the folio's
// mlock_count — and the clearing of PG_mlocked — happen when the batch is processed, and a folio
// still off the LRU then is not counted (__mlock_folio) or is unlocked outright (__munlock_folio).
// The model drains at the end of every operation (the oracle's executor drains before its report;
// the kernel at its next drain point).

import type { Machine } from './machine.js';
import { PG_mlocked } from './page_alloc.js';

/** FOLIO_BATCH_SIZE (include/linux/folio_batch.h, PAGEVEC_SIZE before): a per-CPU batch is processed when it holds this many */
export const FOLIO_BATCH_SIZE = 31;

// mlock_fbatch entry kinds (mlock_lru / mlock_new tag the folio pointer's low bits)
const MUNLOCK = 0;
const LRU_FOLIO = 1;
const NEW_FOLIO = 2;

/** folio_add_lru: a new page (page cache, or anonymous outside a VM_LOCKED vma) waits in the lru_add batch. */
export function folioAddLru(k: Machine, pfn: number): void {
  const b = k.mem.lruAddBatch;
  b.push(pfn);
  if (b.length === FOLIO_BATCH_SIZE) lruAddBatchMove(k);
}

/** mlock_folio: PG_mlocked at once; the mlock_count when the batch is processed (__mlock_folio). */
export function mlockFolio(k: Machine, pfn: number): void {
  k.mem.flags[pfn] = k.mem.flags[pfn]! | PG_mlocked;
  mlockBatchAdd(k, pfn, LRU_FOLIO);
}

/** mlock_new_folio (folio_add_lru_vma in a VM_LOCKED vma): a new page goes to the LRU through the mlock batch. */
export function mlockNewFolio(k: Machine, pfn: number): void {
  k.mem.flags[pfn] = k.mem.flags[pfn]! | PG_mlocked;
  mlockBatchAdd(k, pfn, NEW_FOLIO);
}

/** munlock_folio: PG_mlocked is left to __munlock_folio, when the batch is processed. */
export function munlockFolio(k: Machine, pfn: number): void {
  mlockBatchAdd(k, pfn, MUNLOCK);
}

/** lru_add_drain: this CPU's lru_add batch, then its mlock batch (mlock_drain_local). */
export function lruAddDrain(k: Machine): void {
  if (k.mem.lruAddBatch.length) lruAddBatchMove(k);
  if (k.mem.mlockBatch.length) mlockFolioBatch(k);
}

function mlockBatchAdd(k: Machine, pfn: number, kind: number): void {
  const b = k.mem.mlockBatch;
  b.push(pfn * 4 + kind);
  if (b.length === FOLIO_BATCH_SIZE) mlockFolioBatch(k);
}

/**
 * folio_batch_move_lru(lru_add): each page goes on the LRU; an mlocked one on the unevictable list
 * with mlock_count 0 ("underestimate, let page reclaim fix it": a __mlock_folio that found it off
 * the LRU did not count). mem.mlockCount holds the count of the pages on the unevictable list.
 */
function lruAddBatchMove(k: Machine): void {
  const m = k.mem;
  for (const pfn of m.lruAddBatch.splice(0)) {
    if (m.flags[pfn]! & PG_mlocked) m.mlockCount.set(pfn, 0);
    else m.mlockCount.delete(pfn);
  }
}

/** mlock_folio_batch: the queued folios in order. */
function mlockFolioBatch(k: Machine): void {
  const m = k.mem;
  for (const e of m.mlockBatch.splice(0)) {
    const pfn = Math.floor(e / 4);
    const kind = e % 4;
    const mlocked = (m.flags[pfn]! & PG_mlocked) !== 0;
    const unevictable = m.mlockCount.has(pfn);
    if (kind === NEW_FOLIO) {
      // __mlock_new_folio: onto the LRU, the unevictable list if still mlocked
      if (mlocked) m.mlockCount.set(pfn, 1);
      continue;
    }
    const offLru = m.lruAddBatch.includes(pfn); // folio_test_clear_lru failed
    if (kind === LRU_FOLIO) {
      // __mlock_folio: "nothing more we can do while it's off LRU"
      if (offLru) continue;
      if (!mlocked) m.mlockCount.delete(pfn); // evictable after all: rescued
      else m.mlockCount.set(pfn, unevictable ? m.mlockCount.get(pfn)! + 1 : 1);
      continue;
    }
    // __munlock_folio: the count goes down while the page is on the unevictable list; a page off the
    // LRU, or whose count reaches 0, is unlocked ("assume that was the last mlock")
    if (!offLru && unevictable) {
      const n = Math.max(0, m.mlockCount.get(pfn)! - 1);
      m.mlockCount.set(pfn, n);
      if (n > 0) continue;
    }
    m.flags[pfn] = m.flags[pfn]! & ~PG_mlocked;
    if (!offLru) m.mlockCount.delete(pfn); // back to an evictable list
  }
}
