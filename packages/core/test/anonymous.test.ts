// do_anonymous_page in every zero-page form, do_wp_page, fork COW (reference §2.2, §2.5, §2.16).
import { describe, expect, test } from 'vitest';
import { machine, anon, clean, PROT_READ, PAGE_SIZE } from './fixtures/machines.js';

describe('do_anonymous_page read fault, per epoch (§2.2)', () => {
  test('2.6.20: maps ZERO_PAGE refcounted, with a file rmap and file_rss', () => {
    const k = machine('2.6.20');
    const p = k.spawn('p');
    const a = anon(k, p);
    const before = k.pageInfo(k.zeroPfn)!;
    const r = clean(k.access(p.threads[0]!, a, false));
    expect(r.faults[0]!.chain).toEqual(['handle_mm_fault', 'handle_pte_fault', 'do_anonymous_page']);
    const pte = k.readPte(p, a);
    expect(pte).toMatchObject({ present: true, write: false, special: false, pfn: k.zeroPfn });
    expect(k.pageInfo(k.zeroPfn)!.count).toBe(before.count + 1);
    expect(k.pageInfo(k.zeroPfn)!.mapcount).toBe(before.mapcount + 1);
    expect(k.rss(p)).toEqual({ file: 1, anon: 0 });
    expect(k.vmNormalPage(p, a)).toBe(k.zeroPfn);
  });

  test('2.6.24–2.6.31: no zero page — a read allocates a dirty, writable anonymous page', () => {
    for (const v of ['2.6.24', '2.6.27', '2.6.31']) {
      const k = machine(v);
      const p = k.spawn('p');
      const a = anon(k, p);
      clean(k.access(p.threads[0]!, a, false));
      const pte = k.readPte(p, a);
      expect(pte.pfn).not.toBe(k.zeroPfn);
      expect(pte).toMatchObject({ write: true, dirty: true, special: false });
      expect(k.rss(p)).toEqual({ file: 0, anon: 1 });
      expect(k.pageInfo(pte.pfn)).toMatchObject({ count: 1, mapcount: 1, anon: true });
    }
  });

  test('2.6.24–2.6.31 on a PROT_READ mapping: the page is dirty but not writable', () => {
    const k = machine('2.6.27');
    const p = k.spawn('p');
    const a = anon(k, p, 1, PROT_READ);
    clean(k.access(p.threads[0]!, a, false));
    expect(k.readPte(p, a)).toMatchObject({ write: false, dirty: true });
  });

  test('2.6.32: a special zero-pfn pte, no count, no rmap, no rss, no anon_vma', () => {
    const k = machine('2.6.32');
    const p = k.spawn('p');
    const a = anon(k, p);
    const before = k.pageInfo(k.zeroPfn)!;
    clean(k.access(p.threads[0]!, a, false));
    expect(k.readPte(p, a)).toMatchObject({ present: true, special: true, write: false, pfn: k.zeroPfn });
    expect(k.pageInfo(k.zeroPfn)).toMatchObject({ count: before.count, mapcount: before.mapcount });
    expect(k.rss(p)).toEqual({ file: 0, anon: 0 });
    expect(k.vmNormalPage(p, a)).toBe(-1);
    expect(k.findVmaOf(p, a)!.anonVma).toBeNull();
  });

  test('2.6.32 write after read: COW from the zero pfn allocates a zeroed page, anon_rss+1', () => {
    const k = machine('2.6.32');
    const p = k.spawn('p');
    const t = p.threads[0]!;
    const a = anon(k, p);
    clean(k.access(t, a, false));
    const w = clean(k.access(t, a, true));
    expect(w.faults[0]!.chain).toEqual(['handle_mm_fault', 'handle_pte_fault', 'do_wp_page']);
    expect(w.faults[0]!.result).toBe('WRITE');
    const pte = k.readPte(p, a);
    expect(pte).toMatchObject({ special: false, write: true, dirty: true });
    expect(pte.pfn).not.toBe(k.zeroPfn);
    expect(k.rss(p)).toEqual({ file: 0, anon: 1 });
  });

  test('S003 variant: special zero pte only where use_zero_page(vma); an mlocked vma allocates', () => {
    const k = machine('2.6.31', { kernelOptions: { variant: ['zero-page-S003'] } });
    const p = k.spawn('p');
    const a = anon(k, p);
    clean(k.access(p.threads[0]!, a, false));
    expect(k.readPte(p, a)).toMatchObject({ special: true, pfn: k.zeroPfn });
    expect(k.movePagesStatus(p, a).ret).toBe(-14); // FOLL_NOZERO → ERR_PTR(-EFAULT) (§2.21)
  });
});

describe('fork and do_wp_page (§2.5, §2.16)', () => {
  test('fork write-protects both ptes, shares the page (count 2, mapcount 2); the child COWs with the data', () => {
    const k = machine('2.6.32');
    const p = k.spawn('p');
    const a = anon(k, p);
    const w = clean(k.access(p.threads[0]!, a, true));
    const pfn = k.readPte(p, a).pfn;
    const f = clean(k.fork(p, 'c'));
    const c = f.child!;
    expect(k.readPte(p, a).write).toBe(false);
    expect(k.readPte(c, a)).toMatchObject({ write: false, pfn, young: false });
    expect(k.pageInfo(pfn)).toMatchObject({ count: 2, mapcount: 2 });
    expect(k.rss(c)).toEqual({ file: 0, anon: 1 });
    const cr = clean(k.access(c.threads[0]!, a, false));
    expect(cr.value).toBe(w.value); // same data
    const cw = clean(k.access(c.threads[0]!, a, true));
    expect(cw.faults[0]!.chain).toContain('cow_user_page');
    expect(k.readPte(c, a).pfn).not.toBe(pfn);
    expect(k.pageInfo(pfn)).toMatchObject({ count: 1, mapcount: 1 });
    // the parent's page is now exclusive: do_wp_page reuses it
    const pw = clean(k.access(p.threads[0]!, a, true));
    expect(pw.faults[0]!.chain).toContain('do_wp_page_reuse');
    expect(k.readPte(p, a)).toMatchObject({ pfn, write: true });
    expect(clean(k.exit(c)).outcome).toBe('ok');
    expect(clean(k.exit(p)).outcome).toBe('ok');
    expect(k.leaks()).toEqual([]);
  });

  test('a COW copy carries the data: the child reads what the parent wrote, the parent keeps it after the child writes', () => {
    const k = machine('2.6.26');
    const p = k.spawn('p');
    const a = anon(k, p);
    const w = k.access(p.threads[0]!, a + 8, true);
    const c = k.fork(p, 'c').child!;
    const cw = k.access(c.threads[0]!, a, true);
    expect(cw.value).not.toBe(w.value);
    expect(k.access(p.threads[0]!, a, false).value).toBe(w.value);
  });

  test('fork skips a vma without anon_vma (2.6.32 zero page): the child refaults', () => {
    const k = machine('2.6.32');
    const p = k.spawn('p');
    const a = anon(k, p);
    k.access(p.threads[0]!, a, false);
    const c = clean(k.fork(p, 'c')).child!;
    expect(k.readPte(c, a).none).toBe(true);
    const r = clean(k.access(c.threads[0]!, a, false));
    expect(r.faults).toHaveLength(1);
  });

  test('exit frees every frame and page table', () => {
    const k = machine('2.6.24');
    const p = k.spawn('p');
    const a = anon(k, p, 600);
    for (let i = 0; i < 600; i++) k.access(p.threads[0]!, a + i * PAGE_SIZE, i % 2 === 0);
    const free = k.mem.freeCount();
    clean(k.exit(p));
    expect(k.mem.freeCount()).toBe(free + 600);
    expect(k.leaks()).toEqual([]);
  });

  test('SIGSEGV outside any vma and on a write to a read-only vma', () => {
    const k = machine('2.6.32');
    const p = k.spawn('p');
    const a = anon(k, p, 1, PROT_READ);
    expect(k.access(p.threads[0]!, a + 4 * PAGE_SIZE, false).outcome).toBe('SIGSEGV');
    expect(k.access(p.threads[0]!, a, true).outcome).toBe('SIGSEGV');
  });

  test('OOM: an anonymous fault with no free page kills the task', () => {
    const k = machine('2.6.27');
    const p = k.spawn('p');
    const a = anon(k, p, 8);
    k.mem.allocLimit = k.mem.allocated;
    const r = k.access(p.threads[0]!, a, true);
    expect(r.outcome).toBe('OOM');
    expect(r.faults[0]!.result).toBe('OOM');
    expect(p.alive).toBe(false);
    expect(k.findVmaOf(p, a)).toBeUndefined();
  });
});
