// Frames whose pfn reaches bit 31 of the pte's low word (x86: pfn ≥ 0x80000, RAM above 2 GiB). The
// page tables hold pte words as signed 32-bit integers (pte.ts); the kernel's word is unsigned, and
// that is what a user sees: readPte's lo/hi, the pfn, vm_normal_page, fork and zap all agree with a
// frame below 2 GiB.
import { describe, expect, test } from 'vitest';
import { machine, anon, clean, PAGE_SIZE } from './fixtures/machines.js';

const HIGH = 0x80123; // bit 19 of the pfn lands on bit 31 of the low word (pfn << 12)

describe('a frame above 2 GiB on x86', () => {
  for (const kernel of ['2.6.23', '2.6.32', '6.x']) {
    test(`${kernel}: its pte reads back unsigned, and fork, COW and exit count it like any other`, () => {
      const k = machine(kernel, { memory: { ram: 4 * 1024 * 1024 * 1024 } });
      const p = k.spawn('p');
      const a = anon(k, p, 2);
      expect(k.preferNextPage(HIGH)).toBe(true);
      clean(k.access(p.threads[0]!, a, true));
      const pte = k.readPte(p, a);
      expect(pte.pfn).toBe(HIGH);
      expect(pte.lo).toBeGreaterThanOrEqual(2 ** 31); // the kernel's unsigned word, bit 31 set
      expect(pte.lo).toBe((((HIGH & 0xfffff) * PAGE_SIZE) | (pte.lo & 0xfff)) >>> 0);
      expect(pte.hi).toBe(0);
      expect(pte.write && pte.dirty && pte.present).toBe(true);
      expect(k.vmNormalPage(p, a)).toBe(HIGH);
      const free0 = k.mem.freeCount();

      // fork write-protects the pte in both; the child's write copies, the parent's then reuses
      const c = k.fork(p, 'c').child!;
      expect(k.readPte(p, a).write).toBe(false);
      expect(k.pageInfo(HIGH)!.mapcount).toBe(2);
      clean(k.access(c.threads[0]!, a, true));
      expect(k.readPte(c, a).pfn).not.toBe(HIGH);
      expect(k.pageInfo(HIGH)!.mapcount).toBe(1);
      clean(k.access(p.threads[0]!, a, true));
      expect(k.readPte(p, a)).toMatchObject({ pfn: HIGH, write: true });

      // exit frees the child's copy and then the high frame itself
      k.exit(c);
      expect(k.mem.freeCount()).toBe(free0);
      k.exit(p);
      expect(k.mem.freeCount()).toBe(free0 + 1);
      expect(k.pageInfo(HIGH)!.count).toBe(0);
    });
  }
});
