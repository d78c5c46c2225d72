// PG_mlocked in the "6.x" profile: every pte a VM_LOCKED vma gains mlocks its page, every one it
// loses munlocks it, and the flag goes with the folio's mlock_count (mm/mlock.c since 5.18); the
// oracle compares the flag with kpageflags bit 33 on the live kernel.
import { describe, expect, test } from 'vitest';
import { MAP_LOCKED, PROT_NONE, type Machine, type Task } from '@mixedmap/core';
import { machine, mapFile, anon, clean, PROT_READ, PROT_WRITE, MAP_SHARED, MAP_PRIVATE, PAGE_SIZE as PS } from './fixtures/machines.js';

const RW = PROT_READ | PROT_WRITE;
const mlocked = (k: Machine, t: Task, a: number): boolean => k.pageInfo(k.readPte(t, a).pfn)!.flags.includes('mlocked');

describe('PG_mlocked follows the mlock_count (6.x)', () => {
  test('a fault into a VM_LOCKED shared file vma mlocks the page (mlock_vma_folio in the rmap add); 2.6.32 only mlocks in mlock', () => {
    for (const [v, want] of [['6.x', true], ['2.6.32', false]] as const) {
      const k = machine(v);
      const p = k.spawn('p');
      const o = k.open(p, '/tmp/f', { write: true });
      // MAP_LOCKED with PROT_NONE: VM_LOCKED, nothing populated; mprotect does not populate a shared vma
      const a = clean(k.mmap(p, { length: 2 * PS, prot: PROT_NONE, flags: MAP_SHARED | MAP_LOCKED, file: o.file! })).addr!;
      clean(k.mprotect(p, a, 2 * PS, RW));
      expect(k.readPte(p, a).present, v).toBe(false);
      clean(k.access(p.threads[0]!, a, true));
      expect(mlocked(k, p, a), v).toBe(want);
    }
  });

  test('fault-around into a VM_LOCKED private file vma mlocks every page it maps', () => {
    const k = machine('6.x');
    const q = k.spawn('q');
    const s = mapFile(k, q, '/tmp/f', 4, RW, MAP_SHARED);
    for (let i = 0; i < 4; i++) clean(k.access(q.threads[0]!, s + i * PS, true)); // the page cache
    const p = k.spawn('p');
    const a = mapFile(k, p, '/tmp/f', 4, PROT_READ, MAP_PRIVATE);
    clean(k.mlock(p, a, 4 * PS)); // populate: one read fault, fault-around maps the rest
    for (let i = 0; i < 4; i++) expect(mlocked(k, p, a + i * PS)).toBe(true);
    expect(mlocked(k, q, s)).toBe(true); // the same frames
  });

  test('a page locked by two tasks stays mlocked until the last VM_LOCKED pte goes', () => {
    const k = machine('6.x');
    const p = k.spawn('p');
    const a = anon(k, p, 2, RW, true); // shared anonymous: one frame for both
    clean(k.access(p.threads[0]!, a, true));
    const c = clean(k.fork(p, 'c')).child!;
    clean(k.mlock(p, a, 2 * PS));
    clean(k.mlock(c, a, 2 * PS));
    clean(k.munlock(p, a, 2 * PS));
    expect(mlocked(k, c, a)).toBe(true); // c's lock still counts
    clean(k.munmap(c, a, 2 * PS));
    expect(mlocked(k, p, a)).toBe(false); // munlock_vma_folio on c's zap: the count reached 0
  });

  test('a COW in a VM_LOCKED vma mlocks the copy and unlocks the page left to the fork child', () => {
    for (const v of ['6.x', '2.6.32']) {
      const k = machine(v);
      const p = k.spawn('p');
      const a = anon(k, p, 1);
      clean(k.access(p.threads[0]!, a, true));
      clean(k.mlock(p, a, PS));
      const c = clean(k.fork(p, 'c')).child!; // the child's vma is not VM_LOCKED
      clean(k.access(p.threads[0]!, a, true));
      expect([mlocked(k, p, a), mlocked(k, c, a)], v).toEqual([true, false]);
    }
  });

  test('a write fault of a VM_LOCKED private file vma does not unlock the file page another locked vma maps', () => {
    const k = machine('6.x');
    const q = k.spawn('q');
    const s = mapFile(k, q, '/tmp/f', 1, RW, MAP_SHARED);
    clean(k.access(q.threads[0]!, s, true));
    clean(k.mlock(q, s, PS));
    const p = k.spawn('p');
    const a = mapFile(k, p, '/tmp/f', 1, PROT_READ, MAP_PRIVATE);
    clean(k.mlock(p, a, PS)); // read-populated: p's pte maps the file page (count 2)
    clean(k.mprotect(p, a, PS, RW)); // the locked private vma going writable populates with a write: COW
    expect(mlocked(k, p, a)).toBe(true); // the anonymous copy (mlock_new_folio)
    expect(mlocked(k, q, s)).toBe(true); // q's lock still holds the file page
  });
});
