// mm/filemap.c and mm/truncate.c helpers that page-cache drivers use: find_or_create_page,
// unmap_mapping_range, truncate_inode_pages. The page cache holds one reference per cached page.

import { PAGE_SIZE } from './constants.js';
import { FN } from './fault_ctx.js';
import { zapPteRange } from './memory.js';
import { NO_MAPPING, PG_dirty, PG_mlocked } from './page_alloc.js';
import { folioAddLru } from './swap.js';
import type { Machine } from './machine.js';
import type { AddressSpace } from './mm_types.js';

/** find_or_create_page: the cached page at pgoff (one reference for the caller), or -1 on OOM. */
export function findOrCreatePage(k: Machine, mapping: AddressSpace, pgoff: number): number {
  let pfn = mapping.pages.get(pgoff);
  if (pfn === undefined) {
    pfn = k.allocUserPage();
    if (pfn < 0) return -1;
    k.mem.mapping[pfn] = mapping.id;
    k.mem.index[pfn] = pgoff;
    mapping.pages.set(pgoff, pfn); // the page cache's reference is the allocation's
    if (k.f.mlockCount) folioAddLru(k, pfn); // modern shmem_get_folio: onto the CPU's lru_add batch
  }
  k.mem.getPage(pfn);
  return pfn;
}

/** find_get_page: the cached page with a reference, or -1. */
export function findGetPage(k: Machine, mapping: AddressSpace, pgoff: number): number {
  const pfn = mapping.pages.get(pgoff);
  if (pfn === undefined) return -1;
  k.mem.getPage(pfn);
  return pfn;
}

/**
 * unmap_mapping_range(mapping, from, len, even_cows): zaps the ptes of every vma mapping
 * [fromPgoff, fromPgoff + nrPages). With evenCows (truncate) private COWed copies go too.
 */
export function unmapMappingRange(k: Machine, mapping: AddressSpace, fromPgoff: number, nrPages: number, evenCows: boolean): void {
  k.enter(FN.unmap_mapping_range);
  mapping.truncateCount++; // under i_mmap_lock: a do_no_page in flight retries (≤2.6.22)
  const endPgoff = fromPgoff + nrPages;
  for (const vma of mapping.iMmap) {
    const vFirst = vma.pgoff;
    const vEnd = vma.pgoff + (vma.end - vma.start) / PAGE_SIZE;
    const lo = Math.max(vFirst, fromPgoff);
    const hi = Math.min(vEnd, endPgoff);
    if (lo >= hi) continue;
    const start = vma.start + (lo - vFirst) * PAGE_SIZE;
    const end = vma.start + (hi - vFirst) * PAGE_SIZE;
    zapPteRange(k, vma, start, end, evenCows ? undefined : mapping.id);
  }
}

/** truncate_inode_pages(mapping, lstart): drops the page cache from pgoff on. */
export function truncateInodePages(k: Machine, mapping: AddressSpace, fromPgoff: number): void {
  for (const [pgoff, pfn] of [...mapping.pages]) {
    if (pgoff < fromPgoff) continue;
    mapping.pages.delete(pgoff);
    // truncate_complete_page: cancel_dirty_page, and from 2.6.28 clear_page_mlock (a pinned page outlives
    // the truncate unmlocked; the modern profile munlocked it with its last VM_LOCKED pte)
    let clear = PG_dirty;
    if (k.f.mlock === 'mlock_vma_pages_range' && !k.f.mlockCount) clear |= PG_mlocked;
    k.mem.flags[pfn] = k.mem.flags[pfn]! & ~clear;
    k.mem.mapping[pfn] = NO_MAPPING; // remove_from_page_cache
    k.putPageChecked(pfn);
  }
}
