// Kernel constants with the kernel's names and values (include/linux/mm.h, asm-generic/mman.h,
// asm-generic/errno-base.h). Reference §1.2, §1.6, §2.12.

// vm_flags (H26/H32)
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
export const VM_MAYREAD = 0x10;
export const VM_MAYWRITE = 0x20;
export const VM_MAYEXEC = 0x40;
export const VM_MAYSHARE = 0x80;
export const VM_GROWSDOWN = 0x100;
export const VM_PFNMAP = 0x400;
export const VM_LOCKED = 0x2000;
export const VM_IO = 0x4000;
/** madvise hints (MADV_SEQUENTIAL / MADV_RANDOM) */
export const VM_SEQ_READ = 0x8000;
export const VM_RAND_READ = 0x10000;
export const VM_DONTCOPY = 0x20000;
export const VM_DONTEXPAND = 0x40000;
export const VM_RESERVED = 0x80000;
/** a private writable mapping charged to the overcommit accounting (mmap_region, mprotect_fixup) */
export const VM_ACCOUNT = 0x100000;
export const VM_HUGETLB = 0x400000;
export const VM_NONLINEAR = 0x800000;
export const VM_INSERTPAGE = 0x2000000;
export const VM_CAN_NONLINEAR = 0x8000000;
export const VM_MIXEDMAP = 0x10000000;
export const VM_PFN_AT_MMAP = 0x40000000;

export const VM_FLAG_NAMES: ReadonlyArray<[number, string]> = [
  [VM_READ, 'VM_READ'], [VM_WRITE, 'VM_WRITE'], [VM_EXEC, 'VM_EXEC'], [VM_SHARED, 'VM_SHARED'],
  [VM_MAYREAD, 'VM_MAYREAD'], [VM_MAYWRITE, 'VM_MAYWRITE'], [VM_MAYEXEC, 'VM_MAYEXEC'],
  [VM_MAYSHARE, 'VM_MAYSHARE'], [VM_GROWSDOWN, 'VM_GROWSDOWN'], [VM_PFNMAP, 'VM_PFNMAP'],
  [VM_LOCKED, 'VM_LOCKED'], [VM_IO, 'VM_IO'], [VM_SEQ_READ, 'VM_SEQ_READ'], [VM_RAND_READ, 'VM_RAND_READ'],
  [VM_DONTCOPY, 'VM_DONTCOPY'],
  [VM_DONTEXPAND, 'VM_DONTEXPAND'], [VM_RESERVED, 'VM_RESERVED'], [VM_HUGETLB, 'VM_HUGETLB'],
  [VM_NONLINEAR, 'VM_NONLINEAR'], [VM_INSERTPAGE, 'VM_INSERTPAGE'],
  [VM_CAN_NONLINEAR, 'VM_CAN_NONLINEAR'], [VM_MIXEDMAP, 'VM_MIXEDMAP'],
  [VM_PFN_AT_MMAP, 'VM_PFN_AT_MMAP'],
];

export function vmFlagNames(flags: number): string[] {
  const out: string[] = [];
  for (const [bit, name] of VM_FLAG_NAMES) if (flags & bit) out.push(name);
  return out;
}

/** is_cow_mapping(): VM_MAYWRITE set and VM_SHARED clear (M20…M32). */
export function isCowMapping(flags: number): boolean {
  return (flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
}

// mmap(2) arguments
export const PROT_NONE = 0x0;
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const PROT_EXEC = 0x4;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_LOCKED = 0x2000;
export const MAP_POPULATE = 0x8000;
// madvise(2) advice
export const MADV_NORMAL = 0;
export const MADV_RANDOM = 1;
export const MADV_SEQUENTIAL = 2;
export const MADV_WILLNEED = 3;
export const MADV_DONTNEED = 4;
export const MADV_DONTFORK = 10;
export const MADV_DOFORK = 11;
export const MADV_POPULATE_READ = 22;
export const MADV_POPULATE_WRITE = 23;

// Fault results. Internally the model always uses the 2.6.23+ bit flags; `faultCodeValue`
// translates to the E1 numbering (H20) for display.
export const VM_FAULT_MINOR = 0;
export const VM_FAULT_OOM = 0x1;
export const VM_FAULT_SIGBUS = 0x2;
export const VM_FAULT_MAJOR = 0x4;
export const VM_FAULT_WRITE = 0x8;
export const VM_FAULT_HWPOISON = 0x10;
export const VM_FAULT_NOPAGE = 0x100;
export const VM_FAULT_LOCKED = 0x200;
export const VM_FAULT_ERROR = VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_HWPOISON;
/** Model-internal: a fault path dropped its lock at a named window and must be resumed. */
export const VM_FAULT_WINDOW = 0x10000;

// ->nopfn special returns (H24/H26): (unsigned long)-1, -2, -3
export const NOPFN_SIGBUS = -1;
export const NOPFN_OOM = -2;
export const NOPFN_REFAULT = -3;
// ->nopage special returns (NULL, NOPAGE_SIGBUS, NOPAGE_OOM, NOPAGE_REFAULT)
export const NOPAGE_SIGBUS = -1;
export const NOPAGE_OOM = -2;
export const NOPAGE_REFAULT = -3;

// follow_page flags (H20/H26; H32 reuses 0x08 for FOLL_DUMP and adds FOLL_FORCE)
export const FOLL_WRITE = 0x01;
export const FOLL_TOUCH = 0x02;
export const FOLL_GET = 0x04;
export const FOLL_ANON = 0x08;
export const FOLL_DUMP = 0x08;
export const FOLL_FORCE = 0x10;
export const FOLL_NOZERO = 0x10; // S003 proposal, on top of the 2.6.31 set

// errno values (positive; kernel functions return them negated)
export const EPERM = 1;
export const ENOENT = 2;
export const EIO = 5;
export const ENOMEM = 12;
export const EAGAIN = 11;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const ENOSPC = 28;
export const EROFS = 30;
export const ERANGE = 34;
export const ENOSYS = 38;
export const ENODATA = 61;

export const ERRNO_NAMES: Record<number, string> = {
  [EPERM]: 'EPERM', [ENOENT]: 'ENOENT', [EIO]: 'EIO', [ENOMEM]: 'ENOMEM', [EAGAIN]: 'EAGAIN',
  [EACCES]: 'EACCES', [EFAULT]: 'EFAULT', [EBUSY]: 'EBUSY', [EEXIST]: 'EEXIST', [ENODEV]: 'ENODEV', [EINVAL]: 'EINVAL',
  [ENOSPC]: 'ENOSPC', [EROFS]: 'EROFS', [ERANGE]: 'ERANGE', [ENOSYS]: 'ENOSYS', [ENODATA]: 'ENODATA',
};

export function errnoName(err: number): string {
  const e = err < 0 ? -err : err;
  return ERRNO_NAMES[e] ?? `E${e}`;
}

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
