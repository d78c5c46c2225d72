// mm/mmap.c and mm/mprotect.c: do_mmap_pgoff, do_munmap (with split_vma), exit_mmap, mprotect,
// find_vma and vma_wants_writenotify (§1.2, §2.22).

import {
  VM_READ, VM_WRITE, VM_EXEC, VM_SHARED, VM_MAYREAD, VM_MAYWRITE, VM_MAYEXEC, VM_MAYSHARE, VM_LOCKED, VM_PFNMAP,
  VM_INSERTPAGE, PROT_READ, PROT_WRITE, PROT_EXEC, MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS, MAP_LOCKED,
  MAP_POPULATE, EINVAL, ENOMEM, EACCES, ENODEV, PAGE_SIZE,
} from './constants.js';
import { FN } from './fault_ctx.js';
import { resolveFaultKind, vmNormalPage, zapPteRange } from './memory.js';
import { PG_anon } from './page_alloc.js';
import { makePagesPresent, mlockVmaPagesRange } from './mlock.js';
import type { Machine } from './machine.js';
import type { Mm, Vma, OpenFile, Task } from './mm_types.js';

export interface MmapArgs {
  addr?: number;
  length: number;
  prot: number;
  flags: number;
  file?: OpenFile | null;
  /** bytes */
  offset?: number;
}

export function findVma(mm: Mm, addr: number): Vma | undefined {
  // first vma with end > addr (the kernel's find_vma); callers check start <= addr
  const vmas = mm.vmas;
  let lo = 0;
  let hi = vmas.length - 1;
  let found: Vma | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = vmas[mid]!;
    if (v.end > addr) {
      found = v;
      hi = mid - 1;
    } else {
      lo = mid + 1;
    }
  }
  return found;
}

function insertVma(mm: Mm, vma: Vma): void {
  const i = mm.vmas.findIndex((v) => v.start > vma.start);
  if (i < 0) mm.vmas.push(vma);
  else mm.vmas.splice(i, 0, vma);
}

/** vm_page_prot for a set of vm_flags: protection_map[flags & (READ|WRITE|EXEC|SHARED)]. */
export function vmGetPageProt(k: Machine, flags: number): number {
  return k.arch.protectionMap[flags & (VM_READ | VM_WRITE | VM_EXEC | VM_SHARED)]!;
}

/**
 * vma_wants_writenotify (MM26): shared-writable vmas that have ->page_mkwrite, or keep the default
 * prot, are not VM_PFNMAP/VM_INSERTPAGE and map a dirty-accounting file. VM_MIXEDMAP is not excluded.
 */
export function vmaWantsWritenotify(k: Machine, vma: Vma): boolean {
  const f = vma.flags;
  if ((f & (VM_WRITE | VM_SHARED)) !== (VM_WRITE | VM_SHARED)) return false;
  if (vma.ops?.pageMkwrite) return true;
  if (vma.pageProt !== vmGetPageProt(k, f)) return false;
  if (f & (VM_PFNMAP | VM_INSERTPAGE)) return false;
  return vma.file?.inode.driver.accountsDirty === true;
}

function protToVmFlags(prot: number): number {
  return (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) | (prot & PROT_EXEC ? VM_EXEC : 0);
}

/** do_mmap_pgoff: returns the address or -errno. */
export function doMmap(k: Machine, task: Task, a: MmapArgs): number {
  k.enter(FN.do_mmap_pgoff);
  const mm = task.mm!;
  const len = Math.ceil(a.length / PAGE_SIZE) * PAGE_SIZE;
  const offset = a.offset ?? 0;
  if (len <= 0 || offset % PAGE_SIZE !== 0 || offset < 0) return -EINVAL;
  const type = a.flags & (MAP_SHARED | MAP_PRIVATE);
  if (type !== MAP_SHARED && type !== MAP_PRIVATE) return -EINVAL;
  let flags = protToVmFlags(a.prot) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
  if (a.flags & MAP_LOCKED) flags |= VM_LOCKED;
  const file = a.flags & MAP_ANONYMOUS ? null : (a.file ?? null);
  if (!(a.flags & MAP_ANONYMOUS) && !file) return -EINVAL; // EBADF in the kernel
  if (file) {
    if (!file.readable) return -EACCES;
    if (type === MAP_SHARED) {
      if (a.prot & PROT_WRITE && !file.writable) return -EACCES;
      flags |= VM_SHARED | VM_MAYSHARE;
      if (!file.writable) flags &= ~(VM_MAYWRITE | VM_SHARED); // a read-only fd: not a COW mapping either
    }
  } else if (type === MAP_SHARED) {
    flags |= VM_SHARED | VM_MAYSHARE;
  }
  let addr: number;
  if (a.flags & MAP_FIXED) {
    if (a.addr === undefined || a.addr % PAGE_SIZE !== 0) return -EINVAL;
    addr = a.addr;
    if (addr + len > k.arch.taskSize) return -ENOMEM;
    doMunmap(k, mm, addr, len);
  } else {
    const got = getUnmappedArea(k, mm, len, a.addr);
    if (got < 0) return got;
    addr = got;
  }
  const vma: Vma = {
    id: k.nextId(), mm, start: addr, end: addr + len, pgoff: offset / PAGE_SIZE, flags,
    pageProt: vmGetPageProt(k, flags), ops: null, faultKind: 0, file: null, privateData: null, anonVma: null,
  };
  let mapFile = file;
  if (!file && type === MAP_SHARED) {
    // shmem_zero_setup: shared anonymous memory is an unlinked tmpfs file
    const shm = k.shmemZeroSetup(len);
    if (!shm) return -ENODEV;
    mapFile = shm;
  }
  if (mapFile) {
    vma.file = mapFile;
    const err = k.driverMmap(mapFile, vma);
    if (err < 0) {
      if (!file) k.releaseFile(mapFile);
      return err;
    }
    mapFile.inode.refs++;
    mapFile.inode.mapping.iMmap.add(vma);
  }
  vma.faultKind = resolveFaultKind(k, vma);
  if (vmaWantsWritenotify(k, vma)) vma.pageProt = vmGetPageProt(k, vma.flags & ~VM_SHARED);
  insertVma(mm, vma);
  // vma.flags: mmap_region re-reads vm_flags after the driver's ->mmap
  if (k.f.mlock === 'make_pages_present') {
    // ≤2.6.27 mmap_region: a VM_LOCKED vma is counted and populated (errors ignored); 2.6.23–2.6.27 then
    // run MAP_POPULATE's make_pages_present as well (a separate "if"). ≤2.6.22's MAP_POPULATE is
    // sys_remap_file_pages, which the model approximates by one make_pages_present and does not repeat.
    if (vma.flags & VM_LOCKED) {
      mm.lockedVm += len / PAGE_SIZE;
      makePagesPresent(k, task, vma, vma.start, vma.end);
      if (a.flags & MAP_POPULATE && k.f.release >= 23) makePagesPresent(k, task, vma, vma.start, vma.end);
    } else if (a.flags & MAP_POPULATE) {
      makePagesPresent(k, task, vma, vma.start, vma.end);
    }
  } else if (vma.flags & VM_LOCKED) {
    // 2.6.28+ mmap_region: mlock_vma_pages_range clears VM_LOCKED again on VM_IO|VM_PFNMAP and (after
    // make_pages_present) VM_DONTEXPAND|VM_RESERVED vmas and returns the pages not to count (F6);
    // MAP_POPULATE is then not run again ("else if")
    mm.lockedVm += len / PAGE_SIZE - mlockVmaPagesRange(k, task, vma, vma.start, vma.end);
  } else if (a.flags & MAP_POPULATE) {
    makePagesPresent(k, task, vma, vma.start, vma.end);
  }
  return addr;
}

function getUnmappedArea(k: Machine, mm: Mm, len: number, hint?: number): number {
  if (hint !== undefined && hint % PAGE_SIZE === 0 && hint + len <= k.arch.taskSize) {
    const v = findVma(mm, hint);
    if (!v || v.start >= hint + len) return hint;
  }
  let addr = mm.mmapBase;
  for (const v of mm.vmas) {
    if (v.end <= addr) continue;
    if (v.start >= addr + len) break;
    addr = v.end;
  }
  return addr + len <= k.arch.taskSize ? addr : -ENOMEM;
}

/** split_vma: splits at addr; the new piece gets ->open (mspec's vma_data refcount, §2.18). */
export function splitVma(k: Machine, vma: Vma, addr: number): Vma {
  const mm = vma.mm;
  const tail: Vma = { ...vma, id: k.nextId(), start: addr, pgoff: vma.pgoff + (addr - vma.start) / PAGE_SIZE };
  vma.end = addr;
  insertVma(mm, tail);
  if (tail.file) {
    tail.file.inode.refs++;
    tail.file.inode.mapping.iMmap.add(tail);
  }
  tail.ops?.open?.(tail, k);
  return tail;
}

/** The vmas covering [start, end), split so that each lies inside the range. */
function vmasInRange(k: Machine, mm: Mm, start: number, end: number): Vma[] {
  const out: Vma[] = [];
  for (let v = findVma(mm, start); v && v.start < end; v = findVma(mm, v.end)) {
    if (v.start < start) {
      splitVma(k, v, start);
      continue; // the tail is found next
    }
    if (v.end > end) splitVma(k, v, end);
    out.push(v);
  }
  return out;
}

/** do_munmap: zap, free page tables, ->close, unlink. */
export function doMunmap(k: Machine, mm: Mm, start: number, len: number): number {
  k.enter(FN.do_munmap);
  if (start % PAGE_SIZE !== 0 || len <= 0) return -EINVAL;
  const end = start + Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
  for (const vma of vmasInRange(k, mm, start, end)) removeVma(k, vma);
  freePgtables(mm, start, end);
  return 0;
}

function removeVma(k: Machine, vma: Vma): void {
  const mm = vma.mm;
  zapPteRange(k, vma, vma.start, vma.end);
  if (vma.flags & VM_LOCKED) mm.lockedVm -= (vma.end - vma.start) / PAGE_SIZE;
  vma.ops?.close?.(vma, k);
  mm.vmas.splice(mm.vmas.indexOf(vma), 1);
  if (vma.file) {
    vma.file.inode.mapping.iMmap.delete(vma);
    vma.file.inode.refs--;
    k.maybeDropInode(vma.file.inode);
  }
}

function freePgtables(mm: Mm, start: number, end: number): void {
  mm.pt.freeRange(start / PAGE_SIZE, end / PAGE_SIZE, (lo, hi) => {
    const v = findVma(mm, lo * PAGE_SIZE);
    return v !== undefined && v.start < hi * PAGE_SIZE;
  });
}

/** exit_mmap: every vma goes, then every page table. */
export function exitMmap(k: Machine, mm: Mm): void {
  k.enter(FN.exit_mmap);
  for (const vma of [...mm.vmas]) removeVma(k, vma);
  mm.pt.freeRange(0, Number.MAX_SAFE_INTEGER, () => false);
}

/**
 * pgprot_modify(oldprot, newprot) as mprotect_fixup uses it from 2.6.26 (1c12c4cf941): the arch's
 * hook keeps some of the old bits (x86: _PAGE_CHG_MASK, the PCD/PWT cache attribute); the generic
 * fallback, and every release before, takes the new prot alone.
 */
function pgprotModify(k: Machine, oldProt: number, newProt: number): number {
  const keeps = k.f.release >= 26 ? k.arch.pgprotModifyKeeps : 0;
  return ((oldProt & keeps) | newProt) >>> 0;
}

/** mprotect: new flags within VM_MAY*, new vm_page_prot, pte_modify on every present pte (§2.22). */
export function doMprotect(k: Machine, mm: Mm, start: number, len: number, prot: number): number {
  k.enter(FN.mprotect_fixup);
  if (start % PAGE_SIZE !== 0) return -EINVAL;
  const end = start + Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
  // the range must be fully mapped
  let cursor = start;
  for (let v = findVma(mm, start); v && v.start < end; v = findVma(mm, v.end)) {
    if (v.start > cursor) return -ENOMEM;
    cursor = v.end;
  }
  if (cursor < end) return -ENOMEM;
  const want = protToVmFlags(prot);
  for (let v = findVma(mm, start); v && v.start < end; v = findVma(mm, v.end)) {
    if ((want & VM_READ && !(v.flags & VM_MAYREAD)) || (want & VM_WRITE && !(v.flags & VM_MAYWRITE)) || (want & VM_EXEC && !(v.flags & VM_MAYEXEC))) {
      return -EACCES;
    }
  }
  const pte = k.pte;
  for (const vma of vmasInRange(k, mm, start, end)) {
    const newFlags = (vma.flags & ~(VM_READ | VM_WRITE | VM_EXEC)) | want;
    if (newFlags === vma.flags) continue; // mprotect_fixup: nothing changes, not even the ptes
    vma.flags = newFlags;
    vma.pageProt = pgprotModify(k, vma.pageProt, vmGetPageProt(k, vma.flags));
    // mprotect_fixup: a vma that wants writenotify gets the private prot outright and dirty_accountable
    const dirtyAccountable = vmaWantsWritenotify(k, vma);
    if (dirtyAccountable) vma.pageProt = vmGetPageProt(k, vma.flags & ~VM_SHARED);
    // change_protection
    for (let a = vma.start; a < vma.end; a += PAGE_SIZE) {
      if (!mm.pt.lookup(a / PAGE_SIZE)) continue;
      const lo = mm.pt.tbl[mm.pt.slot]!;
      if (pte.isNone(lo, mm.pt.tbl[mm.pt.slot + 1]!) || !pte.present(lo)) continue;
      let entry = pte.modify(lo, vma.pageProt);
      // modern can_change_pte_writable: an exclusive anonymous page (private) or a dirty pte (shared) gets its write bit back
      if (k.f.anonExclusive && vma.flags & VM_WRITE && !pte.write(entry)) {
        const page = vmNormalPage(k, vma, a, lo, mm.pt.tbl[mm.pt.slot + 1]!);
        const exclusiveAnon = page >= 0 && (k.mem.flags[page]! & PG_anon) !== 0 && k.mem.mapcount[page] === 0;
        if (vma.flags & VM_SHARED ? pte.dirty(entry) : exclusiveAnon) entry = pte.mkwrite(entry);
      }
      // change_pte_range (2.6.19–2.6.32): with dirty_accountable, a pte that is already dirty gets its
      // write bit back (no write fault needed to account it); s390's pte_dirty is always 0
      if (!k.f.anonExclusive && dirtyAccountable && pte.dirty(entry)) entry = pte.mkwrite(entry);
      mm.pt.tbl[mm.pt.slot] = entry;
    }
  }
  return 0;
}

export { EINVAL, ENOMEM };
