// mspec rules (reference §2.18, worked scenarios A1–A7, A14) with the invariant checker on.
import { describe, expect, test } from 'vitest';
import {
  createMachine, ConfigError,
  PROT_READ, PROT_WRITE, MAP_PRIVATE, MAP_SHARED, PAGE_SIZE, VM_IO, VM_PFNMAP,
  VM_LOCKED, VM_RESERVED, VM_DONTEXPAND, PG_uncached,
  type Machine, type Task, type OpResult,
} from '@mixedmap/core';
import x86 from '@mixedmap/arch-x86';
import { startAccesses, stepTo, finishAccess } from '@mixedmap/testdev/race';
import mspec, { type MspecState, type VmaData } from '../src/index.js';

const PS = PAGE_SIZE;

function machine(kernel: string, settings: Record<string, unknown> = {}): Machine {
  return createMachine({ arch: x86, kernel, memory: { ram: 16 << 20 }, drivers: [{ driver: mspec, settings }] });
}

function ok<T extends OpResult>(r: T): T {
  expect(r.violations ?? []).toEqual([]);
  return r;
}

function st(k: Machine): MspecState {
  return k.drivers.find((d) => d.driver.name === 'mspec')!.state as MspecState;
}

function map(k: Machine, p: Task, node: string, pages = 4, prot = PROT_READ | PROT_WRITE, flags = MAP_SHARED, offset = 0, write = true) {
  const o = ok(k.open(p, node, { write }));
  return ok(k.mmap(p, { length: pages * PS, prot, flags, file: o.file!, offset }));
}

function mustMap(k: Machine, p: Task, node = '/dev/mspec_uncached', pages = 4): number {
  const r = map(k, p, node, pages);
  expect(r.errno).toBeUndefined();
  return r.addr!;
}

const ALL = ['2.6.19', '2.6.20', '2.6.22', '2.6.23', '2.6.24', '2.6.25', '2.6.26', '2.6.27', '2.6.28', '2.6.29', '2.6.30', '2.6.31', '2.6.32'];

describe('mspec_mmap', () => {
  test.each(ALL)('%s: offset ≠ 0 and MAP_PRIVATE are EINVAL, no PROT_WRITE is EPERM, no vma is left (A7)', (kv) => {
    const k = machine(kv);
    const p = k.spawn('p');
    for (const node of ['/dev/mspec_cached', '/dev/mspec_uncached', '/dev/sgi_fetchop']) {
      expect(map(k, p, node, 2, PROT_READ | PROT_WRITE, MAP_SHARED, PS).errno).toBe('EINVAL');
      expect(map(k, p, node, 2, PROT_READ | PROT_WRITE, MAP_PRIVATE).errno).toBe('EINVAL');
      expect(map(k, p, node, 2, PROT_READ, MAP_PRIVATE).errno).toBe('EINVAL');
      expect(map(k, p, node, 2, PROT_READ, MAP_SHARED).errno).toBe('EPERM');
      // a read-only fd: MAP_SHARED loses VM_SHARED → EINVAL
      expect(map(k, p, node, 2, PROT_READ, MAP_SHARED, 0, false).errno).toBe('EINVAL');
    }
    expect(p.mm!.vmas).toHaveLength(0);
    expect(st(k).vdatas.size).toBe(0);
  });

  test.each(ALL)('%s: vm_flags by release and a noncached vm_page_prot for fetchop/uncached', (kv) => {
    const k = machine(kv);
    const r = Number(kv.split('.')[2]);
    const p = k.spawn('p');
    for (const node of ['/dev/mspec_cached', '/dev/mspec_uncached', '/dev/sgi_fetchop']) {
      const a = mustMap(k, p, node, 2);
      const vma = k.findVmaOf(p, a)!;
      expect(vma.flags & (VM_IO | VM_RESERVED | VM_PFNMAP)).toBe(VM_IO | VM_RESERVED | VM_PFNMAP);
      expect((vma.flags & VM_LOCKED) !== 0).toBe(r <= 22);
      expect((vma.flags & VM_DONTEXPAND) !== 0).toBe(r >= 25);
      expect((vma.pageProt & k.arch.noncached) !== 0).toBe(node !== '/dev/mspec_cached');
      expect((vma.privateData as VmaData).refcnt).toBe(1);
      expect(vma.ops!.nopfn !== undefined).toBe(r <= 26);
      expect(vma.ops!.fault !== undefined).toBe(r >= 27);
    }
  });

  test('fetchop: false drops /dev/sgi_fetchop', () => {
    const k = machine('2.6.26', { fetchop: false });
    const p = k.spawn('p');
    expect(k.open(p, '/dev/sgi_fetchop').errno).toBe('ENOENT');
  });
});

describe('settings', () => {
  test.each([0, -1, 1.5, 'x'])('poolPages %s is a settings error naming the field', (n) => {
    expect(mspec.validate!({ poolPages: n as number })[0]!.field).toBe('poolPages');
    try {
      machine('2.6.26', { poolPages: n });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).field).toBe('drivers[0].settings.poolPages');
      expect((e as Error).message).toMatch(/poolPages/);
    }
  });

  test('a pool larger than RAM is a settings error', () => {
    expect(() => machine('2.6.26', { poolPages: 1 << 20 })).toThrow(/only \d+ pages of RAM/);
  });

  test('the pool is carved from RAM: pfn_valid, PG_uncached, count 1 held by the pool', () => {
    const k = machine('2.6.26', { poolPages: 8 });
    const s = st(k);
    expect(s.poolAll).toHaveLength(8);
    for (const pfn of s.poolAll) {
      const info = k.pageInfo(pfn)!;
      expect(info.pfnValid).toBe(true);
      expect(info.flags).toContain('uncached');
      expect(info.count).toBe(1);
      expect(info.mapcount).toBe(0);
    }
    expect(k.checkInvariants()).toEqual([]);
  });
});

describe('faults', () => {
  test('A1 — 2.6.20: read page 2 → do_no_pfn → mspec_nopfn; raw writable clean noncached pte, no accounting', () => {
    const k = machine('2.6.20');
    const p = k.spawn('p');
    const a = mustMap(k, p);
    const before = k.mem.freeCount();
    const r = ok(k.access(p.threads[0]!, a + 2 * PS, false));
    expect(r.outcome).toBe('ok');
    expect(r.faults).toHaveLength(1);
    expect(r.faults[0]!.chain).toEqual(['handle_mm_fault', 'handle_pte_fault', 'do_no_pfn', 'nopfn']);
    expect(r.faults[0]!.result).toBe('MINOR');
    const pte = k.readPte(p, a + 2 * PS);
    expect(pte).toMatchObject({ present: true, write: true, dirty: false, special: false });
    expect(pte.cache).toBe(k.arch.noncached);
    const vd = k.findVmaOf(p, a)!.privateData as VmaData;
    expect(vd.count).toBe(1);
    expect(vd.maddr[2]).toBe(pte.pfn);
    expect(k.pageInfo(pte.pfn)).toMatchObject({ count: 1, mapcount: 0, pfnValid: true });
    expect(k.vmNormalPage(p, a + 2 * PS)).toBe(-1);
    expect(k.rss(p)).toEqual({ file: 0, anon: 0 });
    expect(k.mem.freeCount()).toBe(before); // the pool page came from the pool, not the allocator
  });

  test('A2 — 2.6.26: write page 3 → dirty writable raw pte; A3 — munmap returns the zeroed page to the pool', () => {
    const k = machine('2.6.26', { poolPages: 4 });
    const p = k.spawn('p');
    const a = mustMap(k, p);
    const r = ok(k.access(p.threads[0]!, a + 3 * PS, true));
    expect(r.faults[0]!.chain).toEqual(['handle_mm_fault', 'handle_pte_fault', 'do_no_pfn', 'nopfn']);
    const pte = k.readPte(p, a + 3 * PS);
    expect(pte).toMatchObject({ present: true, write: true, dirty: true, special: false });
    expect(k.mem.readGen(pte.pfn)).not.toBe(0);
    expect(st(k).poolFree).toHaveLength(3);
    const u = ok(k.munmap(p, a, 4 * PS));
    expect(u.ret).toBe(0);
    expect(st(k).poolFree).toHaveLength(4);
    expect(st(k).vdatas.size).toBe(0);
    expect(k.mem.readGen(pte.pfn)).toBe(0); // zeroed before it went back
    expect(k.rss(p)).toEqual({ file: 0, anon: 0 });
  });

  test.each(['2.6.27', '2.6.32'])('A14 — %s: ->fault + vm_insert_pfn; special pte on x86, VM_FAULT_NOPAGE', (kv) => {
    const k = machine(kv);
    const p = k.spawn('p');
    const a = mustMap(k, p);
    const r = ok(k.access(p.threads[0]!, a, false));
    expect(r.faults[0]!.chain).toEqual(['handle_mm_fault', 'handle_pte_fault', 'do_linear_fault', '__do_fault', 'fault', 'vm_insert_pfn', 'insert_pfn']);
    expect(r.faults[0]!.result).toBe('NOPAGE');
    expect(k.readPte(p, a)).toMatchObject({ present: true, write: true, dirty: false, special: true });
    expect(k.vmNormalPage(p, a)).toBe(-1);
  });

  test.each(['2.6.20', '2.6.26', '2.6.27'])('%s: pool exhausted → NOPFN_OOM / VM_FAULT_OOM → the task is killed', (kv) => {
    const k = machine(kv, { poolPages: 2 });
    const p = k.spawn('p');
    const a = mustMap(k, p);
    ok(k.access(p.threads[0]!, a, true));
    ok(k.access(p.threads[0]!, a + PS, true));
    const r = ok(k.access(p.threads[0]!, a + 2 * PS, false));
    expect(r.outcome).toBe('OOM');
    expect(r.faults[0]!.result).toBe('OOM');
    expect(p.alive).toBe(false);
    expect(st(k).poolFree).toHaveLength(2); // exit closed the vma: both pages back
    expect(k.leaks()).toEqual([]);
  });

  test('gup refuses the VM_IO|VM_PFNMAP vma; access_process_vm has no ->access to fall back on', () => {
    const k = machine('2.6.27');
    const p = k.spawn('p');
    const a = mustMap(k, p);
    ok(k.access(p.threads[0]!, a, true));
    expect(ok(k.gup(p.threads[0]!, a, 1, false)).ret).toBe(-14);
    expect(ok(k.gupFast(p.threads[0]!, a, 1, false)).ret).toBe(-14); // special pte → slow path → EFAULT
    expect(ok(k.accessProcessVm(p.threads[0]!, a, 8, false)).ret).toBe(0);
  });
});

describe('concurrent faults agree on one pfn (A4, A14)', () => {
  test.each(['2.6.19', '2.6.23', '2.6.26'])('A4 — %s: both threads in do_no_pfn; the second finds the pte set and installs nothing', (kv) => {
    const k = machine(kv);
    const p = k.spawn('p');
    const a = mustMap(k, p);
    const t1 = p.threads[0]!;
    const t2 = k.cloneThread(p);
    startAccesses(k, [t1, t2], a);
    stepTo(k, t1, 'do_no_pfn'); // T1: mspec_nopfn allocated and published; stopped before retaking the ptl
    stepTo(k, t2, 'do_no_pfn'); // T2: mspec_nopfn finds the published page
    const vd = k.findVmaOf(p, a)!.privateData as VmaData;
    expect([t1.fault.pfn, t2.fault.pfn]).toEqual([vd.maddr[0], vd.maddr[0]]);
    expect(finishAccess(k, t1).faults.map((f) => f.result)).toEqual(['MINOR']);
    expect(finishAccess(k, t2).faults.map((f) => f.result)).toEqual(['MINOR']); // the pte_none recheck: nothing installed
    expect(vd.count).toBe(1);
    expect(k.readPte(p, a).pfn).toBe(vd.maddr[0]);
    expect(st(k).poolFree).toHaveLength(63);
    expect(k.checkInvariants()).toEqual([]);
  });

  test.each(['2.6.20', '2.6.26', '2.6.27', '2.6.32'])('%s: both allocate; the second frees its page under vdata->lock and uses the published one', (kv) => {
    const k = machine(kv, { poolPages: 4 });
    const p = k.spawn('p');
    const a = mustMap(k, p);
    const t1 = p.threads[0]!;
    const t2 = k.cloneThread(p);
    const s = st(k);
    // both accesses stop holding a freshly allocated, unpublished page (mspec's own window)
    startAccesses(k, [t1, t2], a);
    stepTo(k, t1, 'mspec:');
    stepTo(k, t2, 'mspec:');
    expect(s.poolFree).toHaveLength(2); // both allocated
    expect([finishAccess(k, t1).outcome, finishAccess(k, t2).outcome]).toEqual(['ok', 'ok']);
    const vd = k.findVmaOf(p, a)!.privateData as VmaData;
    expect(vd.count).toBe(1);
    expect(k.readPte(p, a).pfn).toBe(vd.maddr[0]);
    expect(s.poolFree).toHaveLength(3); // one page in use, the loser's page went back
    expect(k.checkInvariants()).toEqual([]);
    ok(k.exit(p));
    expect(s.poolFree).toHaveLength(4);
    expect(k.leaks()).toEqual([]);
  });

  test('A14 — 2.6.27: both threads reach vm_insert_pfn; the loser gets -EBUSY and still returns VM_FAULT_NOPAGE', () => {
    const k = machine('2.6.27');
    const p = k.spawn('p');
    const a = mustMap(k, p);
    const t1 = p.threads[0]!;
    const t2 = k.cloneThread(p);
    startAccesses(k, [t1, t2], a);
    expect(finishAccess(k, t1).faults.map((f) => f.result)).toEqual(['NOPAGE']);
    expect(finishAccess(k, t2).faults.map((f) => f.result)).toEqual(['NOPAGE']);
    expect((k.findVmaOf(p, a)!.privateData as VmaData).count).toBe(1);
    expect(k.checkInvariants()).toEqual([]);
  });
});

describe('vma_data sharing: fork, splits, last close', () => {
  test.each(['2.6.20', '2.6.26', '2.6.27'])('A6 — %s: fork copies the raw ptes; child and parent share the pages; the last close frees them', (kv) => {
    const k = machine(kv, { poolPages: 4 });
    const p = k.spawn('p');
    const a = mustMap(k, p);
    ok(k.access(p.threads[0]!, a, false));
    ok(k.access(p.threads[0]!, a + PS, true));
    const f = ok(k.fork(p, 'c'));
    const c = f.child!;
    expect(ok(k.driverOp('mspec', 'refcnt', { task: p, addr: a })).ret).toBe(2);
    const child1 = k.readPte(c, a + PS);
    expect(child1).toMatchObject({ present: true, write: true, dirty: false, young: false });
    expect(child1.pfn).toBe(k.readPte(p, a + PS).pfn);
    expect(k.findVmaOf(c, a)!.flags & VM_LOCKED).toBe(0); // the child is not mlocked
    const w = ok(k.access(c.threads[0]!, a + PS, true));
    expect(w.faults).toHaveLength(0); // pte present and writable: no fault
    expect(ok(k.access(p.threads[0]!, a + PS, false)).value).toBe(w.value); // shared memory
    ok(k.munmap(p, a, 4 * PS));
    expect(ok(k.driverOp('mspec', 'refcnt', { task: c, addr: a })).ret).toBe(1);
    expect(st(k).poolFree).toHaveLength(2);
    ok(k.exit(c));
    expect(st(k).poolFree).toHaveLength(4);
    ok(k.exit(p));
    expect(k.leaks()).toEqual([]);
  });

  test.each(['2.6.23', '2.6.26', '2.6.27', '2.6.32'])('%s: a split keeps indexing from the original start; the pages live until the last piece closes', (kv) => {
    const k = machine(kv, { poolPages: 8 });
    const p = k.spawn('p');
    const a = mustMap(k, p);
    for (let i = 0; i < 4; i++) ok(k.access(p.threads[0]!, a + i * PS, true));
    const pfns = [0, 1, 2, 3].map((i) => k.readPte(p, a + i * PS).pfn);
    ok(k.munmap(p, a + PS, PS)); // split into [0] and [2,3]
    expect(ok(k.driverOp('mspec', 'refcnt', { task: p, addr: a })).ret).toBe(2);
    ok(k.munmap(p, a, PS));
    expect(st(k).poolFree).toHaveLength(4); // nothing freed yet
    expect(ok(k.driverOp('mspec', 'refcnt', { task: p, addr: a + 2 * PS })).ret).toBe(1);
    expect(k.readPte(p, a + 2 * PS).pfn).toBe(pfns[2]);
    ok(k.munmap(p, a + 2 * PS, 2 * PS));
    expect(st(k).poolFree).toHaveLength(8);
    expect(st(k).leaked).toBe(0);
    expect(k.leaks()).toEqual([]);
  });

  test('2.6.23+: after a split a fault in the tail uses the slot of its original index', () => {
    const k = machine('2.6.26', { poolPages: 8 });
    const p = k.spawn('p');
    const a = mustMap(k, p);
    ok(k.access(p.threads[0]!, a, true)); // slot 0
    ok(k.munmap(p, a, PS)); // the tail [1..3] remains
    ok(k.access(p.threads[0]!, a + PS, true));
    const vd = k.findVmaOf(p, a + PS)!.privateData as VmaData;
    expect(vd.maddr[1]).toBe(k.readPte(p, a + PS).pfn);
    expect(vd.maddr[0]).not.toBe(k.readPte(p, a + PS).pfn);
  });

  test('2.6.20: index from vma->vm_start — after a split the tail aliases slot 0', () => {
    const k = machine('2.6.20', { poolPages: 8 });
    const p = k.spawn('p');
    const a = mustMap(k, p);
    ok(k.access(p.threads[0]!, a, true));
    const pfn0 = k.readPte(p, a).pfn;
    ok(k.munmap(p, a, 2 * PS)); // the tail [2,3] remains; the vma_data lives on (refcnt 1)
    ok(k.access(p.threads[0]!, a + 2 * PS, false));
    expect(k.readPte(p, a + 2 * PS).pfn).toBe(pfn0); // index 0 from the tail's own start
    ok(k.munmap(p, a + 2 * PS, 2 * PS));
    expect(st(k).poolFree).toHaveLength(8);
  });

  test('2.6.20: the final close from a split piece loops over its own pages only: the slots beyond it leak from the pool', () => {
    const k = machine('2.6.20', { poolPages: 8 });
    const p = k.spawn('p');
    const a = mustMap(k, p);
    for (let i = 0; i < 4; i++) ok(k.access(p.threads[0]!, a + i * PS, true));
    const pfn0 = k.readPte(p, a).pfn;
    ok(k.munmap(p, a, 2 * PS)); // the tail [2,3] remains, 2 pages long
    const u = ok(k.munmap(p, a + 2 * PS, 2 * PS));
    expect(st(k).leaked).toBe(2); // slots 2 and 3 never went back
    expect(u.reports.some((l) => /never returned to the pool/.test(l))).toBe(true);
    expect(st(k).poolFree).toHaveLength(6);
    expect(st(k).poolFree).toContain(pfn0);
    expect(k.leaks()).toEqual([]); // the pool still owns them: a pool leak, not a frame leak
  });
});

describe('mlock and mm interplay', () => {
  test('2.6.20: mmap sets VM_LOCKED itself; locked_vm counts it and population skips VM_IO', () => {
    const k = machine('2.6.20');
    const p = k.spawn('p');
    const a = mustMap(k, p);
    expect(p.mm!.lockedVm).toBe(4);
    expect(k.readPte(p, a).none).toBe(true);
    ok(k.munmap(p, a, 4 * PS));
    expect(p.mm!.lockedVm).toBe(0);
  });

  test.each([['2.6.26', true], ['2.6.27', true], ['2.6.28', false], ['2.6.32', false]] as const)('%s: mlock of an mspec vma → 0, VM_LOCKED %s', (kv, locked) => {
    const k = machine(kv);
    const p = k.spawn('p');
    const a = mustMap(k, p);
    const r = ok(k.mlock(p, a, 4 * PS));
    expect(r.ret).toBe(0);
    expect((k.findVmaOf(p, a)!.flags & VM_LOCKED) !== 0).toBe(locked);
    expect(k.readPte(p, a).none).toBe(true); // VM_IO: never populated
  });

  test('pool pages keep PG_uncached and their pool reference through map, fork, exit', () => {
    const k = machine('2.6.32', { poolPages: 2 });
    const p = k.spawn('p');
    const a = mustMap(k, p, '/dev/sgi_fetchop', 2);
    ok(k.access(p.threads[0]!, a, true));
    const pfn = k.readPte(p, a).pfn;
    expect(k.mem.flags[pfn]! & PG_uncached).toBeTruthy();
    ok(k.fork(p, 'c'));
    expect(k.pageInfo(pfn)).toMatchObject({ count: 1, mapcount: 0 });
    for (const t of k.tasks) if (t.alive) ok(k.exit(t));
    expect(k.leaks()).toEqual([]);
    expect(st(k).poolFree).toHaveLength(2);
  });
});
