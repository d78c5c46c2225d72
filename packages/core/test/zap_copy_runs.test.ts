// zap_pte_range, copy_pte_range and get_user_pages take the common ptes of a pte table in one run
// (zapNormalRun, copyNormalRun, followPageRun) and hand any other pte to the full rules. These tests
// put such ptes in the middle of a table and check the kernel's result for the ptes before, at and
// after them.
import { describe, expect, test } from 'vitest';
import { PG_referenced, type Task } from '@mixedmap/core';
import { anon, clean, machine, PAGE_SIZE as PS } from './fixtures/machines.js';

/** An anonymous mapping of `plan.length` pages: 'w' written, 'r' read (the zero page), '-' untouched. */
function populate(kernel: string, plan: string, debugVm = false) {
  const k = machine(kernel, { kernelOptions: { debugVm } });
  const p = k.spawn('p');
  const a = anon(k, p, plan.length);
  [...plan].forEach((c, i) => {
    if (c !== '-') clean(k.access(p.threads[0]!, a + i * PS, c === 'w'));
  });
  const pfns = [...plan].map((_, i) => k.readPte(p, a + i * PS).pfn);
  return { k, p, a, pfns };
}

/**
 * Rewrites the pte mapping `addr` (a corrupted pte, as a driver bug would leave it). `prot` is the low
 * word's flag bits: below the pfn field on x86, the fixtures' arch.
 */
function corruptPte(p: Task, addr: number, f: (lo: number, hi: number, prot: number) => [number, number]): void {
  const pt = p.mm!.pt;
  expect(pt.lookup(addr / PS)).toBe(true);
  const lo = pt.tbl[pt.slot]!;
  [pt.tbl[pt.slot], pt.tbl[pt.slot + 1]] = f(lo, pt.tbl[pt.slot + 1]!, lo & (PS - 1));
}

describe('zap_pte_range over a table with uncommon ptes', () => {
  test('2.6.32: a zero-page pte, a hole and a page whose mapcount went negative; every page around them is unmapped and freed', () => {
    const { k, p, a, pfns } = populate('2.6.32', 'wwr-www');
    k.mem.mapcount[pfns[5]!] = -1; // an rmap bug: the page already counts no pte
    const zero = k.pageInfo(k.zeroPfn)!;
    const free = k.mem.freeCount();
    const r = k.munmap(p, a, 7 * PS);
    expect(r.outcome).toBe('ok');
    // 2.6.29+: zap_pte_range reports the page (3dc147414cc), and only that one
    expect(r.reports).toEqual([expect.stringMatching(new RegExp(`^BUG: Bad page map in process p .* vaddr:${(a + 5 * PS).toString(16)} .*page_mapcount < 0`))]);
    for (const i of [0, 1, 4, 5, 6]) expect(k.pageInfo(pfns[i]!)!.flags, `page ${i}`).toContain('buddy');
    expect(k.mem.freeCount()).toBe(free + 5);
    // the special zero pte simply vanishes: no reference was taken for it, none is dropped
    expect(k.pageInfo(k.zeroPfn)).toMatchObject({ count: zero.count, mapcount: zero.mapcount });
    expect(k.rss(p)).toEqual({ file: 0, anon: 0 });
  });

  test('2.6.32: zero-page ptes vanish without a report; a special bit on an anonymous page\'s pte is reported and its page kept', () => {
    const { k, p, a, pfns } = populate('2.6.32', 'rrwwr');
    corruptPte(p, a + 3 * PS, (lo, hi) => [k.pte.mkspecial(lo), hi]); // special, in an anonymous vma
    const zero = k.pageInfo(k.zeroPfn)!;
    const r = k.munmap(p, a, 5 * PS);
    expect(r.outcome).toBe('ok');
    // vm_normal_page Table D (kernel-semantics §2.7, M32): a special pte outside VM_PFNMAP|VM_MIXEDMAP
    // that is not the zero pfn goes to print_bad_pte
    expect(r.reports).toEqual([expect.stringMatching(new RegExp(`^BUG: Bad page map in process p .* vaddr:${(a + 3 * PS).toString(16)} `))]);
    expect(k.pageInfo(pfns[2]!)!.flags).toContain('buddy');
    expect(k.pageInfo(pfns[3]!)).toMatchObject({ count: 1, mapcount: 1 }); // NULL page: neither rmap nor reference dropped
    expect(k.pageInfo(k.zeroPfn)).toMatchObject({ count: zero.count, mapcount: zero.mapcount });
    for (let i = 0; i < 5; i++) expect(k.readPte(p, a + i * PS).none, `pte ${i}`).toBe(true);
  });

  test('a special pte of the zero pfn in an anonymous vma: Table D (2.6.32) drops it silently, Table C (2.6.30) reports it', () => {
    // Table C (2.6.29–31): every special pte outside VM_PFNMAP|VM_MIXEDMAP is print_bad_pte's; Table D
    // (2.6.32) makes the zero pfn the exception
    for (const [kernel, reports] of [['2.6.32', 0], ['2.6.30', 1]] as const) {
      const { k, p, a } = populate(kernel, 'www');
      corruptPte(p, a + PS, (_lo, _hi, prot) => [k.pte.mkspecial(k.pte.pfnPteLo(k.zeroPfn, prot)), k.pte.pfnPteHi(k.zeroPfn)]);
      const r = k.munmap(p, a, 3 * PS);
      expect(r.outcome, kernel).toBe('ok');
      expect(r.reports.length, kernel).toBe(reports);
      expect(k.readPte(p, a + PS).none, kernel).toBe(true);
    }
  });

  test('2.6.28: the same negative mapcount is page_remove_rmap\'s own BUG, after the pages before it went', () => {
    const { k, p, a, pfns } = populate('2.6.28', 'www');
    k.mem.mapcount[pfns[1]!] = -1;
    const r = k.munmap(p, a, 3 * PS);
    expect(r.outcome).toBe('oops');
    expect(r.oops!.condition).toMatch(/page_mapcount\(page\) went negative/);
    expect(k.pageInfo(pfns[0]!)!.flags).toContain('buddy');
    expect(k.readPte(p, a + 2 * PS).present).toBe(true); // the zap stopped at the BUG
  });
});

describe('copy_pte_range over a table with uncommon ptes', () => {
  test('2.6.32 fork: pages before and after a zero-page pte are shared read-only, the zero pte copied without a reference', () => {
    const { k, p, a, pfns } = populate('2.6.32', 'wwrww');
    const zero = k.pageInfo(k.zeroPfn)!;
    const r = k.fork(p, 'c');
    expect(r.outcome).toBe('ok');
    const c = r.child!;
    for (const i of [0, 1, 3, 4]) {
      const parent = k.readPte(p, a + i * PS);
      const child = k.readPte(c, a + i * PS);
      expect(parent, `page ${i}`).toMatchObject({ present: true, write: false, pfn: pfns[i] });
      expect(child, `page ${i}`).toMatchObject({ present: true, write: false, young: false, pfn: pfns[i] });
      expect(k.pageInfo(pfns[i]!), `page ${i}`).toMatchObject({ count: 2, mapcount: 2 });
    }
    expect(k.readPte(c, a + 2 * PS)).toMatchObject({ present: true, special: true, pfn: k.zeroPfn });
    expect(k.pageInfo(k.zeroPfn)).toMatchObject({ count: zero.count, mapcount: zero.mapcount });
    expect(k.rss(c)).toEqual({ file: 0, anon: 4 });
  });

  test('2.6.28 with CONFIG_DEBUG_VM: page_dup_rmap BUGs on an unmapped page in the middle of the table', () => {
    const { k, p, pfns } = populate('2.6.28', 'www', true);
    k.mem.mapcount[pfns[1]!] = -1;
    const r = k.fork(p, 'c');
    expect(r.outcome).toBe('oops');
    expect(r.oops!.condition).toMatch(/page_dup_rmap/);
    expect(k.pageInfo(pfns[0]!)).toMatchObject({ count: 2, mapcount: 2 }); // copied before the BUG
  });
});

describe('get_user_pages over a table with uncommon ptes', () => {
  test('2.6.32 write: the pages around a zero-page pte are pinned and marked accessed without a fault; the zero pte takes one COW fault', () => {
    const { k, p, a, pfns } = populate('2.6.32', 'wwrww');
    for (const pfn of [pfns[0]!, pfns[1]!]) k.mem.flags[pfn] = k.mem.flags[pfn]! & ~PG_referenced;
    const r = k.gup(p.threads[0]!, a, 5, true);
    expect(r.ret).toBe(5);
    // §2.12 rule 4: a pte that is not writable is NULL under FOLL_WRITE, and gup faults it (do_wp_page's
    // copy of the zero page); rule 6: FOLL_GET takes a reference, FOLL_TOUCH marks the page accessed
    expect(r.faults.map((f) => [f.address, f.write])).toEqual([[a + 2 * PS, true]]);
    const copy = k.readPte(p, a + 2 * PS);
    expect(copy).toMatchObject({ present: true, write: true, special: false });
    expect(copy.pfn).not.toBe(k.zeroPfn);
    expect(p.pins).toEqual([pfns[0], pfns[1], copy.pfn, pfns[3], pfns[4]]);
    for (const i of [0, 1, 3, 4]) {
      expect(k.pageInfo(pfns[i]!), `page ${i}`).toMatchObject({ count: 2, mapcount: 1 }); // FOLL_GET
      expect(k.pageInfo(pfns[i]!)!.flags, `page ${i}`).toContain('referenced'); // FOLL_TOUCH
    }
  });

  test('2.6.32 write after fork: the read-only COW ptes fault, the writable one between them is pinned by the run', () => {
    const { k, p, a, pfns } = populate('2.6.32', 'www');
    clean(k.fork(p, 'c'));
    clean(k.access(p.threads[0]!, a + PS, true)); // the parent's own copy of page 1: writable again
    const own = k.readPte(p, a + PS).pfn;
    const r = clean(k.gup(p.threads[0]!, a, 3, true));
    expect(r.ret).toBe(3);
    expect(r.faults.map((f) => f.address)).toEqual([a, a + 2 * PS]); // §2.12 rule 4: the read-only COW ptes fault
    const copies = [k.readPte(p, a).pfn, k.readPte(p, a + 2 * PS).pfn];
    expect(copies).not.toContain(pfns[0]);
    expect(copies).not.toContain(pfns[2]);
    expect(p.pins).toEqual([copies[0], own, copies[1]]);
  });

  test('2.6.32 read: the zero-page pte in the middle is pinned as ZERO_PAGE by follow_page, the pages around it by the run, without a fault', () => {
    const { k, p, a, pfns } = populate('2.6.32', 'wwrww');
    const zero = k.pageInfo(k.zeroPfn)!;
    const r = clean(k.gup(p.threads[0]!, a, 5, false));
    expect([r.ret, r.faults.length]).toEqual([5, 0]);
    // §2.12 rule 5 (2.6.32): vm_normal_page is NULL for the zero pfn, and follow_page hands out ZERO_PAGE
    expect(p.pins).toEqual([pfns[0], pfns[1], k.zeroPfn, pfns[3], pfns[4]]);
    expect(k.pageInfo(k.zeroPfn)).toMatchObject({ count: zero.count + 1 }); // rule 6: FOLL_GET's get_page
  });

  test('2.6.32: a pte whose pfn is beyond mem_map stops gup with a Bad page map report; the pages before it stay pinned', () => {
    const { k, p, a, pfns } = populate('2.6.32', 'wwww');
    // page 2's pte: the same protection bits, a pfn past highest_memmap_pfn
    const bad = k.mem.highestMemmapPfn + 1;
    corruptPte(p, a + 2 * PS, (_lo, _hi, prot) => [k.pte.pfnPteLo(bad, prot), k.pte.pfnPteHi(bad)]);
    const r = k.gup(p.threads[0]!, a, 4, false);
    // §2.7 Table D: print_bad_pte + NULL; §2.12 rule 5 (2.6.32): a NULL page that is not the zero pfn is
    // ERR_PTR(-EFAULT), and __get_user_pages returns the pages it already took
    expect(r.ret).toBe(2);
    expect(r.reports).toEqual([expect.stringMatching(new RegExp(`^BUG: Bad page map in process p .* vaddr:${(a + 2 * PS).toString(16)} `))]);
    expect(p.pins).toEqual([pfns[0], pfns[1]]);
    expect(k.pageInfo(pfns[3]!)).toMatchObject({ count: 1 }); // never reached
  });
});
