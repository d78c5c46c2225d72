// zap_pte_range and copy_pte_range take the common ptes of a pte table in one run (zapNormalRun,
// copyNormalRun) and hand any other pte to the full rules. These tests put such ptes in the middle of
// a table and check the kernel's result for the ptes before, at and after them.
import { describe, expect, test } from 'vitest';
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
