// Page-cache files through ->fault / ->nopage (§2.3), truncate, SIGBUS past EOF, shared anonymous
// memory, mprotect and the special bit (§2.22), mlock (§2.21), gup / follow_page (§2.12, §2.13).
import { describe, expect, test } from 'vitest';
import { FOLL_GET, FOLL_DUMP, FOLL_TOUCH, PROT_NONE } from '@mixedmap/core';
import { machine, mapFile, anon, clean, PROT_READ, PROT_WRITE, MAP_PRIVATE, MAP_SHARED, PAGE_SIZE as PS } from './fixtures/machines.js';

const RW = PROT_READ | PROT_WRITE;

describe('page-cache files', () => {
  test('private read maps the cached page (count: cache + pte), write COWs into anon', () => {
    for (const v of ['2.6.20', '2.6.26', '2.6.32']) {
      const k = machine(v);
      const p = k.spawn('p');
      const a = mapFile(k, p, '/tmp/f', 4, RW, MAP_PRIVATE);
      const t = p.threads[0]!;
      const r = clean(k.access(t, a, false));
      const handler = v === '2.6.20' ? ['do_no_page', 'nopage'] : ['do_linear_fault', '__do_fault', 'fault'];
      expect(r.faults[0]!.chain).toEqual(['handle_mm_fault', 'handle_pte_fault', ...handler]);
      const pfn = k.readPte(p, a).pfn;
      expect(k.pageInfo(pfn)).toMatchObject({ count: 2, mapcount: 1, anon: false });
      expect(k.rss(p)).toEqual({ file: 1, anon: 0 });
      clean(k.access(t, a, true));
      expect(k.pageInfo(pfn)).toMatchObject({ count: 1, mapcount: 0 });
      expect(k.rss(p)).toEqual({ file: 0, anon: 1 });
      expect(k.readPte(p, a).pfn).not.toBe(pfn);
    }
  });

  test('a private write to an untouched page does the early COW in one fault', () => {
    const k = machine('2.6.32');
    const p = k.spawn('p');
    const a = mapFile(k, p, '/tmp/f', 4, RW, MAP_PRIVATE);
    const r = clean(k.access(p.threads[0]!, a + PS, true));
    expect(r.faults).toHaveLength(1);
    expect(k.rss(p)).toEqual({ file: 0, anon: 1 });
    expect(k.readPte(p, a + PS)).toMatchObject({ write: true, dirty: true });
  });

  test('MAP_SHARED writes are seen by another process mapping the file', () => {
    const k = machine('2.6.27');
    const p = k.spawn('p');
    const q = k.spawn('q');
    const a = mapFile(k, p, '/tmp/f', 4, RW, MAP_SHARED);
    const b = mapFile(k, q, '/tmp/f', 4, RW, MAP_SHARED);
    const w = clean(k.access(p.threads[0]!, a + 2 * PS, true));
    expect(clean(k.access(q.threads[0]!, b + 2 * PS, false)).value).toBe(w.value);
    expect(k.readPte(p, a + 2 * PS).pfn).toBe(k.readPte(q, b + 2 * PS).pfn);
  });

  test('a fault at or past EOF is SIGBUS; truncate unmaps pages past the new size, even private copies', () => {
    const k = machine('2.6.32');
    const p = k.spawn('p');
    const a = mapFile(k, p, '/tmp/f', 6, RW, MAP_PRIVATE);
    const t = p.threads[0]!;
    expect(k.access(t, a + 4 * PS, false).outcome).toBe('SIGBUS');
    clean(k.access(t, a + 3 * PS, false));
    clean(k.access(t, a + 2 * PS, true));
    clean(k.truncate('/tmp/f', 2 * PS));
    expect(k.readPte(p, a + 3 * PS).none).toBe(true);
    expect(k.readPte(p, a + 2 * PS).none).toBe(true);
    expect(k.rss(p)).toEqual({ file: 0, anon: 0 });
    expect(k.access(t, a + 2 * PS, false).outcome).toBe('SIGBUS');
  });

  test('MAP_SHARED|MAP_ANONYMOUS is shmem: a child sees the parent\'s writes after fork', () => {
    const k = machine('2.6.26');
    const p = k.spawn('p');
    const a = anon(k, p, 2, RW, true);
    const c = clean(k.fork(p, 'c')).child!;
    const w = clean(k.access(p.threads[0]!, a, true));
    expect(clean(k.access(c.threads[0]!, a, false)).value).toBe(w.value);
    clean(k.exit(p));
    clean(k.exit(c));
    expect(k.leaks()).toEqual([]);
  });
});

describe('zap_pte_range and the access bit', () => {
  test('a young file pte marks its page referenced at unmap, except in a MADV_SEQUENTIAL vma from 2.6.29 (VM_SequentialReadHint)', async () => {
    const { MADV_SEQUENTIAL } = await import('@mixedmap/core');
    for (const [kernel, sequential, referenced] of [['2.6.28', true, true], ['2.6.29', false, true], ['2.6.29', true, false], ['2.6.32', true, false]] as const) {
      const k = machine(kernel);
      const p = k.spawn('p');
      const a = mapFile(k, p, '/tmp/f', 1, PROT_READ, MAP_SHARED, false);
      if (sequential) clean(k.madvise(p, a, PS, MADV_SEQUENTIAL));
      clean(k.access(p.threads[0]!, a, false));
      const pfn = k.readPte(p, a).pfn;
      expect(k.readPte(p, a).young).toBe(true);
      clean(k.munmap(p, a, PS));
      expect(k.pageInfo(pfn)!.flags.includes('referenced'), `${kernel} sequential=${sequential}`).toBe(referenced);
    }
  });
});

describe('mprotect (§2.22)', () => {
  test('x86 2.6.27+ keeps _PAGE_SPECIAL through pte_modify; PROT_NONE then back keeps the pfn', () => {
    const k = machine('2.6.32');
    const p = k.spawn('p');
    const a = anon(k, p, 1);
    clean(k.access(p.threads[0]!, a, false));
    clean(k.mprotect(p, a, PS, PROT_NONE));
    expect(k.access(p.threads[0]!, a, false).outcome).toBe('SIGSEGV');
    expect(k.readPte(p, a)).toMatchObject({ present: true, special: true, pfn: k.zeroPfn });
    clean(k.mprotect(p, a, PS, PROT_READ));
    expect(k.readPte(p, a)).toMatchObject({ special: true, pfn: k.zeroPfn });
    expect(k.vmNormalPage(p, a)).toBe(-1);
  });

  test('mprotect write-protects a writable private page; the next write reuses it', () => {
    const k = machine('2.6.27');
    const p = k.spawn('p');
    const a = anon(k, p, 1);
    clean(k.access(p.threads[0]!, a, true));
    clean(k.mprotect(p, a, PS, PROT_READ));
    expect(k.readPte(p, a).write).toBe(false);
    expect(k.mprotect(p, a, PS, RW).outcome).toBe('ok');
    const w = clean(k.access(p.threads[0]!, a, true));
    expect(w.faults[0]!.chain).toContain('do_wp_page_reuse');
  });

  test('mprotect of an unmapped range is ENOMEM; PROT_WRITE on a read-only shared file map is EACCES', () => {
    const k = machine('2.6.27');
    const p = k.spawn('p');
    expect(k.mprotect(p, 0x1000, PS, PROT_READ).errno).toBe('ENOMEM');
    const a = mapFile(k, p, '/tmp/f', 1, PROT_READ, MAP_SHARED, false);
    expect(k.mprotect(p, a, PS, RW).errno).toBe('EACCES');
  });
});

describe('gup and follow_page', () => {
  test('2.6.32: gup of a zero-page pte gets ZERO_PAGE with a reference', () => {
    const k = machine('2.6.32');
    const p = k.spawn('p');
    const a = anon(k, p, 1);
    clean(k.access(p.threads[0]!, a, false));
    const before = k.mem.count[k.zeroPfn]!;
    expect(clean(k.gup(p.threads[0]!, a, 1, false)).ret).toBe(1);
    expect(p.pins).toEqual([k.zeroPfn]);
    expect(k.mem.count[k.zeroPfn]).toBe(before + 1);
    expect(k.followPage(p, a, FOLL_DUMP).ret).toBe(-14); // FOLL_DUMP: no zero page for core dumps
    expect(k.movePagesStatus(p, a).ret).toBe(-2); // PageReserved → -ENOENT
    clean(k.putPages(p));
    expect(k.mem.count[k.zeroPfn]).toBe(before);
  });

  test('2.6.26–2.6.31 FOLL_ANON: gup of a hole returns the zero page without faulting', () => {
    const k = machine('2.6.27');
    const p = k.spawn('p');
    const a = anon(k, p, 1);
    const r = clean(k.gup(p.threads[0]!, a, 1, false));
    expect(r.ret).toBe(1);
    expect(r.faults).toHaveLength(0);
    expect(p.pins).toEqual([k.zeroPfn]);
  });

  test('a write gup COWs and pins the new anonymous page', () => {
    const k = machine('2.6.32');
    const p = k.spawn('p');
    const a = anon(k, p, 2);
    const r = clean(k.gup(p.threads[0]!, a, 2, true));
    expect(r.ret).toBe(2);
    expect(k.rss(p)).toEqual({ file: 0, anon: 2 });
    for (const pfn of p.pins) expect(k.pageInfo(pfn)!.count).toBe(2);
    expect(k.followPage(p, a, FOLL_TOUCH | FOLL_GET).detail).toBe('page');
  });

  test('gup_fast on x86 2.6.27+ pins present ptes locklessly; 2.6.26 has no such API', () => {
    const k = machine('2.6.27');
    const p = k.spawn('p');
    const a = anon(k, p, 2);
    clean(k.access(p.threads[0]!, a, true));
    const r = clean(k.gupFast(p.threads[0]!, a, 2, true));
    expect(r.ret).toBe(2);
    expect(r.faults).toHaveLength(1); // the second page went to the slow path and faulted
    const old = machine('2.6.26');
    const q = old.spawn('q');
    expect(old.gupFast(q.threads[0]!, anon(old, q, 1), 1, false).errno).toBe('ENOSYS');
  });
});

describe('forced and multi-page write gup (§2.13)', () => {
  test('a forced write (ptrace) into a PROT_READ private mapping COWs but leaves the pte read-only (maybe_mkwrite)', () => {
    for (const v of ['2.6.27', '2.6.32']) {
      const k = machine(v);
      const p = k.spawn('p');
      const a = anon(k, p, 1, PROT_READ);
      const r = clean(k.gup(p.threads[0]!, a, 1, true, true));
      expect(r.ret).toBe(1);
      expect(k.readPte(p, a)).toMatchObject({ write: false, dirty: true });
      expect(k.access(p.threads[0]!, a, true).outcome).toBe('SIGSEGV');
    }
  });
  test('≤2.6.28 re-applies FOLL_WRITE for every page: mlock of a private RW mixedmap vma COWs each page', () => {
    const k = machine('2.6.27', { dev: { mode: 'insert-mixed', allowPrivate: true } });
    const p = k.spawn('p');
    const a = mapFile(k, p, '/dev/testdev', 4, RW, MAP_PRIVATE);
    expect(clean(k.mlock(p, a, 4 * PS)).ret).toBe(0);
    expect(k.rss(p)).toEqual({ file: 0, anon: 4 });
  });
});

describe('mlock (§2.21)', () => {
  test('2.6.32 mlock populates a private writable mapping with write faults and sets PG_mlocked', () => {
    const k = machine('2.6.32');
    const p = k.spawn('p');
    const a = anon(k, p, 3);
    const r = clean(k.mlock(p, a, 3 * PS));
    expect(r.ret).toBe(0);
    expect(k.rss(p)).toEqual({ file: 0, anon: 3 });
    expect(k.pageInfo(k.readPte(p, a).pfn)!.flags).toContain('mlocked');
    expect(p.mm!.lockedVm).toBe(3);
    clean(k.munlock(p, a, 3 * PS));
    expect(k.pageInfo(k.readPte(p, a).pfn)!.flags).not.toContain('mlocked');
  });

  test('B9: 2.6.28+ skips a VM_PFNMAP vma entirely; 2.6.26 sets VM_LOCKED but does not populate', async () => {
    const { VM_LOCKED } = await import('@mixedmap/core');
    for (const [v, locked] of [['2.6.26', true], ['2.6.32', false]] as const) {
      const k = machine(v, { dev: { mode: 'remap' } });
      const p = k.spawn('p');
      const a = mapFile(k, p, '/dev/testdev', 2, RW, MAP_SHARED);
      expect(clean(k.mlock(p, a, 2 * PS)).ret).toBe(0);
      expect((k.findVmaOf(p, a)!.flags & VM_LOCKED) !== 0).toBe(locked);
    }
  });

  test('C14 v2.6.28: mlock of a private RW mixedmap vma oopses in do_wp_page; 2.6.29 COWs every page', () => {
    for (const [v, outcome] of [['2.6.28', 'oops'], ['2.6.29', 'ok']] as const) {
      const k = machine(v, { dev: { mode: 'insert-mixed', allowPrivate: true } });
      const p = k.spawn('p');
      const a = mapFile(k, p, '/dev/testdev', 2, RW, MAP_PRIVATE);
      const r = k.mlock(p, a, 2 * PS);
      expect(r.outcome).toBe(outcome);
      if (outcome === 'oops') expect(r.oops!.condition).toContain('clear_page_mlock');
      else expect(k.rss(p)).toEqual({ file: 0, anon: 2 });
    }
  });

  test('C14 2.6.27: mlock of a private PROT_READ mixedmap vma fails with ENOMEM (-EFAULT from follow_page)', () => {
    const k = machine('2.6.27', { dev: { mode: 'insert-mixed', allowPrivate: true } });
    const p = k.spawn('p');
    const a = mapFile(k, p, '/dev/testdev', 1, PROT_READ, MAP_PRIVATE);
    expect(k.mlock(p, a, PS).errno).toBe('ENOMEM');
    const k26 = machine('2.6.26', { dev: { mode: 'insert-mixed', allowPrivate: true } });
    const q = k26.spawn('q');
    const b = mapFile(k26, q, '/dev/testdev', 1, PROT_READ, MAP_PRIVATE);
    expect(k26.mlock(q, b, PS).errno).toBe('EFAULT');
  });
});
