// The /proc/PID views of a task, per release: maps lines (show_map / show_map_vma), smaps
// accounting (smaps_pte_range + show_smap; modern smaps_pte_entry/smaps_account) and pagemap
// entries (pagemap_pte_range / pte_to_pagemap_entry). Everything here is a pure reading of the
// machine's page tables and struct pages, in the text format fs/proc/task_mmu.c prints.

import {
  PAGE_SIZE, VM_ACCOUNT, VM_DONTCOPY, VM_DONTEXPAND, VM_EXEC, VM_GROWSDOWN, VM_HUGETLB, VM_IO, VM_LOCKED, VM_MAYEXEC,
  VM_MAYREAD, VM_MAYSHARE, VM_MAYWRITE, VM_MIXEDMAP, VM_PFNMAP, VM_RAND_READ, VM_READ, VM_RESERVED, VM_SEQ_READ, VM_SHARED,
  VM_WRITE,
} from './constants.js';
import type { Machine, PageInfo } from './machine.js';
import type { Task, Vma } from './mm_types.js';
import { MODERN_RELEASE } from './version.js';

/** PSS_SHIFT of show_smap (2.6.25+): pss is a fixed-point byte count, `bytes << 12`. */
const PSS_SHIFT = 12;

export interface SmapsVma {
  /** the vma's maps line (the first line of its smaps block) */
  maps: string;
  start: number;
  end: number;
  /** the kernel's fields for this release, in its print order; values in kB (THPeligible: 0/1) */
  fields: Record<string, number>;
  /** 6.x only: the VmFlags line's two-letter mnemonics (show_smap_vma_flags); null before */
  vmFlags: string[] | null;
  /** model annotations, not kernel fields */
  model: {
    /** present ptes for which vm_normal_page returns NULL (special, pfnmap/mixedmap raw pfns, zero pfn), in kB */
    rawPfnKb: number;
  };
}

/** One pagemap entry, as the 64-bit value the release returns (hex, 16 digits), or null when the release has no pagemap. */
export interface PagemapEntry {
  addr: number;
  /** the u64 read from /proc/PID/pagemap, 16 hex digits; null before 2.6.25 (no /proc/PID/pagemap) */
  entry: string | null;
}

/** /proc/PID/pagemap exists from 2.6.25 (CONFIG_PROC_PAGE_MONITOR, 85863e475e5). */
export function hasPagemap(m: Machine): boolean {
  return m.f.release >= 25;
}

/** sizeof(void *): a user address space that fits in 32 bits means a 32-bit kernel (arm, x86 `bits: 32`). */
function pointerBytes(m: Machine): number {
  return m.arch.taskSize <= 2 ** 32 ? 4 : 8;
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/**
 * One /proc/PID/maps line: show_map (2.6.19–2.6.27) / show_map_vma (2.6.28+). The header
 * `"%08lx-%08lx %c%c%c%c %08lx %02x:%02x %lu "` keeps its final space; a named vma's name is
 * padded by pad_len_spaces() to column 25 + 6 * sizeof(void *) (73 on 64-bit, 49 on 32-bit).
 */
export function mapsLine(m: Machine, v: Vma): string {
  // 's' is VM_MAYSHARE, not VM_SHARED: an O_RDONLY MAP_SHARED file mapping loses VM_SHARED in
  // do_mmap_pgoff but stays 's' (show_map, every release)
  const perms = `${v.flags & VM_READ ? 'r' : '-'}${v.flags & VM_WRITE ? 'w' : '-'}${v.flags & VM_EXEC ? 'x' : '-'}${v.flags & VM_MAYSHARE ? 's' : 'p'}`;
  const name = v.file ? (v.file.inode.unlinked ? '/dev/zero (deleted)' : v.file.inode.path) : '';
  // show_map: vm_pgoff (an anonymous vma's is its address) up to 2.6.29, only a file's from 2.6.30
  let offset = v.file || m.f.release <= 29 ? v.pgoff * PAGE_SIZE : 0;
  // up to 2.6.26 the offset is `vm_pgoff << PAGE_SHIFT` in an unsigned long: it wraps at 4 GiB on
  // 32-bit; 2.6.27 shifts a loff_t and prints %08llx
  if (m.f.release <= 26 && pointerBytes(m) === 4) offset %= 2 ** 32;
  // the inode's superblock device: each driver's file system is modelled as an anonymous (00:NN)
  // device numbered by load order; anonymous memory has no inode (00:00, inode 0). Shared anonymous
  // memory is a file of the kernel's internal tmpfs mount (shmem_zero_setup → shmem_file_setup on
  // shm_mnt), a superblock of its own whichever driver backs it: numbered after the drivers
  const minor = !v.file ? 0 : v.file.inode.unlinked ? m.drivers.length + 1 : m.drivers.findIndex((d) => d.driver === v.file!.inode.driver) + 1;
  const head = `${hex8(v.start)}-${hex8(v.end)} ${perms} ${hex8(offset)} 00:${hex2(minor)} ${v.file ? v.file.inode.ino : 0} `;
  if (!name) return head;
  return head + ' '.repeat(Math.max(1, 25 + 6 * pointerBytes(m) - head.length)) + name;
}

/** The smaps field names a release prints, in order (show_map_internal / show_smap at the tags; 6.x as 6.18 prints them). */
export function smapsFieldNames(release: number): string[] {
  if (release >= MODERN_RELEASE) {
    return [
      'Size', 'KernelPageSize', 'MMUPageSize', 'Rss', 'Pss', 'Pss_Dirty', 'Shared_Clean', 'Shared_Dirty', 'Private_Clean',
      'Private_Dirty', 'Referenced', 'Anonymous', 'KSM', 'LazyFree', 'AnonHugePages', 'ShmemPmdMapped', 'FilePmdMapped',
      'Shared_Hugetlb', 'Private_Hugetlb', 'Swap', 'SwapPss', 'Locked', 'THPeligible',
    ];
  }
  const out = ['Size', 'Rss'];
  if (release >= 25) out.push('Pss'); // ec4dd3eb357 (2.6.25)
  out.push('Shared_Clean', 'Shared_Dirty', 'Private_Clean', 'Private_Dirty');
  if (release >= 22) out.push('Referenced'); // b813e931b4c (2.6.22)
  if (release >= 26) out.push('Swap'); // 214e471ff99 (2.6.26)
  if (release >= 29) out.push('KernelPageSize', 'MMUPageSize'); // 08fba69986e (2.6.29)
  return out;
}

/** Modern VmFlags mnemonics (show_smap_vma_flags), in bit order; 2.6-only flags have none. */
const VMFLAG_MNEMONICS: ReadonlyArray<[number, string]> = [
  [VM_READ, 'rd'], [VM_WRITE, 'wr'], [VM_EXEC, 'ex'], [VM_SHARED, 'sh'], [VM_MAYREAD, 'mr'], [VM_MAYWRITE, 'mw'],
  [VM_MAYEXEC, 'me'], [VM_MAYSHARE, 'ms'], [VM_GROWSDOWN, 'gd'], [VM_PFNMAP, 'pf'], [VM_LOCKED, 'lo'], [VM_IO, 'io'],
  [VM_SEQ_READ, 'sr'], [VM_RAND_READ, 'rr'], [VM_DONTCOPY, 'dc'],
  // 3.7 (314e51b9851) replaced VM_RESERVED by VM_DONTEXPAND | VM_DONTDUMP in remap_pfn_range and
  // the drivers: a modern kernel prints the model's VM_RESERVED as both "de" and "dd", each at its
  // own bit's place (de bit 18, before ac; dd bit 26, after ht)
  [VM_DONTEXPAND | VM_RESERVED, 'de'], [VM_ACCOUNT, 'ac'], [VM_HUGETLB, 'ht'], [VM_RESERVED, 'dd'], [VM_MIXEDMAP, 'mm'],
];

export function vmFlagMnemonics(flags: number): string[] {
  const out: string[] = [];
  for (const [bits, name] of VMFLAG_MNEMONICS) if (flags & bits && !out.includes(name)) out.push(name);
  return out;
}

/** /proc/PID/smaps of a task, computed per release. */
export function smaps(m: Machine, task: Task): SmapsVma[] {
  if (!task.mm) return [];
  return task.mm.vmas.map((v) => smapsVma(m, task, v));
}

function smapsVma(m: Machine, task: Task, v: Vma): SmapsVma {
  const r = m.f.release;
  const modern = r >= MODERN_RELEASE;
  // byte counters like struct mem_size_stats; pss* are fixed point (bytes << PSS_SHIFT)
  let resident = 0, sharedClean = 0, sharedDirty = 0, privateClean = 0, privateDirty = 0, referenced = 0, anonymous = 0, raw = 0;
  let pss = 0, pssDirty = 0, pssLocked = 0;
  // modern walk_page_vma → walk_page_test skips a VM_PFNMAP vma (smaps has no ->pte_hole for it):
  // nothing of it is counted, not even the anonymous pages a private one COWed. 2.6
  // walk_page_range / smaps_pgd_range walk every vma but hugetlb ones.
  const walked = !(modern && v.flags & VM_PFNMAP);
  for (let a = v.start; a < v.end; a += PAGE_SIZE) {
    const p = m.readPte(task, a);
    // no swap and no nonlinear file ptes in the model: Swap stays 0
    if (!p.present) continue;
    // smaps_pte_range 2.6.19–2.6.32 counts every present pte in Rss before calling
    // vm_normal_page; 7f53a09ed40 (2.6.33) moved it after the NULL check (modern smaps_account)
    if (!modern) resident += PAGE_SIZE;
    const np = m.vmNormalPage(task, a);
    const page: PageInfo | null = np >= 0 ? m.pageInfo(np) : null;
    if (!page) {
      raw += PAGE_SIZE; // the model annotation is kept for every vma, walked or not
      continue;
    }
    if (!walked) continue;
    if (modern) resident += PAGE_SIZE;
    // pte_young || PageReferenced (2.6.22+, and modern)
    if (p.young || page.flags.includes('referenced')) referenced += PAGE_SIZE;
    // 2.6: pte_dirty only; modern smaps_account: pte dirty or folio dirty
    const dirty = p.dirty || (modern && page.flags.includes('dirty'));
    const mapcount = page.mapcount;
    let share: number;
    if (mapcount >= 2) {
      if (dirty) sharedDirty += PAGE_SIZE;
      else sharedClean += PAGE_SIZE;
      share = Math.floor((PAGE_SIZE * 2 ** PSS_SHIFT) / mapcount);
    } else {
      if (dirty) privateDirty += PAGE_SIZE;
      else privateClean += PAGE_SIZE;
      share = PAGE_SIZE * 2 ** PSS_SHIFT;
    }
    pss += share;
    if (modern) {
      if (page.anon) anonymous += PAGE_SIZE;
      if (dirty) pssDirty += share;
      // smaps_account: Locked is the Pss of a VM_LOCKED vma's pages
      if (v.flags & VM_LOCKED) pssLocked += share;
    }
  }
  const kb = (bytes: number): number => Math.floor(bytes / 1024);
  const pssKb = (fixed: number): number => Math.floor(fixed / 2 ** (10 + PSS_SHIFT));
  const values: Record<string, number> = {
    Size: kb(v.end - v.start), KernelPageSize: 4, MMUPageSize: 4, Rss: kb(resident), Pss: pssKb(pss), Pss_Dirty: pssKb(pssDirty),
    Shared_Clean: kb(sharedClean), Shared_Dirty: kb(sharedDirty), Private_Clean: kb(privateClean), Private_Dirty: kb(privateDirty),
    Referenced: kb(referenced), Anonymous: kb(anonymous), Locked: pssKb(pssLocked),
  };
  const fields: Record<string, number> = {};
  for (const name of smapsFieldNames(r)) fields[name] = values[name] ?? 0;
  return { maps: mapsLine(m, v), start: v.start, end: v.end, fields, vmFlags: modern ? vmFlagMnemonics(v.flags) : null, model: { rawPfnKb: kb(raw) } };
}

/**
 * A vma's smaps block as the kernel prints it: the maps line, then `"%-Ns%8lu kB"` per field
 * (labels 15 wide in 2.6.19–2.6.21, 16 from 2.6.22), and in 6.x `THPeligible:` (no unit) and
 * `VmFlags: rd wr … ` (one space after the colon, a space after each mnemonic).
 */
export function renderSmaps(release: number, s: SmapsVma): string[] {
  const width = release <= 21 ? 15 : 16;
  const out = [s.maps];
  for (const [k, n] of Object.entries(s.fields)) {
    out.push(`${(k + ':').padEnd(width)}${String(n).padStart(8)}${k === 'THPeligible' ? '' : ' kB'}`);
  }
  if (s.vmFlags) out.push(`VmFlags: ${s.vmFlags.map((f) => f + ' ').join('')}`);
  return out;
}

const PM_PRESENT = 1n << 63n;
const PM_FILE = 1n << 61n;
const PM_MMAP_EXCLUSIVE = 1n << 56n;
/** 2.6.25–2.6.32: bits 55–60 hold the page shift (PM_PSHIFT(PAGE_SHIFT)) */
const PM_PSHIFT_4K = 12n << 55n;

/**
 * The pagemap entry of addr (pagemap_pte_range). 2.6.25–2.6.32: a present pte reads
 * PM_PRESENT | PM_PSHIFT(12) | pte_pfn() whatever the pfn is (no vm_normal_page; a 32-bit
 * 2.6.26/2.6.27 kernel loses bits 32–63 and reads the bare pfn); a hole reads
 * PM_NOT_PRESENT (the page shift alone); a none pte inside a vma reads 0 from 2.6.26
 * (pte_to_pagemap_entry starts at 0), PM_NOT_PRESENT in 2.6.25. Modern: 0 when not present;
 * present = PM_PRESENT | pfn | PM_FILE (vm_normal_page page not anon) | PM_MMAP_EXCLUSIVE
 * (page mapped once), and 0 for every page of a VM_PFNMAP vma (not walked). Soft-dirty (bit 55) is
 * not modelled.
 */
export function pagemapEntry(m: Machine, task: Task, addr: number): string | null {
  if (!hasPagemap(m)) return null;
  const a = addr - (addr % PAGE_SIZE);
  const p = m.readPte(task, a);
  const modern = m.f.release >= MODERN_RELEASE;
  let e: bigint;
  const vma = m.findVmaOf(task, a);
  // modern walk_page_test (mm/pagewalk.c) does not walk a VM_PFNMAP vma: pagemap_pte_hole fills it
  // with not-present entries. 2.6 walk_page_range walks it and reports the raw pfns.
  if (modern && vma && vma.flags & VM_PFNMAP) return '0000000000000000';
  if (p.present) {
    e = PM_PRESENT | BigInt(p.pfn);
    if (modern) {
      const np = m.vmNormalPage(task, a);
      const page = np >= 0 ? m.pageInfo(np) : null;
      if (page && !page.anon) e |= PM_FILE;
      if (page && page.mapcount === 1) e |= PM_MMAP_EXCLUSIVE;
    } else {
      e |= PM_PSHIFT_4K;
      // 2.6.26–2.6.27: pte_to_pagemap_entry builds the entry in an unsigned long, so a 32-bit
      // kernel drops bits 32–63 (PM_PRESENT and the page shift) and reads the bare pfn; 2.6.25
      // built it in the u64 itself and 49c50342c72 (2.6.28) made the helper u64 again
      if ((m.f.release === 26 || m.f.release === 27) && pointerBytes(m) === 4) e &= 0xffffffffn;
    }
  } else if (modern) e = 0n;
  else {
    const inVma = !!vma;
    const table = !!task.mm && task.mm.pt.lookup(Math.floor(a / PAGE_SIZE));
    e = inVma && table && m.f.release >= 26 ? 0n : PM_PSHIFT_4K;
  }
  return e.toString(16).padStart(16, '0');
}
