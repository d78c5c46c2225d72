// vma_merge (mm/mmap.c, every release): mmap next to a compatible vma, and mprotect / mlock /
// madvise when a range's flags become equal to a neighbour's, make one vma; the merged vma keeps the
// non-NULL anon_vma. Per release: ≤2.6.28 merges file mappings after ->mmap, 2.6.29+ before it
// (ignoring VM_CAN_NONLINEAR); modern does not lend a forked child's anon_vma.
import { describe, expect, test } from 'vitest';
import {
  MADV_DOFORK, MADV_DONTFORK, MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, VM_DONTCOPY, VM_IO, VM_RAND_READ, VM_SEQ_READ, type Machine, type Task,
} from '@mixedmap/core';
import { machine, anon, mapFile, clean, PROT_READ, PROT_WRITE, MAP_PRIVATE, MAP_SHARED, PAGE_SIZE as PS } from './fixtures/machines.js';

const RW = PROT_READ | PROT_WRITE;
const RELEASES = ['2.6.19', '2.6.23', '2.6.26', '2.6.28', '2.6.29', '2.6.32', '6.x'];

function vmas(p: Task): Array<[number, number]> {
  return p.mm!.vmas.map((v) => [v.start, v.end]);
}

function write(k: Machine, p: Task, addr: number): void {
  clean(k.access(p.threads[0]!, addr, true));
}

describe('vma_merge at mmap', () => {
  test('adjacent private anonymous mappings with equal flags are one vma; fork copies the read part too', () => {
    for (const v of RELEASES) {
      const k = machine(v);
      const p = k.spawn('p');
      const a = anon(k, p, 2);
      write(k, p, a);
      const b = anon(k, p, 2);
      expect(b, v).toBe(a + 2 * PS);
      expect(vmas(p), v).toEqual([[a, a + 4 * PS]]);
      clean(k.access(p.threads[0]!, b, false));
      const c = clean(k.fork(p, 'c')).child!;
      // the merged vma has the anon_vma: copy_page_range copies b's pte as well
      expect(k.readPte(c, b).present, v).toBe(true);
    }
  });

  test('a read-only anonymous mapping does not merge with a read-write one; nor a shared anonymous one', () => {
    for (const v of RELEASES) {
      const k = machine(v);
      const p = k.spawn('p');
      const a = anon(k, p, 2);
      anon(k, p, 2, PROT_READ);
      anon(k, p, 2, RW, true);
      anon(k, p, 2, RW, true);
      expect(p.mm!.vmas.length, v).toBe(4);
      expect(p.mm!.vmas[0]!.start, v).toBe(a);
    }
  });

  test('file mappings merge with the same struct file and contiguous offsets only (≤2.6.28 after ->mmap, 2.6.29+ before)', () => {
    for (const v of RELEASES) {
      const k = machine(v);
      const p = k.spawn('p');
      const o = k.open(p, '/tmp/f', { write: true });
      const lo = k.mmap(p, { length: 2 * PS, prot: PROT_READ, flags: MAP_PRIVATE, file: o.file! }).addr!;
      k.mmap(p, { length: 2 * PS, prot: PROT_READ, flags: MAP_PRIVATE, file: o.file!, offset: 2 * PS });
      expect(vmas(p), v).toEqual([[lo, lo + 4 * PS]]);
      expect(o.file!.inode.mapping.iMmap.size, v).toBe(1);
      // not contiguous in the file: two vmas
      k.mmap(p, { length: PS, prot: PROT_READ, flags: MAP_PRIVATE, file: o.file! });
      // another open of the same file is another struct file: two vmas
      mapFile(k, p, '/tmp/f', 1, PROT_READ, MAP_PRIVATE);
      expect(p.mm!.vmas.length, v).toBe(3);
      expect(k.mmap(p, { length: PS, prot: RW, flags: MAP_SHARED, file: o.file!, offset: 2 * PS }).addr, v).toBeDefined();
    }
  });
});

describe('vma_merge after a flag change', () => {
  test('mprotect back to the old prot merges the three pieces and keeps the anon_vma (mprotect_fixup)', () => {
    for (const v of RELEASES) {
      const k = machine(v);
      const p = k.spawn('p');
      const m = anon(k, p, 3);
      clean(k.mprotect(p, m + PS, PS, PROT_READ));
      expect(p.mm!.vmas.length, v).toBe(3);
      write(k, p, m + 2 * PS);
      const anonVma = k.findVmaOf(p, m + 2 * PS)!.anonVma;
      clean(k.mprotect(p, m + PS, PS, RW));
      expect(vmas(p), v).toEqual([[m, m + 3 * PS]]);
      expect(p.mm!.vmas[0]!.anonVma, v).toBe(anonVma);
    }
  });

  test('different anon_vmas on both sides: the middle joins prev only', () => {
    for (const v of RELEASES) {
      const k = machine(v);
      const p = k.spawn('p');
      const m = anon(k, p, 3);
      clean(k.mprotect(p, m + PS, PS, PROT_READ));
      write(k, p, m);
      write(k, p, m + 2 * PS);
      expect(k.findVmaOf(p, m)!.anonVma, v).not.toBe(k.findVmaOf(p, m + 2 * PS)!.anonVma);
      clean(k.mprotect(p, m + PS, PS, RW));
      expect(vmas(p), v).toEqual([[m, m + 2 * PS], [m + 2 * PS, m + 3 * PS]]);
    }
  });

  test('find_mergeable_anon_vma: the first write fault next to a vma with an anon_vma reuses it, so mprotect back merges all three', () => {
    const PROT_EXEC = 4;
    for (const v of RELEASES) {
      const k = machine(v);
      const p = k.spawn('p');
      const m = anon(k, p, 3);
      clean(k.mprotect(p, m + PS, PS, RW | PROT_EXEC)); // flags differ only in VM_EXEC
      write(k, p, m + PS);
      write(k, p, m);
      write(k, p, m + 2 * PS);
      const anonVma = k.findVmaOf(p, m + PS)!.anonVma;
      expect(k.findVmaOf(p, m)!.anonVma, v).toBe(anonVma);
      expect(k.findVmaOf(p, m + 2 * PS)!.anonVma, v).toBe(anonVma);
      clean(k.mprotect(p, m + PS, PS, RW));
      expect(vmas(p), v).toEqual([[m, m + 3 * PS]]);
    }
  });

  /** vmas after: 2 pages mapped `first` (one written if `write`), mprotected to `then`, 2 more mapped `then` right after */
  function vmasAfterProtectRoundTrip(v: string, first: number, then: number, write = false): number {
    const k = machine(v);
    const p = k.spawn('p');
    const a = anon(k, p, 2, first);
    if (write) clean(k.access(p.threads[0]!, a, true));
    clean(k.mprotect(p, a, 2 * PS, then));
    expect(anon(k, p, 2, then), v).toBe(a + 2 * PS);
    return p.mm!.vmas.length;
  }

  test('VM_ACCOUNT (mprotect_fixup): made read-write and back, a mapping does not merge with a never-writable one (6.x: unless it never got an anon_vma)', () => {
    for (const v of RELEASES) {
      // modern mprotect_fixup gives an unfaulted anonymous vma's charge back (checked on the live kernel)
      expect(vmasAfterProtectRoundTrip(v, RW, PROT_READ), v).toBe(v === '6.x' ? 1 : 2);
      // written first (an anon_vma): the charge stays in every release
      expect(vmasAfterProtectRoundTrip(v, RW, PROT_READ, true), v).toBe(2);
      // and the other way round: read-only made read-write is charged and merges with a read-write one
      expect(vmasAfterProtectRoundTrip(v, PROT_READ, RW), v).toBe(1);
    }
  });

  test('munlock merges the pieces mlock split (mlock_fixup)', () => {
    for (const v of RELEASES) {
      const k = machine(v);
      const p = k.spawn('p');
      const m = anon(k, p, 3);
      clean(k.mlock(p, m + PS, PS));
      expect(p.mm!.vmas.length, v).toBe(3);
      clean(k.munlock(p, m + PS, PS));
      expect(vmas(p), v).toEqual([[m, m + 3 * PS]]);
      expect(p.mm!.vmas[0]!.anonVma, v).not.toBeNull();
      // mlock over two vmas that then become one: the walk continues after the merged vma
      clean(k.mprotect(p, m + 2 * PS, PS, PROT_READ));
      expect(clean(k.mlock(p, m, 3 * PS)).ret, v).toBe(0);
      expect(p.mm!.lockedVm, v).toBe(3);
    }
  });

  test('madvise RANDOM / SEQUENTIAL split the vma at the range edges, NORMAL merges it back (madvise_behavior)', () => {
    for (const v of RELEASES) {
      const k = machine(v);
      const p = k.spawn('p');
      const m = anon(k, p, 4);
      expect(clean(k.madvise(p, m + PS, 2 * PS, MADV_RANDOM)).ret, v).toBe(0);
      expect(vmas(p), v).toEqual([[m, m + PS], [m + PS, m + 3 * PS], [m + 3 * PS, m + 4 * PS]]);
      expect(k.findVmaOf(p, m + PS)!.flags & VM_RAND_READ, v).toBeTruthy();
      clean(k.madvise(p, m + 2 * PS, 2 * PS, MADV_SEQUENTIAL));
      expect(k.findVmaOf(p, m + 2 * PS)!.flags & (VM_SEQ_READ | VM_RAND_READ), v).toBe(VM_SEQ_READ);
      expect(p.mm!.vmas.length, v).toBe(3);
      clean(k.madvise(p, m, 4 * PS, MADV_NORMAL));
      expect(vmas(p), v).toEqual([[m, m + 4 * PS]]);
    }
  });
});

describe('MADV_DONTFORK / MADV_DOFORK (madvise_behavior: VM_DONTCOPY; dup_mmap skips such a vma)', () => {
  test('the range splits off, fork leaves it out of the child, MADV_DOFORK merges it back', () => {
    for (const v of RELEASES) {
      const k = machine(v);
      const p = k.spawn('p');
      const m = anon(k, p, 3);
      for (let i = 0; i < 3; i++) write(k, p, m + i * PS);
      expect(clean(k.madvise(p, m + PS, PS, MADV_DONTFORK)).ret, v).toBe(0);
      expect(vmas(p), v).toEqual([[m, m + PS], [m + PS, m + 2 * PS], [m + 2 * PS, m + 3 * PS]]);
      expect(k.findVmaOf(p, m + PS)!.flags & VM_DONTCOPY, v).toBe(VM_DONTCOPY);
      const c = clean(k.fork(p, 'c')).child!;
      expect(vmas(c), v).toEqual([[m, m + PS], [m + 2 * PS, m + 3 * PS]]);
      expect(k.readPte(c, m + PS).none, v).toBe(true);
      expect(k.readPte(p, m + PS).write, v).toBe(true); // never write-protected: not copied
      expect(k.readPte(p, m).write, v).toBe(false);
      expect(k.access(c.threads[0]!, m + PS, false).outcome, v).toBe('SIGSEGV');
      expect(clean(k.madvise(p, m, 3 * PS, MADV_DOFORK)).ret, v).toBe(0);
      expect(vmas(p), v).toEqual([[m, m + 3 * PS]]);
    }
  });

  test('MADV_DOFORK refuses a VM_IO vma with EINVAL and stops the walk there; MADV_DONTFORK does not', () => {
    for (const v of ['2.6.19', '2.6.27', '2.6.32', '6.x']) {
      const k = machine(v, { dev: { mode: 'remap' } });
      const p = k.spawn('p');
      const d = mapFile(k, p, '/dev/testdev', 2, RW, MAP_SHARED);
      expect(k.findVmaOf(p, d)!.flags & VM_IO, v).toBe(VM_IO);
      expect(clean(k.madvise(p, d, 2 * PS, MADV_DONTFORK)).ret, v).toBe(0);
      expect(k.findVmaOf(p, d)!.flags & VM_DONTCOPY, v).toBe(VM_DONTCOPY);
      expect(k.madvise(p, d, 2 * PS, MADV_DOFORK).errno, v).toBe('EINVAL');
      expect(k.findVmaOf(p, d)!.flags & VM_DONTCOPY, v).toBe(VM_DONTCOPY);
    }
  });
});

describe('modern: a forked child\'s anon_vma is not lent to a new neighbour (vma_had_uncowed_parents)', () => {
  test('6.x: the child\'s mmap next to an inherited written vma is a vma of its own; 2.6.32 merges', () => {
    for (const [v, n] of [['2.6.32', 1], ['6.x', 2]] as const) {
      const k = machine(v);
      const p = k.spawn('p');
      const a = anon(k, p, 2);
      write(k, p, a);
      const c = clean(k.fork(p, 'c')).child!;
      anon(k, c, 2);
      expect(c.mm!.vmas.length, v).toBe(n);
    }
  });
});

describe('modern: fork gives every copied vma an anon_vma of its own (anon_vma_fork)', () => {
  test('6.x: two vmas of the parent stay two in the child even when an mprotect makes their flags equal; 2.6.32 (shared anon_vma) merges', () => {
    for (const [v, n] of [['2.6.32', 1], ['6.x', 2]] as const) {
      const k = machine(v);
      const p = k.spawn('p');
      const a = anon(k, p, 4);
      write(k, p, a);
      clean(k.mprotect(p, a + 2 * PS, 2 * PS, PROT_READ)); // two vmas, one anon_vma
      expect(p.mm!.vmas.length, v).toBe(2);
      const c = clean(k.fork(p, 'c')).child!;
      clean(k.mprotect(c, a + 2 * PS, 2 * PS, RW));
      expect(c.mm!.vmas.length, v).toBe(n);
      // the parent's two vmas still share one anon_vma and merge
      clean(k.mprotect(p, a + 2 * PS, 2 * PS, RW));
      expect(vmas(p), v).toEqual([[a, a + 4 * PS]]);
    }
  });

  test('6.x: a child vma split after the fork keeps its anon_vma and merges back', () => {
    const k = machine('6.x');
    const p = k.spawn('p');
    const a = anon(k, p, 4);
    write(k, p, a);
    const c = clean(k.fork(p, 'c')).child!;
    clean(k.mprotect(c, a + 2 * PS, 2 * PS, PROT_READ));
    expect(c.mm!.vmas.length).toBe(2);
    clean(k.mprotect(c, a + 2 * PS, 2 * PS, RW));
    expect(vmas(c)).toEqual([[a, a + 4 * PS]]);
  });
});
