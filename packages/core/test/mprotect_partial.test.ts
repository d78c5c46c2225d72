// sys_mprotect (mm/mprotect.c, v2.6.19–v2.6.32; modern do_mprotect_pkey alike) checks only the
// first vma up front, then walks vma by vma: the VM_MAY* test (EACCES), mprotect_fixup, and a gap
// to the next vma (ENOMEM). A failure part way leaves the vmas before it with the new protection.
import { describe, expect, test } from 'vitest';
import { VM_WRITE, type Task } from '@mixedmap/core';
import { machine, anon, clean, PROT_READ, PROT_WRITE, MAP_SHARED, PAGE_SIZE as PS } from './fixtures/machines.js';

const RW = PROT_READ | PROT_WRITE;
const RELEASES = ['2.6.19', '2.6.22', '2.6.26', '2.6.28', '2.6.32', '6.x'];

function vmaAt(p: Task, addr: number) {
  return p.mm!.vmas.find((v) => v.start <= addr && addr < v.end)!;
}

describe('mprotect fails part way', () => {
  test('over a hole: ENOMEM, the vma before the hole is already read-only (a write to it is SIGSEGV)', () => {
    for (const v of RELEASES) {
      const k = machine(v);
      const p = k.spawn('p');
      const a = anon(k, p, 3);
      clean(k.access(p.threads[0]!, a, true));
      clean(k.munmap(p, a + PS, PS));
      expect(k.mprotect(p, a, 3 * PS, PROT_READ).errno, v).toBe('ENOMEM');
      expect(vmaAt(p, a).flags & VM_WRITE, v).toBe(0);
      // the vma after the hole was never reached
      expect(vmaAt(p, a + 2 * PS).flags & VM_WRITE, v).toBe(VM_WRITE);
      expect(k.access(p.threads[0]!, a, true).outcome, v).toBe('SIGSEGV');
    }
  });

  test('onto a shared mapping of a read-only open: EACCES, the vma before it is already writable', () => {
    for (const v of RELEASES) {
      const k = machine(v);
      const p = k.spawn('p');
      const a = anon(k, p, 3, PROT_READ);
      clean(k.munmap(p, a + PS, PS));
      const o = k.open(p, '/tmp/f', { write: false });
      const r = k.mmap(p, { addr: a + PS, length: PS, prot: PROT_READ, flags: MAP_SHARED, file: o.file! });
      expect(r.addr, v).toBe(a + PS);
      expect(k.mprotect(p, a, 3 * PS, RW).errno, v).toBe('EACCES');
      expect(vmaAt(p, a).flags & VM_WRITE, v).toBe(VM_WRITE);
      expect(vmaAt(p, a + 2 * PS).flags & VM_WRITE, v).toBe(0);
      expect(clean(k.access(p.threads[0]!, a, true)).outcome, v).toBe('ok');
    }
  });
});
