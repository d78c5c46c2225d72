// mprotect_fixup's early return and change_pte_range's dirty_accountable (§2.22; mm/mprotect.c
// v2.6.19–v2.6.32), and move_pages' status of an address in a gap below a vma (§2.21; mm/migrate.c
// do_pages_stat / do_pages_stat_array, every release).
import { describe, expect, test } from 'vitest';
import { MAP_ANONYMOUS, MAP_FIXED } from '@mixedmap/core';
import { machine, anon, clean, PROT_READ, PROT_WRITE, MAP_PRIVATE, PAGE_SIZE as PS } from './fixtures/machines.js';

const RW = PROT_READ | PROT_WRITE;

describe('mprotect_fixup (§2.22)', () => {
  test('newflags == oldflags: nothing is rebuilt, a written private page stays writable (no second fault)', () => {
    for (const v of ['2.6.19', '2.6.26', '2.6.32']) {
      const k = machine(v);
      const p = k.spawn('p');
      const t = p.threads[0]!;
      const a = anon(k, p, 1);
      clean(k.access(t, a, true));
      expect(k.readPte(p, a).write, v).toBe(true);
      clean(k.mprotect(p, a, PS, RW));
      expect(k.readPte(p, a).write, v).toBe(true);
      expect(clean(k.access(t, a, true)).faults, v).toEqual([]);
    }
  });
});

describe('move_pages status (do_pages_stat)', () => {
  test('an address in a gap below a vma is followed in that vma: no pte → -ENOENT; with no vma above → -EFAULT', () => {
    for (const v of ['2.6.19', '2.6.26', '2.6.32']) {
      const k = machine(v);
      const p = k.spawn('p');
      const r = k.mmap(p, { addr: 0x50004000, length: 2 * PS, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      expect(r.addr, v).toBe(0x50004000);
      clean(k.access(p.threads[0]!, 0x50004000, true));
      expect(k.movePagesStatus(p, 0x50000000).ret, v).toBe(-2); // find_vma gives the vma at 0x50004000
      expect(k.movePagesStatus(p, 0x50004000).ret, v).toBe(0); // node 0
      const above = Math.max(...p.mm!.vmas.map((vma) => vma.end));
      expect(k.movePagesStatus(p, above).ret, v).toBe(-14); // no vma at or above
    }
  });
});
