// @mixedmap/core — the model of the Linux mm fault path (2.6.19–2.6.32).
export * from './constants.js';
export * from './version.js';
export * from './arch.js';
export * from './driver.js';
export { PteOps } from './pte.js';
export { PageTables } from './pgtable.js';
export * from './page_alloc.js';
export type * from './mm_types.js';
export { FaultCtx, FN, FN_NAMES, WINDOW, WINDOW_NAMES, FAULT_FLAG_WRITE, type VmFault } from './fault_ctx.js';
export { KernelBug, ConfigError } from './oops.js';
export {
  vmNormalPage, handleMmFault, faultStart, faultResume, vmInsertPage, vmInsertPfn, vmInsertMixed, remapPfnRange,
  zapPteRange, zapVmaPtes, copyPageRange, followPage, resolveFaultKind, nopfnError, FK_ANON, FK_NOPAGE, FK_FAULT, FK_NOPFN,
  FOLLOW_NULL, FOLLOW_EFAULT,
} from './memory.js';
export { getUserPages, getUserPagesFast } from './gup.js';
export { pageAddFileRmap, pageAddNewAnonRmap, pageDupRmap, pageRemoveRmap } from './rmap.js';
export { findVma, vmGetPageProt, vmaWantsWritenotify, splitVma, type MmapArgs } from './mmap.js';
export { findOrCreatePage, findGetPage, unmapMappingRange, truncateInodePages } from './filemap.js';
export { checkInvariants, findLeaks } from './debug.js';
export { mapsLine, smaps, renderSmaps, smapsFieldNames, vmFlagMnemonics, pagemapEntry, hasPagemap, type SmapsVma } from './proc.js';
export {
  Machine, createMachine, faultResultName, sameChain, ACCESS_RETRY_WINDOW, type MachineConfig, type OpResult, type FaultRecord, type PteInfo, type PageInfo,
  type Outcome, type TraceEvent,
} from './machine.js';
