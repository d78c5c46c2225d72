// User addresses live in [0, TASK_SIZE): a store outside it is a SIGSEGV (the arch's do_page_fault
// finds no vma — bad_area), and the Machine API's pte views show nothing there instead of walking the
// page tables with a negative or oversized index.
import { describe, expect, test } from 'vitest';
import { machine, anon } from './fixtures/machines.js';

describe('addresses outside the user address space', () => {
  test('access is SIGSEGV, readPte is none, vm_normal_page is NULL, nothing changes', () => {
    const k = machine('2.6.32');
    const p = k.spawn('p');
    anon(k, p);
    const free = k.mem.freeCount();
    for (const a of [-0x10000000, -16, k.arch.taskSize, 2 ** 60, Number.NaN]) {
      expect(k.access(p.threads[0]!, a, true).outcome, String(a)).toBe('SIGSEGV');
      expect(k.readPte(p, a), String(a)).toMatchObject({ none: true, present: false, pfn: -1 });
      expect(k.vmNormalPage(p, a), String(a)).toBe(-1);
    }
    expect(k.mem.freeCount()).toBe(free);
    expect(k.checkInvariants()).toEqual([]);
  });
});
