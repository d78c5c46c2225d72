// 32-bit ARM (reference §3.3, §1.5, §2.7, §2.10, §4.1): Linux's view of the two-level page tables,
// the Linux pte bits (the "L_PTE_*" software copy Linux keeps next to the hardware table), no
// pte_special in any release of the range, pfn_valid from the memory banks, no lockless gup_fast.
//
// Geometry. The hardware has a 4096-entry first-level table (1 MiB sections, 4-byte entries) and
// 256-entry second-level tables (1 KiB). Linux (include/asm-arm/pgtable.h, PA26; arch/arm/include/
// asm/pgtable.h, PA32) pairs them: PTRS_PER_PGD = 2048 (each Linux pgd entry is two hardware L1
// entries, 8 bytes, PGDIR_SHIFT 21) and PTRS_PER_PTE = 512; one 4 KiB pte page holds the two
// hardware tables (2 × 1 KiB) plus the two Linux tables with the young/dirty bits the hardware
// lacks (2 × 1 KiB). The model uses the Linux view: levels [2048, 512], 4-byte ptes, 4096 bytes
// per pte page, a 16 KiB pgd (2048 × 8 bytes).

import {
  protectionMapOf, defineArch, PAGE_SIZE, type ArchOptions, type Features, type Machine, type MemoryModel,
} from '@mixedmap/core';

// ---- Linux pte bits ---------------------------------------------------------------------------

/** The bit layout of the Linux ptes for one release. */
export interface ArmPteBits {
  PRESENT: number;
  YOUNG: number;
  /** L_PTE_FILE: shares a bit with YOUNG (PA26) / own bit 2 (PA32); only meaningful when !PRESENT */
  FILE: number;
  DIRTY: number;
  WRITE: number;
  USER: number;
  EXEC: number;
  /** the cache attribute bits: CACHEABLE|BUFFERABLE (PA26) or the L_PTE_MT_* memory type field (PA32) */
  CACHE: number;
  /** the cache bits a normal user mapping carries (write-back) */
  WRITEBACK: number;
}

/**
 * 2.6.19–2.6.27 (PA26, include/asm-arm/pgtable.h; v2.6.27 arch/arm/include/asm/pgtable.h): PRESENT 0, YOUNG 1 (= FILE when !PRESENT),
 * BUFFERABLE 2, CACHEABLE 3, USER 4, WRITE 5, EXEC 6, DIRTY 7.
 */
export const PA26: ArmPteBits = {
  PRESENT: 1 << 0, YOUNG: 1 << 1, FILE: 1 << 1, DIRTY: 1 << 7, WRITE: 1 << 5, USER: 1 << 4, EXEC: 1 << 6,
  CACHE: (1 << 2) | (1 << 3), WRITEBACK: (1 << 2) | (1 << 3),
};

/**
 * 2.6.32 (PA32, arch/arm/include/asm/pgtable.h; 2.6.28–2.6.31 the same but FILE = YOUNG's bit, PA28):
 * PRESENT 0, YOUNG 1, FILE 2 (!PRESENT only),
 * memory type L_PTE_MT_* in bits 2–5 (write-back = 0x3 << 2), DIRTY 6, WRITE 7, USER 8, EXEC 9.
 */
export const PA32: ArmPteBits = {
  PRESENT: 1 << 0, YOUNG: 1 << 1, FILE: 1 << 2, DIRTY: 1 << 6, WRITE: 1 << 7, USER: 1 << 8, EXEC: 1 << 9,
  CACHE: 0x0f << 2, WRITEBACK: 0x03 << 2,
};

/**
 * 2.6.28–2.6.31 (arch/arm/include/asm/pgtable.h at v2.6.28 … v2.6.31): the PA32 memory-type layout,
 * but L_PTE_FILE still shares YOUNG's bit 1; it moved to its own bit 2 only in 2.6.32 (6a00cded915,
 * "rearrange file PTE bit allocation", v2.6.32-rc1).
 */
export const PA28: ArmPteBits = { ...PA32, FILE: 1 << 1 };

/**
 * Which layout a release uses: the memory-type rework (L_PTE_MT_*; DIRTY to bit 6, WRITE to 7,
 * EXEC to 9) landed in 2.6.28 (asm/pgtable.h at the v2.6.27 and v2.6.28 tags); FILE moved to bit 2
 * in 2.6.32 (PA28 vs PA32). `archOptions.pteLayout: "pa26" | "pa32"` overrides.
 */
export function armPteBits(f: Features, o: ArchOptions): ArmPteBits {
  if (o.pteLayout === 'pa26') return PA26;
  if (o.pteLayout === 'pa32') return PA32;
  return f.release <= 27 ? PA26 : f.release <= 31 ? PA28 : PA32;
}

/**
 * protection_map (__P000…__S111). User entries always carry PRESENT|YOUNG (PA26 _L_PTE_DEFAULT,
 * PA32 pgprot_user) and the write-back cache bits; READ adds USER (PA26 also EXEC: _L_PTE_READ is
 * USER|EXEC); EXEC adds EXEC; SHARED|WRITE adds WRITE. PAGE_NONE has no USER bit.
 */
function protectionMap(b: ArmPteBits, pa26: boolean): number[] {
  const base = b.PRESENT | b.YOUNG | b.WRITEBACK;
  return protectionMapOf((p) => {
    if (p.none) return base; // PAGE_NONE
    let v = base | b.USER;
    if (p.exec || pa26) v |= b.EXEC;
    if (p.write && p.shared) v |= b.WRITE; // private writable: PAGE_COPY (read-only, COW on write)
    return v;
  });
}

// ---- memory banks (meminfo) ---------------------------------------------------------------------

export interface ArmBank {
  start: number;
  size: number;
}

const SIZE_RE = /^(0x[0-9a-f]+|\d+)([KMG]?)$/i;

function parseSize(s: string): number {
  const m = SIZE_RE.exec(s.trim());
  if (!m) throw Object.assign(new Error(`bad size "${s}" (e.g. 64M, 0x4000000)`), { field: 'banks' });
  const n = Number(m[1]);
  const mult = { '': 1, K: 1024, M: 1024 * 1024, G: 1024 * 1024 * 1024 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return n * mult;
}

/** Parses `archOptions.banks`: "START:SIZE,START:SIZE" (e.g. "0x0:64M,0x10000000:32M"). */
export function parseBanks(spec: string): ArmBank[] {
  const banks = spec.split(',').map((part) => {
    const [start, size] = part.split(':');
    if (start === undefined || size === undefined) throw Object.assign(new Error(`bank "${part}" must be START:SIZE`), { field: 'banks' });
    const b = { start: parseSize(start), size: parseSize(size) };
    if (b.start % PAGE_SIZE || b.size % PAGE_SIZE || b.size <= 0) throw Object.assign(new Error(`bank "${part}" must be page aligned and non-empty`), { field: 'banks' });
    return b;
  });
  banks.sort((a, b) => a.start - b.start);
  for (let i = 1; i < banks.length; i++) {
    if (banks[i]!.start < banks[i - 1]!.start + banks[i - 1]!.size) throw Object.assign(new Error('banks overlap'), { field: 'banks' });
  }
  if (banks.length > 8) throw Object.assign(new Error('at most NR_BANKS = 8 banks'), { field: 'banks' });
  return banks;
}

/**
 * pfn_valid flavour: "flat" = PHYS_PFN_OFFSET ≤ pfn < PHYS_PFN_OFFSET + max_mapnr (include/asm-arm/
 * memory.h, 2.6.26: gaps between banks are pfn_valid), "banks" = binary search of the meminfo banks
 * (arch/arm/mm/init.c, 2.6.32). The macro is in asm/memory.h up to v2.6.31 and the out-of-line
 * bank search from v2.6.32 (checked at the tags); `archOptions.pfnValid` overrides.
 */
export type ArmPfnValid = 'flat' | 'banks';

export interface ArmState {
  pfnValid: ArmPfnValid;
  /** PHYS_PFN_OFFSET: first pfn of the first bank */
  physPfnOffset: number;
  /** max_mapnr: pages from PHYS_PFN_OFFSET to the end of the last bank */
  maxMapnr: number;
  banks: ArmBank[];
}

function pfnValidKind(f: Features, o: ArchOptions): ArmPfnValid {
  if (o.pfnValid === 'flat' || o.pfnValid === 'banks') return o.pfnValid;
  return f.release <= 31 ? 'flat' : 'banks';
}

/** pfn_valid for arm (§1.5). At boot, before `init` ran, the state is undefined: the banks decide. */
export function armPfnValid(pfn: number, mem: MemoryModel, state?: unknown): boolean {
  const st = state as ArmState | undefined;
  if (!st || st.pfnValid === 'banks') return mem.pfnValid(pfn);
  return pfn >= st.physPfnOffset && pfn < st.physPfnOffset + st.maxMapnr && mem.inMemmap(pfn);
}

function numArg(a: Record<string, unknown>, key: string): number {
  const v = a[key];
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new Error(`${key} must be a non-negative integer`);
  return n;
}

export const arm = defineArch({
  name: 'arm',
  wordBits: 32,
  options: { banks: 'string', pteLayout: 'string', pfnValid: 'string' },
  levels: () => [2048, 512],
  pteBytes: () => 4,
  // one 4 KiB page: two hardware tables (256 × 4 B each) plus the two Linux tables
  pteTableBytes: () => 4096,
  // a Linux pgd entry is a pair of hardware first-level entries: 2048 × 8 B = the 16 KiB table
  dirEntryBytes: () => 8,
  // TASK_SIZE = PAGE_OFFSET (0xC0000000, 3G/1G split) − 16 MiB (module area)
  taskSize: () => 0xbf000000,
  pteLayout: (f, o) => {
    const b = armPteBits(f, o);
    return {
      pfnShift: 12,
      none: 0, // pte_none: !pte_val(pte)
      present: b.PRESENT,
      write: b.WRITE,
      dirty: b.DIRTY,
      young: b.YOUNG,
      special: 0, // no _PAGE_SPECIAL: pte_special() ≡ 0, pte_mkspecial() ≡ identity (PA26, PA32, §3.1)
      cache: b.CACHE,
      // pte_modify replaces only EXEC|WRITE|USER and keeps every other bit (PA26, PA32)
      chgMask: 0xfff & ~(b.EXEC | b.WRITE | b.USER),
      user: b.USER,
    };
  },
  hasPteSpecial: () => false,
  protectionMap: (f, o) => protectionMap(armPteBits(f, o), armPteBits(f, o) === PA26),
  // pgprot_noncached() *clears* the cache bits on arm (CACHEABLE|BUFFERABLE, or L_PTE_MT_MASK →
  // L_PTE_MT_UNCACHED = 0); the contract's noncached is bits to set, so: none.
  noncached: 0,
  // §4.1: 32 bytes on 32-bit, 36 with the memcg pointer (2.6.25–2.6.27)
  structPageSize: (f) => (f.memcg && f.release <= 27 ? 36 : 32),
  // per-pfn presence: the memmap covers the banks (and, flat, the gaps between them as reserved entries)
  memoryModel: () => ({ kind: 'banks' }),
  pfnValid: armPfnValid,
  bootMemory: (ram, o) => {
    const banks = typeof o.banks === 'string' ? parseBanks(o.banks) : [{ start: 0, size: ram }];
    return banks.map((b, i) => ({ name: banks.length === 1 ? 'ram' : `bank${i}`, start: b.start, size: b.size, kind: 'ram' as const, structPages: true as const }));
  },
  init: (k: Machine, o: ArchOptions): ArmState => {
    if (o.pfnValid !== undefined && o.pfnValid !== 'flat' && o.pfnValid !== 'banks') {
      throw Object.assign(new Error('pfnValid must be "flat" or "banks"'), { field: 'pfnValid' });
    }
    if (o.pteLayout !== undefined && o.pteLayout !== 'pa26' && o.pteLayout !== 'pa32') {
      throw Object.assign(new Error('pteLayout must be "pa26" or "pa32"'), { field: 'pteLayout' });
    }
    // a bank is any memory with struct pages (the kernel's meminfo): a `kind: device` region with
    // structPages (a brd-like RAM range) lies inside the flat mem_map like RAM, so it is pfn_valid too
    const rams = k.mem.regions.filter((r) => r.structPages).sort((a, b) => a.startPfn - b.startPfn);
    const first = rams[0]!.startPfn;
    const last = Math.max(...rams.map((r) => r.endPfn));
    const st: ArmState = {
      pfnValid: pfnValidKind(k.f, o),
      physPfnOffset: first,
      maxMapnr: last - first,
      banks: rams.map((r) => ({ start: r.start, size: r.size })),
    };
    return st;
  },
  operations: {
    /** pfn_valid(pfn) as this release decides it: ret 1 or 0 */
    pfn_valid: (k, _st, a) => (k.pfnValid(numArg(a, 'pfn')) ? 1 : 0),
    /** steer the page allocator (B8): the next allocation returns this free pfn; ret 1, or 0 if it is not free. Same as the generic `alloc_prefer` op */
    prefer_next: (k, _st, a) => (k.preferNextPage(numArg(a, 'pfn')) ? 1 : 0),
  },
  // no lockless get_user_pages_fast on arm: the generic mmap_sem + get_user_pages (UT27, UT32)
  gupFast: () => undefined,
  // arch/arm/mm/fault.c: VM_FAULT_OOM goes to pagefault_out_of_memory (the OOM killer) from 2.6.32
  pagefaultOutOfMemory: (f) => f.release >= 32,
  // the MMU has no accessed/dirty bits: set_pte_ext (arch/arm/mm/proc-*.S) writes a hardware pte that
  // is invalid while !L_PTE_YOUNG and read-only while !L_PTE_DIRTY, so handle_pte_fault sets them
  softwareYoungDirty: () => true,
});

export default arm;
