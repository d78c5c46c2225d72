// XIP rules (reference §2.17, worked scenarios C1–C14) on x86, with the invariant checker on.
import { describe, expect, test } from 'vitest';
import { mkdtempSync, writeFileSync, openSync, writeSync, closeSync, ftruncateSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createMachine, ConfigError, PROT_READ, PROT_WRITE, MAP_PRIVATE, MAP_SHARED, PAGE_SIZE, VM_CAN_NONLINEAR, VM_MIXEDMAP, VM_INSERTPAGE,
  type Machine, type Task, type OpResult, type KernelOptions,
} from '@mixedmap/core';
import x86 from '@mixedmap/arch-x86';
import { startAccesses, finishAccess } from '@mixedmap/testdev/race';
import xip, { scanHostDir, xipVmFlags, type XipState } from '../src/index.js';

const PS = PAGE_SIZE;
const FLASH = 0x80000000;
/** g's first block: f (4 pages, hole at 2) takes the first three blocks */
const G0 = FLASH / PAGE_SIZE + 3;

type Img = 'flash' | 'brd' | 'spages';
function machine(kernel: string, img: Img = 'flash', extra: Record<string, unknown> = {}, kernelOptions?: KernelOptions): Machine {
  const files = [{ path: 'f', size: 4 * PS, holes: [2] }, { path: 'g', size: 3 * PS }];
  const settings = img === 'brd' ? { brd: true, files, ...extra } : { region: 'img', files, ...extra };
  return createMachine({
    arch: x86, kernel, kernelOptions, memory: {
      ram: 16 << 20, regions: img === 'brd' ? [] : [{ name: 'img', start: FLASH, size: 1 << 20, kind: 'flash', structPages: img === 'spages' }],
    },
    drivers: [{ driver: xip, settings }],
  });
}

function ok<T extends OpResult>(r: T): T {
  expect(r.violations ?? []).toEqual([]);
  return r;
}

function st(k: Machine): XipState {
  return k.drivers.find((d) => d.driver.name === 'xip')!.state as XipState;
}

function map(k: Machine, p: Task, path: string, pages: number, prot: number, flags: number, write = true): number {
  const o = ok(k.open(p, path, { write }));
  const r = ok(k.mmap(p, { length: pages * PS, prot, flags, file: o.file! }));
  expect(r.errno).toBeUndefined();
  return r.addr!;
}

const RW = PROT_READ | PROT_WRITE;
const F = '/mnt/xip/f';
const G = '/mnt/xip/g';

describe('xip_file_mmap', () => {
  test.each(['2.6.19', '2.6.22', '2.6.23', '2.6.25', '2.6.26', '2.6.27', '2.6.32'])('%s: vm_flags and vm_ops by release', (kv) => {
    const r = Number(kv.split('.')[2]);
    const k = machine(kv, 'brd');
    const p = k.spawn('p');
    const a = map(k, p, G, 3, PROT_READ, MAP_PRIVATE);
    const vma = k.findVmaOf(p, a)!;
    expect(vma.flags & (VM_CAN_NONLINEAR | VM_MIXEDMAP)).toBe(xipVmFlags(r));
    expect(!!vma.ops!.nopage).toBe(r <= 22);
    expect(!!vma.ops!.fault).toBe(r >= 23);
  });
});

describe('struct pages before 2.6.26', () => {
  test.each(['2.6.20', '2.6.24'])('%s: brd (struct pages) — the block page is returned with a reference and mapped as a file page', (kv) => {
    const k = machine(kv, 'brd');
    const p = k.spawn('p');
    const a = map(k, p, G, 3, PROT_READ, MAP_PRIVATE);
    const r = ok(k.access(p.threads[0]!, a, false));
    expect(r.faults[0]!.chain).toEqual(kv === '2.6.20'
      ? ['handle_mm_fault', 'handle_pte_fault', 'do_no_page', 'nopage']
      : ['handle_mm_fault', 'handle_pte_fault', 'do_linear_fault', '__do_fault', 'fault']);
    const pfn = k.readPte(p, a).pfn;
    expect(k.pageInfo(pfn)).toMatchObject({ count: 2, mapcount: 1 });
    expect(k.rss(p)).toEqual({ file: 1, anon: 0 });
    ok(k.exit(p));
    expect(k.pageInfo(pfn)).toMatchObject({ count: 1, mapcount: 0 });
    expect(k.leaks()).toEqual([]);
  });

  test('2.6.25: device memory with struct pages (a ≤2.6.25 DCSS) maps as a reserved refcounted page', () => {
    const k = machine('2.6.25', 'spages');
    const p = k.spawn('p');
    const a = map(k, p, G, 3, PROT_READ, MAP_PRIVATE);
    ok(k.access(p.threads[0]!, a, false));
    const pfn = k.readPte(p, a).pfn;
    expect(pfn).toBeGreaterThanOrEqual(FLASH / PS);
    expect(k.pageInfo(pfn)).toMatchObject({ count: 2, mapcount: 1, reserved: true });
  });

  test.each(['2.6.20', '2.6.25'])('%s: an image without struct pages cannot be executed in place: the first fault oopses in get_xip_page', (kv) => {
    const k = machine(kv, 'flash');
    const p = k.spawn('p');
    const a = map(k, p, G, 3, PROT_READ, MAP_PRIVATE);
    const r = k.access(p.threads[0]!, a, false);
    expect(r.outcome).toBe('oops');
    expect(r.oops!.condition).toMatch(/virt_to_page\(\) on XIP memory without struct page/);
    expect(k.readPte(p, a).none).toBe(true);
  });
});

describe('holes before 2.6.23: ZERO_PAGE (≤2.6.20), then the sparse page (a76c0b97631)', () => {
  test.each(['2.6.19', '2.6.20'])('%s: a private hole maps the global ZERO_PAGE with a reference, nothing is allocated (2.6.21: the sparse page)', (kv) => {
    const k = machine(kv, 'brd');
    const p = k.spawn('p');
    const a = map(k, p, F, 4, PROT_READ, MAP_PRIVATE);
    const zero0 = k.pageInfo(k.zeroPfn)!;
    const allocated = k.mem.allocated;
    ok(k.access(p.threads[0]!, a + 2 * PS, false));
    expect(k.readPte(p, a + 2 * PS).pfn).toBe(k.zeroPfn);
    expect(k.mem.allocated).toBe(allocated);
    expect(st(k).sparse).toBe(-1);
    expect(k.pageInfo(k.zeroPfn)).toMatchObject({ count: zero0.count + 1, mapcount: zero0.mapcount + 1 });
    expect(k.rss(p)).toEqual({ file: 1, anon: 0 });
    // no allocation, so no failure path: an injected sparse-page failure is never consulted
    ok(k.driverOp('xip', 'inject', { what: 'sparse_alloc', errno: 'ENOMEM' }));
    const q = k.spawn('q');
    const b = map(k, q, F, 4, PROT_READ, MAP_PRIVATE);
    expect(ok(k.access(q.threads[0]!, b + 2 * PS, false)).outcome).toBe('ok');
    ok(k.exit(p));
    ok(k.exit(q));
    expect(k.pageInfo(k.zeroPfn)).toMatchObject({ count: zero0.count, mapcount: zero0.mapcount });
    expect(k.leaks()).toEqual([]);
    // contrast 2.6.21: the driver's private sparse page, one allocation
    const n = machine('2.6.21', 'brd');
    const r = n.spawn('r');
    const c = map(n, r, F, 4, PROT_READ, MAP_PRIVATE);
    const before = n.mem.allocated;
    ok(n.access(r.threads[0]!, c + 2 * PS, false));
    expect(n.readPte(r, c + 2 * PS).pfn).toBe(st(n).sparse);
    expect(st(n).sparse).not.toBe(n.zeroPfn);
    expect(n.mem.allocated).toBe(before + 1);
  });

  test.each(['2.6.21', '2.6.22'])('%s: a failed sparse-page allocation in xip_file_nopage is NOPAGE_OOM (OOM), not SIGBUS', (kv) => {
    const k = machine(kv, 'brd');
    const p = k.spawn('p');
    const a = map(k, p, F, 4, PROT_READ, MAP_PRIVATE);
    ok(k.driverOp('xip', 'inject', { what: 'sparse_alloc', errno: 'ENOMEM' }));
    const r = ok(k.access(p.threads[0]!, a + 2 * PS, false));
    expect(r.outcome).toBe('OOM');
    expect(k.readPte(p, a + 2 * PS).none).toBe(true);
  });
});

describe('error codes by release (§2.17, C12)', () => {
  // mm/filemap_xip.c: xip_file_nopage (v2.6.19–v2.6.22) turns a get_xip_page error other than
  // -ENODATA into NOPAGE_SIGBUS; xip_file_fault (v2.6.23, "XXX: are VM_FAULT_ codes OK?") into
  // VM_FAULT_OOM. A failed block allocation for a maybe-shared-writable hole is SIGBUS throughout.
  test.each([['2.6.19', 'SIGBUS'], ['2.6.22', 'SIGBUS'], ['2.6.23', 'OOM'], ['2.6.25', 'OOM']])('%s: a get_xip_page error on a block is %s', (kv, outcome) => {
    const k = machine(kv, 'spages');
    const p = k.spawn('p');
    const a = map(k, p, G, 3, PROT_READ, MAP_PRIVATE);
    ok(k.driverOp('xip', 'inject', { what: 'get_xip_mem', errno: 'EIO' }));
    expect(ok(k.access(p.threads[0]!, a, false)).outcome).toBe(outcome);
    expect(k.readPte(p, a).none).toBe(true);
    const q = k.spawn('q');
    const b = map(k, q, F, 4, RW, MAP_SHARED);
    ok(k.driverOp('xip', 'inject', { what: 'block_alloc', errno: 'ENOSPC' }));
    expect(ok(k.access(q.threads[0]!, b + 2 * PS, false)).outcome).toBe('SIGBUS');
  });

  // 538f8ea6c85 (v2.6.27-rc4): the private-hole branch re-queries the block under xip_sparse_mutex; an
  // error other than -ENODATA there is VM_FAULT_OOM, and nothing is mapped. 2.6.26 asks once: the
  // second call never comes and the hole maps the sparse page.
  test('2.6.26: one get_xip_mem per private hole fault — an error injected for a second call never fires', () => {
    const k = machine('2.6.26', 'flash');
    const p = k.spawn('p');
    const a = map(k, p, F, 4, PROT_READ, MAP_PRIVATE);
    ok(k.driverOp('xip', 'inject', { what: 'get_xip_mem', errno: 'EIO', skip: 1 }));
    expect(ok(k.access(p.threads[0]!, a + 2 * PS, false)).outcome).toBe('ok');
    expect(k.readPte(p, a + 2 * PS).pfn).toBe(st(k).sparse);
  });
  test.each(['2.6.27', '2.6.32'])('%s: the re-query of a private hole failing is OOM', (kv) => {
    const k = machine(kv, 'flash');
    const p = k.spawn('p');
    const a = map(k, p, F, 4, PROT_READ, MAP_PRIVATE);
    ok(k.driverOp('xip', 'inject', { what: 'get_xip_mem', errno: 'EIO', skip: 1 }));
    const r = ok(k.access(p.threads[0]!, a + 2 * PS, false));
    expect(r.faults.map((f) => f.result)).toEqual(['OOM']);
    expect([r.outcome, p.alive]).toEqual(['OOM', false]); // 2.6.27 "VM: killing process"; 2.6.32 the OOM killer picks p
    expect(k.readPte(p, a + 2 * PS).none).toBe(true);
    expect(st(k).sparse).toBe(-1); // it failed before xip_sparse_page()
  });
});

describe('2.6.26+: get_xip_mem + vm_insert_mixed', () => {
  test('C1 — 2.6.26 brd: insert_page refcounts the pfn_valid brd page', () => {
    const k = machine('2.6.26', 'brd');
    const p = k.spawn('p');
    const a = map(k, p, G, 3, PROT_READ, MAP_PRIVATE);
    const r = ok(k.access(p.threads[0]!, a, false));
    expect(r.faults[0]!.chain).toEqual(['handle_mm_fault', 'handle_pte_fault', 'do_linear_fault', '__do_fault', 'fault', 'vm_insert_mixed', 'insert_page']);
    expect(r.faults[0]!.result).toBe('NOPAGE');
    const pte = k.readPte(p, a);
    expect(pte).toMatchObject({ present: true, write: false, special: false });
    expect(k.pageInfo(pte.pfn)).toMatchObject({ count: 2, mapcount: 1 });
    expect(k.rss(p)).toEqual({ file: 1, anon: 0 });
    expect(k.vmNormalPage(p, a)).toBe(pte.pfn);
    expect(ok(k.gup(p.threads[0]!, a, 1, false)).ret).toBe(1); // gup pins the brd page on 2.6.26
    expect(k.pageInfo(pte.pfn)!.count).toBe(3);
  });

  test.each(['2.6.27', '2.6.32'])('C2 — %s brd: insert_pfn, special, no accounting; gup and gup_fast → EFAULT', (kv) => {
    const k = machine(kv, 'brd');
    const p = k.spawn('p');
    const a = map(k, p, G, 3, PROT_READ, MAP_PRIVATE);
    const r = ok(k.access(p.threads[0]!, a, false));
    expect(r.faults[0]!.chain.slice(-2)).toEqual(['vm_insert_mixed', 'insert_pfn']);
    const pte = k.readPte(p, a);
    expect(pte).toMatchObject({ present: true, special: true });
    expect(k.pageInfo(pte.pfn)).toMatchObject({ count: 1, mapcount: 0 });
    expect(k.rss(p)).toEqual({ file: 0, anon: 0 });
    expect(k.vmNormalPage(p, a)).toBe(-1);
    expect(ok(k.gup(p.threads[0]!, a, 1, false)).ret).toBe(-14);
    expect(ok(k.gupFast(p.threads[0]!, a, 1, false)).ret).toBe(-14);
  });

  test.each(['2.6.26', '2.6.27'])('C3 (x86 analogue) — %s flash: raw pte; fork skips the MIXEDMAP vma; the child faults its own', (kv) => {
    const k = machine(kv, 'flash');
    const p = k.spawn('p');
    const a = map(k, p, G, 3, PROT_READ, MAP_PRIVATE);
    ok(k.access(p.threads[0]!, a, false));
    expect(k.readPte(p, a)).toMatchObject({ present: true, special: kv === '2.6.27', pfn: G0 });
    expect(k.vmNormalPage(p, a)).toBe(-1);
    const c = ok(k.fork(p, 'c')).child!;
    expect(k.readPte(c, a).none).toBe(true);
    const r = ok(k.access(c.threads[0]!, a, false));
    expect(r.faults).toHaveLength(1);
    expect(k.readPte(c, a).pfn).toBe(G0);
  });

  test.each(['2.6.26', '2.6.27', '2.6.32'])('C4/C5 — %s flash: a write to an untouched page takes two faults and COWs by copy from the user address; fork then copies the vma', (kv) => {
    const k = machine(kv, 'flash');
    const p = k.spawn('p');
    const a = map(k, p, G, 3, RW, MAP_PRIVATE);
    const content = ok(k.access(p.threads[0]!, a + PS, false)).value;
    ok(k.munmap(p, a, 3 * PS));
    const b = map(k, p, G, 3, RW, MAP_PRIVATE);
    ok(k.access(p.threads[0]!, b, false));
    const w = ok(k.access(p.threads[0]!, b + PS, true));
    expect(w.faults).toHaveLength(2);
    expect(w.faults[0]!.chain).toContain('vm_insert_mixed');
    expect(w.faults[0]!.result).toBe('NOPAGE');
    expect(w.faults[1]!.chain).toEqual(['handle_mm_fault', 'handle_pte_fault', 'do_wp_page', 'cow_user_page']);
    const pte = k.readPte(p, b + PS);
    expect(pte).toMatchObject({ write: true, dirty: true, special: false });
    expect(k.mem.readGen(G0 + 1)).toBe(content); // the store went to the copy, not to flash
    expect(k.rss(p)).toEqual({ file: 0, anon: 1 });
    const c = ok(k.fork(p, 'c')).child!;
    expect(k.readPte(c, b)).toMatchObject({ present: true, write: false, pfn: G0 });
    expect(k.pageInfo(pte.pfn)).toMatchObject({ count: 2, mapcount: 2 });
    for (const t of [c, p]) ok(k.exit(t));
    expect(k.leaks()).toEqual([]);
  });

  test('C4 — 2.6.26 brd: the COW of a refcounted brd page is a standard file-page COW', () => {
    const k = machine('2.6.26', 'brd');
    const p = k.spawn('p');
    const a = map(k, p, G, 3, RW, MAP_PRIVATE);
    ok(k.access(p.threads[0]!, a, false));
    const brdPfn = k.readPte(p, a).pfn;
    ok(k.access(p.threads[0]!, a, true));
    expect(k.pageInfo(brdPfn)).toMatchObject({ count: 1, mapcount: 0 });
    expect(k.rss(p)).toEqual({ file: 0, anon: 1 });
  });

  test.each(['2.6.26', '2.6.27', '2.6.32'])('C6 — %s: shared-writable XIP gets writenotify; the first write reuses the raw pte (no COW)', (kv) => {
    const k = machine(kv, 'flash');
    const p = k.spawn('p');
    const a = map(k, p, G, 3, RW, MAP_SHARED);
    ok(k.access(p.threads[0]!, a, false));
    expect(k.readPte(p, a).write).toBe(false);
    const w = ok(k.access(p.threads[0]!, a, true));
    expect(w.faults[0]!.chain).toEqual(['handle_mm_fault', 'handle_pte_fault', 'do_wp_page', 'do_wp_page_reuse']);
    expect(k.readPte(p, a)).toMatchObject({ write: true, dirty: true, pfn: G0 });
    expect(k.rss(p)).toEqual({ file: 0, anon: 0 });
  });

  test('C7 — 2.6.26-rc (wpReuseSharedNoPage off): the write COWs into an anonymous page inside a MAP_SHARED mapping', () => {
    const k = machine('2.6.27', 'flash', {}, { features: { wpReuseSharedNoPage: false } });
    const p = k.spawn('p');
    const a = map(k, p, G, 3, RW, MAP_SHARED);
    ok(k.access(p.threads[0]!, a, false));
    const w = ok(k.access(p.threads[0]!, a, true));
    expect(w.faults[0]!.chain).toContain('cow_user_page');
    expect(k.readPte(p, a).pfn).not.toBe(G0);
    expect(k.rss(p)).toEqual({ file: 0, anon: 1 });
  });
});

describe('holes and the sparse page', () => {
  test('C8 — 2.6.26: two mms read the hole privately → both map the one sparse page through vmf->page', () => {
    const k = machine('2.6.26', 'flash');
    const p = k.spawn('p');
    const q = k.spawn('q');
    const a = map(k, p, F, 4, PROT_READ, MAP_PRIVATE);
    const b = map(k, q, F, 4, PROT_READ, MAP_PRIVATE);
    const r = ok(k.access(p.threads[0]!, a + 2 * PS, false));
    expect(r.faults[0]!.chain).toEqual(['handle_mm_fault', 'handle_pte_fault', 'do_linear_fault', '__do_fault', 'fault']);
    ok(k.access(q.threads[0]!, b + 2 * PS, false));
    const sparse = st(k).sparse;
    expect(k.readPte(p, a + 2 * PS).pfn).toBe(sparse);
    expect(k.readPte(q, b + 2 * PS).pfn).toBe(sparse);
    expect(k.pageInfo(sparse)).toMatchObject({ count: 3, mapcount: 2 });
    expect(k.rss(p).file).toBe(1);
    expect(k.rss(q).file).toBe(1);
    expect(k.findVmaOf(p, a)!.flags & VM_INSERTPAGE).toBe(0);
  });

  test.each(['2.6.27', '2.6.32'])('C9 — %s: vm_insert_page of the sparse page sets VM_INSERTPAGE; write COWs it; fork copies the vma', (kv) => {
    const k = machine(kv, 'flash');
    const p = k.spawn('p');
    const a = map(k, p, F, 4, RW, MAP_PRIVATE);
    const r = ok(k.access(p.threads[0]!, a + 2 * PS, false));
    expect(r.faults[0]!.chain.slice(-3)).toEqual(['fault', 'vm_insert_page', 'insert_page']);
    const sparse = st(k).sparse;
    expect(k.pageInfo(sparse)).toMatchObject({ count: 2, mapcount: 1 });
    expect(k.findVmaOf(p, a)!.flags & VM_INSERTPAGE).toBe(VM_INSERTPAGE);
    ok(k.access(p.threads[0]!, a, false)); // a real block: special pte
    const c = ok(k.fork(p, 'c')).child!;
    expect(k.readPte(c, a + 2 * PS).pfn).toBe(sparse); // copied because of VM_INSERTPAGE
    expect(k.readPte(c, a)).toMatchObject({ present: true, special: true });
    expect(k.pageInfo(sparse)).toMatchObject({ count: 3, mapcount: 2 });
    expect(k.rss(c).file).toBe(1);
    const w = ok(k.access(p.threads[0]!, a + 2 * PS, true));
    expect(w.faults[0]!.chain).toContain('cow_user_page');
    expect(k.pageInfo(sparse)).toMatchObject({ count: 2, mapcount: 1 });
    expect(k.rss(p)).toEqual({ file: 0, anon: 1 });
    // PROT_READ: the write never reaches do_wp_page
    const b = map(k, p, F, 4, PROT_READ, MAP_PRIVATE);
    ok(k.access(p.threads[0]!, b + 2 * PS, false));
    expect(ok(k.access(p.threads[0]!, b + 2 * PS, true)).outcome).toBe('SIGSEGV');
  });

  test('C10 — 2.6.26: a write to an untouched hole is one fault with the early COW; 2.6.27: two faults', () => {
    for (const [kv, n] of [['2.6.26', 1], ['2.6.27', 2]] as const) {
      const k = machine(kv, 'flash');
      const p = k.spawn('p');
      const a = map(k, p, F, 4, RW, MAP_PRIVATE);
      const w = ok(k.access(p.threads[0]!, a + 2 * PS, true));
      expect(w.faults).toHaveLength(n);
      expect(k.readPte(p, a + 2 * PS)).toMatchObject({ write: true, dirty: true });
      expect(k.rss(p)).toEqual({ file: 0, anon: 1 });
      expect(k.pageInfo(st(k).sparse)!.mapcount).toBe(0);
    }
  });

  test.each(['2.6.20', '2.6.24', '2.6.26', '2.6.27', '2.6.32'])('C11 — %s: a shared-writable fault on the hole allocates a block and __xip_unmaps the sparse page from the private mapper', (kv) => {
    const k = machine(kv, Number(kv.split('.')[2]) <= 25 ? 'brd' : 'flash');
    const p = k.spawn('p');
    const q = k.spawn('q');
    const a = map(k, p, F, 4, PROT_READ, MAP_PRIVATE);
    ok(k.access(p.threads[0]!, a + 2 * PS, false));
    // 2.6.19–2.6.20 map ZERO_PAGE for the hole and __xip_unmap looks for it (a76c0b97631 came in 2.6.21)
    const sparse = Number(kv.split('.')[2]) <= 20 ? k.zeroPfn : st(k).sparse;
    expect(k.rss(p).file).toBe(1);
    const free = ok(k.driverOp('xip', 'free_blocks', {})).ret!;
    const b = map(k, q, F, 4, RW, MAP_SHARED);
    const r = ok(k.access(q.threads[0]!, b + 2 * PS, false));
    expect(r.outcome).toBe('ok');
    expect(ok(k.driverOp('xip', 'free_blocks', {})).ret).toBe(free - 1);
    expect(k.readPte(p, a + 2 * PS).none).toBe(true); // unmapped from P
    expect(k.rss(p).file).toBe(0);
    expect(k.pageInfo(sparse)).toMatchObject({ mapcount: 0, count: 1 });
    const block = k.readPte(q, b + 2 * PS).pfn;
    expect(block).not.toBe(sparse);
    ok(k.access(p.threads[0]!, a + 2 * PS, false));
    expect(k.readPte(p, a + 2 * PS)).toMatchObject({ pfn: block, write: false });
  });

  test('C11 — write(2) filling a hole also unmaps the sparse page; a COWed copy is left alone', () => {
    const k = machine('2.6.27', 'flash');
    const p = k.spawn('p');
    const a = map(k, p, F, 4, RW, MAP_PRIVATE);
    const q = k.spawn('q');
    const b = map(k, q, F, 4, PROT_READ, MAP_PRIVATE);
    ok(k.access(p.threads[0]!, a + 2 * PS, true)); // P COWed the sparse page
    ok(k.access(q.threads[0]!, b + 2 * PS, false)); // Q maps the sparse page
    const anonP = k.readPte(p, a + 2 * PS).pfn;
    const w = ok(k.driverOp('xip', 'write', { path: F, offset: 2 * PS, length: 100 }));
    expect(w.ret).toBe(100);
    expect(k.readPte(q, b + 2 * PS).none).toBe(true);
    expect(k.readPte(p, a + 2 * PS).pfn).toBe(anonP);
    expect(ok(k.driverOp('xip', 'blocks', { path: F })).ret).toBe(4);
  });

  test.each(['2.6.26', '2.6.32'])('C12 — %s: past EOF → SIGBUS; get_xip_mem error → OOM; block allocation failure → SIGBUS; sparse allocation failure → OOM', (kv) => {
    const k = machine(kv, 'flash');
    const p = k.spawn('p');
    const a = map(k, p, G, 4, RW, MAP_PRIVATE);
    expect(ok(k.access(p.threads[0]!, a + 3 * PS, false)).outcome).toBe('SIGBUS');
    ok(k.driverOp('xip', 'inject', { what: 'get_xip_mem', errno: 'EIO' }));
    expect(ok(k.access(p.threads[0]!, a, false)).outcome).toBe('OOM');
    const q = k.spawn('q');
    const b = map(k, q, F, 4, RW, MAP_SHARED);
    ok(k.driverOp('xip', 'inject', { what: 'block_alloc', errno: 'ENOSPC' }));
    expect(ok(k.access(q.threads[0]!, b + 2 * PS, false)).outcome).toBe('SIGBUS');
    const r = k.spawn('r');
    const c = map(k, r, F, 4, PROT_READ, MAP_PRIVATE);
    ok(k.driverOp('xip', 'inject', { what: 'sparse_alloc', errno: 'ENOMEM' }));
    const last = ok(k.access(r.threads[0]!, c + 2 * PS, false));
    if (kv === '2.6.26') {
      expect(last.outcome).toBe('OOM'); // "VM: killing process": the faulting task dies
      expect([q.alive, r.alive]).toEqual([true, false]);
    } else {
      // x86 2.6.29+: pagefault_out_of_memory — the OOM killer takes q (badness equal to r's, found
      // first), and r's fault, retried, gets its sparse page (the failure was injected once)
      expect(last.outcome).toBe('ok');
      expect(last.reports.join()).toMatch(/Out of memory: kill process \d+ \(q\) score 4 or a child/);
      expect([q.alive, r.alive]).toEqual([false, true]);
    }
  });

  test('a read-only mount: holes in a shared mapping map the sparse page; write(2) and truncate are EROFS', () => {
    const k = machine('2.6.27', 'flash', { readOnly: true });
    const p = k.spawn('p');
    const a = map(k, p, F, 4, PROT_READ, MAP_SHARED, false);
    ok(k.access(p.threads[0]!, a + 2 * PS, false));
    expect(k.readPte(p, a + 2 * PS).pfn).toBe(st(k).sparse);
    expect(ok(k.driverOp('xip', 'write', { path: F, offset: 0, length: 10 })).ret).toBe(-30);
    expect(ok(k.truncate(F, 0)).ret).toBe(-30);
    // open(O_RDWR) on a read-only mount: -EROFS (may_open)
    expect(k.open(p, F, { write: true }).errno).toBe('EROFS');
  });
});

describe('races and mlock', () => {
  test.each(['2.6.26', '2.6.27', '2.6.32'])('C13 — %s: two threads fault the same block; the second vm_insert_mixed gets -EBUSY → BUG_ON(err)', (kv) => {
    const k = machine(kv, 'flash');
    const p = k.spawn('p');
    const a = map(k, p, G, 3, PROT_READ, MAP_PRIVATE);
    const t1 = p.threads[0]!;
    const t2 = k.cloneThread(p);
    startAccesses(k, [t1, t2], a); // both read pte_none
    expect(finishAccess(k, t1).outcome).toBe('ok');
    const r2 = finishAccess(k, t2);
    expect(r2.outcome).toBe('oops');
    expect(r2.oops!.condition).toMatch(/BUG_ON\(err\) in xip_file_fault: vm_insert_mixed returned -EBUSY/);
  });

  test('C13 contrast — 2.6.25 (struct pages): the loser of the race just drops its page in __do_fault', () => {
    const k = machine('2.6.25', 'brd');
    const p = k.spawn('p');
    const a = map(k, p, G, 3, PROT_READ, MAP_PRIVATE);
    const t1 = p.threads[0]!;
    const t2 = k.cloneThread(p);
    startAccesses(k, [t1, t2], a);
    expect([finishAccess(k, t1).outcome, finishAccess(k, t2).outcome]).toEqual(['ok', 'ok']);
    expect(k.checkInvariants()).toEqual([]);
    expect(k.pageInfo(k.readPte(p, a).pfn)).toMatchObject({ count: 2, mapcount: 1 });
  });

  test.each([['2.6.26', 'EFAULT'], ['2.6.27', 'ENOMEM'], ['2.6.28', 'ENOMEM'], ['2.6.32', 'ENOMEM']] as const)('C14 — %s: mlock of a private PROT_READ XIP mapping → %s, VM_LOCKED stays', (kv, errno) => {
    const k = machine(kv, 'flash');
    const p = k.spawn('p');
    const a = map(k, p, G, 3, PROT_READ, MAP_PRIVATE);
    ok(k.access(p.threads[0]!, a, false));
    const r = ok(k.mlock(p, a, 3 * PS));
    expect(r.errno).toBe(errno);
    expect(k.findVmaOf(p, a)!.flags & 0x2000).toBe(0x2000);
  });

  test('C14 — 2.6.28: mlock of a private RW XIP mapping oopses on the first COW (clear_page_mlock(NULL)); 2.6.29 COWs every page', () => {
    const k = machine('2.6.28', 'flash');
    const p = k.spawn('p');
    const a = map(k, p, G, 3, RW, MAP_PRIVATE);
    const r = k.mlock(p, a, 3 * PS);
    expect(r.outcome).toBe('oops');
    expect(r.oops!.condition).toMatch(/clear_page_mlock/);
    const k2 = machine('2.6.29', 'flash');
    const q = k2.spawn('q');
    const b = map(k2, q, G, 3, RW, MAP_PRIVATE);
    expect(ok(k2.mlock(q, b, 3 * PS)).ret).toBe(0);
    expect(k2.rss(q)).toEqual({ file: 0, anon: 3 });
  });
});

describe('mount, device, truncate', () => {
  test('umount is EBUSY while a file is mapped; unload (dcssblk remove) is EBUSY while mounted', () => {
    const k = machine('2.6.27', 'flash');
    const p = k.spawn('p');
    const a = map(k, p, G, 3, PROT_READ, MAP_PRIVATE);
    expect(ok(k.driverOp('xip', 'unload', {})).ret).toBe(-16);
    expect(ok(k.driverOp('xip', 'umount', {})).ret).toBe(-16);
    ok(k.exit(p));
    expect(ok(k.driverOp('xip', 'umount', {})).ret).toBe(0);
    expect(ok(k.driverOp('xip', 'unload', {})).ret).toBe(0);
    const q = k.spawn('q');
    expect(k.open(q, G).errno).toBe('ENOENT');
    expect(ok(k.driverOp('xip', 'mount', {})).ret).toBe(-19);
    expect(ok(k.driverOp('xip', 'load', {})).ret).toBe(0);
    expect(ok(k.driverOp('xip', 'mount', {})).ret).toBe(0);
    expect(a).toBeGreaterThan(0);
  });

  test.each(['2.6.26', '2.6.27'])('%s truncate: raw and COWed ptes beyond the new size go, the blocks are freed, later faults SIGBUS', (kv) => {
    const k = machine(kv, 'brd');
    const p = k.spawn('p');
    const a = map(k, p, G, 3, RW, MAP_PRIVATE);
    ok(k.access(p.threads[0]!, a + PS, false));
    ok(k.access(p.threads[0]!, a + 2 * PS, true));
    const free = ok(k.driverOp('xip', 'free_blocks', {})).ret!;
    expect(ok(k.truncate(G, PS)).ret).toBe(0);
    expect(k.readPte(p, a + PS).none).toBe(true);
    expect(k.readPte(p, a + 2 * PS).none).toBe(true);
    expect(ok(k.driverOp('xip', 'free_blocks', {})).ret).toBe(free + 2);
    expect(ok(k.access(p.threads[0]!, a + PS, false)).outcome).toBe('SIGBUS');
    ok(k.exit(p));
    expect(k.leaks()).toEqual([]);
  });

  test('truncate frees the image blocks by offset, then later ones in allocation order (a write 8 GiB out included); the free list hands them back last first', () => {
    const k = machine('2.6.27', 'flash');
    const write = (offset: number) => ok(k.driverOp('xip', 'write', { path: G, offset, length: 1 })).ret;
    expect([write(5 * PS), write(3 * PS), write(2 ** 33)]).toEqual([1, 1, 1]); // blocks G0+3, G0+4, G0+5
    expect(ok(k.driverOp('xip', 'blocks', { path: G })).ret).toBe(6);
    expect(k.inodes.get(G)!.size).toBe(2 ** 33 + 1);
    expect(ok(k.truncate(G, PS)).ret).toBe(0);
    expect(ok(k.driverOp('xip', 'blocks', { path: G })).ret).toBe(1);
    expect(ok(k.driverOp('xip', 'free_blocks', {})).ret).toBe(256 - 4);
    expect([write(PS), write(2 * PS), write(4 * PS)]).toEqual([1, 1, 1]);
    const p = k.spawn('p');
    const a = map(k, p, G, 5, PROT_READ, MAP_PRIVATE, false);
    const pfns = [0, 1, 2, 3, 4].map((i) => (ok(k.access(p.threads[0]!, a + i * PS, false)), k.readPte(p, a + i * PS).pfn));
    expect(pfns).toEqual([G0, G0 + 5, G0 + 4, st(k).sparse, G0 + 3]);
    ok(k.exit(p));
    expect(k.leaks()).toEqual([]);
  });

  test('a block written far out keeps its place when later writes fill the pages below it', () => {
    const k = machine('2.6.27', 'flash');
    const E = 1 << 20; // 4 GiB into the file
    const write = (pgoff: number) => ok(k.driverOp('xip', 'write', { path: G, offset: pgoff * PS, length: 1 })).ret;
    const counts = () => [ok(k.driverOp('xip', 'blocks', { path: G })).ret, ok(k.driverOp('xip', 'free_blocks', {})).ret];
    expect([write(E), write(E - 1), write(E + 3)]).toEqual([1, 1, 1]);
    expect(counts()).toEqual([6, 256 - 9]);
    expect(write(E)).toBe(1); // the block is still there: nothing allocated
    expect(counts()).toEqual([6, 256 - 9]);
    expect(ok(k.truncate(G, 0)).ret).toBe(0);
    expect(counts()).toEqual([0, 256 - 3]);
  });
});

describe('settings', () => {
  const bad = (s: Record<string, unknown>, field: RegExp, msg: RegExp, regions: Array<{ name: string; start: number; size: number; kind: 'ram' | 'flash' }> = [{ name: 'img', start: FLASH, size: 4 * PS, kind: 'flash' }]) => {
    const problems = xip.validate!(s as never);
    let err: { field: string; message: string } | undefined = problems[0];
    if (!err) {
      try {
        createMachine({ arch: x86, kernel: '2.6.27', memory: { ram: 16 << 20, regions: regions.map((r) => ({ ...r, structPages: false })) }, drivers: [{ driver: xip, settings: s }] });
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        err = { field: (e as ConfigError).field, message: (e as Error).message };
      }
    }
    expect(err, JSON.stringify(s)).toBeDefined();
    expect(err!.field).toMatch(field);
    expect(err!.message).toMatch(msg);
  };
  test('clear settings errors', () => {
    bad({}, /region/, /region: NAME|brd: true/);
    bad({ region: 'nope' }, /region/, /no memory region named "nope"/);
    bad({ region: 'ram', files: [] }, /region/, /RAM the page allocator owns/, [{ name: 'ram', start: FLASH, size: PS, kind: 'ram' as const }]);
    bad({ region: 'img', files: [{ path: 'x', size: 5 * PS }] }, /files/, /needs 5 blocks but region "img" holds 4/);
    bad({ region: 'img', files: [{ path: 'x', size: 2 * PS, holes: [2] }] }, /files\[0\]\.holes/, /not a page offset/);
    bad({ region: 'img', files: [{ path: '/etc/x', size: 1 }] }, /files\[0\]\.path/, /not under the mount point/);
    bad({ region: 'img', files: [{ path: 'x', size: -1 }] }, /files\[0\]\.size/, /non-negative/);
    bad({ region: 'img', from: '/nonexistent/dir' }, /from/, /cannot read \/nonexistent\/dir: ENOENT/);
    bad({ brd: true, region: 'img' }, /brd/, /use one of region, segment or brd/);
  });

  test('from: a host directory: sizes, and holes where the host file is sparse', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xip-'));
    writeFileSync(join(dir, 'data'), Buffer.alloc(2 * PS + 10, 7));
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'zeros'), Buffer.alloc(PS)); // written zeros: data, not a hole
    const fd = openSync(join(dir, 'sparse'), 'w');
    writeSync(fd, Buffer.alloc(PS, 1), 0, PS, 0);
    writeSync(fd, Buffer.alloc(PS, 1), 0, PS, 64 * PS);
    ftruncateSync(fd, 65 * PS);
    closeSync(fd);
    const files = scanHostDir(dir);
    expect(files.find((f) => f.path === 'data')).toEqual({ path: 'data', size: 2 * PS + 10, holes: [] });
    expect(files.find((f) => f.path === 'sub/zeros')).toEqual({ path: 'sub/zeros', size: PS, holes: [] });
    const sp = files.find((f) => f.path === 'sparse')!;
    // on a file system with sparse files the 63 unwritten pages are holes; elsewhere the file is all data
    expect([0, 63]).toContain(sp.holes.length);
    const k = createMachine({
      arch: x86, kernel: '2.6.27', memory: { ram: 16 << 20, regions: [{ name: 'img', start: FLASH, size: 1 << 20, kind: 'flash', structPages: false }] },
      drivers: [{ driver: xip, settings: { region: 'img', from: dir } }],
    });
    const p = k.spawn('p');
    const a = map(k, p, '/mnt/xip/sparse', 65, PROT_READ, MAP_PRIVATE);
    ok(k.access(p.threads[0]!, a + 5 * PS, false));
    expect(k.readPte(p, a + 5 * PS).pfn === st(k).sparse).toBe(sp.holes.length > 0);
    expect(() => createMachine({
      arch: x86, kernel: '2.6.27', memory: { ram: 16 << 20, regions: [{ name: 'img', start: FLASH, size: 4 * PS, kind: 'flash', structPages: false }] },
      drivers: [{ driver: xip, settings: { region: 'img', from: dir } }],
    })).toThrow(/blocks but region "img" holds 4/);
  });
});
