// The reused continuation record of one thread's fault (design notes §2: explicit phases with a
// reused record, not generators). Every path that drops the page-table lock stops at a named
// window; `mixedmap run` resumes at once, the interleaving explorer may switch threads there.

import type { Mm, Vma, Thread } from './mm_types.js';

/** struct vm_fault as handed to ->fault (2.6.23+). */
export interface VmFault {
  pgoff: number;
  /** FAULT_FLAG_WRITE = 1 */
  flags: number;
  virtualAddress: number;
  /** pfn of the page ->fault returns with a reference, or -1 */
  page: number;
}

export const FAULT_FLAG_WRITE = 1;

// Kernel functions the fault path records, by small-integer id, in the thread's chain.
export const FN = {
  handle_mm_fault: 1,
  handle_pte_fault: 2,
  do_anonymous_page: 3,
  do_linear_fault: 4,
  __do_fault: 5,
  do_no_page: 6,
  do_no_pfn: 7,
  do_wp_page: 8,
  cow_user_page: 9,
  nopage: 10,
  nopfn: 11,
  fault: 12,
  page_mkwrite: 13,
  vm_insert_page: 14,
  vm_insert_pfn: 15,
  vm_insert_mixed: 16,
  insert_page: 17,
  insert_pfn: 18,
  get_user_pages: 19,
  follow_page: 20,
  get_user_pages_fast: 21,
  copy_page_range: 22,
  zap_pte_range: 23,
  remap_pfn_range: 24,
  mlock_fixup: 25,
  make_pages_present: 26,
  vm_normal_page: 27,
  page_remove_rmap: 28,
  page_dup_rmap: 29,
  do_wp_page_reuse: 30,
  unmap_mapping_range: 31,
  mprotect_fixup: 32,
  do_mmap_pgoff: 33,
  do_munmap: 34,
  dup_mmap: 35,
  exit_mmap: 36,
  zap_vma_ptes: 37,
  do_fault_around: 38,
} as const;

export const FN_NAMES: string[] = [];
for (const [name, id] of Object.entries(FN)) FN_NAMES[id] = name;

/** Named lock windows: "drop the lock, do the slow work, retake it, recheck the pte". */
export const WINDOW = {
  none: 0,
  /** handle_pte_fault read the pte without the ptl and is about to dispatch */
  pte_read: 1,
  /** do_anonymous_page allocated (or referenced the zero page) with the ptl dropped */
  anon_alloc: 2,
  /** __do_fault / do_no_page ran ->fault/->nopage (and the early COW) with the ptl dropped */
  do_fault: 3,
  /** do_no_pfn ran ->nopfn with the ptl dropped */
  nopfn: 4,
  /** do_wp_page made the copy with the ptl dropped */
  wp_copy: 5,
  /** do_wp_page ran ->page_mkwrite with the ptl dropped */
  wp_mkwrite: 6,
  /** a driver's handler stopped at its own lock window (k.suspendHandler; named by the driver) */
  driver: 7,
} as const;

export const WINDOW_NAMES = [
  '',
  'handle_pte_fault: pte read without ptl',
  'do_anonymous_page: page ready, ptl dropped → retake ptl, recheck pte_none',
  '__do_fault: ->fault done, ptl dropped → retake ptl, recheck pte_same',
  'do_no_pfn: ->nopfn done, ptl dropped → retake ptl, recheck pte_none',
  'do_wp_page: copy made, ptl dropped → retake ptl, recheck pte_same',
  'do_wp_page: ->page_mkwrite done, ptl dropped → retake ptl, recheck pte_same',
  'driver window',
];

// Continuation phases (what faultResume runs next).
export const PH_DONE = 0;
export const PH_DISPATCH = 1;
export const PH_ANON_COMMIT = 2;
export const PH_ZERO_COMMIT = 3;
export const PH_FAULT_COMMIT = 4;
export const PH_NOPFN_COMMIT = 5;
export const PH_WP_COMMIT = 6;
export const PH_WP_MKWRITE_COMMIT = 7;
export const PH_FAULT_HANDLER_RESUME = 8;
export const PH_NOPFN_HANDLER_RESUME = 9;

const CHAIN_MAX = 32;

export class FaultCtx {
  thread!: Thread;
  mm!: Mm;
  vma!: Vma;
  // Address-sized fields start as -0, a double that equals 0: V8 fixes a field's representation at its
  // first value, and a user address above 2^31 is a double. Started as the small integer 0, the first
  // big address changed the object's hidden class; once a GC had collected the last object of that
  // class, the next machine's fault context got a new one, and the optimised fault path was thrown
  // away ("wrong map") and rebuilt at every machine's first faults (the benchmarks' every sample).
  /** page-aligned faulting address */
  address = -0;
  vpn = -0;
  write = false;
  /** the pte's table and slot (stable while mmap_sem is held) */
  tbl: Int32Array = new Int32Array(2);
  slot = 0;
  /** orig_pte */
  origLo = 0;
  origHi = 0;
  /** the page the path works on (vmf->page / old_page), or -1 */
  page = -1;
  /** a newly allocated page not yet installed, or -1 */
  newPage = -1;
  /** the early COW / copy target is anonymous */
  anon = false;
  /** a raw pfn (do_no_pfn) */
  pfn = 0;
  /** do_no_page's snapshot of mapping->truncate_count before ->nopage (≤2.6.22), or -1 without a file */
  truncateCount = -1;
  /** page->mapping of the page __do_fault holds locked across its window (2.6.23+), or NO_MAPPING */
  pageMapping = -1;
  /** value to return when the path completes (e.g. VM_FAULT_MAJOR from ->fault) */
  ret = 0;
  phase = PH_DONE;
  window = 0;
  /** driven by the stepping API: stop at each window (set by the entry: faultStart true, handleMmFault false) */
  stepped = true;
  /** a driver handler's continuation after its own window (k.suspendHandler), and the window's name */
  resume: (() => number) | null = null;
  driverWindow = '';
  readonly vmf: VmFault = { pgoff: 0, flags: 0, virtualAddress: -0, page: -1 }; // -0: see `address`
  readonly chain = new Uint8Array(CHAIN_MAX);
  chainLen = 0;

  /** Records a call. Past CHAIN_MAX the store lands out of bounds, which a typed array ignores. */
  enter(fn: number): void {
    this.chain[this.chainLen++] = fn;
  }

  /** The name of the window the fault is stopped at. */
  windowName(): string {
    return this.window === WINDOW.driver ? this.driverWindow : WINDOW_NAMES[this.window] ?? '';
  }

  chainNames(): string[] {
    const out: string[] = [];
    const n = Math.min(this.chainLen, CHAIN_MAX);
    for (let i = 0; i < n; i++) out.push(FN_NAMES[this.chain[i]!]!);
    return out;
  }
}
