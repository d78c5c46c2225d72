// The "6.x" profile keeps PageAnonExclusive as a page flag (docs/kernel-6x.md): set on a new
// anonymous page and on do_wp_page's reuse, cleared by fork, never set back when the other mapper
// goes; mprotect's write upgrade and a forced gup write use it. And modern mprotect_fixup populates
// a private VM_LOCKED vma that becomes writable ("trigger COW"), which no 2.6 release did.
import { describe, expect, test } from 'vitest';
import { MAP_ANONYMOUS, MAP_LOCKED, PG_anon_exclusive } from '@mixedmap/core';
import type { Machine, Task } from '@mixedmap/core';
import { machine, anon, mapFile, clean, PROT_READ, PROT_WRITE, MAP_PRIVATE, PAGE_SIZE as PS } from './fixtures/machines.js';

const RW = PROT_READ | PROT_WRITE;

function exclusive(k: Machine, p: Task, addr: number): boolean {
  const pfn = k.readPte(p, addr).pfn;
  return (k.mem.flags[pfn]! & PG_anon_exclusive) !== 0;
}

describe('PageAnonExclusive (6.x)', () => {
  test('set on a new anonymous page, cleared by fork, not set back by exit, set again by do_wp_page reuse', () => {
    const k = machine('6.x');
    const p = k.spawn('p');
    const a = anon(k, p, 1);
    clean(k.access(p.threads[0]!, a, true));
    expect(exclusive(k, p, a)).toBe(true);
    expect(k.pageInfo(k.readPte(p, a).pfn)!.flags).toContain('anon_exclusive');
    const c = clean(k.fork(p, 'c')).child!;
    expect(exclusive(k, p, a)).toBe(false);
    clean(k.exit(c));
    expect(exclusive(k, p, a)).toBe(false); // the parent maps it alone, but it is not exclusive
    // rw → r → rw: can_change_pte_writable refuses a page that is not exclusive
    clean(k.mprotect(p, a, PS, PROT_READ));
    clean(k.mprotect(p, a, PS, RW));
    expect(k.readPte(p, a).write).toBe(false);
    const pfn = k.readPte(p, a).pfn;
    expect(clean(k.access(p.threads[0]!, a, true)).faults).toHaveLength(1); // do_wp_page reuses the page
    expect(k.readPte(p, a).pfn).toBe(pfn);
    expect(exclusive(k, p, a)).toBe(true);
    clean(k.mprotect(p, a, PS, PROT_READ));
    clean(k.mprotect(p, a, PS, RW));
    expect(k.readPte(p, a).write).toBe(true);
    // 2.6 has no such flag
    for (const v of ['2.6.19', '2.6.32']) {
      const k26 = machine(v);
      const q = k26.spawn('q');
      const b = anon(k26, q, 1);
      clean(k26.access(q.threads[0]!, b, true));
      expect(exclusive(k26, q, b)).toBe(false);
    }
  });

  test('the COW copies (do_wp_page, private file do_cow_fault) are exclusive; the child copying leaves the parent page shared', () => {
    const k = machine('6.x');
    const p = k.spawn('p');
    const a = anon(k, p, 1);
    clean(k.access(p.threads[0]!, a, true));
    const c = clean(k.fork(p, 'c')).child!;
    clean(k.access(c.threads[0]!, a, true));
    expect(exclusive(k, c, a)).toBe(true);
    expect(exclusive(k, p, a)).toBe(false);
    clean(k.mprotect(p, a, PS, PROT_READ));
    clean(k.mprotect(p, a, PS, RW));
    expect(k.readPte(p, a).write).toBe(false);
    const f = mapFile(k, p, '/tmp/f', 1, RW, MAP_PRIVATE);
    clean(k.access(p.threads[0]!, f, true));
    expect(exclusive(k, p, f)).toBe(true);
  });

  test('a forced write through a read-only pte of a page fork shared faults once, then goes straight through', () => {
    const k = machine('6.x');
    const p = k.spawn('p');
    const a = anon(k, p, 1);
    clean(k.access(p.threads[0]!, a, true));
    clean(k.mprotect(p, a, PS, PROT_READ));
    const c = clean(k.fork(p, 'c')).child!;
    clean(k.exit(c));
    expect(clean(k.procMem(p.threads[0]!, a, true)).faults).toHaveLength(1);
    expect(clean(k.procMem(p.threads[0]!, a, true)).faults).toHaveLength(0);
  });
});

describe('mprotect(PROT_WRITE) on a private VM_LOCKED vma', () => {
  test('6.x populates it with write faults (mprotect_fixup "trigger COW"); no 2.6 release does', () => {
    for (const [v, faults] of [['6.x', 2], ['2.6.19', 0], ['2.6.28', 0], ['2.6.32', 0]] as const) {
      const k = machine(v);
      const p = k.spawn('p');
      const a = clean(k.mmap(p, { length: 2 * PS, prot: PROT_READ, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED })).addr!;
      const before = k.rss(p).anon;
      const r = clean(k.mprotect(p, a, 2 * PS, RW));
      expect(r.faults).toHaveLength(faults);
      expect(k.rss(p).anon - before).toBe(faults);
      if (faults) expect(k.readPte(p, a + PS)).toMatchObject({ write: true, special: false });
    }
  });

  test('6.x: only the mprotect range is populated; an unlocked vma is not', () => {
    const k = machine('6.x');
    const p = k.spawn('p');
    const f = mapFile(k, p, '/tmp/f', 2, PROT_READ, MAP_PRIVATE);
    clean(k.mlock(p, f, 2 * PS));
    const r = clean(k.mprotect(p, f + PS, PS, RW));
    expect(r.faults).toHaveLength(1);
    expect(k.rss(p)).toEqual({ file: 1, anon: 1 });
    const u = anon(k, p, 2, PROT_READ);
    expect(clean(k.mprotect(p, u, 2 * PS, RW)).faults).toHaveLength(0);
  });
});
