// The out-of-tree powerpc64 plugin (reference §3.5, §3.1, §2.14, §2.22).
import { describe, expect, test } from 'vitest';
import {
  createMachine, defineDriver, vmInsertMixed, resolveArch, resolveFeatures, VM_MIXEDMAP, VM_MAYSHARE, VM_FAULT_NOPAGE,
  MAP_SHARED, MAP_PRIVATE, MAP_ANONYMOUS, PROT_READ, PROT_WRITE, PAGE_SIZE as PS,
} from '@mixedmap/core';
// @ts-expect-error plain ESM JS without type declarations
import powerpc64 from '../index.js';

const DEV = 0x80000000 / PS;

function machine(kernel: string) {
  const dev = defineDriver({
    name: 'dev',
    paths: () => ['/dev/x'],
    lookup: (k, _s, path) => k.inodes.get(path) ?? k.newInode(dev as never, path, 1 << 30, null),
    mmap(_k, _s, _f, vma) {
      if (!(vma.flags & VM_MAYSHARE)) return -22;
      vma.flags |= VM_MIXEDMAP;
      vma.ops = { name: 'dev_ops', fault: (v, vmf, kk) => (vmInsertMixed(kk, v, vmf.virtualAddress, DEV + vmf.pgoff), VM_FAULT_NOPAGE) };
      return 0;
    },
  });
  return createMachine({
    arch: powerpc64,
    kernel,
    memory: { ram: 64 << 20, regions: [{ name: 'dev', start: 0x80000000, size: 1 << 20, kind: 'device', structPages: false }] },
    drivers: [{ driver: dev }],
  });
}

describe('powerpc64 (hash MMU, 4 KiB pages)', () => {
  test('2.6.27: _PAGE_SPECIAL 0x10000 below the pfn field (PTE_RPN_SHIFT 17); absent in 2.6.26', () => {
    const a27 = resolveArch(powerpc64, resolveFeatures('2.6.27'));
    expect([a27.hasPteSpecial, a27.layout.special, a27.layout.pfnShift, a27.gupFast]).toEqual([true, 0x10000, 17, 'powerpc']);
    expect(a27.levels).toEqual([512, 128, 128, 512]);
    const a26 = resolveArch(powerpc64, resolveFeatures('2.6.26'));
    expect([a26.hasPteSpecial, a26.layout.special, a26.gupFast]).toEqual([false, 0, undefined]);
  });
  test('_PAGE_CHG_MASK: 0x10000 kept in 2.6.27 (inside PAGE_MASK by accident) and 2.6.29 (explicitly)', () => {
    for (const v of ['2.6.27', '2.6.29']) expect(resolveArch(powerpc64, resolveFeatures(v)).layout.chgMask & 0x10000).toBe(0x10000);
  });
  test('vm_insert_mixed gives special ptes; mprotect keeps the bit; gup_fast bails to the slow path on them', () => {
    const k = machine('2.6.27');
    const p = k.spawn('p');
    const t = p.threads[0]!;
    const o = k.open(p, '/dev/x');
    const a = k.mmap(p, { length: 2 * PS, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, file: o.file! }).addr!;
    expect(k.access(t, a, false).violations).toBeUndefined();
    expect(k.readPte(p, a)).toMatchObject({ pfn: DEV, special: true });
    expect(k.mprotect(p, a, 2 * PS, PROT_READ).violations).toBeUndefined();
    expect(k.readPte(p, a)).toMatchObject({ pfn: DEV, special: true, write: false });
    expect(k.gupFast(t, a, 1, false).ret).toBe(-14);
    // an anonymous page goes through the lockless walk
    const b = k.mmap(p, { length: PS, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS }).addr!;
    k.access(t, b, true);
    const g = k.gupFast(t, b, 1, true);
    expect(g.ret).toBe(1);
    expect(g.faults).toEqual([]);
    expect(k.putPages(p).violations).toBeUndefined();
  });
});
