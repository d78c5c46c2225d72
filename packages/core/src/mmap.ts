// mm/mmap.c and mm/mprotect.c: do_mmap_pgoff, do_munmap (with split_vma), exit_mmap, mprotect,
// find_vma and vma_wants_writenotify (§1.2, §2.22).

import {
  VM_READ, VM_WRITE, VM_EXEC, VM_SHARED, VM_MAYREAD, VM_MAYWRITE, VM_MAYEXEC, VM_MAYSHARE, VM_LOCKED, VM_PFNMAP,
  VM_INSERTPAGE, VM_IO, VM_DONTEXPAND, VM_RESERVED, VM_MIXEDMAP, VM_CAN_NONLINEAR, VM_ACCOUNT,
  PROT_READ, PROT_WRITE, PROT_EXEC, MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS, MAP_LOCKED,
  MAP_POPULATE, EINVAL, ENOMEM, EACCES, ENODEV, PAGE_SIZE,
} from './constants.js';
import { FN } from './fault_ctx.js';
import { resolveFaultKind, vmNormalPage, zapPteRange } from './memory.js';
import { PG_anon, PG_anon_exclusive } from './page_alloc.js';
import { makePagesPresent, mlockVmaPagesRange, munlockVmaPagesAll } from './mlock.js';
import { MODERN_RELEASE } from './version.js';
import type { Machine } from './machine.js';
import type { AnonVma, Mm, Vma, OpenFile, Task } from './mm_types.js';

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
  // mmap_region: a private writable mapping is charged (VM_ACCOUNT; a shared one's is cleared again)
  if ((flags & (VM_SHARED | VM_WRITE)) === VM_WRITE) flags |= VM_ACCOUNT;
  // do_mmap_pgoff: a private anonymous mapping's pgoff is its address ("for anon_vma")
  const pgoff = !file && type === MAP_PRIVATE ? addr / PAGE_SIZE : offset / PAGE_SIZE;
  const prev = mm.vmas.filter((v) => v.start < addr).pop();
  // mmap_region's vma_merge before ->mmap: ≤2.6.28 private anonymous mappings only; 2.6.29+ (and
  // modern vma_merge_new_range) every mapping (a shared anonymous one cannot match: its file is made below)
  if (k.f.release >= 29 || (!file && type === MAP_PRIVATE)) {
    const merged = vmaMerge(k, mm, prev, addr, addr + len, flags, null, file, pgoff);
    if (merged) return mmapPopulate(k, task, merged, a.flags, addr, len);
  }
  const vma: Vma = {
    id: k.nextId(), mm, start: addr, end: addr + len, pgoff, flags,
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
    // vma_merge after ->mmap, with the flags the driver left: ≤2.6.28 for file mappings; modern
    // __mmap_region's retry_merge when ->mmap changed the flags [UNVERIFIED: since 6.x]. The new
    // vma is freed without ->close.
    const retry = k.f.release <= 28 ? file !== null : k.f.release === MODERN_RELEASE && vma.flags !== flags;
    const merged = retry ? vmaMerge(k, mm, prev, vma.start, vma.end, vma.flags, null, file, vma.pgoff) : null;
    if (merged) return mmapPopulate(k, task, merged, a.flags, addr, len);
    mapFile.inode.refs++;
    mapFile.inode.mapping.iMmap.add(vma);
  }
  vma.faultKind = resolveFaultKind(k, vma);
  if (vmaWantsWritenotify(k, vma)) vma.pageProt = vmGetPageProt(k, vma.flags & ~VM_SHARED);
  insertVma(mm, vma);
  return mmapPopulate(k, task, vma, a.flags, addr, len);
}

/** mmap_region's tail: MAP_LOCKED / MAP_POPULATE over the new range [addr, addr + len) of `vma`. */
function mmapPopulate(k: Machine, task: Task, vma: Vma, mapFlags: number, addr: number, len: number): number {
  const mm = task.mm!;
  // vma.flags: mmap_region re-reads vm_flags after the driver's ->mmap
  if (k.f.mlock === 'make_pages_present') {
    // ≤2.6.27 mmap_region: a VM_LOCKED vma is counted and populated (errors ignored); 2.6.23–2.6.27 then
    // run MAP_POPULATE's make_pages_present as well (a separate "if"). ≤2.6.22's MAP_POPULATE is
    // sys_remap_file_pages, which the model approximates by one make_pages_present and does not repeat.
    if (vma.flags & VM_LOCKED) {
      mm.lockedVm += len / PAGE_SIZE;
      makePagesPresent(k, task, vma, addr, addr + len);
      if (mapFlags & MAP_POPULATE && k.f.release >= 23) makePagesPresent(k, task, vma, addr, addr + len);
    } else if (mapFlags & MAP_POPULATE) {
      makePagesPresent(k, task, vma, addr, addr + len);
    }
  } else if (vma.flags & VM_LOCKED) {
    // 2.6.28+ mmap_region: mlock_vma_pages_range clears VM_LOCKED again on VM_IO|VM_PFNMAP and (after
    // make_pages_present) VM_DONTEXPAND|VM_RESERVED vmas and returns the pages not to count (F6);
    // MAP_POPULATE is then not run again ("else if")
    mm.lockedVm += len / PAGE_SIZE - mlockVmaPagesRange(k, task, vma, addr, addr + len);
  } else if (mapFlags & MAP_POPULATE) {
    makePagesPresent(k, task, vma, addr, addr + len);
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

/** VM_SPECIAL: flags of vmas vma_merge never merges (mm/mmap.c 2.6.19–2.6.32; modern mm.h adds VM_MIXEDMAP, drops VM_RESERVED) */
export function vmSpecial(k: Machine): number {
  return k.f.release === MODERN_RELEASE ? VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP : VM_IO | VM_DONTEXPAND | VM_RESERVED | VM_PFNMAP;
}

/**
 * is_mergeable_vma: same flags (2.6.29+ ignores VM_CAN_NONLINEAR, which ->mmap may set later:
 * 33bfad54b58), the same struct file, and no ->close.
 */
function isMergeableVma(k: Machine, vma: Vma, file: OpenFile | null, flags: number): boolean {
  const ignore = k.f.release >= 29 ? VM_CAN_NONLINEAR : 0;
  return ((vma.flags ^ flags) & ~ignore) === 0 && vma.file === file && !vma.ops?.close;
}

/** The vma's anon_vma came from the parent through fork (modern: a vma with a non-singular anon_vma_chain). */
function inheritedAnonVma(anon: AnonVma, mm: Mm): boolean {
  return anon.mm !== undefined && anon.mm !== mm;
}

/**
 * is_mergeable_anon_vma: one of them NULL, or the same anon_vma. Modern (vma_had_uncowed_parents,
 * the anon_vma_chain of 2.6.34+): a forked child's anon_vma is not lent to a vma without one.
 */
function isMergeableAnonVma(k: Machine, mm: Mm, a: AnonVma | null, b: AnonVma | null): boolean {
  if (a && b) return a === b;
  const one = a ?? b;
  return !one || k.f.release !== MODERN_RELEASE || !inheritedAnonVma(one, mm);
}

function vmaPages(vma: Vma): number {
  return (vma.end - vma.start) / PAGE_SIZE;
}

/** can_vma_merge_before: the range ends where `next` starts, at next's file offset */
function canMergeBefore(k: Machine, next: Vma, flags: number, anon: AnonVma | null, file: OpenFile | null, pgoff: number): boolean {
  return isMergeableVma(k, next, file, flags) && isMergeableAnonVma(k, next.mm, anon, next.anonVma) && next.pgoff === pgoff;
}

/** can_vma_merge_after: the range starts where `prev` ends, right after prev's last file page */
function canMergeAfter(k: Machine, prev: Vma, flags: number, anon: AnonVma | null, file: OpenFile | null, pgoff: number): boolean {
  return isMergeableVma(k, prev, file, flags) && isMergeableAnonVma(k, prev.mm, anon, prev.anonVma) && prev.pgoff + vmaPages(prev) === pgoff;
}

/** A vma absorbed by a merge: unlinked without ->close (a mergeable vma has none), its file reference dropped. */
function unlinkMergedVma(vma: Vma): void {
  const mm = vma.mm;
  mm.vmas.splice(mm.vmas.indexOf(vma), 1);
  if (vma.file) {
    vma.file.inode.mapping.iMmap.delete(vma);
    vma.file.inode.refs--;
  }
}

/**
 * vma_adjust without an insert: `vma` becomes [start, end) at pgoff. Vmas it now covers are removed,
 * a vma it partly covers (mprotect case 5) gives up its head, and when `vma` shrinks (case 4) the next
 * vma grows down. The vma that takes over pages (the "importer") adopts the other's anon_vma if it
 * had none, so the merged vma keeps the non-NULL anon_vma.
 */
function vmaAdjust(vma: Vma, start: number, end: number, pgoff: number): void {
  const mm = vma.mm;
  const next = mm.vmas[mm.vmas.indexOf(vma) + 1];
  if (next && end < vma.end && next.start === vma.end) {
    next.pgoff -= (next.start - end) / PAGE_SIZE;
    next.start = end;
    next.anonVma ??= vma.anonVma;
  }
  for (const v of mm.vmas.filter((o) => o !== vma && o.start >= start && o.end <= end)) {
    vma.anonVma ??= v.anonVma;
    unlinkMergedVma(v);
  }
  const over = mm.vmas.find((o) => o !== vma && o.start < end && o.end > end);
  if (over) {
    vma.anonVma ??= over.anonVma;
    over.pgoff += (end - over.start) / PAGE_SIZE;
    over.start = end;
  }
  vma.start = start;
  vma.end = end;
  vma.pgoff = pgoff;
}

/**
 * vma_merge (every release; modern vma_merge_new_range / vma_merge_existing_range): can [addr, end)
 * with these flags, anon_vma, file and pgoff join `prev` (the vma before addr, or the vma addr lies
 * in) and/or the vma after it? Returns the vma that now covers the range, or null. The case numbers
 * are those of the kernel's comment (1–3 for mmap, 4–8 for mprotect/mlock/madvise).
 */
function vmaMerge(
  k: Machine, mm: Mm, prev: Vma | undefined, addr: number, end: number, flags: number,
  anon: AnonVma | null, file: OpenFile | null, pgoff: number,
): Vma | null {
  if (flags & vmSpecial(k)) return null;
  const i = prev ? mm.vmas.indexOf(prev) + 1 : 0;
  const area = mm.vmas[i];
  let next = area;
  if (next && next.end === end) next = mm.vmas[i + 1]; // cases 6, 7, 8
  const pglen = (end - addr) / PAGE_SIZE;
  if (prev && prev.end === addr && canMergeAfter(k, prev, flags, anon, file, pgoff)) {
    if (next && end === next.start && canMergeBefore(k, next, flags, anon, file, pgoff + pglen) && isMergeableAnonVma(k, mm, prev.anonVma, next.anonVma)) {
      vmaAdjust(prev, prev.start, next.end, prev.pgoff); // cases 1, 6
    } else {
      vmaAdjust(prev, prev.start, end, prev.pgoff); // cases 2, 5, 7
    }
    return prev;
  }
  if (next && end === next.start && canMergeBefore(k, next, flags, anon, file, pgoff + pglen)) {
    if (prev && addr < prev.end) vmaAdjust(prev, prev.start, addr, prev.pgoff); // case 4
    else vmaAdjust(area!, addr, next.end, next.pgoff - pglen); // cases 3, 8
    return area!;
  }
  return null;
}

/**
 * The vma-structure half of mprotect_fixup, mlock_fixup and madvise_behavior (every release; modern
 * vma_modify_flags): [start, end), inside `vma`, gets newFlags. vma_merge with the neighbours first
 * (prev is `vma` itself when the range starts inside it), else split_vma at the range edges. Returns
 * the vma that now covers the range (with newFlags), which may extend beyond it.
 */
export function vmaModifyFlags(k: Machine, vma: Vma, start: number, end: number, newFlags: number): Vma {
  const mm = vma.mm;
  const prev = start > vma.start ? vma : mm.vmas[mm.vmas.indexOf(vma) - 1];
  const pgoff = vma.pgoff + (start - vma.start) / PAGE_SIZE;
  let merged = vmaMerge(k, mm, prev, start, end, newFlags, vma.anonVma, vma.file, pgoff);
  if (!merged) {
    merged = vma;
    if (start > merged.start) merged = splitVma(k, merged, start);
    if (end < merged.end) splitVma(k, merged, end);
  }
  merged.flags = newFlags;
  return merged;
}

/**
 * find_mergeable_anon_vma (anon_vma_prepare, every release): a neighbour that could be mprotected into
 * one vma with `vma` (flags equal but for VM_READ|WRITE|EXEC, contiguous, mergeable) lends its anon_vma,
 * so that a later mprotect can merge them. Modern reusable_anon_vma also wants the neighbour's
 * anon_vma chain singular, i.e. an anon_vma not inherited through fork.
 */
export function findMergeableAnonVma(k: Machine, vma: Vma): AnonVma | null {
  const mm = vma.mm;
  const i = mm.vmas.indexOf(vma);
  const rwx = VM_READ | VM_WRITE | VM_EXEC;
  for (const near of [mm.vmas[i + 1], mm.vmas[i - 1]]) {
    if (!near?.anonVma) continue;
    if (k.f.release === MODERN_RELEASE && inheritedAnonVma(near.anonVma, mm)) continue;
    const flags = (vma.flags & ~rwx) | (near.flags & rwx);
    if (near === mm.vmas[i + 1] ? vma.end === near.start && canMergeBefore(k, near, flags, null, vma.file, vma.pgoff + vmaPages(vma))
      : near.end === vma.start && canMergeAfter(k, near, flags, null, vma.file, vma.pgoff)) return near.anonVma;
  }
  return null;
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
  const vmas = vmasInRange(k, mm, start, end);
  munlockBeforeUnmap(k, mm, vmas, true);
  for (const vma of vmas) removeVma(k, vma);
  freePgtables(mm, start, end);
  return 0;
}

/**
 * do_munmap and exit_mmap 2.6.28–2.6.32: with mm->locked_vm set, every VM_LOCKED vma to go is
 * munlocked (munlock_vma_pages_all) before anything is unmapped; do_munmap takes it off locked_vm.
 */
function munlockBeforeUnmap(k: Machine, mm: Mm, vmas: Vma[], semHeld: boolean): void {
  if (k.f.mlock !== 'mlock_vma_pages_range' || k.f.release === MODERN_RELEASE || !mm.lockedVm) return;
  const t = k.tasks.find((x) => x.mm === mm)?.threads[0];
  if (!t) return;
  for (const vma of vmas) if (munlockVmaPagesAll(k, t, vma, semHeld)) mm.lockedVm -= (vma.end - vma.start) / PAGE_SIZE;
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
  munlockBeforeUnmap(k, mm, [...mm.vmas], false); // exit_mmap holds no mmap_sem
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
export function doMprotect(k: Machine, task: Task, start: number, len: number, prot: number): number {
  const mm = task.mm!;
  k.enter(FN.mprotect_fixup);
  if (start % PAGE_SIZE !== 0) return -EINVAL;
  const end = start + Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
  const want = protToVmFlags(prot);
  const pte = k.pte;
  // sys_mprotect (v2.6.19–v2.6.32; modern do_mprotect_pkey alike): vma by vma over [from, to); a merge
  // may take the walk past `to` (prev->vm_end). Nothing is checked up front but the first vma: a gap
  // (-ENOMEM) or a vma refusing the prot (-EACCES) ends the walk, and the vmas before keep the change.
  for (let from = start; from < end; ) {
    const cur = findVma(mm, from);
    if (!cur || cur.start > from) return -ENOMEM;
    // newflags & ~(newflags >> 4): a VM_MAY* bit missing for the wanted access
    if ((want & VM_READ && !(cur.flags & VM_MAYREAD)) || (want & VM_WRITE && !(cur.flags & VM_MAYWRITE)) || (want & VM_EXEC && !(cur.flags & VM_MAYEXEC))) {
      return -EACCES;
    }
    const to = Math.min(cur.end, end);
    const oldFlags = cur.flags;
    let newFlags = (oldFlags & ~(VM_READ | VM_WRITE | VM_EXEC)) | want;
    if (newFlags === oldFlags) { // mprotect_fixup: nothing changes, not even the ptes
      from = to;
      continue;
    }
    // mprotect_fixup: making a private mapping writable charges it (VM_ACCOUNT stays when it is made read-only again)
    if (newFlags & VM_WRITE && !(oldFlags & (VM_ACCOUNT | VM_WRITE | VM_SHARED))) newFlags |= VM_ACCOUNT;
    // modern mprotect_fixup: an anonymous vma (no vm_ops) made unwritable before it got an anon_vma
    // gives its charge back, and can merge with read-only neighbours again
    else if (k.f.mprotectUnaccount && !(newFlags & VM_WRITE) && oldFlags & VM_ACCOUNT && !cur.ops && !cur.anonVma) newFlags &= ~VM_ACCOUNT;
    // mprotect_fixup: vma_merge with prev/next, else split_vma at from and to
    const vma = vmaModifyFlags(k, cur, from, to, newFlags);
    const next = Math.max(to, vma.end);
    vma.pageProt = pgprotModify(k, vma.pageProt, vmGetPageProt(k, vma.flags));
    // mprotect_fixup: a vma that wants writenotify gets the private prot outright and dirty_accountable
    const dirtyAccountable = vmaWantsWritenotify(k, vma);
    if (dirtyAccountable) vma.pageProt = vmGetPageProt(k, vma.flags & ~VM_SHARED);
    // change_protection
    for (let a = from; a < to; a += PAGE_SIZE) {
      if (!mm.pt.lookup(a / PAGE_SIZE)) continue;
      const lo = mm.pt.tbl[mm.pt.slot]!;
      if (pte.isNone(lo, mm.pt.tbl[mm.pt.slot + 1]!) || !pte.present(lo)) continue;
      let entry = pte.modify(lo, vma.pageProt);
      // modern can_change_pte_writable: a PageAnonExclusive page (private) or a dirty pte (shared) gets
      // its write bit back; a page fork shared stays read-only even after the other mapper went
      if (k.f.anonExclusive && vma.flags & VM_WRITE && !pte.write(entry)) {
        const page = vmNormalPage(k, vma, a, lo, mm.pt.tbl[mm.pt.slot + 1]!);
        const exclusiveAnon = page >= 0 && (k.mem.flags[page]! & (PG_anon | PG_anon_exclusive)) === (PG_anon | PG_anon_exclusive);
        if (vma.flags & VM_SHARED ? pte.dirty(entry) : exclusiveAnon) entry = pte.mkwrite(entry);
      }
      // change_pte_range (2.6.19–2.6.32): with dirty_accountable, a pte that is already dirty gets its
      // write bit back (no write fault needed to account it); s390's pte_dirty is always 0
      if (!k.f.anonExclusive && dirtyAccountable && pte.dirty(entry)) entry = pte.mkwrite(entry);
      mm.pt.tbl[mm.pt.slot] = entry;
    }
    // modern mprotect_fixup (4.5, 36f881883c57 [UNVERIFIED]; in no 2.6 release): a private VM_LOCKED
    // vma that becomes writable is populated with write faults ("trigger COW"), errors ignored
    if (k.f.release === MODERN_RELEASE && (oldFlags & (VM_WRITE | VM_SHARED | VM_LOCKED)) === VM_LOCKED && vma.flags & VM_WRITE) {
      makePagesPresent(k, task, vma, from, to); // mprotect_fixup's own range
    }
    from = next;
  }
  return 0;
}

export { EINVAL, ENOMEM };
