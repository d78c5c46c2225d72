// mm/mlock.c and make_pages_present (§2.21, B9, C14): which vmas mlock locks, how it populates,
// and how gup's errors become mlock's errno, release by release.

import {
  VM_IO, VM_PFNMAP, VM_LOCKED, VM_READ, VM_WRITE, VM_EXEC, VM_SHARED, VM_DONTEXPAND, VM_RESERVED, VM_HUGETLB, VM_MIXEDMAP, EFAULT, ENOMEM,
  EAGAIN, EPERM, PAGE_SIZE,
} from './constants.js';
import { MODERN_RELEASE } from './version.js';
import { FN } from './fault_ctx.js';
import { getUserPages } from './gup.js';
import { vmaModifyFlags, findVma } from './mmap.js';
import { PG_anon, PG_mlocked, NO_MAPPING } from './page_alloc.js';
import { lruAddDrain, mlockFolio, munlockFolio } from './swap.js';
import { vmNormalPage } from './memory.js';
import type { Machine } from './machine.js';
import type { Mm, Task, Thread, Vma } from './mm_types.js';

/** __mlock_vma_pages_range's page array: gup runs in batches of 16 (2.6.28+) */
const MLOCK_BATCH = 16;

/** 2.6 make_pages_present writes when VM_WRITE; modern populate_vma_page_range only for private writable vmas */
function populateWrite(k: Machine, vma: Vma): boolean {
  return k.f.populateWrite === 'vm_write' ? (vma.flags & VM_WRITE) !== 0 : (vma.flags & (VM_WRITE | VM_SHARED)) === VM_WRITE;
}

/**
 * Modern populate_vma_page_range: FOLL_FORCE for any accessible vma ("in case it's not readable, ie
 * write-only or executable"), so gup checks VM_MAYREAD there; PROT_NONE stays -EFAULT. 2.6's
 * make_pages_present and __mlock_vma_pages_range pass no force.
 */
function populateForce(k: Machine, vma: Vma): boolean {
  return k.f.release === MODERN_RELEASE && (vma.flags & (VM_READ | VM_WRITE | VM_EXEC)) !== 0;
}

/** __mlock_posix_error_return (2.6.28+): gup's -EFAULT → -ENOMEM, -ENOMEM → -EAGAIN */
function posixError(ret: number): number {
  return ret === -EFAULT ? -ENOMEM : ret === -ENOMEM ? -EAGAIN : ret;
}

/**
 * make_pages_present (mm/memory.c): get_user_pages over [start, end) without pages. Returns what this
 * release's make_pages_present returns: ≤2.6.26 gup's error, a short count is -1 (EPERM); 2.6.27 the
 * SUS translation (-EFAULT → -ENOMEM, -ENOMEM → -EAGAIN, short → -ENOMEM); 2.6.28+ gup's error, short
 * → -EFAULT (every 2.6.28+ caller ignores it). Also the populate of mmap(MAP_POPULATE).
 */
export function makePagesPresent(k: Machine, task: Task, vma: Vma, start: number, end: number): number {
  k.enter(FN.make_pages_present);
  const nr = (end - start) / PAGE_SIZE;
  const ret = getUserPages(k, task.threads[0]!, start, nr, populateWrite(k, vma), populateForce(k, vma), null);
  if (k.f.mlock === 'mlock_vma_pages_range') return ret < 0 ? ret : ret === nr ? 0 : -EFAULT;
  if (k.f.release >= 27) {
    if (ret < 0) return posixError(ret);
    return ret === nr ? 0 : -ENOMEM;
  }
  if (ret < 0) return ret;
  return ret === nr ? 0 : -EPERM;
}

/**
 * __mlock_vma_pages_range's loop (2.6.28+): gup with the pages in batches of 16, each batch going on
 * at the first page not pinned; `visit` sees every pinned page, which is then released (the zero page
 * too: get_page/put_page, ML32 comment). A short count is no error by itself: the next call starts at
 * the failing page and returns its error (F2). Returns 0 or gup's -errno (untranslated).
 */
function gupBatches(k: Machine, t: Thread, start: number, end: number, write: boolean, force: boolean, visit: (pfn: number) => void): number {
  let addr = start;
  let nr = (end - start) / PAGE_SIZE;
  while (nr > 0) {
    const pages: number[] = [];
    const ret = getUserPages(k, t, addr, Math.min(nr, MLOCK_BATCH), write, force, pages);
    // < 0: the error ends the loop; 0 (WARN_ON in 2.6.28–2.6.31) cannot happen for nr > 0
    if (ret <= 0) return ret;
    for (const pfn of pages) {
      visit(pfn);
      k.putPageChecked(pfn);
    }
    addr += ret * PAGE_SIZE;
    nr -= ret;
  }
  return 0;
}

/** __mlock_vma_pages_range(vma, start, end, 1): pages with a mapping get PG_mlocked (mlock_vma_page). */
function mlockVmaPages(k: Machine, task: Task, vma: Vma, start: number, end: number): number {
  const m = k.mem;
  return gupBatches(k, task.threads[0]!, start, end, populateWrite(k, vma), populateForce(k, vma), (pfn) => {
    // modern populate only faults: the fault's rmap add mlocks the page (mlock_vma_folio)
    if (k.f.mlockCount) return;
    if (m.mapping[pfn] !== NO_MAPPING && vma.flags & VM_LOCKED) m.flags[pfn] = m.flags[pfn]! | PG_mlocked;
  });
}

/**
 * mlock_vma_pages_range (2.6.28+, for mmap(MAP_LOCKED) of a VM_LOCKED vma): VM_IO|VM_PFNMAP vmas and,
 * after make_pages_present, VM_DONTEXPAND|VM_RESERVED/hugetlb vmas lose VM_LOCKED again; other vmas are
 * mlocked with errors hidden. Returns the number of pages not to count in locked_vm.
 */
export function mlockVmaPagesRange(k: Machine, task: Task, vma: Vma, start: number, end: number): number {
  const nr = (end - start) / PAGE_SIZE;
  if (vma.flags & (VM_IO | VM_PFNMAP)) {
    vma.flags &= ~VM_LOCKED;
    return nr;
  }
  if (vma.flags & (VM_DONTEXPAND | VM_RESERVED | VM_HUGETLB)) {
    makePagesPresent(k, task, vma, start, end);
    vma.flags &= ~VM_LOCKED;
    return nr;
  }
  mlockVmaPages(k, task, vma, start, end); // "hide errors from mmap()"
  return 0;
}

/**
 * The munlock half of mlock_fixup, after VM_LOCKED was cleared: PG_mlocked per release. `semHeld`:
 * the caller holds this mm's mmap_sem for write (munlock, munmap; not exit_mmap), see munlockVmaPage.
 */
function munlockVmaPages(k: Machine, t: Thread, vma: Vma, start: number, end: number, semHeld: boolean): void {
  if (k.f.mlock === 'make_pages_present') return; // ≤2.6.27: clearing VM_LOCKED is all there is (no PG_mlocked)
  const m = k.mem;
  if (k.f.release <= 31) {
    // 2.6.28–2.6.31: __mlock_vma_pages_range(vma, start, end, 0) runs __get_user_pages with
    // GUP_FLAGS_IGNORE_VMA_PERMISSIONS and GUP_FLAGS_WRITE when VM_WRITE: it faults absent pages in and
    // breaks COW of write-protected ptes (F13; replaced by follow_page in 2.6.32, 408e82b78bc). The
    // model's gup has no "ignore permissions" flag; force (VM_MAY* only) is the same test here, as every
    // vma has VM_MAYREAD, and VM_MAYWRITE when VM_WRITE. Errors end the walk and are ignored.
    gupBatches(k, t, start, end, (vma.flags & VM_WRITE) !== 0, true, (pfn) => {
      if (m.mapping[pfn] !== NO_MAPPING) munlockVmaPage(k, pfn, vma.mm, semHeld);
    });
    return;
  }
  // 2.6.32 munlock_vma_pages_range: follow_page(FOLL_GET|FOLL_DUMP) on present ptes only, no faults
  // (the zero page is an error there), munlock_vma_page on a page with a mapping
  forEachMappedPage(k, vma, start, end, (page) => {
    if (m.mapping[page] !== NO_MAPPING) munlockVmaPage(k, page, vma.mm, semHeld);
  });
}

/** The struct pages that present ptes of `vma` map in [start, end) (vm_normal_page), in address order. */
function forEachMappedPage(k: Machine, vma: Vma, start: number, end: number, fn: (page: number) => void): void {
  const pt = vma.mm.pt;
  const pte = k.pte;
  for (let a = start; a < end; a += PAGE_SIZE) {
    if (!pt.lookup(a / PAGE_SIZE)) continue;
    const lo = pt.tbl[pt.slot]!;
    const hi = pt.tbl[pt.slot + 1]!;
    if (pte.isNone(lo, hi) || !pte.present(lo)) continue;
    const page = vmNormalPage(k, vma, a, lo, hi);
    if (page >= 0) fn(page);
  }
}

/**
 * munlock_vma_page (2.6.28–2.6.32): TestClearPageMlocked, then try_to_munlock walks the page's rmap
 * (the file's i_mmap, or the vmas of its anon_vma) for a VM_LOCKED vma that maps it — 2.6.28's file
 * walk takes any VM_LOCKED vma whose range covers the page's index, page_mapped_in_vma is required
 * from 2.6.29 (508b9f8efda; the anon walk always had it) — and try_to_mlock_page mlocks the page
 * again if down_read_trylock gets that vma's mmap_sem: never the munlocking mm's own while munlock or
 * munmap holds it for write (`semHeld`); exit_mmap holds none.
 */
function munlockVmaPage(k: Machine, pfn: number, mm: Mm, semHeld: boolean): void {
  const m = k.mem;
  const f = m.flags[pfn]!;
  if (!(f & PG_mlocked)) return;
  m.flags[pfn] = f & ~PG_mlocked;
  const anon = (f & PG_anon) !== 0;
  const mapping = m.mapping[pfn]!;
  const index = m.index[pfn]!;
  for (const other of k.mms) {
    if ((semHeld && other === mm) || other.mmapSemWriter) continue; // down_read_trylock fails
    for (const vma of other.vmas) {
      if (!(vma.flags & VM_LOCKED)) continue;
      if (anon ? vma.anonVma?.id !== mapping : vma.file?.inode.mapping.id !== mapping) continue;
      const addr = vma.start + (index - vma.pgoff) * PAGE_SIZE; // vma_address
      if (addr < vma.start || addr >= vma.end) continue;
      if ((anon || k.f.release >= 29) && !mapsPfn(k, vma, addr, pfn)) continue; // page_mapped_in_vma
      m.flags[pfn] = m.flags[pfn]! | PG_mlocked; // try_to_mlock_page → mlock_vma_page
      return;
    }
  }
}

/** page_mapped_in_vma: the pte at addr is present and maps pfn. */
function mapsPfn(k: Machine, vma: Vma, addr: number, pfn: number): boolean {
  const pt = vma.mm.pt;
  if (!pt.lookup(addr / PAGE_SIZE)) return false;
  const lo = pt.tbl[pt.slot]!;
  const hi = pt.tbl[pt.slot + 1]!;
  return !k.pte.isNone(lo, hi) && k.pte.present(lo) && k.pte.pfn(lo, hi) === pfn;
}

/**
 * munlock_vma_pages_all (2.6.28–2.6.32, mm/mlock.c; called by do_munmap and exit_mmap before they
 * unmap anything, "unlock any mlock()ed ranges before detaching vmas"): a VM_LOCKED vma loses the
 * flag and its pages are munlocked as munlock(2) does it in that release — 2.6.28–2.6.31 with gup over
 * the whole vma (absent pages are faulted in first), 2.6.32 with follow_page. ≤2.6.27 has no
 * PG_mlocked to clear. Returns whether the vma was VM_LOCKED and munlocked here.
 */
export function munlockVmaPagesAll(k: Machine, t: Thread, vma: Vma, semHeld: boolean): boolean {
  if (k.f.mlock !== 'mlock_vma_pages_range' || k.f.release === MODERN_RELEASE || !(vma.flags & VM_LOCKED)) return false;
  vma.flags &= ~VM_LOCKED;
  munlockVmaPages(k, t, vma, vma.start, vma.end, semHeld);
  return true;
}

/**
 * PG_mlocked on the pages already mapped in [start, end), no faults: modern mlock_vma_pages_range
 * (a pte walk, mlock_folio / munlock_folio).
 */
function mlockPresentPages(k: Machine, vma: Vma, start: number, end: number, on: boolean): void {
  const m = k.mem;
  forEachMappedPage(k, vma, start, end, (page) => {
    if (k.f.mlockCount) {
      // modern mlock_pte_range: mlock_folio / munlock_folio, counted
      if (on) mlockFolio(k, page);
      else munlockFolio(k, page);
    } else m.flags[page] = on ? m.flags[page]! | PG_mlocked : m.flags[page]! & ~PG_mlocked;
  });
}

/**
 * Modern __mm_populate(start, len, ignore_errors = 0), do_mlock's second half: every vma of [start, end)
 * in order, VM_IO|VM_PFNMAP skipped, populate_vma_page_range (gup) on the rest whether or not it was
 * already VM_LOCKED; the first error ends it (a short gup count retries at the failing page, which then
 * returns the error). Returns 0 or gup's -errno.
 */
function mmPopulate(k: Machine, task: Task, start: number, end: number): number {
  const mm = task.mm!;
  for (let nstart = start; nstart < end; ) {
    const vma = findVma(mm, nstart); // find_vma_intersection(mm, nstart, end)
    if (!vma || vma.start >= end) break;
    const nend = Math.min(end, vma.end);
    if (!(vma.flags & (VM_IO | VM_PFNMAP))) {
      const r = mlockVmaPages(k, task, vma, Math.max(nstart, vma.start), nend);
      if (r < 0) return r;
    }
    nstart = nend;
  }
  return 0;
}

/**
 * mlock_fixup for [start, end) inside one vma. Returns 0 or mlock's -errno.
 */
function mlockFixup(k: Machine, task: Task, vma: Vma, start: number, end: number, on: boolean): number {
  const mm = task.mm!;
  const newflags = on ? vma.flags | VM_LOCKED : vma.flags & ~VM_LOCKED;
  // every release: nothing to change → 0 at once: no split, no count (F4); 2.6 also no population
  // (modern do_mlock populates the whole range afterwards, mmPopulate)
  if (newflags === vma.flags) return 0;
  if (k.f.release === MODERN_RELEASE) {
    // modern mlock_fixup: VM_SPECIAL and hugetlb vmas keep their flags and are not counted
    if (vma.flags & (VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP | VM_HUGETLB)) return 0;
    vma = vmaModifyFlags(k, vma, start, end, newflags);
    mm.lockedVm += on ? (end - start) / PAGE_SIZE : -(end - start) / PAGE_SIZE;
    // mlock_vma_pages_range: only the pages already mapped are (un)locked here, no faults, between
    // two lru_add_drain()s
    lruAddDrain(k);
    mlockPresentPages(k, vma, start, end, on);
    lruAddDrain(k);
    return 0;
  }
  if (k.f.mlock === 'mlock_vma_pages_range') {
    // 2.6.28+: VM_IO|VM_PFNMAP skipped entirely (B9)
    if (vma.flags & (VM_IO | VM_PFNMAP)) return 0;
    // 2.6.28+: VM_DONTEXPAND|VM_RESERVED/hugetlb: make_pages_present on lock, its result dropped, not locked (F3)
    if (vma.flags & (VM_DONTEXPAND | VM_RESERVED | VM_HUGETLB)) {
      if (on) makePagesPresent(k, task, vma, start, end);
      return 0;
    }
  }
  // vma_merge with prev/next (every release, also when munlock makes the flags equal again), else split
  vma = vmaModifyFlags(k, vma, start, end, newflags);
  const pages = (end - start) / PAGE_SIZE;
  mm.lockedVm += on ? pages : -pages;
  if (!on) {
    munlockVmaPages(k, task.threads[0]!, vma, start, end, true);
    return 0;
  }
  if (k.f.mlock === 'make_pages_present') {
    if (vma.flags & VM_IO) return 0; // ≤2.6.27: VM_LOCKED set and counted, no population
    const r = makePagesPresent(k, task, vma, start, end);
    return k.f.release <= 26 && r === -ENOMEM ? -EAGAIN : r; // ≤2.6.26 mlock_fixup "out:"
  }
  // 2.6.28+: VM_LOCKED and locked_vm stay even when the population fails
  const r = mlockVmaPages(k, task, vma, start, end);
  return r < 0 ? posixError(r) : 0;
}

/**
 * sys_mlock / sys_munlock → do_mlock: only the first vma is checked up front; then vma by vma in
 * address order, stopping at the first error, and a gap to the next vma is -ENOMEM after the vmas
 * before it were (un)locked (F5). 2.6 populates each vma as it is locked; modern do_mlock
 * (apply_vma_lock_flags, then __mm_populate) locks the whole range first and populates it only
 * when that succeeded.
 */
export function doMlock(k: Machine, task: Task, start: number, len: number, on: boolean): number {
  k.enter(FN.mlock_fixup);
  const mm = task.mm!;
  // len = PAGE_ALIGN(len + (start & ~PAGE_MASK)); start &= PAGE_MASK
  const off = start % PAGE_SIZE;
  start -= off;
  const end = start + Math.ceil((len + off) / PAGE_SIZE) * PAGE_SIZE;
  if (end === start) return 0;
  let vma = findVma(mm, start);
  if (!vma || vma.start > start) return -ENOMEM;
  let nstart = start;
  for (;;) {
    const tmp = Math.min(vma.end, end);
    const err = mlockFixup(k, task, vma, nstart, tmp, on);
    if (err) return err;
    // do_mlock: a merge may have taken the vma after tmp in as well (prev->vm_end)
    nstart = Math.max(tmp, findVma(mm, tmp - PAGE_SIZE)!.end);
    if (nstart >= end) break;
    vma = findVma(mm, nstart);
    if (!vma || vma.start !== nstart) return -ENOMEM;
  }
  if (k.f.release !== MODERN_RELEASE || !on) return 0;
  // modern do_mlock: __mm_populate's error through __mlock_posix_error_return
  const r = mmPopulate(k, task, start, end);
  return r < 0 ? posixError(r) : 0;
}

