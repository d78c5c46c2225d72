// The struct-page-less paths: do_no_pfn (§2.4), vm_insert_pfn / vm_insert_mixed (§2.9, §2.10),
// remap_pfn_range and the linearity rule (§2.11, B3–B5), vm_normal_page Tables A–D (§2.7).
import { describe, expect, test } from 'vitest';
import {
  VM_MIXEDMAP, VM_PFNMAP, VM_IO, VM_RESERVED, VM_INSERTPAGE, VM_PFN_AT_MMAP, vmInsertPfn, vmInsertMixed, vmInsertPage,
  remapPfnRange, PAGE_SIZE as PS, PROT_NONE, PG_reserved,
} from '@mixedmap/core';
import { startAccesses, stepTo, finishAccess } from '@mixedmap/testdev/race';
import { machine, mapFile, clean, DEV_PFN, PROT_READ, PROT_WRITE, MAP_PRIVATE, MAP_SHARED } from './fixtures/machines.js';

const RW = PROT_READ | PROT_WRITE;

describe('do_no_pfn (E1–E3)', () => {
  test('A1: nopfn installs the pfn with vma prot, no accounting; vm_normal_page NULL', () => {
    const k = machine('2.6.20', { dev: { mode: 'nopfn' } });
    const p = k.spawn('p');
    const a = mapFile(k, p, '/dev/testdev', 4, RW, MAP_SHARED);
    const r = clean(k.access(p.threads[0]!, a + 2 * PS, false));
    expect(r.faults[0]!.chain).toEqual(['handle_mm_fault', 'handle_pte_fault', 'do_no_pfn', 'nopfn']);
    expect(k.readPte(p, a + 2 * PS)).toMatchObject({ pfn: DEV_PFN + 2, write: true, dirty: false, special: false });
    expect(k.rss(p)).toEqual({ file: 0, anon: 0 });
    expect(k.vmNormalPage(p, a + 2 * PS)).toBe(-1);
  });

  test('A2: a write fault installs it dirty and writable', () => {
    const k = machine('2.6.26', { dev: { mode: 'nopfn' } });
    const p = k.spawn('p');
    const a = mapFile(k, p, '/dev/testdev', 4, RW, MAP_SHARED);
    clean(k.access(p.threads[0]!, a + 3 * PS, true));
    expect(k.readPte(p, a + 3 * PS)).toMatchObject({ dirty: true, write: true });
  });

  test('A8: a COW VM_PFNMAP vma with ->nopfn hits BUG_ON(is_cow_mapping) — an Oops outcome, not a crash', () => {
    const k = machine('2.6.20', { dev: { mode: 'nopfn', allowPrivate: true } });
    const p = k.spawn('p');
    const a = mapFile(k, p, '/dev/testdev', 2, PROT_READ, MAP_PRIVATE);
    const r = k.access(p.threads[0]!, a, false);
    expect(r.outcome).toBe('oops');
    expect(r.oops!.condition).toContain('is_cow_mapping');
    expect(r.oops!.chain).toEqual(['handle_mm_fault', 'handle_pte_fault', 'do_no_pfn']);
    expect(k.readPte(p, a).none).toBe(true);
  });

  test("A10: Linus' alternative returns SIGBUS instead", () => {
    const k = machine('2.6.20', { dev: { mode: 'nopfn', allowPrivate: true }, kernelOptions: { variant: ['do_no_pfn-sigbus'] } });
    const p = k.spawn('p');
    const a = mapFile(k, p, '/dev/testdev', 2, PROT_READ, MAP_PRIVATE);
    expect(k.access(p.threads[0]!, a, false).outcome).toBe('SIGBUS');
  });

  test('A12: 2.6.26 VM_MIXEDMAP nopfn returning a pfn_valid pfn → BUG_ON(MIXEDMAP && pfn_valid)', () => {
    const k = machine('2.6.26', { dev: { mode: 'nopfn', flags: VM_MIXEDMAP, pfnFor: () => 0x200 } });
    const p = k.spawn('p');
    const a = mapFile(k, p, '/dev/testdev', 2, RW, MAP_SHARED);
    const r = k.access(p.threads[0]!, a, false);
    expect(r.outcome).toBe('oops');
    expect(r.oops!.condition).toContain('pfn_valid');
  });

  test('A13: 2.6.26 private MIXEDMAP nopfn: read raw pte, write COWs from the user address into anon', () => {
    const k = machine('2.6.26', { dev: { mode: 'nopfn', flags: VM_MIXEDMAP, allowPrivate: true } });
    const p = k.spawn('p');
    const a = mapFile(k, p, '/dev/testdev', 2, RW, MAP_PRIVATE);
    const t = p.threads[0]!;
    const r = clean(k.access(t, a, false));
    expect(k.readPte(p, a)).toMatchObject({ write: false, special: false, pfn: DEV_PFN });
    const w = clean(k.access(t, a, true));
    expect(w.faults[0]!.chain).toEqual(['handle_mm_fault', 'handle_pte_fault', 'do_wp_page', 'cow_user_page']);
    const pte = k.readPte(p, a);
    expect(pte.pfn).not.toBe(DEV_PFN);
    expect(pte).toMatchObject({ write: true, dirty: true, special: false });
    expect(k.rss(p)).toEqual({ file: 0, anon: 1 });
    expect(r.value).toBe(0);
  });

  test('NOPFN_REFAULT does not exist before 2.6.21: -3 is taken as a pfn', () => {
    for (const [v, none] of [['2.6.20', false], ['2.6.21', true]] as const) {
      const k = machine(v, { dev: { mode: 'nopfn', pfnFor: () => -3 } });
      const p = k.spawn('p');
      const a = mapFile(k, p, '/dev/testdev', 1, RW, MAP_SHARED);
      const r = k.access(p.threads[0]!, a, false);
      expect(k.readPte(p, a).none).toBe(none);
      if (none) expect(r.outcome).toBe('livelock'); // the handler keeps asking for a refault
    }
  });
});

describe('lock windows: racing faults driven phase by phase', () => {
  function race(kernel: string, variant?: 'do_no_pfn-v1') {
    const k = machine(kernel, { dev: { mode: 'nopfn' }, kernelOptions: variant ? { variant: [variant] } : {} });
    const p = k.spawn('p');
    const t1 = p.threads[0]!;
    const t2 = k.cloneThread(p);
    const a = mapFile(k, p, '/dev/testdev', 1, RW, MAP_SHARED);
    // both threads read pte_none and call ->nopfn before either retakes the ptl (A4)
    startAccesses(k, [t1, t2], a);
    stepTo(k, t1, 'do_no_pfn');
    stepTo(k, t2, 'do_no_pfn');
    const reports = [...finishAccess(k, t1).reports, ...finishAccess(k, t2).reports];
    return { k, p, a, reports };
  }
  test('A4: the merged pte_none recheck — the loser installs nothing', () => {
    const { k, p, a, reports } = race('2.6.26');
    expect(k.readPte(p, a).pfn).toBe(DEV_PFN);
    expect(reports).toEqual([]);
    expect(k.checkInvariants()).toEqual([]);
  });
  test('A5: seed v1 without the recheck — the double install is reported', () => {
    const { reports } = race('2.6.20', 'do_no_pfn-v1');
    expect(reports.join()).toContain('doubleInstall');
  });
});

describe('vm_insert_pfn / vm_insert_mixed', () => {
  test('C1/C2: vm_insert_mixed of a pfn_valid page — refcounted on 2.6.26 x86, special on 2.6.27', () => {
    const ram = 0x300;
    const k26 = machine('2.6.26', { dev: { mode: 'insert-mixed', pfnFor: () => ram } });
    const p = k26.spawn('p');
    const a = mapFile(k26, p, '/dev/testdev', 1, PROT_READ, MAP_SHARED, false);
    const before = k26.mem.count[ram]!;
    const r = k26.access(p.threads[0]!, a, false);
    expect(r.faults[0]!.chain).toEqual(['handle_mm_fault', 'handle_pte_fault', 'do_linear_fault', '__do_fault', 'fault', 'vm_insert_mixed', 'insert_page']);
    expect(r.faults[0]!.result).toBe('NOPAGE');
    expect(k26.mem.count[ram]).toBe(before + 1);
    expect(k26.rss(p)).toEqual({ file: 1, anon: 0 });
    expect(k26.vmNormalPage(p, a)).toBe(ram);

    const k27 = machine('2.6.27', { dev: { mode: 'insert-mixed', pfnFor: () => ram } });
    const q = k27.spawn('q');
    const b = mapFile(k27, q, '/dev/testdev', 1, PROT_READ, MAP_SHARED, false);
    const r2 = k27.access(q.threads[0]!, b, false);
    expect(r2.faults[0]!.chain).toContain('insert_pfn');
    expect(k27.readPte(q, b).special).toBe(true);
    expect(k27.rss(q)).toEqual({ file: 0, anon: 0 });
    expect(k27.vmNormalPage(q, b)).toBe(-1);
    expect(k27.gup(q.threads[0]!, b, 1, false).ret).toBe(-14); // follow_page → ERR_PTR(-EFAULT)
    expect(k27.gupFast(q.threads[0]!, b, 1, false).ret).toBe(-14); // special → slow path → -EFAULT
  });

  test('D1/D5: vm_insert_pfn BUGs on MIXEDMAP + pfn_valid; a second insert is -EBUSY', () => {
    const k = machine('2.6.27', { dev: { mode: 'insert-pfn' } });
    const p = k.spawn('p');
    const a = mapFile(k, p, '/dev/testdev', 2, RW, MAP_SHARED);
    k.access(p.threads[0]!, a, false);
    const vma = k.findVmaOf(p, a)!;
    expect(vmInsertPfn(k, vma, a, DEV_PFN + 7)).toBe(-16);
    expect(vmInsertPfn(k, vma, a + 8 * PS, DEV_PFN)).toBe(-14); // outside the vma: -EFAULT (2.6.26+)
    expect(k.readPte(p, a).pfn).toBe(DEV_PFN);
    vma.flags = (vma.flags & ~VM_PFNMAP) | VM_MIXEDMAP;
    expect(() => vmInsertPfn(k, vma, a + PS, 0x300)).toThrow(/pfn_valid/);
  });
});

describe('page-table allocation failure (fault injection)', () => {
  test('handle_mm_fault returns VM_FAULT_OOM; A14: mspec-style ->fault ignores vm_insert_pfn -ENOMEM, the access refaults', () => {
    const k = machine('2.6.27', { dev: { mode: 'insert-pfn' } });
    const p = k.spawn('p');
    const a = mapFile(k, p, '/dev/testdev', 1, RW, MAP_SHARED);
    k.pageTableAllocLimit = 0;
    const r = k.access(p.threads[0]!, a, false);
    expect(r.outcome).toBe('OOM');
    expect(r.faults[0]!.result).toBe('OOM');
    const q = k.spawn('q');
    const b = mapFile(k, q, '/dev/testdev', 1, RW, MAP_SHARED);
    k.pageTableAllocLimit = Infinity;
    clean(k.access(q.threads[0]!, b, false)); // tables exist now
    const vma = k.findVmaOf(q, b)!;
    k.pageTableAllocLimit = 0;
    expect(vmInsertPfn(k, vma, b + 8 * 512 * PS, DEV_PFN)).toBe(-14); // outside the vma first
    vma.end = b + 1024 * PS;
    expect(vmInsertPfn(k, vma, b + 600 * PS, DEV_PFN)).toBe(-12); // a new pte table is needed: -ENOMEM
  });
});

describe('remap_pfn_range and the linearity rule (B1–B5)', () => {
  test('B3 2.6.26: private COW of a raw pte; vm_normal_page tells the copy apart by linearity', () => {
    const k = machine('2.6.26', { dev: { mode: 'remap', allowPrivate: true } });
    const p = k.spawn('p');
    const a = mapFile(k, p, '/dev/testdev', 2, RW, MAP_PRIVATE);
    const vma = k.findVmaOf(p, a)!;
    expect(vma.pgoff).toBe(DEV_PFN); // COW vma: vm_pgoff = pfn
    expect(k.readPte(p, a + PS)).toMatchObject({ present: true, write: false, special: false, pfn: DEV_PFN + 1 });
    const w = clean(k.access(p.threads[0]!, a + PS, true));
    expect(w.faults[0]!.chain).toContain('cow_user_page');
    const n = k.readPte(p, a + PS).pfn;
    expect(k.vmNormalPage(p, a + PS)).toBe(n);
    expect(k.vmNormalPage(p, a)).toBe(-1);
    expect(k.rss(p)).toEqual({ file: 0, anon: 1 });
    // B5: gup refuses VM_IO|VM_PFNMAP before any walk
    expect(k.gup(p.threads[0]!, a + PS, 1, false).ret).toBe(-14);
  });

  test('B2/B5 2.6.27: remap ptes are special; gup_fast pins the COWed page gup refuses', () => {
    const k = machine('2.6.27', { dev: { mode: 'remap', allowPrivate: true } });
    const p = k.spawn('p');
    const a = mapFile(k, p, '/dev/testdev', 2, RW, MAP_PRIVATE);
    const t = p.threads[0]!;
    expect(k.readPte(p, a).special).toBe(true);
    clean(k.access(t, a + PS, true));
    const n = k.readPte(p, a + PS).pfn;
    expect(k.gup(t, a + PS, 1, false).ret).toBe(-14);
    const before = k.mem.count[n]!;
    expect(clean(k.gupFast(t, a + PS, 1, false)).ret).toBe(1);
    expect(k.mem.count[n]).toBe(before + 1);
    expect(k.gupFast(t, a, 1, false).ret).toBe(-14);
    clean(k.putPages(p));
    clean(k.exit(p));
    expect(k.leaks()).toEqual([]);
  });

  test('B4: fork copies a PFNMAP vma; raw ptes without counts, the anon page shared then COWed/reused', () => {
    const k = machine('2.6.27', { dev: { mode: 'remap', allowPrivate: true } });
    const p = k.spawn('p');
    const a = mapFile(k, p, '/dev/testdev', 2, RW, MAP_PRIVATE);
    clean(k.access(p.threads[0]!, a + PS, true));
    const n = k.readPte(p, a + PS).pfn;
    const c = clean(k.fork(p, 'c')).child!;
    expect(k.readPte(c, a)).toMatchObject({ present: true, pfn: DEV_PFN });
    expect(k.pageInfo(n)).toMatchObject({ count: 2, mapcount: 2 });
    clean(k.access(c.threads[0]!, a + PS, true));
    expect(k.pageInfo(n)).toMatchObject({ count: 1, mapcount: 1 });
    const pw = clean(k.access(p.threads[0]!, a + PS, true));
    expect(pw.faults[0]!.chain).toContain('do_wp_page_reuse');
  });

  test('B7: remap over the same range twice → BUG_ON(!pte_none)', async () => {
    const { remapPfnRange } = await import('@mixedmap/core');
    const k = machine('2.6.27', { dev: { mode: 'remap' } });
    const p = k.spawn('p');
    const a = mapFile(k, p, '/dev/testdev', 2, RW, MAP_SHARED);
    const vma = k.findVmaOf(p, a)!;
    expect(() => remapPfnRange(k, vma, a, DEV_PFN, 2 * PS, vma.pageProt)).toThrow(/pte_none/);
  });

  test('zap_vma_ptes (2.6.27+) clears a VM_PFNMAP range; before 2.6.27 there is no such function', async () => {
    const { zapVmaPtes } = await import('@mixedmap/core');
    for (const [kernel, exists] of [['2.6.26', false], ['2.6.27', true]] as const) {
      const k = machine(kernel, { dev: { mode: 'remap' } });
      const p = k.spawn('p');
      const a = mapFile(k, p, '/dev/testdev', 2, RW, MAP_SHARED);
      const vma = k.findVmaOf(p, a)!;
      if (exists) {
        expect(zapVmaPtes(k, vma, a, PS)).toBe(0);
        expect(k.readPte(p, a).none).toBe(true);
        expect(k.readPte(p, a + PS).pfn).toBe(DEV_PFN + 1);
      } else {
        expect(() => zapVmaPtes(k, vma, a, PS)).toThrow(/does not exist before 2.6.27/);
      }
    }
  });
});

describe('cow_user_page without a struct page (§2.6)', () => {
  // A private VM_MIXEDMAP vma over device memory: vm_insert_mixed puts a raw (2.6.26) or special
  // (2.6.27+) pte there; a forced write (ptrace, gup force) COWs it through do_wp_page with
  // old_page NULL, so cow_user_page copies from the user address with __copy_from_user_inatomic.
  function cowOfRawPte(kernel: string, protAfterRead: number) {
    const k = machine(kernel, { dev: { mode: 'insert-mixed', allowPrivate: true } });
    const p = k.spawn('p');
    const t = p.threads[0]!;
    const a = mapFile(k, p, '/dev/testdev', 1, PROT_READ, MAP_PRIVATE);
    const dev = k.mem.writeNew(DEV_PFN); // the device page holds something other than zeroes
    clean(k.access(t, a, false));
    expect(k.readPte(p, a).pfn).toBe(DEV_PFN);
    if (protAfterRead !== PROT_READ) clean(k.mprotect(p, a, PS, protAfterRead));
    const r = clean(k.gup(t, a, 1, true, true)); // get_user_pages(write=1, force=1)
    expect(r.ret).toBe(1);
    expect(r.faults[0]!.chain).toContain('do_wp_page');
    const pte = k.readPte(p, a);
    expect(pte.pfn).not.toBe(DEV_PFN);
    expect(k.rss(p)).toEqual({ file: 0, anon: 1 });
    return { dev, copy: k.mem.readGen(pte.pfn), device: k.mem.readGen(DEV_PFN) };
  }

  test.each(['2.6.26', '2.6.27', '2.6.32', '6.x'])('%s: a readable source is copied from the user address', (kv) => {
    const { dev, copy, device } = cowOfRawPte(kv, PROT_READ);
    expect(copy).toBe(dev);
    expect(device).toBe(dev);
  });

  test.each(['2.6.26', '2.6.27', '2.6.32', '6.x'])('%s: an unreadable source (PROT_NONE pte) makes the copy fail: the new page is zero-filled', (kv) => {
    const { dev, copy, device } = cowOfRawPte(kv, PROT_NONE);
    expect(dev).not.toBe(0);
    expect(copy).toBe(0); // "might just be unreadable, in which case we just give up and fill the result with zeroes"
    expect(device).toBe(dev); // the device is never written
  });
});

describe('insert API preconditions by release (§2.8–§2.10, §5 D)', () => {
  function pfnVma(kernel: string, flags = MAP_SHARED, pages = 2) {
    const k = machine(kernel, { dev: { mode: 'insert-pfn', allowPrivate: true } });
    const p = k.spawn('p');
    const a = mapFile(k, p, '/dev/testdev', pages, RW, flags);
    return { k, p, a, vma: k.findVmaOf(p, a)! };
  }

  test('vm_insert_pfn first exists in 2.6.21 (e0dc0d8f4a3): 2.6.20 has none, 2.6.21 installs a raw pte', () => {
    const old = pfnVma('2.6.20');
    expect(() => vmInsertPfn(old.k, old.vma, old.a, DEV_PFN)).toThrow(/does not exist before 2\.6\.21/);
    const { k, p, a, vma } = pfnVma('2.6.21');
    expect(vmInsertPfn(k, vma, a, DEV_PFN)).toBe(0);
    expect(k.readPte(p, a)).toMatchObject({ present: true, special: false, dirty: false, pfn: DEV_PFN });
    expect(k.rss(p)).toEqual({ file: 0, anon: 0 });
  });

  test.each(['2.6.21', '2.6.25'])('%s: vm_insert_pfn BUG_ON(!VM_PFNMAP) and BUG_ON(is_cow_mapping)', (kv) => {
    const { k, a, vma } = pfnVma(kv);
    vma.flags &= ~VM_PFNMAP;
    expect(() => vmInsertPfn(k, vma, a, DEV_PFN)).toThrow(/VM_PFNMAP/);
    const priv = pfnVma(kv, MAP_PRIVATE);
    expect(() => vmInsertPfn(priv.k, priv.vma, priv.a, DEV_PFN)).toThrow(/is_cow_mapping/);
    expect(priv.k.readPte(priv.p, priv.a).none).toBe(true);
  });

  test.each([['2.6.25', false], ['2.6.26', true], ['2.6.32', true]] as const)('D4 — %s: vm_insert_pfn outside the vma: -EFAULT only from 2.6.26 (%s); 2.6.21–2.6.25 populate the pte', (kv, checked) => {
    const { k, p, a, vma } = pfnVma(kv);
    const out = a + 8 * PS;
    expect(k.findVmaOf(p, out)).toBeUndefined();
    if (checked) {
      expect(vmInsertPfn(k, vma, out, DEV_PFN)).toBe(-14);
      expect(k.readPte(p, out).none).toBe(true);
    } else {
      expect(vmInsertPfn(k, vma, out, DEV_PFN)).toBe(0);
      expect(k.readPte(p, out)).toMatchObject({ present: true, pfn: DEV_PFN });
    }
  });

  test('2.6.26 (423bad60044): vm_insert_pfn accepts a VM_MIXEDMAP vma with a !pfn_valid pfn; 2.6.25 BUGs on it (no VM_PFNMAP)', () => {
    for (const [kv, ok] of [['2.6.25', false], ['2.6.26', true]] as const) {
      const { k, p, a, vma } = pfnVma(kv);
      vma.flags = (vma.flags & ~VM_PFNMAP) | VM_MIXEDMAP;
      if (ok) {
        expect(vmInsertPfn(k, vma, a, DEV_PFN)).toBe(0);
        expect(k.vmNormalPage(p, a)).toBe(-1);
      } else expect(() => vmInsertPfn(k, vma, a, DEV_PFN)).toThrow(/VM_PFNMAP/);
    }
  });

  test('vm_insert_mixed first exists in 2.6.26; D7: addr outside the vma → -EFAULT before any pte work', () => {
    const old = pfnVma('2.6.25');
    expect(() => vmInsertMixed(old.k, old.vma, old.a, DEV_PFN)).toThrow(/does not exist before 2\.6\.26/);
    for (const kv of ['2.6.26', '2.6.32']) {
      const { k, p, a, vma } = pfnVma(kv);
      vma.flags = (vma.flags & ~VM_PFNMAP) | VM_MIXEDMAP;
      k.pageTableAllocLimit = 0;
      expect(vmInsertMixed(k, vma, a - PS, DEV_PFN)).toBe(-14);
      expect(vmInsertMixed(k, vma, a + 2 * PS, DEV_PFN)).toBe(-14); // vm_end is exclusive
      expect(k.readPte(p, a - PS).none).toBe(true);
    }
  });

  test.each(['2.6.20', '2.6.26', '2.6.32'])('D6 — %s: vm_insert_page outside the vma → -EFAULT before the count test and without VM_INSERTPAGE', (kv) => {
    const { k, a, vma } = pfnVma(kv);
    vma.flags &= ~(VM_PFNMAP | VM_IO | VM_RESERVED);
    const free = k.mem.regions.find((r) => r.kind === 'ram')!.endPfn - 1; // a free RAM page: count 0
    expect(k.mem.count[free]).toBe(0);
    expect(vmInsertPage(k, vma, a + 2 * PS, free)).toBe(-14);
    expect(vma.flags & VM_INSERTPAGE).toBe(0);
    expect(vmInsertPage(k, vma, a, free)).toBe(-22); // page_count 0, VM_INSERTPAGE still not set
    expect(vma.flags & VM_INSERTPAGE).toBe(0);
  });
});

describe('vm_insert_page: the vma flag it sets', () => {
  function insertOne(kernel: string, extraFlags = 0) {
    const k = machine(kernel, { dev: { mode: 'insert-pfn', flags: extraFlags, allowPrivate: true } });
    const p = k.spawn('p');
    const a = mapFile(k, p, '/dev/testdev', 2, PROT_READ, MAP_SHARED);
    const vma = k.findVmaOf(p, a)!;
    const page = k.mem.allocPage(); // a kernel page the driver allocated and holds (count 1), reserved
    k.mem.flags[page] = k.mem.flags[page]! | PG_reserved; // as drivers did (SetPageReserved): the checker counts its reference
    return { k, p, a, vma, page };
  }

  test('2.6.32: VM_INSERTPAGE (fork copies the vma because of it); 6.x: VM_MIXEDMAP instead ([UNVERIFIED] 3.7, "mm: kill vma flag VM_INSERTPAGE")', () => {
    for (const [kv, flag, other] of [['2.6.32', VM_INSERTPAGE, VM_MIXEDMAP], ['6.x', VM_MIXEDMAP, VM_INSERTPAGE]] as const) {
      const { k, p, a, vma, page } = insertOne(kv);
      expect(vmInsertPage(k, vma, a, page)).toBe(0);
      expect(vma.flags & flag).toBe(flag);
      expect(vma.flags & other).toBe(0);
      expect(k.pageInfo(page)).toMatchObject({ count: 2, mapcount: 1 });
      const c = clean(k.fork(p, 'c')).child!;
      expect(k.readPte(c, a).pfn).toBe(page); // copied: VM_INSERTPAGE (2.6) / VM_MIXEDMAP (6.x vma_needs_copy)
      expect(k.pageInfo(page)).toMatchObject({ count: 3, mapcount: 2 });
    }
  });

  test('6.x: vm_insert_page on a VM_PFNMAP vma is a BUG; 2.6.32 has no such check', () => {
    const m = insertOne('6.x', VM_PFNMAP | VM_IO);
    expect(() => vmInsertPage(m.k, m.vma, m.a, m.page)).toThrow(/VM_PFNMAP/);
    const o = insertOne('2.6.32', VM_PFNMAP | VM_IO);
    expect(vmInsertPage(o.k, o.vma, o.a, o.page)).toBe(0);
  });
});

describe('remap_pfn_range by release (§2.11)', () => {
  function emptyVma(kernel: string, flags = MAP_SHARED, pages = 2) {
    const k = machine(kernel, { dev: { mode: 'insert-pfn', flags: 0, allowPrivate: true } });
    const p = k.spawn('p');
    const a = mapFile(k, p, '/dev/testdev', pages, RW, flags);
    return { k, p, a, vma: k.findVmaOf(p, a)! };
  }

  test.each([['2.6.28', 0], ['2.6.29', DEV_PFN + 4], ['2.6.32', DEV_PFN + 4]] as const)('%s: a whole shared vma → vm_pgoff %s (2.6.29+, 3c8bb73ace6: any vma the call covers; before, COW vmas only)', (kv, pgoff) => {
    const { k, a, vma } = emptyVma(kv);
    expect(remapPfnRange(k, vma, a, DEV_PFN + 4, 2 * PS, vma.pageProt)).toBe(0);
    expect(vma.pgoff).toBe(pgoff);
    expect(vma.flags & (VM_IO | VM_RESERVED | VM_PFNMAP)).toBe(VM_IO | VM_RESERVED | VM_PFNMAP);
    expect((vma.flags & VM_PFN_AT_MMAP) !== 0).toBe(kv === '2.6.32'); // 2.6.30+ (895791dac69)
  });

  test('6.x: a whole shared vma keeps its vm_pgoff and gets no VM_PFN_AT_MMAP (COW-only rule again, [UNVERIFIED] 3.7)', () => {
    const { k, a, vma } = emptyVma('6.x');
    expect(remapPfnRange(k, vma, a, DEV_PFN + 4, 2 * PS, vma.pageProt)).toBe(0);
    expect(vma.pgoff).toBe(0);
    expect(vma.flags & VM_PFN_AT_MMAP).toBe(0);
    const priv = emptyVma('6.x', MAP_PRIVATE);
    expect(remapPfnRange(priv.k, priv.vma, priv.a, DEV_PFN, PS, priv.vma.pageProt)).toBe(-22); // half of a COW vma
    expect(remapPfnRange(priv.k, priv.vma, priv.a, DEV_PFN + 4, 2 * PS, priv.vma.pageProt)).toBe(0);
    expect(priv.vma.pgoff).toBe(DEV_PFN + 4);
  });

  test.each(['2.6.20', '2.6.28', '6.x'])('%s: a whole private vma → vm_pgoff = pfn (the COW rule of every release)', (kv) => {
    const { k, a, vma } = emptyVma(kv, MAP_PRIVATE);
    expect(remapPfnRange(k, vma, a, DEV_PFN + 4, 2 * PS, vma.pageProt)).toBe(0);
    expect(vma.pgoff).toBe(DEV_PFN + 4);
  });

  test.each(['2.6.20', '2.6.26', '2.6.27', '2.6.32'])('%s: the ptes carry the caller\'s prot, not vm_page_prot; special from 2.6.27 on x86; no accounting', (kv) => {
    const { k, p, a, vma } = emptyVma(kv);
    const prot = vma.pageProt | k.arch.noncached;
    expect(remapPfnRange(k, vma, a, DEV_PFN, PS, prot)).toBe(0);
    expect(k.readPte(p, a)).toMatchObject({ present: true, write: true, dirty: false, pfn: DEV_PFN, cache: k.arch.noncached, special: kv !== '2.6.20' && kv !== '2.6.26' });
    expect(vma.pageProt & k.arch.noncached).toBe(0);
    expect(k.rss(p)).toEqual({ file: 0, anon: 0 });
  });

  test.each(['2.6.20', '2.6.28', '2.6.32'])('%s: page-table allocation failure → -ENOMEM; the flags stay set and the ptes already written stay', (kv) => {
    const { k, p, a, vma } = emptyVma(kv, MAP_SHARED, 1024);
    expect(remapPfnRange(k, vma, a, DEV_PFN, PS, vma.pageProt)).toBe(0); // the tables of the first page
    k.pageTableAllocLimit = 0;
    expect(remapPfnRange(k, vma, a + PS, DEV_PFN + 1, 1023 * PS, vma.pageProt)).toBe(-12);
    expect(vma.flags & (VM_IO | VM_RESERVED | VM_PFNMAP)).toBe(VM_IO | VM_RESERVED | VM_PFNMAP);
    expect(k.readPte(p, a + PS).pfn).toBe(DEV_PFN + 1);
    expect(k.readPte(p, a + 1023 * PS).none).toBe(true);
  });
});
