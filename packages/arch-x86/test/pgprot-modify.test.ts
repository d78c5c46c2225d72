// pgprot_modify, the optional arch capability mprotect uses from 2.6.26 (reference §2.22; mm/mprotect.c
// mprotect_fixup v2.6.26–v2.6.32, 1c12c4cf941 "mprotect: prevent alteration of the PAT bits"): x86
// keeps the old vm_page_prot's _PAGE_CHG_MASK bits (include/asm-x86/pgtable.h v2.6.26,
// arch/x86/include/asm/pgtable.h v2.6.32), so an uncached vma stays uncached; every other arch takes
// the generic fallback (the new prot alone), and before 2.6.26 mprotect assigns the new prot on all archs.
import { describe, expect, test } from 'vitest';
import {
  createMachine, defineDriver, resolveArch, resolveFeatures, ArchError, type ArchSpec,
  MAP_PRIVATE, PROT_READ, PROT_WRITE, PAGE_SIZE as PS,
} from '@mixedmap/core';
import armPlugin from '@mixedmap/arch-arm';
// @ts-expect-error plain ESM JS without type declarations
import powerpc64 from '../../../examples/arch-powerpc64/index.js';
import x86, { _PAGE_PCD, _PAGE_PWT, _PAGE_SPECIAL, _PAGE_ACCESSED, _PAGE_DIRTY } from '../src/index.js';

const RW = PROT_READ | PROT_WRITE;
const arm = armPlugin as unknown as ArchSpec; // typed against core's dist; the same object

/**
 * A driver whose mmap only makes vm_page_prot noncached (pgprot_noncached: x86 sets PCD|PWT, PCD alone from 2.6.29; arm clears
 * its cacheable/bufferable bits) and leaves vm_ops NULL: faults take anonymous pages from vm_page_prot.
 */
const uncached = defineDriver({
  name: 'uncached',
  paths: () => ['/dev/uc'],
  lookup: (k, _s, path) => k.inodes.get(path) ?? k.newInode(k.drivers.find((d) => d.driver.name === 'uncached')!.driver, path, 1 << 30, null),
  mmap(k, _s, _f, vma) {
    vma.pageProt = ((vma.pageProt & ~k.arch.layout.cache) | k.arch.noncached) >>> 0;
    return 0;
  },
});

/** Maps 2 pages private RW, writes page 0, mprotects R then RW, writes page 1: the cache bits of page 1's new pte. */
function cacheAfterMprotect(arch: ArchSpec, kernel: string): { before: number; after: number } {
  const k = createMachine({ arch, kernel, memory: { ram: 32 << 20 }, drivers: [{ driver: uncached }] });
  const p = k.spawn('p');
  const t = p.threads[0]!;
  const a = k.mmap(p, { length: 2 * PS, prot: RW, flags: MAP_PRIVATE, file: k.open(p, '/dev/uc').file! }).addr!;
  expect(k.access(t, a, true).outcome).toBe('ok');
  const before = k.readPte(p, a).cache;
  expect(k.mprotect(p, a, 2 * PS, PROT_READ).outcome).toBe('ok');
  expect(k.mprotect(p, a, 2 * PS, RW).outcome).toBe('ok');
  expect(k.access(t, a + PS, true).outcome).toBe('ok');
  return { before, after: k.readPte(p, a + PS).cache };
}

/** pgprot_noncached on x86: UC (PCD|PWT) up to 2.6.28, UC- (PCD) with PAT from 2.6.29 */
const uc = (v: string): number => (v.startsWith('6.') || Number(v.split('.')[2]) >= 29 ? _PAGE_PCD : _PAGE_PCD | _PAGE_PWT);

describe('pgprot_noncached', () => {
  test('x86: _PAGE_PCD|_PAGE_PWT (UC) up to 2.6.28 (pgtable_64.h v2.6.28); PCD alone (_PAGE_CACHE_UC_MINUS) from 2.6.29 and in 6.x', () => {
    expect(['2.6.19', '2.6.28', '2.6.29', '2.6.32', '6.x'].map((v) => resolveArch(x86, resolveFeatures(v)).noncached)).toEqual([
      _PAGE_PCD | _PAGE_PWT, _PAGE_PCD | _PAGE_PWT, _PAGE_PCD, _PAGE_PCD, _PAGE_PCD,
    ]);
  });
  test('an arch may give a plain mask; a noncached that is neither a mask nor a function is refused', () => {
    expect(resolveArch(powerpc64, resolveFeatures('2.6.29')).noncached).toBe(powerpc64.noncached);
    expect(() => resolveArch({ ...x86, noncached: 'uc' } as unknown as ArchSpec, resolveFeatures('2.6.27'))).toThrow(/noncached/);
  });
});

describe('pgprot_modify in mprotect (§2.22)', () => {
  test('x86 resolves pgprot_modify to _PAGE_CHG_MASK (SPECIAL from 2.6.27); an arch without the hook gets the generic fallback (0)', () => {
    const base = _PAGE_PCD | _PAGE_PWT | _PAGE_ACCESSED | _PAGE_DIRTY;
    expect(resolveArch(x86, resolveFeatures('2.6.25')).layout.chgMask).toBe(_PAGE_ACCESSED | _PAGE_DIRTY);
    expect(resolveArch(x86, resolveFeatures('2.6.26')).pgprotModifyKeeps).toBe(base);
    expect(resolveArch(x86, resolveFeatures('2.6.32')).pgprotModifyKeeps).toBe(base | _PAGE_SPECIAL);
    expect(resolveArch(arm, resolveFeatures('2.6.32')).pgprotModifyKeeps).toBe(0);
    expect(resolveArch(powerpc64, resolveFeatures('2.6.29')).pgprotModifyKeeps).toBe(0);
  });

  test('a non-function pgprotModifyKeeps is refused, naming the field', () => {
    const bad = { ...x86, pgprotModifyKeeps: 0x18 } as unknown as ArchSpec;
    expect(() => resolveArch(bad, resolveFeatures('2.6.27'))).toThrow(ArchError);
    expect(() => resolveArch(bad, resolveFeatures('2.6.27'))).toThrow(/pgprotModifyKeeps/);
  });

  test('x86 2.6.26 and 2.6.32: a page faulted in after mprotect of an uncached vma is still mapped uncached', () => {
    for (const v of ['2.6.26', '2.6.27', '2.6.32']) {
      expect(cacheAfterMprotect(x86, v), v).toEqual({ before: uc(v), after: uc(v) });
    }
  });

  test('x86 ≤2.6.25: mprotect_fixup assigns the new protection_map entry, the cache attribute is lost', () => {
    for (const v of ['2.6.19', '2.6.25']) {
      expect(cacheAfterMprotect(x86, v), v).toEqual({ before: _PAGE_PCD | _PAGE_PWT, after: 0 });
    }
  });

  test("pte_modify on the ptes already present: ≤2.6.25 _PAGE_CHG_MASK has no PCD/PWT, so mprotect makes them cacheable; 2.6.26+ keeps them", () => {
    const present = (kernel: string): number => {
      const k = createMachine({ arch: x86, kernel, memory: { ram: 32 << 20 }, drivers: [{ driver: uncached }] });
      const p = k.spawn('p');
      const a = k.mmap(p, { length: PS, prot: RW, flags: MAP_PRIVATE, file: k.open(p, '/dev/uc').file! }).addr!;
      expect(k.access(p.threads[0]!, a, true).outcome).toBe('ok');
      expect(k.readPte(p, a).cache).toBe(uc(kernel));
      expect(k.mprotect(p, a, PS, PROT_READ).outcome).toBe('ok');
      return k.readPte(p, a).cache;
    };
    expect(present('2.6.19')).toBe(0);
    expect(present('2.6.25')).toBe(0);
    expect(present('2.6.26')).toBe(_PAGE_PCD | _PAGE_PWT);
    expect(present('2.6.32')).toBe(_PAGE_PCD);
  });

  test('the generic fallback (arm, or x86 without the hook) takes the new prot alone on 2.6.26+', () => {
    // arm: the uncached vma's pages come back cacheable (protection_map's C|B bits) after mprotect
    const a = resolveArch(arm, resolveFeatures('2.6.32'));
    const cacheable = a.protectionMap[1 | 2]! & a.layout.cache; // __P011 (VM_READ|VM_WRITE): write-back
    expect(cacheable).not.toBe(0);
    expect(cacheAfterMprotect(arm, '2.6.32')).toEqual({ before: 0, after: cacheable });
    const generic: ArchSpec = { ...x86, name: 'x86-generic', pgprotModifyKeeps: undefined };
    expect(cacheAfterMprotect(generic, '2.6.32')).toEqual({ before: _PAGE_PCD, after: 0 });
  });
});

describe('pte_modify and the accessed bit (§2.22, §3.2)', () => {
  // x86 pte_modify ≤2.6.25 (include/asm-i386/pgtable.h, asm-x86_64/pgtable.h v2.6.19–v2.6.23,
  // asm-x86/pgtable_32.h/_64.h v2.6.24, asm-x86/pgtable.h v2.6.25) ORs the whole newprot onto the kept
  // _PAGE_CHG_MASK bits, and every user prot carries _PAGE_ACCESSED: mprotect makes an old pte young.
  // 1c12c4cf941 (v2.6.26) takes only newprot's bits outside _PAGE_CHG_MASK: the old accessed bit stays.
  test("a fork child's old pte becomes young through mprotect up to 2.6.25 and stays old from 2.6.26", () => {
    const youngAfter = (kernel: string): boolean => {
      const k = createMachine({ arch: x86, kernel, memory: { ram: 32 << 20 } });
      const p = k.spawn('p');
      const a = k.mmap(p, { length: PS, prot: RW, flags: MAP_PRIVATE | 0x20 }).addr!;
      expect(k.access(p.threads[0]!, a, true).outcome).toBe('ok');
      const c = k.fork(p, 'c').child!;
      expect(k.readPte(c, a).young).toBe(false); // copy_one_pte: pte_mkold
      expect(k.mprotect(c, a, PS, PROT_READ).outcome).toBe('ok');
      const pte = k.readPte(c, a);
      expect([pte.present, pte.write, pte.dirty]).toEqual([true, false, true]);
      return pte.young;
    };
    expect(['2.6.19', '2.6.24', '2.6.25', '2.6.26', '2.6.32', '6.x'].map(youngAfter)).toEqual([true, true, true, false, false, false]);
  });
});
