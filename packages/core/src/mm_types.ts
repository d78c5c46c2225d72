// The address-space objects: mm_struct, vm_area_struct, anon_vma, tasks and threads, files.
// Reference §1.1, §1.2. Plain objects; the per-pte and per-page state lives in typed arrays.

import type { PageTables } from './pgtable.js';
import type { VmOperations, Driver } from './driver.js';
import type { FaultCtx } from './fault_ctx.js';

export interface AnonVma {
  id: number;
  /** the mm whose anon_vma_prepare made it; a fork child's vmas share it (modern: an inherited anon_vma) */
  mm?: Mm;
}

/** struct address_space: the page cache of one file and the vmas mapping it (i_mmap). */
export interface AddressSpace {
  id: number;
  inode: Inode;
  /** pgoff → pfn of the cached page (the page cache holds one reference on each) */
  pages: Map<number, number>;
  /** every vma mapping this file (i_mmap prio tree) */
  iMmap: Set<Vma>;
  /** mapping->truncate_count: bumped by every unmap_mapping_range (do_no_page's retry test, ≤2.6.22) */
  truncateCount: number;
}

export interface Inode {
  ino: number;
  path: string;
  /** i_size in bytes */
  size: number;
  mapping: AddressSpace;
  driver: Driver;
  /** the file system is mounted read-only (MS_RDONLY) */
  readOnlyFs: boolean;
  /** the owning driver's per-inode state */
  data: unknown;
  /** unlinked inodes (shared anonymous memory) are dropped when the last mapping goes */
  unlinked: boolean;
  /** open files and mappings that pin the inode */
  refs: number;
}

export interface OpenFile {
  inode: Inode;
  readable: boolean;
  writable: boolean;
}

export interface Vma {
  id: number;
  mm: Mm;
  /** vm_start, vm_end in bytes; vm_end exclusive */
  start: number;
  end: number;
  /** vm_pgoff: file offset in pages (remap_pfn_range may overwrite it with the first pfn) */
  pgoff: number;
  flags: number;
  /** vm_page_prot as a pte low word */
  pageProt: number;
  ops: VmOperations | null;
  /** small-integer dispatch resolved from ops for this kernel version (FK_*) */
  faultKind: number;
  file: OpenFile | null;
  privateData: unknown;
  anonVma: AnonVma | null;
}

export interface Mm {
  id: number;
  /** sorted by start, non-overlapping */
  vmas: Vma[];
  pt: PageTables;
  fileRss: number;
  anonRss: number;
  /** pages counted in locked_vm */
  lockedVm: number;
  /** modelled mmap_sem: readers count and writer tid (0 = none) */
  mmapSemReaders: number;
  mmapSemWriter: number;
  /** modelled page_table_lock: holder tid (0 = free) */
  ptlHolder: number;
  /** tasks sharing this mm (mm_users) */
  users: number;
  /** mmap base for addresses the kernel chooses */
  mmapBase: number;
}

export interface Thread {
  tid: number;
  task: Task;
  /** false once the thread died of an Oops (die → do_exit ends the current thread only) */
  alive: boolean;
  /** reused continuation record of this thread's current fault (no allocation per fault) */
  fault: FaultCtx;
}

export interface Task {
  pid: number;
  name: string;
  mm: Mm | null;
  threads: Thread[];
  alive: boolean;
  /** what ended it: 'exit', 'SIGKILL (OOM)', … */
  exitReason: string | null;
  /** pages pinned by get_user_pages on this task's behalf, released by put_page */
  pins: number[];
  /** open files by name (fd table) */
  files: Map<string, OpenFile>;
  /** the task it was forked from (the OOM killer counts and kills children first) */
  parent: Task | null;
}
