// Execute-in-place file systems (mm/filemap_xip.c with ext2 -o xip; reference §2.17, §2.20 and
// worked scenarios C1–C15). The image lives in a memory region — device/flash/DCSS memory with or
// without struct pages, reached through a dcssblk-like block device — or on a brd-like RAM disk
// whose pages come from RAM on demand. The faults by release:
//   ≤2.6.22  ->nopage (xip_file_nopage) returns the block's struct page with a reference;
//   2.6.23–25 ->fault returns it in vmf->page (both need struct pages: get_xip_page);
//   2.6.26+  get_xip_mem + vm_insert_mixed; holes map the shared sparse page (2.6.26 through
//            vmf->page, 2.6.27+ with vm_insert_page under xip_sparse_mutex); a maybe-shared-writable
//            vma allocates a block instead and __xip_unmap()s the sparse page from every vma.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import {
  defineDriver, vmInsertMixed, vmInsertPage, zapPteRange, unmapMappingRange,
  VM_WRITE, VM_MAYWRITE, VM_SHARED, VM_MAYSHARE, VM_CAN_NONLINEAR, VM_MIXEDMAP,
  VM_FAULT_SIGBUS, VM_FAULT_OOM, VM_FAULT_NOPAGE, NOPAGE_SIGBUS, NOPAGE_OOM, EINVAL, ENOENT, ENOMEM, ENOSPC, ENODATA,
  ENODEV, EBUSY, EACCES, EIO, ERANGE, PAGE_SIZE, errnoName,
  type Driver, type Inode, type Machine, type MemRegion, type Vma, type VmFault, type VmOperations, unknownSettings,
} from '@mixedmap/core';

export const EROFS = 30;

export interface XipFileSpec {
  /** path under the mount point (absolute, or relative to it) */
  path: string;
  /** i_size in bytes */
  size: number;
  /** page offsets that have no block (sparse file) */
  holes?: number[];
}

export interface XipSettings {
  /** mount point; default /mnt/xip */
  mount?: string;
  /** the memory region holding the image (device, flash or segment); exclusive with brd and segment */
  region?: string;
  /** s390 dcssblk: the DCSS to load (the arch's segment_load) and hold the image; exclusive with region and brd */
  segment?: string;
  /** a brd-like RAM disk: blocks are RAM pages allocated on demand (struct pages, pfn_valid) */
  brd?: boolean;
  /** brd capacity in bytes; default 8 MiB */
  brdSize?: number;
  /** the files of the image */
  files?: XipFileSpec[];
  /** a host directory laid out as the image (sizes, and holes where the host file is sparse) */
  from?: string;
  /** directory `from` is relative to (default: the working directory) */
  baseDir?: string;
  /** mounted read-only (MS_RDONLY): no block allocation, holes always map the sparse page */
  readOnly?: boolean;
}

/** blocks[pgoff] of a page offset without a block (a hole) */
const HOLE = 0xffffffff;
/** a block map grows to any page offset below this (4 GiB of file, a 4 MiB array); one far beyond its end goes in `far` */
const DENSE_PAGES = 1 << 20;

/**
 * The inode's block map (ext2's i_block tree, flattened). Block numbers count from the device's
 * first pfn (direct_access adds it back: pfn = st.blockBase + block), which keeps them in 32 bits.
 */
interface XipInodeData {
  /** the mount the inode belongs to: a fault reaches it without searching the machine's drivers */
  st: XipState;
  /** pgoff → block, HOLE for none; grows as blocks are allocated near its end */
  blocks: Uint32Array;
  /** blocks allocated far beyond `blocks` (a write at a large offset): pgoff → block; null while none */
  far: Map<number, number> | null;
  /** blocks the file has */
  count: number;
  /** page offsets given a block after mount, in allocation order (truncate frees them after the image's own) */
  late: number[];
}

type InjectWhat = 'get_xip_mem' | 'block_alloc' | 'sparse_alloc';

export interface XipState {
  mount: string;
  mounted: boolean;
  /** the block device is present (dcssblk: segment loaded and device added) */
  deviceLoaded: boolean;
  kind: 'region' | 'brd';
  region: MemRegion | null;
  /** pfn of block 0: the region's first pfn; 0 on brd, whose blocks are RAM pages named by pfn */
  blockBase: number;
  /** region mode: free block pfns */
  freeBlocks: number[];
  /** brd mode: pages the RAM disk holds (count 1 each) */
  brdPages: Set<number>;
  brdCapacity: number;
  /** __xip_sparse_page: allocated on first use, never freed; -1 until then */
  sparse: number;
  readOnly: boolean;
  inodes: Inode[];
  /** one-shot error injection: what → -errno, after letting `skip` calls through */
  inject: Partial<Record<InjectWhat, { errno: number; skip: number }>>;
  /** dcssblk: the segment this device loaded (segment_unload on remove) */
  segment: string | null;
}

const ERRNO_BY_NAME: Record<string, number> = { EIO, ENOMEM, ENOSPC, ERANGE, ENODEV, EINVAL };

function newInodeData(st: XipState, pages: number): XipInodeData {
  return { st, blocks: new Uint32Array(pages).fill(HOLE), far: null, count: 0, late: [] };
}

/** The block at pgoff, or HOLE. */
function blockAt(data: XipInodeData, pgoff: number): number {
  if (pgoff < data.blocks.length) return data.blocks[pgoff]!;
  return data.far?.get(pgoff) ?? HOLE;
}

/** Records a block (b ≠ HOLE) at a page offset that has none; the map grows when pgoff is near its end. */
function setBlock(data: XipInodeData, pgoff: number, b: number): void {
  let blocks = data.blocks;
  if (pgoff >= blocks.length && (pgoff < DENSE_PAGES || pgoff < 2 * blocks.length)) {
    // grow geometrically, so a file written page by page is not copied per page
    const grown = new Uint32Array(Math.max(pgoff + 1, 2 * blocks.length)).fill(HOLE);
    grown.set(blocks);
    data.blocks = blocks = grown;
    // far blocks the array now covers move into it (a HOLE there would hide them)
    if (data.far) {
      for (const [p, fb] of data.far) {
        if (p >= grown.length) continue;
        grown[p] = fb;
        data.far.delete(p);
      }
      if (data.far.size === 0) data.far = null;
    }
  }
  if (pgoff < blocks.length) blocks[pgoff] = b;
  else (data.far ??= new Map()).set(pgoff, b);
  data.count++;
}

/** Forgets the block at pgoff (which has one). */
function clearBlock(data: XipInodeData, pgoff: number): void {
  if (pgoff < data.blocks.length) data.blocks[pgoff] = HOLE;
  else data.far!.delete(pgoff);
  data.count--;
}

function sizePages(inode: Inode): number {
  return Math.ceil(inode.size / PAGE_SIZE);
}

/** extmem.c's SEG_TYPE_* by the number segment_load returns */
const SEG_TYPE_NAMES = ['SW', 'EW', 'SR', 'ER', 'SN', 'EN', 'SC', 'EWEN'] as const;

function takeInjected(st: XipState, what: InjectWhat): number {
  const e = st.inject[what];
  if (e === undefined) return 0;
  if (e.skip > 0) {
    e.skip--;
    return 0;
  }
  delete st.inject[what];
  return e.errno;
}

/** Allocates a block for a hole (ext2_get_block with create=1; ext2 clears it). */
function allocBlock(k: Machine, st: XipState): number {
  const inj = takeInjected(st, 'block_alloc');
  if (inj) return inj;
  if (st.readOnly) return -EROFS;
  if (st.kind === 'brd') {
    if (st.brdPages.size >= st.brdCapacity) return -ENOSPC;
    const pfn = k.mem.allocPage(); // brd_insert_page: a zeroed RAM page
    if (pfn < 0) return -ENOMEM;
    st.brdPages.add(pfn);
    return pfn;
  }
  const pfn = st.freeBlocks.pop();
  if (pfn === undefined) return -ENOSPC;
  k.mem.setGen(pfn, 0);
  return pfn;
}

/**
 * get_xip_mem (2.6.26+; ext2_get_block + the block device's direct_access): the block's pfn, or
 * -ENODATA for a hole (create=0), or another -errno. Before 2.6.26 get_xip_page returns a struct
 * page: ext2_get_xip_page converts the direct_access address with virt_to_page (E2X25), which has
 * no meaning for memory without struct pages — the model oopses there (see README). virt_to_page
 * needs a memmap entry, not pfn_valid: s390 2.6.25's add_shared_memory gives a DCSS above max_pfn
 * struct pages although pfn_valid stays false for it, and XIP works there.
 */
function getXipMem(k: Machine, st: XipState, inode: Inode, pgoff: number, create: boolean): number {
  if (!st.deviceLoaded) return -ENODEV;
  const inj = takeInjected(st, 'get_xip_mem');
  if (inj) return inj;
  const data = inode.data as XipInodeData;
  const b = blockAt(data, pgoff);
  let pfn: number;
  if (b !== HOLE) {
    pfn = st.blockBase + b;
  } else {
    if (!create) return -ENODATA;
    pfn = allocBlock(k, st);
    if (pfn < 0) return pfn;
    setBlock(data, pgoff, pfn - st.blockBase);
    data.late.push(pgoff);
  }
  if (k.f.release <= 25 && !hasMemmapEntry(k, pfn)) {
    k.bug(`virt_to_page() on XIP memory without struct page (pfn 0x${pfn.toString(16)}) in ext2_get_xip_page: get_xip_page needs struct pages before 2.6.26`, k.chain());
  }
  return pfn;
}

/** The pfn has a struct page: pfn_valid says so, or the memory model created one for it. */
function hasMemmapEntry(k: Machine, pfn: number): boolean {
  return k.pfnValid(pfn) || k.mem.pfnValid(pfn);
}

/**
 * The page a private (not maybe-shared-writable) hole maps: 2.6.19–2.6.20 the global ZERO_PAGE
 * (xip_file_nopage v2.6.19/v2.6.20, no allocation); from 2.6.21 (a76c0b97631, "mm: fix xip issue
 * with /dev/zero") the driver's own sparse page.
 */
function xipHolePfn(k: Machine, st: XipState): number {
  return k.f.release <= 20 ? k.zeroPfn : st.sparse;
}

/** xip_sparse_page(): the shared zeroed page for holes, allocated on first use. */
function xipSparsePage(k: Machine, st: XipState): number {
  if (st.sparse >= 0) return st.sparse;
  if (takeInjected(st, 'sparse_alloc')) return -1;
  const pfn = k.mem.allocPage(); // GFP_HIGHUSER | __GFP_ZERO; the reference is the driver's, forever
  if (pfn < 0) return -1;
  st.sparse = pfn;
  return pfn;
}

/** (VM_WRITE|VM_MAYWRITE) ∧ (VM_SHARED|VM_MAYSHARE) ∧ fs not MS_RDONLY */
function maybeSharedWritable(vma: Vma, inode: Inode): boolean {
  return (vma.flags & (VM_WRITE | VM_MAYWRITE)) !== 0 && (vma.flags & (VM_SHARED | VM_MAYSHARE)) !== 0 && !inode.readOnlyFs;
}

/**
 * __xip_unmap(mapping, pgoff): take the sparse page out of every vma mapping that file offset
 * (clear + flush, page_remove_rmap, file_rss−1, BUG_ON(pte_dirty), drop the pte's reference).
 */
function xipUnmap(k: Machine, st: XipState, inode: Inode, pgoff: number): void {
  const hole = xipHolePfn(k, st); // 2.6.19–2.6.20: page_check_address(ZERO_PAGE, …)
  if (hole < 0) return;
  for (const vma of inode.mapping.iMmap) {
    const pages = (vma.end - vma.start) / PAGE_SIZE;
    if (pgoff < vma.pgoff || pgoff >= vma.pgoff + pages) continue;
    const addr = vma.start + (pgoff - vma.pgoff) * PAGE_SIZE;
    const pt = vma.mm.pt;
    if (!pt.lookup(addr / PAGE_SIZE)) continue;
    const lo = pt.tbl[pt.slot]!;
    const hi = pt.tbl[pt.slot + 1]!;
    if (k.pte.isNone(lo, hi) || !k.pte.present(lo) || k.pte.pfn(lo, hi) !== hole) continue;
    if (k.pte.dirty(lo)) k.bug('BUG_ON(pte_dirty(pte)) in __xip_unmap', k.chain());
    zapPteRange(k, vma, addr, addr + PAGE_SIZE);
  }
}

function faultPgoff(vma: Vma, address: number): number {
  return Math.floor((address - vma.start) / PAGE_SIZE) + vma.pgoff;
}

/** xip_file_nopage (2.6.19–2.6.22): the struct page with a reference, NOPAGE_SIGBUS (NULL) or NOPAGE_OOM. */
function xipFileNopage(vma: Vma, address: number, k: Machine): number {
  const inode = vma.file!.inode;
  const st = (inode.data as XipInodeData).st;
  const pgoff = faultPgoff(vma, address);
  if (pgoff >= sizePages(inode)) return NOPAGE_SIGBUS;
  let page = getXipMem(k, st, inode, pgoff, false);
  if (page === -ENODATA) {
    if (maybeSharedWritable(vma, inode)) {
      page = getXipMem(k, st, inode, pgoff, true);
      if (page < 0) return NOPAGE_SIGBUS;
      xipUnmap(k, st, inode, pgoff);
    } else if (k.f.release <= 20) {
      page = k.zeroPfn; // ZERO_PAGE(address) (2.6.19) / ZERO_PAGE(0) (2.6.20): nothing to allocate
    } else {
      page = xipSparsePage(k, st);
      if (page < 0) return NOPAGE_OOM; // 2.6.21–2.6.22: `if (!page) return NOPAGE_OOM`
    }
  } else if (page < 0) {
    return NOPAGE_SIGBUS;
  }
  k.mem.getPage(page); // page_cache_get: the reference do_no_page maps
  return page;
}

/** xip_file_fault, 2.6.23–2.6.25: the struct page in vmf->page with a reference, result 0. */
function xipFileFaultPage(vma: Vma, vmf: VmFault, k: Machine): number {
  const inode = vma.file!.inode;
  const st = (inode.data as XipInodeData).st;
  if (vmf.pgoff >= sizePages(inode)) return VM_FAULT_SIGBUS;
  let page = getXipMem(k, st, inode, vmf.pgoff, false);
  if (page === -ENODATA) {
    if (maybeSharedWritable(vma, inode)) {
      page = getXipMem(k, st, inode, vmf.pgoff, true);
      if (page < 0) return VM_FAULT_SIGBUS;
      xipUnmap(k, st, inode, vmf.pgoff);
    } else {
      page = xipSparsePage(k, st);
      if (page < 0) return VM_FAULT_OOM;
    }
  } else if (page < 0) {
    return VM_FAULT_OOM;
  }
  k.mem.getPage(page);
  vmf.page = page;
  return 0;
}

/** vm_insert_mixed and xip_file_fault's BUG_ON(err) for anything but -ENOMEM (C13). */
function xipInsert(k: Machine, vma: Vma, vmf: VmFault, pfn: number): number {
  const err = vmInsertMixed(k, vma, vmf.virtualAddress, pfn);
  if (err === -ENOMEM) return VM_FAULT_OOM;
  if (err) k.bug(`BUG_ON(err) in xip_file_fault: vm_insert_mixed returned ${err === -EBUSY ? '-EBUSY (another thread installed the pte first)' : err}`, k.chain());
  return VM_FAULT_NOPAGE;
}

/** xip_file_fault, 2.6.26+ (X26, X27, X32). */
function xipFileFault(vma: Vma, vmf: VmFault, k: Machine): number {
  const inode = vma.file!.inode;
  const st = (inode.data as XipInodeData).st;
  if (vmf.pgoff >= sizePages(inode)) return VM_FAULT_SIGBUS;
  const pfn = getXipMem(k, st, inode, vmf.pgoff, false);
  if (pfn >= 0) return xipInsert(k, vma, vmf, pfn);
  if (pfn !== -ENODATA) return VM_FAULT_OOM;
  if (k.f.release === 26) {
    if (maybeSharedWritable(vma, inode)) return xipFillHole(k, st, inode, vma, vmf);
    const sparse = xipSparsePage(k, st);
    if (sparse < 0) return VM_FAULT_OOM;
    k.mem.getPage(sparse);
    vmf.page = sparse; // __do_fault maps it like a file page
    return 0;
  }
  // 2.6.27+ (538f8ea6c85): both hole branches run under xip_sparse_mutex, a window of its own:
  // another thread may fill the hole or map the sparse page before this one takes the mutex
  const address = vmf.virtualAddress;
  const pgoff = vmf.pgoff;
  return k.suspendHandler('xip: hole found, xip_sparse_mutex not yet taken', () => {
    vmf.virtualAddress = address;
    vmf.pgoff = pgoff;
    if (maybeSharedWritable(vma, inode)) return xipFillHole(k, st, inode, vma, vmf);
    // write_seqcount_begin; re-query the block
    const again = getXipMem(k, st, inode, pgoff, false);
    if (again >= 0) return xipFileFault(vma, vmf, k); // it exists now: unlock and start over
    if (again !== -ENODATA) return VM_FAULT_OOM;
    const sparse = xipSparsePage(k, st);
    if (sparse < 0) return VM_FAULT_OOM;
    const err = vmInsertPage(k, vma, address, sparse); // sets VM_INSERTPAGE
    if (err === -ENOMEM) return VM_FAULT_OOM;
    return VM_FAULT_NOPAGE; // -EBUSY from a racing thread is fine here
  });
}

/** A hole in a maybe-shared-writable vma: allocate the block, unmap the sparse page everywhere, insert. */
function xipFillHole(k: Machine, st: XipState, inode: Inode, vma: Vma, vmf: VmFault): number {
  const b = getXipMem(k, st, inode, vmf.pgoff, true);
  if (b < 0) return VM_FAULT_SIGBUS;
  xipUnmap(k, st, inode, vmf.pgoff);
  return xipInsert(k, vma, vmf, b);
}

const opsNopage: VmOperations = { name: 'xip_file_vm_ops', nopage: xipFileNopage };
const opsFaultPage: VmOperations = { name: 'xip_file_vm_ops', fault: xipFileFaultPage };
const opsFault: VmOperations = { name: 'xip_file_vm_ops', fault: xipFileFault };

/** xip_file_mmap's vm_flags by release (X22: none; X23–X25: VM_CAN_NONLINEAR; X26+: | VM_MIXEDMAP). */
export function xipVmFlags(release: number): number {
  if (release <= 22) return 0;
  if (release <= 25) return VM_CAN_NONLINEAR;
  return VM_CAN_NONLINEAR | VM_MIXEDMAP;
}

/** __xip_file_write: fill holes (allocating blocks and unmapping the sparse page), write, extend i_size. */
function xipWrite(k: Machine, st: XipState, inode: Inode, offset: number, len: number): number {
  if (inode.readOnlyFs) return -EROFS;
  if (!Number.isInteger(offset) || !Number.isInteger(len) || offset < 0 || len <= 0) return -EINVAL;
  const first = Math.floor(offset / PAGE_SIZE);
  const last = Math.floor((offset + len - 1) / PAGE_SIZE);
  let done = 0;
  for (let pgoff = first; pgoff <= last; pgoff++) {
    let pfn = getXipMem(k, st, inode, pgoff, false);
    if (pfn === -ENODATA) {
      pfn = getXipMem(k, st, inode, pgoff, true);
      if (pfn >= 0) xipUnmap(k, st, inode, pgoff);
    }
    if (pfn < 0) return done > 0 ? done : pfn;
    k.mem.writeNew(pfn);
    const end = Math.min(offset + len, (pgoff + 1) * PAGE_SIZE);
    done = end - offset;
    inode.size = Math.max(inode.size, end);
  }
  return done;
}

/** ext2 truncate on an XIP inode: vmtruncate's unmap_mapping_range (even COWs), then free the blocks. */
function xipTruncate(k: Machine, st: XipState, inode: Inode, size: number): number {
  if (inode.readOnlyFs) return -EROFS;
  if (!Number.isInteger(size) || size < 0) return -EINVAL;
  const keep = Math.ceil(size / PAGE_SIZE);
  const old = sizePages(inode);
  inode.size = size;
  if (keep >= old) return 0;
  unmapMappingRange(k, inode.mapping, keep, old - keep, true);
  const data = inode.data as XipInodeData;
  // free order feeds later allocations: the image's blocks by page offset, then the ones
  // allocated since mount in allocation order
  const late = new Set(data.late);
  for (let pgoff = keep; pgoff < data.blocks.length; pgoff++) {
    const b = data.blocks[pgoff]!;
    if (b === HOLE || late.has(pgoff)) continue;
    clearBlock(data, pgoff);
    freeBlock(k, st, st.blockBase + b);
  }
  const kept: number[] = [];
  for (const pgoff of data.late) {
    if (pgoff < keep) {
      kept.push(pgoff);
      continue;
    }
    const b = blockAt(data, pgoff);
    clearBlock(data, pgoff);
    freeBlock(k, st, st.blockBase + b);
  }
  data.late = kept;
  return 0;
}

function freeBlock(k: Machine, st: XipState, pfn: number): void {
  if (st.kind === 'brd') {
    st.brdPages.delete(pfn);
    k.putPageChecked(pfn);
  } else {
    st.freeBlocks.push(pfn);
  }
}

// ---- the image -------------------------------------------------------------------------------

/**
 * Gives an image file a block for every page but its holes (ascending), with fresh content:
 * region blocks in order from pfn `next`, brd blocks from the page allocator. Returns the next
 * free region pfn. Kept out of init so that V8 optimises this loop on its own.
 */
function giveImageBlocks(k: Machine, st: XipState, data: XipInodeData, holes: number[], next: number): number {
  const blocks = data.blocks;
  const mem = k.mem;
  let h = 0;
  for (let pgoff = 0; pgoff < blocks.length; pgoff++) {
    if (h < holes.length && holes[h] === pgoff) {
      h++;
      continue;
    }
    let pfn: number;
    if (st.kind === 'brd') {
      pfn = mem.allocPage();
      if (pfn < 0) {
        for (const p of st.brdPages) mem.putPage(p);
        throw settingsError('brdSize', `RAM is exhausted after ${st.brdPages.size} RAM-disk pages`);
      }
      st.brdPages.add(pfn);
    } else {
      pfn = next++;
    }
    mem.writeNew(pfn); // the file's content
    blocks[pgoff] = pfn - st.blockBase;
  }
  data.count = blocks.length - holes.length;
  return next;
}

interface Layout {
  path: string;
  size: number;
  holes: Set<number>;
}

function settingsError(field: string, message: string): Error {
  return Object.assign(new Error(message), { field });
}

/** Lays out a host directory: sizes, and holes where the host file is sparse (all-zero pages of a file with fewer blocks than its size). */
export function scanHostDir(dir: string): Array<{ path: string; size: number; holes: number[] }> {
  let st;
  try {
    st = statSync(dir);
  } catch (e) {
    throw settingsError('from', `cannot read ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!st.isDirectory()) throw settingsError('from', `${dir} is not a directory`);
  const out: Array<{ path: string; size: number; holes: number[] }> = [];
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch (e) {
      throw settingsError('from', `cannot list ${d}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    for (const name of names) {
      const p = join(d, name);
      let s;
      try {
        s = statSync(p);
      } catch (e) {
        throw settingsError('from', `cannot stat ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      if (s.isDirectory()) {
        walk(p);
        continue;
      }
      if (!s.isFile()) continue;
      let buf: Buffer;
      try {
        buf = readFileSync(p);
      } catch (e) {
        throw settingsError('from', `cannot read ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      const holes: number[] = [];
      // a file whose allocated blocks cover its size is all data; otherwise its zero pages are the holes
      if (s.blocks * 512 < s.size) {
        for (let off = 0; off < s.size; off += PAGE_SIZE) {
          const page = buf.subarray(off, Math.min(off + PAGE_SIZE, s.size));
          if (page.every((b) => b === 0)) holes.push(off / PAGE_SIZE);
        }
      }
      out.push({ path: relative(dir, p).split('\\').join('/'), size: s.size, holes });
    }
  };
  walk(dir);
  return out;
}

function layoutFiles(s: XipSettings, mount: string): Layout[] {
  const specs: Array<{ spec: XipFileSpec; field: string }> = (s.files ?? []).map((f, i) => ({ spec: f, field: `files[${i}]` }));
  if (s.from !== undefined) {
    const dir = isAbsolute(s.from) ? s.from : resolve(s.baseDir ?? process.cwd(), s.from);
    for (const f of scanHostDir(dir)) specs.push({ spec: f, field: 'from' });
  }
  const seen = new Set<string>();
  return specs.map(({ spec, field }) => {
    const path = spec.path.startsWith('/') ? spec.path : `${mount}/${spec.path}`;
    if (!path.startsWith(mount + '/')) throw settingsError(`${field}.path`, `file "${spec.path}" is not under the mount point ${mount}`);
    if (seen.has(path)) throw settingsError(field === 'from' ? 'from' : `${field}.path`, `file ${path} is listed twice`);
    seen.add(path);
    const pages = Math.ceil(spec.size / PAGE_SIZE);
    for (const h of spec.holes ?? []) {
      if (!Number.isInteger(h) || h < 0 || h >= pages) throw settingsError(`${field}.holes`, `hole ${h} of ${path} is not a page offset inside the file (0…${pages - 1})`);
    }
    return { path, size: spec.size, holes: new Set(spec.holes ?? []) };
  });
}

export const xip: Driver<XipSettings, XipState> = defineDriver<XipSettings, XipState>({
  name: 'xip',
  // ext2 maps account dirty pages (default bdi): shared-writable XIP vmas get writenotify — VM_MIXEDMAP
  // is not excluded by vma_wants_writenotify, which is what C6/C7 are about
  accountsDirty: true,
  paths: (s) => [s.mount ?? '/mnt/xip'],
  validate(s) {
    const out = unknownSettings(s, ['mount', 'region', 'segment', 'brd', 'brdSize', 'files', 'from', 'baseDir', 'readOnly']);
    if (s.mount !== undefined && (typeof s.mount !== 'string' || !s.mount.startsWith('/') || s.mount.endsWith('/'))) out.push({ field: 'mount', message: 'mount must be an absolute path without a trailing slash' });
    if (s.region !== undefined && typeof s.region !== 'string') out.push({ field: 'region', message: 'region must be the name of a memory region' });
    if (s.brd !== undefined && typeof s.brd !== 'boolean') out.push({ field: 'brd', message: 'brd must be true or false' });
    if (s.segment !== undefined && (typeof s.segment !== 'string' || !s.segment)) out.push({ field: 'segment', message: 'segment must be a DCSS name' });
    const homes = [s.region !== undefined, s.brd === true, s.segment !== undefined].filter(Boolean).length;
    if (homes === 0) out.push({ field: 'region', message: 'an XIP image needs a memory region (region: NAME), a DCSS (segment: NAME) or a RAM disk (brd: true)' });
    if (homes > 1) out.push({ field: s.brd === true ? 'brd' : 'segment', message: 'use one of region, segment or brd' });
    if (s.brdSize !== undefined && (!Number.isInteger(s.brdSize) || s.brdSize <= 0 || s.brdSize % PAGE_SIZE !== 0)) out.push({ field: 'brdSize', message: 'brdSize must be a positive multiple of the page size' });
    if (s.readOnly !== undefined && typeof s.readOnly !== 'boolean') out.push({ field: 'readOnly', message: 'readOnly must be true or false' });
    if (s.from !== undefined && typeof s.from !== 'string') out.push({ field: 'from', message: 'from must be a directory path' });
    if (s.files !== undefined && !Array.isArray(s.files)) out.push({ field: 'files', message: 'files must be a list of { path, size, holes }' });
    for (const [i, f] of (Array.isArray(s.files) ? s.files : []).entries()) {
      if (typeof f?.path !== 'string' || !f.path) out.push({ field: `files[${i}].path`, message: 'a file needs a path' });
      if (!Number.isInteger(f?.size) || f.size < 0) out.push({ field: `files[${i}].size`, message: 'size must be a non-negative integer (bytes)' });
      if (f?.holes !== undefined && (!Array.isArray(f.holes) || f.holes.some((h) => !Number.isInteger(h) || h < 0))) out.push({ field: `files[${i}].holes`, message: 'holes must be a list of page offsets' });
    }
    return out;
  },
  init(k, s) {
    const mount = s.mount ?? '/mnt/xip';
    const brd = s.brd === true;
    let region: MemRegion | null = null;
    let capacity = 0;
    let segment: string | null = null;
    if (s.segment !== undefined) {
      // dcssblk_add_store: segment_load(name, SEGMENT_SHARED) through the arch (s390 extmem)
      const load = k.arch.spec.operations?.segment_load;
      if (!load) throw settingsError('segment', `arch ${k.arch.name} has no DCSS segments (segment_load); use region or brd`);
      // dcssblk_add_store (v2.6.19–v2.6.27; dcssblk_load_segment from v2.6.28): a segment that already
      // has a device is -EEXIST ("Segment … already loaded!"), before segment_load is called
      const name = s.segment.toUpperCase();
      if (k.drivers.some((d) => d.driver.name === 'xip' && (d.state as XipState | undefined)?.segment === name)) {
        throw settingsError('segment', `dcssblk: segment ${name} already has a device (EEXIST)`);
      }
      const ret = load(k, k.archState, { name: s.segment, shared: true });
      if (typeof ret !== 'number' || ret < 0) throw settingsError('segment', `segment_load(${s.segment}) failed: ${typeof ret === 'number' ? errnoName(ret) : String(ret)}`);
      // dcssblk_add_store: set_disk_ro for SEG_TYPE_SR, _ER and _SC; mounting a read-only disk
      // read-write fails in open_bdev_excl with -EACCES (fs/block_dev.c v2.6.19–v2.6.32)
      const type = SEG_TYPE_NAMES[ret];
      if ((type === 'SR' || type === 'ER' || type === 'SC') && s.readOnly !== true) {
        throw settingsError('readOnly', `dcssblk: the disk of segment ${name} (type ${type}) is read-only: a read-write mount is EACCES; mount it readOnly`);
      }
      segment = name;
      region = k.mem.region(`dcss:${segment}`) ?? null;
      if (!region) throw settingsError('segment', `segment ${s.segment} loaded but no region dcss:${segment} appeared`);
      capacity = region.endPfn - region.startPfn;
    } else if (!brd) {
      region = k.mem.region(s.region ?? '') ?? null;
      if (!region) throw settingsError('region', `no memory region named "${s.region}" (regions: ${k.mem.regions.map((r) => r.name).join(', ')})`);
      if (region.kind === 'ram') throw settingsError('region', `region "${region.name}" is RAM the page allocator owns; an XIP image needs device, flash or segment memory (or brd: true)`);
      capacity = region.endPfn - region.startPfn;
    } else {
      capacity = (s.brdSize ?? 8 << 20) / PAGE_SIZE;
    }
    const files = layoutFiles(s, mount);
    let blocks = 0;
    for (const f of files) blocks += Math.ceil(f.size / PAGE_SIZE) - f.holes.size;
    if (blocks > capacity) {
      throw settingsError(s.from !== undefined ? 'from' : 'files', `the image needs ${blocks} blocks but ${brd ? 'the RAM disk' : `region "${region!.name}"`} holds ${capacity}`);
    }
    const st: XipState = {
      mount, mounted: true, deviceLoaded: true, kind: brd ? 'brd' : 'region', region, blockBase: region ? region.startPfn : 0, freeBlocks: [], brdPages: new Set(),
      brdCapacity: capacity, sparse: -1, readOnly: s.readOnly === true, inodes: [], inject: {}, segment,
    };
    let next = region ? region.startPfn : 0;
    for (const f of files) {
      const data = newInodeData(st, Math.ceil(f.size / PAGE_SIZE));
      next = giveImageBlocks(k, st, data, [...f.holes].sort((a, b) => a - b), next);
      st.inodes.push(k.newInode(xip as never, f.path, f.size, data, { readOnlyFs: st.readOnly }));
    }
    if (region) for (let pfn = region.endPfn - 1; pfn >= next; pfn--) st.freeBlocks.push(pfn);
    return st;
  },
  lookup(k, st, path, create): Inode | number {
    if (!st.mounted) return -ENOENT;
    if (!create) return -ENOENT;
    if (st.readOnly) return -EROFS;
    const inode = k.newInode(xip as never, path, 0, newInodeData(st, 0), { readOnlyFs: false });
    st.inodes.push(inode);
    return inode;
  },
  mmap(k, _st, file, vma) {
    // a writable open on a read-only mount fails with EROFS in the kernel; the model's open() does not ask the fs
    if (file.inode.readOnlyFs && file.writable) return -EACCES;
    if (k.f.release <= 22) vma.ops = opsNopage;
    else if (k.f.release <= 25) vma.ops = opsFaultPage;
    else vma.ops = opsFault;
    vma.flags |= xipVmFlags(k.f.release);
    return 0;
  },
  truncate: (k, st, inode, size) => xipTruncate(k, st, inode, size),
  write: (k, st, inode, offset, len) => xipWrite(k, st, inode, offset, len),
  kernelRefs(_k, st, add) {
    if (st.sparse >= 0) add(st.sparse, 1);
    for (const pfn of st.brdPages) add(pfn, 1);
  },
  operations: {
    /** write(2) through the file system: { path, offset, length }; ret bytes or -errno */
    write: (k, st, a) => {
      const inode = k.inodes.get(String(a.path));
      if (!inode || inode.driver.name !== 'xip') return -ENOENT;
      return xipWrite(k, st, inode, Number(a.offset ?? 0), Number(a.length ?? PAGE_SIZE));
    },
    /** umount: -EBUSY while a file is mapped (the Machine API has no close(2), so open files are not counted) */
    umount: (k, st) => {
      if (!st.mounted) return -EINVAL;
      if (st.inodes.some((i) => i.mapping.iMmap.size > 0)) return -EBUSY;
      st.mounted = false;
      for (const i of st.inodes) k.inodes.delete(i.path);
      return 0;
    },
    /** mount again (the device must be there) */
    mount: (k, st) => {
      if (st.mounted) return -EBUSY;
      if (!st.deviceLoaded) return -ENODEV;
      st.mounted = true;
      for (const i of st.inodes) k.inodes.set(i.path, i);
      return 0;
    },
    /** dcssblk remove / segment unload: -EBUSY while the block device is open (mounted) (DB26) */
    unload: (k, st) => {
      if (st.mounted) return -EBUSY;
      if (!st.deviceLoaded) return -ENODEV;
      st.deviceLoaded = false;
      if (st.segment) k.arch.spec.operations?.segment_unload?.(k, k.archState, { name: st.segment });
      return 0;
    },
    /** add the device back */
    load: (k, st) => {
      if (st.deviceLoaded) return -EBUSY;
      if (st.segment) {
        const ret = k.arch.spec.operations?.segment_load?.(k, k.archState, { name: st.segment, shared: true });
        if (typeof ret === 'number' && ret < 0) return ret;
      }
      st.deviceLoaded = true;
      return 0;
    },
    /** blocks allocated to a file: { path } */
    blocks: (k, _st, a) => {
      const inode = k.inodes.get(String(a.path));
      return inode && inode.driver.name === 'xip' ? (inode.data as XipInodeData).count : -ENOENT;
    },
    /** free blocks left on the device */
    free_blocks: (_k, st) => (st.kind === 'brd' ? st.brdCapacity - st.brdPages.size : st.freeBlocks.length),
    /** one-shot error injection: { what: get_xip_mem | block_alloc | sparse_alloc, errno: EIO | ENOMEM | ENOSPC | …, skip?: calls that succeed first } */
    inject: (_k, st, a) => {
      const what = String(a.what) as InjectWhat;
      if (!['get_xip_mem', 'block_alloc', 'sparse_alloc'].includes(what)) throw new Error(`inject: what must be get_xip_mem, block_alloc or sparse_alloc, not ${String(a.what)}`);
      const e = ERRNO_BY_NAME[String(a.errno ?? 'EIO')];
      if (!e) throw new Error(`inject: errno must be one of ${Object.keys(ERRNO_BY_NAME).join(', ')}`);
      const skip = a.skip === undefined ? 0 : Number(a.skip);
      if (!Number.isInteger(skip) || skip < 0) throw new Error(`inject: skip must be a non-negative integer, not ${String(a.skip)}`);
      st.inject[what] = { errno: -e, skip };
      return 0;
    },
  },
});

export default xip;
