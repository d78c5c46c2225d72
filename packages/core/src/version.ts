// Kernel versions as a feature table, like Kconfig: each release maps to named features, resolved
// once when a machine is built. A seed patch variant or a what-if is just another feature value.
// Every entry cites the reference section (../shared/reference/kernel-semantics.md) and commit.

export type Epoch = 'E1' | 'E2' | 'E3' | 'E4' | 'E5' | 'modern';

export interface Features {
  /** 2.6.N sublevel, 19..32; MODERN_RELEASE for the "6.x" profile */
  release: number;
  epoch: Epoch;
  /** ->nopage exists (≤2.6.25; removed by 3c18ddd160d) */
  hasNopage: boolean;
  /** ->fault exists (2.6.23+, 54cb8821de0) */
  hasFault: boolean;
  /** ->nopfn / do_no_pfn exist (2.6.19–2.6.26; removed by 0d71d10a425) */
  hasNopfn: boolean;
  /** NOPFN_REFAULT understood (2.6.21+, 22cd25ed31b) */
  nopfnRefault: boolean;
  /** do_no_pfn form: merged (pte_none recheck + COW BUG_ON), seed v1 (no recheck), Linus' SIGBUS alternative (§2.4, A5, A10) */
  doNoPfn: 'merged' | 'v1' | 'sigbus-on-cow';
  /** VM_FAULT_* numbering: E1 values or 2.6.23+ bit flags (§1.6) */
  faultCodes: 'e1' | 'flags';
  /** how anonymous read faults treat the zero page (§2.2) */
  zeroPage: 'refcounted' | 'none' | 'special' | 's003';
  /** which vm_normal_page table applies (§2.7) */
  vmNormalPage: 'A' | 'S000' | 'B' | 'C' | 'D';
  /** VM_MIXEDMAP and vm_insert_mixed exist (2.6.26+, b379d790197, 423bad60044) */
  mixedmap: boolean;
  /** vm_insert_pfn: absent (<2.6.21), PFNMAP-only form (2.6.21–2.6.25), 2.6.26+ form (§2.9) */
  insertPfn: 'none' | 'pfnmap' | 'mixed';
  /** remap_pfn_range/insert_pfn wrap ptes in pte_mkspecial (2.6.26+, 7e675137a8e) */
  mkspecialPfnPtes: boolean;
  /**
   * remap_pfn_range vm_pgoff rule: ≤2.6.28 COW-only, 2.6.29–2.6.32 whole-vma (3c8bb73ace6, §2.11);
   * 6.x COW-only again (the whole-vma rewrite and VM_PFN_AT_MMAP went with "mm, x86, pat: rework
   * linear pfn-mmap tracking", [UNVERIFIED] 3.7)
   */
  remapPgoff: 'cow-only' | 'whole-vma';
  /** follow_page on a pte vm_normal_page rejects: NULL (≤2.6.25), ERR_PTR(-EFAULT) (2.6.26–31), zero-pfn aware (2.6.32) (§2.12) */
  followPageUnusable: 'null' | 'efault' | 'zero-pfn';
  /** FOLL_ANON rule for gup read requests on holes (§2.12) */
  follAnon: 'no-nopage' | 'no-fault' | 'use_zero_page' | 'none';
  /** do_wp_page reuses a struct-page-less pte in a shared-writable vma (2.6.26 final, 251b97f552b) */
  wpReuseSharedNoPage: boolean;
  /** do_wp_page source when COWing the zero page (§2.5 step 5) */
  cowZero: 'zero-page' | 'bug' | 'zero-pfn';
  /** do_wp_page clears the source page's mlock state on COW in a VM_LOCKED vma (2.6.28 without, 2.6.29+ with the NULL check) */
  cowMunlock: 'none' | 'oops-on-null' | 'checked';
  /** do_wp_page clears the mlock state between the allocation and the copy (2.6.28–2.6.31); 2.6.32 after the copy */
  cowMunlockBeforeCopy: boolean;
  /** do_anonymous_page write: writable only with VM_WRITE and dirty only then (2.6.32 form) (§2.2) */
  anonDirtyOnlyIfWrite: boolean;
  /** __do_fault BUG_ON(VM_PFNMAP) (2.6.23–2.6.26-rc3) and do_no_page's (E1) */
  faultPfnmapBug: boolean;
  /** page_remove_rmap going negative: BUG "Eeek" (≤2.6.28) or bad-pte report (2.6.29+, 3dc147414cc) */
  negativeMapcount: 'bug' | 'bad-pte';
  /** page_dup_rmap BUGs on an unmapped page with CONFIG_DEBUG_VM (2.6.22–2.6.28, c97a9e10eae) */
  dupRmapCheck: boolean;
  /** memcg charging of new pages (2.6.25+, with CONFIG_CGROUP_MEM_RES_CTLR) */
  memcg: boolean;
  /** CONFIG_DEBUG_VM: VM_BUG_ON fires */
  debugVm: boolean;
  /** modern do_cow_fault: anon_vma_prepare before ->fault, so it stays when the fault fails (2.6: after the page is found) */
  cowAnonVmaFirst: boolean;
  /** modern mprotect_fixup: an anonymous vma without anon_vma made unwritable drops VM_ACCOUNT (2023, [UNVERIFIED] 6.7) */
  mprotectUnaccount: boolean;
  /**
   * modern anon_vma_fork: every vma fork copies gets an anon_vma of its own (chained to the
   * parent's), so two child vmas copied from two parent vmas never merge (is_mergeable_anon_vma
   * compares vma->anon_vma); 2.6 (anon_vma_link, v2.6.19–v2.6.32): the child vma shares the parent's
   * ([UNVERIFIED] 2.6.34, the anon_vma_chain)
   */
  forkOwnAnonVma: boolean;
  /** zap_pte_range leaves a young file page unreferenced in a VM_SEQ_READ vma (2.6.29+, VM_SequentialReadHint) */
  zapSeqReadHint: boolean;
  /** get_user_pages_fast API (2.6.27+, 21cc199baa8) */
  gupFastApi: boolean;
  /** gup drops FOLL_WRITE after VM_FAULT_WRITE: always (≤2.6.28) or only without VM_WRITE (2.6.29+, 878b63ac889) */
  gupDropWrite: 'always' | 'if-no-vm-write';
  /** mlock population: make_pages_present (≤2.6.27) or __mlock_vma_pages_range (2.6.28+) (§2.21) */
  mlock: 'make_pages_present' | 'mlock_vma_pages_range';
  /**
   * what-if: the fault paths recheck the pte after retaking the ptl (pte_none / pte_same). false
   * models a kernel without the recheck: the slower racer installs over the winner (the explorer
   * shows the double count and the leak it causes).
   */
  ptlRecheck: boolean;
  /**
   * which vmas fork copies the ptes of: 2.6's copy_page_range test (HUGETLB|NONLINEAR|PFNMAP|
   * INSERTPAGE or anon_vma, §2.16) or the modern vma_needs_copy (PFNMAP|MIXEDMAP or anon_vma)
   */
  forkCopy: '2.6' | 'modern';
  /** populate (mlock, MAP_LOCKED, MAP_POPULATE) writes when: VM_WRITE (2.6 make_pages_present) or VM_WRITE without VM_SHARED (modern populate_vma_page_range) */
  populateWrite: 'vm_write' | 'private-writable';
  /** fault-around window in pages for read faults on cached file pages (modern do_fault_around: 16; 0 = none) */
  faultAround: number;
  /**
   * modern exclusive-anon rules: follow_page accepts a forced write through a read-only pte of an
   * exclusive anonymous page in a COW mapping (can_follow_write_pte), and mprotect makes such ptes
   * writable again when the vma regains VM_WRITE (can_change_pte_writable)
   */
  anonExclusive: boolean;
  /** a forced (ptrace, /proc/PID/mem) write may COW into a read-only shared mapping (2.6) or is refused (modern: -EFAULT → EIO) */
  forceWriteShared: boolean;
  /**
   * modern mlock_count (5.18 "mm/munlock: rmap call mlock_vma_page() munlock_vma_page()" [UNVERIFIED]):
   * every pte a VM_LOCKED vma gains or loses mlocks or munlocks its page (mlock_vma_folio /
   * munlock_vma_folio in the rmap calls), PG_mlocked goes when the page's mlock_count reaches 0.
   * 2.6.28–2.6.32 set PG_mlocked in mlock/populate and clear it per page (clear_page_mlock, munlock_vma_page)
   */
  mlockCount: boolean;
  /** xip/mspec etc. may query this to pick their per-version behaviour */
  [extra: string]: unknown;
}

export type FeatureName = Exclude<keyof Features, number>;

export interface KernelOptions {
  /** CONFIG_DEBUG_VM (default false: VM_BUG_ON compiled out, as in distribution kernels) */
  debugVm?: boolean;
  /** CONFIG_CGROUP_MEM_RES_CTLR (default false) */
  memcg?: boolean;
  /** named seed variants (§0.3, §2.2, §2.4, §2.7) */
  variant?: Array<'do_no_pfn-v1' | 'do_no_pfn-sigbus' | 'vm_normal_page-S000' | 'zero-page-S003'>;
  /** what-if overrides of single features */
  features?: Partial<Record<string, unknown>>;
}

export const KERNEL_VARIANTS = ['do_no_pfn-v1', 'do_no_pfn-sigbus', 'vm_normal_page-S000', 'zero-page-S003'] as const;

/** The "6.x" profile: the behaviour of the kernels people run today, for `mixedmap oracle`. */
export const MODERN_RELEASE = 1000;
export const MIN_RELEASE = 19;
export const MAX_RELEASE = 32;
export const DEFAULT_KERNEL = '2.6.32';

/** Parses "2.6.N" (N in 19..32, an optional -stable suffix ".M" is accepted and ignored), or "6.x". */
export function parseKernelVersion(version: string): number | undefined {
  if (/^6\.(x|\d+)$/.test(String(version).trim())) return MODERN_RELEASE;
  const m = /^2\.6\.(\d+)(?:\.\d+)?$/.exec(String(version).trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return n >= MIN_RELEASE && n <= MAX_RELEASE ? n : undefined;
}

/** The release as users write it: "2.6.N", or "6.x" for the modern profile. */
export function kernelName(release: number): string {
  return release === MODERN_RELEASE ? '6.x' : `2.6.${release}`;
}

export function epochOf(release: number): Epoch {
  if (release <= 22) return 'E1';
  if (release <= 25) return 'E2';
  if (release === 26) return 'E3';
  if (release <= 31) return 'E4';
  if (release <= MAX_RELEASE) return 'E5';
  return 'modern';
}

export class KernelVersionError extends Error {
  constructor(message: string, public readonly field: string) {
    super(message);
  }
}

export function resolveFeatures(version: string = DEFAULT_KERNEL, options: KernelOptions = {}): Features {
  const r = parseKernelVersion(version);
  if (r === undefined) {
    throw new KernelVersionError(
      `unknown kernel version "${version}": mixedmap models 2.6.${MIN_RELEASE} … 2.6.${MAX_RELEASE} (e.g. "2.6.26") and the modern profile "6.x"`,
      'kernel',
    );
  }
  const debugVm = options.debugVm ?? false;
  const f: Features = {
    release: r,
    epoch: epochOf(r),
    hasNopage: r <= 25,
    hasFault: r >= 23,
    hasNopfn: r <= 26,
    nopfnRefault: r >= 21,
    doNoPfn: 'merged',
    faultCodes: r <= 22 ? 'e1' : 'flags',
    zeroPage: r <= 23 ? 'refcounted' : r <= 31 ? 'none' : 'special',
    vmNormalPage: r <= 25 ? 'A' : r <= 28 ? 'B' : r <= 31 ? 'C' : 'D',
    mixedmap: r >= 26,
    insertPfn: r < 21 ? 'none' : r <= 25 ? 'pfnmap' : 'mixed',
    mkspecialPfnPtes: r >= 26,
    remapPgoff: r <= 28 || r === MODERN_RELEASE ? 'cow-only' : 'whole-vma',
    followPageUnusable: r <= 25 ? 'null' : r <= 31 ? 'efault' : 'zero-pfn',
    follAnon: r <= 22 ? 'no-nopage' : r <= 25 ? 'no-fault' : r <= 31 ? 'use_zero_page' : 'none',
    wpReuseSharedNoPage: r >= 26,
    cowZero: r <= 23 ? 'zero-page' : r <= 31 ? 'bug' : 'zero-pfn',
    cowMunlock: r <= 27 ? 'none' : r === 28 ? 'oops-on-null' : 'checked',
    cowMunlockBeforeCopy: r >= 28 && r <= 31,
    anonDirtyOnlyIfWrite: r >= 32,
    faultPfnmapBug: r <= 25,
    negativeMapcount: r <= 28 ? 'bug' : 'bad-pte',
    dupRmapCheck: debugVm && r >= 22 && r <= 28,
    memcg: (options.memcg ?? false) && r >= 25,
    debugVm,
    gupFastApi: r >= 27,
    gupDropWrite: r <= 28 ? 'always' : 'if-no-vm-write',
    mlock: r <= 27 ? 'make_pages_present' : 'mlock_vma_pages_range',
    ptlRecheck: true,
    // the modern profile; docs/kernel-6x.md lists each rule with where it comes from
    forkCopy: r === MODERN_RELEASE ? 'modern' : '2.6',
    populateWrite: r === MODERN_RELEASE ? 'private-writable' : 'vm_write',
    faultAround: r === MODERN_RELEASE ? 16 : 0,
    forceWriteShared: r !== MODERN_RELEASE,
    anonExclusive: r === MODERN_RELEASE,
    mlockCount: r === MODERN_RELEASE,
    zapSeqReadHint: r >= 29,
    cowAnonVmaFirst: r === MODERN_RELEASE,
    mprotectUnaccount: r === MODERN_RELEASE,
    forkOwnAnonVma: r === MODERN_RELEASE,
  };
  for (const v of options.variant ?? []) {
    switch (v) {
      case 'do_no_pfn-v1': // S002 2006-04-03: no pte_none recheck
        f.doNoPfn = 'v1';
        break;
      case 'do_no_pfn-sigbus': // Linus' alternative: SIGBUS instead of BUG on a COW vma (A10)
        f.doNoPfn = 'sigbus-on-cow';
        break;
      case 'vm_normal_page-S000': // b379d790197 alone (2.6.26-rc1 intermediate)
        f.vmNormalPage = 'S000';
        break;
      case 'zero-page-S003': // KAMEZAWA v5 on the 2.6.31 base
        f.zeroPage = 's003';
        break;
      default:
        throw new KernelVersionError(`unknown kernel variant "${String(v)}" (known: ${KERNEL_VARIANTS.join(', ')})`, 'variant');
    }
  }
  if (f.doNoPfn !== 'merged' && !f.hasNopfn) {
    throw new KernelVersionError(`variant do_no_pfn-* needs a kernel with ->nopfn (2.6.19–2.6.26), not 2.6.${r}`, 'variant');
  }
  for (const [name, value] of Object.entries(options.features ?? {})) {
    if (!(name in f)) throw new KernelVersionError(`unknown kernel feature "${name}"`, `features.${name}`);
    const cur = (f as Record<string, unknown>)[name];
    if (typeof cur !== typeof value) {
      throw new KernelVersionError(`feature "${name}" takes a ${typeof cur}, not ${JSON.stringify(value)}`, `features.${name}`);
    }
    (f as Record<string, unknown>)[name] = value;
  }
  return f;
}
