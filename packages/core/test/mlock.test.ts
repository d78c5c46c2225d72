// mlock / munlock / mmap(MAP_LOCKED) against mm/mlock.c and mm/mmap.c per release (§2.21): the
// gup retry after a short count, special vmas, the "flags unchanged" exit, vma-by-vma processing,
// MAP_LOCKED's filter and munlock's gup in 2.6.28–2.6.31.
import { describe, expect, test } from 'vitest';
import { VM_LOCKED, VM_MIXEDMAP, VM_RESERVED, MAP_LOCKED, MAP_POPULATE, MAP_FIXED, MAP_ANONYMOUS, type Machine, type Task } from '@mixedmap/core';
import { machine, mapFile, anon, clean, PROT_READ, PROT_WRITE, MAP_PRIVATE, MAP_SHARED, PAGE_SIZE as PS } from './fixtures/machines.js';

const RW = PROT_READ | PROT_WRITE;
const ENOMEM = -12;
const EPERM = -1;

function vmaAt(k: Machine, p: Task, addr: number) {
  const v = k.findVmaOf(p, addr);
  if (!v) throw new Error(`no vma at 0x${addr.toString(16)}`);
  return v;
}

/** A shared mapping of `pages` pages over the 4-page /tmp/f: pages 4… SIGBUS. */
function pastEof(k: Machine, p: Task, pages = 8, extraFlags = 0): { addr: number; faults: number } {
  const o = k.open(p, '/tmp/f', { write: true });
  const r = clean(k.mmap(p, { length: pages * PS, prot: PROT_READ, flags: MAP_SHARED | extraFlags, file: o.file! }));
  return { addr: r.addr!, faults: r.faults.length };
}

describe('F2: a short get_user_pages count in mlock', () => {
  test('2.6.28–2.6.32: __mlock_vma_pages_range retries at the failing page → ENOMEM; ≤2.6.27: make_pages_present\'s short count', () => {
    // 4 file pages, then page 4 SIGBUS: 2.6.28+ twice (the batch returns 4, the retry returns -EFAULT);
    // ≤2.6.26 a short count is -1 (EPERM), 2.6.27 -ENOMEM, after one SIGBUS
    const cases = [['2.6.26', EPERM, 5], ['2.6.27', ENOMEM, 5], ['2.6.28', ENOMEM, 6], ['2.6.29', ENOMEM, 6], ['2.6.31', ENOMEM, 6], ['2.6.32', ENOMEM, 6]] as const;
    for (const [v, errno, faults] of cases) {
      const k = machine(v);
      const p = k.spawn('p');
      const { addr } = pastEof(k, p);
      const r = clean(k.mlock(p, addr, 8 * PS));
      expect(r.ret, v).toBe(errno);
      expect(r.faults.length, v).toBe(faults);
      // VM_LOCKED and locked_vm stay in every release
      expect(vmaAt(k, p, addr).flags & VM_LOCKED, v).toBeTruthy();
      expect(p.mm!.lockedVm, v).toBe(8);
      if (k.f.release >= 28) expect(k.pageInfo(k.readPte(p, addr + 3 * PS).pfn)!.flags, v).toContain('mlocked');
    }
  });
});

describe('F3: VM_DONTEXPAND/VM_RESERVED vmas (not VM_IO/VM_PFNMAP)', () => {
  const dev = { mode: 'insert-mixed' as const, allowPrivate: true, flags: VM_MIXEDMAP | VM_RESERVED };

  test('2.6.28+: mlock populates through make_pages_present, drops its error, sets no VM_LOCKED, counts nothing', () => {
    for (const v of ['2.6.27', '2.6.28', '2.6.32']) {
      const k = machine(v, { dev });
      const p = k.spawn('p');
      const a = mapFile(k, p, '/dev/testdev', 4, PROT_READ, MAP_PRIVATE);
      const r = clean(k.mlock(p, a, 4 * PS));
      expect(r.faults.length, v).toBe(1); // page 0 faulted in (special pte), follow_page → -EFAULT
      if (v === '2.6.27') {
        // no such filter before 2.6.28: VM_LOCKED set, counted, ENOMEM
        expect(r.ret, v).toBe(ENOMEM);
        expect(vmaAt(k, p, a).flags & VM_LOCKED, v).toBeTruthy();
        expect(p.mm!.lockedVm, v).toBe(4);
      } else {
        expect(r.ret, v).toBe(0);
        expect(vmaAt(k, p, a).flags & VM_LOCKED, v).toBe(0);
        expect(p.mm!.lockedVm, v).toBe(0);
      }
    }
  });
});

describe('F4: mlock_fixup returns 0 when the flags would not change', () => {
  test('every release: mlock after mmap(MAP_LOCKED) returns 0 without a fault and without counting again', () => {
    for (const v of ['2.6.19', '2.6.26', '2.6.27', '2.6.29', '2.6.32']) {
      const k = machine(v);
      const p = k.spawn('p');
      const { addr } = pastEof(k, p, 8, MAP_LOCKED);
      expect(p.mm!.lockedVm, v).toBe(8);
      const r = clean(k.mlock(p, addr, 8 * PS));
      expect(r.ret, v).toBe(0);
      expect(r.faults.length, v).toBe(0);
      expect(p.mm!.lockedVm, v).toBe(8);
    }
  });

  test('mlock of part of a VM_LOCKED vma does not split it', () => {
    const k = machine('2.6.29');
    const p = k.spawn('p');
    const a = anon(k, p, 4);
    clean(k.mlock(p, a, 4 * PS));
    const n = p.mm!.vmas.length;
    expect(clean(k.mlock(p, a + PS, PS)).ret).toBe(0);
    expect(p.mm!.vmas.length).toBe(n);
  });
});

describe('F5: do_mlock goes vma by vma and stops at the first error', () => {
  test('a hole after the first vma: that vma is locked and populated, then ENOMEM', () => {
    for (const v of ['2.6.20', '2.6.27', '2.6.29', '2.6.32']) {
      const k = machine(v);
      const p = k.spawn('p');
      const base = 0x50000000;
      clean(k.mmap(p, { addr: base, length: 4 * PS, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED }));
      clean(k.mmap(p, { addr: base + 8 * PS, length: 4 * PS, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED }));
      const r = clean(k.mlock(p, base, 12 * PS));
      expect(r.ret, v).toBe(ENOMEM);
      expect(r.faults.length, v).toBe(4);
      expect(vmaAt(k, p, base).flags & VM_LOCKED, v).toBeTruthy();
      expect(vmaAt(k, p, base + 8 * PS).flags & VM_LOCKED, v).toBe(0);
      expect(p.mm!.lockedVm, v).toBe(4);
      // munlock across the same hole: the first vma is unlocked before the ENOMEM
      expect(clean(k.munlock(p, base, 12 * PS)).ret, v).toBe(ENOMEM);
      expect(vmaAt(k, p, base).flags & VM_LOCKED, v).toBe(0);
      expect(p.mm!.lockedVm, v).toBe(0);
    }
  });

  test('a failing first vma: the vma after it is neither locked nor populated', () => {
    for (const v of ['2.6.27', '2.6.29']) {
      const k = machine(v, { dev: { mode: 'insert-mixed', allowPrivate: true } });
      const p = k.spawn('p');
      const o = k.open(p, '/dev/testdev', { write: true });
      const x = clean(k.mmap(p, { addr: 0x60000000, length: 4 * PS, prot: PROT_READ, flags: MAP_PRIVATE | MAP_FIXED, file: o.file! })).addr!;
      const c = clean(k.mmap(p, { addr: 0x60000000 + 4 * PS, length: 4 * PS, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED })).addr!;
      const r = clean(k.mlock(p, x, 8 * PS));
      expect(r.ret, v).toBe(ENOMEM);
      expect(vmaAt(k, p, c).flags & VM_LOCKED, v).toBe(0);
      expect(k.rss(p).anon, v).toBe(0);
      expect(p.mm!.lockedVm, v).toBe(4);
    }
  });

  test('sys_mlock rounds len + (start & ~PAGE_MASK) up; len 0 is 0', () => {
    const k = machine('2.6.29');
    const p = k.spawn('p');
    const a = anon(k, p, 4);
    expect(clean(k.mlock(p, a, 0)).ret).toBe(0);
    expect(p.mm!.lockedVm).toBe(0);
    // [a+0x800, a+0x1800) touches pages 0 and 1
    expect(clean(k.mlock(p, a + 0x800, PS)).ret).toBe(0);
    expect(p.mm!.lockedVm).toBe(2);
    expect(k.rss(p).anon).toBe(2);
  });
});

describe('F6: mmap(MAP_LOCKED) and MAP_POPULATE', () => {
  test('2.6.28+: MAP_LOCKED of a VM_IO|VM_PFNMAP vma loses VM_LOCKED and is not counted; ≤2.6.27 keeps both', () => {
    for (const [v, locked] of [['2.6.26', true], ['2.6.27', true], ['2.6.28', false], ['2.6.32', false]] as const) {
      const k = machine(v, { dev: { mode: 'remap' } });
      const p = k.spawn('p');
      const a = mapFile(k, p, '/dev/testdev', 4, RW, MAP_SHARED | MAP_LOCKED);
      expect(!!(vmaAt(k, p, a).flags & VM_LOCKED), v).toBe(locked);
      expect(p.mm!.lockedVm, v).toBe(locked ? 4 : 0);
    }
  });

  test('2.6.28+: MAP_LOCKED of a VM_RESERVED vma is populated first, then loses VM_LOCKED', () => {
    const k = machine('2.6.29', { dev: { mode: 'insert-mixed', flags: VM_MIXEDMAP | VM_RESERVED } });
    const p = k.spawn('p');
    const o = k.open(p, '/dev/testdev', { write: true });
    const r = clean(k.mmap(p, { length: 4 * PS, prot: PROT_READ, flags: MAP_SHARED | MAP_LOCKED, file: o.file! }));
    expect(r.faults.length).toBe(1); // make_pages_present: page 0 faulted in (special pte), then -EFAULT
    expect(vmaAt(k, p, r.addr!).flags & VM_LOCKED).toBe(0);
    expect(p.mm!.lockedVm).toBe(0);
  });

  test('2.6.23–2.6.27: MAP_LOCKED|MAP_POPULATE populates twice; 2.6.28+ once ("else if")', () => {
    for (const [v, faults] of [['2.6.27', 6], ['2.6.28', 6], ['2.6.32', 6], ['2.6.26', 6]] as const) {
      const k = machine(v);
      const p = k.spawn('p');
      // ≤2.6.27: 4 pages + SIGBUS, then the second make_pages_present SIGBUSes again;
      // 2.6.28+: __mlock_vma_pages_range's own retry at the failing page
      expect(pastEof(k, p, 8, MAP_LOCKED | MAP_POPULATE).faults, v).toBe(faults);
    }
    // a populate that succeeds: the second pass finds every page present (no faults), so 4 either way;
    // MAP_POPULATE alone, 2.6.28+: make_pages_present (no PG_mlocked)
    const k = machine('2.6.29');
    const p = k.spawn('p');
    const { addr, faults } = pastEof(k, p, 4, MAP_POPULATE);
    expect(faults).toBe(4);
    expect(k.pageInfo(k.readPte(p, addr).pfn)!.flags).not.toContain('mlocked');
    expect(p.mm!.lockedVm).toBe(0);
  });
});

describe('F13: munlock', () => {
  function lockedAfterFork(v: string) {
    const k = machine(v);
    const p = k.spawn('p');
    const a = anon(k, p, 4);
    clean(k.mlock(p, a, 4 * PS));
    clean(k.fork(p, 'c'));
    expect(k.readPte(p, a).write).toBe(false);
    return { k, p, a };
  }

  test('2.6.28–2.6.31: munlock runs gup with write on a VM_WRITE vma and COWs the write-protected ptes; 2.6.32, ≤2.6.27 do not', () => {
    for (const v of ['2.6.27', '2.6.28', '2.6.29', '2.6.31', '2.6.32']) {
      const { k, p, a } = lockedAfterFork(v);
      const r = clean(k.munlock(p, a, 4 * PS));
      expect(r.ret, v).toBe(0);
      expect(p.mm!.lockedVm, v).toBe(0);
      if (k.f.release === 27 || k.f.release === 32) {
        expect(r.faults.length, v).toBe(0);
        expect(k.readPte(p, a).write, v).toBe(false);
        continue;
      }
      expect(r.faults.length, v).toBe(4);
      expect(r.faults.every((f) => f.chain.includes('do_wp_page')), v).toBe(true);
      expect(k.readPte(p, a).write, v).toBe(true);
      expect(k.pageInfo(k.readPte(p, a).pfn)!.flags, v).not.toContain('mlocked');
    }
  });

  test('2.6.28–2.6.31: munlock faults in pages mlock never reached; 2.6.32 (follow_page) and ≤2.6.27 do not', () => {
    for (const [v, faults] of [['2.6.27', 0], ['2.6.29', 2], ['2.6.32', 0]] as const) {
      const k = machine(v);
      const p = k.spawn('p');
      const { addr } = pastEof(k, p);
      k.mlock(p, addr, 8 * PS);
      // PROT_READ shared: read gup; pages 0–3 are present, page 4 SIGBUSes (the batch returns 4),
      // and the next batch starts at page 4 and SIGBUSes again (-EFAULT ends the walk)
      const r = clean(k.munlock(p, addr, 8 * PS));
      expect(r.ret, v).toBe(0);
      expect(r.faults.length, v).toBe(faults);
      expect(k.pageInfo(k.readPte(p, addr).pfn)!.flags, v).not.toContain('mlocked');
    }
  });

  // do_munmap and exit_mmap (2.6.28+): "unlock any mlock()ed ranges before detaching vmas" —
  // munlock_vma_pages_all clears VM_LOCKED and munlocks the pages, so the page-cache page that
  // outlives the mapping is not left PG_mlocked (≤2.6.27 has no PG_mlocked)
  test('munmap and exit munlock a VM_LOCKED vma first: the page-cache page is not left mlocked (2.6.28+)', () => {
    for (const v of ['2.6.28', '2.6.31', '2.6.32']) {
      const k = machine(v);
      const p = k.spawn('p');
      const a = mapFile(k, p, '/tmp/f', 1, PROT_READ, MAP_SHARED);
      clean(k.mlock(p, a, PS));
      const pfn = k.readPte(p, a).pfn;
      expect(k.pageInfo(pfn)!.flags, v).toContain('mlocked');
      clean(k.munmap(p, a, PS));
      expect(p.mm!.lockedVm, v).toBe(0);
      expect(k.pageInfo(pfn)!.flags, `${v} munmap`).not.toContain('mlocked');
      const b = mapFile(k, p, '/tmp/f', 1, PROT_READ, MAP_SHARED);
      clean(k.mlock(p, b, PS));
      expect(k.readPte(p, b).pfn, v).toBe(pfn); // the same cached page, mlocked again
      expect(k.pageInfo(pfn)!.flags, v).toContain('mlocked');
      clean(k.exit(p));
      expect(k.pageInfo(pfn)!.flags, `${v} exit`).not.toContain('mlocked');
    }
  });

  // The munlock inside munmap is munlock(2)'s walk: 2.6.28–2.6.31 gup with write on a VM_WRITE vma
  // COWs the ptes fork write-protected (VM_LOCKED is already clear, so do_wp_page leaves the old page
  // mlocked, the child's now); 2.6.32's follow_page faults nothing and munlocks the shared page
  test('munmap of an mlocked vma after fork: 2.6.31 COWs each page first, 2.6.32 munlocks without a fault', () => {
    for (const [v, faults, childPageMlocked] of [['2.6.31', 4, true], ['2.6.32', 0, false]] as const) {
      const { k, p, a } = lockedAfterFork(v);
      const shared = k.readPte(p, a).pfn;
      const r = clean(k.munmap(p, a, 4 * PS));
      expect(r.faults.length, v).toBe(faults);
      expect(r.faults.every((f) => f.chain.includes('do_wp_page')), v).toBe(true);
      const c = k.tasks.find((t) => t.name === 'c')!;
      expect(k.readPte(c, a).pfn, v).toBe(shared);
      expect(k.pageInfo(shared)!.flags.includes('mlocked'), v).toBe(childPageMlocked);
    }
  });

  // munlock_vma_page → try_to_munlock: another VM_LOCKED vma that maps the page mlocks it again
  // (try_to_mlock_page), if its mmap_sem can be taken — not the munlocking process's own (held for
  // write), so a second locked vma of the same process does not keep it. 2.6.28's file walk takes any
  // VM_LOCKED vma covering the page's index; 2.6.29 (508b9f8efda) wants the page mapped there, which a
  // private vma holding its own COW copy does not
  test('munlock keeps PG_mlocked for another process\'s VM_LOCKED vma; 2.6.28 also for one that maps a COW copy', () => {
    for (const [v, privateCopyKeeps] of [['2.6.28', true], ['2.6.29', false], ['2.6.32', false]] as const) {
      const k = machine(v);
      const p = k.spawn('p');
      const q = k.spawn('q');
      const a = mapFile(k, p, '/tmp/f', 1, PROT_READ, MAP_SHARED);
      const a2 = mapFile(k, p, '/tmp/f', 1, PROT_READ, MAP_SHARED);
      const b = mapFile(k, q, '/tmp/f', 1, PROT_READ, MAP_SHARED);
      for (const [t, x] of [[p, a], [p, a2], [q, b]] as const) clean(k.mlock(t, x, PS));
      const pfn = k.readPte(p, a).pfn;
      expect(k.readPte(q, b).pfn).toBe(pfn);
      clean(k.munlock(q, b, PS));
      expect(k.pageInfo(pfn)!.flags, `${v} p's vmas still locked`).toContain('mlocked');
      clean(k.munlock(p, a, PS));
      expect(k.pageInfo(pfn)!.flags, `${v} only p's own a2 left`).not.toContain('mlocked');
      // q: a private writable mapping of the same page, written (a COW copy), then mlocked
      const c = mapFile(k, q, '/tmp/f', 1, RW, MAP_PRIVATE);
      clean(k.access(q.threads[0]!, c, true));
      clean(k.mlock(q, c, PS));
      expect(k.readPte(q, c).pfn).not.toBe(pfn);
      clean(k.munlock(p, a2, PS));
      clean(k.mlock(p, a2, PS));
      expect(k.pageInfo(pfn)!.flags, v).toContain('mlocked');
      clean(k.munlock(p, a2, PS));
      expect(k.pageInfo(pfn)!.flags.includes('mlocked'), `${v} private copy`).toBe(privateCopyKeeps);
    }
  });

  // page_remove_rmap (2.6.28–2.6.32) never touches PG_mlocked: munmap munlocks the vma before the
  // zap, and a page that try_to_munlock mlocked again (2.6.28: for q's VM_LOCKED vma that holds only
  // a COW copy) stays mlocked after its last pte goes, in the page cache, until it is freed
  // (free_page_mlock) or reclaim or truncate find it
  test('the last pte going leaves PG_mlocked to free_page_mlock: 2.6.28\'s re-mlocked page-cache page stays mlocked', () => {
    for (const [v, stays] of [['2.6.28', true], ['2.6.29', false], ['2.6.32', false]] as const) {
      const k = machine(v);
      const p = k.spawn('p');
      const q = k.spawn('q');
      const a = mapFile(k, p, '/tmp/f', 1, PROT_READ, MAP_SHARED);
      clean(k.mlock(p, a, PS));
      const pfn = k.readPte(p, a).pfn;
      const c = mapFile(k, q, '/tmp/f', 1, RW, MAP_PRIVATE);
      clean(k.access(q.threads[0]!, c, true));
      clean(k.mlock(q, c, PS));
      expect(k.readPte(q, c).pfn, v).not.toBe(pfn);
      clean(k.munmap(p, a, PS));
      const info = k.pageInfo(pfn)!;
      expect(info.mapcount, v).toBe(0);
      expect(info.flags.includes('mlocked'), `${v}: unmapped page-cache page`).toBe(stays);
    }
  });

  // truncate_complete_page (2.6.28+) clears the mlock state of a page it takes out of the page cache
  // (clear_page_mlock): a gup-pinned page outlives the truncate unmlocked, though the zap ran from a
  // VM_LOCKED vma (≤2.6.27 has no PG_mlocked)
  test('2.6.28+: truncate clears PG_mlocked of a pinned page-cache page (clear_page_mlock)', () => {
    for (const v of ['2.6.28', '2.6.32']) {
      const k = machine(v);
      const p = k.spawn('p');
      const a = mapFile(k, p, '/tmp/f', 1, PROT_READ, MAP_SHARED);
      clean(k.mlock(p, a, PS));
      const pfn = k.readPte(p, a).pfn;
      expect(clean(k.gup(p.threads[0]!, a, 1, false)).ret).toBe(1);
      expect(k.pageInfo(pfn)!.flags, v).toContain('mlocked');
      clean(k.truncate('/tmp/f', 0));
      expect(k.readPte(p, a).present, v).toBe(false);
      expect(k.mem.count[pfn], `${v}: the pin holds it`).toBe(1);
      expect(k.pageInfo(pfn)!.flags, v).not.toContain('mlocked');
      clean(k.putPages(p));
    }
  });
});
