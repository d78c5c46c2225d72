// arm (reference §3.3, §1.5, §2.7, §2.10, §2.14, §4.1, scenarios B8 and C15).
import { describe, expect, test } from 'vitest';
import {
  createMachine, resolveArch, resolveFeatures, MAP_PRIVATE, MAP_SHARED, MAP_ANONYMOUS, PROT_READ, PROT_WRITE,
  PAGE_SIZE as PS, VM_MIXEDMAP, type MachineConfig,
} from '@mixedmap/core';
import arm, { PA26, PA32, armPteBits, parseBanks } from '@mixedmap/arch-arm';
import { clean, device, devState, mapDev, type DevSettings } from '@mixedmap/testdev';

const RW = PROT_READ | PROT_WRITE;
const FLASH = 0x40000000; // NOR flash: no struct pages
const FLASH_PFN = FLASH / PS;

function machine(kernel: string, extra: Partial<MachineConfig> & { dev?: DevSettings } = {}) {
  return createMachine({
    arch: arm,
    kernel,
    memory: { ram: 16 << 20, regions: [{ name: 'nor', start: FLASH, size: 4 << 20, kind: 'flash', structPages: false }] },
    drivers: extra.dev ? [{ driver: device(extra.dev) }] : [],
    ...extra,
  });
}

describe('arm pte layout (PA26, PA32)', () => {
  test('2.6.26 Linux pte bits: PRESENT 0, YOUNG 1, USER 4, WRITE 5, EXEC 6, DIRTY 7', () => {
    const a = resolveArch(arm, resolveFeatures('2.6.26'));
    expect(a.layout).toMatchObject({ present: 1, young: 2, write: 0x20, dirty: 0x80, special: 0, user: 0x10, cache: 0xc, none: 0 });
    expect([PA26.FILE, PA26.YOUNG]).toEqual([2, 2]); // FILE shares YOUNG's bit (only when !PRESENT)
  });
  test('2.6.32 Linux pte bits: YOUNG 1, FILE 2, MT 2–5, DIRTY 6, WRITE 7, USER 8, EXEC 9', () => {
    const a = resolveArch(arm, resolveFeatures('2.6.32'));
    expect(a.layout).toMatchObject({ present: 1, young: 2, dirty: 0x40, write: 0x80, user: 0x100, special: 0, cache: 0x3c });
    expect(PA32.FILE).toBe(4);
    expect(resolveArch(arm, resolveFeatures('2.6.32'), { pteLayout: 'pa26' }).layout.write).toBe(0x20);
  });
  test('L_PTE_FILE shares YOUNG\'s bit 1 up to 2.6.31 and has its own bit 2 from 2.6.32 (arm pgtable.h at v2.6.28 … v2.6.31 vs v2.6.32, 6a00cded915)', () => {
    const file = (v: string) => armPteBits(resolveFeatures(v), {}).FILE;
    expect(['2.6.26', '2.6.27', '2.6.28', '2.6.29', '2.6.30', '2.6.31', '2.6.32'].map(file)).toEqual([2, 2, 2, 2, 2, 2, 4]);
    // the rest of the 2.6.28–2.6.31 layout is the memory-type one
    expect(armPteBits(resolveFeatures('2.6.30'), {})).toMatchObject({ DIRTY: 0x40, WRITE: 0x80, USER: 0x100, EXEC: 0x200, CACHE: 0x3c });
  });
  test('no pte_special in any release: mask 0, pte_mkspecial is the identity', () => {
    for (let r = 19; r <= 32; r++) {
      const k = createMachine({ arch: arm, kernel: `2.6.${r}` });
      expect(k.arch.hasPteSpecial).toBe(false);
      expect(k.arch.layout.special).toBe(0);
      expect(k.pte.mkspecial(0x12345043)).toBe(0x12345043);
      expect(k.pte.special(0xffffffff)).toBe(false);
      expect(k.arch.gupFast).toBeUndefined();
    }
  });
  test('protection_map: every user entry is present and young; private writable is read-only (PAGE_COPY)', () => {
    for (const v of ['2.6.26', '2.6.32']) {
      const a = resolveArch(arm, resolveFeatures(v));
      const b = v === '2.6.26' ? PA26 : PA32;
      for (let i = 1; i < 16; i++) if (i & 7) expect(a.protectionMap[i]! & (b.PRESENT | b.YOUNG | b.USER)).toBe(b.PRESENT | b.YOUNG | b.USER);
      expect(a.protectionMap[3]! & b.WRITE).toBe(0); // VM_READ|VM_WRITE private
      expect(a.protectionMap[11]! & b.WRITE).toBe(b.WRITE); // VM_READ|VM_WRITE|VM_SHARED
      expect(a.protectionMap[0]! & b.USER).toBe(0); // PAGE_NONE
    }
  });
  test('the L_PTE_MT_* layout starts in 2.6.28; pfn_valid searches the banks from 2.6.32 (checked at the tags)', () => {
    const layout = (v: string) => resolveArch(arm, resolveFeatures(v)).layout.dirty;
    expect(['2.6.27', '2.6.28'].map(layout)).toEqual([PA26.DIRTY, PA32.DIRTY]);
    const banks = { banks: '0x0:16M,0x10000000:8M' };
    const gap = 0x8000; // between the banks
    const valid = (v: string) => createMachine({ arch: arm, kernel: v, archOptions: banks }).pfnValid(gap);
    expect(['2.6.31', '2.6.32'].map(valid)).toEqual([true, false]);
  });
  test('pte_modify keeps everything but EXEC|WRITE|USER', () => {
    const k = machine('2.6.32');
    const lo = k.pte.pfnPteLo(0x123, PA32.PRESENT | PA32.YOUNG | PA32.DIRTY | PA32.WRITE | PA32.USER | PA32.WRITEBACK);
    const m = k.pte.modify(lo, PA32.PRESENT | PA32.YOUNG | PA32.USER);
    expect(k.pte.pfn(m, 0)).toBe(0x123);
    expect(k.pte.dirty(m)).toBe(true);
    expect(k.pte.write(m)).toBe(false);
  });
});

describe('geometry and struct page', () => {
  test('Linux view 2048 × 512, 4 KiB pte pages (hardware + Linux tables), 16 KiB pgd, 32-byte struct page', () => {
    const k = machine('2.6.32');
    expect(k.arch.levels).toEqual([2048, 512]);
    expect(k.arch.pteBytes).toBe(4);
    expect(k.arch.pteTableBytes).toBe(4096);
    expect(k.arch.taskSize).toBe(0xbf000000);
    expect(k.arch.structPageSize).toBe(32);
    expect(createMachine({ arch: arm, kernel: '2.6.25', kernelOptions: { memcg: true } }).arch.structPageSize).toBe(36);
    const p = k.spawn('p');
    const r = k.mmap(p, { length: 4 * PS, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS });
    clean(k.access(p.threads[0]!, r.addr!, true));
    expect(k.pageTableBytes(p)).toBe(16384 + 4096); // pgd + one pte page
    expect(k.mem.memMapBytes()).toBe((16 << 20) / PS * 32);
  });
});

describe('pfn_valid from the memory banks (§1.5)', () => {
  const banks = '0x0:16M,0x10000000:8M';
  test('banks are parsed and laid out as RAM', () => {
    expect(parseBanks(banks)).toEqual([{ start: 0, size: 16 << 20 }, { start: 0x10000000, size: 8 << 20 }]);
    const k = createMachine({ arch: arm, kernel: '2.6.32', archOptions: { banks } });
    expect(k.mem.regions.filter((r) => r.kind === 'ram').map((r) => [r.name, r.start, r.size])).toEqual([['bank0', 0, 16 << 20], ['bank1', 0x10000000, 8 << 20]]);
    expect(() => createMachine({ arch: arm, archOptions: { banks: '0x0:16M,0x800000:16M' } })).toThrow(/overlap/);
  });
  test('2.6.32 (meminfo binary search): a gap between banks is !pfn_valid; 2.6.26 (PHYS_PFN_OFFSET + max_mapnr): it is valid', () => {
    const gap = 0x8000000 / PS;
    const k32 = createMachine({ arch: arm, kernel: '2.6.32', archOptions: { banks } });
    const k26 = createMachine({ arch: arm, kernel: '2.6.26', archOptions: { banks } });
    expect([k32.pfnValid(0x100), k32.pfnValid(gap), k32.pfnValid(0x10000), k32.pfnValid(0x10800)]).toEqual([true, false, true, false]);
    expect([k26.pfnValid(0x100), k26.pfnValid(gap), k26.pfnValid(0x10000), k26.pfnValid(0x10800)]).toEqual([true, true, true, false]);
    // the hole is still at or below highest_memmap_pfn (Tables C/D would pfn_to_page it)
    expect(k32.mem.highestMemmapPfn).toBe(0x107ff);
    expect(k32.driverOp('arm', 'pfn_valid', { pfn: gap }).ret).toBe(0);
    expect(k26.driverOp('arm', 'pfn_valid', { pfn: gap }).ret).toBe(1);
  });
  test('a bank that does not start at 0: PHYS_PFN_OFFSET', () => {
    const k = createMachine({ arch: arm, kernel: '2.6.26', archOptions: { banks: '0xa0000000:16M' } });
    expect([k.pfnValid(0), k.pfnValid(0xa0000), k.pfnValid(0xa1000)]).toEqual([false, true, false]);
  });
  test('memory with struct pages is a bank whatever its kind: a brd-like device region is pfn_valid on every release (flat mem_map up to 2.6.31, bank search from 2.6.32)', () => {
    const regions = [{ name: 'brd', start: 0x10000000, size: 1 << 20, kind: 'device' as const, structPages: true }];
    for (const v of ['2.6.19', '2.6.26', '2.6.31', '2.6.32']) {
      const k = createMachine({ arch: arm, kernel: v, memory: { ram: 32 << 20, regions } });
      // RAM, the brd region, the gap between them (flat: inside max_mapnr; banks: not a bank), past the end
      expect([k.pfnValid(0x100), k.pfnValid(0x10000), k.pfnValid(0x8000), k.pfnValid(0x10100)], v).toEqual([true, true, v !== '2.6.32', false]);
    }
  });
  test('NOR flash (kind flash) has no struct pages', () => {
    const k = machine('2.6.32');
    expect(k.pfnValid(FLASH_PFN)).toBe(false);
    expect(k.pageInfo(FLASH_PFN)).toBeNull();
  });
});

describe('vm_insert_mixed without pte_special (§2.10, C15)', () => {
  const dev: DevSettings = { mode: 'insert-mixed', ownPages: 1, pfnFor: (i, own) => (i === 0 ? FLASH_PFN : own[0]!) };
  for (const v of ['2.6.26', '2.6.29', '2.6.32']) {
    test(`${v} C15: flash pfn raw and uncounted; RAM pfn via insert_page: count+1, mapcount+1, file_rss+1; munmap undoes it`, () => {
      const k = machine(v, { dev });
      const R = devState(k).own[0]!;
      const p = k.spawn('p');
      const a = mapDev(k, p, 2, PROT_READ, MAP_SHARED);
      const before = k.pageInfo(R)!;
      clean(k.access(p.threads[0]!, a, false));
      expect(k.readPte(p, a)).toMatchObject({ pfn: FLASH_PFN, special: false, write: false, young: true, dirty: false });
      expect(k.vmNormalPage(p, a)).toBe(-1);
      expect(k.rss(p)).toEqual({ file: 0, anon: 0 });
      const r = clean(k.access(p.threads[0]!, a + PS, false));
      expect(r.faults[0]!.chain).toContain('insert_page');
      expect(k.readPte(p, a + PS)).toMatchObject({ pfn: R, special: false });
      expect(k.vmNormalPage(p, a + PS)).toBe(R);
      expect(k.pageInfo(R)).toMatchObject({ count: before.count + 1, mapcount: before.mapcount + 1 });
      expect(k.rss(p)).toEqual({ file: 1, anon: 0 });
      clean(k.munmap(p, a, 2 * PS));
      expect(k.pageInfo(R)).toMatchObject({ count: before.count, mapcount: before.mapcount });
      expect(k.rss(p)).toEqual({ file: 0, anon: 0 });
    });
  }
  test('gup: the RAM page is pinned, the flash pfn gives -EFAULT; get_user_pages_fast is the generic slow path', () => {
    const k = machine('2.6.27', { dev });
    const R = devState(k).own[0]!;
    const p = k.spawn('p');
    const t = p.threads[0]!;
    const a = mapDev(k, p, 2, PROT_READ, MAP_SHARED);
    clean(k.access(t, a, false));
    clean(k.access(t, a + PS, false));
    const c = k.pageInfo(R)!.count;
    const g = clean(k.gupFast(t, a + PS, 1, false));
    expect(g.ret).toBe(1);
    expect(k.pageInfo(R)!.count).toBe(c + 1);
    expect(k.gupFast(t, a, 1, false).ret).toBe(-14);
    clean(k.putPages(p));
  });
  test('fork skips a MIXEDMAP vma without anon_vma (§2.16): the child refaults', () => {
    const k = machine('2.6.32', { dev });
    const p = k.spawn('p');
    const a = mapDev(k, p, 2, PROT_READ, MAP_SHARED);
    clean(k.access(p.threads[0]!, a + PS, false));
    const f = clean(k.fork(p, 'c'));
    const c = f.child!;
    expect(k.readPte(c, a + PS).none).toBe(true);
    expect(k.findVmaOf(c, a)!.flags & VM_MIXEDMAP).toBe(VM_MIXEDMAP);
    clean(k.access(c.threads[0]!, a + PS, false));
    expect(k.rss(c)).toEqual({ file: 1, anon: 0 });
  });
  test('private writable MIXEDMAP: a write to the raw flash pte COWs from the user address', () => {
    const k = machine('2.6.32', { dev: { ...dev, allowPrivate: true } });
    const p = k.spawn('p');
    const a = mapDev(k, p, 2, RW, MAP_PRIVATE);
    const r = clean(k.access(p.threads[0]!, a, true));
    expect(r.faults.map((x) => x.chain.at(-1))).toContain('cow_user_page');
    const pte = k.readPte(p, a);
    expect(pte.pfn).not.toBe(FLASH_PFN);
    expect(k.pageInfo(pte.pfn)!.anon).toBe(true);
    expect(k.rss(p)).toEqual({ file: 0, anon: 1 });
  });
});

describe('2.6.32 zero page on arm: is_zero_pfn without a special bit (62eede62daf)', () => {
  test('an anonymous read maps the zero pfn, not special, not counted; vm_normal_page recognises it', () => {
    const k = machine('2.6.32');
    const p = k.spawn('p');
    const r = k.mmap(p, { length: 2 * PS, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS });
    const zc = k.pageInfo(k.zeroPfn)!.count;
    clean(k.access(p.threads[0]!, r.addr!, false));
    expect(k.readPte(p, r.addr!)).toMatchObject({ pfn: k.zeroPfn, special: false, write: false });
    expect(k.vmNormalPage(p, r.addr!)).toBe(-1);
    expect(k.pageInfo(k.zeroPfn)!.count).toBe(zc);
    expect(k.rss(p)).toEqual({ file: 0, anon: 0 });
    clean(k.access(p.threads[0]!, r.addr!, true));
    expect(k.readPte(p, r.addr!).pfn).not.toBe(k.zeroPfn);
    expect(k.rss(p)).toEqual({ file: 0, anon: 1 });
  });
  test('but a zero pfn inside a VM_MIXEDMAP vma is returned as a page (MIXEDMAP ∧ pfn_valid, M32 comment)', () => {
    const zero = machine('2.6.32').zeroPfn;
    const k2 = machine('2.6.32', { dev: { mode: 'insert-mixed', pfnFor: () => zero } });
    expect(k2.zeroPfn).toBe(zero);
    const p = k2.spawn('p');
    const a = mapDev(k2, p, 1, PROT_READ, MAP_SHARED);
    const zc = k2.pageInfo(zero)!.count;
    clean(k2.access(p.threads[0]!, a, false));
    expect(k2.vmNormalPage(p, a)).toBe(zero);
    expect(k2.pageInfo(zero)!.count).toBe(zc + 1); // insert_page took a reference
    clean(k2.munmap(p, a, PS));
    expect(k2.pageInfo(zero)!.count).toBe(zc);
  });
});

describe('B8: the linearity collision (no pte_special) [DERIVED]', () => {
  test('2.6.32: a COW copy landing on the raw pfn itself is taken for the raw pfn — anon page leaked, rss wrong', () => {
    const R = 0x800; // a free RAM page, mapped raw through a private /dev/mem-like remap
    const k = machine('2.6.32', { dev: { mode: 'remap', allowPrivate: true, pfnFor: () => R } });
    const p = k.spawn('p');
    const a = mapDev(k, p, 1, RW, MAP_PRIVATE);
    expect(k.findVmaOf(p, a)!.pgoff).toBe(R);
    expect(k.isFree(R)).toBe(true);
    expect(k.driverOp('arm', 'prefer_next', { pfn: R }).ret).toBe(1);
    const w = k.access(p.threads[0]!, a, true);
    expect(w.outcome).toBe('ok');
    expect(k.readPte(p, a)).toMatchObject({ pfn: R, write: true, special: false });
    expect(k.pageInfo(R)!.anon).toBe(true);
    expect(k.rss(p)).toEqual({ file: 0, anon: 1 });
    expect(k.vmNormalPage(p, a)).toBe(-1); // PFNMAP ∧ pfn == vm_pgoff + 0 → NULL
    expect(w.violations?.join(' ')).toMatch(/anon_rss 1 but 0/);
    k.munmap(p, a, PS);
    expect(k.rss(p)).toEqual({ file: 0, anon: 1 }); // zap skipped it
    expect(k.isFree(R)).toBe(false);
    k.exit(p);
    expect(k.leaks().join(' ')).toMatch(/leaked/);
  });
  test('without the collision the COWed page is recognised (pfn ≠ vm_pgoff + index)', () => {
    const k = machine('2.6.32', { dev: { mode: 'remap', allowPrivate: true, pfnFor: () => 0x800 } });
    const p = k.spawn('p');
    const a = mapDev(k, p, 1, RW, MAP_PRIVATE);
    clean(k.access(p.threads[0]!, a, true));
    const pfn = k.readPte(p, a).pfn;
    expect(pfn).not.toBe(0x800);
    expect(k.vmNormalPage(p, a)).toBe(pfn);
    clean(k.munmap(p, a, PS));
    expect(k.rss(p)).toEqual({ file: 0, anon: 0 });
  });
});

describe('young and dirty emulated by faults (set_pte_ext, §3.3)', () => {
  test('a store through a clean writable pte, and any access through an old one, is a minor fault into handle_pte_fault', async () => {
    const x86 = (await import('@mixedmap/arch-x86')).default;
    for (const kernel of ['2.6.20', '2.6.32']) {
      for (const [spec, emulated] of [[arm, true], [x86, false]] as const) {
        const k = createMachine({ arch: spec, kernel, memory: { ram: 16 << 20 } });
        const p = k.spawn('p');
        const a = k.mmap(p, { length: 2 * PS, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS }).addr!;
        clean(k.access(p.threads[0]!, a, true));
        const child = k.fork(p, 'c').child!;
        // fork made the child's pte old (and write-protected the COW page)
        expect(k.readPte(child, a).young).toBe(false);
        const r = clean(k.access(child.threads[0]!, a, false));
        expect(r.faults.map((f) => f.chain)).toEqual(emulated ? [['handle_mm_fault', 'handle_pte_fault']] : []);
        expect(k.readPte(child, a).young).toBe(true);
        // remap_pfn_range maps a shared writable device page clean: the first store sets dirty
        const kd = createMachine({
          arch: spec, kernel, memory: { ram: 16 << 20, regions: [{ name: 'nor', start: FLASH, size: 4 << 20, kind: 'flash', structPages: false }] },
          drivers: [{ driver: device({ mode: 'remap', pfnFor: () => FLASH_PFN }) }],
        });
        const q = kd.spawn('q');
        const d = mapDev(kd, q, 1, RW, MAP_SHARED);
        expect(kd.readPte(q, d)).toMatchObject({ write: true, dirty: false });
        const w = clean(kd.access(q.threads[0]!, d, true));
        expect(w.faults.map((f) => f.chain)).toEqual(emulated ? [['handle_mm_fault', 'handle_pte_fault']] : []);
        expect(kd.readPte(q, d).dirty).toBe(true);
      }
    }
  });
});
