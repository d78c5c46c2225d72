// x86 facts per release: the pte bits (§3.1, §3.2) and sizeof(struct page) (§4.1). struct page: flags, _count, _mapcount, {private, mapping}, index,
// lru — 56 bytes on x86-64, 32 on x86-32; include/linux/mm_types.h has the `page_cgroup` word with
// CONFIG_CGROUP_MEM_RES_CTLR only at v2.6.25, v2.6.26 and v2.6.27 (absent at v2.6.24 and v2.6.28).
import { describe, expect, test } from 'vitest';
import { resolveArch, resolveFeatures } from '@mixedmap/core';
import x86 from '../src/index.js';

const size = (kernel: string, memcg: boolean, bits?: 32): number =>
  resolveArch(x86, resolveFeatures(kernel, { memcg }), bits ? { bits } : {}).structPageSize;

describe('sizeof(struct page) (§4.1)', () => {
  test('x86-64: 56 bytes, 64 with the memcg pointer in 2.6.25–2.6.27 only', () => {
    const releases = ['2.6.24', '2.6.25', '2.6.27', '2.6.28', '2.6.32'];
    expect(releases.map((v) => size(v, false))).toEqual([56, 56, 56, 56, 56]);
    expect(releases.map((v) => size(v, true))).toEqual([56, 64, 64, 56, 56]);
  });
  test('x86-32: 32 bytes, 36 with the memcg pointer in 2.6.25–2.6.27 only', () => {
    const releases = ['2.6.19', '2.6.24', '2.6.25', '2.6.27', '2.6.28'];
    expect(releases.map((v) => size(v, false, 32))).toEqual([32, 32, 32, 32, 32]);
    expect(releases.map((v) => size(v, true, 32))).toEqual([32, 32, 36, 36, 32]);
  });
});

describe('x86 pte facts per release (§3.1, §3.2; asm-i386/asm-x86_64 pgtable.h v2.6.19–v2.6.23, asm-x86/pgtable*.h v2.6.24–v2.6.27, arch/x86/include/asm/pgtable.h v2.6.28–v2.6.29, pgtable_types.h v2.6.30–v2.6.32)', () => {
  const ACCESSED = 0x20;
  const DIRTY = 0x40;
  const PWT = 0x08;
  const PCD = 0x10;
  const SPECIAL = 0x200;
  test('__HAVE_ARCH_PTE_SPECIAL and gup_fast from 2.6.27; _PAGE_CHG_MASK grows PCD|PWT in 2.6.26 and SPECIAL in 2.6.27; PROT_NONE moves from bit 7 to bit 8 in 2.6.29', () => {
    for (let r = 19; r <= 32; r++) {
      for (const bits of [64, 32] as const) {
        const a = resolveArch(x86, resolveFeatures(`2.6.${r}`), bits === 32 ? { bits } : {});
        const at = `2.6.${r}/${bits}`;
        expect([at, a.hasPteSpecial, a.layout.special, a.gupFast]).toEqual([at, r >= 27, r >= 27 ? SPECIAL : 0, r >= 27 ? 'x86' : undefined]);
        expect([at, a.layout.chgMask]).toEqual([at, ACCESSED | DIRTY | (r >= 26 ? PCD | PWT : 0) | (r >= 27 ? SPECIAL : 0)]);
        // pte_present tests _PAGE_PRESENT | _PAGE_PROTNONE; PAGE_NONE = _PAGE_PROTNONE | _PAGE_ACCESSED
        const protnone = r >= 29 ? 0x100 : 0x80;
        expect([at, a.layout.present, a.protectionMap[0]]).toEqual([at, 1 | protnone, protnone | ACCESSED]);
        expect([at, a.layout.dirty, a.layout.young, a.layout.write]).toEqual([at, DIRTY, ACCESSED, 0x2]);
      }
    }
  });
});
