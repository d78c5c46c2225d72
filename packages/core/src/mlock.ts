// mm/mlock.c and make_pages_present (§2.21, B9, C14): which vmas mlock locks, how it populates,
// and how gup's errors become mlock's errno, release by release.

import {
  VM_IO, VM_PFNMAP, VM_LOCKED, VM_WRITE, VM_SHARED, VM_DONTEXPAND, VM_RESERVED, VM_HUGETLB, EFAULT, ENOMEM, EAGAIN, EPERM,
  EINVAL, PAGE_SIZE,
} from './constants.js';
import { FN } from './fault_ctx.js';
import { getUserPages } from './gup.js';
import { splitVma, findVma } from './mmap.js';
import { PG_mlocked, NO_MAPPING } from './page_alloc.js';
import { vmNormalPage } from './memory.js';
import type { Machine } from './machine.js';
import type { Task, Vma } from './mm_types.js';

/**
 * Populates [start, end) of a vma the way this release's mlock does (also used for MAP_LOCKED and
 * MAP_POPULATE). Returns 0 or -errno as mlock would report it.
 */
export function mlockPopulate(k: Machine, task: Task, vma: Vma, start: number, end: number): number {
  const t = task.threads[0]!;
  const nr = (end - start) / PAGE_SIZE;
  // 2.6 make_pages_present writes when VM_WRITE; modern populate_vma_page_range only for private writable vmas
  const write = k.f.populateWrite === 'vm_write' ? (vma.flags & VM_WRITE) !== 0 : (vma.flags & (VM_WRITE | VM_SHARED)) === VM_WRITE;
  if (k.f.mlock === 'make_pages_present') {
    k.enter(FN.make_pages_present);
    const ret = getUserPages(k, t, start, nr, write, false, null);
    if (k.f.release >= 27) {
      // 2.6.27 make_pages_present: -EFAULT → -ENOMEM, -ENOMEM → -EAGAIN, short count → -ENOMEM
      if (ret < 0) return ret === -EFAULT ? -ENOMEM : ret === -ENOMEM ? -EAGAIN : ret;
      return ret === nr ? 0 : -ENOMEM;
    }
    // ≤2.6.26: gup's error as is (-ENOMEM → -EAGAIN in mlock_fixup); a short count is -1 = EPERM
    if (ret < 0) return ret === -ENOMEM ? -EAGAIN : ret;
    return ret === nr ? 0 : -EPERM;
  }
  // 2.6.28+: __mlock_vma_pages_range — gup with the pages, mlock those with a mapping, release all
  const pages: number[] = [];
  const ret = getUserPages(k, t, start, nr, write, false, pages);
  const m = k.mem;
  for (const pfn of pages) {
    if (vma.flags & VM_LOCKED && m.mapping[pfn] !== NO_MAPPING) m.flags[pfn] = m.flags[pfn]! | PG_mlocked;
    k.putPageChecked(pfn); // the zero page too: get_page/put_page (ML32 comment)
  }
  if (ret < 0) return ret === -EFAULT ? -ENOMEM : ret === -ENOMEM ? -EAGAIN : ret; // __mlock_posix_error_return
  return 0;
}

/** sys_mlock → mlock_fixup per vma. */
export function doMlock(k: Machine, task: Task, start: number, len: number, on: boolean): number {
  k.enter(FN.mlock_fixup);
  const mm = task.mm!;
  if (start % PAGE_SIZE !== 0) start -= start % PAGE_SIZE;
  const end = start + Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
  const vmas: Vma[] = [];
  let cursor = start;
  for (let v = findVma(mm, start); v && v.start < end; v = findVma(mm, v.end)) {
    if (v.start > cursor) return -ENOMEM;
    if (v.start < start) {
      splitVma(k, v, start);
      continue;
    }
    if (v.end > end) splitVma(k, v, end);
    vmas.push(v);
    cursor = v.end;
  }
  if (cursor < end || vmas.length === 0) return -ENOMEM;
  let err = 0;
  for (const vma of vmas) {
    const pages = (vma.end - vma.start) / PAGE_SIZE;
    if (!on) {
      if (vma.flags & VM_LOCKED) mm.lockedVm -= pages;
      vma.flags &= ~VM_LOCKED;
      munlockPages(k, vma);
      continue;
    }
    if (k.f.mlock === 'mlock_vma_pages_range') {
      if (vma.flags & (VM_IO | VM_PFNMAP)) continue; // 2.6.28+: skipped entirely (B9)
      if (vma.flags & (VM_DONTEXPAND | VM_RESERVED | VM_HUGETLB)) {
        const r = mlockPopulate(k, task, vma, vma.start, vma.end); // populate only, not locked
        if (r < 0 && !err) err = r;
        continue;
      }
    }
    if (!(vma.flags & VM_LOCKED)) mm.lockedVm += pages;
    vma.flags |= VM_LOCKED;
    if (k.f.mlock === 'make_pages_present' && vma.flags & VM_IO) continue; // ≤2.6.27: VM_LOCKED set, no population
    const r = mlockPopulate(k, task, vma, vma.start, vma.end);
    if (r < 0 && !err) err = r;
  }
  return err;
}

/** munlock_vma_pages_range: clear PG_mlocked on the pages the vma maps. */
function munlockPages(k: Machine, vma: Vma): void {
  const pt = vma.mm.pt;
  const pte = k.pte;
  for (let a = vma.start; a < vma.end; a += PAGE_SIZE) {
    if (!pt.lookup(a / PAGE_SIZE)) continue;
    const lo = pt.tbl[pt.slot]!;
    const hi = pt.tbl[pt.slot + 1]!;
    if (pte.isNone(lo, hi) || !pte.present(lo)) continue;
    const page = vmNormalPage(k, vma, a, lo, hi);
    if (page >= 0) k.mem.flags[page] = k.mem.flags[page]! & ~PG_mlocked;
  }
}

export { EINVAL };
