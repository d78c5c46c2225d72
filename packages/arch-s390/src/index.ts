// 64-bit s390 (reference §3.4, §1.5, §2.20, §2.22, §4.1): the pte's hardware invalid (0x400) and
// protect (0x200) bits and the software type bits, no dirty/young bits in the pte (they live in the
// storage key), _PAGE_SPECIAL = 0x004 from 2.6.26, 2 KiB page tables packed two per 4 KiB page,
// pfn_valid by LRA (≤2.6.25) or sparsemem sections (≥2.6.26), and z/VM DCSS segments that are
// loaded and unloaded at run time (arch/s390/mm/extmem.c, arch/s390/mm/vmem.c).

import {
  defineArch, protectionMapOf, ConfigError, EPERM, ENOENT, EINVAL, EAGAIN, EBUSY, ENOSPC, ERANGE, ENOSYS, PAGE_SIZE, type ArchOptions, type Features, type Machine, type MemoryModel,
  type MemRegion,
} from '@mixedmap/core';

// ---- pte bits (PS20, PS26, PS32) ----------------------------------------------------------------

/** HW change-bit override */
export const _PAGE_CO = 0x100;
/** HW read-only (protect) bit */
export const _PAGE_RO = 0x200;
/** HW invalid bit */
export const _PAGE_INVALID = 0x400;
/** SW pte type bit t */
export const _PAGE_SWT = 0x001;
/** SW pte type bit x */
export const _PAGE_SWX = 0x002;
/** SW bit for special ptes (a08cb629f54, 2.6.26) */
export const _PAGE_SPECIAL = 0x004;

// the pte types (both SW type bits are consumed by them, PS20/PS26)
export const _PAGE_TYPE_EMPTY = 0x400;
export const _PAGE_TYPE_NONE = 0x401;
export const _PAGE_TYPE_SWAP = 0x403;
export const _PAGE_TYPE_FILE = 0x601;
export const _PAGE_TYPE_RO = 0x200;
export const _PAGE_TYPE_RW = 0x000;
/** noexec types (c1821c2e971, 2.6.21) */
export const _PAGE_TYPE_EX_RO = 0x202;
export const _PAGE_TYPE_EX_RW = 0x002;

// ---- DCSS segment types (EH26 include/asm-s390/extmem.h) --------------------------------------

export const SEG_TYPES = { SW: 0, EW: 1, SR: 2, ER: 3, SN: 4, EN: 5, SC: 6, EWEN: 7 } as const;
export type SegTypeName = keyof typeof SEG_TYPES;

export interface SegmentDef {
  name: string;
  /** physical start address (bytes, page aligned) */
  start: number;
  /** size (bytes, page aligned) */
  size: number;
  type: SegTypeName;
}

export interface LoadedSegment {
  def: SegmentDef;
  refCount: number;
  shared: boolean;
  region: MemRegion;
  /** the segment got struct pages when it was loaded (≤2.6.25, add_shared_memory) */
  structPages: boolean;
}

export interface S390State {
  release: number;
  zvm: boolean;
  /** max_pfn = PFN_DOWN(memory_end); `mem=` can raise it above the real storage (SET24) */
  maxPfn: number;
  vmemMaxPhys: number;
  loadshrx: boolean;
  /** segments z/VM knows (the DEFSEG directory), by upper-case name */
  defs: Map<string, SegmentDef>;
  /** loaded segments (extmem.c's dcss_list), by name */
  loaded: Map<string, LoadedSegment>;
  /** pfn ranges that ever got struct pages at segment load: they stay allocated after unload */
  memmapRanges: Array<[number, number]>;
  structPageSize: number;
}

// ---- options and helpers ------------------------------------------------------------------------

const SIZE_RE = /^(0x[0-9a-f]+|\d+)([KMG]?)$/i;

function parseSize(v: unknown, field: string): number {
  if (typeof v === 'number') return v;
  const m = typeof v === 'string' ? SIZE_RE.exec(v.trim()) : null;
  if (!m) throw Object.assign(new Error(`bad size ${JSON.stringify(v)} (e.g. 16M, 0x20000000)`), { field });
  const mult = { '': 1, K: 1024, M: 1024 * 1024, G: 1024 * 1024 * 1024 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Number(m[1]) * mult;
}

/**
 * The DCSS directory: `archOptions.segments` as a list of `{ name, start, size, type }` or as a
 * string "NAME:START:SIZE:TYPE,…" (e.g. "XIPIMG:0x20000000:16M:SR").
 */
export function parseSegments(v: unknown): SegmentDef[] {
  if (v === undefined) return [];
  const raw: Array<Record<string, unknown>> = typeof v === 'string'
    ? v.split(',').filter((s) => s.trim()).map((s) => {
      const [name, start, size, type] = s.split(':');
      return { name, start, size, type };
    })
    : Array.isArray(v) ? (v as Array<Record<string, unknown>>) : [];
  if (!Array.isArray(v) && typeof v !== 'string') throw Object.assign(new Error('segments must be a list of { name, start, size, type }'), { field: 'segments' });
  return raw.map((r, i) => {
    const field = `segments[${i}]`;
    if (typeof r.name !== 'string' || !/^[A-Za-z0-9$#@_]{1,8}$/.test(r.name)) throw Object.assign(new Error('name must be 1–8 characters'), { field: `${field}.name` });
    const type = String(r.type ?? '').toUpperCase();
    if (!(type in SEG_TYPES) || type === 'EWEN') throw Object.assign(new Error(`type must be one of SW, EW, SR, ER, SN, EN, SC (not ${JSON.stringify(r.type)})`), { field: `${field}.type` });
    const start = parseSize(r.start, `${field}.start`);
    const size = parseSize(r.size, `${field}.size`);
    if (start % PAGE_SIZE || size % PAGE_SIZE || size <= 0) throw Object.assign(new Error('start and size must be page aligned, size > 0'), { field });
    return { name: r.name.toUpperCase(), start, size, type: type as SegTypeName };
  });
}

/** 2.6.26 final keeps _PAGE_SPECIAL in _PAGE_CHG_MASK (138c9021ca6); `specialSurvivesMprotect: false` is the rc state. */
function specialSurvivesMprotect(f: Features, o: ArchOptions): boolean {
  if (o.pgsteSpecial === true) return true; // the bit lives in the PGSTE word: pte_modify never touches it
  return typeof o.specialSurvivesMprotect === 'boolean' ? o.specialSurvivesMprotect : f.release >= 26;
}

function hasSpecial(f: Features, o: ArchOptions): boolean {
  return f.release >= 26 || o.pgsteSpecial === true;
}

/**
 * SPARSEMEM section size: 32 MiB (SECTION_SIZE_BITS 25) in 2.6.26 (SPM26), 256 MiB (28) for 64-bit
 * from 2.6.27 (asm/sparsemem.h at the v2.6.26 and v2.6.27 tags; 31-bit keeps 25);
 * `archOptions.sectionBits` overrides.
 */
export function sectionBits(f: Features, o: ArchOptions): number {
  if (typeof o.sectionBits === 'number') return o.sectionBits;
  return f.release >= 27 ? 28 : 25;
}

/**
 * pfn_valid (§1.5): 2.6.19 the static `pfn < max_mapnr` (include/asm-s390/page.h v2.6.19; max_mapnr =
 * max_low_pfn = max_pfn, which `mem=` raises), whatever is loaded; 2.6.20–2.6.25 "pfn < max_pfn and
 * LRA succeeds" — the kernel 1:1 mapping decides, i.e. storage and loaded DCSS (PG24); ≥2.6.26 the
 * sparsemem section has a memmap (SPM26).
 */
export function s390PfnValid(pfn: number, mem: MemoryModel, state?: unknown): boolean {
  const st = state as S390State | undefined; // undefined at boot, before init: storage only
  if (st && st.release <= 19) return pfn >= 0 && pfn < st.maxPfn;
  if (st && st.release <= 25) return pfn < st.maxPfn && mem.pfnValid(pfn);
  return mem.pfnValid(pfn);
}

/**
 * 2.6.19: paging_init/free_area_init size the flat mem_map by max_low_pfn, so every pfn below max_pfn
 * has a (PageReserved, count 1) struct page, storage or not (arch/s390/mm/init.c v2.6.19). The memory
 * model grows its arrays only for regions with struct pages: a one-page region at the highest free
 * pfn below max_pfn, added and removed again, extends them (the holes get reserved entries).
 * Beyond 64 GiB of max_pfn the model does not build it (the arrays would be too large): pfn_valid
 * still follows max_pfn, and a struct-page access there oopses as "beyond mem_map".
 */
const FLAT_MEMMAP_LIMIT = 1 << 24;
function flatMemmapToMaxPfn(k: Machine, maxPfn: number): void {
  if (maxPfn > FLAT_MEMMAP_LIMIT || k.mem.inMemmap(maxPfn - 1)) return;
  let pfn = maxPfn - 1;
  while (pfn >= 0 && k.mem.regionOf(pfn)) pfn--;
  if (pfn < 0 || k.mem.inMemmap(pfn)) return;
  const name = 'mem_map (2.6.19: up to max_pfn)';
  k.mem.addRegion({ name, start: pfn * PAGE_SIZE, size: PAGE_SIZE, kind: 'device', structPages: true });
  k.mem.removeRegion(name);
}

/**
 * The guest storage the kernel uses, and memory_end (bytes), for `memory.ram` of detected storage and
 * the `mem=` / `maxPfn` options (arch/s390/kernel/setup.c at each tag):
 * 2.6.19 setup_arch: memory_end = mem= or the detected size, then `memory_end &= ~0x200000UL` on
 * 64-bit (clears bit 21 only); init_bootmem(start_pfn, max_pfn) frees and maps storage only below
 * max_pfn, so storage above it is unused.
 * 2.6.20+ setup_memory_end: every memory chunk is cut at max_mem = mem= (2.6.20–2.6.24: also at
 * VMALLOC_END_INIT − VMALLOC_MIN_SIZE, 2.6.25+: at VMEM_MAX_PHYS, far above any model size), so
 * storage above mem= is not RAM at all: no page allocator, no 1:1 mapping, no mem_segs entry, no
 * sparsemem section; memory_end stays mem= (it may lie above the storage).
 * 2.6.25+ (9f4b0ba81f1): first every chunk is aligned to MAX_ORDER − 1 pages (FORCE_MAX_ZONEORDER 9:
 * 1 MiB), so a tail below 1 MiB is dropped.
 * `maxPfn` sets max_pfn itself (memory_end = maxPfn pages).
 */
export function s390Storage(ram: number, o: ArchOptions, f: Features): { storageEnd: number; memoryEnd: number } {
  const r = f.release;
  let chunkEnd = ram;
  if (r >= 25) chunkEnd = Math.floor(ram / MIB) * MIB;
  const asked = typeof o.maxPfn === 'number' ? o.maxPfn * PAGE_SIZE : typeof o.mem === 'number' ? Math.floor(o.mem / PAGE_SIZE) * PAGE_SIZE : undefined;
  let memoryEnd = asked ?? chunkEnd;
  // 2.6.19, 64-bit: `memory_end &= ~0x200000UL` (a maxPfn override is taken as it is)
  if (r <= 19 && typeof o.maxPfn !== 'number') memoryEnd = memoryEnd - (Math.floor(memoryEnd / 0x200000) % 2) * 0x200000;
  const storageEnd = Math.min(chunkEnd, memoryEnd);
  if (storageEnd < MIB) {
    throw new ConfigError(`s390 ${f.release === 19 ? '2.6.19' : 'kernel'}: only ${storageEnd} bytes of storage below memory_end 0x${memoryEnd.toString(16)} (memory.ram ${ram}${asked !== undefined ? `, mem= ${asked}` : ''}); at least 1 MiB is needed`, typeof o.maxPfn === 'number' ? 'archOptions.maxPfn' : typeof o.mem === 'number' ? 'archOptions.mem' : 'memory.ram');
  }
  return { storageEnd, memoryEnd };
}

const MIB = 1 << 20;

function mergeRange(ranges: Array<[number, number]>, s: number, e: number): void {
  ranges.push([s, e]);
  ranges.sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const r of ranges) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  ranges.splice(0, ranges.length, ...out);
}

function strArg(a: Record<string, unknown>, key: string): string {
  const v = a[key];
  if (typeof v !== 'string' || !v) throw new Error(`${key} must be a segment name`);
  return v.toUpperCase();
}

const overlaps = (s1: number, e1: number, s2: number, e2: number): boolean => s1 < e2 && s2 < e1;

/**
 * extmem.c's own overlap tests (segment_overlaps_storage / segment_overlaps_others, v2.6.19 and the
 * 2.6.28+ LOADSHRX check) compare megabyte numbers (`>> 20`) of the first and last byte: two ranges
 * touching the same MiB collide even if their bytes do not. Arguments are pfn ranges [s, e).
 */
const MIB_PFNS = (1 << 20) / PAGE_SIZE;
const overlapsMiB = (s1: number, e1: number, s2: number, e2: number): boolean =>
  Math.floor(s1 / MIB_PFNS) <= Math.floor((e2 - 1) / MIB_PFNS) && Math.floor(s2 / MIB_PFNS) <= Math.floor((e1 - 1) / MIB_PFNS);

// ---- segment_load / segment_unload / segment_modify_shared (EX24, EX26, EX32; VM20–VM26) ------

/**
 * segment_load(name, do_nonshared): returns the segment type (0..6) or -errno. Order of the checks:
 * not z/VM → −ENOSYS; already loaded → same mode: ref_count+1 and the type, other mode → −EPERM;
 * DIAG 0x64 query: unknown → −ENOENT. Then by release:
 * 2.6.19 (extmem.c v2.6.19, no virtual memmap yet): last pfn above max_pfn → −ERANGE; overlap with guest storage
 * → −ENOSPC; overlap with a loaded DCSS → −EBUSY (both at 1 MiB granularity).
 * 2.6.20+: 2.6.28+ with LOADSHRX: overlap with a loaded DCSS → −EBUSY (1 MiB granularity); the kernel
 * 1:1 mapping (add_shared_memory ≤2.6.25 / vmem_add_mapping ≥2.6.26) → insert_memory_segment: ≤2.6.24
 * the segment must end at or below max_pfn, 2.6.25 below VMEM_MAX_PHYS, 2.6.26+ at or below it → −ERANGE; overlap with an
 * entry of mem_segs — every storage chunk and every loaded DCSS — → −ENOSPC; 2.6.21+ the
 * "<NAME> (DCSS)" iomem resource conflicting with another claimed range → −EBUSY.
 */
export function segmentLoad(k: Machine, st: S390State, name: string, shared: boolean): number {
  if (!st.zvm) return -ENOSYS;
  const seg = st.loaded.get(name);
  if (seg) {
    if (seg.shared === shared) {
      seg.refCount++;
      return SEG_TYPES[seg.def.type];
    }
    k.report(`extmem: segment ${name} already loaded in ${seg.shared ? 'shared' : 'exclusive'} mode (EPERM)`);
    return -EPERM;
  }
  const def = st.defs.get(name);
  if (!def) return -ENOENT; // DIAG 0x64 query: no such segment
  const sPfn = def.start / PAGE_SIZE;
  const ePfn = sPfn + def.size / PAGE_SIZE;
  const storage = k.mem.regions.filter((r) => r.kind === 'ram');
  if (st.release <= 19) {
    // __segment_load v2.6.19: segment_exceeds_range compares the *last* pfn with max_pfn
    if (ePfn - 1 > st.maxPfn) return -ERANGE;
    for (const r of storage) {
      if (overlapsMiB(sPfn, ePfn, r.startPfn, r.endPfn)) {
        k.report(`extmem: segment ${name} overlaps storage (ENOSPC)`);
        return -ENOSPC; // segment_overlaps_storage
      }
    }
    for (const o of st.loaded.values()) {
      if (overlapsMiB(sPfn, ePfn, o.region.startPfn, o.region.endPfn)) {
        k.report(`extmem: segment ${name} overlaps other segments: ${o.def.name} (EBUSY)`);
        return -EBUSY; // segment_overlaps_others
      }
    }
  } else {
    if (st.release >= 28 && st.loadshrx) {
      // DIAG 0x64 LOADSHRX subcodes (b2300b9efe1, v2.6.28): segment_overlaps_others before the mapping
      for (const o of st.loaded.values()) {
        if (overlapsMiB(sPfn, ePfn, o.region.startPfn, o.region.endPfn)) {
          k.report(`extmem: segment ${name} overlaps loaded segment ${o.def.name} (LOADSHRX, EBUSY)`);
          return -EBUSY;
        }
      }
    }
    // insert_memory_segment (vmem.c v2.6.20–v2.6.32): the range check, then the overlap with mem_segs
    if (st.release <= 24) {
      if (ePfn > st.maxPfn) return -ERANGE; // VM20/VM24: must end below max_pfn
    } else if (st.release === 25 ? def.start + def.size >= st.vmemMaxPhys : def.start + def.size > st.vmemMaxPhys) {
      return -ERANGE; // VM25: the end must lie below VMEM_MAX_PHYS; VM26+: at or below it
    }
    // mem_segs holds every storage chunk (vmem_convert_memory_chunk, a core_initcall) and every
    // loaded DCSS: an overlap with either is -ENOSPC, before extmem.c gets to request_resource
    for (const r of storage) {
      if (overlaps(sPfn, ePfn, r.startPfn, r.endPfn)) {
        k.report(`extmem: segment ${name} overlaps storage/segment: storage (ENOSPC)`);
        return -ENOSPC;
      }
    }
    for (const o of st.loaded.values()) {
      if (overlaps(sPfn, ePfn, o.region.startPfn, o.region.endPfn)) {
        k.report(`extmem: segment ${name} overlaps storage/segment: ${o.def.name} (ENOSPC)`);
        return -ENOSPC;
      }
    }
  }
  // request_resource("<NAME> (DCSS)") (2.6.21+) against other claimed ranges: the model's configured
  // non-storage regions. s390 has no such memory; before 2.6.21 the model refuses them the same way.
  for (const r of k.mem.regions) {
    if (r.kind !== 'segment' && r.kind !== 'ram' && overlaps(sPfn, ePfn, r.startPfn, r.endPfn)) {
      k.report(`extmem: segment ${name} conflicts with resource "${r.name}" (EBUSY)`);
      return -EBUSY;
    }
  }
  // 2.6.19: the flat mem_map already covers the segment (below max_pfn): nothing is allocated;
  // 2.6.20–2.6.25: add_shared_memory maps it 1:1 and gives every pfn a PageReserved struct page with
  // count 1; ≥2.6.26: vmem_add_mapping, the 1:1 mapping only (17f34580856)
  const structPages = st.release <= 25;
  const region = k.mem.addRegion({ name: `dcss:${name}`, start: def.start, size: def.size, kind: 'segment', structPages });
  if (structPages && st.release >= 20) mergeRange(st.memmapRanges, sPfn, ePfn);
  st.loaded.set(name, { def, refCount: 1, shared, region, structPages });
  return SEG_TYPES[def.type];
}

/**
 * segment_unload(name): not z/VM → nothing; unknown → an error printk; ref_count−1; at 0 the
 * resource is released, the 1:1 mapping removed (vmem_remove_mapping / remove_shared_memory) and
 * the segment purged. Struct pages created at load stay allocated (§2.20). Returns 0 (void in C).
 */
export function segmentUnload(k: Machine, st: S390State, name: string): number {
  if (!st.zvm) return 0;
  const seg = st.loaded.get(name);
  if (!seg) {
    k.report(`extmem: segment_unload: segment ${name} is not loaded`);
    return 0;
  }
  if (--seg.refCount > 0) return 0;
  k.mem.removeRegion(seg.region.name);
  st.loaded.delete(name);
  return 0;
}

/**
 * segment_modify_shared(name, do_nonshared): not loaded → −EINVAL; already in that mode → 0;
 * ref_count ≠ 1 → −EAGAIN; else purge and reload in the other mode → 0 (EX26).
 */
export function segmentModifyShared(k: Machine, st: S390State, name: string, shared: boolean): number {
  const seg = st.loaded.get(name);
  if (!seg) return -EINVAL;
  if (seg.shared === shared) return 0;
  if (seg.refCount !== 1) {
    k.report(`extmem: segment ${name} has ${seg.refCount} users, cannot change the share mode (EAGAIN)`);
    return -EAGAIN;
  }
  seg.shared = shared;
  return 0;
}

/** Bytes of mem_map spent on DCSS struct pages (allocated at load, never freed; §2.20, §4.2). */
export function segmentMemmapBytes(st: S390State): number {
  let pages = 0;
  for (const [s, e] of st.memmapRanges) pages += e - s;
  return pages * st.structPageSize;
}

function sharedArg(a: Record<string, unknown>): boolean {
  if (a.shared === undefined) return true; // do_nonshared = 0: SEGMENT_SHARED
  if (typeof a.shared !== 'boolean') throw new Error('shared must be true or false');
  return a.shared;
}

function pfnArg(a: Record<string, unknown>): number {
  const v = typeof a.pfn === 'string' ? Number(a.pfn) : a.pfn;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error('pfn must be a non-negative integer');
  return v;
}

// ---- the arch --------------------------------------------------------------------------------

const TASK_SIZE = 2 ** 42; // 4 TiB: three levels; the on-demand upgrade to 4/5 levels (crst_table_upgrade, 2.6.25) is not modelled

export const s390 = defineArch({
  name: 's390',
  wordBits: 64,
  options: {
    zvm: 'boolean',
    segments: 'object',
    maxPfn: 'number',
    mem: 'number',
    vmemMaxPhys: 'number',
    loadshrx: 'boolean',
    specialSurvivesMprotect: 'boolean',
    pgsteSpecial: 'boolean',
    sectionBits: 'number',
  },
  // ≤2.6.24: pgd 2048 (region third) × pmd 1024 (segment-table pairs) × pte 512 (two 256-entry
  // hardware tables per 4 KiB page); 2.6.25+ (146e4b3c8b9, "1K/2K page table pages"): region third
  // 2048 × segment 2048 × page table 256 (2 KiB, packed two per page).
  levels: (f) => (f.release >= 25 ? [2048, 2048, 256] : [2048, 1024, 512]),
  pteBytes: () => 8,
  // region and segment table entries are 8 bytes (≤2.6.24 the pmd level holds segment-table *pairs*,
  // 16 bytes per entry, which this single figure does not express)
  // ≤2.6.24 a 64-bit pmd_t is the pmd0/pmd1 pair (include/asm-s390/page.h v2.6.24): 1024 × 16 B in
  // a 16 KiB crst table like the pgd; 2.6.25's 2 KiB pte tables make every entry 8 bytes
  dirEntryBytes: (_o, f) => (f.release >= 25 ? 8 : [8, 16]),
  // the PGSTE what-if doubles every page table (the second half holds one word per pte, PS26)
  pteTableBytes: (f, o) => (f.release >= 25 ? 2048 : 4096) * (o.pgsteSpecial === true ? 2 : 1),
  taskSize: () => TASK_SIZE,
  pteLayout: (f, o) => ({
    pfnShift: 12,
    none: _PAGE_TYPE_EMPTY,
    // pte_present: valid (invalid bit clear) or the PROT_NONE type 0x401. One masked test covers the
    // types the model creates: (pte ^ 0x400) & 0x401 ≠ 0 (swap/file types are never created here).
    present: _PAGE_INVALID | _PAGE_SWT,
    presentXor: _PAGE_INVALID,
    hwPresent: _PAGE_INVALID,
    // pte_write: the protect bit is clear
    write: _PAGE_RO,
    writeXor: _PAGE_RO,
    // no dirty/referenced bit in the pte: the storage key holds them (pte_dirty/pte_young ≡ 0)
    dirty: 0,
    young: 0,
    special: hasSpecial(f, o) ? _PAGE_SPECIAL : 0,
    cache: 0,
    // _PAGE_CHG_MASK = PAGE_MASK | _PAGE_SPECIAL only from 138c9021ca6 (2.6.26 final); before, pte_modify keeps the pfn alone
    chgMask: specialSurvivesMprotect(f, o) && hasSpecial(f, o) ? _PAGE_SPECIAL : 0,
    user: 0,
  }),
  hasPteSpecial: (f, o) => hasSpecial(f, o),
  // __P000…__S111: PAGE_NONE, PAGE_RO, PAGE_RW (shared writable) and from 2.6.21 the EX_ types
  protectionMap: (f) => {
    const ex = f.release >= 21;
    return protectionMapOf((p) => {
      if (p.none) return _PAGE_TYPE_NONE;
      if (p.exec && ex) return p.write && p.shared ? _PAGE_TYPE_EX_RW : _PAGE_TYPE_EX_RO;
      return p.write && p.shared ? _PAGE_TYPE_RW : _PAGE_TYPE_RO;
    });
  },
  noncached: 0,
  // §4.1: 56 bytes (s390x), 64 with the memcg pointer (2.6.25–2.6.27); 6.x: 64 (the memcg_data word,
  // and s390 selects HAVE_ALIGNED_STRUCT_PAGE: struct page is two-word aligned), as x86 models it
  structPageSize: (f) => (f.epoch === 'modern' ? 64 : f.memcg && f.release <= 27 ? 64 : 56),
  memoryModel: (f, o) => (f.release <= 25 ? { kind: 'banks' } : { kind: 'sparse', sectionShift: sectionBits(f, o) - 12 }),
  pfnValid: s390PfnValid,
  // the storage the kernel keeps below mem= (s390Storage): above it the guest's storage is not RAM
  bootMemory: (ram, o, f) => [{ name: 'storage', start: 0, size: s390Storage(ram, o, f).storageEnd, kind: 'ram', structPages: true }],
  init: (k: Machine, o: ArchOptions): S390State => {
    const storage = k.mem.regions.filter((r) => r.kind === 'ram').reduce((a, r) => Math.max(a, r.start + r.size), 0);
    // max_pfn = PFN_DOWN(memory_end): mem= may raise it above the storage; without mem= it is the storage's end
    const maxPfn = Math.floor(s390Storage(storage, o, k.f).memoryEnd / PAGE_SIZE);
    const defs = new Map<string, SegmentDef>();
    for (const d of parseSegments(o.segments)) {
      if (defs.has(d.name)) throw Object.assign(new Error(`segment ${d.name} defined twice`), { field: 'segments' });
      defs.set(d.name, d);
    }
    const st: S390State = {
      release: k.f.release,
      zvm: o.zvm !== false,
      maxPfn,
      // VMEM_MAX_PHYS of s390x: min(VMALLOC_START in pfns, vmemmap room / sizeof(struct page)) in bytes,
      // rounded down to 16 MiB. VMALLOC_START = 0x3e000000000 (include/asm-s390/pgtable.h v2.6.25/v2.6.26;
      // v2.6.32 arch/s390/mm/pgtable.c: VMALLOC_END − 1 GiB, the same) is the smaller term: the
      // vmemmap room (0x40000000000 − 0x3e040000000) holds ~2.1–2.4 G struct pages of 56–64 bytes
      vmemMaxPhys: typeof o.vmemMaxPhys === 'number' ? o.vmemMaxPhys : 0x3e000000000,
      loadshrx: o.loadshrx !== false,
      defs,
      loaded: new Map(),
      memmapRanges: [],
      structPageSize: k.arch.structPageSize,
    };
    if (st.release <= 19) flatMemmapToMaxPfn(k, maxPfn);
    return st;
  },
  operations: {
    segment_load: (k, st, a) => segmentLoad(k, st as S390State, strArg(a, 'name'), sharedArg(a)),
    segment_unload: (k, st, a) => segmentUnload(k, st as S390State, strArg(a, 'name')),
    segment_modify_shared: (k, st, a) => segmentModifyShared(k, st as S390State, strArg(a, 'name'), sharedArg(a)),
    /** model op (not extmem.c's segment_type, which asks z/VM whether or not the segment is loaded): reports the mem_map bytes; with a name, the type of a loaded segment or −ENOENT */
    segment_info: (k, st, a) => {
      const s = st as S390State;
      const bytes = segmentMemmapBytes(s);
      k.report(`dcss mem_map: ${bytes} bytes of struct pages allocated for segments (${s.memmapRanges.reduce((n, [x, y]) => n + y - x, 0)} pages × ${s.structPageSize} B)`);
      if (a.name === undefined) return bytes;
      const seg = s.loaded.get(strArg(a, 'name'));
      if (!seg) return -ENOENT;
      k.report(`segment ${seg.def.name}: type ${seg.def.type} (${SEG_TYPES[seg.def.type]}), ${seg.shared ? 'shared' : 'exclusive'}, ref_count ${seg.refCount}, pfns 0x${seg.region.startPfn.toString(16)}-0x${(seg.region.endPfn - 1).toString(16)}, ${seg.structPages ? 'with' : 'without'} struct pages`);
      return SEG_TYPES[seg.def.type];
    },
    /** pfn_valid(pfn) as this release decides it at this moment: ret 1 or 0 */
    pfn_valid: (k, _st, a) => (k.pfnValid(pfnArg(a)) ? 1 : 0),
  },
  // no lockless get_user_pages_fast on s390 in this range (UT27, UT32)
  gupFast: () => undefined,
  // arch/s390/mm/fault.c: VM_FAULT_OOM goes to pagefault_out_of_memory (the OOM killer) from 2.6.30
  pagefaultOutOfMemory: (f) => f.release >= 30,
});

export default s390;
