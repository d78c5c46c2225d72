// mm/memory.c __get_user_pages and the get_user_pages_fast flavours (§2.13, §2.14).

import {
  VM_IO, VM_PFNMAP, VM_READ, VM_WRITE, VM_MAYREAD, VM_MAYWRITE, VM_FAULT_OOM, VM_FAULT_SIGBUS, VM_FAULT_WRITE,
  VM_FAULT_ERROR, FOLL_WRITE, FOLL_TOUCH, FOLL_GET, FOLL_ANON, FOLL_FORCE, EFAULT, ENOMEM, PAGE_SIZE, isCowMapping,
} from './constants.js';
import { FN } from './fault_ctx.js';
import { MAX_RELEASE } from './version.js';
import { followPage, followPageRun, handleMmFault, gupWantsFollAnon, FOLLOW_NULL, FOLLOW_EFAULT } from './memory.js';
import type { Machine } from './machine.js';
import type { Thread } from './mm_types.js';

/** Bound on follow_page/handle_mm_fault rounds for one page before the model calls it a livelock (C14 rc1–rc6). */
export const GUP_LIVELOCK_ROUNDS = 64;

export class GupLivelock extends Error {}

/**
 * get_user_pages(tsk, mm, start, nr, write, force, pages): the caller holds mmap_sem for read.
 * Returns the number of pages pinned (each +1 count, recorded in `pinned`), or -errno when none.
 */
export function getUserPages(
  k: Machine, t: Thread, start: number, nrPages: number, write: boolean, force: boolean, pinned: number[] | null,
): number {
  k.enter(FN.get_user_pages);
  const mm = t.task.mm!;
  if (nrPages <= 0) {
    // 2.6.25+ (900cf086fd2): asked for no pages, pin none. Before, len was only tested at the end of
    // the do-while loops: the first page is taken and len goes negative, so gup goes on until the
    // next address it cannot map (the vmsplice overflow, CVE-2008-0600)
    if (k.f.release >= 25) return 0;
    nrPages = Infinity;
  }
  const need = write ? (force ? VM_MAYWRITE : VM_WRITE) : force ? VM_MAYREAD : VM_READ;
  let i = 0;
  let addr = start - (start % PAGE_SIZE);
  while (i < nrPages) {
    const vma = k.findVma(mm, addr);
    // VM_IO|VM_PFNMAP refused before any walk; VM_MIXEDMAP is not (§2.13)
    if (!vma || addr < vma.start || vma.flags & (VM_IO | VM_PFNMAP) || !(vma.flags & need)) return i || -EFAULT;
    // modern check_vma_flags: a forced write into a vma without VM_WRITE only where it is a COW mapping
    if (write && force && !k.f.forceWriteShared && !(vma.flags & VM_WRITE) && !isCowMapping(vma.flags)) return i || -EFAULT;
    let foll = FOLL_TOUCH | (pinned ? FOLL_GET : 0) | (force && k.f.anonExclusive ? FOLL_FORCE : 0);
    if (!write && gupWantsFollAnon(k, vma)) foll |= FOLL_ANON;
    do {
      if (write) foll |= FOLL_WRITE; // per page: a COW of the previous page dropped it

      // the common case in bulk: the run of present normal pages from here (followPageRun)
      const run = followPageRun(k, vma, addr, foll, Math.min(nrPages - i, (vma.end - addr) / PAGE_SIZE), pinned);
      if (run > 0) {
        i += run;
        addr += run * PAGE_SIZE;
        continue;
      }
      let page = followPage(k, vma, addr, foll);
      let rounds = 0;
      while (page === FOLLOW_NULL) {
        if (++rounds > GUP_LIVELOCK_ROUNDS) throw new GupLivelock(`get_user_pages: follow_page keeps returning NULL at 0x${addr.toString(16)} (endless fault loop)`);
        const ret = handleMmFault(k, t, vma, addr, (foll & FOLL_WRITE) !== 0);
        k.recordFault(t, addr, (foll & FOLL_WRITE) !== 0, ret);
        if (ret & VM_FAULT_ERROR) {
          if (ret & VM_FAULT_OOM) return i || -ENOMEM;
          if (ret & VM_FAULT_SIGBUS) return i || -EFAULT;
          k.bug('BUG() in get_user_pages: unknown fault result', k.chain());
        }
        // after a COW, stop demanding a writable pte so the loop ends (≤2.6.28 always; 2.6.29+ without VM_WRITE)
        if (ret & VM_FAULT_WRITE && (k.f.gupDropWrite === 'always' || !(vma.flags & VM_WRITE))) foll &= ~FOLL_WRITE;
        page = followPage(k, vma, addr, foll);
      }
      if (page === FOLLOW_EFAULT) return i || -EFAULT;
      if (pinned) pinned.push(page);
      i++;
      addr += PAGE_SIZE;
    } while (addr < vma.end && i < nrPages);
  }
  return i;
}

/** The generic get_user_pages_fast (mm/util.c): mmap_sem for read around get_user_pages. */
function gupFastGeneric(k: Machine, t: Thread, start: number, nrPages: number, write: boolean, pinned: number[]): number {
  const mm = t.task.mm!;
  mm.mmapSemReaders++;
  try {
    return getUserPages(k, t, start, nrPages, write, false, pinned);
  } finally {
    mm.mmapSemReaders--;
  }
}

/**
 * x86 get_user_pages_fast's range check on [start, end), before any pte is read (arch/x86/mm/gup.c):
 * 2.6.27–2.6.30 `access_ok(start, len)` against USER_DS = PAGE_OFFSET — the user limit on x86-32,
 * far above any user range on x86-64 (0xffff880000000000); 2.6.31+ (7f818906872) `end < start`,
 * and on x86-64 `end >> __VIRTUAL_MASK_SHIFT`, 47 from 9063c61fd5c (v2.6.31, which also made USER_DS
 * TASK_SIZE_MAX). x86-32 is told by its TASK_SIZE below 4 GiB.
 * A range the check lets through is walked and stops at the first pte that is not the user's.
 */
function gupFastRangeRefused(k: Machine, end: number): boolean {
  const x86_32 = k.arch.taskSize < 2 ** 32;
  if (x86_32 && end >= 2 ** 32) return true; // the unsigned long wraps: access_ok's carry, or end < start
  if (k.f.release <= 30) return x86_32 && end > k.arch.taskSize;
  return !x86_32 && end >= 2 ** 47;
}

/**
 * get_user_pages_fast (2.6.27+). x86: a lockless walk with interrupts off that takes a reference
 * only on ptes with (PRESENT|USER|RW-if-write) and without SPECIAL; whatever is left goes to the
 * slow path. It never looks at vm_flags (the B5 divergence). Arches without it use the generic one.
 */
export function getUserPagesFast(k: Machine, t: Thread, start: number, nrPages: number, write: boolean, pinned: number[]): number {
  k.enter(FN.get_user_pages_fast);
  if (!k.arch.gupFast) return gupFastGeneric(k, t, start, nrPages, write, pinned);
  const mm = t.task.mm!;
  const pte = k.pte;
  const pt = mm.pt;
  const m = k.mem;
  let addr = start - (start % PAGE_SIZE);
  let nr = 0;
  // the whole range goes to the slow path, not one page of it walked, when the range check fails
  // (the 2.6 code: the "6.x" profile keeps the per-page walk, its gup_fast is not modelled apart)
  if (k.arch.gupFast === 'x86' && k.f.release <= MAX_RELEASE && gupFastRangeRefused(k, addr + nrPages * PAGE_SIZE)) return gupFastGeneric(k, t, addr, nrPages, write, pinned);
  // nr_pages = 0 (x86, 2.6.27–2.6.32): end == start, and every level's do-while tests `addr != end`
  // only after its first entry, so gup_pte_range pins pte after pte from start, past the end of the
  // caller's pages[], until one fails the mask. The slow path is then asked for (end - start) >>
  // PAGE_SHIFT pages, -nr as an int, and returns 0: the call returns nr. The kernel would go on
  // reading past the pte page; the model stops there and says so.
  const unbounded = nrPages === 0 && k.arch.gupFast === 'x86' && k.f.release <= MAX_RELEASE;
  while (nr < nrPages || unbounded) {
    if (addr + PAGE_SIZE > k.arch.taskSize) break; // above TASK_SIZE: no user pte (kernel mapping, guard hole) → bail
    if (!pt.lookup(addr / PAGE_SIZE)) break; // pgd/pud/pmd none → bail
    const lo = pt.tbl[pt.slot]!;
    const hi = pt.tbl[pt.slot + 1]!;
    if (!pte.hwPresentBit(lo)) break;
    if (pte.userMask && !(lo & pte.userMask)) break;
    if (write && !pte.write(lo)) break;
    if (pte.special(lo)) break; // any special pte aborts the fast path
    const pfn = pte.pfn(lo, hi);
    if (k.f.debugVm && !k.pfnValid(pfn)) k.bug('VM_BUG_ON(!pfn_valid(pte_pfn(pte))) in gup_pte_range', k.chain());
    if (!m.inMemmap(pfn)) k.bug(`unable to handle kernel paging request: get_page on pfn 0x${pfn.toString(16)} without struct page in gup_pte_range`, k.chain());
    m.getPage(pfn);
    pinned.push(pfn);
    nr++;
    addr += PAGE_SIZE;
    if (unbounded && pt.slot + 2 === pt.tbl.length) {
      k.report(`get_user_pages_fast(nr_pages = 0): gup_pte_range walked off the end of the pte page after ${nr} pages`);
      break;
    }
  }
  if (unbounded) {
    if (nr > 0) k.report(`get_user_pages_fast(nr_pages = 0): ${nr} pages pinned past the end of pages[]`);
    return nr;
  }
  if (nr === nrPages) return nr;
  const slow = gupFastGeneric(k, t, addr, nrPages - nr, write, pinned);
  if (slow < 0) return nr > 0 ? nr : slow;
  return nr + slow;
}
