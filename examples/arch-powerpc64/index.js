// powerpc64 (hash MMU, 4 KiB pages) as an out-of-tree mixedmap arch plugin. It uses only
// @mixedmap/core's public API (defineArch), so it loads by path from a scenario:
//   machine: { arch: ./arch-powerpc64/index.js, kernel: "2.6.27" }
// Reference §3.5, §3.1, §2.14, §2.22, §4.1. Bits are those of the 64-bit hash pte with 4 KiB
// pages (PP27: arch/powerpc/include/asm/pgtable-ppc64.h and pgtable-4k.h).
import { defineArch, protectionMapOf } from '@mixedmap/core';

export const _PAGE_PRESENT = 0x0001; // software: pte contains a translation
export const _PAGE_USER = 0x0002; // matches one of the PP bits
export const _PAGE_EXEC = 0x0004;
export const _PAGE_GUARDED = 0x0008; // G
export const _PAGE_COHERENT = 0x0010; // M
export const _PAGE_NO_CACHE = 0x0020; // I
export const _PAGE_WRITETHRU = 0x0040; // W
export const _PAGE_DIRTY = 0x0080; // C: changed
export const _PAGE_ACCESSED = 0x0100; // R: referenced
export const _PAGE_RW = 0x0200; // software: user write access allowed
/** 4 KiB pages: _PAGE_SPECIAL 0x10000 (83ac6a1ed40, 2.6.27); the 64 KiB layout uses 0x400 (not modelled: the model's pages are 4 KiB) */
export const _PAGE_SPECIAL = 0x10000;
/** the real page number starts at bit 17 with 4 KiB pages (PTE_RPN_SHIFT) */
export const PTE_RPN_SHIFT = 17;

const _PAGE_BASE = _PAGE_PRESENT | _PAGE_ACCESSED | _PAGE_COHERENT;

function protectionMap() {
  // __P000…__S111: PAGE_NONE, PAGE_READONLY(_X), PAGE_COPY(_X), PAGE_SHARED(_X)
  return protectionMapOf((p) => (p.none ? _PAGE_BASE : _PAGE_BASE | _PAGE_USER | (p.exec ? _PAGE_EXEC : 0) | (p.write && p.shared ? _PAGE_RW : 0)));
}

export const powerpc64 = defineArch({
  name: 'powerpc64',
  wordBits: 64,
  options: {},
  // 4 KiB pages: PGD 9 bits, PUD 7, PMD 7, PTE 9 index bits → 44-bit (16 TiB) user space
  levels: () => [512, 128, 128, 512],
  pteBytes: () => 8,
  dirEntryBytes: () => 8,
  taskSize: () => 2 ** 44,
  pteLayout: (f) => ({
    pfnShift: PTE_RPN_SHIFT,
    none: 0,
    present: _PAGE_PRESENT,
    user: _PAGE_USER,
    write: _PAGE_RW,
    dirty: _PAGE_DIRTY,
    young: _PAGE_ACCESSED,
    special: f.release >= 27 ? _PAGE_SPECIAL : 0,
    cache: _PAGE_NO_CACHE | _PAGE_WRITETHRU | _PAGE_GUARDED,
    // _PAGE_CHG_MASK = PAGE_MASK | ACCESSED | DIRTY (+ the hash bits). PAGE_MASK covers bits 12–16,
    // so with 4 KiB pages 0x10000 survived mprotect by accident in 2.6.27–2.6.28; 2.6.29
    // (fbc78b07ba5) names _PAGE_SPECIAL explicitly (§2.22). Same bits either way.
    chgMask: 0x1f000 | _PAGE_ACCESSED | _PAGE_DIRTY | (f.release >= 29 ? _PAGE_SPECIAL : 0),
  }),
  hasPteSpecial: (f) => f.release >= 27,
  protectionMap: () => protectionMap(),
  noncached: _PAGE_NO_CACHE | _PAGE_GUARDED,
  // §4.1: 56 bytes, 64 with the memcg pointer (2.6.25–2.6.27)
  structPageSize: (f) => (f.memcg && f.release <= 27 ? 64 : 56),
  // SPARSEMEM with 16 MiB sections (SECTION_SIZE_BITS 24)
  memoryModel: () => ({ kind: 'sparse', sectionShift: 12 }),
  // lockless gup_fast for 64-bit from 2.6.27 (ce0ad7f0952, GP27): the same mask test as x86 with
  // _PAGE_SPECIAL, but a speculative reference and a pte re-check — identical in a sequential model
  gupFast: (f) => (f.release >= 27 ? 'powerpc' : undefined),
});

export default powerpc64;
