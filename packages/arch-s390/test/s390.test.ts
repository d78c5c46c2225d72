// s390 (reference §3.4, §1.5, §2.20, §2.22, §4.1, §4.2; seeds S002, S004).
import { describe, expect, test } from 'vitest';
import {
  createMachine, resolveArch, resolveFeatures, MAP_PRIVATE, MAP_SHARED, MAP_ANONYMOUS, PROT_READ, PROT_WRITE,
  PAGE_SIZE as PS, type MachineConfig, type Machine,
} from '@mixedmap/core';
import s390, { _PAGE_SPECIAL, _PAGE_TYPE_EMPTY, _PAGE_TYPE_NONE, segmentMemmapBytes, type S390State } from '@mixedmap/arch-s390';
import { clean, device, devState, mapDev, type DevSettings } from '@mixedmap/testdev';

const RW = PROT_READ | PROT_WRITE;
const MB = 1 << 20;
const DCSS = 0x10000000; // 256 MiB, above the 64 MiB of storage
const DCSS_PFN = DCSS / PS;
const segments = [
  { name: 'xipimg', start: DCSS, size: MB, type: 'SR' },
  { name: 'overlap', start: DCSS + 0x80000, size: MB, type: 'SN' },
  { name: 'other', start: 0x20000000, size: 2 * MB, type: 'EW' },
  { name: 'instore', start: 0x100000, size: MB, type: 'SC' },
];

function machine(kernel: string, archOptions: Record<string, unknown> = {}, extra: Partial<MachineConfig> & { dev?: DevSettings } = {}): Machine {
  return createMachine({
    arch: s390,
    kernel,
    archOptions: { segments, ...archOptions },
    memory: { ram: 64 * MB },
    drivers: extra.dev ? [{ driver: device(extra.dev) }] : [],
    ...extra,
  });
}

const op = (k: Machine, name: string, args: Record<string, unknown> = {}) => clean(k.driverOp('s390', name, args));
const load = (k: Machine, name: string, shared?: boolean) => op(k, 'segment_load', shared === undefined ? { name } : { name, shared });
const pfnValid = (k: Machine, pfn: number) => op(k, 'pfn_valid', { pfn }).ret;

describe('s390 pte (PS20, PS26, PS32)', () => {
  test('types: empty 0x400, PROT_NONE 0x401 (present), read-only 0x200, read-write 0x000; no dirty/young bits', () => {
    const a = resolveArch(s390, resolveFeatures('2.6.26'));
    expect(a.layout).toMatchObject({ none: 0x400, dirty: 0, young: 0, special: 0x004, write: 0x200, writeXor: 0x200 });
    const k = machine('2.6.26');
    expect(k.pte.isNone(_PAGE_TYPE_EMPTY, 0)).toBe(true);
    expect(k.pte.present(_PAGE_TYPE_EMPTY)).toBe(false);
    expect(k.pte.present(_PAGE_TYPE_NONE)).toBe(true);
    expect(k.pte.hwPresentBit(_PAGE_TYPE_NONE)).toBe(false);
    expect([k.pte.present(0x200), k.pte.write(0x200), k.pte.present(0), k.pte.write(0)]).toEqual([true, false, true, true]);
    expect(k.pte.mkdirty(0x200)).toBe(0x200); // pte_mkdirty is a no-op: the storage key holds the change bit
    expect(k.pte.wrprotect(0)).toBe(0x200);
    expect(k.pte.mkwrite(0x200)).toBe(0);
  });
  test('a read-only private mapping installs the protect bit; a shared writable one does not; ptes are never dirty', () => {
    const k = machine('2.6.26');
    const p = k.spawn('p');
    const t = p.threads[0]!;
    const priv = k.mmap(p, { length: PS, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS }).addr!;
    clean(k.access(t, priv, true));
    const pte = k.readPte(p, priv);
    expect(pte).toMatchObject({ present: true, write: true, dirty: false, young: false, special: false });
    expect(pte.lo & 0xfff).toBe(0x000);
    const zero = machine('2.6.32');
    const q = zero.spawn('q');
    const z = zero.mmap(q, { length: PS, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS }).addr!;
    clean(zero.access(q.threads[0]!, z, false));
    expect(zero.readPte(q, z)).toMatchObject({ pfn: zero.zeroPfn, special: true, write: false }); // E5: special zero pte
    expect(zero.readPte(q, z).lo & 0x200).toBe(0x200);
  });
  test('pte_special: 0x004 from 2.6.26 (a08cb629f54), absent before; lockless gup_fast never', () => {
    for (let r = 19; r <= 32; r++) {
      const a = resolveArch(s390, resolveFeatures(`2.6.${r}`));
      expect([a.hasPteSpecial, a.layout.special]).toEqual(r >= 26 ? [true, _PAGE_SPECIAL] : [false, 0]);
      expect(a.gupFast).toBeUndefined();
    }
  });
  test('_PAGE_CHG_MASK keeps _PAGE_SPECIAL from 138c9021ca6; specialSurvivesMprotect: false is the rc state', () => {
    expect(resolveArch(s390, resolveFeatures('2.6.26')).layout.chgMask).toBe(_PAGE_SPECIAL);
    expect(resolveArch(s390, resolveFeatures('2.6.32')).layout.chgMask).toBe(_PAGE_SPECIAL);
    expect(resolveArch(s390, resolveFeatures('2.6.26'), { specialSurvivesMprotect: false }).layout.chgMask).toBe(0);
  });
});

describe('geometry, struct page, PGSTE what-if', () => {
  test('2.6.25+: 2048 × 2048 × 256, 2 KiB page tables; ≤2.6.24: 2048 × 1024 × 512 with 4 KiB pte pages; 56-byte struct page', () => {
    const k = machine('2.6.26');
    expect([k.arch.levels, k.arch.pteTableBytes, k.arch.pteBytes, k.arch.structPageSize]).toEqual([[2048, 2048, 256], 2048, 8, 56]);
    const k24 = machine('2.6.24');
    expect([k24.arch.levels, k24.arch.pteTableBytes]).toEqual([[2048, 1024, 512], 4096]);
    expect(machine('2.6.25', {}, { kernelOptions: { memcg: true } }).arch.structPageSize).toBe(64);
    expect(k.arch.taskSize).toBe(2 ** 42);
  });
  test('≤2.6.24 a pmd entry is 16 bytes (pmd0/pmd1, page.h v2.6.24): pgd and pmd tables are both 16 KiB crst tables; from 2.6.25 every directory entry is 8 bytes', () => {
    const firstFault = (v: string) => {
      const k = machine(v);
      const p = k.spawn('p');
      const before = k.pageTableBytes(p);
      const a = k.mmap(p, { length: PS, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS }).addr!;
      clean(k.access(p.threads[0]!, a, true));
      return [k.arch.dirEntryBytes, before, k.pageTableBytes(p) - before];
    };
    // pgd 2048 × 8 = 16 KiB; a first fault adds a pmd table and a pte table
    expect(firstFault('2.6.24')).toEqual([[8, 16], 16384, 1024 * 16 + 4096]);
    expect(firstFault('2.6.25')).toEqual([[8, 8], 16384, 2048 * 8 + 2048]);
  });
  test('6.x profile: a 64-byte struct page (memcg_data word; s390 Kconfig selects HAVE_ALIGNED_STRUCT_PAGE, two-word alignment), as the x86 arch models it', () => {
    expect(machine('6.x').arch.structPageSize).toBe(64);
    expect(machine('2.6.32').arch.structPageSize).toBe(56);
  });
  test("pgsteSpecial (S002, Linus' 'extra memory for page tables'): pte_special before 2.6.26 at +100 % page-table memory", () => {
    const plain = machine('2.6.25');
    const pgste = machine('2.6.25', { pgsteSpecial: true });
    expect([plain.arch.hasPteSpecial, pgste.arch.hasPteSpecial]).toEqual([false, true]);
    expect([plain.arch.pteTableBytes, pgste.arch.pteTableBytes]).toEqual([2048, 4096]);
    expect(pgste.arch.layout.chgMask & _PAGE_SPECIAL).toBe(_PAGE_SPECIAL); // the shadow word is not touched by pte_modify
    const cost = (k: Machine) => {
      const p = k.spawn('p');
      const a = k.mmap(p, { length: 64 * PS, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS }).addr!;
      for (let i = 0; i < 64; i++) clean(k.access(p.threads[0]!, a + i * PS, true));
      const b = k.mmap(p, { length: PS, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS, addr: 0x100000000 }).addr!;
      clean(k.access(p.threads[0]!, b, true));
      const leaves = p.mm!.pt.tablesPerLevel.at(-1)!;
      return { leaves, leafBytes: leaves * k.arch.pteTableBytes, total: k.pageTableBytes(p) };
    };
    const c0 = cost(plain);
    const c1 = cost(pgste);
    expect(c1.leaves).toBe(c0.leaves);
    expect(c1.leafBytes).toBe(2 * c0.leafBytes);
    expect(c1.total - c0.total).toBe(c0.leafBytes);
  });
  test('pgsteSpecial with the 2.6.26 VM core on a 2.6.25 kernel: remap_pfn_range ptes become special', () => {
    const opts = { kernelOptions: { features: { mkspecialPfnPtes: true, vmNormalPage: 'B' } }, dev: { mode: 'remap', pfnFor: () => DCSS_PFN } as DevSettings };
    const k = machine('2.6.25', { pgsteSpecial: true }, opts);
    load(k, 'xipimg');
    const p = k.spawn('p');
    const a = mapDev(k, p, 1, PROT_READ, MAP_SHARED);
    expect(k.readPte(p, a)).toMatchObject({ pfn: DCSS_PFN, special: true });
    expect(k.vmNormalPage(p, a)).toBe(-1);
    clean(k.munmap(p, a, PS));
  });
});

describe('DCSS: segment_load / segment_unload error matrix (§2.20)', () => {
  test('not under z/VM → -ENOSYS', () => {
    const k = machine('2.6.26', { zvm: false });
    expect(k.driverOp('s390', 'segment_load', { name: 'xipimg' })).toMatchObject({ ret: -38, errno: 'ENOSYS' });
  });
  test('unknown segment → -ENOENT; the return value is the segment type', () => {
    const k = machine('2.6.26');
    expect(k.driverOp('s390', 'segment_load', { name: 'nosuch' }).errno).toBe('ENOENT');
    expect(load(k, 'xipimg').ret).toBe(2); // SEG_TYPE_SR
    expect(load(k, 'other').ret).toBe(1); // SEG_TYPE_EW
  });
  test('repeated shared loads count references; a mode clash → -EPERM', () => {
    const k = machine('2.6.24', { mem: 512 * MB });
    expect(load(k, 'xipimg').ret).toBe(2);
    expect(load(k, 'xipimg', true).ret).toBe(2);
    expect((k.archState as S390State).loaded.get('XIPIMG')!.refCount).toBe(2);
    const clash = k.driverOp('s390', 'segment_load', { name: 'xipimg', shared: false });
    expect(clash.errno).toBe('EPERM');
    expect(clash.reports.join()).toMatch(/already loaded in shared mode/);
    op(k, 'segment_unload', { name: 'xipimg' });
    expect(pfnValid(k, DCSS_PFN)).toBe(1); // still one user
    op(k, 'segment_unload', { name: 'xipimg' });
    expect(pfnValid(k, DCSS_PFN)).toBe(0);
    expect(op(k, 'segment_unload', { name: 'xipimg' }).reports.join()).toMatch(/not loaded/);
  });
  test('overlap with a loaded segment → -ENOSPC; 2.6.28+ with LOADSHRX → -EBUSY; storage overlap → -ENOSPC (mem_segs), not the resource -EBUSY', () => {
    const k26 = machine('2.6.26');
    load(k26, 'xipimg');
    expect(k26.driverOp('s390', 'segment_load', { name: 'overlap' }).errno).toBe('ENOSPC');
    // vmem_convert_memory_chunk put the storage into mem_segs: insert_memory_segment says -ENOSPC
    // before extmem.c reaches request_resource
    expect(k26.driverOp('s390', 'segment_load', { name: 'instore' }).errno).toBe('ENOSPC');
    for (const v of ['2.6.20', '2.6.21', '2.6.25', '2.6.27', '2.6.32']) {
      expect(machine(v).driverOp('s390', 'segment_load', { name: 'instore' }).errno).toBe('ENOSPC');
    }
    const k27 = machine('2.6.27');
    load(k27, 'xipimg');
    expect(k27.driverOp('s390', 'segment_load', { name: 'overlap' }).errno).toBe('ENOSPC'); // no LOADSHRX before 2.6.28
    for (const v of ['2.6.28', '2.6.32']) {
      const k = machine(v);
      load(k, 'xipimg');
      expect(k.driverOp('s390', 'segment_load', { name: 'overlap' }).errno).toBe('EBUSY'); // b2300b9efe1 (2.6.28)
      const old = machine(v, { loadshrx: false });
      load(old, 'xipimg');
      expect(old.driverOp('s390', 'segment_load', { name: 'overlap' }).errno).toBe('ENOSPC');
    }
  });
  test('LOADSHRX compares megabytes: a segment in the same MiB as a loaded one is -EBUSY though the bytes do not overlap', () => {
    const segs = [...segments, { name: 'nextdoor', start: DCSS + MB + 0x80000, size: 0x80000, type: 'SR' }];
    const k = machine('2.6.32', { segments: segs });
    expect(load(k, 'xipimg').ret).toBe(2); // 0x10000000–0x100fffff
    expect(load(k, 'nextdoor').ret).toBe(2); // next MiB: fine
    const j = machine('2.6.32', { segments: [...segs, { name: 'tail', start: DCSS + MB, size: 0x80000, type: 'SR' }] });
    load(j, 'tail'); // 0x10100000–0x1017ffff
    expect(j.driverOp('s390', 'segment_load', { name: 'nextdoor' }).errno).toBe('EBUSY'); // same MiB 0x101
  });
  test('2.6.19 (segment_exceeds_range / _overlaps_storage / _overlaps_others): ERANGE, storage → ENOSPC, loaded DCSS → EBUSY', () => {
    expect(machine('2.6.19').driverOp('s390', 'segment_load', { name: 'xipimg' }).errno).toBe('ERANGE');
    const k = machine('2.6.19', { mem: 1024 * MB });
    expect(k.driverOp('s390', 'segment_load', { name: 'instore' }).errno).toBe('ENOSPC');
    expect(load(k, 'xipimg').ret).toBe(2);
    const r = k.driverOp('s390', 'segment_load', { name: 'overlap' });
    expect(r.errno).toBe('EBUSY'); // 2.6.20+ would say -ENOSPC (mem_segs)
    expect(r.reports.join()).toMatch(/overlaps other segments/);
    // the last pfn may equal max_pfn (the test is `seg->end >> PAGE_SHIFT > max_pfn`)
    const edge = machine('2.6.19', { mem: DCSS + MB - PS, segments: [{ name: 'edge', start: DCSS, size: MB, type: 'SR' }] });
    expect(load(edge, 'edge').ret).toBe(2);
  });
  test('-ERANGE: ≤2.6.24 a segment ending above max_pfn; 2.6.25+ only above VMEM_MAX_PHYS', () => {
    expect(machine('2.6.24').driverOp('s390', 'segment_load', { name: 'xipimg' }).errno).toBe('ERANGE');
    expect(machine('2.6.20').driverOp('s390', 'segment_load', { name: 'xipimg' }).errno).toBe('ERANGE');
    expect(load(machine('2.6.24', { mem: 512 * MB }), 'xipimg').ret).toBe(2); // mem= raises max_pfn (SET24)
    expect(load(machine('2.6.25'), 'xipimg').ret).toBe(2);
    expect(machine('2.6.26', { vmemMaxPhys: 0x10000000 }).driverOp('s390', 'segment_load', { name: 'xipimg' }).errno).toBe('ERANGE');
  });
  test('VMEM_MAX_PHYS of s390x is 0x3e000000000 (VMALLOC_START, the smaller term; pgtable.h v2.6.25/v2.6.26, pgtable.c v2.6.32); 2.6.25 refuses a segment ending exactly there, 2.6.26+ accepts it (vmem.c v2.6.25 vs v2.6.26)', () => {
    const VMAX = 0x3e000000000;
    const below = [{ name: 'high', start: VMAX - 16 * MB, size: 16 * MB, type: 'SR' }]; // ends exactly at VMEM_MAX_PHYS
    const above = [{ name: 'high', start: VMAX - 16 * MB, size: 32 * MB, type: 'SR' }];
    const res = (v: string, segs: typeof below) => machine(v, { segments: segs }).driverOp('s390', 'segment_load', { name: 'high' });
    expect(res('2.6.26', below).ret).toBe(2);
    expect(res('2.6.32', below).ret).toBe(2);
    expect(res('2.6.25', below).errno).toBe('ERANGE');
    expect(res('2.6.26', above).errno).toBe('ERANGE');
    // a segment between 0x3c000000000 and VMEM_MAX_PHYS loads
    expect(res('2.6.26', [{ name: 'high', start: 0x3d000000000, size: 16 * MB, type: 'SR' }]).ret).toBe(2);
  });
  test('segment_modify_shared: not loaded → -EINVAL; two users → -EAGAIN; one user → switches the mode', () => {
    const k = machine('2.6.26');
    expect(k.driverOp('s390', 'segment_modify_shared', { name: 'xipimg', shared: false }).errno).toBe('EINVAL');
    load(k, 'xipimg');
    load(k, 'xipimg');
    expect(k.driverOp('s390', 'segment_modify_shared', { name: 'xipimg', shared: false }).errno).toBe('EAGAIN');
    op(k, 'segment_unload', { name: 'xipimg' });
    expect(op(k, 'segment_modify_shared', { name: 'xipimg', shared: false }).ret).toBe(0);
    expect(load(k, 'xipimg', false).ret).toBe(2);
    expect(k.driverOp('s390', 'segment_load', { name: 'xipimg' }).errno).toBe('EPERM');
  });
});

describe('storage below mem= (arch/s390/kernel/setup.c; §1.5, §2.20)', () => {
  const upper = [{ name: 'upper', start: 48 * MB, size: MB, type: 'SR' }];
  const storageEnd = (k: Machine) => Math.max(...k.mem.regions.filter((r) => r.kind === 'ram').map((r) => r.start + r.size));
  test('2.6.20+: setup_memory_end cuts the storage chunks at mem=: no pages, no pfn_valid and no mem_segs entry above it; 2.6.25+ a DCSS loads there', () => {
    // pfn_valid at 36 MiB: the LRA fails (≤2.6.25), no 32 MiB section (2.6.26); from 2.6.27 the 256 MiB
    // section of the storage below 32 MiB covers it [DERIVED]
    for (const [v, ret, valid36] of [['2.6.20', -34, 0], ['2.6.24', -34, 0], ['2.6.25', 2, 0], ['2.6.26', 2, 0], ['2.6.32', 2, 1]] as const) {
      const k = machine(v, { mem: 32 * MB, segments: upper });
      expect([v, storageEnd(k)]).toEqual([v, 32 * MB]);
      expect(k.mem.freeCount()).toBeLessThan((32 * MB) / PS);
      expect([v, pfnValid(k, (36 * MB) / PS)]).toEqual([v, valid36]);
      // ≤2.6.24 insert_memory_segment: it ends above max_pfn (−ERANGE); 2.6.25+ only VMEM_MAX_PHYS
      // bounds it and the storage above mem= is no longer in mem_segs, so it loads (was −ENOSPC)
      expect([v, load(k, 'upper').ret]).toEqual([v, ret]);
    }
  });
  test('2.6.19: init_bootmem(start_pfn, max_pfn) — storage above mem= is given neither to the page allocator nor a struct page', () => {
    const k = machine('2.6.19', { mem: 32 * MB });
    expect(storageEnd(k)).toBe(32 * MB);
    expect(k.mem.freeCount()).toBeLessThan((32 * MB) / PS);
    expect(pfnValid(k, (32 * MB) / PS)).toBe(0);
  });
  test('2.6.19 64-bit setup_arch: `memory_end &= ~0x200000UL` clears bit 21, so 66 MiB of storage gives max_pfn at 64 MiB; 2.6.20 (`&= PAGE_MASK`) keeps 66 MiB', () => {
    const ram66 = { memory: { ram: 66 * MB } };
    const k19 = machine('2.6.19', {}, ram66);
    const k20 = machine('2.6.20', {}, ram66);
    expect([storageEnd(k19), storageEnd(k20)]).toEqual([64 * MB, 66 * MB]);
    expect([pfnValid(k19, (64 * MB) / PS), pfnValid(k20, (64 * MB) / PS)]).toEqual([0, 1]);
    const mem = machine('2.6.19', { mem: 0x40000000 + 66 * MB }); // mem= is cut the same way
    expect([pfnValid(mem, (0x40000000 + 64 * MB) / PS - 1), pfnValid(mem, (0x40000000 + 64 * MB) / PS)]).toEqual([1, 0]);
  });
  test('2.6.25+ (9f4b0ba81f1): storage chunks are aligned to MAX_ORDER − 1 (1 MiB), so a 512 KiB tail is dropped; 2.6.24 keeps it', () => {
    const ram = { memory: { ram: 64 * MB + 512 * 1024 } };
    const ends = ['2.6.24', '2.6.25', '2.6.26'].map((v) => storageEnd(machine(v, {}, ram)));
    expect(ends).toEqual([64 * MB + 512 * 1024, 64 * MB, 64 * MB]);
    expect(['2.6.24', '2.6.25', '2.6.26'].map((v) => pfnValid(machine(v, {}, ram), (64 * MB) / PS))).toEqual([1, 0, 0]);
  });
  test('mem= leaving less than 1 MiB of storage is refused, naming the option', () => {
    expect(() => machine('2.6.26', { mem: 512 * 1024 })).toThrow(expect.objectContaining({ field: 'archOptions.mem' }));
  });
});

describe('pfn_valid at run time (§1.5, §2.20, S004)', () => {
  test('2.6.19: static pfn_valid = pfn < max_mapnr (max_pfn, raised by mem=), before and after a load and unload', () => {
    const k = machine('2.6.19', { mem: 1024 * MB });
    expect(pfnValid(k, DCSS_PFN)).toBe(1); // include/asm-s390/page.h v2.6.19: no LRA, no run-time state
    expect(pfnValid(k, 1024 * MB / PS - 1)).toBe(1);
    expect(pfnValid(k, 1024 * MB / PS)).toBe(0);
    expect(k.mem.inMemmap(DCSS_PFN)).toBe(true); // the flat mem_map covers every pfn below max_pfn
    expect(k.pageInfo(DCSS_PFN)).toMatchObject({ count: 1, mapcount: 0, reserved: true });
    expect(load(k, 'xipimg').ret).toBe(2);
    expect(pfnValid(k, DCSS_PFN)).toBe(1);
    expect(segmentMemmapBytes(k.archState as S390State)).toBe(0); // nothing allocated at load (no add_shared_memory)
    op(k, 'segment_unload', { name: 'xipimg' });
    expect(pfnValid(k, DCSS_PFN)).toBe(1);
    expect(pfnValid(machine('2.6.19'), DCSS_PFN)).toBe(0); // no mem=: max_pfn is the end of storage
  });
  test('≤2.6.24 (with mem= above the DCSS): loading makes the DCSS pfn_valid (reserved struct pages, count 1), unloading flips it back', () => {
    const k = machine('2.6.24', { mem: 1024 * MB });
    expect(pfnValid(k, DCSS_PFN)).toBe(0);
    const mm0 = k.mem.memMapBytes();
    load(k, 'xipimg');
    expect(pfnValid(k, DCSS_PFN)).toBe(1);
    expect(k.pageInfo(DCSS_PFN)).toMatchObject({ count: 1, mapcount: 0, reserved: true });
    expect(k.mem.memMapBytes() - mm0).toBe(256 * 56);
    op(k, 'segment_unload', { name: 'xipimg' });
    expect(pfnValid(k, DCSS_PFN)).toBe(0);
    expect(k.mem.memMapBytes()).toBe(mm0); // unreachable through pfn_valid …
    const st = k.archState as S390State;
    expect(segmentMemmapBytes(st)).toBe(256 * 56); // … but still allocated
    expect(op(k, 'segment_info').ret).toBe(256 * 56);
    load(k, 'xipimg'); // the memmap is populated already: no second allocation
    expect(segmentMemmapBytes(st)).toBe(256 * 56);
    expect(load(k, 'other').ret).toBe(1);
    expect(op(k, 'segment_info', { name: 'other' }).ret).toBe(1);
    expect(segmentMemmapBytes(st)).toBe((256 + 512) * 56);
  });
  test('2.6.25: a DCSS above max_pfn loads and gets struct pages but stays !pfn_valid; below max_pfn it flips', () => {
    const k = machine('2.6.25');
    load(k, 'xipimg');
    expect(pfnValid(k, DCSS_PFN)).toBe(0);
    expect(k.mem.inMemmap(DCSS_PFN)).toBe(true);
    expect(segmentMemmapBytes(k.archState as S390State)).toBe(256 * 56);
    const m = machine('2.6.25', { mem: 512 * MB });
    load(m, 'xipimg');
    expect(pfnValid(m, DCSS_PFN)).toBe(1);
  });
  for (const v of ['2.6.26', '2.6.32']) {
    test(`${v}: sparsemem — a DCSS gets no struct pages and never becomes pfn_valid`, () => {
      const k = machine(v, { mem: 512 * MB });
      const mm0 = k.mem.memMapBytes();
      load(k, 'xipimg');
      expect(pfnValid(k, DCSS_PFN)).toBe(0);
      expect(k.mem.memMapBytes()).toBe(mm0);
      expect(op(k, 'segment_info').ret).toBe(0);
      op(k, 'segment_unload', { name: 'xipimg' });
      expect(pfnValid(k, DCSS_PFN)).toBe(0);
    });
  }
  test('section size: 32 MiB in 2.6.26, 256 MiB in 2.6.32 (a segment sharing a section with storage is pfn_valid [DERIVED])', () => {
    expect(machine('2.6.26').mem.sectionShift).toBe(13);
    expect(machine('2.6.32').mem.sectionShift).toBe(16);
    // the 64-bit section grew to 256 MiB in 2.6.27 (asm-s390/sparsemem.h at v2.6.26 vs v2.6.27)
    expect([machine('2.6.27').mem.sectionShift, machine('2.6.28').mem.sectionShift]).toEqual([16, 16]);
    const segs = [{ name: 'near', start: 100 * MB, size: MB, type: 'SR' }];
    const k26 = createMachine({ arch: s390, kernel: '2.6.26', archOptions: { segments: segs }, memory: { ram: 80 * MB } });
    const k32 = createMachine({ arch: s390, kernel: '2.6.32', archOptions: { segments: segs }, memory: { ram: 80 * MB } });
    load(k26, 'near');
    load(k32, 'near');
    expect([pfnValid(k26, (100 * MB) / PS), pfnValid(k32, (100 * MB) / PS)]).toEqual([0, 1]);
  });
  test('the "100 guests" arithmetic (§4.2): 56 B per 4 KiB page, 1.367 % of the image per guest', () => {
    const segs = [{ name: 'distro', start: 0x40000000, size: 64 * MB, type: 'SR' }];
    const k = createMachine({ arch: s390, kernel: '2.6.25', archOptions: { segments: segs } });
    load(k, 'distro');
    const bytes = segmentMemmapBytes(k.archState as S390State);
    expect(bytes).toBe(16384 * 56);
    expect((bytes / (64 * MB)) * 100).toBeCloseTo(1.367, 3);
  });
});

describe('vm_insert_mixed on s390 (special arch from 2.6.26) and the mprotect special-bit loss (§2.22)', () => {
  const dcssDev: DevSettings = { mode: 'insert-mixed', ownPages: 1, allowPrivate: true, pfnFor: (i, own) => (i === 0 ? DCSS_PFN : own[0]!) };
  test('2.6.26: DCSS pfn and a pfn_valid RAM page are both special and uncounted (contrast arm)', () => {
    const k = machine('2.6.26', {}, { dev: dcssDev });
    const R = devState(k).own[0]!;
    load(k, 'xipimg');
    const p = k.spawn('p');
    const a = mapDev(k, p, 2, PROT_READ, MAP_SHARED);
    const c = k.pageInfo(R)!.count;
    clean(k.access(p.threads[0]!, a, false));
    clean(k.access(p.threads[0]!, a + PS, false));
    expect(k.readPte(p, a)).toMatchObject({ pfn: DCSS_PFN, special: true });
    expect(k.readPte(p, a + PS)).toMatchObject({ pfn: R, special: true });
    expect([k.vmNormalPage(p, a), k.vmNormalPage(p, a + PS)]).toEqual([-1, -1]);
    expect(k.pageInfo(R)!.count).toBe(c);
    expect(k.rss(p)).toEqual({ file: 0, anon: 0 });
    // get_user_pages: follow_page → -EFAULT on the special pte (2.6.26 has no get_user_pages_fast yet)
    expect(k.gup(p.threads[0]!, a, 1, false).ret).toBe(-14);
    expect(k.gupFast(p.threads[0]!, a, 1, false).errno).toBe('ENOSYS');
  });
  test('with the fix (2.6.26 final): mprotect keeps _PAGE_SPECIAL; munmap is clean', () => {
    const k = machine('2.6.26', {}, { dev: dcssDev });
    load(k, 'xipimg');
    const p = k.spawn('p');
    const a = mapDev(k, p, 2, RW, MAP_SHARED);
    clean(k.access(p.threads[0]!, a, false));
    clean(k.access(p.threads[0]!, a + PS, false));
    clean(k.mprotect(p, a, 2 * PS, PROT_READ));
    expect(k.readPte(p, a)).toMatchObject({ special: true, write: false });
    expect(k.readPte(p, a + PS)).toMatchObject({ special: true });
    clean(k.munmap(p, a, 2 * PS));
  });
  test('before 138c9021ca6: mprotect drops the bit; the DCSS pfn is then taken for a struct page → oops at munmap', () => {
    const k = machine('2.6.26', { specialSurvivesMprotect: false }, { dev: dcssDev });
    load(k, 'xipimg');
    const p = k.spawn('p');
    const a = mapDev(k, p, 1, RW, MAP_SHARED);
    clean(k.access(p.threads[0]!, a, false));
    expect(k.readPte(p, a).special).toBe(true);
    const m = k.mprotect(p, a, PS, PROT_READ);
    expect(m.outcome).toBe('ok');
    expect(k.readPte(p, a)).toMatchObject({ special: false, pfn: DCSS_PFN });
    expect(m.violations).toBeDefined(); // the checker's vm_normal_page already trips over it
    const u = k.munmap(p, a, PS);
    expect(u.outcome).toBe('oops');
    expect(u.oops!.condition).toMatch(/pfn_to_page/);
  });
  test('before 138c9021ca6 with a pfn_valid page: the lost bit makes zap unmap a page that was never mapped → "Eeek" BUG', () => {
    const k = machine('2.6.26', { specialSurvivesMprotect: false }, { dev: { ...dcssDev, pfnFor: (_i, own) => own[0]! } });
    const p = k.spawn('p');
    const a = mapDev(k, p, 1, RW, MAP_SHARED);
    clean(k.access(p.threads[0]!, a, false));
    const m = k.mprotect(p, a, PS, PROT_READ);
    expect(k.readPte(p, a).special).toBe(false);
    expect(m.violations?.join(' ')).toMatch(/page_mapcount 0 but 1 ptes/);
    const u = k.munmap(p, a, PS);
    expect(u.outcome).toBe('oops');
    expect(u.oops!.condition).toMatch(/Eeek|negative/);
  });
  test('2.6.32 keeps it too', () => {
    const k = machine('2.6.32', {}, { dev: dcssDev });
    load(k, 'xipimg');
    const p = k.spawn('p');
    const a = mapDev(k, p, 1, RW, MAP_SHARED);
    clean(k.access(p.threads[0]!, a, false));
    clean(k.mprotect(p, a, PS, PROT_READ));
    expect(k.readPte(p, a).special).toBe(true);
    clean(k.munmap(p, a, PS));
  });
  // zap_pte_range / page_remove_rmap on a page the lost bit exposes (what-if: the -rc _PAGE_CHG_MASK on a
  // later release): up to 2.6.28 page_remove_rmap BUG()s ("Eeek!"); from 2.6.29 (3dc147414cc) zap
  // prints a bad-pte report and goes on
  test('a mapcount gone negative at zap: "Eeek" BUG in 2.6.28, print_bad_pte in 2.6.29 (3dc147414cc)', () => {
    for (const v of ['2.6.28', '2.6.29']) {
      const k = machine(v, { specialSurvivesMprotect: false }, { dev: { ...dcssDev, pfnFor: (_i, own) => own[0]! } });
      const p = k.spawn('p');
      const a = mapDev(k, p, 1, RW, MAP_SHARED);
      clean(k.access(p.threads[0]!, a, false));
      k.mprotect(p, a, PS, PROT_READ);
      expect(k.readPte(p, a).special, v).toBe(false);
      const u = k.munmap(p, a, PS);
      if (v === '2.6.28') {
        expect(u.outcome).toBe('oops');
        expect(u.oops!.condition).toMatch(/went negative/);
      } else {
        expect(u.outcome).toBe('ok');
        expect(u.reports.join('\n')).toMatch(/page_mapcount < 0 after page_remove_rmap/);
      }
    }
  });
  // copy_one_pte → page_dup_rmap on that page: with CONFIG_DEBUG_VM 2.6.22–2.6.28 BUG_ON(page_mapcount
  // == 0) (RM28); 2.6.29 keeps only the anon check (RM29) and the child's pte takes a mapcount
  test('fork of the exposed page with CONFIG_DEBUG_VM: page_dup_rmap BUGs in 2.6.28, not in 2.6.29', () => {
    for (const v of ['2.6.28', '2.6.29']) {
      const k = machine(v, { specialSurvivesMprotect: false }, { kernelOptions: { debugVm: true }, dev: { ...dcssDev, pfnFor: (_i, own) => own[0]! } });
      const R = devState(k).own[0]!;
      const p = k.spawn('p');
      const a = mapDev(k, p, 2, RW, MAP_PRIVATE);
      clean(k.access(p.threads[0]!, a, false));
      clean(k.access(p.threads[0]!, a + PS, true)); // a COW gives the vma an anon_vma: fork copies it
      k.mprotect(p, a, 2 * PS, PROT_READ);
      expect(k.readPte(p, a), v).toMatchObject({ special: false, pfn: R });
      const f = k.fork(p, 'c');
      if (v === '2.6.28') {
        expect(f.outcome).toBe('oops');
        expect(f.oops!.condition).toMatch(/page_dup_rmap/);
      } else {
        expect(f.outcome).toBe('ok');
        expect(k.pageInfo(R)!.mapcount).toBe(1); // the child's pte counted, the parent's never was
      }
    }
  });
  test('private writable DCSS mapping: a write COWs from the user address into an anonymous page (C4)', () => {
    const k = machine('2.6.27', {}, { dev: dcssDev });
    load(k, 'xipimg');
    const p = k.spawn('p');
    const a = mapDev(k, p, 1, RW, MAP_PRIVATE);
    clean(k.access(p.threads[0]!, a, false));
    clean(k.access(p.threads[0]!, a, true));
    const pte = k.readPte(p, a);
    expect(pte).toMatchObject({ special: false, write: true });
    expect(k.pageInfo(pte.pfn)!.anon).toBe(true);
    clean(k.munmap(p, a, PS));
  });
});
