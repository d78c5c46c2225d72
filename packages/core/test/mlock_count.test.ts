// PG_mlocked in the "6.x" profile: every pte a VM_LOCKED vma gains mlocks its page, every one it
// loses munlocks it, and the flag goes with the folio's mlock_count (mm/mlock.c since 5.18); the
// oracle compares the flag with kpageflags bit 33 on the live kernel.
import { describe, expect, test } from 'vitest';
import { MAP_LOCKED, MAP_POPULATE, PROT_NONE, type Machine, type Task } from '@mixedmap/core';
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

  test('the count is an underestimate when the mlock batch (31) is processed before the lru_add batch holding the page', () => {
    const k = machine('6.x');
    const p = k.spawn('p');
    const o = k.open(p, '/tmp/big', { write: true, create: true, size: 48 * PS });
    clean(k.mmap(p, { length: 30 * PS, prot: PROT_READ, flags: MAP_SHARED | MAP_POPULATE, file: o.file! })); // caches pages 0-29
    const lock = () => clean(k.mmap(p, { length: 48 * PS, prot: RW, flags: MAP_SHARED | MAP_LOCKED | MAP_POPULATE, file: o.file! })).addr!;
    // fault-around maps pages 0-29 (30 mlock_folio), page 30 is new: off the LRU when its mlock_folio fills the batch
    const s2 = lock();
    expect(k.mem.lruAddBatch).toEqual([]); // the operation boundary drained both batches
    expect(k.mem.mlockBatch).toEqual([]);
    const pfn = (a: number, i: number): number => k.readPte(p, a + i * PS).pfn;
    expect(k.mem.mlockCount.get(pfn(s2, 30))).toBe(0); // lru_add: unevictable with mlock_count 0
    expect(k.mem.mlockCount.get(pfn(s2, 29))).toBe(1);
    expect(k.mem.mlockCount.get(pfn(s2, 31))).toBe(1); // drained lru_add first, then counted
    const s3 = lock();
    clean(k.munlock(p, s2, 48 * PS));
    const locked = Array.from({ length: 48 }, (_, i) => mlocked(k, p, s3 + i * PS));
    expect(locked.flatMap((l, i) => (l ? [] : [i]))).toEqual([30]); // s3 still locks it, but its count reached 0
  });

  test('munmap drains the batches at tlb_finish_mmu: the page a COW left to the child is unlocked there too', () => {
    const k = machine('6.x');
    const p = k.spawn('p');
    const a = anon(k, p, 2);
    clean(k.mlock(p, a, 2 * PS));
    const c = clean(k.fork(p, 'c')).child!;
    clean(k.access(p.threads[0]!, a, true)); // COW: the old page's munlock_folio is queued
    expect(k.mem.mlockBatch).toEqual([]); // and processed by the end of the access
    expect(mlocked(k, c, a)).toBe(false);
    clean(k.munmap(p, a, 2 * PS));
    expect([mlocked(k, c, a), mlocked(k, c, a + PS)]).toEqual([false, false]);
  });
});

