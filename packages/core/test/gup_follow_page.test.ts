// follow_page, get_user_pages and get_user_pages_fast at the releases where a branch changes
// (kernel-semantics §2.12–§2.14, §2.16, §2.21; mm/memory.c, mm/migrate.c, arch/x86/mm/gup.c at each
// tag): each test runs the last release before a change and the first after it.
import { describe, expect, test } from 'vitest';
import {
  createMachine, defineDriver, FOLL_ANON, FOLL_DUMP, FOLL_GET, FOLL_TOUCH, MAP_ANONYMOUS, MAP_FIXED, type ArchSpec, type Machine,
} from '@mixedmap/core';
import x86 from '@mixedmap/arch-x86';
import arm from '@mixedmap/arch-arm';
import s390 from '@mixedmap/arch-s390';
import devmem from '@mixedmap/driver-devmem';
import { machine, anon, mapFile, clean, PROT_READ, PROT_WRITE, MAP_PRIVATE, MAP_SHARED, PAGE_SIZE as PS } from './fixtures/machines.js';

const RW = PROT_READ | PROT_WRITE;
const zeroOr = (k: Machine, pfns: number[]) => pfns.map((pfn) => (pfn === k.zeroPfn ? 'ZERO_PAGE' : 'page'));

describe('follow_page on a hole (§2.12)', () => {
  // a pte table exists (page 0 was written), page 1's pte is none: ≤2.6.25 follow_page returns NULL
  // there and gup faults; 2.6.26-rc7 (89f5b7da2a6) sends pte_none to the no-page-table branch, where
  // FOLL_ANON hands out ZERO_PAGE(0). 2.6.23's fault maps the refcounted ZERO_PAGE, 2.6.24's a new page.
  test('pte_none in an existing table: NULL and a fault up to 2.6.25, the zero page without one from 2.6.26', () => {
    const want = { '2.6.23': [1, 'ZERO_PAGE'], '2.6.24': [1, 'page'], '2.6.25': [1, 'page'], '2.6.26': [0, 'ZERO_PAGE'] } as const;
    for (const [v, [faults, got]] of Object.entries(want)) {
      const k = machine(v);
      const p = k.spawn('p');
      const a = anon(k, p, 2);
      clean(k.access(p.threads[0]!, a, true));
      expect(k.followPage(p, a + PS, FOLL_ANON).detail, v).toBe(faults ? 'NULL' : 'ZERO_PAGE');
      const r = clean(k.gup(p.threads[0]!, a + PS, 1, false));
      expect([r.ret, r.faults.length, ...zeroOr(k, p.pins)], v).toEqual([1, faults, got]);
      expect(k.readPte(p, a + PS).present, v).toBe(faults === 1);
    }
  });

  // 2.6.32 drops FOLL_ANON (a13ea5b7596): the read fault maps the special zero pte and follow_page
  // returns ZERO_PAGE with a reference
  // (the same on arm, without pte_special: vm_normal_page's is_zero_pfn, and on s390)
  test('no pte table: 2.6.31 pins ZERO_PAGE without a fault and maps nothing; 2.6.32 faults a zero pte in first', () => {
    for (const arch of [x86, arm, s390]) for (const [v, faults] of [['2.6.31', 0], ['2.6.32', 1]] as const) {
      const k = createMachine({ arch, kernel: v, memory: { ram: 16 << 20 } });
      const p = k.spawn('p');
      const a = anon(k, p, 1);
      const before = k.mem.count[k.zeroPfn]!;
      const r = clean(k.gup(p.threads[0]!, a, 1, false));
      const at = `${arch.name} ${v}`;
      expect([r.ret, r.faults.length, ...zeroOr(k, p.pins)], at).toEqual([1, faults, 'ZERO_PAGE']);
      expect(k.mem.count[k.zeroPfn], at).toBe(before + 1); // get_page on the zero page in both
      expect(k.readPte(p, a), at).toMatchObject(faults ? { present: true, special: arch !== arm, pfn: k.zeroPfn } : { present: false });
      clean(k.putPages(p));
    }
  });

  // 2.6.32 reuses 0x08 for FOLL_DUMP: a hole in a vma without ->fault is ERR_PTR(-EFAULT) (a hole in
  // the core dump), with ->fault NULL (the caller faults); in 2.6.31 the bit is FOLL_ANON
  test('flag 0x08 on a hole: 2.6.31 FOLL_ANON → ZERO_PAGE; 2.6.32 FOLL_DUMP → -EFAULT without ->fault, NULL with it', () => {
    for (const [v, anonHole, fileHole] of [['2.6.31', 'ZERO_PAGE', 'ZERO_PAGE'], ['2.6.32', 'EFAULT', 'NULL']] as const) {
      const k = machine(v);
      const p = k.spawn('p');
      const a = anon(k, p, 1);
      const f = mapFile(k, p, '/tmp/f', 1, PROT_READ, MAP_PRIVATE);
      expect(FOLL_DUMP).toBe(FOLL_ANON);
      expect(k.followPage(p, a, FOLL_DUMP).detail, v).toBe(anonHole);
      expect(k.followPage(p, f, FOLL_DUMP).detail, v).toBe(fileHole);
    }
  });

  // use_zero_page (2.6.26-rc8, 672ca28e300) excludes VM_SHARED: before it, a shared vma without
  // ->nopage/->fault (here a driver whose mmap installs no vm_ops) got ZERO_PAGE for a gup read
  test('a VM_SHARED vma without vm_ops: 2.6.25 gup pins ZERO_PAGE, 2.6.26 faults an anonymous page in', () => {
    const bare = defineDriver({
      name: 'bare',
      paths: () => ['/dev/bare'],
      lookup: (k, _st, path) => k.inodes.get(path) ?? k.newInode(k.drivers.find((d) => d.driver.name === 'bare')!.driver, path, 1 << 20, null),
      mmap: () => 0,
    });
    for (const [v, faults, got] of [['2.6.25', 0, 'ZERO_PAGE'], ['2.6.26', 1, 'page']] as const) {
      const k = createMachine({ arch: x86, kernel: v, memory: { ram: 16 << 20 }, drivers: [{ driver: bare }] });
      const p = k.spawn('p');
      const a = mapFile(k, p, '/dev/bare', 2, RW, MAP_SHARED);
      const r = clean(k.gup(p.threads[0]!, a, 1, false));
      expect([r.ret, r.faults.length, ...zeroOr(k, p.pins)], v).toEqual([1, faults, got]);
    }
  });
});

describe('follow_page on a pte without struct-page semantics (§2.12, §2.21)', () => {
  // vm_normal_page NULL: ≤2.6.25 follow_page returns NULL (the caller would fault again), 2.6.26-rc7+
  // ERR_PTR(-EFAULT); do_pages_stat maps NULL to -ENOENT and passes the error on (IS_ERR, 2.6.26+)
  test('a raw VM_PFNMAP pte: follow_page NULL and move_pages -ENOENT in 2.6.25; -EFAULT for both in 2.6.26', () => {
    for (const [v, detail, status] of [['2.6.25', 'NULL', -2], ['2.6.26', 'EFAULT', -14]] as const) {
      const k = machine(v, { dev: { mode: 'remap' } });
      const p = k.spawn('p');
      const a = mapFile(k, p, '/dev/testdev', 1, RW, MAP_SHARED);
      expect(k.readPte(p, a).present).toBe(true);
      expect(k.followPage(p, a, FOLL_GET | FOLL_TOUCH).detail, v).toBe(detail);
      expect(k.movePagesStatus(p, a).ret, v).toBe(status);
      expect(p.pins).toEqual([]);
    }
  });
});

describe('get_user_pages (§2.13)', () => {
  // 2.6.25 (900cf086fd2) returns 0 for len <= 0; before, len was tested only at the end of the
  // do-while loops, so a zero len took the first page, went negative and went on to the next
  // address gup could not map: here every page of the vma and of the vma adjacent to it
  test('len 0: 2.6.24 pins every page up to the first unmapped address; 2.6.25 pins none', () => {
    for (const [v, ret] of [['2.6.24', 6], ['2.6.25', 0]] as const) {
      const k = machine(v);
      const p = k.spawn('p');
      const a = anon(k, p, 4);
      const b = k.mmap(p, { length: 2 * PS, prot: PROT_READ, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, addr: a + 4 * PS }).addr!;
      expect(b).toBe(a + 4 * PS);
      const r = clean(k.gup(p.threads[0]!, a, 0, false));
      expect([r.ret, p.pins.length], v).toEqual([ret, ret]);
      clean(k.putPages(p));
    }
  });
});

describe('get_user_pages_fast (§2.14)', () => {
  // x86 get_user_pages_fast with nr_pages = 0 (2.6.27–2.6.32): end == start, and the do-while loops
  // test `addr != end` only after a pte, so gup_pte_range pins every pte from start that passes the
  // mask; the slow path is then asked for -nr pages and gives 0, and the call returns nr (with the
  // pages written past the end of pages[]). The generic gup_fast (arm, s390) asks gup for 0 pages: 0.
  test('nr_pages = 0: x86 pins the present ptes from start up to the first that fails the mask; arm returns 0', () => {
    for (const v of ['2.6.27', '2.6.32']) {
      const k = machine(v);
      const p = k.spawn('p');
      const a = anon(k, p, 4);
      for (let i = 0; i < 3; i++) clean(k.access(p.threads[0]!, a + i * PS, true));
      const r = clean(k.gupFast(p.threads[0]!, a, 0, false));
      expect(r.ret, v).toBe(3);
      expect(p.pins, v).toEqual([0, 1, 2].map((i) => k.readPte(p, a + i * PS).pfn));
      expect(r.reports.join('\n'), v).toMatch(/nr_pages = 0.*3 pages pinned past the end of pages\[\]/);
      expect(clean(k.gupFast(p.threads[0]!, a + 3 * PS, 0, false)).ret, `${v} pte none`).toBe(0);
      clean(k.putPages(p));
      const q = createMachine({ arch: arm, kernel: v, memory: { ram: 16 << 20 } });
      const t = q.spawn('t');
      const b = anon(q, t, 2);
      clean(q.access(t.threads[0]!, b, true));
      expect(clean(q.gupFast(t.threads[0]!, b, 0, false)).ret, `arm ${v}`).toBe(0);
      expect(t.pins, `arm ${v}`).toEqual([]);
    }
  });

  /** a private /dev/mem mapping of the page at `addr`, written once: a COWed anonymous page in a VM_PFNMAP vma */
  function cowedPfnmapPage(arch: ArchSpec, kernel: string, addr: number | null, bits?: number) {
    const k = createMachine({ arch, kernel, archOptions: bits ? { bits } : {}, memory: { ram: 16 << 20 }, drivers: [{ driver: devmem }] });
    const p = k.spawn('p');
    const o = k.open(p, '/dev/mem', { write: true });
    const top = addr ?? k.arch.taskSize - PS;
    const r = k.mmap(p, { length: PS, prot: RW, flags: MAP_PRIVATE | (addr === null ? MAP_FIXED : 0), file: o.file!, addr: top, offset: 0xa0000 });
    const a = r.addr!;
    clean(k.access(p.threads[0]!, a, true));
    expect(k.readPte(p, a)).toMatchObject({ present: true, special: false });
    return { k, p, a };
  }

  // only x86 has a lockless walk in 2.6.27–2.6.32 (arch/*/mm/gup.c: x86 and powerpc); arm and s390 use
  // mm/util.c's weak get_user_pages_fast (mmap_sem + get_user_pages), which refuses VM_PFNMAP
  test('the COWed page of a VM_PFNMAP vma: x86 gup_fast pins it; arm and s390 (generic, gup) -EFAULT', () => {
    for (const v of ['2.6.27', '2.6.32']) {
      for (const [arch, ret] of [[x86, 1], [arm, -14], [s390, -14]] as const) {
        const { k, p, a } = cowedPfnmapPage(arch, v, 0x40000000);
        expect(clean(k.gup(p.threads[0]!, a, 1, false)).ret, `${arch.name} ${v} gup`).toBe(-14);
        expect(clean(k.gupFast(p.threads[0]!, a, 1, false)).ret, `${arch.name} ${v}`).toBe(ret);
      }
    }
  });

  // The range check runs before any pte is read and sends the whole range to get_user_pages:
  // 2.6.27–2.6.30 access_ok (USER_DS = PAGE_OFFSET: TASK_SIZE on x86-32, far away on x86-64);
  // 2.6.31+ (7f818906872) end < start, and end >> 47 on x86-64 only. A range ending past the last
  // user page, starting at the COWed page of a VM_PFNMAP vma: the fast walk pins that page and the
  // slow path fails on the rest (1); the slow path alone refuses the vma (-EFAULT).
  test('a range past the top of the user address space: whole-range slow path by release and word size', () => {
    const want = [
      ['2.6.30', 32, -14], ['2.6.31', 32, 1], // x86-32: access_ok refused it; 2.6.31 has no check there
      ['2.6.30', 64, 1], ['2.6.31', 64, -14], // x86-64: USER_DS was PAGE_OFFSET; end >> 47 refuses it
    ] as const;
    for (const [v, bits, ret] of want) {
      const { k, p, a } = cowedPfnmapPage(x86, v, null, bits);
      expect(clean(k.gupFast(p.threads[0]!, a, 1, false)).ret, `${v} x86-${bits} one page`).toBe(1);
      const r = clean(k.gupFast(p.threads[0]!, a, 2, false));
      expect(r.ret, `${v} x86-${bits} two pages`).toBe(ret);
      // x86-32 2.6.31+: a range whose end wraps to 0 fails `end < start` (the whole range goes slow)
      if (bits === 32 && v === '2.6.31') expect(clean(k.gupFast(p.threads[0]!, a, 0x40001, false)).ret).toBe(-14);
    }
  });
});

describe('fork (§2.16)', () => {
  // dup_mmap: copy_page_range's -ENOMEM fails the fork (copy_process drops the new mm), nothing of the
  // child remains; copy_pte_range allocates the child's table before it touches the parent's ptes
  test('copy_page_range running out of page tables fails fork with ENOMEM and leaves no child', () => {
    for (const v of ['2.6.20', '2.6.32']) {
      const k = machine(v);
      const p = k.spawn('p');
      const a = anon(k, p, 2);
      clean(k.access(p.threads[0]!, a, true));
      const pfn = k.readPte(p, a).pfn;
      const tasks = k.tasks.length;
      k.pageTableAllocLimit = 0;
      const f = clean(k.fork(p, 'c'));
      k.pageTableAllocLimit = Infinity;
      expect([f.outcome, f.errno, f.child], v).toEqual(['error', 'ENOMEM', undefined]);
      expect(k.tasks.length, v).toBe(tasks);
      expect(k.pageInfo(pfn), v).toMatchObject({ count: 1, mapcount: 1 });
      expect(k.readPte(p, a), v).toMatchObject({ write: true, pfn });
      expect(k.checkInvariants(), v).toEqual([]);
      const c = clean(k.fork(p, 'c')).child!; // with page tables to spare it forks
      expect(k.pageInfo(pfn), v).toMatchObject({ count: 2, mapcount: 2 });
      clean(k.exit(c));
      clean(k.exit(p));
      expect(k.leaks(), v).toEqual([]);
    }
  });
});
