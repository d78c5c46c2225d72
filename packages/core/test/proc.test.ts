// /proc/PID/maps, smaps and pagemap per release (fs/proc/task_mmu.c: show_map / show_map_vma,
// smaps_pte_range + show_smap, pagemap_pte_range; modern smaps_account as 6.18 prints it).
import { describe, expect, test } from 'vitest';
import { renderSmaps, vmFlagMnemonics, VM_ACCOUNT, VM_IO, VM_MAYREAD, VM_MAYWRITE, VM_PFNMAP, VM_READ, VM_RESERVED, VM_SHARED, VM_WRITE, type Machine, type Task } from '@mixedmap/core';
import { machine, mapFile, anon, clean, PROT_READ, PROT_WRITE, MAP_PRIVATE, MAP_SHARED, PAGE_SIZE as PS } from './fixtures/machines.js';

const RW = PROT_READ | PROT_WRITE;

/** A private anonymous vma of 4 pages: two read faults (zero page), one write (anon page), one untouched. */
function zeroPageVma(kernel: string): { k: Machine; p: Task; a: number } {
  const k = machine(kernel);
  const p = k.spawn('p');
  const a = anon(k, p, 4);
  const t = p.threads[0]!;
  clean(k.access(t, a, false));
  clean(k.access(t, a + PS, false));
  clean(k.access(t, a + 2 * PS, true));
  return { k, p, a };
}

describe('smaps Rss (smaps_pte_range)', () => {
  test('2.6.32 counts every present pte in Rss, the special zero-page ptes too; Pss/Private only the page', () => {
    const { k, p } = zeroPageVma('2.6.32');
    const [s] = k.smaps(p);
    // resident += PAGE_SIZE comes before vm_normal_page() up to 2.6.32 (moved by 7f53a09ed40, 2.6.33)
    expect(s!.fields).toMatchObject({ Size: 16, Rss: 12, Pss: 4, Private_Dirty: 4, Private_Clean: 0, Shared_Clean: 0 });
    expect(s!.model.rawPfnKb).toBe(8);
  });

  test('6.x counts only pages vm_normal_page returns (the zero page is not in Rss)', () => {
    const { k, p } = zeroPageVma('6.x');
    expect(k.smaps(p)[0]!.fields).toMatchObject({ Rss: 4, Pss: 4, Anonymous: 4, Private_Dirty: 4 });
  });

  test('2.6.26: remap_pfn_range\'d VM_PFNMAP ptes are resident but have no Pss/Shared/Private', () => {
    const k = machine('2.6.26', { dev: { mode: 'remap' } });
    const p = k.spawn('p');
    mapFile(k, p, '/dev/testdev', 2, RW, MAP_SHARED);
    expect(k.smaps(p)[0]!.fields).toMatchObject({ Rss: 8, Pss: 0, Shared_Clean: 0, Shared_Dirty: 0, Private_Clean: 0, Private_Dirty: 0, Referenced: 0 });
  });
});

describe('smaps of a VM_PFNMAP vma', () => {
  test('6.x does not walk it: the anonymous page a private one COWed is not counted; 2.6 counts it', () => {
    // walk_page_test (mm/pagewalk.c, modern) hands a VM_PFNMAP vma to ->pte_hole or skips it, and
    // smaps has no pte_hole for it (live 6.18: [vvar], "pf io de dd", Rss 0). 2.6.26's
    // walk_page_range has no such test: the COWed page is a normal page (vm_normal_page's linear
    // pfn rule) with its own Pss/Private_Dirty, the remapped pfn is only in Rss.
    for (const [kernel, want] of [
      ['2.6.26', { Rss: 8, Pss: 4, Private_Dirty: 4 }],
      ['6.x', { Rss: 0, Pss: 0, Private_Dirty: 0, Anonymous: 0, Referenced: 0 }],
    ] as const) {
      const k = machine(kernel, { dev: { mode: 'remap', allowPrivate: true } });
      const p = k.spawn('p');
      const a = mapFile(k, p, '/dev/testdev', 2, RW, MAP_PRIVATE);
      clean(k.access(p.threads[0]!, a + PS, true));
      expect(k.vmNormalPage(p, a + PS)).toBeGreaterThanOrEqual(0);
      expect(k.smaps(p)[0]!.fields).toMatchObject(want);
    }
  });
});

describe('smaps fields per release (show_map_internal / show_smap)', () => {
  const names = (kernel: string): string[] => {
    const { k, p } = zeroPageVma(kernel);
    return Object.keys(k.smaps(p)[0]!.fields);
  };

  test('each release prints its own list; no Anonymous/Locked/VmFlags in 2.6', () => {
    const base = ['Shared_Clean', 'Shared_Dirty', 'Private_Clean', 'Private_Dirty'];
    expect(names('2.6.19')).toEqual(['Size', 'Rss', ...base]);
    expect(names('2.6.22')).toEqual(['Size', 'Rss', ...base, 'Referenced']);
    expect(names('2.6.25')).toEqual(['Size', 'Rss', 'Pss', ...base, 'Referenced']);
    expect(names('2.6.26')).toEqual(['Size', 'Rss', 'Pss', ...base, 'Referenced', 'Swap']);
    expect(names('2.6.32')).toEqual(['Size', 'Rss', 'Pss', ...base, 'Referenced', 'Swap', 'KernelPageSize', 'MMUPageSize']);
    expect(names('6.x')).toEqual([
      'Size', 'KernelPageSize', 'MMUPageSize', 'Rss', 'Pss', 'Pss_Dirty', ...base, 'Referenced', 'Anonymous', 'KSM', 'LazyFree',
      'AnonHugePages', 'ShmemPmdMapped', 'FilePmdMapped', 'Shared_Hugetlb', 'Private_Hugetlb', 'Swap', 'SwapPss', 'Locked', 'THPeligible',
    ]);
    const { k, p } = zeroPageVma('2.6.26');
    expect(k.smaps(p)[0]!.vmFlags).toBeNull();
  });

  test('text: 15-column labels before 2.6.22, 16 after; 6.x VmFlags mnemonics with VM_ACCOUNT as "ac"', () => {
    let { k, p } = zeroPageVma('2.6.19');
    expect(renderSmaps(k.f.release, k.smaps(p)[0]!)).toContain('Size:                16 kB');
    ({ k, p } = zeroPageVma('2.6.22'));
    expect(renderSmaps(k.f.release, k.smaps(p)[0]!)).toContain('Size:                 16 kB');
    ({ k, p } = zeroPageVma('6.x'));
    const lines = renderSmaps(k.f.release, k.smaps(p)[0]!);
    expect(lines).toContain('THPeligible:           0');
    // live 6.18, a private writable anonymous vma: "VmFlags: rd wr mr mw me ac "
    expect(lines[lines.length - 1]).toBe('VmFlags: rd wr mr mw me ac ');
  });

  test('6.x VmFlags: the model\'s VM_RESERVED is VM_DONTEXPAND | VM_DONTDUMP, "de" and "dd" each at its bit\'s place', () => {
    // 3.7 (314e51b9851) dropped VM_RESERVED: remap_pfn_range sets VM_IO | VM_PFNMAP | VM_DONTEXPAND |
    // VM_DONTDUMP since, and show_smap_vma_flags prints mnemonics in bit order (de = bit 18 before
    // ac = bit 20, dd = bit 26). Live 6.18's [vvar], a remapped-pfn vma: "VmFlags: rd mr pf io de dd"
    expect(vmFlagMnemonics(VM_READ | VM_WRITE | VM_SHARED | VM_MAYREAD | VM_MAYWRITE | VM_PFNMAP | VM_IO | VM_RESERVED)).toEqual(['rd', 'wr', 'sh', 'mr', 'mw', 'pf', 'io', 'de', 'dd']);
    expect(vmFlagMnemonics(VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_PFNMAP | VM_IO | VM_RESERVED | VM_ACCOUNT)).toEqual(['rd', 'wr', 'mr', 'mw', 'pf', 'io', 'de', 'ac', 'dd']);
    const k = machine('6.x', { dev: { mode: 'remap', flags: VM_IO | VM_RESERVED | VM_PFNMAP } });
    const p = k.spawn('p');
    mapFile(k, p, '/dev/testdev', 1, RW, MAP_SHARED);
    expect(k.smaps(p)[0]!.vmFlags).toEqual(expect.arrayContaining(['de', 'dd']));
  });
});

describe('smaps accounting', () => {
  test('Pss is the truncated fixed-point sum (pss >> (10 + PSS_SHIFT)): 4096/2 + 4096/3 bytes = 3 kB', () => {
    const k = machine('2.6.26');
    const p = k.spawn('p');
    const t = p.threads[0]!;
    const a = mapFile(k, p, '/tmp/f', 2, RW, MAP_SHARED);
    const b = mapFile(k, p, '/tmp/f', 2, RW, MAP_SHARED);
    const c = mapFile(k, p, '/tmp/f', 2, RW, MAP_SHARED);
    for (const x of [a, a + PS, b, b + PS, c + PS]) clean(k.access(t, x, false));
    const s = k.smaps(p).find((v) => v.start === a)!;
    expect(s.fields).toMatchObject({ Rss: 8, Pss: 3, Shared_Clean: 8 });
  });

  test('Referenced counts PG_referenced pages whose pte is old (forked child of an mlocked vma)', () => {
    const k = machine('2.6.26');
    const p = k.spawn('p');
    const a = anon(k, p, 2);
    clean(k.access(p.threads[0]!, a, true));
    clean(k.access(p.threads[0]!, a + PS, true));
    clean(k.mlock(p, a, 2 * PS)); // follow_page(FOLL_TOUCH) -> mark_page_accessed -> PG_referenced
    const c = clean(k.fork(p, 'c')).child!;
    expect(k.readPte(c, a).young).toBe(false);
    expect(k.pageInfo(k.readPte(c, a).pfn)!.flags).toContain('referenced');
    expect(k.smaps(c)[0]!.fields).toMatchObject({ Rss: 8, Shared_Dirty: 8, Referenced: 8 });
  });

  /** A page dirtied through one shared mapping and read through a second one: a clean pte of a dirty page. */
  function dirtyPageCleanPte(kernel: string) {
    const k = machine(kernel);
    const p = k.spawn('p');
    const t = p.threads[0]!;
    const s = mapFile(k, p, '/tmp/f', 1, RW, MAP_SHARED);
    clean(k.access(t, s, true));
    const r = mapFile(k, p, '/tmp/f', 1, PROT_READ, MAP_SHARED, false);
    clean(k.access(t, r, false));
    return { k, p, t, r };
  }

  test('6.x: a clean pte of a dirty page counts as dirty; Locked is Pss-weighted', () => {
    const { k, p, t, r } = dirtyPageCleanPte('6.x');
    expect(k.readPte(p, r).dirty).toBe(false);
    expect(k.smaps(p).find((v) => v.start === r)!.fields).toMatchObject({ Shared_Dirty: 4, Shared_Clean: 0, Pss: 2, Pss_Dirty: 2 });
    const l = anon(k, p, 2);
    clean(k.access(t, l, true));
    clean(k.access(t, l + PS, true));
    clean(k.mlock(p, l, 2 * PS));
    clean(k.fork(p, 'c'));
    expect(k.smaps(p).find((v) => v.start === l)!.fields).toMatchObject({ Rss: 8, Pss: 4, Locked: 4 });
  });

  test('2.6: only pte_dirty makes a page dirty', () => {
    const { k, p, r } = dirtyPageCleanPte('2.6.26');
    expect(k.smaps(p).find((v) => v.start === r)!.fields).toMatchObject({ Shared_Dirty: 0, Shared_Clean: 4 });
  });
});

describe('maps lines (show_map / show_map_vma)', () => {
  test('shared anonymous memory is "/dev/zero (deleted)" on a device of its own, not the device of the driver that backs it', () => {
    // shmem_zero_setup (every tag) makes the file with shmem_file_setup on the internal shm_mnt, a
    // superblock no user mount shares (live 6.18: "00:01 <ino> /dev/zero (deleted)"); its vm_pgoff is
    // the mmap offset, 0, also from 2.6.30 on (it has a file)
    for (const kernel of ['2.6.19', '2.6.30', '6.x']) {
      const k = machine(kernel);
      const p = k.spawn('p');
      mapFile(k, p, '/tmp/f', 1, RW, MAP_SHARED);
      anon(k, p, 1, RW, true);
      const [file, shm] = k.procMaps(p);
      const dev = (l: string): string => l.split(/ +/)[3]!;
      expect(shm).toMatch(/^[0-9a-f]{8}-[0-9a-f]{8} rw-s 00000000 00:[0-9a-f]{2} [1-9][0-9]* +\/dev\/zero \(deleted\)$/);
      expect(dev(shm!)).not.toBe('00:00');
      expect(dev(shm!)).not.toBe(dev(file!));
    }
  });

  test('a read-only MAP_SHARED file mapping is "s" (VM_MAYSHARE; do_mmap_pgoff cleared VM_SHARED)', () => {
    const k = machine('2.6.26');
    const p = k.spawn('p');
    mapFile(k, p, '/tmp/f', 2, PROT_READ, MAP_SHARED, false);
    expect(k.procMaps(p)[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{8} r--s /);
  });

  test('the name starts at column 25 + 6 * sizeof(void *); a nameless line keeps its trailing space', () => {
    for (const [opts, col] of [[{}, 73], [{ archOptions: { bits: 32 } }, 49]] as const) {
      const k = machine('2.6.26', opts);
      const p = k.spawn('p');
      anon(k, p, 1);
      mapFile(k, p, '/tmp/f', 1, RW, MAP_SHARED);
      const [an, file] = k.procMaps(p);
      expect(an).toMatch(/ 00:00 0 $/);
      expect(file!.indexOf('/tmp/f')).toBe(col);
      expect(file).not.toMatch(/ 00:00 /); // a file's superblock device is never 00:00
    }
  });
});

describe('pagemap entries (pagemap_pte_range)', () => {
  test('no /proc/PID/pagemap before 2.6.25', () => {
    const { k, p, a } = zeroPageVma('2.6.24');
    expect(k.pagemap(p, a)).toBeNull();
  });

  test('2.6.26–2.6.32: PM_PRESENT | PM_PSHIFT(12) | pte_pfn, the zero pfn too; none pte in a vma 0; hole PM_NOT_PRESENT', () => {
    const { k, p, a } = zeroPageVma('2.6.32');
    const pfn = (x: number): string => k.readPte(p, x).pfn.toString(16).padStart(13, '0');
    expect(k.pagemap(p, a)).toBe(`860${pfn(a)}`);
    expect(k.pagemap(p, a + 2 * PS)).toBe(`860${pfn(a + 2 * PS)}`);
    expect(k.pagemap(p, a + 3 * PS)).toBe('0000000000000000');
    expect(k.pagemap(p, a + 4 * PS)).toBe('0600000000000000');
  });

  test('32-bit 2.6.26–2.6.27 read the bare pfn for a present pte (bits 32–63 lost); 2.6.25 and 2.6.28 the full entry', () => {
    // pte_to_pagemap_entry (added in 2.6.26) returned an unsigned long: on a 32-bit kernel PM_PRESENT
    // (bit 63) and PM_PSHIFT (bits 55–60) fell off; 2.6.25 composed the u64 in pagemap_pte_range
    // itself and 49c50342c72 (v2.6.28) made the helper return u64. A hole (pagemap_pte_hole, u64)
    // keeps PM_NOT_PRESENT.
    for (const [kernel, present] of [['2.6.25', '86'], ['2.6.26', '00'], ['2.6.27', '00'], ['2.6.28', '86']] as const) {
      const { k, p, a } = zeroPageVma(kernel);
      const k32 = machine(kernel, { archOptions: { bits: 32 } });
      const p32 = k32.spawn('p');
      const a32 = anon(k32, p32, 4);
      clean(k32.access(p32.threads[0]!, a32 + 2 * PS, true));
      const pfn = k32.readPte(p32, a32 + 2 * PS).pfn.toString(16).padStart(14, '0');
      expect(k32.pagemap(p32, a32 + 2 * PS)).toBe(`${present}${pfn}`);
      expect(k32.pagemap(p32, a32 + 4 * PS)).toBe('0600000000000000');
      // 64-bit kernels are not affected
      expect(k.pagemap(p, a + 2 * PS)!.slice(0, 2)).toBe('86');
    }
  });

  test('6.x: bit 63 | pfn, PM_FILE (bit 61) for page-cache pages, PM_MMAP_EXCLUSIVE (bit 56) for pages mapped once', () => {
    const { k, p, a } = zeroPageVma('6.x');
    const pfn = (x: number): string => k.readPte(p, x).pfn.toString(16).padStart(14, '0');
    expect(k.pagemap(p, a)).toBe(`80${pfn(a)}`); // zero page: no flags
    expect(k.pagemap(p, a + 2 * PS)).toBe(`81${pfn(a + 2 * PS)}`);
    expect(k.pagemap(p, a + 3 * PS)).toBe('0000000000000000');
    const f = mapFile(k, p, '/tmp/f', 1, PROT_READ, MAP_SHARED);
    clean(k.access(p.threads[0]!, f, false));
    expect(k.pagemap(p, f)).toBe(`a1${k.readPte(p, f).pfn.toString(16).padStart(14, '0')}`);
  });

  test('VM_PFNMAP: 2.6 reports the remapped pfn; 6.x does not walk the vma (reads 0)', () => {
    for (const [kernel, want] of [['2.6.26', (pfn: number) => `86${pfn.toString(16).padStart(14, '0')}`], ['6.x', () => '0000000000000000']] as const) {
      const k = machine(kernel, { dev: { mode: 'remap' } });
      const p = k.spawn('p');
      const a = mapFile(k, p, '/dev/testdev', 1, RW, MAP_SHARED);
      expect(k.readPte(p, a).present).toBe(true);
      expect(k.pagemap(p, a)).toBe(want(k.readPte(p, a).pfn));
    }
  });
});
