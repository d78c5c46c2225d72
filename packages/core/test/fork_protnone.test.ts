// fork's copy_one_pte write-protects a COW pte that pte_write calls writable. On s390 pte_write only
// tests _PAGE_RO, so a PROT_NONE pte (type 0x401: _PAGE_INVALID, no RO) counts as writable — and
// s390's pte_wrprotect (include/asm-s390/pgtable.h v2.6.19–v2.6.26, arch/s390/include/asm v2.6.32)
// leaves an invalid pte alone, since setting RO would make it the file-pte type. Parent and child
// keep the PROT_NONE pte; made readable again, the page is still there.
import { describe, expect, test } from 'vitest';
import { PROT_NONE, PROT_READ, PROT_WRITE } from '@mixedmap/core';
import s390 from '@mixedmap/arch-s390';
import { machine, anon, PAGE_SIZE } from './fixtures/machines.js';

describe('fork of a PROT_NONE pte on s390', () => {
  for (const v of ['2.6.19', '2.6.26', '2.6.32']) {
    test(`${v}: the pte stays PROT_NONE (not the file type) in parent and child; readable again after mprotect`, () => {
      const k = machine(v, { arch: s390 });
      const p = k.spawn('p');
      const a = anon(k, p, 1);
      expect(k.access(p.threads[0]!, a, true).outcome).toBe('ok');
      const pfn = k.readPte(p, a).pfn;
      expect(k.mprotect(p, a, PAGE_SIZE, PROT_NONE).outcome).toBe('ok');
      const before = k.readPte(p, a).lo;
      const c = k.fork(p, 'c').child!;
      for (const t of [p, c]) {
        expect(k.readPte(t, a), `${t.name}`).toMatchObject({ lo: before, present: true, pfn });
      }
      expect(k.checkInvariants()).toEqual([]);
      expect(k.mprotect(c, a, PAGE_SIZE, PROT_READ | PROT_WRITE).outcome).toBe('ok');
      const r = k.access(c.threads[0]!, a, false);
      expect(r.outcome).toBe('ok');
      expect(r.faults).toHaveLength(0); // the page is mapped: no fault
    });
  }
});
