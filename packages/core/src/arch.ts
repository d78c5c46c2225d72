// The arch contract: data plus a few hooks, like the kernel's arch headers over asm-generic
// defaults. An arch resolves once per machine (for one kernel release) into plain numbers that the
// fault path reads directly. Reference §1.3, §1.5, §3.

import { MODERN_RELEASE, type Features } from './version.js';
import type { MemoryModel } from './page_alloc.js';
import type { Machine } from './machine.js';

/**
 * Where a pte keeps its bits, all in the low 32-bit word. A boolean bit is tested as
 * `((lo ^ xor) & mask) !== 0`, so an arch whose hardware bit means the opposite (s390's
 * invalid and protect bits) sets xor = mask. A mask of 0 means "the arch has no such bit":
 * tests read false and setters are the identity (pte_mkspecial on arm, pte_dirty on s390).
 */
export interface PteLayout {
  /** bit position of the pfn in the 64-bit pte (12 on x86: pfn << PAGE_SHIFT) */
  pfnShift: number;
  /** value of a none (empty) pte's low word (x86: 0; s390: _PAGE_TYPE_EMPTY 0x400) */
  none: number;
  present: number;
  presentXor?: number;
  write: number;
  writeXor?: number;
  dirty: number;
  young: number;
  special: number;
  /** cache attribute bits (x86 PCD|PWT) */
  cache: number;
  /** bits pte_modify keeps (_PAGE_CHG_MASK, low word, without the pfn bits) */
  chgMask: number;
  /**
   * pte_modify ORs the whole newprot onto the kept bits (x86 ≤2.6.25: an accessed bit in newprot sets
   * it) instead of taking only newprot's bits outside _PAGE_CHG_MASK (x86 from 1c12c4cf941, v2.6.26).
   * Default false.
   */
  modifyOrsNewProt?: boolean;
  /** the hardware present bit alone, where `present` also covers PROT_NONE ptes (x86 _PAGE_PROTNONE) */
  hwPresent?: number;
  /** the user-accessible bit gup_fast requires (x86 _PAGE_USER); 0 = none */
  user?: number;
}

/** The hooks and data an arch package provides (see defineArch). */
export interface ArchSpec {
  name: string;
  /** 32 or 64: picks sizeof(struct page) and the pte size */
  wordBits: 32 | 64;
  /** page-table geometry, top level first, e.g. [512, 512, 512, 512] for x86-64 */
  levels: (features: Features, options: ArchOptions) => number[];
  /** bytes per pte */
  pteBytes: (options: ArchOptions) => number;
  /** bytes of memory one page-table page of the lowest level costs */
  pteTableBytes?: (features: Features, options: ArchOptions) => number;
  /** user address space limit (TASK_SIZE) */
  taskSize: (options: ArchOptions) => number;
  pteLayout: (features: Features, options: ArchOptions) => PteLayout;
  /** __HAVE_ARCH_PTE_SPECIAL for this release (§3.1) */
  hasPteSpecial: (features: Features, options: ArchOptions) => boolean;
  /** protection_map[VM_READ|VM_WRITE|VM_EXEC|VM_SHARED] as pte low words */
  protectionMap: (features: Features, options: ArchOptions) => number[];
  /** the cache attribute bits pgprot_noncached() sets: a mask, or per release (x86: PCD|PWT, PCD alone from 2.6.29) */
  noncached: number | ((features: Features, options: ArchOptions) => number);
  /** sizeof(struct page) (§4.1) */
  structPageSize: (features: Features, options: ArchOptions) => number;
  /** pfn_valid(); the generic default asks the memory model */
  pfnValid?: (pfn: number, mem: MemoryModel, state: unknown) => boolean;
  /** memory model the arch uses for pfn_valid */
  memoryModel: (features: Features, options: ArchOptions) => { kind: 'flat' | 'sparse' | 'banks'; sectionShift?: number };
  /** lockless get_user_pages_fast, or undefined for the generic mmap_sem fallback (§2.14) */
  gupFast?: (features: Features, options: ArchOptions) => 'x86' | 'powerpc' | undefined;
  /** the RAM layout at boot for a RAM size (default: one region from physical address 0) */
  bootMemory?: (ramBytes: number, options: ArchOptions, features: Features) => Array<{ name: string; start: number; size: number; kind: 'ram'; structPages: true }>;
  /** creates the arch's run-time state when the machine boots (e.g. s390's loaded DCSS list) */
  init?: (k: Machine, options: ArchOptions) => unknown;
  /** arch-specific scenario operations (e.g. s390 segment_load): name → handler → result (a number is the return value) */
  operations?: Record<string, (k: Machine, state: unknown, args: Record<string, unknown>) => unknown>;
  /** set when hasPteSpecial may be true with a special mask of 0 (powerpc 40x/8xx 2.6.30–31, §3.1) */
  zeroSpecialBit?: boolean;
  /** arch-specific options accepted in a scenario's machine.archOptions */
  options?: Record<string, 'boolean' | 'number' | 'string' | 'object'>;
  /** bytes of one entry of an upper-level table (default: pteBytes), or one figure per directory level, top first */
  dirEntryBytes?: (options: ArchOptions, features: Features) => number | number[];
  /**
   * The arch's own pgprot_modify(oldprot, newprot): the bits of the vma's old vm_page_prot that
   * mprotect keeps on top of the new one (x86 _PAGE_CHG_MASK, so PCD/PWT survive). Absent = the
   * generic fallback in mm/mprotect.c, which takes the new prot alone. Called from 2.6.26 (§2.22).
   */
  pgprotModifyKeeps?: (features: Features, options: ArchOptions) => number;
  /**
   * The MMU keeps no accessed/dirty bits of its own and Linux emulates them (arm's set_pte_ext
   * makes an old pte invalid and a clean one read-only in the hardware table): an access through
   * an old pte, or a write through a clean writable one, faults into handle_pte_fault, which sets
   * the bit (a minor fault). Absent = false: the hardware sets them itself (x86) or the arch has
   * none to set (s390).
   */
  softwareYoungDirty?: (features: Features, options: ArchOptions) => boolean;
  /**
   * Whether the arch's do_page_fault hands VM_FAULT_OOM to pagefault_out_of_memory (the OOM killer
   * picks a victim and the fault is retried) rather than killing the faulting task ("VM: killing
   * process"). Absent = only the modern profile does.
   */
  pagefaultOutOfMemory?: (features: Features, options: ArchOptions) => boolean;
}

export type ArchOptions = Record<string, unknown>;

/** One protection_map entry's question: the vm_flags bits it stands for (__P000 … __S111). */
export interface ProtBits {
  read: boolean;
  write: boolean;
  exec: boolean;
  shared: boolean;
  /** PROT_NONE: none of read, write, exec */
  none: boolean;
}

/**
 * Builds the 16-entry protection_map (index VM_READ|VM_WRITE|VM_EXEC|VM_SHARED) from the arch's
 * answer per entry — the generic table every arch header fills in its own way.
 */
export function protectionMapOf(entry: (p: ProtBits) => number): number[] {
  const map: number[] = [];
  for (let i = 0; i < 16; i++) {
    const read = (i & 1) !== 0;
    const write = (i & 2) !== 0;
    const exec = (i & 4) !== 0;
    map.push(entry({ read, write, exec, shared: (i & 8) !== 0, none: !read && !write && !exec }));
  }
  return map;
}

/** Typed identity helper for arch packages (like Vite's defineConfig). */
export function defineArch(spec: ArchSpec): ArchSpec {
  return spec;
}

/** An arch resolved for one release: only numbers, read by the hot path. */
export interface ResolvedArch {
  spec: ArchSpec;
  name: string;
  levels: number[];
  pteBytes: number;
  pteTableBytes: number;
  /** bytes of one entry per directory level, top first (levels.length - 1 figures) */
  dirEntryBytes: number[];
  taskSize: number;
  layout: Required<PteLayout>;
  hasPteSpecial: boolean;
  protectionMap: number[];
  noncached: number;
  structPageSize: number;
  memoryModel: { kind: 'flat' | 'sparse' | 'banks'; sectionShift: number };
  gupFast: 'x86' | 'powerpc' | undefined;
  /** old vm_page_prot bits pgprot_modify keeps (0: the generic fallback, newprot) */
  pgprotModifyKeeps: number;
  /** young/dirty emulated by faults (arm) */
  softwareYoungDirty: boolean;
  /** a user fault's VM_FAULT_OOM goes to the OOM killer */
  pagefaultOom: boolean;
}

export class ArchError extends Error {
  constructor(message: string, public readonly arch: string, public readonly field: string) {
    super(message);
  }
}

const HOOKS: Array<keyof ArchSpec> = [
  'levels', 'pteBytes', 'taskSize', 'pteLayout', 'hasPteSpecial', 'protectionMap', 'structPageSize', 'memoryModel',
];

/** Validates an arch plugin and resolves it for one kernel release. Errors name the plugin and field. */
export function resolveArch(spec: ArchSpec, features: Features, options: ArchOptions = {}): ResolvedArch {
  const name = typeof spec?.name === 'string' ? spec.name : '<unnamed arch>';
  const fail = (field: string, msg: string): never => {
    throw new ArchError(`arch "${name}": ${field}: ${msg}`, name, field);
  };
  if (!spec || typeof spec !== 'object') fail('(plugin)', 'an arch must be an object made with defineArch()');
  if (typeof spec.name !== 'string' || !spec.name) fail('name', 'missing');
  if (spec.wordBits !== 32 && spec.wordBits !== 64) fail('wordBits', 'must be 32 or 64');
  for (const h of HOOKS) if (typeof spec[h] !== 'function') fail(String(h), 'missing hook (a function)');
  if (typeof spec.noncached !== 'number' && typeof spec.noncached !== 'function') fail('noncached', 'must be a number or a function of the release');
  for (const [k, t] of Object.entries(options)) {
    const want = spec.options?.[k];
    if (!want) fail(`archOptions.${k}`, `unknown option (known: ${Object.keys(spec.options ?? {}).join(', ') || 'none'})`);
    if (typeof t !== want || (want === 'object' && t === null)) fail(`archOptions.${k}`, `must be a ${want === 'object' ? 'mapping or list' : want}`);
  }
  const levels = spec.levels(features, options);
  if (!Array.isArray(levels) || levels.length < 2 || levels.length > 5) fail('levels', 'must list 2 to 5 levels');
  for (const n of levels) if (!Number.isInteger(n) || n < 2 || (n & (n - 1)) !== 0) fail('levels', `entry count ${n} is not a power of two`);
  const l = spec.pteLayout(features, options);
  const layout: Required<PteLayout> = {
    presentXor: 0, writeXor: 0, hwPresent: 0, user: 0, modifyOrsNewProt: false, ...l,
  } as Required<PteLayout>;
  const pfnLowMask = layout.pfnShift >= 32 ? 0 : (~((1 << layout.pfnShift) - 1)) >>> 0;
  for (const bit of ['present', 'write', 'dirty', 'young', 'special', 'cache', 'chgMask', 'none'] as const) {
    const v = layout[bit];
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) fail(`pteLayout.${bit}`, 'must be a 32-bit mask');
    if (bit !== 'chgMask' && (v & pfnLowMask) !== 0) fail(`pteLayout.${bit}`, `mask 0x${v.toString(16)} overlaps the pfn field (bits ≥ ${layout.pfnShift})`);
  }
  if (layout.present === 0) fail('pteLayout.present', 'an arch needs a present bit');
  if (layout.write === 0) fail('pteLayout.write', 'an arch needs a write bit');
  const flagBits = [layout.present, layout.write, layout.dirty, layout.young, layout.special];
  for (let i = 0; i < flagBits.length; i++) {
    for (let j = i + 1; j < flagBits.length; j++) {
      if ((flagBits[i]! & flagBits[j]!) !== 0) fail('pteLayout', 'present/write/dirty/young/special masks overlap');
    }
  }
  const hasSpecial = spec.hasPteSpecial(features, options) === true;
  // powerpc 40x/8xx in 2.6.30–31 advertise pte_special with a zero bit (§3.1): an arch must say so.
  if (hasSpecial && layout.special === 0 && spec.zeroSpecialBit !== true) fail('hasPteSpecial', 'true but pteLayout.special is 0');
  const prot = spec.protectionMap(features, options);
  if (!Array.isArray(prot) || prot.length !== 16) fail('protectionMap', 'must have 16 entries');
  const mm = spec.memoryModel(features, options);
  if (!mm || !['flat', 'sparse', 'banks'].includes(mm.kind)) fail('memoryModel', 'kind must be flat, sparse or banks');
  const pteBytes = spec.pteBytes(options);
  if (pteBytes !== 4 && pteBytes !== 8) fail('pteBytes', 'must be 4 or 8');
  if (spec.pgprotModifyKeeps !== undefined && typeof spec.pgprotModifyKeeps !== 'function') fail('pgprotModifyKeeps', 'must be a function (or absent for the generic pgprot_modify)');
  const keeps = spec.pgprotModifyKeeps ? spec.pgprotModifyKeeps(features, options) : 0;
  if (!Number.isInteger(keeps) || keeps < 0 || keeps > 0xffffffff) fail('pgprotModifyKeeps', 'must return a 32-bit mask');
  const noncached = typeof spec.noncached === 'function' ? spec.noncached(features, options) : spec.noncached;
  if (!Number.isInteger(noncached) || noncached < 0 || noncached > 0xffffffff) fail('noncached', 'must be a 32-bit mask');
  const lowest = levels[levels.length - 1]!;
  const dirs = levels.length - 1;
  const dirSpec = spec.dirEntryBytes ? spec.dirEntryBytes(options, features) : pteBytes;
  const dirEntryBytes = typeof dirSpec === 'number' ? Array<number>(dirs).fill(dirSpec) : dirSpec;
  if (!Array.isArray(dirEntryBytes) || dirEntryBytes.length !== dirs || !dirEntryBytes.every((b) => Number.isInteger(b) && b > 0)) {
    fail('dirEntryBytes', `must return a positive byte count or one per directory level (${dirs})`);
  }
  return {
    spec,
    name: spec.name,
    levels,
    pteBytes,
    pteTableBytes: spec.pteTableBytes ? spec.pteTableBytes(features, options) : lowest * pteBytes,
    dirEntryBytes,
    taskSize: spec.taskSize(options),
    layout,
    hasPteSpecial: hasSpecial,
    protectionMap: prot,
    noncached,
    structPageSize: spec.structPageSize(features, options),
    memoryModel: { kind: mm.kind, sectionShift: mm.sectionShift ?? 15 },
    gupFast: spec.gupFast?.(features, options),
    pgprotModifyKeeps: keeps,
    softwareYoungDirty: spec.softwareYoungDirty?.(features, options) === true,
    pagefaultOom: spec.pagefaultOutOfMemory ? spec.pagefaultOutOfMemory(features, options) === true : features.release === MODERN_RELEASE,
  };
}
