// /dev/mem and /dev/kmem (drivers/char/mem.c; reference §2.19, worked scenarios B1–B10): mmap_mem
// checks the physical range (valid_mmap_phys_addr_range, STRICT_DEVMEM's devmem_is_allowed,
// phys_mem_access_prot_allowed), picks the cache attribute (phys_mem_access_prot), sets the
// release's mmap_mem_ops and remap_pfn_range()s the whole vma with the vma's own protection.
// Everything after that — COW of a private mapping by copy from the user address, the linearity
// rule, gup refusing VM_IO|VM_PFNMAP, gup_fast's divergence, mlock — is the core's fault path.

import {
  defineDriver, remapPfnRange, zapVmaPtes,
  EAGAIN, EINVAL, EPERM, EIO, ENOENT, PAGE_SIZE, MODERN_RELEASE,
  type Driver, type Machine, type Vma, type VmOperations, unknownSettings,
} from '@mixedmap/core';

export interface ExclusiveRange {
  start: number;
  size: number;
}

export interface DevmemSettings {
  /** CONFIG_NONPROMISC_DEVMEM (2.6.26) / CONFIG_STRICT_DEVMEM (2.6.27+); x86 only; default false */
  strict?: boolean;
  /** IORESOURCE_EXCLUSIVE iomem ranges (2.6.29+ devmem_is_allowed refuses them): region names or { start, size } */
  exclusive?: Array<string | ExclusiveRange>;
  /** also provide /dev/kmem; default true */
  kmem?: boolean;
  /** PAGE_OFFSET for /dev/kmem offsets (kernel virtual = physical + PAGE_OFFSET); default 0xC0000000 (x86-32 3G/1G) */
  pageOffset?: number;
  /** cache attribute for a mapping: 'auto' (uncached_access: noncached above the end of RAM; x86 ≤2.6.25 always cached), 'cached', 'uncached' (O_SYNC) */
  cache?: 'auto' | 'cached' | 'uncached';
}

interface State {
  strict: boolean;
  /** exclusive ranges as [startPfn, endPfn) */
  exclusive: Array<[number, number]>;
  pageOffset: number;
  cache: 'auto' | 'cached' | 'uncached';
}

/** page_is_ram(): the pfn lies in a RAM region of the machine. */
function pageIsRam(k: Machine, pfn: number): boolean {
  return k.mem.regionOf(pfn)?.kind === 'ram';
}

/**
 * x86 devmem_is_allowed(pagenr) (XI28, XI29, XI30): the first MiB is always allowed; from 2.6.29
 * (e8de1481fd7) a page in an exclusive iomem region is refused; otherwise allowed iff not RAM.
 */
export function devmemIsAllowed(k: Machine, st: State, pfn: number): boolean {
  if (pfn <= 256) return true;
  if (k.f.release >= 29 && st.exclusive.some(([s, e]) => pfn >= s && pfn < e)) return false;
  return !pageIsRam(k, pfn);
}

/** range_is_allowed (2.6.26+): every page must pass devmem_is_allowed when the option is on. */
function rangeIsAllowed(k: Machine, st: State, pfn: number, size: number): boolean {
  if (!st.strict) return true;
  for (let i = 0; i < size / PAGE_SIZE; i++) if (!devmemIsAllowed(k, st, pfn + i)) return false;
  return true;
}

/**
 * valid_mmap_phys_addr_range(pfn, size): arm defines ARCH_HAS_VALID_PHYS_ADDR_RANGE in every release
 * 2.6.19–2.6.32 and refuses a range ending above 4 GiB, `pfn + (size >> PAGE_SHIFT) > 0x100000`
 * (arch/arm/mm/mmap.c); x86 and s390 use the generic one, which returns 1 — the model refuses only
 * ranges past a 52-bit physical address space there.
 */
export function validMmapPhysAddrRange(k: Machine, pfn: number, size: number): boolean {
  if (pfn < 0) return false;
  if (k.arch.name === 'arm') return pfn + Math.floor(size / PAGE_SIZE) <= 0x100000;
  return (pfn + size / PAGE_SIZE) * PAGE_SIZE <= 2 ** 52;
}

/** x86 _PAGE_CACHE_UC_MINUS (= _PAGE_PCD): PAT's "uncached minus" */
const X86_UC_MINUS = 0x10;

/**
 * The cache attribute of a /dev/mem mapping: `vma` for vm_page_prot, `ptes` for the protection
 * remap_pfn_range installs.
 *
 * phys_mem_access_prot / uncached_access: noncached for O_SYNC ('uncached'), or ('auto') for
 * addresses above the end of RAM (`addr >= __pa(high_memory)`, the generic branch arm and s390 use).
 * x86 ≤2.6.25 has its own branches of uncached_access (drivers/char/mem.c v2.6.19–v2.6.25): x86-64
 * only for O_SYNC, i386 only for O_SYNC or on a CPU without MTRR/ARR/MCR (pre-PPro, not modelled),
 * so 'auto' maps cached there. From 2.6.26 x86 decides in phys_mem_access_prot_allowed
 * (arch/x86/mm/pat.c), read here with PAT enabled and the end of RAM standing in for the MTRR type
 * (RAM write-back, above it uncacheable): O_SYNC asks for UC (PCD|PWT) up to 2.6.28 and UC- (PCD)
 * from 2.6.29 (the arch's pgprot_noncached in both cases); 'auto' gets reserve_memtype's MTRR hint,
 * UC- (never PCD|PWT) above RAM — in vm_page_prot up to 2.6.29, and from 2.6.30 (0c3c8a18361:
 * phys_mem_access_prot_allowed leaves 'auto' write-back, the memtype is reserved by remap_pfn_range's
 * track_pfn_vma_new, which changes only its local prot) in the ptes alone, vm_page_prot staying
 * write-back. Without CONFIG_X86_PAT (no Kconfig default in 2.6.26–2.6.32) 'auto' stays write-back.
 * PAT's refusals are not modelled: 2.6.29's reserve_pfn_range refuses RAM (-EINVAL → EAGAIN), and
 * 2.6.29–2.6.30 refuse O_SYNC on the ISA range (WB tracked, UC- asked; 1adcaafe741, v2.6.31-rc8),
 * after which the ISA ptes are write-back.
 */
function physMemAccessProt(k: Machine, st: State, pfn: number, prot: number): { vma: number; ptes: number } {
  const x86 = k.arch.name === 'x86';
  if (st.cache === 'uncached') return { vma: prot | k.arch.noncached, ptes: prot | k.arch.noncached };
  if (st.cache === 'cached' || (x86 && k.f.release <= 25)) return { vma: prot, ptes: prot };
  const ramEnd = Math.max(0, ...k.mem.regions.filter((r) => r.kind === 'ram').map((r) => r.endPfn));
  if (pfn < ramEnd) return { vma: prot, ptes: prot }; // addr < __pa(high_memory) / MTRR write-back
  if (!x86) return { vma: prot | k.arch.noncached, ptes: prot | k.arch.noncached };
  const uc = ((prot & ~k.arch.layout.cache) | X86_UC_MINUS) >>> 0;
  return k.f.release <= 29 ? { vma: uc, ptes: uc } : { vma: prot, ptes: uc };
}

/**
 * generic_access_phys (2.6.27+, HAVE_IOREMAP_PROT): follow_phys() on the pte (present; writable
 * for a write), ioremap_prot with its protection, copy. Returns len or -EINVAL.
 */
function genericAccessPhys(vma: Vma, address: number, len: number, write: boolean, k: Machine): number {
  const pt = vma.mm.pt;
  const vpn = Math.floor(address / PAGE_SIZE);
  if (!pt.lookup(vpn)) return -EINVAL;
  const lo = pt.tbl[pt.slot]!;
  const hi = pt.tbl[pt.slot + 1]!;
  if (k.pte.isNone(lo, hi) || !k.pte.present(lo)) return -EINVAL;
  if (write && !k.pte.write(lo)) return -EINVAL;
  const pfn = k.pte.pfn(lo, hi);
  // v2.6.27–v2.6.32 ioremap_prot() one page and copy all `len` bytes access_process_vm asks for
  // (the rest of the request, not clamped to the page) from it, returning len. A copy that crosses
  // the page boundary goes on at the physically next page where the "ioremap" is the direct map (x86
  // is_ISA_range: 0xA0000–0xFFFFF), whatever the next user page maps; anywhere else it runs into the
  // guard page of the one-page vm area: an oops [DERIVED]. 6.x ioremaps PAGE_ALIGN(offset + len)
  // and copies the physically contiguous pages [UNVERIFIED since when].
  const pages = Math.ceil(((address % PAGE_SIZE) + len) / PAGE_SIZE);
  const phys = pfn * PAGE_SIZE;
  const direct = k.f.release >= MODERN_RELEASE || (k.arch.name === 'x86' && phys >= 0xa0000 && phys + PAGE_SIZE - 1 < 0x100000);
  if (pages > 1 && !direct) {
    k.bug(`unable to handle kernel paging request: generic_access_phys copies ${len} bytes at offset ${address % PAGE_SIZE} past its one-page ioremap_prot (the vm area's guard page)`, k.chain());
  }
  for (let i = 0; i < pages; i++) {
    if (write) k.mem.writeNew(pfn + i);
    else k.mem.readGen(pfn + i);
  }
  return len;
}

/** mmap_mem_open/close: the arch's map_devmem/unmap_devmem hooks (weak no-ops; PAT bookkeeping on x86). */
const mmapMemOpen = (): void => {};
const mmapMemClose = (): void => {};

/**
 * CONFIG_HAVE_IOREMAP_PROT, which builds generic_access_phys: x86 and powerpc from 2.6.27 (powerpc:
 * a1f242ff460 "powerpc ioremap_prot"), sh (MMU) from 2.6.28; never arm or s390 in 2.6.19–2.6.32.
 */
function haveIoremapProt(k: Machine): boolean {
  const r = k.f.release;
  const a = k.arch.name;
  return (r >= 27 && (a === 'x86' || a.startsWith('powerpc'))) || (r >= 28 && a === 'sh');
}

/** mmap_mem_ops by release (DM20/DM25 none, DM26 {open, close}, DM27/DM29 + access, DM30/DM32 access only). */
export function mmapMemOps(k: Machine): VmOperations | null {
  const r = k.f.release;
  const access = haveIoremapProt(k);
  if (r <= 25) return null;
  if (r <= 29) return access ? OPS_OPEN_CLOSE_ACCESS : OPS_OPEN_CLOSE;
  return access ? OPS_ACCESS : null;
}
const OPS_OPEN_CLOSE: VmOperations = { name: 'mmap_mem_ops', open: mmapMemOpen, close: mmapMemClose };
const OPS_OPEN_CLOSE_ACCESS: VmOperations = { name: 'mmap_mem_ops', open: mmapMemOpen, close: mmapMemClose, access: genericAccessPhys };
const OPS_ACCESS: VmOperations = { name: 'mmap_mem_ops', access: genericAccessPhys };

/** mmap_mem: the physical address is the file offset (vm_pgoff). */
function mmapMem(k: Machine, st: State, vma: Vma, pfn: number): number {
  const size = vma.end - vma.start;
  if (!validMmapPhysAddrRange(k, pfn, size)) return -EINVAL;
  // private_mapping_ok: always true with an MMU
  if (k.f.release >= 26 && !rangeIsAllowed(k, st, pfn, size)) return -EPERM;
  // phys_mem_access_prot_allowed: no PAT conflicts are modelled
  const cache = physMemAccessProt(k, st, pfn, vma.pageProt);
  vma.pageProt = cache.vma;
  vma.ops = mmapMemOps(k);
  // remap_pfn_range over the whole vma with vma->vm_page_prot (x86 2.6.30+: as PAT's
  // track_pfn_vma_new leaves it); failure → -EAGAIN (2.6.26–29 also unmap_devmem)
  if (remapPfnRange(k, vma, vma.start, pfn, size, cache.ptes) < 0) return -EAGAIN;
  return 0;
}

function parseExclusive(k: Machine, list: DevmemSettings['exclusive']): Array<[number, number]> {
  return (list ?? []).map((e, i) => {
    if (typeof e === 'string') {
      const r = k.mem.region(e);
      if (!r) throw Object.assign(new Error(`exclusive[${i}]: no memory region named "${e}" (regions: ${k.mem.regions.map((x) => x.name).join(', ')})`), { field: `exclusive[${i}]` });
      return [r.startPfn, r.endPfn] as [number, number];
    }
    return [Math.floor(e.start / PAGE_SIZE), Math.ceil((e.start + e.size) / PAGE_SIZE)] as [number, number];
  });
}

function vmaAt(k: Machine, a: Record<string, unknown>): Vma {
  const task = a.task as Parameters<Machine['findVmaOf']>[0] | undefined;
  if (!task || typeof a.addr !== 'number') throw new Error('needs a task and an addr inside a /dev/mem mapping');
  const vma = k.findVmaOf(task, a.addr);
  if (!vma || vma.file?.inode.driver.name !== 'devmem') throw new Error(`no /dev/mem mapping at 0x${a.addr.toString(16)}`);
  return vma;
}

export const devmem: Driver<DevmemSettings, State> = defineDriver<DevmemSettings, State>({
  name: 'devmem',
  paths: (s) => (s.kmem === false ? ['/dev/mem'] : ['/dev/mem', '/dev/kmem']),
  validate(s) {
    const out = unknownSettings(s, ['strict', 'exclusive', 'kmem', 'pageOffset', 'cache']);
    if (s.strict !== undefined && typeof s.strict !== 'boolean') out.push({ field: 'strict', message: 'strict must be true or false (CONFIG_STRICT_DEVMEM)' });
    if (s.kmem !== undefined && typeof s.kmem !== 'boolean') out.push({ field: 'kmem', message: 'kmem must be true or false' });
    if (s.cache !== undefined && !['auto', 'cached', 'uncached'].includes(s.cache)) out.push({ field: 'cache', message: 'cache must be auto, cached or uncached' });
    if (s.pageOffset !== undefined && (!Number.isInteger(s.pageOffset) || s.pageOffset < 0 || s.pageOffset % PAGE_SIZE !== 0)) {
      out.push({ field: 'pageOffset', message: 'pageOffset must be a page-aligned non-negative integer' });
    }
    if (s.exclusive !== undefined) {
      if (!Array.isArray(s.exclusive)) out.push({ field: 'exclusive', message: 'exclusive must be a list of region names or { start, size }' });
      else {
        s.exclusive.forEach((e, i) => {
          if (typeof e === 'string') return;
          if (!e || typeof e !== 'object' || !Number.isInteger(e.start) || !Number.isInteger(e.size) || e.start < 0 || e.size <= 0) {
            out.push({ field: `exclusive[${i}]`, message: 'an exclusive range is a region name or { start, size } in bytes' });
          }
        });
      }
    }
    return out;
  },
  init(k, s) {
    const strict = s.strict ?? false;
    if (strict && k.f.release < 26) {
      throw Object.assign(new Error(`strict: CONFIG_NONPROMISC_DEVMEM/STRICT_DEVMEM do not exist before 2.6.26 (this is 2.6.${k.f.release})`), { field: 'strict' });
    }
    if (strict && k.arch.name !== 'x86') {
      throw Object.assign(new Error(`strict: devmem_is_allowed is x86-only in 2.6.19–2.6.32 (arch ${k.arch.name} has no STRICT_DEVMEM)`), { field: 'strict' });
    }
    // /dev/kmem went in 5.13 ("drivers/char: remove /dev/kmem for good", bbcd53c96071):
    // the 6.x profile has no such device, and asking for one is a configuration error
    const modern = k.f.release >= MODERN_RELEASE;
    if (modern && s.kmem === true) throw Object.assign(new Error('kmem: /dev/kmem does not exist in the 6.x profile (removed in 5.13)'), { field: 'kmem' });
    const st: State = { strict, exclusive: parseExclusive(k, s.exclusive), pageOffset: s.pageOffset ?? 0xc0000000, cache: s.cache ?? 'auto' };
    for (const path of devmem.paths(s)) {
      if (path === '/dev/kmem' && modern) continue; // open() finds no device node: ENOENT
      k.newInode(devmem as never, path, 2 ** 52, { kmem: path === '/dev/kmem' });
    }
    return st;
  },
  lookup: () => -ENOENT,
  mmap(k, st, file, vma) {
    if ((file.inode.data as { kmem: boolean }).kmem) {
      // mmap_kmem: a kernel virtual offset → pfn; -EIO if it has no struct page; then mmap_mem.
      // v2.6.19 alone ("Fix up mmap_kmem", 99a10a60ba9, v2.6.19-rc2; reverted by 6d3154cc114 for
      // v2.6.20) took the offset as a pfn offset from PFN_DOWN(virt_to_phys(PAGE_OFFSET)), which is
      // 0 where kernel virtual = physical + PAGE_OFFSET: the offset is the physical address there
      const pfn = k.f.release <= 19 ? vma.pgoff : vma.pgoff - st.pageOffset / PAGE_SIZE;
      if (pfn < 0 || !k.pfnValid(pfn)) return -EIO;
      vma.pgoff = pfn;
      return mmapMem(k, st, vma, pfn);
    }
    return mmapMem(k, st, vma, vma.pgoff);
  },
  operations: {
    /** devmem_is_allowed(pfn) under the machine's settings: 1 or 0 (strict off: always 1) */
    is_allowed: (k, st, a) => (k.f.release < 26 || !st.strict || devmemIsAllowed(k, st, Number(a.pfn)) ? 1 : 0),
    /**
     * Model-only allocator steering (B8's premise "suppose the allocator returns R"): the next page
     * allocation returns this free pfn. ret 0, or -EINVAL if the pfn is not free.
     */
    steer_alloc: (k, _st, a) => (k.mem.preferNext(Number(a.pfn)) ? 0 : -EINVAL),
    /**
     * What a driver does when it calls remap_pfn_range(vma, addr, pfn, size, vm_page_prot) on a
     * /dev/mem vma again (B6: part of a private vma → -EINVAL; B7: over present ptes → BUG).
     */
    remap_pfn_range: (k, _st, a) => {
      const vma = vmaAt(k, a);
      return remapPfnRange(k, vma, Number(a.addr), Number(a.pfn), a.size === undefined ? PAGE_SIZE : Number(a.size), vma.pageProt);
    },
    /** zap_vma_ptes (2.6.27+): a driver clears part of its VM_PFNMAP vma; 0 or -1 */
    zap_vma_ptes: (k, _st, a) => zapVmaPtes(k, vmaAt(k, a), Number(a.addr), a.size === undefined ? PAGE_SIZE : Number(a.size)),
  },
});

export default devmem;
