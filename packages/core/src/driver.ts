// The driver contract: a driver is a plain object of named hooks, typed with defineDriver (like
// Rollup/Vite plugins). Its mmap sets vm_flags, vm_page_prot and vm_ops; its vm_ops are the
// kernel's vm_operations_struct for the release the machine runs. Drivers use only the public
// core API they are handed (`k`: vm_insert_pfn, vm_insert_mixed, remap_pfn_range, …).

import type { Vma, Inode, OpenFile } from './mm_types.js';
import type { Machine } from './machine.js';
import type { VmFault } from './fault_ctx.js';

export interface VmOperations {
  /** a name for traces (e.g. "mspec_vm_ops") */
  name: string;
  /** vma duplicated (fork) or split */
  open?(vma: Vma, k: Machine): void;
  /** vma unmapped */
  close?(vma: Vma, k: Machine): void;
  /** E1–E2: returns the pfn of a page with a reference taken, or NOPAGE_SIGBUS/OOM/REFAULT */
  nopage?(vma: Vma, address: number, k: Machine): number;
  /** E1–E3: returns a pfn, or NOPFN_SIGBUS/OOM/REFAULT; the pte holds no reference */
  nopfn?(vma: Vma, address: number, k: Machine): number;
  /** E2+: returns VM_FAULT_* and sets vmf.page (pfn with a reference) unless it returns NOPAGE/ERROR */
  fault?(vma: Vma, vmf: VmFault, k: Machine): number;
  /** shared write fault on a read-only pte: ≤2.6.29 negative → SIGBUS; 2.6.30+ VM_FAULT_* */
  pageMkwrite?(vma: Vma, pfn: number, k: Machine): number;
  /** ptrace / access_process_vm on a vma gup refuses (generic_access_phys); returns bytes or -errno */
  access?(vma: Vma, address: number, len: number, write: boolean, k: Machine): number;
}

export interface MmapRequest {
  /** length in bytes, page aligned */
  length: number;
  prot: number;
  flags: number;
  /** offset in bytes */
  offset: number;
}

export interface DriverSettingsError {
  field: string;
  message: string;
}

export interface Driver<Settings = Record<string, unknown>, State = unknown> {
  name: string;
  /** the file system accounts dirty pages (mapping_cap_account_dirty): shared-writable maps get writenotify */
  accountsDirty?: boolean;
  /** its vm_ops have ->map_pages (filemap_map_pages): modern fault-around maps its cached pages */
  mapPages?: boolean;
  /** device nodes (e.g. "/dev/mem") or mount points (e.g. "/tmp") served by this driver */
  paths(settings: Settings): string[];
  /** validates settings; returns the problems found (empty when fine) */
  validate?(settings: Settings): DriverSettingsError[];
  /** creates the driver's state when the machine boots (pools, images, segments) */
  init?(k: Machine, settings: Settings): State;
  /** opens a path under one of the driver's paths; returns an inode or -errno */
  lookup?(k: Machine, state: State, path: string, create: boolean): Inode | number;
  /** file->f_op->mmap: set vm_flags, vm_page_prot, vm_ops; return 0 or -errno */
  mmap(k: Machine, state: State, file: OpenFile, vma: Vma): number;
  /** truncate / ftruncate on a file of this driver; returns 0 or -errno */
  truncate?(k: Machine, state: State, inode: Inode, size: number): number;
  /** write(2) on a file of this driver (fills holes / page cache); returns bytes or -errno */
  write?(k: Machine, state: State, inode: Inode, offset: number, len: number): number;
  /** shmem_zero_setup: back a MAP_SHARED|MAP_ANONYMOUS mapping with an unlinked file */
  shmemZeroSetup?(k: Machine, state: State, size: number): Inode;
  /** every page the driver holds a reference on, for the debug checker (pfn → references) */
  kernelRefs?(k: Machine, state: State, add: (pfn: number, refs: number) => void): void;
  /** driver-specific scenario operations: name → handler(args) → result value */
  operations?: Record<string, (k: Machine, state: State, args: Record<string, unknown>) => unknown>;
}

/** Typed identity helper for driver packages. */
export function defineDriver<Settings = Record<string, unknown>, State = unknown>(
  d: Driver<Settings, State>,
): Driver<Settings, State> {
  return d;
}

export class DriverError extends Error {
  constructor(message: string, public readonly driver: string, public readonly field: string) {
    super(message);
  }
}

/** Checks a driver plugin's shape when it is loaded. */
/**
 * For a driver's validate hook: a problem for every settings key it does not know, so that a typo
 * (`mout:` for `mount:`) is an error naming the field instead of a setting silently left at its default.
 */
export function unknownSettings(settings: object, known: readonly string[]): DriverSettingsError[] {
  return Object.keys(settings ?? {})
    .filter((key) => !known.includes(key))
    .map((key) => ({ field: key, message: `unknown setting "${key}" (known: ${known.join(', ')})` }));
}

export function validateDriver(d: unknown): asserts d is Driver {
  const name = typeof (d as Driver)?.name === 'string' ? (d as Driver).name : '<unnamed driver>';
  const fail = (field: string, msg: string): never => {
    throw new DriverError(`driver "${name}": ${field}: ${msg}`, name, field);
  };
  if (!d || typeof d !== 'object') fail('(plugin)', 'a driver must be an object made with defineDriver()');
  const x = d as Record<string, unknown>;
  if (typeof x.name !== 'string' || !x.name) fail('name', 'missing');
  if (typeof x.paths !== 'function') fail('paths', 'missing hook (a function)');
  if (typeof x.mmap !== 'function') fail('mmap', 'missing hook (a function)');
  for (const h of ['validate', 'init', 'lookup', 'truncate', 'write', 'shmemZeroSetup', 'kernelRefs']) {
    if (x[h] !== undefined && typeof x[h] !== 'function') fail(h, 'must be a function');
  }
  if (x.operations !== undefined) {
    if (typeof x.operations !== 'object') fail('operations', 'must be an object of functions');
    for (const [k, v] of Object.entries(x.operations as object)) if (typeof v !== 'function') fail(`operations.${k}`, 'must be a function');
  }
}
