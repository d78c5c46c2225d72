// /dev/mem rules (reference §2.19, worked scenarios B1–B10) with the invariant checker on.
import { describe, expect, test } from 'vitest';
import {
  createMachine, ConfigError, PROT_READ, PROT_WRITE, MAP_PRIVATE, MAP_SHARED, PAGE_SIZE,
  VM_IO, VM_PFNMAP, VM_RESERVED, VM_LOCKED, VM_PFN_AT_MMAP,
  type Machine, type Task, type OpResult,
} from '@mixedmap/core';
import x86 from '@mixedmap/arch-x86';
import devmem from '../src/index.js';
// @ts-expect-error plain ESM JS without type declarations (the out-of-tree example arch)
import powerpc64 from '../../../examples/arch-powerpc64/index.js';

const PS = PAGE_SIZE;
const MB = 1 << 20;

function machine(kernel: string, settings: Record<string, unknown> = {}, regions: Array<{ name: string; start: number; size: number; kind: 'device' | 'flash' }> = []): Machine {
  return createMachine({
    arch: x86, kernel, memory: { ram: 32 * MB, regions: regions.map((r) => ({ ...r, structPages: false })) }, drivers: [{ driver: devmem, settings }],
  });
}

function ok<T extends OpResult>(r: T): T {
  expect(r.violations ?? []).toEqual([]);
  return r;
}

function map(k: Machine, p: Task, offset: number, pages: number, flags = MAP_SHARED, prot = PROT_READ | PROT_WRITE, path = '/dev/mem') {
  const o = ok(k.open(p, path));
  return ok(k.mmap(p, { length: pages * PS, prot, flags, file: o.file!, offset }));
}

const ALL = ['2.6.19', '2.6.20', '2.6.23', '2.6.25', '2.6.26', '2.6.27', '2.6.28', '2.6.29', '2.6.30', '2.6.32'];

describe('mmap_mem', () => {
  test('B1 — 2.6.26: 64 KiB at 0xA0000 shared → 16 raw ptes (not special), VM_IO|VM_RESERVED|VM_PFNMAP, pgoff 0xA0; no faults; munmap without accounting', () => {
    const k = machine('2.6.26');
    const p = k.spawn('p');
    const r = map(k, p, 0xa0000, 16);
    const a = r.addr!;
    const vma = k.findVmaOf(p, a)!;
    expect(vma.flags & (VM_IO | VM_RESERVED | VM_PFNMAP)).toBe(VM_IO | VM_RESERVED | VM_PFNMAP);
    expect(vma.pgoff).toBe(0xa0);
    for (let i = 0; i < 16; i++) {
      expect(k.readPte(p, a + i * PS)).toMatchObject({ present: true, write: true, special: false, pfn: 0xa0 + i });
      expect(k.vmNormalPage(p, a + i * PS)).toBe(-1);
      expect(ok(k.access(p.threads[0]!, a + i * PS, false)).faults).toHaveLength(0);
      expect(ok(k.access(p.threads[0]!, a + i * PS, true)).faults).toHaveLength(0);
    }
    ok(k.munmap(p, a, 16 * PS));
    expect(k.rss(p)).toEqual({ file: 0, anon: 0 });
  });

  test.each(ALL)('%s: vm_ops by release; the ptes are special from 2.6.27 on x86', (kv) => {
    const k = machine(kv);
    const r = Number(kv.split('.')[2]);
    const p = k.spawn('p');
    const a = map(k, p, 0xa0000, 2).addr!;
    const vma = k.findVmaOf(p, a)!;
    const ops = vma.ops;
    if (r <= 25) expect(ops).toBeNull();
    else {
      expect(!!ops!.open).toBe(r <= 29);
      expect(!!ops!.close).toBe(r <= 29);
      expect(!!ops!.access).toBe(r >= 27);
    }
    expect(k.readPte(p, a).special).toBe(r >= 27);
    expect((vma.flags & VM_PFN_AT_MMAP) !== 0).toBe(r >= 30);
  });

  test.each([['2.6.26', false], ['2.6.27', true], ['2.6.32', true]] as const)('%s powerpc64: HAVE_IOREMAP_PROT (a1f242ff460, 2.6.27) gives mmap_mem_ops .access too (%s)', (kv, access) => {
    const k = createMachine({ arch: powerpc64, kernel: kv, memory: { ram: 32 * MB }, drivers: [{ driver: devmem }] });
    const p = k.spawn('p');
    const a = map(k, p, 0x100000, 1).addr!;
    expect(!!k.findVmaOf(p, a)!.ops?.access).toBe(access);
    expect(ok(k.accessProcessVm(p.threads[0]!, a, 8, false)).ret).toBe(access ? 8 : 0);
  });

  test('B2 — 2.6.27 STRICT_DEVMEM: RAM at 16 MiB → EPERM; 0xA0000 → ok with special ptes; the first MiB is always allowed', () => {
    const k = machine('2.6.27', { strict: true });
    const p = k.spawn('p');
    expect(map(k, p, 16 * MB, 1).errno).toBe('EPERM');
    expect(map(k, p, 0x1000, 1).errno).toBeUndefined(); // RAM, but pfn ≤ 256
    const a = map(k, p, 0xa0000, 2).addr!;
    expect(k.readPte(p, a)).toMatchObject({ present: true, special: true, pfn: 0xa0 });
    // one refused page anywhere refuses the whole range
    expect(map(k, p, 0xff000, 2).errno).toBeUndefined(); // pfns 0xff, 0x100: both ≤ 256
    expect(map(k, p, 0xff000, 3).errno).toBe("EPERM"); // pfn 0x101 is RAM
    expect(ok(k.driverOp('devmem', 'is_allowed', { pfn: 0x1000 })).ret).toBe(0);
  });

  test('no STRICT_DEVMEM: RAM can be mapped', () => {
    const k = machine('2.6.27');
    const p = k.spawn('p');
    expect(map(k, p, 16 * MB, 1).errno).toBeUndefined();
  });

  test.each([['2.6.28', undefined], ['2.6.29', 'EPERM'], ['2.6.32', 'EPERM']] as const)('%s: an exclusive iomem region → %s', (kv, errno) => {
    const k = machine(kv, { strict: true, exclusive: ['nic'] }, [{ name: 'nic', start: 0xf0000000, size: 64 * 1024, kind: 'device' }]);
    const p = k.spawn('p');
    expect(map(k, p, 0xf0000000, 1).errno).toBe(errno);
    expect(map(k, p, 0xf0010000, 1).errno).toBeUndefined(); // outside the exclusive region
  });

  // x86 2.6.26+ (arch/x86/mm/pat.c phys_mem_access_prot_allowed, read with PAT on; the end of RAM stands in for the MTRR type)
  test.each([
    ['2.6.26', 0x10, 0x10, 0x18], // 'auto' above RAM: reserve_memtype's hint UC- (PCD), never PCD|PWT; O_SYNC: UC
    ['2.6.28', 0x10, 0x10, 0x18],
    ['2.6.29', 0x10, 0x10, 0x10], // O_SYNC: UC- from 2.6.29
    ['2.6.30', 0, 0x10, 0x10], // 0c3c8a18361: vm_page_prot stays WB, track_pfn_vma_new gives the ptes UC-
    ['2.6.32', 0, 0x10, 0x10],
  ] as const)('cache attribute %s: above the end of RAM vm_page_prot %s, ptes %s; O_SYNC %s; below RAM cached', (kv, vmaCache, pteCache, sync) => {
    const k = machine(kv, {}, [{ name: 'bar', start: 0xf0000000, size: 64 * 1024, kind: 'device' }]);
    const p = k.spawn('p');
    const a = map(k, p, 0xf0000000, 1).addr!;
    expect(k.readPte(p, a).cache).toBe(pteCache);
    expect(k.findVmaOf(p, a)!.pageProt & k.arch.layout.cache).toBe(vmaCache);
    const b = map(k, p, 0xa0000, 1).addr!;
    expect(k.readPte(p, b).cache).toBe(0);
    const k2 = machine(kv, { cache: 'uncached' });
    const q = k2.spawn('q');
    const c = map(k2, q, 0xa0000, 1).addr!;
    expect(k2.readPte(q, c).cache).toBe(sync);
    expect(k2.findVmaOf(q, c)!.pageProt & k2.arch.layout.cache).toBe(sync);
  });

  test.each(['2.6.19', '2.6.20', '2.6.25'])('%s x86: uncached_access is O_SYNC-only (x86-64; i386 with MTRRs) — above the end of RAM is mapped cached', (kv) => {
    const k = machine(kv, {}, [{ name: 'bar', start: 0xf0000000, size: 64 * 1024, kind: 'device' }]);
    const p = k.spawn('p');
    expect(k.readPte(p, map(k, p, 0xf0000000, 1).addr!).cache).toBe(0);
    expect(k.readPte(p, map(k, p, 0xa0000, 1).addr!).cache).toBe(0);
    const k2 = machine(kv, { cache: 'uncached' }, [{ name: 'bar', start: 0xf0000000, size: 64 * 1024, kind: 'device' }]);
    const q = k2.spawn('q');
    expect(k2.readPte(q, map(k2, q, 0xf0000000, 1).addr!).cache).toBe(k2.arch.noncached); // O_SYNC
  });

  test('/dev/kmem: a kernel virtual offset → pfn; EIO without struct page', () => {
    const k = machine('2.6.27', {}, [{ name: 'bar', start: 0xf0000000, size: 64 * 1024, kind: 'device' }]);
    const p = k.spawn('p');
    const a = map(k, p, 0xc0000000 + 2 * MB, 1, MAP_SHARED, PROT_READ | PROT_WRITE, '/dev/kmem').addr!;
    expect(k.readPte(p, a).pfn).toBe(2 * MB / PS);
    expect(k.findVmaOf(p, a)!.pgoff).toBe(2 * MB / PS);
    expect(map(k, p, 0xc0000000 + 0x30000000, 1, MAP_SHARED, PROT_READ | PROT_WRITE, '/dev/kmem').errno).toBe('EIO');
  });

  test.each([['2.6.19', true], ['2.6.20', false], ['2.6.32', false]] as const)('/dev/kmem %s: the offset is a physical (pfn) offset only in v2.6.19 (99a10a60ba9, reverted by 6d3154cc114 for 2.6.20)', (kv, physical) => {
    const k = machine(kv);
    const p = k.spawn('p');
    // a kernel virtual address: 2.6.20+ maps pfn 0x200; 2.6.19 takes it as pfn 0xc0200, beyond RAM → EIO
    const v = map(k, p, 0xc0000000 + 2 * MB, 1, MAP_SHARED, PROT_READ | PROT_WRITE, '/dev/kmem');
    if (physical) expect(v.errno).toBe('EIO');
    else expect(k.readPte(p, v.addr!).pfn).toBe(2 * MB / PS);
    // a small offset: 2.6.19 maps pfn 0x200 (PFN_DOWN(virt_to_phys(PAGE_OFFSET)) + vm_pgoff); 2.6.20+ → __pa underflows → EIO
    const ph = map(k, p, 2 * MB, 1, MAP_SHARED, PROT_READ | PROT_WRITE, '/dev/kmem');
    if (physical) {
      expect(k.readPte(p, ph.addr!).pfn).toBe(2 * MB / PS);
      expect(k.findVmaOf(p, ph.addr!)!.pgoff).toBe(2 * MB / PS);
    } else expect(ph.errno).toBe('EIO');
  });

  test('6.x: no /dev/kmem (removed in 5.13, bbcd53c96071): open gives ENOENT, /dev/mem stays; kmem: true is a configuration error', () => {
    const k = machine('6.x');
    const p = k.spawn('p');
    expect(k.open(p, '/dev/kmem').errno).toBe('ENOENT');
    expect(k.open(p, '/dev/mem').file).toBeDefined();
    const old = machine('2.6.32');
    expect(old.open(old.spawn('q'), '/dev/kmem').file).toBeDefined();
    expect(() => machine('6.x', { kmem: true })).toThrow(expect.objectContaining({ field: 'drivers[0].settings.kmem' })); // ConfigError's field path
  });

  test.each(['2.6.20', '2.6.26', '2.6.32'])('%s: remap_pfn_range failing in mmap_mem (page-table allocation) → EAGAIN, no vma left', (kv) => {
    const k = machine(kv);
    const p = k.spawn('p');
    k.pageTableAllocLimit = 0;
    const r = map(k, p, 0xa0000, 2);
    expect(r.errno).toBe('EAGAIN');
    expect(p.mm!.vmas.some((v) => v.file?.inode.driver.name === 'devmem')).toBe(false);
    k.pageTableAllocLimit = Infinity;
    expect(map(k, p, 0xa0000, 2).errno).toBeUndefined();
  });

  test('settings errors name the field', () => {
    expect(() => machine('2.6.25', { strict: true })).toThrow(/before 2\.6\.26/);
    try {
      machine('2.6.29', { strict: true, exclusive: ['nope'] });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).field).toBe('drivers[0].settings.exclusive[0]');
    }
    expect(devmem.validate!({ strict: 'yes' as never })[0]!.field).toBe('strict');
    expect(devmem.validate!({ exclusive: [{ start: -1, size: 0 }] })[0]!.field).toBe('exclusive[0]');
  });
});

describe('private mappings: COW by copy from the user address (B3, B4, B5, B8)', () => {
  test.each(['2.6.26', '2.6.27'])('B3 — %s: write page 1 of a private device mapping → anonymous copy; the device is not written', (kv) => {
    const k = machine(kv);
    const p = k.spawn('p');
    const a = map(k, p, 0xa0000, 2, MAP_PRIVATE).addr!;
    const vma = k.findVmaOf(p, a)!;
    expect(vma.pgoff).toBe(0xa0);
    expect(k.readPte(p, a + PS)).toMatchObject({ present: true, write: false, special: kv === '2.6.27', pfn: 0xa1 });
    const dev = ok(k.access(p.threads[0]!, a + PS, false)).value;
    const w = ok(k.access(p.threads[0]!, a + PS, true));
    expect(w.faults[0]!.chain).toEqual(['handle_mm_fault', 'handle_pte_fault', 'do_wp_page', 'cow_user_page']);
    expect(w.faults[0]!.result).toBe('WRITE');
    const pte = k.readPte(p, a + PS);
    expect(pte).toMatchObject({ present: true, write: true, dirty: true, special: false });
    expect(pte.pfn).not.toBe(0xa1);
    expect(k.vmNormalPage(p, a + PS)).toBe(pte.pfn);
    expect(k.vmNormalPage(p, a)).toBe(-1);
    expect(k.rss(p)).toEqual({ file: 0, anon: 1 });
    expect(vma.anonVma).not.toBeNull();
    expect(k.mem.readGen(0xa1)).toBe(dev); // the device page kept its content
  });

  test.each([['2.6.27', 0x10], ['2.6.29', 0x10], ['2.6.30', 0], ['2.6.32', 0]] as const)('B3 — %s: the COW copy of a device page above RAM is built from vm_page_prot (cache %s): noncached while PAT kept UC- there (≤2.6.29), write-back once only the ptes carry it (2.6.30+)', (kv, copyCache) => {
    const k = machine(kv, {}, [{ name: 'bar', start: 0xf0000000, size: 64 * 1024, kind: 'device' }]);
    const p = k.spawn('p');
    const a = map(k, p, 0xf0000000, 2, MAP_PRIVATE).addr!;
    expect(k.readPte(p, a).cache).toBe(0x10);
    const w = ok(k.access(p.threads[0]!, a, true));
    expect(w.faults[0]!.chain).toContain('cow_user_page');
    const pte = k.readPte(p, a);
    expect(pte).toMatchObject({ write: true, dirty: true, special: false, cache: copyCache });
    expect(pte.pfn).not.toBe(0xf0000);
    expect(k.vmNormalPage(p, a)).toBe(pte.pfn);
    expect(k.readPte(p, a + PS).cache).toBe(0x10); // the untouched device page keeps UC-
  });

  test.each(['2.6.26', '2.6.27', '2.6.32'])('B4 — %s: fork after the COW; child write copies N, parent write reuses it', (kv) => {
    const k = machine(kv);
    const p = k.spawn('p');
    const a = map(k, p, 0xa0000, 2, MAP_PRIVATE).addr!;
    ok(k.access(p.threads[0]!, a + PS, true));
    const n = k.readPte(p, a + PS).pfn;
    const c = ok(k.fork(p, 'c')).child!;
    expect(k.pageInfo(n)).toMatchObject({ count: 2, mapcount: 2 });
    expect(k.readPte(p, a + PS).write).toBe(false);
    expect(k.readPte(c, a)).toMatchObject({ present: true, write: false, pfn: 0xa0 });
    expect(k.rss(c)).toEqual({ file: 0, anon: 1 });
    const cw = ok(k.access(c.threads[0]!, a + PS, true));
    expect(cw.faults[0]!.chain).toContain('cow_user_page');
    expect(k.readPte(c, a + PS).pfn).not.toBe(n);
    expect(k.pageInfo(n)).toMatchObject({ count: 1, mapcount: 1 });
    const pw = ok(k.access(p.threads[0]!, a + PS, true));
    expect(pw.faults[0]!.chain).toEqual(['handle_mm_fault', 'handle_pte_fault', 'do_wp_page', 'do_wp_page_reuse']);
    expect(k.readPte(p, a + PS).pfn).toBe(n);
    for (const t of [c, p]) ok(k.exit(t));
    expect(k.leaks()).toEqual([]);
  });

  test('B5 — 2.6.27: get_user_pages refuses the vma; get_user_pages_fast pins the COWed page and falls back (EFAULT) on the special one', () => {
    const k = machine('2.6.27');
    const p = k.spawn('p');
    const a = map(k, p, 0xa0000, 2, MAP_PRIVATE).addr!;
    ok(k.access(p.threads[0]!, a + PS, true));
    const n = k.readPte(p, a + PS).pfn;
    expect(ok(k.gup(p.threads[0]!, a + PS, 1, false)).ret).toBe(-14);
    const before = k.pageInfo(n)!.count;
    expect(ok(k.gupFast(p.threads[0]!, a + PS, 1, false)).ret).toBe(1);
    expect(k.pageInfo(n)!.count).toBe(before + 1);
    const f0 = ok(k.gupFast(p.threads[0]!, a, 1, false));
    expect(f0.ret).toBe(-14);
    ok(k.putPages(p));
    expect(k.pageInfo(n)!.count).toBe(before);
  });

  test('B8 (x86 2.6.26, no pte_special) — the COW copy lands on the mapped RAM pfn itself: the linearity rule calls the anonymous page raw', () => {
    const k = machine('2.6.26');
    const p = k.spawn('p');
    const R = 0x1000; // free RAM at 16 MiB
    const a = map(k, p, R * PS, 1, MAP_PRIVATE).addr!;
    expect(k.isFree(R)).toBe(true);
    expect(ok(k.driverOp('devmem', 'steer_alloc', { pfn: R })).ret).toBe(0);
    const w = k.access(p.threads[0]!, a, true);
    expect(w.outcome).toBe('ok');
    expect(k.readPte(p, a).pfn).toBe(R);
    expect(k.vmNormalPage(p, a)).toBe(-1); // pfn == vm_pgoff + 0
    expect(k.rss(p).anon).toBe(1);
    expect(w.violations?.length).toBeGreaterThan(0); // the checker sees an anon page nobody accounts for
    k.exit(p);
    expect(k.leaks().join(' ')).toMatch(/leaked/);
  });

  test('B8 on x86 2.6.27: the COW pte is not special, so the same collision is correctly a page', () => {
    const k = machine('2.6.27');
    const p = k.spawn('p');
    const R = 0x1000;
    const a = map(k, p, R * PS, 1, MAP_PRIVATE).addr!;
    ok(k.driverOp('devmem', 'steer_alloc', { pfn: R }));
    ok(k.access(p.threads[0]!, a, true));
    expect(k.readPte(p, a)).toMatchObject({ pfn: R, special: false });
    expect(k.vmNormalPage(p, a)).toBe(R);
    ok(k.exit(p));
    expect(k.leaks()).toEqual([]);
  });
});

describe('mlock and access_process_vm (B9, B10)', () => {
  test.each([['2.6.20', true], ['2.6.26', true], ['2.6.27', true], ['2.6.28', false], ['2.6.32', false]] as const)('B9 — %s: mlock returns 0; VM_LOCKED %s; nothing populated or counted', (kv, locked) => {
    const k = machine(kv);
    const p = k.spawn('p');
    const a = map(k, p, 0xa0000, 4).addr!;
    const r = ok(k.mlock(p, a, 4 * PS));
    expect(r.ret).toBe(0);
    expect((k.findVmaOf(p, a)!.flags & VM_LOCKED) !== 0).toBe(locked);
    expect(p.mm!.lockedVm).toBe(locked ? 4 : 0);
    expect(r.faults).toHaveLength(0);
  });

  test.each([['2.6.26', 0], ['2.6.27', 8], ['2.6.29', 8], ['2.6.30', 8], ['2.6.32', 8]] as const)('B10 — %s: ptrace read of a shared /dev/mem vma → %s bytes', (kv, bytes) => {
    const k = machine(kv);
    const p = k.spawn('p');
    const a = map(k, p, 0xa0000, 2).addr!;
    expect(ok(k.accessProcessVm(p.threads[0]!, a, 8, false)).ret).toBe(bytes);
    expect(ok(k.accessProcessVm(p.threads[0]!, a + PS - 4, 8, true)).ret).toBe(bytes);
  });

  test.each(['2.6.27', '2.6.32'])('B10 — %s: ->access gets the rest of the request; in the ISA window the copy goes on at the physically next page, whatever the user page maps', (kv) => {
    const k = machine(kv);
    const p = k.spawn('p');
    const a = map(k, p, 0xa0000, 2).addr!;
    expect(ok(k.driverOp('devmem', 'zap_vma_ptes', { task: p, addr: a + PS, size: PS })).ret).toBe(0);
    // the second user page is empty now, yet generic_access_phys copies all 8 bytes (0xa0fff…0xa1003)
    expect(ok(k.accessProcessVm(p.threads[0]!, a + PS - 4, 8, false)).ret).toBe(8);
    expect(ok(k.accessProcessVm(p.threads[0]!, a + PS, 8, false)).ret).toBe(0); // starting in the hole: follow_phys fails
    // remap the second page elsewhere: a write across the boundary still lands in pfn 0xa1, not 0xb0
    ok(k.driverOp('devmem', 'remap_pfn_range', { task: p, addr: a + PS, pfn: 0xb0, size: PS }));
    const a1 = k.mem.readGen(0xa1);
    const b0 = k.mem.readGen(0xb0);
    expect(ok(k.accessProcessVm(p.threads[0]!, a + PS - 4, 8, true)).ret).toBe(8);
    expect(k.mem.readGen(0xa1)).not.toBe(a1);
    expect(k.mem.readGen(0xb0)).toBe(b0);
  });

  test.each([['2.6.27', 'oops'], ['2.6.32', 'oops'], ['6.x', 'ok']] as const)('B10 — %s: outside the ISA window a copy crossing the page runs past the one-page ioremap_prot → %s', (kv, outcome) => {
    const k = machine(kv, {}, [{ name: 'bar', start: 0xf0000000, size: 64 * 1024, kind: 'device' }]);
    const p = k.spawn('p');
    const a = map(k, p, 0xf0000000, 2).addr!;
    expect(ok(k.accessProcessVm(p.threads[0]!, a + 8, 8, false)).ret).toBe(8); // inside one page
    const r = k.accessProcessVm(p.threads[0]!, a + PS - 4, 8, false);
    expect(r.outcome).toBe(outcome);
    if (outcome === 'oops') expect(r.oops!.condition).toMatch(/generic_access_phys/);
    else expect(r.ret).toBe(8);
  });

  test('B10 — 2.6.27: a write through ->access to a read-only private pte fails (follow_phys)', () => {
    const k = machine('2.6.27');
    const p = k.spawn('p');
    const a = map(k, p, 0xa0000, 1, MAP_PRIVATE).addr!;
    expect(ok(k.accessProcessVm(p.threads[0]!, a, 8, false)).ret).toBe(8);
    expect(ok(k.accessProcessVm(p.threads[0]!, a, 8, true)).ret).toBe(0);
  });
});

describe('a driver calling remap_pfn_range itself (B6, B7)', () => {
  test.each(['2.6.26', '2.6.32'])('B6 — %s: remap of half a private vma → EINVAL, ptes untouched', (kv) => {
    const k = machine(kv);
    const p = k.spawn('p');
    const a = map(k, p, 0xa0000, 2, MAP_PRIVATE).addr!;
    const r = ok(k.driverOp('devmem', 'remap_pfn_range', { task: p, addr: a, pfn: 0xb0, size: PS }));
    expect(r.ret).toBe(-22);
    expect(k.readPte(p, a).pfn).toBe(0xa0);
  });

  test('B6 — 2.6.29 shared: zap half, remap it elsewhere → allowed, vm_pgoff untouched', () => {
    const k = machine('2.6.29');
    const p = k.spawn('p');
    const a = map(k, p, 0xa0000, 2).addr!;
    expect(ok(k.driverOp('devmem', 'zap_vma_ptes', { task: p, addr: a + PS, size: PS })).ret).toBe(0);
    expect(k.readPte(p, a + PS).none).toBe(true);
    expect(ok(k.driverOp('devmem', 'remap_pfn_range', { task: p, addr: a + PS, pfn: 0xb0, size: PS })).ret).toBe(0);
    expect(k.readPte(p, a + PS).pfn).toBe(0xb0);
    expect(k.findVmaOf(p, a)!.pgoff).toBe(0xa0);
  });

  test.each(['2.6.20', '2.6.27'])('B7 — %s: remap over present ptes → BUG_ON(!pte_none)', (kv) => {
    const k = machine(kv);
    const p = k.spawn('p');
    const a = map(k, p, 0xa0000, 2).addr!;
    const r = k.driverOp('devmem', 'remap_pfn_range', { task: p, addr: a, pfn: 0xa0, size: 2 * PS });
    expect(r.outcome).toBe('oops');
    expect(r.oops!.condition).toMatch(/pte_none/);
  });

  test('B7 — size 0 on a shared vma → BUG_ON(addr >= end); on a private vma → EINVAL', () => {
    const k = machine('2.6.29');
    const p = k.spawn('p');
    const s = map(k, p, 0xa0000, 2).addr!;
    const r = k.driverOp('devmem', 'remap_pfn_range', { task: p, addr: s, pfn: 0xa0, size: 0 });
    expect(r.oops?.condition).toMatch(/addr >= end/);
    const q = k.spawn('q');
    const m = map(k, q, 0xa0000, 2, MAP_PRIVATE).addr!;
    expect(ok(k.driverOp('devmem', 'remap_pfn_range', { task: q, addr: m, pfn: 0xa0, size: 0 })).ret).toBe(-22);
  });
});
