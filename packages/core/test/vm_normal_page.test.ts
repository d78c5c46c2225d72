// vm_normal_page, Tables A–D (§2.7), as a pure function of (release, arch, vma, pte).
import { describe, expect, test } from 'vitest';
import { vmNormalPage, VM_PFNMAP, VM_MIXEDMAP, VM_MAYWRITE, VM_SHARED, VM_MAYSHARE, VM_READ, type Machine, type Vma } from '@mixedmap/core';
import { machine, DEV_PFN, PAGE_SIZE as PS } from './fixtures/machines.js';

const START = 0x40000000;
const RAM_PFN = 0x300; // pfn_valid RAM
const HOLE_PFN = 0x1800; // beyond 16 MiB of RAM but inside the first sparse section: pfn_valid, no RAM
const COW = VM_READ | VM_MAYWRITE;
const SHARED = VM_READ | VM_SHARED | VM_MAYSHARE | VM_MAYWRITE;

function vmaOf(k: Machine, flags: number, pgoff = 0): Vma {
  const p = k.spawn('p');
  return { id: 1, mm: p.mm!, start: START, end: START + 16 * PS, pgoff, flags, pageProt: k.arch.protectionMap[1]!, ops: null, faultKind: 0, file: null, privateData: null, anonVma: null };
}

/** vm_normal_page for a pte of `pfn` at page `index`, special or not; reports collected. */
function vnp(kernel: string, flags: number, pfn: number, opts: { special?: boolean; index?: number; pgoff?: number; debugVm?: boolean } = {}) {
  const k = machine(kernel, { kernelOptions: { debugVm: opts.debugVm ?? false } });
  const vma = vmaOf(k, flags, opts.pgoff ?? 0);
  let lo = k.pte.pfnPteLo(pfn, vma.pageProt);
  if (opts.special) lo = k.pte.mkspecial(lo);
  const reports: string[] = [];
  k.report = (l) => void reports.push(l);
  let page: number | string;
  try {
    page = vmNormalPage(k, vma, START + (opts.index ?? 0) * PS, lo, k.pte.pfnPteHi(pfn));
  } catch (e) {
    page = `BUG: ${(e as Error).message}`;
  }
  return { page, reports, k };
}

describe('Table A (2.6.19–2.6.25)', () => {
  test('VM_PFNMAP: linear → NULL; non-linear non-COW → NULL; non-linear COW → the page', () => {
    expect(vnp('2.6.20', VM_PFNMAP | COW, DEV_PFN + 3, { index: 3, pgoff: DEV_PFN }).page).toBe(-1);
    expect(vnp('2.6.20', VM_PFNMAP | SHARED, RAM_PFN, { pgoff: DEV_PFN }).page).toBe(-1);
    expect(vnp('2.6.20', VM_PFNMAP | COW, RAM_PFN, { pgoff: DEV_PFN }).page).toBe(RAM_PFN);
  });
  test('!pfn_valid: print_bad_pte + NULL up to 2.6.23; 2.6.24–25 only with CONFIG_DEBUG_VM', () => {
    const a = vnp('2.6.23', COW, DEV_PFN);
    expect(a.page).toBe(-1);
    // print_bad_pte's 2.6.19–2.6.28 wording: the pte value, current->comm, vm_flags and vaddr
    expect(a.reports).toEqual([expect.stringMatching(/^Bad pte = [0-9a-f]{8,}, process = p, vm_flags = [0-9a-f]+, vaddr = 40000000 \(print_bad_pte: vm_normal_page: !pfn_valid/)]);
    expect(vnp('2.6.25', COW, DEV_PFN, { debugVm: true }).page).toBe(-1);
    // without DEBUG_VM pfn_to_page is applied to a pfn beyond the mem_map: an oops in the model
    expect(String(vnp('2.6.25', COW, DEV_PFN).page)).toMatch(/BUG.*pfn_to_page/);
  });
  test('an ordinary pfn_valid pte is the page (reserved pages included)', () => {
    const r = vnp('2.6.22', COW, RAM_PFN);
    expect(r.page).toBe(RAM_PFN);
    expect(vnp('2.6.22', COW, 0x100).page).toBe(0x100);
  });
});

describe('S000 intermediate and Table B (2.6.26–2.6.28)', () => {
  test('S000: VM_MIXEDMAP rows come first', () => {
    const opts = { debugVm: false };
    const k = machine('2.6.26', { kernelOptions: { variant: ['vm_normal_page-S000'] } });
    expect(k.f.vmNormalPage).toBe('S000');
    expect(vnp('2.6.26', VM_MIXEDMAP | COW, DEV_PFN, opts).page).toBe(-1);
  });
  test('non-special arch (x86 2.6.26): MIXEDMAP by pfn_valid; PFNMAP by linearity', () => {
    expect(vnp('2.6.26', VM_MIXEDMAP | COW, RAM_PFN).page).toBe(RAM_PFN);
    expect(vnp('2.6.26', VM_MIXEDMAP | COW, DEV_PFN).page).toBe(-1);
    expect(vnp('2.6.26', VM_PFNMAP | COW, DEV_PFN + 1, { index: 1, pgoff: DEV_PFN }).page).toBe(-1);
    expect(vnp('2.6.26', VM_PFNMAP | COW, RAM_PFN, { index: 1, pgoff: DEV_PFN }).page).toBe(RAM_PFN);
  });
  test('special arch (x86 2.6.27): special → NULL; VM_BUG_ONs only with CONFIG_DEBUG_VM', () => {
    expect(vnp('2.6.27', VM_PFNMAP | SHARED, RAM_PFN, { special: true }).page).toBe(-1);
    expect(vnp('2.6.27', VM_MIXEDMAP | COW, RAM_PFN).page).toBe(RAM_PFN); // not special → the page
    expect(vnp('2.6.27', COW, RAM_PFN, { special: true }).page).toBe(-1);
    expect(String(vnp('2.6.27', COW, RAM_PFN, { special: true, debugVm: true }).page)).toMatch(/VM_BUG_ON/);
    expect(String(vnp('2.6.28', COW, DEV_PFN, { debugVm: true }).page)).toMatch(/VM_BUG_ON\(!pfn_valid/);
  });
});

describe('Table C (2.6.29–2.6.31) and Table D (2.6.32)', () => {
  // print_bad_pte's ratelimit (d936cf9b39b, 2.6.29): a burst of 60 reports, then quiet for the rest
  // of the minute (the model has no clock: for the rest of the run); before, every one is printed
  // (here 2.6.23's !pfn_valid report, Table A; from 2.6.29 a special pte in a plain vma, Table C/D)
  test('print_bad_pte: 2.6.29+ shows 60 reports and counts the rest; ≤2.6.28 shows all', () => {
    for (const [v, shown, pfn, special] of [['2.6.23', 100, DEV_PFN, false], ['2.6.29', 60, RAM_PFN, true], ['2.6.32', 60, RAM_PFN, true]] as const) {
      const { k } = vnp(v, COW, pfn);
      const vma = vmaOf(k, COW);
      const plain = k.pte.pfnPteLo(pfn, vma.pageProt);
      const lo = special ? k.pte.mkspecial(plain) : plain;
      const reports: string[] = [];
      k.report = (l) => void reports.push(l);
      for (let i = 0; i < 100; i++) expect(vmNormalPage(k, vma, START, lo, k.pte.pfnPteHi(pfn))).toBe(-1);
      expect(reports.length, v).toBe(shown);
      expect(k.badPteSuppressed, v).toBe(100 - shown);
    }
  });
  test('special in a plain vma → print_bad_pte + NULL', () => {
    const r = vnp('2.6.30', COW, RAM_PFN, { special: true });
    expect(r.page).toBe(-1);
    // 2.6.29+ wording (3dc147414cc)
    expect(r.reports).toEqual([expect.stringMatching(/^BUG: Bad page map in process p {2}pte:[0-9a-f]{8,} .*print_bad_pte: vm_normal_page: special pte/)]);
  });
  test('the highest_memmap_pfn check is not a pfn_valid test: a hole below it passes, a section tail above it does not', () => {
    // RAM at 0–16 MiB and a second bank at 1 GiB: pfn 0x10000 (256 MiB) lies in a missing section
    const bank = { memory: { ram: 16 << 20, regions: [{ name: 'bank1', start: 1 << 30, size: 16 << 20, kind: 'ram' as const }] } };
    const k = machine('2.6.30', bank);
    const vma = vmaOf(k, COW);
    const hole = 0x10000;
    expect(k.pfnValid(hole)).toBe(false);
    expect(hole).toBeLessThan(k.mem.highestMemmapPfn);
    expect(vmNormalPage(k, vma, START, k.pte.pfnPteLo(hole, vma.pageProt), 0)).toBe(hole);
    const r = vnp('2.6.30', COW, HOLE_PFN);
    expect(r.k.pfnValid(HOLE_PFN)).toBe(true); // the RAM section's tail has struct pages
    expect(r.page).toBe(-1);
    expect(r.reports.join()).toContain('highest_memmap_pfn');
    const beyond = vnp('2.6.30', COW, DEV_PFN);
    expect(beyond.page).toBe(-1);
    expect(beyond.reports.join()).toContain('highest_memmap_pfn');
  });
  test('2.6.32: the special zero pfn is NULL without a report; other special ptes in plain vmas report', () => {
    const z = vnp('2.6.32', COW, 0x100, { special: true });
    expect(z.k.zeroPfn).toBe(0x100);
    expect(z.page).toBe(-1);
    expect(z.reports).toEqual([]);
    expect(vnp('2.6.32', COW, RAM_PFN, { special: true }).reports.length).toBe(1);
  });
  test('non-special arch in 2.6.32 (x86-32 with a what-if: no special bit): the zero pfn is recognised by is_zero_pfn', () => {
    const k = machine('2.6.32');
    expect(k.f.vmNormalPage).toBe('D');
  });
});
