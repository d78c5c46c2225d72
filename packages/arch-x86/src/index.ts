// x86 (reference §3.2, §1.5, §2.14): x86-64 4-level tables by default, the 32-bit 2-level layout
// as an option; the real pte bits; _PAGE_SPECIAL = bit 9 from 2.6.27 (a no-op before);
// lockless get_user_pages_fast from 2.6.27; pgprot_modify keeps the cache bits through mprotect (2.6.26+).

import { defineArch, protectionMapOf, type ArchOptions, type Features } from '@mixedmap/core';

// pte bits (PX26/PX27/PX32)
export const _PAGE_PRESENT = 1 << 0;
export const _PAGE_RW = 1 << 1;
export const _PAGE_USER = 1 << 2;
export const _PAGE_PWT = 1 << 3;
export const _PAGE_PCD = 1 << 4;
export const _PAGE_ACCESSED = 1 << 5;
export const _PAGE_DIRTY = 1 << 6;
export const _PAGE_PSE = 1 << 7;
export const _PAGE_GLOBAL = 1 << 8;
/** bit 9, "UNUSED1, available for programmer": _PAGE_SPECIAL from 2.6.27 (a0a8f5364a5) */
export const _PAGE_BIT_SPECIAL = 9;
export const _PAGE_SPECIAL = 1 << _PAGE_BIT_SPECIAL;

/** _PAGE_PROTNONE: the PSE bit (7) up to 2.6.28, the GLOBAL bit (8) from 2.6.29 (include/asm-x86/pgtable.h v2.6.28 vs arch/x86/include/asm/pgtable.h v2.6.29) */
export function pageProtnone(release: number): number {
  return release >= 29 ? _PAGE_GLOBAL : _PAGE_PSE;
}

const is32 = (o: ArchOptions) => o.bits === 32;

/**
 * _PAGE_CHG_MASK without the pfn: ACCESSED | DIRTY; PCD | PWT join it in 2.6.26 (include/asm-x86/pgtable.h
 * v2.6.25 vs v2.6.26 — before, pte_modify in mprotect made every present pte cacheable) and SPECIAL in
 * 2.6.27 (PX26, PX27, PX32)
 */
function chgMask(release: number): number {
  return _PAGE_ACCESSED | _PAGE_DIRTY | (release >= 26 ? _PAGE_PCD | _PAGE_PWT : 0) | (release >= 27 ? _PAGE_SPECIAL : 0);
}

function protectionMap(f: Features): number[] {
  const base = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED; // every user entry carries ACCESSED (PX26, PI20)
  const PAGE_NONE = pageProtnone(f.release) | _PAGE_ACCESSED;
  const PAGE_READONLY = base;
  const PAGE_COPY = base;
  const PAGE_SHARED = base | _PAGE_RW;
  // x86 has no separate exec bit in these layouts; private writable is the read-only PAGE_COPY (COW)
  return protectionMapOf((p) => (p.none ? PAGE_NONE : p.write ? (p.shared ? PAGE_SHARED : PAGE_COPY) : PAGE_READONLY));
}

export const x86 = defineArch({
  name: 'x86',
  wordBits: 64,
  options: { bits: 'number' },
  levels: (_f, o) => (is32(o) ? [1024, 1024] : [512, 512, 512, 512]),
  pteBytes: (o) => (is32(o) ? 4 : 8),
  taskSize: (o) => (is32(o) ? 0xc0000000 : 2 ** 47 - 4096),
  pteLayout: (f) => ({
    pfnShift: 12,
    none: 0,
    present: _PAGE_PRESENT | pageProtnone(f.release), // pte_present covers PROT_NONE ptes
    hwPresent: _PAGE_PRESENT,
    user: _PAGE_USER,
    write: _PAGE_RW,
    dirty: _PAGE_DIRTY,
    young: _PAGE_ACCESSED,
    special: f.release >= 27 ? _PAGE_SPECIAL : 0,
    cache: _PAGE_PCD | _PAGE_PWT,
    chgMask: chgMask(f.release),
    // pte_modify ≤2.6.25 (asm-i386/asm-x86_64 pgtable.h v2.6.19–v2.6.23, asm-x86/pgtable_32.h/_64.h v2.6.24,
    // asm-x86/pgtable.h v2.6.25) ORs all of newprot, _PAGE_ACCESSED included: mprotect makes ptes young;
    // 1c12c4cf941 (v2.6.26) takes only newprot & ~_PAGE_CHG_MASK
    modifyOrsNewProt: f.release <= 25,
  }),
  hasPteSpecial: (f) => f.release >= 27,
  protectionMap: (f) => protectionMap(f),
  // pgprot_noncached: UC (PCD|PWT) up to 2.6.28; with PAT from 2.6.29 UC- (_PAGE_CACHE_UC_MINUS = PCD),
  // as today (arch/x86/include/asm/pgtable_64.h v2.6.28 vs pgtable.h v2.6.29)
  noncached: (f) => (f.release >= 29 ? _PAGE_PCD : _PAGE_PCD | _PAGE_PWT),
  // §4.1: 56 B on 64-bit, 64 B with the memcg pointer (2.6.25–2.6.27), 32 B on 32-bit (36 with memcg)
  structPageSize: (f, o) => {
    if (f.epoch === 'modern') return is32(o) ? 32 : 64; // today's 64-byte struct page
    const memcg = f.memcg && f.release <= 27;
    if (is32(o)) return memcg ? 36 : 32;
    return memcg ? 64 : 56;
  },
  // x86-32: flat (pfn < max_mapnr, holes included); x86-64: sparsemem, 128 MiB sections
  memoryModel: (_f, o) => (is32(o) ? { kind: 'flat' } : { kind: 'sparse', sectionShift: 15 }),
  // RAM below the ISA hole (0xA0000–0xFFFFF) and above 1 MiB, as the e820 map of a PC gives it
  // (memory.ram is where RAM ends: 1 MiB leaves only the 640 KiB below the hole)
  bootMemory: (ram) => [
    { name: 'ram-low', start: 0, size: 0xa0000, kind: 'ram', structPages: true },
    ...(ram > 0x100000 ? [{ name: 'ram', start: 0x100000, size: ram - 0x100000, kind: 'ram' as const, structPages: true as const }] : []),
  ],
  gupFast: (f) => (f.release >= 27 ? 'x86' : undefined),
  // arch/x86/mm/fault.c: VM_FAULT_OOM goes to pagefault_out_of_memory (the OOM killer) from 2.6.29
  pagefaultOutOfMemory: (f) => f.release >= 29,
  // pgprot_modify (include/asm-x86/pgtable.h v2.6.26, arch/x86/include/asm/pgtable.h v2.6.32): the old
  // prot's _PAGE_CHG_MASK bits stay, so mprotect keeps a vma's PCD/PWT cache attribute (1c12c4cf941)
  pgprotModifyKeeps: (f) => chgMask(f.release),
});

export default x86;
