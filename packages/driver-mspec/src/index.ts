// mspec (drivers/char/mspec.c; reference §2.18, worked scenarios A1–A7, A14): SGI SN2 "special
// memory". Three device nodes; mmap is MAP_SHARED-only, offset 0, writable; the vma is VM_PFNMAP
// and its pages come from an uncached pool carved out of ordinary RAM — struct-page, pfn_valid,
// PG_uncached pages that no pte ever refcounts (the pool holds them). Faults go through ->nopfn
// up to 2.6.26 (do_no_pfn installs the pte) and through ->fault + vm_insert_pfn from 2.6.27.
// One vma_data per mmap is shared by every vma that fork (->open) or a split derives from it;
// the last ->close zeroes the pages and hands them back to the pool.

import {
  defineDriver, vmInsertPfn,
  VM_SHARED, VM_WRITE, VM_IO, VM_RESERVED, VM_PFNMAP, VM_LOCKED, VM_DONTEXPAND,
  VM_FAULT_NOPAGE, VM_FAULT_OOM, nopfnError, EINVAL, EPERM, ENOENT, PAGE_SIZE, PG_uncached,
  type Driver, type Machine, type Vma, type VmFault, type VmOperations, unknownSettings,
} from '@mixedmap/core';

export type MspecType = 'fetchop' | 'cached' | 'uncached';

export interface MspecSettings {
  /** pages in the uncached pool (uncached_alloc_page's granules); default 64 */
  poolPages?: number;
  /** register /dev/sgi_fetchop (SN2 hardware only); default true */
  fetchop?: boolean;
}

/** struct vma_data: one per mmap, shared by forked and split vmas. */
export interface VmaData {
  id: number;
  /** atomic refcnt: vmas sharing this vma_data */
  refcnt: number;
  /** pages allocated so far (vdata->count) */
  count: number;
  type: MspecType;
  /** 2.6.23+: the original vm_start / vm_end, remembered at mmap */
  vmStart: number;
  vmEnd: number;
  /** maddr[]: one slot per page of the original mapping; pfn or -1 */
  maddr: number[];
}

export interface MspecState {
  /** every page the pool owns (free, in use, or leaked by a vma_data) */
  poolAll: number[];
  /** free pool pages (uncached_alloc_page pops, uncached_free_page pushes) */
  poolFree: number[];
  /** live vma_data structures */
  vdatas: Set<VmaData>;
  /** pool pages lost because 2.6.19–2.6.22 sized the free loop from the closing vma */
  leaked: number;
}

const NODES: Record<string, MspecType> = {
  '/dev/sgi_fetchop': 'fetchop',
  '/dev/mspec_cached': 'cached',
  '/dev/mspec_uncached': 'uncached',
};

export const DEFAULT_POOL_PAGES = 64;

function stateOf(k: Machine): MspecState {
  const d = k.drivers.find((x) => x.driver.name === 'mspec');
  return d!.state as MspecState;
}

/** uncached_alloc_page(nid): a pool page, or 0 (here -1) when the pool is empty. */
function uncachedAllocPage(st: MspecState): number {
  const pfn = st.poolFree.pop();
  return pfn === undefined ? -1 : pfn;
}

/** uncached_free_page: back to the pool. */
function uncachedFreePage(st: MspecState, pfn: number): void {
  st.poolFree.push(pfn);
}

/** The page index of a faulting address, by release (§2.18). */
function pageIndex(k: Machine, vma: Vma, vdata: VmaData, address: number): number {
  if (k.f.release <= 22) return Math.floor((address - vma.start) / PAGE_SIZE); // from vma->vm_start (SP20)
  // 2.6.23–2.6.26: from the remembered original start, BUG_ON outside the original range (4191ba26dae)
  if (address < vdata.vmStart || address >= vdata.vmEnd) {
    k.bug('BUG_ON(address < vdata->vm_start || address >= vdata->vm_end) in mspec_nopfn', k.chain());
  }
  return Math.floor((address - vdata.vmStart) / PAGE_SIZE);
}

/**
 * The common body of mspec_nopfn / mspec_fault: allocate the slot's page if it is empty, then,
 * under vdata->lock, publish it unless another thread was first (then free ours and use theirs).
 * The lock is a window of its own (k.suspendHandler): the explorer can run the other thread between
 * the allocation and the lock. `done` gets the pfn or -1 (pool empty) and makes the handler's result.
 */
function slotPfn(k: Machine, vdata: VmaData, index: number, done: (pfn: number) => number): number {
  const st = stateOf(k);
  // FETCHOP: the AMO alias of the page; cached/uncached: the page itself. The model uses the
  // page's own pfn for the alias (whether SN2 AMO pfns are pfn_valid was not checked, §6.7).
  if (vdata.maddr[index]! >= 0) return done(vdata.maddr[index]!);
  const page = uncachedAllocPage(st);
  if (page < 0) return done(-1);
  return k.suspendHandler('mspec: page allocated, vdata->lock not yet taken', () => {
    // spin_lock(&vdata->lock)
    if (vdata.maddr[index]! < 0) {
      vdata.maddr[index] = page;
      vdata.count++;
    } else {
      uncachedFreePage(st, page); // lost the race: the published page wins
    }
    return done(vdata.maddr[index]!);
  });
}

/** mspec_nopfn (2.6.19–2.6.26): returns the pfn; do_no_pfn installs it. */
function mspecNopfn(vma: Vma, address: number, k: Machine): number {
  const vdata = vma.privateData as VmaData;
  return slotPfn(k, vdata, pageIndex(k, vma, vdata, address), (pfn) => (pfn < 0 ? nopfnError(k, 'oom') : pfn));
}

/** mspec_fault (2.6.27+, efe9e77997f): index = vmf->pgoff; vm_insert_pfn, its result ignored. */
function mspecFault(vma: Vma, vmf: VmFault, k: Machine): number {
  const vdata = vma.privateData as VmaData;
  const address = vmf.virtualAddress;
  return slotPfn(k, vdata, vmf.pgoff, (pfn) => {
    if (pfn < 0) return VM_FAULT_OOM;
    // -EBUSY: another thread installed the pte first; -ENOMEM (page tables): no pte, the access refaults
    vmInsertPfn(k, vma, address, pfn);
    return VM_FAULT_NOPAGE;
  });
}

/** mspec_open: a forked or split vma shares the vma_data. */
function mspecOpen(vma: Vma): void {
  (vma.privateData as VmaData).refcnt++;
}

/**
 * mspec_close: the last vma sharing the vma_data zeroes every allocated page (BTE on SN2) and
 * returns it to the pool, then frees the vma_data. 2.6.19–2.6.22 loop over the *closing* vma's
 * pages only, so after a split the slots beyond it are never returned (§2.18).
 */
function mspecClose(vma: Vma, k: Machine): void {
  const vdata = vma.privateData as VmaData;
  if (--vdata.refcnt > 0) return;
  const st = stateOf(k);
  const slots = k.f.release <= 22 ? Math.min(vdata.maddr.length, (vma.end - vma.start) / PAGE_SIZE) : vdata.maddr.length;
  for (let i = 0; i < vdata.maddr.length; i++) {
    const pfn = vdata.maddr[i]!;
    if (pfn < 0) continue;
    if (i >= slots) {
      st.leaked++;
      k.report(`mspec: uncached page pfn 0x${pfn.toString(16)} (slot ${i}) never returned to the pool: vma_data freed from a split vma (2.6.19–2.6.22)`);
      continue;
    }
    k.mem.setGen(pfn, 0); // mspec_zero_block
    uncachedFreePage(st, pfn);
  }
  vdata.maddr.fill(-1);
  st.vdatas.delete(vdata);
}

const opsNopfn: VmOperations = { name: 'mspec_vm_ops', open: mspecOpen, close: mspecClose, nopfn: mspecNopfn };
const opsFault: VmOperations = { name: 'mspec_vm_ops', open: mspecOpen, close: mspecClose, fault: mspecFault };

/** The vm_flags mspec_mmap sets, by release (SP20, 5dc4ac63240, 2f98735c9c2). */
export function mspecVmFlags(release: number): number {
  let f = VM_IO | VM_RESERVED | VM_PFNMAP;
  if (release <= 22) f |= VM_LOCKED;
  if (release >= 25) f |= VM_DONTEXPAND;
  return f;
}

function vdataAt(k: Machine, args: Record<string, unknown>): VmaData {
  const task = args.task as Parameters<Machine['findVmaOf']>[0] | undefined;
  if (!task || typeof args.addr !== 'number') throw new Error('needs a task and an addr inside an mspec mapping');
  const vma = k.findVmaOf(task, args.addr);
  if (!vma || vma.file?.inode.driver.name !== 'mspec') throw new Error(`no mspec mapping at 0x${args.addr.toString(16)}`);
  return vma.privateData as VmaData;
}

let nextVdataId = 1;

export const mspec: Driver<MspecSettings, MspecState> = defineDriver<MspecSettings, MspecState>({
  name: 'mspec',
  paths: (s) => Object.keys(NODES).filter((p) => p !== '/dev/sgi_fetchop' || s.fetchop !== false),
  validate(s) {
    const out = unknownSettings(s, ['poolPages', 'fetchop']);
    if (s.poolPages !== undefined && (!Number.isInteger(s.poolPages) || s.poolPages <= 0)) {
      out.push({ field: 'poolPages', message: `poolPages must be a positive whole number of pages (the uncached pool's size), not ${JSON.stringify(s.poolPages)}` });
    }
    if (s.fetchop !== undefined && typeof s.fetchop !== 'boolean') out.push({ field: 'fetchop', message: 'fetchop must be true or false' });
    return out;
  },
  init(k, s) {
    const n = s.poolPages ?? DEFAULT_POOL_PAGES;
    if (!Number.isInteger(n) || n <= 0) throw Object.assign(new Error(`poolPages must be a positive whole number, not ${JSON.stringify(n)}`), { field: 'poolPages' });
    // uncached_add_chunk: the pool takes ordinary RAM pages and marks them PG_uncached
    const poolAll: number[] = [];
    for (let i = 0; i < n; i++) {
      const pfn = k.mem.allocPage();
      if (pfn < 0) {
        for (const p of poolAll) k.mem.putPage(p);
        throw Object.assign(new Error(`poolPages ${n}: only ${i} pages of RAM are free for the uncached pool`), { field: 'poolPages' });
      }
      k.mem.flags[pfn] = k.mem.flags[pfn]! | PG_uncached;
      poolAll.push(pfn);
    }
    for (const path of mspec.paths(s)) k.newInode(mspec as never, path, 0, { type: NODES[path] });
    return { poolAll, poolFree: [...poolAll].reverse(), vdatas: new Set(), leaked: 0 };
  },
  lookup: () => -ENOENT,
  mmap(k, st, file, vma) {
    const type = (file.inode.data as { type: MspecType }).type;
    if (vma.pgoff !== 0) return -EINVAL;
    if (!(vma.flags & VM_SHARED)) return -EINVAL; // MAP_PRIVATE (or a read-only fd)
    if (!(vma.flags & VM_WRITE)) return -EPERM;
    const pages = (vma.end - vma.start) / PAGE_SIZE;
    const vdata: VmaData = {
      id: nextVdataId++, refcnt: 1, count: 0, type, vmStart: vma.start, vmEnd: vma.end, maddr: new Array<number>(pages).fill(-1),
    };
    st.vdatas.add(vdata);
    vma.privateData = vdata;
    vma.flags |= mspecVmFlags(k.f.release);
    if (type !== 'cached') vma.pageProt |= k.arch.noncached; // pgprot_noncached
    vma.ops = k.f.hasNopfn ? opsNopfn : opsFault;
    return 0;
  },
  kernelRefs(_k, st, add) {
    for (const pfn of st.poolAll) add(pfn, 1); // the pool holds every page; ptes never do
  },
  operations: {
    /** free pages in the uncached pool */
    pool_free: (_k, st) => st.poolFree.length,
    /** pool pages lost to the 2.6.19–2.6.22 split-vma close */
    pool_leaked: (_k, st) => st.leaked,
    /** vma_data->refcnt of the mapping at addr */
    refcnt: (k, _st, a) => vdataAt(k, a).refcnt,
    /** vma_data->count (pages allocated) of the mapping at addr */
    allocated: (k, _st, a) => vdataAt(k, a).count,
  },
});

export default mspec;
