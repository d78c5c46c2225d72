// mm/memory.c: the fault path, vm_normal_page, the insert/remap/zap/copy paths and follow_page.
// Read it top to bottom like the kernel file. Each version difference reads a named feature
// (version.ts) and cites the reference section. Every "drop the ptl, do the slow work, retake it,
// recheck the pte" spot is a named window, written `c.stepped ? stopAt(c, window, phase) : next(k, c)`:
// a stepped fault stores its state in the thread's FaultCtx and returns VM_FAULT_WINDOW until
// faultResume() runs the phase; a fault run to completion goes straight on.

import {
  VM_WRITE, VM_SHARED, VM_SEQ_READ, VM_PFNMAP, VM_MIXEDMAP, VM_LOCKED, VM_INSERTPAGE, VM_MAYSHARE, VM_HUGETLB, VM_NONLINEAR,
  VM_FAULT_MINOR, VM_FAULT_OOM, VM_FAULT_SIGBUS, VM_FAULT_WRITE, VM_FAULT_NOPAGE, VM_FAULT_ERROR, VM_FAULT_WINDOW,
  VM_FAULT_LOCKED, NOPFN_SIGBUS, NOPFN_OOM, NOPFN_REFAULT, NOPAGE_SIGBUS, NOPAGE_OOM, NOPAGE_REFAULT,
  FOLL_WRITE, FOLL_TOUCH, FOLL_GET, FOLL_ANON, FOLL_DUMP, FOLL_NOZERO, FOLL_FORCE, EFAULT, EINVAL, EBUSY, ENOMEM,
  PAGE_SIZE, isCowMapping,
} from './constants.js';
import {
  FaultCtx, FN, FAULT_FLAG_WRITE, WINDOW, PH_DONE, PH_DISPATCH, PH_ANON_COMMIT, PH_ZERO_COMMIT, PH_FAULT_COMMIT,
  PH_NOPFN_COMMIT, PH_WP_COMMIT, PH_WP_MKWRITE_COMMIT, PH_FAULT_HANDLER_RESUME, PH_NOPFN_HANDLER_RESUME,
} from './fault_ctx.js';
import { PG_anon, PG_anon_exclusive, PG_dirty, PG_mlocked, PG_referenced, PG_reserved, NO_MAPPING } from './page_alloc.js';
import { pageAddFileRmap, pageAddNewAnonRmap, pageDupRmap, pageRemoveRmap } from './rmap.js';
import { lruAddDrain } from './swap.js';
import { MODERN_RELEASE } from './version.js';
import { findMergeableAnonVma } from './mmap.js';
import type { Machine } from './machine.js';
import type { Mm, Vma, Thread } from './mm_types.js';

// vma->faultKind: which pte_none handler handle_pte_fault dispatches to (§2.1)
export const FK_ANON = 0;
export const FK_NOPAGE = 1;
export const FK_FAULT = 2;
export const FK_NOPFN = 3;

/** follow_page results besides a pfn */
export const FOLLOW_NULL = -1;
export const FOLLOW_EFAULT = -2;

/**
 * Resolves the pte_none dispatch for a vma's ops under this release's rules: nopage/fault before
 * nopfn (S002, M19/M20); vm_ops without any of them fall through to do_anonymous_page (§2.1).
 */
export function resolveFaultKind(k: Machine, vma: Vma): number {
  const ops = vma.ops;
  if (!ops) return FK_ANON;
  if (ops.fault && k.f.hasFault) return FK_FAULT;
  // the seed's v1/v2 postings call ->nopfn whenever it is set; v3 (merged) tries ->nopage first
  if (ops.nopfn && k.f.hasNopfn && k.f.doNoPfn === 'v1') return FK_NOPFN;
  if (ops.nopage && k.f.hasNopage) return FK_NOPAGE;
  if (ops.nopfn && k.f.hasNopfn) return FK_NOPFN;
  return FK_ANON;
}

/**
 * The error a ->nopfn handler returns for "out of memory" or "no such pfn" on this kernel:
 * NOPFN_OOM / NOPFN_SIGBUS (2.6.19–2.6.26), or under the seed's v1 posting (variant do_no_pfn-v1),
 * which returned a signed long, -ENOMEM / -EFAULT (S002).
 */
export function nopfnError(k: Machine, error: 'oom' | 'sigbus'): number {
  if (k.f.doNoPfn === 'v1') return error === 'oom' ? -ENOMEM : -EFAULT;
  return error === 'oom' ? NOPFN_OOM : NOPFN_SIGBUS;
}

/** exact for a power of two: a multiply instead of a float division or modulo on the fault path */
const INV_PAGE_SIZE = 1 / PAGE_SIZE;

// ---------------------------------------------------------------------------------------------
// vm_normal_page: does this present pte hold a struct-page reference? (§2.7, Tables A–D)
// ---------------------------------------------------------------------------------------------

/** pfn_to_page on a pfn beyond the mem_map is an access to unmapped vmemmap: an oops. */
function pfnToPage(k: Machine, pfn: number, where: string): number {
  if (!k.mem.inMemmap(pfn)) {
    k.bug(`unable to handle kernel paging request: pfn_to_page(0x${pfn.toString(16)}) beyond mem_map in ${where}`, k.chain());
  }
  return pfn;
}

/** vm_normal_page(vma, addr, pte): a pfn, or -1 for "no struct page semantics" (NULL). */
export function vmNormalPage(k: Machine, vma: Vma, address: number, lo: number, hi: number): number {
  const page = vmNormalPageFast(k, vma, lo, hi);
  return page !== ASK_RULES ? page : vmNormalPageRules(k, vma, address, lo, hi);
}

const ASK_RULES = -2;

/**
 * vm_normal_page's common cases, small enough to be inlined into the per-pte loops and free of side
 * effects: on a special-bit arch under Tables C/D (resolved once per machine), a normal pte below
 * highest_memmap_pfn gives its pfn, and a special pte in a VM_PFNMAP/VM_MIXEDMAP vma or Table D's
 * special zero pte gives NULL (-1) without a report. Anything else: ASK_RULES.
 */
function vmNormalPageFast(k: Machine, vma: Vma, lo: number, hi: number): number {
  if (!k.specialTablesCD) return ASK_RULES;
  const pfn = k.pte.pfn(lo, hi);
  if ((lo & k.pte.specialMask) === 0) return pfn <= k.mem.highestMemmapPfn ? pfn : ASK_RULES;
  const quiet = specialQuietPfn(k, vma);
  return quiet === ANY_PFN || pfn === quiet ? -1 : ASK_RULES;
}

const ANY_PFN = -2;

/**
 * Which special ptes of this vma vm_normal_page (Tables C/D) answers NULL for without a report:
 * ANY_PFN in a VM_PFNMAP/VM_MIXEDMAP vma; elsewhere only Table D's zero pfn (-1: none). Any other
 * special pte is print_bad_pte's. Per vma, so that a per-pte loop asks once.
 */
function specialQuietPfn(k: Machine, vma: Vma): number {
  if (vma.flags & (VM_PFNMAP | VM_MIXEDMAP)) return ANY_PFN;
  return k.f.vmNormalPage === 'D' ? k.zeroPfn : -1;
}

/** vm_normal_page's rules, table by table (the reports and BUG_ONs live here). */
function vmNormalPageRules(k: Machine, vma: Vma, address: number, lo: number, hi: number): number {
  const pte = k.pte;
  const pfn = pte.pfn(lo, hi);
  const table = k.f.vmNormalPage;
  const flags = vma.flags;

  if (k.arch.hasPteSpecial && (table === 'B' || table === 'C' || table === 'D')) {
    if (!pte.special(lo)) {
      if (table === 'B') {
        // Table B: VM_BUG_ON(!pfn_valid(pfn)); pte_page
        if (k.f.debugVm && !k.pfnValid(pfn)) k.bug('VM_BUG_ON(!pfn_valid(pte_pfn(pte))) in vm_normal_page', k.chain());
        return pfnToPage(k, pfn, 'vm_normal_page');
      }
      // Tables C/D: only the highest_memmap_pfn check (not a pfn_valid test)
      if (pfn > k.mem.highestMemmapPfn) {
        k.badPte(vma, address, lo, hi, 'vm_normal_page: pfn > highest_memmap_pfn');
        return -1;
      }
      return pfn;
    }
    // special pte
    if (flags & (VM_PFNMAP | VM_MIXEDMAP)) return -1;
    if (table === 'B') {
      if (k.f.debugVm) k.bug('VM_BUG_ON(!(vma->vm_flags & (VM_PFNMAP | VM_MIXEDMAP))) in vm_normal_page', k.chain());
      return -1;
    }
    if (table === 'D' && pfn === k.zeroPfn) return -1; // E5: the special zero pte, no report
    if (k.f.zeroPage === 's003' && useZeroPageS003(vma)) return -1; // S003: special zero pte
    k.badPte(vma, address, lo, hi, 'vm_normal_page: special pte in a vma without VM_PFNMAP|VM_MIXEDMAP');
    return -1;
  }

  // No special bit (or a pre-2.6.26 table): the vma-based rules.
  if (table !== 'A' && flags & VM_MIXEDMAP) {
    // S000, B, C, D: VM_MIXEDMAP decided by pfn_valid, with no further check
    return k.pfnValid(pfn) ? pfnToPage(k, pfn, 'vm_normal_page') : -1;
  }
  if (flags & VM_PFNMAP) {
    const off = Math.floor((address - vma.start) / PAGE_SIZE);
    if (pfn === vma.pgoff + off) return -1; // the linear rule: a raw pfn
    if (!isCowMapping(flags)) return -1;
    // not linear in a COW vma: a COWed anonymous page; fall through
  }
  switch (table) {
    case 'A':
    case 'S000':
      if (!k.pfnValid(pfn)) {
        // 2.6.19–2.6.23 always print_bad_pte; 2.6.24–2.6.25 only with CONFIG_DEBUG_VM (9723198c219)
        if (k.f.release <= 23 || k.f.debugVm) {
          k.badPte(vma, address, lo, hi, 'vm_normal_page: !pfn_valid');
          return -1;
        }
      }
      return pfnToPage(k, pfn, 'vm_normal_page');
    case 'B':
      if (k.f.debugVm && !k.pfnValid(pfn)) k.bug('VM_BUG_ON(!pfn_valid(pfn)) in vm_normal_page', k.chain());
      return pfnToPage(k, pfn, 'vm_normal_page');
    default: // C, D
      if (table === 'D' && pfn === k.zeroPfn) return -1; // is_zero_pfn (62eede62daf)
      if (pfn > k.mem.highestMemmapPfn) {
        k.badPte(vma, address, lo, hi, 'vm_normal_page: pfn > highest_memmap_pfn');
        return -1;
      }
      return pfn;
  }
}

/** S003's use_zero_page(vma): not VM_LOCKED/VM_SHARED/VM_MAYSHARE and no ->fault (§2.2). */
export function useZeroPageS003(vma: Vma): boolean {
  if (vma.flags & (VM_LOCKED | VM_SHARED | VM_MAYSHARE)) return false;
  return !vma.ops?.fault;
}

/** use_zero_page(vma) of 2.6.26-rc8…2.6.31 (672ca28e300): the FOLL_ANON rule (§2.12). */
function useZeroPage(k: Machine, vma: Vma): boolean {
  if (vma.flags & (VM_LOCKED | VM_SHARED)) return false;
  if (vma.ops?.fault) return false;
  if (k.f.release === 26 && vma.ops?.nopfn) return false;
  return true;
}

/** Whether gup may use FOLL_ANON for a read of this vma (§2.12). */
export function gupWantsFollAnon(k: Machine, vma: Vma): boolean {
  switch (k.f.follAnon) {
    case 'no-nopage':
      return !(vma.flags & VM_LOCKED) && !vma.ops?.nopage;
    case 'no-fault':
      return !(vma.flags & VM_LOCKED) && !vma.ops?.nopage && !vma.ops?.fault;
    case 'use_zero_page':
      return useZeroPage(k, vma);
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------
// handle_mm_fault → handle_pte_fault (§2.1)
// ---------------------------------------------------------------------------------------------

/**
 * handle_mm_fault run to completion, stopping at no window: what get_user_pages' faultin and the
 * benchmarks call. Machine.access and the explorer step a fault with faultStart/faultResume instead.
 */
export function handleMmFault(k: Machine, t: Thread, vma: Vma, address: number, write: boolean): number {
  const c = t.fault;
  const ret = faultBegin(k, c, t, vma, address, write, false); // not stepped: no window stops it
  k.setCurrentFault(null);
  return ret;
}

/** handle_mm_fault entry for the stepping API: the fault stops at each window (faultResume goes on). */
export function faultStart(k: Machine, c: FaultCtx, t: Thread, vma: Vma, address: number, write: boolean): number {
  return faultBegin(k, c, t, vma, address, write, true);
}

/** handle_mm_fault entry: allocate the page tables, read the pte without the ptl. */
function faultBegin(k: Machine, c: FaultCtx, t: Thread, vma: Vma, address: number, write: boolean, stepped: boolean): number {
  const mm = vma.mm;
  k.setCurrentFault(c);
  c.stepped = stepped;
  // object references are stored only when they change: while the GC marks, every pointer store
  // takes the write barrier's slow path, and a thread faults on the same vma over and over
  if (c.thread !== t) c.thread = t;
  if (c.mm !== mm) c.mm = mm;
  if (c.vma !== vma) c.vma = vma;
  c.vpn = Math.floor(address * INV_PAGE_SIZE);
  c.address = c.vpn * PAGE_SIZE;
  c.write = write;
  c.page = -1;
  c.newPage = -1;
  c.anon = false;
  c.ret = 0;
  if (c.resume !== null) c.resume = null;
  c.chainLen = 0;
  c.enter(FN.handle_mm_fault);
  k.faultsTotal++;
  const pt = mm.pt;
  if (!pt.alloc(c.vpn)) return VM_FAULT_OOM; // pud/pmd/pte allocation failure
  const tbl = pt.tbl;
  const slot = pt.slot;
  if (c.tbl !== tbl) c.tbl = tbl; // stored only when it changes (pgtable.ts: write barrier)
  c.slot = slot;
  c.origLo = tbl[slot]!;
  c.origHi = tbl[slot + 1]!;
  return c.stepped ? stopAt(c, WINDOW.pte_read, PH_DISPATCH) : handlePteFault(k, c);
}

/**
 * Every lock window is written the same way: `c.stepped ? stopAt(c, window, phase) : next(k, c)`.
 * Under the stepping API (the explorer, Machine.stepAccess) the fault stops there and another thread
 * may run until faultResume runs `phase`; a fault run to completion calls the continuation directly
 * (a direct call V8 can inline, where a dispatch through the phase switch could not be).
 */
function stopAt(c: FaultCtx, window: number, phase: number): number {
  c.window = window;
  c.phase = phase;
  return VM_FAULT_WINDOW;
}

/** Continues a fault after its window. */
export function faultResume(k: Machine, c: FaultCtx): number {
  const phase = c.phase;
  k.setCurrentFault(c);
  c.phase = PH_DONE;
  c.window = WINDOW.none;
  switch (phase) {
    case PH_DISPATCH: return handlePteFault(k, c);
    case PH_ANON_COMMIT: return doAnonymousPageCommit(k, c);
    case PH_ZERO_COMMIT: return doAnonymousZeroCommit(k, c);
    case PH_FAULT_COMMIT: return doFaultCommit(k, c);
    case PH_NOPFN_COMMIT: return doNoPfnCommit(k, c);
    case PH_WP_COMMIT: return doWpPageCommit(k, c);
    case PH_WP_MKWRITE_COMMIT: return doWpPageMkwriteCommit(k, c);
    case PH_FAULT_HANDLER_RESUME: return doFaultAfterHandler(k, c, resumeHandler(c));
    case PH_NOPFN_HANDLER_RESUME: return doNoPfnAfterHandler(k, c, resumeHandler(c));
    default: throw new Error(`faultResume: no continuation (phase ${phase})`);
  }
}

function lockPtl(k: Machine, c: FaultCtx): void {
  if (k.debug && c.mm.ptlHolder !== 0) ptlAlreadyHeld(c.mm);
  c.mm.ptlHolder = c.thread.tid;
}

function ptlAlreadyHeld(mm: Mm): never {
  throw new Error(`ptl of mm ${mm.id} already held by ${mm.ptlHolder}`);
}

function unlockPtl(c: FaultCtx): void {
  c.mm.ptlHolder = 0;
}

function handlePteFault(k: Machine, c: FaultCtx): number {
  c.enter(FN.handle_pte_fault);
  const pte = k.pte;
  const lo = c.origLo;
  const hi = c.origHi;
  if (pte.isNone(lo, hi)) {
    switch (c.vma.faultKind) {
      case FK_FAULT: return doLinearFault(k, c);
      case FK_NOPAGE: return k.f.hasFault ? doLinearFault(k, c) : doNoPage(k, c);
      case FK_NOPFN: return doNoPfn(k, c);
      default: return doAnonymousPage(k, c);
    }
  }
  if (!pte.present(lo)) {
    // file and swap ptes: nonlinear mappings and swap are not modelled
    return VM_FAULT_SIGBUS;
  }
  return handlePresentPte(k, c);
}

/** handle_pte_fault on a present pte: take the ptl, recheck, then COW or just update the access bits. */
function handlePresentPte(k: Machine, c: FaultCtx): number {
  const pte = k.pte;
  const lo = c.origLo;
  lockPtl(k, c);
  if (c.tbl[c.slot] !== lo || c.tbl[c.slot + 1] !== c.origHi) {
    unlockPtl(c);
    return VM_FAULT_MINOR; // pte changed under us: the access is simply retried
  }
  let entry = lo;
  if (c.write) {
    if (!pte.write(lo)) return doWpPage(k, c); // with ptl held
    entry = pte.mkdirty(entry);
  }
  entry = pte.mkyoung(entry);
  c.tbl[c.slot] = entry; // ptep_set_access_flags
  unlockPtl(c);
  return VM_FAULT_MINOR;
}

// ---------------------------------------------------------------------------------------------
// do_anonymous_page (§2.2)
// ---------------------------------------------------------------------------------------------

function anonVmaPrepare(k: Machine, vma: Vma): void {
  // anon_vma_prepare: a neighbour's anon_vma when find_mergeable_anon_vma finds one, else a new one
  if (!vma.anonVma) vma.anonVma = findMergeableAnonVma(k, vma) ?? { id: k.nextId(), mm: vma.mm };
}

function doAnonymousPage(k: Machine, c: FaultCtx): number {
  c.enter(FN.do_anonymous_page);
  if (c.write || !anonZeroPage(k, c)) return doAnonymousAlloc(k, c);
  return c.stepped ? stopAt(c, WINDOW.anon_alloc, PH_ZERO_COMMIT) : doAnonymousZeroCommit(k, c);
}

/**
 * Whether a read fault maps the zero page under this release's rule; sets c.page (a referenced
 * ZERO_PAGE) or c.pfn (a special zero pte). False: the read allocates like a write.
 */
function anonZeroPage(k: Machine, c: FaultCtx): boolean {
  switch (k.f.zeroPage) {
    case 'refcounted':
      // 2.6.19–2.6.23: map ZERO_PAGE with a reference and a file rmap (M20)
      c.page = k.zeroPfn;
      k.mem.getPage(c.page);
      return true;
    case 'special':
      // 2.6.32: special zero-pfn pte, no refcount, no rmap, no rss, no anon_vma (a13ea5b7596)
      c.page = -1;
      c.pfn = k.zeroPfn;
      return true;
    case 's003':
      // S003: only where use_zero_page(vma); a lost race falls through to the allocation
      if (!useZeroPageS003(c.vma)) return false;
      c.page = -1;
      c.pfn = k.zeroPfn;
      return true;
    default:
      return false; // 2.6.24–2.6.31: no zero page, read faults allocate
  }
}

function doAnonymousAlloc(k: Machine, c: FaultCtx): number {
  anonVmaPrepare(k, c.vma); // before the allocation: set even if it fails (§1.2)
  const page = k.allocUserPage();
  if (page < 0) return VM_FAULT_OOM;
  c.newPage = page;
  return c.stepped ? stopAt(c, WINDOW.anon_alloc, PH_ANON_COMMIT) : doAnonymousPageCommit(k, c);
}

function doAnonymousPageCommit(k: Machine, c: FaultCtx): number {
  const pte = k.pte;
  const vma = c.vma;
  lockPtl(k, c);
  if (k.f.ptlRecheck && !pte.isNone(c.tbl[c.slot]!, c.tbl[c.slot + 1]!)) {
    unlockPtl(c);
    k.mem.putPage(c.newPage); // lost the race: release the page
    c.newPage = -1;
    return VM_FAULT_MINOR;
  }
  let entry = pte.pfnPteLo(c.newPage, vma.pageProt);
  if (k.f.anonDirtyOnlyIfWrite) {
    // 2.6.32: dirty and writable only with VM_WRITE
    if (vma.flags & VM_WRITE) entry = pte.mkwrite(pte.mkdirty(entry));
  } else {
    // ≤2.6.31: dirty always, writable if VM_WRITE
    entry = pte.mkdirty(entry);
    if (vma.flags & VM_WRITE) entry = pte.mkwrite(entry);
  }
  c.mm.anonRss++;
  pageAddNewAnonRmap(k, c.newPage, vma, c.address);
  setAnonExclusive(k, c.newPage); // modern: folio_add_new_anon_rmap(…, RMAP_EXCLUSIVE)
  c.tbl[c.slot] = entry;
  c.tbl[c.slot + 1] = pte.pfnPteHi(c.newPage);
  c.newPage = -1;
  unlockPtl(c);
  return VM_FAULT_MINOR;
}

/** The zero-page forms: refcounted (E1, c.page set) or special (E5/S003, c.page -1). */
function doAnonymousZeroCommit(k: Machine, c: FaultCtx): number {
  const pte = k.pte;
  const vma = c.vma;
  lockPtl(k, c);
  if (!pte.isNone(c.tbl[c.slot]!, c.tbl[c.slot + 1]!)) return doAnonymousZeroLostRace(k, c);
  const zero = k.zeroPfn;
  if (c.page >= 0) {
    // 2.6.19–2.6.23: file_rss+1, page_add_file_rmap, mk_pte(ZERO_PAGE, vm_page_prot)
    c.mm.fileRss++;
    pageAddFileRmap(k, zero);
    c.tbl[c.slot] = pte.pfnPteLo(zero, vma.pageProt);
  } else {
    c.tbl[c.slot] = pte.mkspecial(pte.pfnPteLo(zero, vma.pageProt));
  }
  c.tbl[c.slot + 1] = pte.pfnPteHi(zero);
  c.page = -1;
  unlockPtl(c);
  return VM_FAULT_MINOR;
}

/** Another thread mapped the pte first: undo and return (or, under S003, allocate after all). */
function doAnonymousZeroLostRace(k: Machine, c: FaultCtx): number {
  unlockPtl(c);
  if (c.page >= 0) {
    k.mem.putPage(c.page); // drop the zero page reference
    c.page = -1;
    return VM_FAULT_MINOR;
  }
  // S003: a lost race falls through to the normal allocation path; 2.6.32 just returns
  if (k.f.zeroPage === 's003') return doAnonymousAlloc(k, c);
  return VM_FAULT_MINOR;
}

// ---------------------------------------------------------------------------------------------
// __do_fault (E2–E5, via do_linear_fault) and do_no_page (E1) (§2.3)
// ---------------------------------------------------------------------------------------------

function linearPgoff(vma: Vma, address: number): number {
  return Math.floor((address - vma.start) / PAGE_SIZE) + vma.pgoff;
}

function doLinearFault(k: Machine, c: FaultCtx): number {
  c.enter(FN.do_linear_fault);
  return doFault(k, c);
}

function doNoPage(k: Machine, c: FaultCtx): number {
  c.enter(FN.do_no_page);
  const vma = c.vma;
  if (vma.flags & VM_PFNMAP) k.bug('BUG_ON(vma->vm_flags & VM_PFNMAP) in do_no_page', c.chainNames());
  // do_no_page (≤2.6.22): mapping->truncate_count is read before ->nopage and compared under the ptl
  c.truncateCount = vma.file ? vma.file.inode.mapping.truncateCount : -1;
  return doFaultAfterHandler(k, c, callNopage(k, c));
}

/**
 * do_no_page's retry (≤2.6.22): unmap_mapping_range ran (truncate) while the ptl was dropped, so
 * the page may be gone from the file: drop it (and the early COW copy), take a new snapshot and call
 * ->nopage again, which fails with SIGBUS past EOF. Entered with the ptl held.
 */
function doNoPageRetry(k: Machine, c: FaultCtx): number {
  unlockPtl(c);
  if (c.anon) k.mem.putPage(c.newPage);
  k.mem.putPage(c.page);
  c.newPage = -1;
  c.page = -1;
  c.truncateCount = c.vma.file!.inode.mapping.truncateCount;
  return doFaultAfterHandler(k, c, callNopage(k, c));
}

/** do_no_page (≤2.6.22) under the ptl: did unmap_mapping_range run since the snapshot? */
function truncateCountMoved(k: Machine, c: FaultCtx): boolean {
  return !k.f.hasFault && c.truncateCount !== -1 && c.truncateCount !== c.vma.file!.inode.mapping.truncateCount;
}

/**
 * 2.6.23+ __do_fault keeps the faulted page locked from ->fault until the pte is set, and
 * truncate_inode_pages_range waits for that lock, then, finding the page mapped, unmaps it again
 * (even_cows = 0): a page-cache page that truncate removed meanwhile ends up mapped by no pte, so
 * install none (the access refaults). The early COW copy is not the file page: it is installed and
 * survives. A page that never had a mapping (XIP, device memory) is not truncate's to take.
 */
function truncatedUnderPageLock(k: Machine, c: FaultCtx): boolean {
  return k.f.hasFault && !c.anon && c.pageMapping !== NO_MAPPING && k.mem.mapping[c.page] !== c.pageMapping;
}

function callNopage(k: Machine, c: FaultCtx): number {
  c.enter(FN.nopage);
  const pfn = c.vma.ops!.nopage!(c.vma, c.address, k);
  if (pfn === NOPAGE_SIGBUS) return VM_FAULT_SIGBUS;
  if (pfn === NOPAGE_OOM) return VM_FAULT_OOM;
  if (pfn === NOPAGE_REFAULT) {
    // 2.6.23 removed NOPAGE_REFAULT with do_no_page (include/linux/mm.h): a driver could not return it
    if (k.f.hasFault) k.bug('NOPAGE_REFAULT does not exist from 2.6.23 (a driver could not return it)', c.chainNames());
    return VM_FAULT_NOPAGE; // nothing installed, the access refaults
  }
  c.vmf.page = pfn;
  return 0;
}

function doFault(k: Machine, c: FaultCtx): number {
  c.enter(FN.__do_fault);
  const vma = c.vma;
  // BUG_ON(VM_PFNMAP) in 2.6.23–2.6.26-rc3 (dropped by 42172d751b4)
  if (k.f.faultPfnmapBug && vma.flags & VM_PFNMAP) k.bug('BUG_ON(vma->vm_flags & VM_PFNMAP) in __do_fault', c.chainNames());
  const vmf = c.vmf;
  vmf.pgoff = linearPgoff(vma, c.address);
  vmf.flags = c.write ? FAULT_FLAG_WRITE : 0;
  vmf.virtualAddress = c.address;
  vmf.page = -1;
  // modern do_read_fault: map the cached pages of the aligned window around the address first
  if (!c.write && k.f.faultAround > 0 && vma.file?.inode.driver.mapPages && faultAround(k, c)) return VM_FAULT_NOPAGE;
  // modern do_cow_fault prepares the anon_vma before ->fault: a write that then fails (SIGBUS past
  // EOF) leaves the vma with one, and fork copies it; 2.6 prepares it once the page is found
  if (k.f.cowAnonVmaFirst && c.write && !(vma.flags & VM_SHARED)) anonVmaPrepare(k, vma);
  let ret: number;
  if (vma.ops!.fault && k.f.hasFault) {
    c.enter(FN.fault);
    ret = vma.ops!.fault(vma, vmf, k);
  } else {
    ret = callNopage(k, c); // 2.6.23–2.6.25 legacy ->nopage adapter
  }
  return doFaultAfterHandler(k, c, ret);
}

/**
 * do_fault_around / filemap_map_pages (modern): maps every page of the aligned faultAround window
 * that is already in the page cache and whose pte is none, clipped to the vma and EOF, like a file
 * read fault would (count, mapcount, file_rss). Returns true when the faulting address got mapped.
 */
function faultAround(k: Machine, c: FaultCtx): boolean {
  const vma = c.vma;
  const mapping = vma.file!.inode.mapping;
  const n = k.f.faultAround;
  const pte = k.pte;
  const eofPages = Math.ceil(vma.file!.inode.size / PAGE_SIZE);
  // do_fault_around: the aligned window, but starting no lower than the vma and still n pages
  // long when that moved it; clipped to the pte table and the vma's end
  const first = Math.max(Math.floor(c.vpn / n) * n, vma.start / PAGE_SIZE);
  const last = Math.min(first + n, vma.mm.pt.tableEnd(c.vpn, vma.end / PAGE_SIZE));
  let mapped = false;
  c.enter(FN.do_fault_around);
  lockPtl(k, c);
  for (let vpn = first; vpn < last; vpn++) {
    const pgoff = vpn - vma.start / PAGE_SIZE + vma.pgoff;
    if (pgoff >= eofPages) break;
    const pfn = mapping.pages.get(pgoff);
    if (pfn === undefined) continue;
    if (!vma.mm.pt.alloc(vpn)) break;
    const { tbl, slot } = vma.mm.pt;
    if (!pte.isNone(tbl[slot]!, tbl[slot + 1]!)) continue;
    k.mem.getPage(pfn);
    pageAddFileRmap(k, pfn, vma);
    vma.mm.fileRss++;
    tbl[slot] = pte.pfnPteLo(pfn, vma.pageProt);
    tbl[slot + 1] = pte.pfnPteHi(pfn);
    if (vpn === c.vpn) mapped = true;
  }
  unlockPtl(c);
  return mapped;
}

/** Runs a handler's continuation after its own window (k.suspendHandler). */
function resumeHandler(c: FaultCtx): number {
  const fn = c.resume!;
  c.resume = null;
  return fn();
}

/** The common tail of __do_fault and do_no_page: early COW or page_mkwrite, then the window. */
function doFaultAfterHandler(k: Machine, c: FaultCtx, ret: number): number {
  if (c.resume) {
    // the handler stopped at its own lock window
    return c.stepped ? stopAt(c, WINDOW.driver, PH_FAULT_HANDLER_RESUME) : doFaultAfterHandler(k, c, resumeHandler(c));
  }
  if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)) return ret; // the handler installed the pte itself, or failed
  const vma = c.vma;
  const page = c.vmf.page;
  if (page < 0) k.bug('NULL pointer dereference: ->fault returned no page without VM_FAULT_NOPAGE', c.chainNames());
  c.page = page;
  c.pageMapping = k.mem.mapping[page]!; // 2.6.23+: lock_page (or VM_FAULT_LOCKED) pins page->mapping
  c.ret = ret & ~VM_FAULT_LOCKED;
  c.anon = false;
  if (c.write) {
    if (!(vma.flags & VM_SHARED)) {
      // early COW into a new anonymous page
      c.anon = true;
      anonVmaPrepare(k, vma);
      const np = k.allocUserPage();
      if (np < 0) {
        k.mem.putPage(page);
        c.page = -1;
        return VM_FAULT_OOM;
      }
      k.mem.setGen(np, k.mem.readGen(page)); // copy_user_highpage
      // 2.6.28+ __do_fault: clear_page_mlock on the file page; modern do_cow_fault never mapped it
      if (k.f.cowMunlock !== 'none' && !k.f.mlockCount && vma.flags & VM_LOCKED) clearPageMlock(k, page);
      c.newPage = np;
    } else if (vma.ops?.pageMkwrite) {
      c.enter(FN.page_mkwrite);
      const r = vma.ops.pageMkwrite(vma, page, k);
      if (k.f.release <= 29) {
        if (r < 0) {
          k.mem.putPage(page);
          c.page = -1;
          return VM_FAULT_SIGBUS;
        }
      } else if (r & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)) {
        k.mem.putPage(page);
        c.page = -1;
        return r;
      }
      if (k.mem.mapping[page] === NO_MAPPING) {
        k.mem.putPage(page); // truncated meanwhile: retry
        c.page = -1;
        return VM_FAULT_MINOR;
      }
    }
  }
  return c.stepped ? stopAt(c, WINDOW.do_fault, PH_FAULT_COMMIT) : doFaultCommit(k, c);
}

function doFaultCommit(k: Machine, c: FaultCtx): number {
  const pte = k.pte;
  const vma = c.vma;
  const m = k.mem;
  lockPtl(k, c);
  if (truncateCountMoved(k, c)) return doNoPageRetry(k, c);
  const page = c.page;
  if (pte.same(c.tbl[c.slot]!, c.tbl[c.slot + 1]!, c.origLo, c.origHi) && !truncatedUnderPageLock(k, c)) {
    const install = c.anon ? c.newPage : page;
    let entry = pte.pfnPteLo(install, vma.pageProt);
    if (c.write) {
      entry = pte.mkdirty(entry);
      if (vma.flags & VM_WRITE) entry = pte.mkwrite(entry); // maybe_mkwrite
    }
    if (c.anon) {
      c.mm.anonRss++;
      pageAddNewAnonRmap(k, install, vma, c.address);
      setAnonExclusive(k, install); // modern do_cow_fault: the private copy is exclusive
    } else {
      c.mm.fileRss++;
      pageAddFileRmap(k, install, vma);
      if (c.write) m.flags[install] = m.flags[install]! | PG_dirty; // set_page_dirty + dirty balancing
    }
    c.tbl[c.slot] = entry;
    c.tbl[c.slot + 1] = pte.pfnPteHi(install);
    unlockPtl(c);
    if (c.anon) m.putPage(page); // the faulted page's reference goes; the copy is mapped
  } else {
    unlockPtl(c);
    if (c.anon) m.putPage(c.newPage); // lost the race
    // (or truncate took the file page: truncatedUnderPageLock)
    m.putPage(page);
  }
  c.newPage = -1;
  c.page = -1;
  return c.ret;
}

function clearPageMlock(k: Machine, pfn: number): void {
  k.mem.flags[pfn] = k.mem.flags[pfn]! & ~PG_mlocked;
}

/** SetPageAnonExclusive: only the modern profile tracks it (2.6 has no such flag). */
function setAnonExclusive(k: Machine, pfn: number): void {
  if (k.f.anonExclusive) k.mem.flags[pfn] = k.mem.flags[pfn]! | PG_anon_exclusive;
}

// ---------------------------------------------------------------------------------------------
// do_no_pfn (E1–E3, §2.4)
// ---------------------------------------------------------------------------------------------

function doNoPfn(k: Machine, c: FaultCtx): number {
  c.enter(FN.do_no_pfn);
  const vma = c.vma;
  const f = k.f;
  const flags = vma.flags;
  const cow = isCowMapping(flags);
  if (f.doNoPfn === 'v1') {
    if (!(flags & VM_PFNMAP)) k.bug('BUG_ON(!(vma->vm_flags & VM_PFNMAP)) in do_no_pfn', c.chainNames());
  } else if (f.mixedmap) {
    // E3: PFNMAP or MIXEDMAP; COW only forbidden for PFNMAP
    if (!(flags & (VM_PFNMAP | VM_MIXEDMAP))) k.bug('BUG_ON(!(vma->vm_flags & (VM_PFNMAP | VM_MIXEDMAP))) in do_no_pfn', c.chainNames());
    if (flags & VM_PFNMAP && cow) {
      if (f.doNoPfn === 'sigbus-on-cow') return VM_FAULT_SIGBUS;
      k.bug('BUG_ON((vma->vm_flags & VM_PFNMAP) && is_cow_mapping(vma->vm_flags)) in do_no_pfn', c.chainNames());
    }
  } else {
    if (!(flags & VM_PFNMAP)) k.bug('BUG_ON(!(vma->vm_flags & VM_PFNMAP)) in do_no_pfn', c.chainNames());
    if (cow) {
      if (f.doNoPfn === 'sigbus-on-cow') return VM_FAULT_SIGBUS; // Linus' alternative (A10)
      k.bug('BUG_ON(is_cow_mapping(vma->vm_flags)) in do_no_pfn', c.chainNames());
    }
  }
  c.enter(FN.nopfn);
  return doNoPfnAfterHandler(k, c, vma.ops!.nopfn!(vma, c.address, k));
}

/** do_no_pfn after ->nopfn returned (or stopped at its own lock window and resumed). */
function doNoPfnAfterHandler(k: Machine, c: FaultCtx, pfn: number): number {
  if (c.resume) return c.stepped ? stopAt(c, WINDOW.driver, PH_NOPFN_HANDLER_RESUME) : doNoPfnAfterHandler(k, c, resumeHandler(c));
  const vma = c.vma;
  const f = k.f;
  const flags = vma.flags;
  if (f.mixedmap && flags & VM_MIXEDMAP && k.pfnValid(pfn)) {
    k.bug('BUG_ON((vma->vm_flags & VM_MIXEDMAP) && pfn_valid(pfn)) in do_no_pfn', c.chainNames());
  }
  if (f.doNoPfn === 'v1') {
    // seed v1: a signed return; -ENOMEM → OOM, any other negative (-EFAULT, …) → SIGBUS
    if (pfn === -ENOMEM) return VM_FAULT_OOM;
    if (pfn < 0) return VM_FAULT_SIGBUS;
  } else {
    if (pfn === NOPFN_OOM) return VM_FAULT_OOM;
    if (pfn === NOPFN_SIGBUS) return VM_FAULT_SIGBUS;
    if (pfn === NOPFN_REFAULT && f.nopfnRefault) return VM_FAULT_MINOR;
  }
  // before 2.6.21 NOPFN_REFAULT (-3) is taken as a pfn: (unsigned long)-3
  c.pfn = pfn < 0 ? 2 ** 52 + pfn : pfn;
  return c.stepped ? stopAt(c, WINDOW.nopfn, PH_NOPFN_COMMIT) : doNoPfnCommit(k, c);
}

function doNoPfnCommit(k: Machine, c: FaultCtx): number {
  const pte = k.pte;
  const vma = c.vma;
  lockPtl(k, c);
  const none = pte.isNone(c.tbl[c.slot]!, c.tbl[c.slot + 1]!);
  if (none || k.f.doNoPfn === 'v1') {
    // "Only go through if we didn't race" — absent in seed v1, which overwrites unconditionally
    if (!none) k.report(`doubleInstall: do_no_pfn (seed v1) overwrote a present pte at 0x${c.address.toString(16)} in mm ${c.mm.id}`);
    // not marked special, even in 2.6.26 (§2.4 item 8)
    let entry = pte.pfnPteLo(c.pfn, vma.pageProt);
    if (c.write) {
      entry = pte.mkdirty(entry);
      if (vma.flags & VM_WRITE) entry = pte.mkwrite(entry);
    }
    c.tbl[c.slot] = entry;
    c.tbl[c.slot + 1] = pte.pfnPteHi(c.pfn);
  }
  unlockPtl(c);
  return VM_FAULT_MINOR;
}

// ---------------------------------------------------------------------------------------------
// do_wp_page and cow_user_page (§2.5, §2.6) — entered with the ptl held
// ---------------------------------------------------------------------------------------------

/** The reuse: young, dirty, and writable only if the vma has VM_WRITE (maybe_mkwrite; a forced gup write may not). */
function setPteReuse(k: Machine, c: FaultCtx): void {
  const pte = k.pte;
  const entry = pte.mkdirty(pte.mkyoung(c.tbl[c.slot]!));
  c.tbl[c.slot] = c.vma.flags & VM_WRITE ? pte.mkwrite(entry) : entry;
}

function doWpPage(k: Machine, c: FaultCtx): number {
  c.enter(FN.do_wp_page);
  const vma = c.vma;
  const m = k.mem;
  const old = vmNormalPage(k, vma, c.address, c.origLo, c.origHi);
  c.page = old;
  const sharedWritable = (vma.flags & (VM_WRITE | VM_SHARED)) === (VM_WRITE | VM_SHARED);
  if (old < 0) {
    // 2.6.26 final+: a pte without struct page in a shared-writable vma is reused (251b97f552b)
    if (k.f.wpReuseSharedNoPage && sharedWritable) return wpReuse(k, c);
  } else if (m.flags[old]! & PG_anon) {
    // reuse an anonymous page that is exclusively ours (can_share_swap_page / reuse_swap_page). Modern
    // do_wp_page: PageAnonExclusive, or wp_can_reuse_anon_folio (a refcount test; the mapcount stands
    // in for it), which marks the page exclusive again (SetPageAnonExclusive before wp_page_reuse)
    if (m.flags[old]! & PG_anon_exclusive || m.mapcount[old] === 0) {
      setAnonExclusive(k, old);
      return wpReuse(k, c);
    }
  } else if (sharedWritable) {
    if (vma.ops?.pageMkwrite) return doWpPageMkwrite(k, c);
    m.flags[old] = m.flags[old]! | PG_dirty; // set_page_dirty after the reuse
    return wpReuse(k, c);
  }
  return doWpPageCopy(k, c);
}

/** do_wp_page on a shared-writable page with ->page_mkwrite: call it with the ptl dropped. */
function doWpPageMkwrite(k: Machine, c: FaultCtx): number {
  const vma = c.vma;
  const old = c.page;
  k.mem.getPage(old);
  unlockPtl(c);
  c.enter(FN.page_mkwrite);
  const r = vma.ops!.pageMkwrite!(vma, old, k);
  if (k.f.release <= 29 ? r < 0 : (r & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)) !== 0) {
    k.mem.putPage(old);
    c.page = -1;
    return k.f.release <= 29 ? VM_FAULT_SIGBUS : r;
  }
  return c.stepped ? stopAt(c, WINDOW.wp_mkwrite, PH_WP_MKWRITE_COMMIT) : doWpPageMkwriteCommit(k, c);
}

/** do_wp_page's copy (the kernel's `gotten:` label): a temporary reference, drop the ptl, allocate and copy. */
function doWpPageCopy(k: Machine, c: FaultCtx): number {
  const vma = c.vma;
  const m = k.mem;
  const old = c.page;
  if (old >= 0) m.getPage(old);
  unlockPtl(c);
  anonVmaPrepare(k, vma);
  const pfn = k.pte.pfn(c.origLo, c.origHi);
  let zeroSource = false;
  switch (k.f.cowZero) {
    case 'zero-page': zeroSource = old === k.zeroPfn; break;
    case 'zero-pfn': zeroSource = pfn === k.zeroPfn; break;
    default:
      if (k.f.debugVm && old === k.zeroPfn) k.bug('VM_BUG_ON(old_page == ZERO_PAGE(0)) in do_wp_page', c.chainNames());
  }
  const np = k.allocUserPage();
  if (np < 0) {
    if (old >= 0) m.putPage(old);
    c.page = -1;
    return VM_FAULT_OOM;
  }
  // 2.6.28–2.6.31 clear old_page's mlock state between the allocation and the copy; 2.6.32 after it
  const munlockFirst = k.f.cowMunlockBeforeCopy;
  if (munlockFirst && vma.flags & VM_LOCKED) wpCowMunlock(k, c, old);
  if (!zeroSource) {
    c.enter(FN.cow_user_page);
    // cow_user_page: from the struct page, or (no struct page) from the user address through the old
    // pte with __copy_from_user_inatomic; where the MMU refuses that read (a PROT_NONE pte reached by
    // a forced gup write) the copy fails and the page is zero-filled (M20, M26, M32 cow_user_page;
    // modern __wp_page_copy_user: WARN_ON_ONCE, clear_page)
    if (old >= 0) m.setGen(np, m.readGen(old));
    else m.setGen(np, userReadable(k, c.origLo) ? k.readUserFrame(pfn) : 0);
  }
  if (!munlockFirst && vma.flags & VM_LOCKED) wpCowMunlock(k, c, old);
  c.newPage = np;
  return c.stepped ? stopAt(c, WINDOW.wp_copy, PH_WP_COMMIT) : doWpPageCommit(k, c);
}

/** Whether a user read through this pte gets through the MMU (hardware present; arm: young too). */
function userReadable(k: Machine, lo: number): boolean {
  return k.pte.hwPresentBit(lo) && (!k.arch.softwareYoungDirty || k.pte.young(lo));
}

/** do_wp_page's COW in a VM_LOCKED vma: the old page is no longer mlocked by this pte (2.6.28+). */
function wpCowMunlock(k: Machine, c: FaultCtx, old: number): void {
  if (k.f.cowMunlock === 'oops-on-null' && old < 0) {
    // the oops leaves new_page allocated and charged: the kernel leaks it
    k.bug('NULL pointer dereference: clear_page_mlock(old_page == NULL) in do_wp_page (v2.6.28, fixed by ab92661d5d9)', c.chainNames());
  }
  // modern wp_page_copy: the old page's rmap removal munlocks it (pageRemoveRmap, counted)
  if (k.f.cowMunlock !== 'none' && !k.f.mlockCount && old >= 0) clearPageMlock(k, old);
}

function wpReuse(k: Machine, c: FaultCtx): number {
  c.enter(FN.do_wp_page_reuse);
  setPteReuse(k, c);
  unlockPtl(c);
  c.page = -1;
  return VM_FAULT_WRITE;
}

function doWpPageMkwriteCommit(k: Machine, c: FaultCtx): number {
  const m = k.mem;
  const old = c.page;
  lockPtl(k, c);
  if (!k.pte.same(c.tbl[c.slot]!, c.tbl[c.slot + 1]!, c.origLo, c.origHi)) {
    unlockPtl(c);
    m.putPage(old);
    c.page = -1;
    return VM_FAULT_MINOR;
  }
  m.putPage(old);
  m.flags[old] = m.flags[old]! | PG_dirty;
  return wpReuse(k, c);
}

function doWpPageCommit(k: Machine, c: FaultCtx): number {
  const pte = k.pte;
  const m = k.mem;
  const vma = c.vma;
  const old = c.page;
  const np = c.newPage;
  let ret = VM_FAULT_MINOR;
  lockPtl(k, c);
  if (!k.f.ptlRecheck || pte.same(c.tbl[c.slot]!, c.tbl[c.slot + 1]!, c.origLo, c.origHi)) {
    if (old >= 0) {
      if (!(m.flags[old]! & PG_anon)) {
        c.mm.fileRss--;
        c.mm.anonRss++;
      }
    } else {
      c.mm.anonRss++; // a raw/special/zero pte was never counted
    }
    let entry = pte.pfnPteLo(np, vma.pageProt);
    entry = pte.mkdirty(entry);
    if (vma.flags & VM_WRITE) entry = pte.mkwrite(entry);
    c.tbl[c.slot] = entry; // never special
    c.tbl[c.slot + 1] = pte.pfnPteHi(np);
    pageAddNewAnonRmap(k, np, vma, c.address);
    setAnonExclusive(k, np); // modern wp_page_copy: RMAP_EXCLUSIVE
    if (old >= 0) {
      pageRemoveRmap(k, old, vma, k.chain); // after the pte switch (945754a1754); 2.6.29+ checks nothing here
      m.putPage(old); // the pte's reference
    }
    ret = VM_FAULT_WRITE;
  } else {
    m.putPage(np);
  }
  unlockPtl(c);
  if (old >= 0) m.putPage(old); // the temporary reference
  c.newPage = -1;
  c.page = -1;
  return ret;
}

// ---------------------------------------------------------------------------------------------
// insert_page, vm_insert_page, vm_insert_pfn, vm_insert_mixed (§2.8–2.10)
// ---------------------------------------------------------------------------------------------

/** Looks up (allocating) the pte for an address in a vma's mm; false on page-table OOM. */
function ptePtr(mm: Mm, address: number): boolean {
  return mm.pt.alloc(Math.floor(address / PAGE_SIZE));
}

function insertPage(k: Machine, vma: Vma, address: number, pfn: number, prot: number): number {
  k.enter(FN.insert_page);
  const m = k.mem;
  if (m.flags[pfn]! & PG_anon) return -EINVAL;
  const mm = vma.mm;
  if (!ptePtr(mm, address)) return -ENOMEM;
  const { tbl, slot } = mm.pt;
  const pte = k.pte;
  if (!pte.isNone(tbl[slot]!, tbl[slot + 1]!)) return -EBUSY;
  m.getPage(pfn);
  mm.fileRss++;
  pageAddFileRmap(k, pfn, vma);
  tbl[slot] = pte.pfnPteLo(pfn, prot); // not special; young only if prot carries it
  tbl[slot + 1] = pte.pfnPteHi(pfn);
  return 0;
}

/** vm_insert_page (M20, M26, M32): -EFAULT, -EINVAL (count 0, anon), sets VM_INSERTPAGE (6.x: VM_MIXEDMAP), -ENOMEM, -EBUSY. */
export function vmInsertPage(k: Machine, vma: Vma, address: number, pfn: number): number {
  k.enter(FN.vm_insert_page);
  if (address < vma.start || address >= vma.end) return -EFAULT;
  // the kernel takes a struct page and never asks pfn_valid (a DCSS page above max_pfn on s390 2.6.25
  // has one); a pfn without a struct page cannot be passed at all: the model refuses it like count 0
  if (!k.hasStructPage(pfn) || k.mem.count[pfn] === 0) return -EINVAL;
  if (k.f.release >= MODERN_RELEASE) {
    // 6.x: VM_INSERTPAGE is gone; the vma becomes VM_MIXEDMAP, and a VM_PFNMAP vma is a BUG
    // ("mm: kill vma flag VM_INSERTPAGE", [UNVERIFIED] 3.7)
    if (!(vma.flags & VM_MIXEDMAP)) {
      if (vma.flags & VM_PFNMAP) k.bug('BUG_ON(vma->vm_flags & VM_PFNMAP) in vm_insert_page', k.chain());
      vma.flags |= VM_MIXEDMAP;
    }
  } else vma.flags |= VM_INSERTPAGE;
  return insertPage(k, vma, address, pfn, vma.pageProt);
}

function insertPfn(k: Machine, vma: Vma, address: number, pfn: number, prot: number): number {
  k.enter(FN.insert_pfn);
  const mm = vma.mm;
  if (!ptePtr(mm, address)) return -ENOMEM;
  const { tbl, slot } = mm.pt;
  const pte = k.pte;
  if (!pte.isNone(tbl[slot]!, tbl[slot + 1]!)) return -EBUSY;
  let entry = pte.pfnPteLo(pfn, prot);
  if (k.f.mkspecialPfnPtes) entry = pte.mkspecial(entry); // 2.6.26+: pte_mkspecial (a no-op without the bit)
  tbl[slot] = entry;
  tbl[slot + 1] = pte.pfnPteHi(pfn);
  return 0;
}

/** vm_insert_pfn (§2.9): BUG_ONs by release, then -EFAULT, -ENOMEM, -EBUSY; never counted. */
export function vmInsertPfn(k: Machine, vma: Vma, address: number, pfn: number): number {
  k.enter(FN.vm_insert_pfn);
  const flags = vma.flags;
  if (k.f.insertPfn === 'none') k.bug('vm_insert_pfn does not exist before 2.6.21', k.chain());
  if (k.f.insertPfn === 'pfnmap') {
    if (!(flags & VM_PFNMAP)) k.bug('BUG_ON(!(vma->vm_flags & VM_PFNMAP)) in vm_insert_pfn', k.chain());
    if (isCowMapping(flags)) k.bug('BUG_ON(is_cow_mapping(vma->vm_flags)) in vm_insert_pfn', k.chain());
    // 2.6.21–2.6.25: no address range check (D4)
  } else {
    if (!(flags & (VM_PFNMAP | VM_MIXEDMAP))) k.bug('BUG_ON(!(vma->vm_flags & (VM_PFNMAP|VM_MIXEDMAP))) in vm_insert_pfn', k.chain());
    if ((flags & (VM_PFNMAP | VM_MIXEDMAP)) === (VM_PFNMAP | VM_MIXEDMAP)) {
      k.bug('BUG_ON((vma->vm_flags & (VM_PFNMAP|VM_MIXEDMAP)) == (VM_PFNMAP|VM_MIXEDMAP)) in vm_insert_pfn', k.chain());
    }
    if (flags & VM_PFNMAP && isCowMapping(flags)) k.bug('BUG_ON((vma->vm_flags & VM_PFNMAP) && is_cow_mapping(vma->vm_flags)) in vm_insert_pfn', k.chain());
    if (flags & VM_MIXEDMAP && k.pfnValid(pfn)) k.bug('BUG_ON((vma->vm_flags & VM_MIXEDMAP) && pfn_valid(pfn)) in vm_insert_pfn', k.chain());
    if (address < vma.start || address >= vma.end) return -EFAULT;
  }
  return insertPfn(k, vma, address, pfn, vma.pageProt);
}

/** vm_insert_mixed (2.6.26+, §2.10): refcounted insert_page only where the arch lacks pte_special. */
export function vmInsertMixed(k: Machine, vma: Vma, address: number, pfn: number): number {
  k.enter(FN.vm_insert_mixed);
  if (!k.f.mixedmap) k.bug('vm_insert_mixed does not exist before 2.6.26', k.chain());
  if (!(vma.flags & VM_MIXEDMAP)) k.bug('BUG_ON(!(vma->vm_flags & VM_MIXEDMAP)) in vm_insert_mixed', k.chain());
  if (address < vma.start || address >= vma.end) return -EFAULT;
  if (!k.arch.hasPteSpecial && k.pfnValid(pfn)) return insertPage(k, vma, address, pfn, vma.pageProt);
  return insertPfn(k, vma, address, pfn, vma.pageProt);
}

// ---------------------------------------------------------------------------------------------
// remap_pfn_range (§2.11)
// ---------------------------------------------------------------------------------------------

export function remapPfnRange(k: Machine, vma: Vma, address: number, pfn: number, size: number, prot: number): number {
  k.enter(FN.remap_pfn_range);
  const end = address + Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
  const whole = address === vma.start && end === vma.end;
  const cow = isCowMapping(vma.flags);
  if (k.f.remapPgoff === 'cow-only') {
    if (cow) {
      if (!whole) return -EINVAL;
      vma.pgoff = pfn;
    }
  } else if (whole) {
    vma.pgoff = pfn;
    if (k.f.release >= 30) vma.flags |= 0x40000000; // VM_PFN_AT_MMAP
  } else if (cow) {
    return -EINVAL;
  }
  vma.flags |= 0x4000 | 0x80000 | VM_PFNMAP; // VM_IO | VM_RESERVED | VM_PFNMAP
  if (address >= end) k.bug('BUG_ON(addr >= end) in remap_pfn_range', k.chain());
  const pte = k.pte;
  const mm = vma.mm;
  for (let a = address, p = pfn; a < end; a += PAGE_SIZE, p++) {
    if (!ptePtr(mm, a)) return -ENOMEM;
    const { tbl, slot } = mm.pt;
    if (!pte.isNone(tbl[slot]!, tbl[slot + 1]!)) k.bug('BUG_ON(!pte_none(*pte)) in remap_pte_range', k.chain());
    let entry = pte.pfnPteLo(p, prot);
    if (k.f.mkspecialPfnPtes) entry = pte.mkspecial(entry);
    tbl[slot] = entry;
    tbl[slot + 1] = pte.pfnPteHi(p);
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// zap_pte_range (§2.15) and copy_page_range (§2.16)
// ---------------------------------------------------------------------------------------------

/**
 * Zaps the ptes of [start, end) in one vma (unmap_page_range's walk), one pte table at a time. With
 * `checkMapping` (unmap_mapping_range without even_cows), ptes whose page belongs elsewhere (private
 * COW copies) are skipped; a pte for which vm_normal_page is NULL is never skipped.
 */
export function zapPteRange(k: Machine, vma: Vma, start: number, end: number, checkMapping?: number): void {
  k.enter(FN.zap_pte_range);
  const mm = vma.mm;
  const pt = mm.pt;
  const endVpn = end / PAGE_SIZE;
  const rss = mm.anonRss + mm.fileRss;
  const runs = checkMapping === undefined && zapRunAllowed(k, vma);
  for (let vpn = start / PAGE_SIZE; vpn < endVpn; ) {
    const stop = pt.tableEnd(vpn, endVpn);
    if (pt.lookup(vpn)) zapPteTable(k, vma, pt.tbl, pt.slot, pt.endSlot(vpn, stop), vpn, checkMapping, runs);
    vpn = stop;
  }
  // modern tlb_finish_mmu: the gathered pages go through free_pages_and_swap_cache, which starts
  // with lru_add_drain() (the CPU's mlock batch too)
  if (k.f.mlockCount && mm.anonRss + mm.fileRss !== rss) lruAddDrain(k);
}

/** zap_pte_range proper: the ptes [slot0, endSlot) of one pte table, mapping from vpn0 on. */
function zapPteTable(k: Machine, vma: Vma, tbl: Int32Array, slot0: number, endSlot: number, vpn0: number, checkMapping: number | undefined, runs: boolean): void {
  for (let slot = slot0; slot < endSlot; slot += 2) {
    if (runs) {
      slot = zapNormalRun(k, vma, tbl, slot, endSlot);
      if (slot >= endSlot) break;
    }
    zapOnePte(k, vma, tbl, slot, vpn0 + ((slot - slot0) >> 1), checkMapping);
  }
}

/** zap_pte_range's body for one pte, with every rule. */
function zapOnePte(k: Machine, vma: Vma, tbl: Int32Array, slot: number, vpn: number, checkMapping: number | undefined): void {
  const pte = k.pte;
  const m = k.mem;
  const lo = tbl[slot]!;
  const hi = tbl[slot + 1]!;
  if (pte.isNone(lo, hi)) return;
  const a = vpn * PAGE_SIZE;
  const page = pte.present(lo) ? vmNormalPage(k, vma, a, lo, hi) : -1;
  if (checkMapping !== undefined && page >= 0 && m.mapping[page] !== checkMapping) return;
  tbl[slot] = pte.none;
  tbl[slot + 1] = 0;
  if (page < 0) return; // raw/special/zero ptes simply vanish
  if (m.flags[page]! & PG_anon) {
    vma.mm.anonRss--;
  } else {
    if (pte.dirty(lo)) m.flags[page] = m.flags[page]! | PG_dirty;
    if (pte.young(lo) && zapMarksAccessed(k, vma)) m.flags[page] = m.flags[page]! | PG_referenced;
    vma.mm.fileRss--;
  }
  // 2.6.29+: zap_pte_range itself reports a mapcount gone negative (3dc147414cc)
  if (pageRemoveRmap(k, page, vma, k.chain) < -1 && k.f.negativeMapcount === 'bad-pte') {
    k.badPte(vma, a, lo, hi, 'page_mapcount < 0 after page_remove_rmap');
  }
  k.putPageChecked(page);
}

/** mark_page_accessed for a young file pte, but not in a MADV_SEQUENTIAL vma from 2.6.29 (VM_SequentialReadHint). */
function zapMarksAccessed(k: Machine, vma: Vma): boolean {
  return !(k.f.zapSeqReadHint && vma.flags & VM_SEQ_READ);
}

/**
 * Whether zapNormalRun may zap this vma's common ptes: vm_normal_page's answer follows from the pte
 * alone (a special-bit arch under Tables C/D), and page_remove_rmap has no mlock work to do for it.
 */
function zapRunAllowed(k: Machine, vma: Vma): boolean {
  return k.specialTablesCD && !(k.f.mlockCount && vma.flags & VM_LOCKED);
}

/**
 * zap_pte_range over consecutive ptes while each is a common case: a present, non-special pte of a
 * page with a struct page that is mapped and referenced, so that page_remove_rmap and put_page cannot
 * go wrong; or a special pte vm_normal_page answers NULL for without a report (nothing to drop).
 * Returns the slot where it stopped (endSlot when it zapped them all); that pte is left to zapOnePte
 * and its full rules. The same result as zapOnePte on each pte, with a third fewer instructions: the
 * loop makes no call, and V8 (which hoists nothing out of a loop by itself) reads the mem_map arrays
 * once. (Calling vmNormalPageFast for a special pte cost 60 more instructions per zero pte.)
 */
function zapNormalRun(k: Machine, vma: Vma, tbl: Int32Array, slot0: number, endSlot: number): number {
  const pte = k.pte;
  const m = k.mem;
  const { flags, count, mapcount } = m;
  const maxPfn = m.highestMemmapPfn;
  const none = pte.none;
  // zapMarksAccessed's rule written out: V8 does not inline a helper called once per run (it has no
  // type feedback yet), and that call cost 17 instructions per pte (callgrind, exit at 4M pages)
  const markAccessed = !(k.f.zapSeqReadHint && vma.flags & VM_SEQ_READ);
  const quietPfn = specialQuietPfn(k, vma);
  let anonRss = 0;
  let fileRss = 0;
  let slot = slot0;
  for (; slot < endSlot; slot += 2) {
    const lo = tbl[slot]!;
    const hi = tbl[slot + 1]!;
    if (lo === none && hi === 0) continue;
    if (!pte.present(lo)) break;
    if (pte.special(lo)) {
      // vm_normal_page reports any other special pte: zapOnePte (vmNormalPageFast's test, asked per run)
      if (quietPfn !== ANY_PFN && pte.pfn(lo, hi) !== quietPfn) break;
      // no page: the pte simply vanishes (the zero page, XIP and mixedmap pfns, remapped I/O)
      tbl[slot] = none;
      tbl[slot + 1] = 0;
      continue;
    }
    const pfn = pte.pfn(lo, hi);
    if (pfn > maxPfn || mapcount[pfn]! < 0 || count[pfn]! <= 0) break;
    tbl[slot] = none;
    tbl[slot + 1] = 0;
    if (flags[pfn]! & PG_anon) {
      anonRss++;
    } else {
      if (pte.dirty(lo)) flags[pfn] = flags[pfn]! | PG_dirty;
      if (markAccessed && pte.young(lo)) flags[pfn] = flags[pfn]! | PG_referenced;
      fileRss++;
    }
    mapcount[pfn]!--; // page_remove_rmap
    m.putPage(pfn);
  }
  vma.mm.anonRss -= anonRss; // add_mm_rss once per run, as zap_pte_range does once per pte table
  vma.mm.fileRss -= fileRss;
  return slot;
}

/** zap_vma_ptes (2.6.27+): drivers may zap VM_PFNMAP ranges only. */
export function zapVmaPtes(k: Machine, vma: Vma, address: number, size: number): number {
  k.enter(FN.zap_vma_ptes);
  if (k.f.release < 27) k.bug('zap_vma_ptes does not exist before 2.6.27 (a driver could not call it)', k.chain());
  if (address < vma.start || address + size > vma.end || !(vma.flags & VM_PFNMAP)) return -1;
  zapPteRange(k, vma, address, address + size);
  return 0;
}

/** copy_page_range: which vmas fork copies, then copy_pte_range per pte table (§2.16). */
export function copyPageRange(k: Machine, dst: Vma, src: Vma): number {
  // 2.6: HUGETLB|NONLINEAR|PFNMAP|INSERTPAGE or an anon_vma; modern vma_needs_copy: PFNMAP|MIXEDMAP or an anon_vma
  const copyFlags = k.f.forkCopy === 'modern' ? VM_HUGETLB | VM_PFNMAP | VM_MIXEDMAP : VM_HUGETLB | VM_NONLINEAR | VM_PFNMAP | VM_INSERTPAGE;
  if (!(src.flags & copyFlags) && !src.anonVma) return 0; // the child refaults
  k.enter(FN.copy_page_range);
  const spt = src.mm.pt;
  const dpt = dst.mm.pt;
  const endVpn = src.end / PAGE_SIZE;
  for (let vpn = src.start / PAGE_SIZE; vpn < endVpn; ) {
    const stop = spt.tableEnd(vpn, endVpn);
    if (spt.lookup(vpn)) {
      const stbl = spt.tbl;
      const slot0 = spt.slot;
      // the child's table for this range, allocated once (copy_pte_range)
      if (!dpt.alloc(vpn)) return -ENOMEM;
      copyPteTable(k, dst, src, stbl, slot0, spt.endSlot(vpn, stop), dpt.tbl, vpn);
    }
    vpn = stop;
  }
  return 0;
}

/** copy_pte_range: copy_one_pte for the ptes [slot0, endSlot) of one source table into the child's. */
function copyPteTable(k: Machine, dst: Vma, src: Vma, stbl: Int32Array, slot0: number, endSlot: number, dtbl: Int32Array, vpn0: number): void {
  const runs = k.specialTablesCD;
  for (let slot = slot0; slot < endSlot; slot += 2) {
    if (runs) {
      slot = copyNormalRun(k, dst, src, stbl, slot, endSlot, dtbl);
      if (slot >= endSlot) break;
    }
    copyOnePte(k, dst, src, stbl, slot, dtbl, vpn0 + ((slot - slot0) >> 1));
  }
}

/** copy_one_pte, with every rule: write-protect a COW pte in both, and take the page's references. */
function copyOnePte(k: Machine, dst: Vma, src: Vma, stbl: Int32Array, slot: number, dtbl: Int32Array, vpn: number): void {
  const pte = k.pte;
  const m = k.mem;
  let lo = stbl[slot]!;
  const hi = stbl[slot + 1]!;
  if (pte.isNone(lo, hi) || !pte.present(lo)) return;
  if (isCowMapping(src.flags) && pte.write(lo)) {
    lo = pte.wrprotect(lo); // write-protect parent and child
    stbl[slot] = lo;
  }
  let child = src.flags & VM_SHARED ? pte.mkclean(lo) : lo;
  child = pte.mkold(child);
  const page = vmNormalPage(k, src, vpn * PAGE_SIZE, lo, hi);
  if (page >= 0) {
    m.getPage(page);
    pageDupRmap(k, page, k.chain);
    const pf = m.flags[page]!;
    if (pf & PG_anon) {
      // modern copy_present_pte → folio_try_dup_anon_rmap_pte: the page is shared now, for good
      // (only the modern profile sets the flag: no store in fork's loop otherwise)
      if (pf & PG_anon_exclusive) m.flags[page] = pf & ~PG_anon_exclusive;
      dst.mm.anonRss++;
    } else {
      dst.mm.fileRss++;
    }
  }
  dtbl[slot] = child;
  dtbl[slot + 1] = hi;
}

/**
 * copy_pte_range over consecutive ptes while each is the common case: a present, non-special pte of a
 * page with a struct page that is already mapped (so page_dup_rmap has nothing to check). Returns the
 * slot where it stopped (endSlot when it copied them all); that pte is left to copyOnePte and its full
 * rules. The same result as copyOnePte on each pte; like zapNormalRun, a loop without a call, so that
 * V8 reads the mem_map arrays and the vma's flags once per run instead of once per pte.
 */
function copyNormalRun(k: Machine, dst: Vma, src: Vma, stbl: Int32Array, slot0: number, endSlot: number, dtbl: Int32Array): number {
  const pte = k.pte;
  const { flags, count, mapcount } = k.mem;
  const maxPfn = k.mem.highestMemmapPfn;
  // `=== true`: a boolean V8 tests with one compare in the loop, even where it has not inlined the call
  const cow = isCowMapping(src.flags) === true;
  const shared = (src.flags & VM_SHARED) !== 0;
  let anonRss = 0;
  let fileRss = 0;
  let slot = slot0;
  for (; slot < endSlot; slot += 2) {
    let lo = stbl[slot]!;
    const hi = stbl[slot + 1]!;
    if (pte.isNone(lo, hi) || !pte.present(lo)) continue;
    if (pte.special(lo)) break;
    const pfn = pte.pfn(lo, hi);
    if (pfn > maxPfn || mapcount[pfn]! < 0) break;
    if (cow && pte.write(lo)) {
      lo = pte.wrprotect(lo); // write-protect parent and child
      stbl[slot] = lo;
    }
    dtbl[slot] = pte.mkold(shared ? pte.mkclean(lo) : lo);
    dtbl[slot + 1] = hi;
    count[pfn]!++; // get_page
    mapcount[pfn]!++; // page_dup_rmap
    const pf = flags[pfn]!;
    if (pf & PG_anon) {
      if (pf & PG_anon_exclusive) flags[pfn] = pf & ~PG_anon_exclusive; // as in copyOnePte
      anonRss++;
    } else {
      fileRss++;
    }
  }
  dst.mm.anonRss += anonRss; // add_mm_rss once per run, as copy_pte_range does once per pte table
  dst.mm.fileRss += fileRss;
  return slot;
}

// ---------------------------------------------------------------------------------------------
// follow_page (§2.12)
// ---------------------------------------------------------------------------------------------

/** follow_page: a pfn (with a reference under FOLL_GET), FOLLOW_NULL, or FOLLOW_EFAULT (ERR_PTR). */
export function followPage(k: Machine, vma: Vma, address: number, flags: number): number {
  k.enter(FN.follow_page);
  const pt = vma.mm.pt;
  if (!pt.lookup(Math.floor(address * INV_PAGE_SIZE))) return noPageTable(k, vma, flags);
  const lo = pt.tbl[pt.slot]!;
  const hi = pt.tbl[pt.slot + 1]!;
  const page = followNormalPte(k, vma, lo, hi, flags);
  return page >= 0 ? page : followPteRules(k, vma, address, lo, hi, flags);
}

/**
 * follow_page's common case: a present pte of a normal page that needs no write permission or has
 * it gives the page (FOLL_GET/FOLL_TOUCH applied); anything else -1, with nothing done (ask
 * followPteRules). followPageRun is the same test written out for a run of ptes.
 */
function followNormalPte(k: Machine, vma: Vma, lo: number, hi: number, flags: number): number {
  if (!k.pte.present(lo) || (flags & FOLL_WRITE && !k.pte.write(lo))) return -1;
  const page = vmNormalPageFast(k, vma, lo, hi);
  return page >= 0 ? followPageGot(k, page, lo, flags) : -1;
}

/**
 * follow_page over consecutive pages, for __get_user_pages' loop: follows pages from `address` on
 * while each is followNormalPte's common case, a present normal (not special) pte below
 * highest_memmap_pfn, writable if FOLL_WRITE (the rest of one pte table at most, `max` pages at most),
 * recording each pfn in `pinned`. Returns how many it followed; the page where it stopped (0 if the
 * first) is left to followPage and its full rules. The same result as one follow_page per page.
 * Like zapNormalRun, a loop without a call: V8 hoists nothing out of a loop by itself, so with
 * followNormalPte inlined every page reloaded the machine's fields and rechecked their maps.
 */
export function followPageRun(k: Machine, vma: Vma, address: number, flags: number, max: number, pinned: number[] | null): number {
  // vmNormalPageFast answers only under Tables C/D on a special-bit arch: elsewhere, page by page
  if (!k.specialTablesCD) return 0;
  const pt = vma.mm.pt;
  const vpn = Math.floor(address * INV_PAGE_SIZE);
  if (!pt.lookup(vpn)) return 0;
  k.enter(FN.follow_page);
  const pte = k.pte;
  const { count, flags: pageFlags } = k.mem;
  const maxPfn = k.mem.highestMemmapPfn;
  const write = (flags & FOLL_WRITE) !== 0;
  const get = (flags & FOLL_GET) !== 0;
  const touch = (flags & FOLL_TOUCH) !== 0;
  const tbl = pt.tbl;
  const slot0 = pt.slot;
  const end = Math.min(slot0 + max * 2, pt.ptesPerTable * 2);
  let slot = slot0;
  for (; slot < end; slot += 2) {
    const lo = tbl[slot]!;
    if (!pte.present(lo) || (write && !pte.write(lo)) || pte.special(lo)) break;
    const pfn = pte.pfn(lo, tbl[slot + 1]!);
    if (pfn > maxPfn) break; // vm_normal_page's "Bad page map" case: followPage reports it
    if (get) count[pfn]!++; // get_page
    if (touch) {
      // followPageGot's FOLL_TOUCH: mark_page_accessed, and set_page_dirty for a write
      let f = pageFlags[pfn]! | PG_referenced;
      if (write && !pte.dirty(lo)) f |= PG_dirty;
      pageFlags[pfn] = f;
    }
    if (pinned) pinned.push(pfn);
  }
  return (slot - slot0) >> 1;
}

/** follow_page's pte rules once the pte is read: not present, write-protected, no struct page. */
function followPteRules(k: Machine, vma: Vma, address: number, lo: number, hi: number, flags: number): number {
  const pte = k.pte;
  const modern = k.f.release >= 26; // 2.6.26-rc7 (89f5b7da2a6)
  if (!pte.present(lo)) {
    if (modern && pte.isNone(lo, hi)) return noPageTable(k, vma, flags);
    return FOLLOW_NULL;
  }
  // a write through a read-only pte: 2.6 refuses it before vm_normal_page is asked (the caller
  // faults, and do_wp_page meets the page); the modern can_follow_write_pte needs the page first
  const writeDenied = (flags & FOLL_WRITE) !== 0 && !pte.write(lo);
  if (writeDenied && !k.f.anonExclusive) return FOLLOW_NULL;
  let page = vmNormalPage(k, vma, address, lo, hi);
  if (writeDenied && !canFollowWriteForced(k, vma, flags, page)) return FOLLOW_NULL;
  if (page < 0) {
    const pfn = pte.pfn(lo, hi);
    switch (k.f.followPageUnusable) {
      case 'null':
        return FOLLOW_NULL;
      case 'efault':
        // S003: a special zero pte in a use_zero_page vma yields ZERO_PAGE, unless FOLL_NOZERO
        if (k.f.zeroPage === 's003' && pfn === k.zeroPfn && useZeroPageS003(vma) && !(flags & FOLL_NOZERO)) {
          page = k.zeroPfn;
          break;
        }
        return FOLLOW_EFAULT;
      default:
        // 2.6.32: the zero pfn is handed out as ZERO_PAGE, unless FOLL_DUMP
        if (flags & FOLL_DUMP || pfn !== k.zeroPfn) return FOLLOW_EFAULT;
        page = k.zeroPfn;
    }
  }
  return followPageGot(k, page, lo, flags);
}

/** follow_page's tail on a page: the FOLL_GET reference, FOLL_TOUCH's dirty and accessed marks. */
function followPageGot(k: Machine, page: number, lo: number, flags: number): number {
  const m = k.mem;
  if (flags & FOLL_GET) m.getPage(page);
  if (flags & FOLL_TOUCH) {
    let f = m.flags[page]! | PG_referenced; // mark_page_accessed
    if (flags & FOLL_WRITE && !k.pte.dirty(lo)) f |= PG_dirty; // set_page_dirty
    m.flags[page] = f;
  }
  return page;
}

/**
 * Modern can_follow_write_pte: a forced write may go through a read-only pte of a COW mapping without
 * VM_WRITE (a writable vma just takes the write fault) when it maps a PageAnonExclusive page (the COW
 * already happened), so gup needs no second fault. After fork the page is not exclusive, even once
 * the other mapper is gone: the write faults once (do_wp_page reuses it and marks it exclusive).
 */
function canFollowWriteForced(k: Machine, vma: Vma, flags: number, page: number): boolean {
  if (!k.f.anonExclusive || !(flags & FOLL_FORCE) || page < 0 || !isCowMapping(vma.flags) || vma.flags & VM_WRITE) return false;
  return (k.mem.flags[page]! & (PG_anon | PG_anon_exclusive)) === (PG_anon | PG_anon_exclusive);
}

function noPageTable(k: Machine, vma: Vma, flags: number): number {
  if (k.f.release <= 31) {
    // FOLL_ANON: hand out the zero page for a hole (BUG_ON(FOLL_WRITE))
    if (flags & FOLL_ANON) {
      if (flags & FOLL_WRITE) k.bug('BUG_ON(flags & FOLL_WRITE) in follow_page (FOLL_ANON)', k.chain());
      if (flags & FOLL_GET) k.mem.getPage(k.zeroPfn);
      return k.zeroPfn;
    }
    return FOLLOW_NULL;
  }
  // 2.6.32: FOLL_DUMP on a vma without ->fault leaves a hole in the dump
  if (flags & FOLL_DUMP && !vma.ops?.fault) return FOLLOW_EFAULT;
  return FOLLOW_NULL;
}

export { FOLL_TOUCH, FOLL_GET, PG_reserved };
