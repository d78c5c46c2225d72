// Ordinary files on a tmpfs-like file system: every file page is a struct-page page in the page
// cache (shmem_getpage allocates holes on any fault). ->nopage up to 2.6.22, ->fault from 2.6.23
// (§2.3); a fault at or past EOF is SIGBUS; truncate unmaps (even private COW copies) and drops
// the page cache; MAP_SHARED|MAP_ANONYMOUS is an unlinked file (shmem_zero_setup).

import {
  defineDriver, findOrCreatePage, unmapMappingRange, truncateInodePages, ConfigError,
  VM_CAN_NONLINEAR, VM_FAULT_MINOR, VM_FAULT_OOM, VM_FAULT_SIGBUS, NOPAGE_OOM, NOPAGE_SIGBUS, ENOENT, EINVAL, PAGE_SIZE,
  type Driver, type Inode, type Machine, type Vma, type VmFault, type VmOperations, unknownSettings,
} from '@mixedmap/core';

export interface PagecacheSettings {
  /** mount point (default /tmp) */
  mount?: string;
  /** files present at boot: path and size in bytes */
  files?: Array<{ path: string; size: number }>;
}

interface State {
  mount: string;
}

function sizePages(inode: Inode): number {
  return Math.ceil(inode.size / PAGE_SIZE);
}

/** shmem_fault / filemap_fault: SIGBUS past EOF, else the cached page with a reference. */
function fault(vma: Vma, vmf: VmFault, k: Machine): number {
  const inode = vma.file!.inode;
  if (vmf.pgoff >= sizePages(inode)) return VM_FAULT_SIGBUS;
  const pfn = findOrCreatePage(k, inode.mapping, vmf.pgoff);
  if (pfn < 0) return VM_FAULT_OOM;
  vmf.page = pfn;
  return VM_FAULT_MINOR;
}

/** shmem_nopage (E1): the same through the ->nopage contract. */
function nopage(vma: Vma, address: number, k: Machine): number {
  const inode = vma.file!.inode;
  const pgoff = Math.floor((address - vma.start) / PAGE_SIZE) + vma.pgoff;
  if (pgoff >= sizePages(inode)) return NOPAGE_SIGBUS;
  const pfn = findOrCreatePage(k, inode.mapping, pgoff);
  return pfn < 0 ? NOPAGE_OOM : pfn;
}

export const shmemVmOpsFault: VmOperations = { name: 'shmem_vm_ops', fault };
export const shmemVmOpsNopage: VmOperations = { name: 'shmem_vm_ops', nopage };

function doTruncate(k: Machine, inode: Inode, size: number): number {
  if (!Number.isInteger(size) || size < 0) return -EINVAL;
  const old = sizePages(inode);
  inode.size = size;
  const keep = Math.ceil(size / PAGE_SIZE);
  if (keep < old || inode.mapping.pages.size > 0) {
    // vmtruncate: unmap_mapping_range(even_cows = 1), then truncate_inode_pages. The unmap bumps
    // mapping->truncate_count, so a do_no_page in flight retries ->nopage (≤2.6.22); from 2.6.23
    // truncate_inode_pages waits for the page lock __do_fault holds and unmaps the page again, which
    // __do_fault's commit models by installing no pte for a page that lost its mapping (memory.ts)
    unmapMappingRange(k, inode.mapping, keep, Math.max(old, ...inode.mapping.pages.keys(), 0) + 1 - keep, true);
    truncateInodePages(k, inode.mapping, keep);
  }
  return 0;
}

export const pagecache: Driver<PagecacheSettings, State> = defineDriver<PagecacheSettings, State>({
  name: 'pagecache',
  accountsDirty: false, // tmpfs does no dirty accounting: no writenotify
  mapPages: true, // shmem_vm_ops.map_pages = filemap_map_pages (modern fault-around)
  paths: (s) => [s.mount ?? '/tmp'],
  validate(s) {
    const problems = unknownSettings(s, ['mount', 'files']);
    if (s.mount !== undefined && (typeof s.mount !== 'string' || !s.mount.startsWith('/'))) problems.push({ field: 'mount', message: 'mount must be an absolute path' });
    for (const [i, f] of (s.files ?? []).entries()) {
      if (typeof f?.path !== 'string') problems.push({ field: `files[${i}].path`, message: 'a file needs a path' });
      else if (!Number.isInteger(f.size) || f.size < 0) problems.push({ field: `files[${i}].size`, message: 'size must be a non-negative integer' });
    }
    return problems;
  },
  init(k, s) {
    const mount = s.mount ?? '/tmp';
    for (const [i, f] of (s.files ?? []).entries()) {
      const path = f.path.startsWith('/') ? f.path : `${mount}/${f.path}`;
      if (!path.startsWith(mount + '/')) throw new ConfigError(`file "${f.path}" is not under ${mount}`, `files[${i}].path`);
      k.newInode(pagecache as never, path, f.size, null);
    }
    return { mount };
  },
  lookup(k, _state, path, create): Inode | number {
    if (!create) return -ENOENT;
    return k.newInode(pagecache as never, path, 0, null);
  },
  mmap(k, _state, _file, vma) {
    if (k.f.hasFault) {
      vma.ops = shmemVmOpsFault;
      vma.flags |= VM_CAN_NONLINEAR;
    } else {
      vma.ops = shmemVmOpsNopage;
    }
    return 0;
  },
  truncate: (k, _state, inode, size) => doTruncate(k, inode, size),
  write(k, _state, inode, offset, len) {
    const first = Math.floor(offset / PAGE_SIZE);
    const last = Math.floor((offset + len - 1) / PAGE_SIZE);
    for (let pgoff = first; pgoff <= last; pgoff++) {
      const pfn = findOrCreatePage(k, inode.mapping, pgoff);
      if (pfn < 0) return -12;
      k.mem.writeNew(pfn);
      k.mem.putPage(pfn);
    }
    inode.size = Math.max(inode.size, offset + len);
    return len;
  },
  shmemZeroSetup(k, _state, size) {
    return k.newInode(pagecache as never, '/dev/zero', size, null, { unlinked: true });
  },
});

export default pagecache;
