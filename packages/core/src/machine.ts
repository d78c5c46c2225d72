// A machine: an arch, a kernel release and drivers composed into one model kernel, with tasks.
// The methods here are the front ends' API (docs/machine-api.md): each user-visible operation
// returns an OpResult; a kernel BUG inside it becomes an Oops outcome, never an exception.

import {
  VM_READ, VM_WRITE, VM_EXEC, VM_LOCKED, VM_DONTCOPY, VM_PFNMAP, VM_IO, EIO, ENOMEM, MADV_DONTNEED, MADV_POPULATE_READ,
  MADV_POPULATE_WRITE, VM_FAULT_OOM, VM_FAULT_SIGBUS, VM_FAULT_WRITE, VM_FAULT_MAJOR,
  MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_DONTFORK, MADV_DOFORK, VM_RAND_READ, VM_SEQ_READ,
  VM_FAULT_NOPAGE, VM_FAULT_HWPOISON, VM_FAULT_WINDOW, PAGE_SIZE, EINVAL, ENOENT, EFAULT, ENOSYS, EROFS, errnoName, vmFlagNames,
} from './constants.js';
import { resolveArch, type ArchSpec, type ResolvedArch } from './arch.js';
import { validateDriver, DriverError, type Driver } from './driver.js';
import { FaultCtx, FN, FN_NAMES } from './fault_ctx.js';
import { FOLLOW_EFAULT, FOLLOW_NULL, copyPageRange, faultResume, faultStart, followPage, vmNormalPage, zapPteRange } from './memory.js';
import { getUserPages, getUserPagesFast, GupLivelock } from './gup.js';
import { doMlock } from './mlock.js';
import { lruAddDrain } from './swap.js';
import { doMmap, doMunmap, doMprotect, exitMmap, findVma, vmaModifyFlags, type MmapArgs } from './mmap.js';
import { truncateInodePages } from './filemap.js';
import { ConfigError, KernelBug } from './oops.js';
import { MemoryModel, PAGE_FLAG_NAMES, PG_anon, PG_buddy, PG_reserved, type MemRegionConfig } from './page_alloc.js';
import { PageTables } from './pgtable.js';
import { PteOps } from './pte.js';
import { kernelName, resolveFeatures, KernelVersionError, MODERN_RELEASE, type Features, type KernelOptions } from './version.js';
import { checkInvariants, findLeaks } from './debug.js';
import { mapsLine, pagemapEntry, smaps, type SmapsVma } from './proc.js';
import type { Inode, Mm, OpenFile, Task, Thread, Vma } from './mm_types.js';

export interface MachineConfig {
  arch: ArchSpec;
  archOptions?: Record<string, unknown>;
  kernel?: string;
  kernelOptions?: KernelOptions;
  memory?: { ram?: number; regions?: Array<Omit<MemRegionConfig, 'structPages'> & { structPages?: boolean }> };
  drivers?: Array<{ driver: Driver<any, any>; settings?: Record<string, unknown> }>;
  /** run the invariant checker after every operation (default true) */
  debug?: boolean;
}

export type Outcome = 'ok' | 'SIGSEGV' | 'SIGBUS' | 'OOM' | 'oops' | 'livelock' | 'error';

export interface FaultRecord {
  address: number;
  write: boolean;
  chain: string[];
  result: string;
}

/** Two fault records went through the same handlers (consecutive records share one array). */
export function sameChain(a: readonly string[], b: readonly string[]): boolean {
  return a === b || (a.length === b.length && a.every((n, i) => n === b[i]));
}

export interface OpResult {
  outcome: Outcome;
  ret?: number;
  errno?: string;
  faults: FaultRecord[];
  oops?: { condition: string; chain: string[] };
  reports: string[];
  value?: number;
  /** follow_page: 'page' | 'NULL' | 'EFAULT' */
  detail?: string;
  violations?: string[];
}

export interface PteInfo {
  none: boolean;
  present: boolean;
  write: boolean;
  dirty: boolean;
  young: boolean;
  special: boolean;
  pfn: number;
  cache: number;
  lo: number;
  hi: number;
}

export interface PageInfo {
  pfn: number;
  count: number;
  /** page_mapcount() = _mapcount + 1 */
  mapcount: number;
  flags: string[];
  anon: boolean;
  reserved: boolean;
  zero: boolean;
  pfnValid: boolean;
}

export interface TraceEvent {
  kind: 'fault' | 'op' | 'report' | 'oops';
  detail: string;
}

interface DriverInstance {
  driver: Driver<any, any>;
  state: unknown;
  paths: string[];
}

const MB = 1024 * 1024;
/** print_bad_pte shows this many reports a minute from 2.6.29 (d936cf9b39b) */
const BAD_PTE_BURST = 60;

export class Machine {
  readonly f: Features;
  readonly arch: ResolvedArch;
  readonly mem: MemoryModel;
  readonly pte: PteOps;
  readonly debug: boolean;
  /** vm_normal_page's special-bit Tables C/D apply (its fast path: one mask test, one compare) */
  readonly specialTablesCD: boolean;
  zeroPfn = -1;
  faultsTotal = 0;
  /** print_bad_pte's ratelimit (2.6.29+): reports shown in this burst, and those kept quiet after it */
  private badPteShown = 0;
  badPteSuppressed = 0;
  readonly tasks: Task[] = [];
  readonly mms: Mm[] = [];
  readonly drivers: DriverInstance[] = [];
  readonly inodes = new Map<string, Inode>();
  /** unlinked inodes still mapped (shared anonymous memory) */
  readonly anonInodes = new Set<Inode>();
  onTrace?: (ev: TraceEvent) => void;
  /** fault injection: page-table pages that may still be allocated (Infinity = no limit) */
  pageTableAllocLimit = Infinity;
  /** the arch's run-time state (ArchSpec.init) */
  archState: unknown;

  private idCounter = 1;
  private pidCounter = 1;
  private opChain: number[] = [];
  /** the last id pushed on opChain (a cheap test for the repeated call) */
  private lastOp = 0;
  private curFault: FaultCtx | null = null;
  private reportBuf: string[] = [];
  private faultBuf: FaultRecord[] = [];
  private quiet = 0;
  /**
   * Accesses in progress under the stepping API. `holdsSem`: do_page_fault's read hold on mmap_sem,
   * taken when the access faults and let go when the fault returns; `retry`: the fault returned and
   * the access has not been retried yet (mmap_sem is free: a writer may get in).
   */
  private readonly stepping = new Map<Thread, {
    addr: number; write: boolean; attempts: number; inFault: boolean; holdsSem: boolean; retry: boolean;
    result: OpResult | null; faults: FaultRecord[]; reports: string[];
  }>();

  constructor(cfg: MachineConfig) {
    try {
      this.f = resolveFeatures(cfg.kernel, cfg.kernelOptions ?? {});
    } catch (e) {
      if (e instanceof KernelVersionError) throw new ConfigError(e.message, e.field === 'kernel' ? 'kernel' : `kernelOptions.${e.field}`);
      throw e;
    }
    try {
      this.arch = resolveArch(cfg.arch, this.f, cfg.archOptions ?? {});
    } catch (e) {
      throw new ConfigError((e as Error).message, `arch.${(e as { field?: string }).field ?? ''}`);
    }
    if (this.f.zeroPage === 's003' && !this.arch.hasPteSpecial) {
      // S003 tells its zero pte apart by pte_special only (vm_normal_page, follow_page)
      throw new ConfigError(`kernel variant zero-page-S003 needs an arch with pte_special, and ${this.arch.name} has none at ${kernelName(this.f.release)}`, 'kernelOptions.variant');
    }
    this.debug = cfg.debug ?? true;
    this.pte = new PteOps(this.arch.layout);
    this.specialTablesCD = this.arch.hasPteSpecial && (this.f.vmNormalPage === 'C' || this.f.vmNormalPage === 'D');
    this.mem = new MemoryModel(this.arch.memoryModel.kind, this.arch.memoryModel.sectionShift, this.arch.structPageSize, this.f.mlockCount);
    const ram = cfg.memory?.ram ?? 64 * MB;
    if (!Number.isFinite(ram) || ram < MB || ram % PAGE_SIZE !== 0) throw new ConfigError(`memory.ram must be a page-aligned size of at least 1 MiB, not ${ram}`, 'memory.ram');
    const boot = this.arch.spec.bootMemory ? this.arch.spec.bootMemory(ram, cfg.archOptions ?? {}, this.f) : [{ name: 'ram', start: 0, size: ram, kind: 'ram' as const, structPages: true }];
    const all = [...boot, ...(cfg.memory?.regions ?? []).map((r) => ({ structPages: r.kind === 'ram', ...r }))];
    all.forEach((r, i) => {
      const field = i < boot.length ? 'memory.ram' : `memory.regions[${i - boot.length}]`;
      if (r.start % PAGE_SIZE !== 0 || r.size % PAGE_SIZE !== 0 || r.size <= 0) throw new ConfigError(`region "${r.name}" must be page aligned and non-empty`, field);
      try {
        this.mem.addRegion(r);
      } catch (e) {
        throw new ConfigError((e as Error).message, field);
      }
    });
    this.bootReserve();
    try {
      this.archState = this.arch.spec.init?.(this, cfg.archOptions ?? {});
    } catch (e) {
      const f = (e as { field?: string }).field;
      throw new ConfigError(`arch "${this.arch.name}": ${(e as Error).message}`, f ? `archOptions.${f}` : 'archOptions');
    }
    (cfg.drivers ?? []).forEach((d, i) => this.loadDriver(d.driver, d.settings ?? {}, `drivers[${i}]`));
  }

  /** Boot-time reservations: the first page (BIOS data, as x86 reserves it) and the zero page. */
  private bootReserve(): void {
    const m = this.mem;
    const ramRegions = m.regions.filter((r) => r.kind === 'ram');
    if (ramRegions.length === 0) throw new ConfigError('the machine has no RAM', 'memory.ram');
    const first = ramRegions[0]!.startPfn;
    if (first === 0 && m.claim(0)) m.flags[0] = PG_reserved;
    const zeroAt = ramRegions.find((r) => r.endPfn > 0x100 && r.startPfn <= 0x100) ? 0x100 : m.peekFree();
    if (!m.claim(zeroAt)) throw new ConfigError('no RAM left for the zero page', 'memory.ram');
    m.flags[zeroAt] = PG_reserved; // empty_zero_page: reserved, count 1, never freed
    this.zeroPfn = zeroAt;
  }

  private loadDriver(driver: Driver<any, any>, settings: Record<string, unknown>, field: string): void {
    try {
      validateDriver(driver);
    } catch (e) {
      throw new ConfigError((e as Error).message, `${field}.${(e as DriverError).field}`);
    }
    const problems = driver.validate?.(settings) ?? [];
    if (problems.length > 0) {
      const p = problems[0]!;
      throw new ConfigError(`driver "${driver.name}": ${p.message}`, `${field}.settings.${p.field}`);
    }
    let state: unknown;
    try {
      state = driver.init?.(this, settings);
    } catch (e) {
      // a driver refuses its settings by throwing an error that names the field
      const f = (e as { field?: string }).field;
      throw new ConfigError(`driver "${driver.name}": ${(e as Error).message}`, f ? `${field}.settings.${f}` : `${field}.settings`);
    }
    this.drivers.push({ driver, state, paths: driver.paths(settings) });
  }

  // ---- helpers the mm code calls -------------------------------------------------------------

  nextId(): number {
    return this.idCounter++;
  }

  /** pfn_valid: the arch's hook, or the generic memory-model test. */
  pfnValid(pfn: number): boolean {
    const hook = this.arch.spec.pfnValid;
    return hook ? hook(pfn, this.mem, this.archState) : this.mem.pfnValid(pfn);
  }

  /**
   * The pfn has a struct page, whatever pfn_valid says: an arch's pfn_valid may be stricter than
   * the mem_map (s390 2.6.25 tests the pfn with LRA, so a DCSS above max_pfn has struct pages that
   * pfn_valid denies) or laxer (2.6.19's pfn < max_mapnr).
   */
  hasStructPage(pfn: number): boolean {
    return this.mem.pfnValid(pfn) || (this.mem.inMemmap(pfn) && this.pfnValid(pfn));
  }

  /** BUG_ON fired: unwind to the operation boundary. */
  bug(condition: string, chain: string[]): never {
    throw new KernelBug(condition, chain);
  }

  /** The simulated call chain of what is running now. */
  readonly chain = (): string[] => {
    const out = this.opChain.map((id) => FN_NAMES[id]!);
    if (this.curFault) out.push(...this.curFault.chainNames());
    return out;
  };

  /**
   * Records that a kernel function ran (into the running fault's chain, or the operation's). A
   * function called again right after itself (follow_page per page of a gup, zap_pte_range per vma)
   * is recorded once: the chain says what ran, not how often, and stays small.
   */
  enter(fn: number): void {
    if (this.curFault) this.curFault.enter(fn);
    else if (fn !== this.lastOp) {
      this.opChain.push(fn);
      this.lastOp = fn;
    }
  }

  private resetOpChain(): void {
    this.opChain = [];
    this.lastOp = 0;
  }

  report(line: string): void {
    if (this.quiet) return;
    this.reportBuf.push(line);
    this.onTrace?.({ kind: 'report', detail: line });
  }

  /**
   * print_bad_pte: a report, and the caller goes on. Its wording is the release's: "Bad pte = …"
   * up to 2.6.28, "BUG: Bad page map in process …" from 2.6.29 (3dc147414cc). Either line ends with
   * "(print_bad_pte: why)", the model's note of which check fired.
   */
  badPte(vma: Vma, address: number, lo: number, hi: number, why: string): void {
    if (this.quiet) return; // a query (vmNormalPage through the API) prints nothing and spends no report
    // 2.6.29+ (d936cf9b39b): a burst of 60 reports, then quiet for the rest of that minute. The model has
    // no clock, so a run is one minute: the 61st report on is counted, not printed
    if (this.f.release >= 29) {
      if (this.badPteShown === BAD_PTE_BURST) {
        this.badPteSuppressed++;
        return;
      }
      this.badPteShown++;
    }
    const hex = (n: number) => n.toString(16).padStart(8, '0');
    const pteVal = hi ? `${(hi >>> 0).toString(16)}${hex(lo >>> 0)}` : hex(lo >>> 0);
    // current->comm when the vma is current's, as the kernel prints it ("???" otherwise)
    const comm = this.tasks.find((t) => t.mm === vma.mm)?.name ?? '???';
    const flags = vma.flags.toString(16);
    const note = `(print_bad_pte: ${why}; pfn 0x${this.pte.pfn(lo, hi).toString(16)}, vm_flags ${vmFlagNames(vma.flags).join('|')})`;
    if (this.f.release <= 28) this.report(`Bad pte = ${pteVal}, process = ${comm}, vm_flags = ${flags}, vaddr = ${address.toString(16)} ${note}`);
    else this.report(`BUG: Bad page map in process ${comm}  pte:${pteVal} vm_flags:${flags} vaddr:${address.toString(16)} ${note}`);
  }

  allocUserPage(): number {
    return this.mem.allocPage();
  }

  /** put_page with "Bad page state" detection (a count going below zero). */
  putPageChecked(pfn: number): void {
    if (this.mem.count[pfn]! <= 0) this.badPageState(pfn);
    else this.mem.putPage(pfn);
  }

  /** put_page on a page nobody holds: reported, and the count goes on down (out of line: rare). */
  private badPageState(pfn: number): void {
    this.report(`BUG: Bad page state: put_page on pfn 0x${pfn.toString(16)} with count ${this.mem.count[pfn]}`);
    this.mem.count[pfn]!--;
  }

  /** A kernel read of a frame through a user pte (cow_user_page's copy from the user address). */
  readUserFrame(pfn: number): number {
    return this.mem.readGen(pfn);
  }

  findVma(mm: Mm, addr: number): Vma | undefined {
    return findVma(mm, addr);
  }

  recordFault(t: Thread, address: number, write: boolean, ret: number): void {
    let chain = t.fault.chainNames();
    // a populate or gup of a range records the same chain per page: share the previous record's array
    const prev = this.faultBuf.length ? this.faultBuf[this.faultBuf.length - 1]!.chain : null;
    if (prev && sameChain(prev, chain)) chain = prev;
    const rec: FaultRecord = { address, write, chain, result: faultResultName(ret) };
    this.faultBuf.push(rec);
    this.onTrace?.({ kind: 'fault', detail: `${rec.chain.join(' → ')} = ${rec.result}` });
  }

  /**
   * Lets a driver's ->fault / ->nopfn stop at its own lock window (mspec's vdata->lock, XIP's
   * sparse mutex), so the explorer can run another thread there: the handler returns what this
   * returns, and the fault path calls `resume` (which returns the handler's real result) when the
   * thread runs again. Outside a fault, `resume` runs at once.
   */
  suspendHandler(windowName: string, resume: () => number): number {
    const c = this.curFault;
    if (!c) return resume();
    c.resume = resume;
    c.driverWindow = windowName;
    return 0;
  }

  setCurrentFault(c: FaultCtx | null): void {
    if (this.curFault !== c) this.curFault = c; // a store only on a change (write barrier; see faultBegin)
  }

  driverOf(inode: Inode): DriverInstance {
    return this.drivers.find((d) => d.driver === inode.driver)!;
  }

  driverMmap(file: OpenFile, vma: Vma): number {
    const d = this.driverOf(file.inode);
    return d.driver.mmap(this, d.state, file, vma);
  }

  shmemZeroSetup(size: number): OpenFile | null {
    const d = this.drivers.find((x) => x.driver.shmemZeroSetup);
    if (!d) return null;
    const inode = d.driver.shmemZeroSetup!(this, d.state, size);
    return { inode, readable: true, writable: true };
  }

  releaseFile(file: OpenFile): void {
    this.maybeDropInode(file.inode);
  }

  maybeDropInode(inode: Inode): void {
    if (inode.unlinked && inode.refs === 0) {
      truncateInodePages(this, inode.mapping, 0);
      this.anonInodes.delete(inode);
    }
  }

  newInode(driver: Driver<any, any>, path: string, size: number, data: unknown, opts: { readOnlyFs?: boolean; unlinked?: boolean } = {}): Inode {
    const inode = {
      ino: this.nextId(), path, size, driver, data, readOnlyFs: opts.readOnlyFs ?? false, unlinked: opts.unlinked ?? false, refs: 0,
    } as Inode;
    inode.mapping = { id: this.nextId(), inode, pages: new Map(), iMmap: new Set(), truncateCount: 0 };
    if (inode.unlinked) this.anonInodes.add(inode);
    else this.inodes.set(path, inode);
    return inode;
  }

  // ---- the operation boundary ----------------------------------------------------------------

  private run(body: () => Partial<OpResult> | void, task?: Task): OpResult {
    this.resetOpChain();
    this.reportBuf = [];
    this.faultBuf = [];
    this.curFault = null;
    let res: OpResult;
    try {
      const r = body() ?? {};
      res = { outcome: 'ok', ...r, faults: this.faultBuf, reports: this.reportBuf };
    } catch (e) {
      if (e instanceof KernelBug) {
        res = { outcome: 'oops', oops: { condition: e.condition, chain: e.chain }, faults: this.faultBuf, reports: this.reportBuf };
        this.onTrace?.({ kind: 'oops', detail: e.condition });
        if (task) this.oopsTask(task);
      } else if (e instanceof GupLivelock) {
        res = { outcome: 'livelock', faults: this.faultBuf, reports: [...this.reportBuf, e.message] };
      } else {
        throw e;
      }
    } finally {
      this.curFault = null;
      this.resetOpChain();
    }
    if (this.f.mlockCount) lruAddDrain(this); // the operation's per-CPU batches processed (swap.ts)
    if (res.ret !== undefined && res.ret < 0 && res.errno === undefined) {
      res.errno = errnoName(res.ret);
      if (res.outcome === 'ok') res.outcome = 'error';
    }
    if (this.debug) {
      const v = this.checkInvariants();
      if (v.length) res.violations = v;
    }
    return res;
  }

  /**
   * After an oops: die() → do_exit() ends the faulting thread; the task dies with its last thread.
   * The thread's page-table lock is released; the model also lets go of its mmap_sem (the kernel
   * leaves it held, so later writers would wait for good). The mm is left as it is.
   */
  private oopsTask(task: Task, thread?: Thread): void {
    if (thread) {
      thread.alive = false;
      if (task.threads.some((t) => t.alive)) {
        if (task.mm && task.mm.ptlHolder === thread.tid) task.mm.ptlHolder = 0;
        return; // the other threads go on
      }
    }
    task.alive = false;
    task.exitReason = 'oops';
    if (task.mm) {
      task.mm.ptlHolder = 0;
      task.mm.mmapSemReaders = 0;
      task.mm.mmapSemWriter = 0;
    }
  }

  private newMm(): Mm {
    const mm: Mm = {
      id: this.nextId(), vmas: [], pt: new PageTables(this.arch.levels, this.pte.none, () => this.pageTableAllocLimit-- > 0), fileRss: 0, anonRss: 0, lockedVm: 0,
      mmapSemReaders: 0, mmapSemWriter: 0, ptlHolder: 0, users: 1, mmapBase: 0x40000000,
    };
    this.mms.push(mm);
    return mm;
  }

  private newThread(task: Task): Thread {
    const t: Thread = { tid: this.pidCounter++, task, alive: true, fault: new FaultCtx() };
    task.threads.push(t);
    return t;
  }

  spawn(name: string): Task {
    const task: Task = { pid: 0, name, mm: this.newMm(), threads: [], alive: true, exitReason: null, pins: [], files: new Map(), parent: null };
    const t = this.newThread(task);
    task.pid = t.tid;
    this.tasks.push(task);
    return task;
  }

  cloneThread(task: Task): Thread {
    return this.newThread(task);
  }

  private live(task: Task): void {
    if (!task.alive || !task.mm) throw new ConfigError(`task "${task.name}" has exited`, 'task');
  }

  // ---- syscalls and user accesses --------------------------------------------------------------

  open(task: Task, path: string, opts: { write?: boolean; create?: boolean; size?: number } = {}): OpResult & { file?: OpenFile } {
    let file: OpenFile | undefined;
    const r = this.run(() => {
      const d = this.driverForPath(path);
      if (!d) return { ret: -ENOENT };
      let inode = this.inodes.get(path);
      if (!inode) {
        if (!d.driver.lookup) return { ret: -ENOENT };
        const got = d.driver.lookup(this, d.state, path, opts.create ?? false);
        if (typeof got === 'number') return { ret: got };
        inode = got;
        if (opts.size !== undefined && d.driver.truncate) d.driver.truncate(this, d.state, inode, opts.size);
      }
      if ((opts.write ?? true) && inode.readOnlyFs) return { ret: -EROFS };
      file = { inode, readable: true, writable: opts.write ?? true };
      inode.refs++;
      return { ret: 0 };
    }, task);
    return { ...r, file };
  }

  private driverForPath(path: string): DriverInstance | undefined {
    let best: DriverInstance | undefined;
    let bestLen = -1;
    for (const d of this.drivers) {
      for (const p of d.paths) {
        if ((path === p || path.startsWith(p.endsWith('/') ? p : p + '/')) && p.length > bestLen) {
          best = d;
          bestLen = p.length;
        }
      }
    }
    return best;
  }

  mmap(task: Task, args: MmapArgs): OpResult & { addr?: number } {
    this.live(task);
    let addr: number | undefined;
    const r = this.run(() => {
      const mm = task.mm!;
      mm.mmapSemWriter = task.pid;
      try {
        const ret = doMmap(this, task, args);
        if (ret >= 0) addr = ret;
        return { ret: ret >= 0 ? 0 : ret };
      } finally {
        mm.mmapSemWriter = 0;
      }
    }, task);
    return { ...r, addr };
  }

  munmap(task: Task, addr: number, length: number): OpResult {
    this.live(task);
    return this.run(() => ({ ret: doMunmap(this, task.mm!, addr, length) }), task);
  }

  mprotect(task: Task, addr: number, length: number, prot: number): OpResult {
    this.live(task);
    return this.run(() => ({ ret: doMprotect(this, task, addr, length, prot) }), task);
  }

  mlock(task: Task, addr: number, length: number): OpResult {
    this.live(task);
    return this.run(() => ({ ret: doMlock(this, task, addr, length, true) }), task);
  }

  munlock(task: Task, addr: number, length: number): OpResult {
    this.live(task);
    return this.run(() => ({ ret: doMlock(this, task, addr, length, false) }), task);
  }

  truncate(path: string, size: number): OpResult {
    return this.run(() => {
      const inode = this.inodes.get(path);
      if (!inode) return { ret: -ENOENT };
      const d = this.driverOf(inode);
      if (!d.driver.truncate) return { ret: -EINVAL };
      return { ret: d.driver.truncate(this, d.state, inode, size) };
    });
  }

  /**
   * A user load or store: the arch fault handler (x86 do_page_fault) and the retried access. It
   * runs the stepping API below to completion, so `mixedmap run` and the explorer share one path.
   */
  access(t: Thread, addr: number, write: boolean): OpResult {
    this.beginAccess(t, addr, write);
    while (!this.stepAccess(t));
    const r = this.accessResult(t);
    if (this.debug) {
      const v = this.checkInvariants();
      if (v.length) r.violations = v;
    }
    return r;
  }

  // ---- the explorer's stepping API: a user access advanced window by window -------------------

  /**
   * Starts a user access that `stepAccess` advances one atomic piece at a time: each call runs
   * until the fault path opens its next lock window (returns false) or the access ends (true).
   * The same fault code as `access()` runs; only the scheduling differs.
   */
  beginAccess(t: Thread, addr: number, write: boolean): void {
    this.live(t.task);
    if (!t.alive) throw new ConfigError(`thread ${t.tid} of task "${t.task.name}" died of an Oops`, 'thread');
    this.stepping.set(t, { addr, write, attempts: 0, inFault: false, holdsSem: false, retry: false, result: null, faults: [], reports: [] });
  }

  /** Whether the thread's access is inside a fault, stopped at a named window (its name), or null. */
  accessWindow(t: Thread): string | null {
    const s = this.stepping.get(t);
    if (s?.retry) return ACCESS_RETRY_WINDOW;
    return s?.inFault ? t.fault.windowName() : null;
  }

  stepAccess(t: Thread): boolean {
    const s = this.stepping.get(t);
    if (!s || s.result) throw new Error('stepAccess: no access in progress');
    const task = t.task;
    const saveR = this.reportBuf;
    const saveF = this.faultBuf;
    this.reportBuf = s.reports;
    this.faultBuf = s.faults;
    this.resetOpChain();
    // do_page_fault's up_read(mmap_sem)
    const release = (): void => {
      if (s.holdsSem && task.mm) task.mm.mmapSemReaders--;
      s.holdsSem = false;
    };
    const finish = (r: Partial<OpResult>): boolean => {
      release();
      if (this.f.mlockCount) lruAddDrain(this); // the access's per-CPU batches processed (swap.ts)
      s.result = { outcome: 'ok', ...r, faults: s.faults, reports: s.reports };
      return true;
    };
    // do_page_fault after handle_mm_fault: OOM, SIGBUS, or the access is retried
    const faultReturned = (ret: number): boolean => {
      s.inFault = false;
      this.curFault = null;
      this.recordFault(t, s.addr, s.write, ret);
      if (ret & VM_FAULT_OOM) {
        const victim = this.arch.pagefaultOom ? this.oomVictim() : task;
        if (victim !== task) {
          // pagefault_out_of_memory killed another task: its memory is free, the access is retried
          this.killTask(victim, 'SIGKILL (OOM killer)');
          release();
          s.retry = true;
          return false;
        }
        finish({ outcome: 'OOM' });
        this.killTask(task, this.arch.pagefaultOom ? 'SIGKILL (OOM killer)' : 'SIGKILL (VM: killing process, OOM)');
        return true;
      }
      if (ret & (VM_FAULT_SIGBUS | VM_FAULT_HWPOISON)) return finish({ outcome: 'SIGBUS' });
      // the fault returned: mmap_sem is let go before the access is retried, so an mmap, munmap
      // or mprotect may run in between
      release();
      s.retry = true;
      return false;
    };
    try {
      if (s.inFault) {
        const ret = faultResume(this, t.fault);
        if (ret & VM_FAULT_WINDOW) return false;
        return faultReturned(ret);
      }
      s.retry = false;
      // the MMU retries the access: permission check, TLB fill, or a new fault (do_page_fault:
      // down_read(mmap_sem), find_vma, the access check)
      const mm = task.mm!;
      if (s.attempts++ >= 8) return finish({ outcome: 'livelock' });
      if (!s.holdsSem) {
        mm.mmapSemReaders++;
        s.holdsSem = true;
      }
      const vma = findVma(mm, s.addr);
      if (!vma || s.addr < vma.start) return finish({ outcome: 'SIGSEGV' });
      if (s.write ? !(vma.flags & VM_WRITE) : !(vma.flags & (VM_READ | VM_EXEC | VM_WRITE))) return finish({ outcome: 'SIGSEGV' });
      if (mm.pt.lookup(Math.floor(s.addr / PAGE_SIZE))) {
        const tbl = mm.pt.tbl;
        const slot = mm.pt.slot;
        const lo = tbl[slot]!;
        if (this.mmuAllows(lo, s.write)) {
          tbl[slot] = s.write ? this.pte.mkdirty(this.pte.mkyoung(lo)) : this.pte.mkyoung(lo);
          const pfn = this.pte.pfn(lo, tbl[slot + 1]!);
          return finish({ value: s.write ? this.mem.writeNew(pfn) : this.mem.readGen(pfn) });
        }
      }
      const ret = faultStart(this, t.fault, t, vma, s.addr, s.write);
      if (ret & VM_FAULT_WINDOW) {
        s.inFault = true;
        return false;
      }
      return faultReturned(ret);
    } catch (e) {
      if (!(e instanceof KernelBug)) throw e;
      s.inFault = false;
      finish({ outcome: 'oops', oops: { condition: e.condition, chain: e.chain } });
      this.oopsTask(task, t);
      return true;
    } finally {
      this.curFault = null;
      this.reportBuf = saveR;
      this.faultBuf = saveF;
    }
  }

  /**
   * The OOM killer's choice (mm/oom_kill.c select_bad_process, oom_kill_process), reported as the
   * kernel prints it. 2.6: the most badness points — total_vm plus half the total_vm (+1) of each
   * child with its own mm; the model's tasks have no CPU time, nice level or capabilities to weigh —
   * the first task on a tie; then a child of it with its own mm goes first. Modern oom_badness: rss
   * plus page-table pages, and no preference for children ([UNVERIFIED]: recalled, not re-read).
   */
  private oomVictim(): Task {
    const modern = this.f.release === MODERN_RELEASE;
    const totalVm = (t: Task) => t.mm!.vmas.reduce((n, v) => n + (v.end - v.start) / PAGE_SIZE, 0);
    const points = (t: Task): number => {
      const mm = t.mm!;
      if (modern) return mm.anonRss + mm.fileRss + Math.floor(this.pageTableBytes(t) / PAGE_SIZE);
      let n = totalVm(t);
      for (const c of this.tasks) if (c.parent === t && c.alive && c.mm && c.mm !== mm) n += Math.floor(totalVm(c) / 2) + 1;
      return n;
    };
    let chosen: Task | null = null;
    let best = -1;
    for (const t of this.tasks) {
      if (!t.alive || !t.mm) continue;
      const n = points(t);
      if (n > best) {
        chosen = t;
        best = n;
      }
    }
    this.report(modern ? `Out of memory: Killed process ${chosen!.pid} (${chosen!.name})` : `Out of memory: kill process ${chosen!.pid} (${chosen!.name}) score ${best} or a child`);
    if (!modern) {
      const child = this.tasks.find((c) => c.parent === chosen && c.alive && c.mm && c.mm !== chosen!.mm);
      if (child) return child;
    }
    return chosen!;
  }

  /**
   * Whether the MMU lets the access through this pte (else it faults). Where young and dirty are
   * emulated (arm), an old pte is invalid in the hardware table and a clean one read-only.
   */
  private mmuAllows(lo: number, write: boolean): boolean {
    const p = this.pte;
    if (!p.hwPresentBit(lo) || (write && !p.write(lo))) return false;
    return !this.arch.softwareYoungDirty || (p.young(lo) && (!write || p.dirty(lo)));
  }

  /** Forgets a stepped access whose task died under it (killed while this thread was in a window). */
  abandonAccess(t: Thread): void {
    const s = this.stepping.get(t);
    if (s?.holdsSem && t.task.mm) t.task.mm.mmapSemReaders--;
    this.stepping.delete(t);
  }

  /** The finished access's result (after stepAccess returned true). */
  accessResult(t: Thread): OpResult {
    const s = this.stepping.get(t);
    if (!s?.result) throw new Error('accessResult: the access has not finished');
    this.stepping.delete(t);
    return s.result;
  }

  gup(t: Thread, addr: number, nrPages: number, write: boolean, force = false): OpResult {
    this.live(t.task);
    return this.run(() => {
      const mm = t.task.mm!;
      mm.mmapSemReaders++;
      try {
        return { ret: getUserPages(this, t, addr, nrPages, write, force, t.task.pins) };
      } finally {
        mm.mmapSemReaders--;
      }
    }, t.task);
  }

  gupFast(t: Thread, addr: number, nrPages: number, write: boolean): OpResult {
    this.live(t.task);
    if (!this.f.gupFastApi) {
      return { outcome: 'error', ret: -ENOSYS, errno: 'ENOSYS', faults: [], reports: [`get_user_pages_fast does not exist in 2.6.${this.f.release} (2.6.27+)`] };
    }
    return this.run(() => ({ ret: getUserPagesFast(this, t, addr, nrPages, write, t.task.pins) }), t.task);
  }

  /**
   * access_process_vm (ptrace PEEKDATA/POKEDATA, /proc/PID/mem): get_user_pages with force on each
   * page; where gup refuses (VM_IO|VM_PFNMAP) the vma's ->access is tried (generic_access_phys,
   * 2.6.27+ /dev/mem). ret = bytes transferred. (B10)
   */
  accessProcessVm(t: Thread, addr: number, len: number, write: boolean): OpResult {
    this.live(t.task);
    return this.run(() => {
      const mm = t.task.mm!;
      let done = 0;
      mm.mmapSemReaders++;
      try {
        while (done < len) {
          const a = addr + done;
          const pins: number[] = [];
          const r = getUserPages(this, t, a, 1, write, true, pins);
          const chunk = Math.min(len - done, PAGE_SIZE - (a % PAGE_SIZE));
          if (r <= 0) {
            const vma = findVma(mm, a);
            if (!vma || a < vma.start || !vma.ops?.access) break;
            // access_process_vm hands ->access the whole rest of the request (M27, M32), not one page's part
            const n = vma.ops.access(vma, a, len - done, write, this);
            if (n <= 0) break;
            done += n;
            continue;
          }
          const pfn = pins[0]!;
          if (write) this.mem.writeNew(pfn);
          this.putPageChecked(pfn);
          done += chunk;
        }
      } finally {
        mm.mmapSemReaders--;
      }
      return { ret: done };
    }, t.task);
  }

  /**
   * madvise(2): MADV_DONTNEED zaps the range (refused on VM_LOCKED|VM_PFNMAP vmas); MADV_POPULATE_READ
   * and _WRITE fault the range in like gup without pins (refused on VM_PFNMAP|VM_IO); MADV_NORMAL,
   * MADV_RANDOM and MADV_SEQUENTIAL set the read hint flags, MADV_DONTFORK / MADV_DOFORK set / clear
   * VM_DONTCOPY (fork leaves the range out of the child); both split or merge vmas (madviseBehavior).
   * MADV_WILLNEED changes nothing the model shows. An unmapped range is ENOMEM.
   */
  madvise(task: Task, addr: number, length: number, advice: number): OpResult {
    this.live(task);
    return this.run(() => {
      const mm = task.mm!;
      const end = addr + Math.ceil(length / PAGE_SIZE) * PAGE_SIZE;
      if (advice === MADV_DONTNEED) return { ret: this.madviseDontneed(mm, addr, end) };
      if (advice === MADV_NORMAL || advice === MADV_RANDOM || advice === MADV_SEQUENTIAL || advice === MADV_DONTFORK || advice === MADV_DOFORK) {
        return { ret: this.madviseBehavior(mm, addr, end, advice) };
      }
      if (advice === MADV_POPULATE_READ || advice === MADV_POPULATE_WRITE) {
        // madvise_populate (6.10+; no up-front walk): faultin_page_range from `start`, each vma checked
        // only when gup reaches it: none → -ENOMEM; VM_PFNMAP|VM_IO or without the access → -EINVAL
        // (measured on 6.x); a SIGBUS/SIGSEGV → -EFAULT. The pages before the failing one stay populated.
        const write = advice === MADV_POPULATE_WRITE;
        const need = write ? VM_WRITE : VM_READ;
        mm.mmapSemReaders++;
        try {
          for (let start = addr; start < end; ) {
            const v = findVma(mm, start);
            if (!v || v.start > start) return { ret: -ENOMEM };
            if (v.flags & (VM_PFNMAP | VM_IO) || !(v.flags & need)) return { ret: -EINVAL };
            const stop = Math.min(end, v.end);
            // after a short count, again from the page that stopped it, whose error is the call's
            const r = getUserPages(this, task.threads[0]!, start, (stop - start) / PAGE_SIZE, write, false, null);
            if (r < 0) return { ret: r };
            if (r === 0) return { ret: -EFAULT };
            start += r * PAGE_SIZE;
          }
          return { ret: 0 };
        } finally {
          mm.mmapSemReaders--;
        }
      }
      // MADV_WILLNEED: readahead only (nothing the model shows); a hole is -ENOMEM
      return { ret: this.madviseWalk(mm, addr, end, (_v, _start, stop) => stop) };
    }, task);
  }

  /**
   * sys_madvise's walk (every release; madvise_walk_vmas in 6.x): vma by vma over [addr, end). A hole
   * is remembered as -ENOMEM and skipped; an error from `visit` stops the walk, and what was done
   * before it stays done. `visit(vma, start, stop)` returns where to go on, or a negative errno.
   */
  private madviseWalk(mm: Mm, addr: number, end: number, visit: (v: Vma, start: number, stop: number) => number): number {
    let unmapped = 0;
    let start = addr;
    while (start < end) {
      const v = findVma(mm, start);
      if (!v) return -ENOMEM;
      if (start < v.start) {
        unmapped = -ENOMEM;
        start = v.start;
        if (start >= end) break;
      }
      const next = visit(v, start, Math.min(v.end, end));
      if (next < 0) return next;
      start = next;
    }
    return unmapped;
  }

  /**
   * madvise_behavior (every release; modern madvise_update_vma): MADV_NORMAL clears VM_RAND_READ and
   * VM_SEQ_READ, MADV_SEQUENTIAL / MADV_RANDOM set one and clear the other; MADV_DONTFORK sets
   * VM_DONTCOPY, MADV_DOFORK clears it but refuses a VM_IO vma with -EINVAL (madvise_vma, every
   * release), which stops the walk there. Only [addr, end) changes: the vma is split at the range edges
   * or merged with a neighbour whose flags become equal (vmaModifyFlags). Fault-around (6.x) stays
   * within the vma, so the split shows.
   */
  private madviseBehavior(mm: Mm, addr: number, end: number, advice: number): number {
    return this.madviseWalk(mm, addr, end, (v, start, stop) => {
      let flags = v.flags;
      if (advice === MADV_DONTFORK) {
        flags |= VM_DONTCOPY;
      } else if (advice === MADV_DOFORK) {
        if (v.flags & VM_IO) return -EINVAL;
        flags &= ~VM_DONTCOPY;
      } else {
        flags &= ~(VM_RAND_READ | VM_SEQ_READ);
        if (advice === MADV_RANDOM) flags |= VM_RAND_READ;
        if (advice === MADV_SEQUENTIAL) flags |= VM_SEQ_READ;
      }
      return flags === v.flags ? stop : Math.max(stop, vmaModifyFlags(this, v, start, stop, flags).end);
    });
  }

  /** MADV_DONTNEED: a VM_LOCKED or VM_PFNMAP vma stops the walk with -EINVAL (madvise_dontneed). */
  private madviseDontneed(mm: Mm, addr: number, end: number): number {
    return this.madviseWalk(mm, addr, end, (v, start, stop) => {
      if (v.flags & (VM_LOCKED | VM_PFNMAP)) return -EINVAL;
      zapPteRange(this, v, start, stop);
      return stop;
    });
  }

  /** A write (poke) or read (peek) of one byte through /proc/PID/mem: access_process_vm; no bytes → EIO. */
  procMem(t: Thread, addr: number, write: boolean): OpResult {
    const r = this.accessProcessVm(t, addr, 1, write);
    if (r.outcome === 'ok' && r.ret === 0) return { ...r, outcome: 'error', ret: -EIO, errno: 'EIO' };
    return r;
  }

  putPages(task: Task): OpResult {
    return this.run(() => {
      const n = task.pins.length;
      for (const pfn of task.pins.splice(0)) this.putPageChecked(pfn);
      return { ret: n };
    });
  }

  followPage(task: Task, addr: number, flags: number): OpResult {
    this.live(task);
    return this.run(() => {
      const vma = findVma(task.mm!, addr);
      if (!vma || addr < vma.start) return { ret: -EFAULT, detail: 'no vma' };
      const page = followPage(this, vma, addr, flags);
      if (page === FOLLOW_NULL) return { detail: 'NULL' };
      if (page === FOLLOW_EFAULT) return { ret: -EFAULT, detail: 'EFAULT' };
      if (flags & 0x04) task.pins.push(page); // FOLL_GET: the reference is the caller's
      return { ret: page, detail: page === this.zeroPfn ? 'ZERO_PAGE' : 'page' };
    }, task);
  }

  /** move_pages(2) status query (do_pages_stat, §2.21): node 0, or -errno. */
  movePagesStatus(task: Task, addr: number): OpResult {
    this.live(task);
    return this.run(() => {
      // do_pages_stat (mm/migrate.c, every release): find_vma without the vm_start test, so an
      // address in a gap below a vma is followed in that vma (no pte → -ENOENT); -EFAULT only with no vma above
      const vma = findVma(task.mm!, addr);
      if (!vma) return { ret: -EFAULT };
      const flags = this.f.zeroPage === 's003' ? 0x10 /* FOLL_NOZERO */ : 0;
      const page = followPage(this, vma, addr, flags);
      if (page === FOLLOW_EFAULT) return { ret: -EFAULT };
      if (page === FOLLOW_NULL || this.mem.flags[page]! & PG_reserved) return { ret: -ENOENT };
      return { ret: 0 };
    }, task);
  }

  fork(parent: Task, childName: string): OpResult & { child?: Task } {
    this.live(parent);
    let child: Task | undefined;
    const r = this.run(() => {
      this.enter(FN.dup_mmap);
      const pmm = parent.mm!;
      const c = this.spawn(childName);
      c.parent = parent;
      const cmm = c.mm!;
      cmm.mmapBase = pmm.mmapBase;
      for (const [name, f] of parent.files) {
        c.files.set(name, f);
        f.inode.refs++;
      }
      child = c;
      for (const vma of pmm.vmas) {
        if (vma.flags & VM_DONTCOPY) continue;
        const tmp: Vma = { ...vma, id: this.nextId(), mm: cmm, flags: vma.flags & ~VM_LOCKED }; // the child is not mlocked
        // anon_vma_fork: the child vma's own anon_vma, chained to the parent's, so still inherited
        // (its mm is not the child's: neither lent to a neighbour nor reused by anon_vma_prepare)
        if (vma.anonVma && this.f.forkOwnAnonVma) tmp.anonVma = { id: this.nextId(), mm: vma.anonVma.mm ?? pmm };
        cmm.vmas.push(tmp);
        if (tmp.file) {
          tmp.file.inode.refs++;
          tmp.file.inode.mapping.iMmap.add(tmp);
        }
        const err = copyPageRange(this, tmp, vma); // ptes are copied before the child's ->open runs
        tmp.ops?.open?.(tmp, this);
        if (err) {
          // dup_mmap (every release): copy_page_range's -ENOMEM ends the copy after ->open; copy_process
          // then drops the new mm (mmput → exit_mmap zaps what was copied) and fork fails: no child
          this.killTask(c, 'fork failed');
          this.tasks.splice(this.tasks.indexOf(c), 1);
          child = undefined;
          return { ret: err };
        }
      }
    }, parent);
    return { ...r, child };
  }

  exit(task: Task): OpResult {
    return this.run(() => {
      this.killTask(task, 'exit');
    });
  }

  private killTask(task: Task, reason: string): void {
    if (!task.mm) return;
    task.alive = false;
    task.exitReason = reason;
    for (const pfn of task.pins.splice(0)) this.putPageChecked(pfn); // outstanding direct I/O completes
    for (const f of task.files.values()) {
      f.inode.refs--;
      this.maybeDropInode(f.inode);
    }
    task.files.clear();
    const mm = task.mm;
    if (--mm.users === 0) {
      mm.mmapSemReaders = 0;
      exitMmap(this, mm); // task.mm still set: 2.6.28+ exit_mmap's munlock runs gup on this mm
    }
    task.mm = null;
  }

  /** A driver's or the arch's own operation (`NAME.OP` in scenarios): NAME is a driver name or the arch name. */
  driverOp(driverName: string, op: string, args: Record<string, unknown>): OpResult {
    const d = this.drivers.find((x) => x.driver.name === driverName);
    const ops = d ? d.driver.operations : driverName === this.arch.name ? this.arch.spec.operations : undefined;
    if (!ops && !d) throw new ConfigError(`no driver or arch "${driverName}" on this machine`, 'op');
    const fn = ops?.[op];
    if (!fn) throw new ConfigError(`${d ? 'driver' : 'arch'} "${driverName}" has no operation "${op}" (has: ${Object.keys(ops ?? {}).join(', ') || 'none'})`, 'op');
    const state = d ? d.state : this.archState;
    return this.run(() => {
      let v: unknown;
      try {
        v = fn(this, state, args);
      } catch (e) {
        if (e instanceof KernelBug || e instanceof ConfigError) throw e;
        throw new ConfigError(`${driverName}.${op}: ${(e as Error).message}`, 'op');
      }
      return typeof v === 'number' ? { ret: v } : {};
    }, args.task as Task | undefined);
  }

  // ---- observation ---------------------------------------------------------------------------

  readPte(task: Task, addr: number): PteInfo {
    const mm = task.mm;
    const none: PteInfo = { none: true, present: false, write: false, dirty: false, young: false, special: false, pfn: -1, cache: 0, lo: this.pte.none >>> 0, hi: 0 };
    // no user pte outside [0, TASK_SIZE): a negative index would walk off the tables
    if (!mm || !(addr >= 0 && addr < this.arch.taskSize) || !mm.pt.lookup(Math.floor(addr / PAGE_SIZE))) return none;
    const lo = mm.pt.tbl[mm.pt.slot]!;
    const hi = mm.pt.tbl[mm.pt.slot + 1]!;
    const p = this.pte;
    if (p.isNone(lo, hi)) return none;
    return {
      none: false, present: p.present(lo), write: p.write(lo), dirty: p.dirty(lo), young: p.young(lo), special: p.special(lo),
      pfn: p.pfn(lo, hi), cache: lo & p.cacheMask, lo: lo >>> 0, hi: hi >>> 0, // the kernel's unsigned words (pte.ts)
    };
  }

  /** vm_normal_page for the pte at addr, without reports: pfn or -1. */
  vmNormalPage(task: Task, addr: number): number {
    const mm = task.mm;
    if (!mm) return -1;
    const vma = findVma(mm, addr);
    const p = this.readPte(task, addr);
    if (!vma || addr < vma.start || p.none || !p.present) return -1;
    return this.quietly(() => vmNormalPage(this, vma, addr - (addr % PAGE_SIZE), p.lo, p.hi), -1);
  }

  /** Runs a pure query with reports muted and BUGs turned into `fallback`. */
  quietly<T>(fn: () => T, fallback: T): T {
    this.quiet++;
    try {
      return fn();
    } catch (e) {
      if (e instanceof KernelBug) return fallback;
      throw e;
    } finally {
      this.quiet--;
    }
  }

  pageInfo(pfn: number): PageInfo | null {
    const m = this.mem;
    if (!this.hasStructPage(pfn)) return null;
    const flags = m.flags[pfn]!;
    return {
      pfn, count: m.count[pfn]!, mapcount: m.mapcount[pfn]! + 1, flags: PAGE_FLAG_NAMES.filter(([b]) => flags & b).map(([, n]) => n),
      anon: (flags & PG_anon) !== 0, reserved: (flags & PG_reserved) !== 0, zero: pfn === this.zeroPfn, pfnValid: this.pfnValid(pfn),
    };
  }

  /** Page-table memory of a task's mm in bytes, with the arch's table sizes (s390 2 KiB tables, PGSTE doubling). */
  pageTableBytes(task: Task): number {
    return task.mm ? task.mm.pt.bytes(this.arch.pteTableBytes, this.arch.dirEntryBytes) : 0;
  }

  /** Steers the page allocator: the next allocation returns this free pfn (B8's collision). Returns false if it is not free. */
  preferNextPage(pfn: number): boolean {
    return this.mem.preferNext(pfn);
  }

  rss(task: Task): { file: number; anon: number } {
    return task.mm ? { file: task.mm.fileRss, anon: task.mm.anonRss } : { file: 0, anon: 0 };
  }

  findVmaOf(task: Task, addr: number): Vma | undefined {
    if (!task.mm) return undefined;
    const v = findVma(task.mm, addr);
    return v && v.start <= addr ? v : undefined;
  }

  /** /proc/PID/maps lines (show_map / show_map_vma of the release, see proc.ts). */
  procMaps(task: Task): string[] {
    if (!task.mm) return [];
    return task.mm.vmas.map((v) => mapsLine(this, v));
  }

  /** /proc/PID/smaps of the release: per vma the maps line, the kernel's fields in kB, 6.x VmFlags (proc.ts). */
  smaps(task: Task): SmapsVma[] {
    return smaps(this, task);
  }

  /** The u64 /proc/PID/pagemap returns for addr (16 hex digits), or null before 2.6.25 (proc.ts). */
  pagemap(task: Task, addr: number): string | null {
    return pagemapEntry(this, task, addr);
  }

  checkInvariants(): string[] {
    return this.quietly(() => checkInvariants(this), ['invariant checker hit a kernel BUG']);
  }

  /** After every task exited: frames and page tables still held (empty when nothing leaked). */
  leaks(): string[] {
    return this.quietly(() => findLeaks(this), ['leak checker hit a kernel BUG']);
  }

  /** Every page the kernel itself holds a reference on (page cache, drivers, pins), for the checkers. */
  kernelRefs(add: (pfn: number, refs: number) => void): void {
    add(this.zeroPfn, 1);
    for (const inode of [...this.inodes.values(), ...this.anonInodes]) for (const pfn of inode.mapping.pages.values()) add(pfn, 1);
    for (const d of this.drivers) d.driver.kernelRefs?.(this, d.state, add);
    for (const t of this.tasks) for (const pfn of t.pins) add(pfn, 1);
  }

  isFree(pfn: number): boolean {
    return (this.mem.flags[pfn]! & PG_buddy) !== 0;
  }
}

/** The pseudo-window between a fault's return and the access's retry (mmap_sem not held). */
export const ACCESS_RETRY_WINDOW = 'do_page_fault: fault done, mmap_sem released, the access is retried';

export function faultResultName(ret: number): string {
  if (ret & VM_FAULT_OOM) return 'OOM';
  if (ret & VM_FAULT_SIGBUS) return 'SIGBUS';
  if (ret & VM_FAULT_HWPOISON) return 'HWPOISON';
  const parts: string[] = [];
  if (ret & VM_FAULT_MAJOR) parts.push('MAJOR');
  if (ret & VM_FAULT_NOPAGE) parts.push('NOPAGE');
  if (ret & VM_FAULT_WRITE) parts.push('WRITE');
  return parts.length ? parts.join('|') : 'MINOR';
}

export function createMachine(cfg: MachineConfig): Machine {
  return new Machine(cfg);
}
