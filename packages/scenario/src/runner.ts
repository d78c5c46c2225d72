// The runner: build a machine from a loaded scenario, run its steps, observe, check expectations.
// Shared by the CLI, the bench and the interleaving explorer.

import {
  createMachine, ConfigError, kernelName, vmFlagNames, PAGE_SIZE, PAGE_FLAG_NAMES, PG_anon, PG_reserved,
  PROT_READ, PROT_WRITE, PROT_EXEC, PROT_NONE, MAP_SHARED, MAP_PRIVATE, MAP_ANONYMOUS, MAP_FIXED, MAP_LOCKED, MAP_POPULATE,
  FOLL_WRITE, FOLL_TOUCH, FOLL_GET, FOLL_ANON, FOLL_DUMP, FOLL_FORCE, FOLL_NOZERO, MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED,
  MADV_DONTNEED, MADV_POPULATE_READ, MADV_POPULATE_WRITE, MADV_DONTFORK, MADV_DOFORK,
  type Machine, type OpResult, type PteInfo, type PageInfo, type Task, type Thread, type OpenFile,
} from '@mixedmap/core';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { ScenarioError } from './errors.js';
import { PluginFault } from './guard.js';
import type { AddrExpr, Delta } from './schema-dsl.js';
import { parseAddress } from './schema-dsl.js';
import { DRIVER_OP_ADDRESS_ARGS, type LoadedScenario } from './load.js';
import type { Expect, PteExpect, Step } from './types.js';

export const MADV: Record<string, number> = {
  normal: MADV_NORMAL, random: MADV_RANDOM, sequential: MADV_SEQUENTIAL, willneed: MADV_WILLNEED, dontneed: MADV_DONTNEED,
  populate_read: MADV_POPULATE_READ, populate_write: MADV_POPULATE_WRITE, dontfork: MADV_DONTFORK, dofork: MADV_DOFORK,
};
export const PROT_BITS: Record<string, number> = { read: PROT_READ, write: PROT_WRITE, exec: PROT_EXEC, none: PROT_NONE };
export const MAP_BITS: Record<string, number> = {
  shared: MAP_SHARED, private: MAP_PRIVATE, anonymous: MAP_ANONYMOUS, fixed: MAP_FIXED, locked: MAP_LOCKED, populate: MAP_POPULATE,
};
export const FOLL_BITS: Record<string, number> = {
  write: FOLL_WRITE, touch: FOLL_TOUCH, get: FOLL_GET, anon: FOLL_ANON, dump: FOLL_DUMP, force: FOLL_FORCE,
  // the zero-page-S003 variant's FOLL_NOZERO (seed 003, on the 2.6.31 set: the bit 2.6.32 gives FOLL_FORCE)
  nozero: FOLL_NOZERO,
};

const bits = (names: unknown, table: Record<string, number>): number => ((names as string[] | undefined) ?? []).reduce((a, n) => a | table[n]!, 0);

export interface Check {
  /** the expectation, e.g. "pte.write", "page.count", "outcome" */
  field: string;
  expected: unknown;
  actual: unknown;
  ok: boolean;
}

export interface PageObservation {
  pfn: number;
  before: PageInfo | null;
  after: PageInfo | null;
}

export interface Observation {
  /** what the machine returned */
  result: OpResult;
  /** outcome as expectations name it: ok, SIGSEGV, …, or the errno name when the op failed with one */
  outcome: string;
  /** the step address, when the op has one (mmap: the mapped address) */
  addr?: number;
  pteBefore?: PteInfo;
  pteAfter?: PteInfo;
  /** vm_normal_page after the step: pfn, or null for NULL */
  normalPage?: number | null;
  /** the struct page the step pte maps (after the step, else before) */
  page?: PageObservation;
  rssBefore: { anon: number; file: number };
  rssAfter: { anon: number; file: number };
  freePagesBefore: number;
  freePagesAfter: number;
  /** page-table memory of the step's task in bytes (Machine.pageTableBytes) before and after the step */
  pageTableBytesBefore: number;
  pageTableBytesAfter: number;
  /** vma of the step address after the step */
  vma?: { start: number; end: number; pgoff: number; flags: string[] };
  /** invariant violations the debug checker found after the step */
  violations: string[];
  /** the step could not run (e.g. its address symbol is unbound because its mmap failed) */
  error?: string;
}

export interface StepResult {
  step: Step;
  observation: Observation;
  checks: Check[];
  passed: boolean;
}

export interface ScenarioResult {
  name: string;
  file: string;
  machine: { arch: string; kernel: string };
  steps: StepResult[];
  passed: boolean;
  /** frames / page tables still held after every task exited */
  leaks: string[];
  /** invariant violations (during the steps and at the end) */
  violations: string[];
  expectLeaks: boolean;
  /** steps not run (stopAfter, or a step that could not run) */
  skipped: number;
  /** the live model, for inspection (not serialised) */
  state: RunState;
}

export interface RunState {
  machine: Machine;
  tasks: Map<string, Task>;
  threads: Map<string, Thread>;
  /** per task: symbol → address bound by `as:` */
  symbols: Map<string, Map<string, number>>;
}

export interface RunOptions {
  /** stop after this 0-based step index, leaving the tasks alive (for inspection); no end-of-run checks */
  stopAfter?: number;
  /** called after each step */
  onStep?: (r: StepResult) => void;
  /**
   * false: run and observe the steps without checking their expectations (a step's `expect` is
   * for the scenario's own machine; `mixedmap matrix` runs it on others). Default true.
   */
  checkExpectations?: boolean;
}

/** Options of one step (see RunOptions.checkExpectations). */
export interface StepOptions {
  checkExpectations?: boolean;
}

class StepFailure extends Error {}

/** Builds the machine of a loaded scenario. Configuration problems are ScenarioErrors on machine.* fields. */
export function buildMachine(s: LoadedScenario): Machine {
  const m = s.machine;
  try {
    return createMachine({
      arch: s.plugins.arch,
      archOptions: m.archOptions,
      kernel: m.kernel,
      kernelOptions: m.kernelOptions as never,
      memory: { ...(m.memory.ram !== undefined ? { ram: m.memory.ram } : {}), ...(m.memory.regions ? { regions: m.memory.regions } : {}) },
      // a driver setting `from` (xip's host-directory image) is a path relative to the scenario file
      drivers: s.plugins.drivers.map((d) =>
        typeof d.settings.from === 'string' && !isAbsolute(d.settings.from) ? { ...d, settings: { ...d.settings, from: resolvePath(s.dir, d.settings.from) } } : d),
      ...(m.debug !== undefined ? { debug: m.debug } : {}),
    });
  } catch (e) {
    if (e instanceof ConfigError) {
      // the model keeps per-page arrays for physical memory: a size it cannot allocate is a size problem
      const msg = /Invalid typed array length|Array buffer allocation failed/.test(e.message)
        ? `too much memory for the model to allocate its per-page arrays (${e.message}); use a smaller size`
        : e.message;
      throw s.locs.error(configField(s, e.field), msg);
    }
    throw e;
  }
}

/** Maps a MachineConfig field (drivers[1].settings.x) onto the scenario path (machine.drivers[1].settings.x). */
function configField(s: LoadedScenario, f: string): string {
  if (f === 'arch' || f.startsWith('arch.')) return 'machine.arch';
  const d = /^drivers\[(\d+)\](.*)$/.exec(f);
  if (d) {
    const ref = s.machine.drivers[Number(d[1])];
    if (!ref) return 'machine.drivers';
    const isObject = /\.(name|path)$/.test(ref.field);
    return isObject && d[2]!.startsWith('.settings') ? ref.field.replace(/\.(name|path)$/, '') + d[2] : ref.field;
  }
  return `machine.${f}`;
}

/**
 * The three verbs every front end needs (design notes §4): start (build the machine, spawn the
 * tasks), step (run one step, observe, check), finish (exit every task, leaks, verdict).
 * runScenario composes them; an explorer or a benchmark can drive them itself.
 */
export function startRun(s: LoadedScenario): RunState {
  const machine = buildMachine(s);
  const st: RunState = { machine, tasks: new Map(), threads: new Map(), symbols: new Map() };
  for (const t of s.tasks) {
    const task = machine.spawn(t.name);
    st.tasks.set(t.name, task);
    st.threads.set(t.name, task.threads[0]!);
    st.symbols.set(t.name, new Map());
    for (const th of t.threads) st.threads.set(th, machine.cloneThread(task));
  }
  return st;
}

/** Exits every live task and collects leaks and invariant violations; returns the verdict. */
export function finishRun(s: LoadedScenario, st: RunState, results: StepResult[]): { passed: boolean; leaks: string[]; violations: string[] } {
  const m = st.machine;
  const violations = collectViolations(results);
  for (const task of st.tasks.values()) if (task.mm) m.exit(task);
  for (const v of m.checkInvariants()) if (!violations.includes(v)) violations.push(v);
  const leaks = m.leaks();
  const bad = leaks.length > 0 || violations.length > 0;
  return { passed: results.every((r) => r.passed) && (s.expectLeaks ? bad : !bad), leaks, violations };
}

function collectViolations(results: StepResult[]): string[] {
  const out: string[] = [];
  for (const r of results) for (const v of r.observation.violations) if (!out.includes(v)) out.push(v);
  return out;
}

/**
 * A plugin hook that threw while the scenario ran (see guard.ts), as a ScenarioError: at the step
 * that ran it (or at the plugin's field when no step did: the end-of-run exit), naming the plugin,
 * where the scenario loads it, and the hook.
 */
export function pluginFaultError(s: LoadedScenario, e: PluginFault, step?: Step, context = 'while the tasks exited after the last step'): ScenarioError {
  let where = '';
  if (e.kind === 'arch') where = `machine.arch: ${s.machine.arch.spec}`;
  else {
    const i = s.plugins.drivers.findIndex((d) => d.driver === e.plugin);
    const ref = i >= 0 ? s.machine.drivers.find((r) => r.settings === s.plugins.drivers[i]!.settings) : undefined;
    if (ref) where = `${ref.field.replace(/\.(name|path)$/, '')}: ${ref.spec}`;
  }
  const field = step ? step.field : where ? where.slice(0, where.indexOf(':')) : 'machine';
  const when = step ? '' : ` ${context}`;
  const name = String((e.plugin as { name?: unknown }).name ?? '?');
  const what = e.returned !== undefined ? `${e.returned}${when}` : `threw${when}: ${e.what.replace(/^threw: /, '')}`;
  const msg = `${e.kind} "${name}"${where && step ? ` (${where})` : ''}: its ${e.hook} hook ${what} — a bug in the plugin, not a kernel Oops`;
  return s.locs.error(field, msg);
}

export function runScenario(s: LoadedScenario, opts: RunOptions = {}): ScenarioResult {
  const st = startRun(s);
  const results: StepResult[] = [];
  let skipped = 0;
  for (const step of s.steps) {
    if (opts.stopAfter !== undefined && step.index > opts.stopAfter) {
      skipped++;
      continue;
    }
    let r: StepResult;
    try {
      r = runStep(st, step, { checkExpectations: opts.checkExpectations ?? true });
    } catch (e) {
      if (e instanceof PluginFault) throw pluginFaultError(s, e, step);
      throw e;
    }
    results.push(r);
    opts.onStep?.(r);
  }
  let end: { passed: boolean; leaks: string[]; violations: string[] };
  try {
    end = opts.stopAfter === undefined
      ? finishRun(s, st, results)
      : { passed: results.every((r) => r.passed), leaks: [], violations: collectViolations(results) };
  } catch (e) {
    if (e instanceof PluginFault) throw pluginFaultError(s, e);
    throw e;
  }
  return {
    name: s.name,
    file: s.file,
    machine: { arch: st.machine.arch.name, kernel: kernelName(st.machine.f.release) },
    steps: results,
    passed: end.passed,
    leaks: end.leaks,
    violations: end.violations,
    expectLeaks: s.expectLeaks,
    skipped,
    state: st,
  };
}

// ---- one step ----------------------------------------------------------------------------------

function resolveAddr(st: RunState, a: AddrExpr, task: string): number {
  const t = a.task ?? task;
  if (a.sym === undefined) return a.offset;
  const base = st.symbols.get(t)?.get(a.sym);
  if (base === undefined) throw new StepFailure(`address "${a.text}": "${a.sym}" is not bound in task "${t}" (did the mmap that binds it fail?)`);
  const addr = base + a.offset;
  if (addr < 0) throw new StepFailure(`address "${a.text}" is below 0 (${a.sym} is 0x${base.toString(16)})`);
  if (addr > 2 ** 64 - 1) throw new StepFailure(`address "${a.text}" is beyond 2^64−1 (${a.sym} is 0x${base.toString(16)})`);
  return addr;
}

function taskOf(st: RunState, a: AddrExpr | undefined, dflt: string): Task {
  const name = a?.task ?? dflt;
  const t = st.tasks.get(name);
  if (!t) throw new StepFailure(`unknown task "${name}"`);
  return t;
}

const EMPTY: OpResult = { outcome: 'ok', faults: [], reports: [] };

function outcomeName(r: OpResult): string {
  if (r.outcome === 'error' || (r.outcome === 'ok' && r.ret !== undefined && r.ret < 0)) return r.errno ?? 'error';
  return r.outcome;
}

function safePte(m: Machine, task: Task, addr: number): PteInfo | undefined {
  return task.mm ? m.readPte(task, addr) : undefined;
}

function pageAddr(addr: number): number {
  return addr - (addr % PAGE_SIZE);
}

/** Runs one step on a started run: resolve addresses, call the Machine, observe, check. */
export function runStep(st: RunState, step: Step, opts: StepOptions = {}): StepResult {
  const m = st.machine;
  const task = st.tasks.get(step.task);
  const thread = st.threads.get(step.thread);
  // a task or thread made by an earlier fork/clone step that failed (e.g. its parent died of an Oops)
  if (!task || !thread) return notCreated(st, step, task ? `thread "${step.thread}"` : `task "${step.task}"`, opts);
  const a = step.args;
  const rssBefore = m.rss(task);
  const freeBefore = m.mem.freeCount();
  const ptBefore = m.pageTableBytes(task);
  const obs: Observation = {
    result: EMPTY, outcome: 'ok', rssBefore, rssAfter: rssBefore, freePagesBefore: freeBefore, freePagesAfter: freeBefore,
    pageTableBytesBefore: ptBefore, pageTableBytesAfter: ptBefore, violations: [],
  };
  const checks: Check[] = [];
  try {
    if ((!task.alive || !task.mm) && step.op !== 'exit') throw new StepFailure(`task "${step.task}" is no longer alive (${task.exitReason ?? 'exited'})`);
    if (!thread.alive && step.op !== 'exit') throw new StepFailure(`thread "${step.thread}" of task "${step.task}" died of an Oops`);
    // the step address and the state before
    let addr = a.addr !== undefined ? resolveAddr(st, a.addr as AddrExpr, step.task) : undefined;
    // struct page state before the step, so that count/mapcount deltas work for any pfn
    // (also pages that only get mapped by this step)
    const snap = snapshotPages(m);
    const atPfn = opts.checkExpectations === false ? undefined : watchedPage(st, step);
    if (addr !== undefined) obs.pteBefore = safePte(m, task, addr);
    const pfnBefore = obs.pteBefore?.present ? obs.pteBefore.pfn : undefined;

    const r = execute(st, step, task, thread, addr);
    obs.result = r;
    obs.outcome = outcomeName(r);
    obs.violations = r.violations ?? [];
    if (step.op === 'mmap' && (r as { addr?: number }).addr !== undefined) {
      addr = (r as { addr?: number }).addr!;
      if (a.as !== undefined) st.symbols.get(step.task)!.set(a.as as string, addr);
    }

    // the state after
    obs.addr = addr;
    obs.rssAfter = m.rss(task);
    obs.freePagesAfter = m.mem.freeCount();
    obs.pageTableBytesAfter = m.pageTableBytes(task);
    if (addr !== undefined && task.mm) {
      obs.pteAfter = m.readPte(task, addr);
      const np = m.vmNormalPage(task, pageAddr(addr));
      obs.normalPage = np < 0 ? null : np;
      const vma = m.findVmaOf(task, addr);
      if (vma) obs.vma = { start: vma.start, end: vma.end, pgoff: vma.pgoff, flags: vmFlagNames(vma.flags) };
    } else if (addr !== undefined) {
      obs.pteAfter = undefined;
    }
    const pfn = obs.pteAfter?.present ? obs.pteAfter.pfn : pfnBefore;
    if (pfn !== undefined) obs.page = { pfn, before: pageBefore(m, snap, pfn), after: m.pageInfo(pfn) };

    if (opts.checkExpectations !== false) checkExpect(st, step, obs, snap, atPfn, checks);
  } catch (e) {
    if (!(e instanceof StepFailure) && !(e instanceof ConfigError)) throw e;
    obs.error = e.message;
    checks.push({ field: 'step', expected: 'the step runs', actual: e.message, ok: false });
    if (opts.checkExpectations === false) checks.length = 0;
  }
  return { step, observation: obs, checks, passed: checks.every((c) => c.ok) };
}

function notCreated(st: RunState, step: Step, what: string, opts: StepOptions): StepResult {
  const free = st.machine.mem.freeCount();
  const error = `${what} does not exist: the step that creates it did not run`;
  const obs: Observation = {
    result: EMPTY, outcome: 'ok', rssBefore: { anon: 0, file: 0 }, rssAfter: { anon: 0, file: 0 }, freePagesBefore: free, freePagesAfter: free,
    pageTableBytesBefore: 0, pageTableBytesAfter: 0, violations: [], error,
  };
  const checks: Check[] = opts.checkExpectations === false ? [] : [{ field: 'step', expected: 'the step runs', actual: error, ok: false }];
  return { step, observation: obs, checks, passed: checks.length === 0 };
}

interface PageSnapshot {
  count: Int32Array;
  mapcount: Int32Array;
  flags: Uint32Array;
}

function snapshotPages(m: Machine): PageSnapshot {
  return { count: m.mem.count.slice(), mapcount: m.mem.mapcount.slice(), flags: m.mem.flags.slice() };
}

/** PageInfo of a pfn as it was when the snapshot was taken (null: no struct page then or now). */
function pageBefore(m: Machine, snap: PageSnapshot, pfn: number): PageInfo | null {
  const now = m.pageInfo(pfn);
  if (!now || pfn >= snap.count.length) return null;
  const flags = snap.flags[pfn]!;
  return {
    ...now,
    count: snap.count[pfn]!,
    mapcount: snap.mapcount[pfn]! + 1,
    flags: PAGE_FLAG_NAMES.filter(([b]) => flags & b).map(([, n]) => n),
    anon: (flags & PG_anon) !== 0,
    reserved: (flags & PG_reserved) !== 0,
  };
}

/** The pfn mapped at `page: { at }` before the step (its counts are compared with the state after). */
function watchedPage(st: RunState, step: Step): number | undefined {
  const at = step.expect?.page?.at;
  if (!at) return undefined;
  const t = taskOf(st, at, step.task);
  let addr: number;
  try {
    addr = resolveAddr(st, at, step.task);
  } catch {
    return undefined; // bound by this very step (mmap … as:): nothing was mapped there before
  }
  const p = t.mm ? st.machine.readPte(t, addr) : undefined;
  return p?.present ? p.pfn : undefined;
}

function execute(st: RunState, step: Step, task: Task, thread: Thread, addr: number | undefined): OpResult {
  const m = st.machine;
  const a = step.args;
  // The task's fd table is task.files (fork copies it, exit closes it); core's open() only opens.
  const files = task.files;
  switch (step.op) {
    case 'mmap': {
      let file: OpenFile | null = null;
      if (a.file !== undefined) {
        const o = m.open(task, a.file as string, { write: a.mode !== 'rdonly' });
        if (!o.file) return o;
        file = o.file;
        files.set(`#${step.field}`, file); // an fd the scenario has no name for, closed at exit
      } else if (a.fd !== undefined) {
        file = files.get(a.fd as string) ?? null;
        if (!file) throw new StepFailure(`fd "${a.fd}" is not open in task "${step.task}" (did its open fail?)`);
      }
      return m.mmap(task, {
        ...(addr !== undefined ? { addr } : {}),
        length: a.length as number,
        prot: bits(a.prot, PROT_BITS),
        flags: bits(a.flags, MAP_BITS),
        file,
        offset: (a.offset as number | undefined) ?? 0,
      });
    }
    case 'munmap':
      return m.munmap(task, addr!, a.length as number);
    case 'mprotect':
      return m.mprotect(task, addr!, a.length as number, bits(a.prot, PROT_BITS));
    case 'mlock':
      return m.mlock(task, addr!, a.length as number);
    case 'munlock':
      return m.munlock(task, addr!, a.length as number);
    case 'read':
    case 'write':
      return m.access(thread, addr!, step.op === 'write');
    case 'fork': {
      const r = m.fork(task, a.child as string);
      const child = r.child;
      if (child) {
        const name = a.child as string;
        st.tasks.set(name, child);
        st.threads.set(name, child.threads[0]!);
        st.symbols.set(name, new Map(st.symbols.get(step.task)));
      }
      return r;
    }
    case 'clone':
      st.threads.set(a.name as string, m.cloneThread(task));
      return { outcome: 'ok', faults: [], reports: [] };
    case 'exit':
      return m.exit(task);
    case 'open': {
      const r = m.open(task, a.path as string, {
        write: a.mode !== 'rdonly',
        ...(a.create !== undefined ? { create: a.create as boolean } : {}),
        ...(a.size !== undefined ? { size: a.size as number } : {}),
      });
      if (r.file) files.set(a.as !== undefined ? (a.as as string) : `#${step.field}`, r.file);
      return r;
    }
    case 'truncate':
      return m.truncate(a.path as string, a.size as number);
    case 'gup':
      return m.gup(thread, addr!, (a.pages as number | undefined) ?? 1, (a.write as boolean | undefined) ?? false, (a.force as boolean | undefined) ?? false);
    case 'gup_fast':
      return m.gupFast(thread, addr!, (a.pages as number | undefined) ?? 1, (a.write as boolean | undefined) ?? false);
    case 'put_pages':
      return m.putPages(task);
    case 'madvise':
      return m.madvise(task, addr!, a.length as number, MADV[a.advice as string]!);
    case 'poke':
    case 'peek':
      return m.procMem(thread, addr!, step.op === 'poke');
    case 'follow_page':
      return m.followPage(task, addr!, bits(a.flags, FOLL_BITS));
    case 'move_pages':
      return m.movePagesStatus(task, addr!);
    case 'alloc_prefer':
      return { outcome: 'ok', faults: [], reports: [], ret: m.preferNextPage(a.pfn as number) ? 1 : 0 };
    case 'access_process_vm':
      return m.accessProcessVm(thread, addr!, (a.length as number | undefined) ?? 4, (a.write as boolean | undefined) ?? false);
    default: {
      const dot = step.op.indexOf('.');
      const args: Record<string, unknown> = { ...a, task, thread };
      if (addr !== undefined) args.addr = addr;
      for (const k of DRIVER_OP_ADDRESS_ARGS) if (a[k] !== undefined) args[k] = resolveAddr(st, a[k] as AddrExpr, step.task);
      try {
        return m.driverOp(step.op.slice(0, dot), step.op.slice(dot + 1), args);
      } catch (e) {
        // a driver operation refusing its arguments is the scenario's problem, not a model bug
        if (e instanceof ConfigError || e instanceof StepFailure) throw e;
        throw new StepFailure(`${step.op}: ${(e as Error).message}`);
      }
    }
  }
}

// ---- expectations ------------------------------------------------------------------------------

function applyDelta(d: Delta, before: number | undefined, after: number | undefined): { expected: string; ok: boolean } {
  if (d.kind === 'abs') return { expected: `=${d.n}`, ok: after === d.n };
  if (before === undefined || after === undefined) return { expected: fmtDelta(d.n), ok: false };
  return { expected: fmtDelta(d.n), ok: after - before === d.n };
}

function fmtDelta(n: number): string {
  return n >= 0 ? `+${n}` : String(n);
}

function actualDelta(d: Delta, before: number | undefined, after: number | undefined): string {
  if (after === undefined) return 'no struct page';
  if (d.kind === 'abs' || before === undefined) return `=${after}`;
  return `${fmtDelta(after - before)} (${before} → ${after})`;
}

function checkPte(st: RunState, field: string, e: PteExpect, p: PteInfo | undefined, stepTask: string, checks: Check[]): void {
  const m = st.machine;
  for (const k of ['none', 'present', 'write', 'dirty', 'young', 'special'] as const) {
    if (e[k] === undefined) continue;
    const actual = p ? p[k] : k === 'none';
    checks.push({ field: `${field}.${k}`, expected: e[k], actual, ok: actual === e[k] });
  }
  if (e.cache !== undefined) {
    const actual = p?.cache ?? 0;
    const ok = typeof e.cache === 'boolean' ? (actual !== 0) === e.cache : typeof e.cache === 'number' ? actual === e.cache : String(actual) === e.cache;
    checks.push({ field: `${field}.cache`, expected: e.cache, actual, ok });
  }
  if (e.pfn !== undefined) {
    const actual = p && p.present ? p.pfn : null;
    let expected: number | string;
    if (e.pfn === 'zero') expected = m.zeroPfn;
    else if (typeof e.pfn === 'number') expected = e.pfn;
    else {
      const other = taskOf(st, e.pfn.sameAs, stepTask);
      const q = other.mm ? m.readPte(other, resolveAddr(st, e.pfn.sameAs, stepTask)) : undefined;
      expected = q?.present ? q.pfn : `pfn of ${e.pfn.sameAs.text} (not present)`;
    }
    checks.push({
      field: `${field}.pfn`,
      expected: typeof expected === 'number' ? hexPfn(expected) + (e.pfn === 'zero' ? ' (zero)' : '') : expected,
      actual: actual === null ? 'not present' : hexPfn(actual),
      ok: actual !== null && actual === expected,
    });
  }
}

export function hexPfn(n: number): string {
  return `0x${n.toString(16)}`;
}

function contentAt(st: RunState, a: AddrExpr, stepTask: string): number | undefined {
  const t = taskOf(st, a, stepTask);
  const p = t.mm ? st.machine.readPte(t, resolveAddr(st, a, stepTask)) : undefined;
  return p?.present ? st.machine.mem.readGen(p.pfn) : undefined;
}

/**
 * The handlers of a step: the chains of its faults, concatenated. A fault that ended in an Oops
 * never returned, so it is not among the fault records; its chain (from handle_mm_fault on) is
 * appended from the Oops.
 */
export function handlerChain(r: OpResult): string[] {
  const chains = r.faults.flatMap((f) => f.chain);
  if (r.oops) {
    const i = r.oops.chain.findIndex((fn) => fn === 'handle_mm_fault' || fn === '__handle_mm_fault');
    if (i >= 0) chains.push(...r.oops.chain.slice(i));
  }
  return chains;
}

function checkExpect(st: RunState, step: Step, obs: Observation, snap: PageSnapshot, atPfnBefore: number | undefined, checks: Check[]): void {
  const m = st.machine;
  const e: Expect = step.expect ?? {};
  const r = obs.result;
  // The outcome is always checked: "ok" unless the scenario says otherwise.
  const expOutcome = e.outcome ?? 'ok';
  checks.push({ field: e.outcome === undefined ? 'outcome (implicit)' : 'outcome', expected: expOutcome, actual: obs.outcome, ok: obs.outcome === expOutcome });
  if (e.ret !== undefined) checks.push({ field: 'ret', expected: e.ret, actual: r.ret ?? null, ok: r.ret === e.ret });
  const chains = handlerChain(r);
  if (e.handlers) checks.push({ field: 'handlers', expected: e.handlers, actual: chains, ok: JSON.stringify(chains) === JSON.stringify(e.handlers) });
  if (e.handlersInclude) {
    for (const h of e.handlersInclude) checks.push({ field: 'handlersInclude', expected: h, actual: chains.includes(h) ? h : chains, ok: chains.includes(h) });
  }
  if (e.faults !== undefined) checks.push({ field: 'faults', expected: e.faults, actual: r.faults.length, ok: r.faults.length === e.faults });
  if (e.oops !== undefined) {
    const cond = r.oops?.condition ?? null;
    checks.push({ field: 'oops', expected: e.oops, actual: cond ?? 'no oops', ok: cond !== null && cond.includes(e.oops) });
  }
  if (e.pte) checkPte(st, 'pte', e.pte, obs.pteAfter, step.task, checks);
  for (const [k, pe] of Object.entries(e.ptes ?? {})) {
    const ax = parseAddress(k)!;
    const t = taskOf(st, ax, step.task);
    const p = t.mm ? m.readPte(t, resolveAddr(st, ax, step.task)) : undefined;
    checkPte(st, `ptes[${k}]`, pe, p, step.task, checks);
  }
  if (e.normalPage !== undefined) {
    const np = obs.normalPage ?? null;
    const actual = np === null ? null : np === m.zeroPfn ? 'zero' : 'page';
    checks.push({ field: 'normalPage', expected: e.normalPage, actual: np === null ? null : `${actual} (${hexPfn(np)})`, ok: actual === e.normalPage });
  }
  if (e.page) {
    let pg: PageObservation | undefined = obs.page;
    if (e.page.at) {
      const t = taskOf(st, e.page.at, step.task);
      const p = t.mm ? m.readPte(t, resolveAddr(st, e.page.at, step.task)) : undefined;
      const pfn = p?.present ? p.pfn : atPfnBefore;
      pg = pfn === undefined ? undefined : { pfn, before: pageBefore(m, snap, pfn), after: m.pageInfo(pfn) };
    }
    for (const k of ['count', 'mapcount'] as const) {
      const d = e.page[k];
      if (!d) continue;
      if (!pg) {
        checks.push({ field: `page.${k}`, expected: d.kind === 'abs' ? `=${d.n}` : fmtDelta(d.n), actual: 'no page mapped', ok: false });
        continue;
      }
      const b = pg.before?.[k];
      const aft = pg.after?.[k];
      const res = applyDelta(d, b, aft);
      checks.push({ field: `page.${k}`, expected: res.expected, actual: actualDelta(d, b, aft), ok: res.ok });
    }
    for (const f of e.page.flags ?? []) {
      const have = pg?.after?.flags ?? [];
      checks.push({ field: 'page.flags', expected: f, actual: have, ok: have.includes(f) });
    }
  }
  if (e.rss) {
    for (const k of ['anon', 'file'] as const) {
      const d = e.rss[k];
      if (!d) continue;
      const res = applyDelta(d, obs.rssBefore[k], obs.rssAfter[k]);
      checks.push({ field: `rss.${k}`, expected: res.expected, actual: actualDelta(d, obs.rssBefore[k], obs.rssAfter[k]), ok: res.ok });
    }
  }
  for (const s of e.reports ?? []) {
    const ok = r.reports.some((x) => x.includes(s));
    checks.push({ field: 'reports', expected: s, actual: r.reports, ok });
  }
  if (e.noReports) checks.push({ field: 'noReports', expected: [], actual: r.reports, ok: r.reports.length === 0 });
  for (const f of e.vmaFlags ?? []) checks.push({ field: 'vmaFlags', expected: f, actual: obs.vma?.flags ?? 'no vma', ok: !!obs.vma?.flags.includes(f) });
  for (const f of e.vmaFlagsNot ?? []) checks.push({ field: 'vmaFlagsNot', expected: f, actual: obs.vma?.flags ?? 'no vma', ok: !!obs.vma && !obs.vma.flags.includes(f) });
  if (e.pgoff !== undefined) checks.push({ field: 'pgoff', expected: hexPfn(e.pgoff), actual: obs.vma ? hexPfn(obs.vma.pgoff) : 'no vma', ok: obs.vma?.pgoff === e.pgoff });
  if (e.value) {
    const mine = obs.pteAfter?.present ? m.mem.readGen(obs.pteAfter.pfn) : undefined;
    if (e.value.sameAs) {
      const other = contentAt(st, e.value.sameAs, step.task);
      checks.push({ field: 'value.sameAs', expected: other ?? 'no page', actual: mine ?? 'no page', ok: mine !== undefined && mine === other });
    }
    if (e.value.differsFrom) {
      const other = contentAt(st, e.value.differsFrom, step.task);
      checks.push({ field: 'value.differsFrom', expected: `≠ ${other ?? 'no page'}`, actual: mine ?? 'no page', ok: mine !== undefined && other !== undefined && mine !== other });
    }
  }
  if (e.freePages) {
    const res = applyDelta(e.freePages, obs.freePagesBefore, obs.freePagesAfter);
    checks.push({ field: 'freePages', expected: res.expected, actual: actualDelta(e.freePages, obs.freePagesBefore, obs.freePagesAfter), ok: res.ok });
  }
  if (e.pageTableBytes) {
    const res = applyDelta(e.pageTableBytes, obs.pageTableBytesBefore, obs.pageTableBytesAfter);
    checks.push({ field: 'pageTableBytes', expected: res.expected, actual: actualDelta(e.pageTableBytes, obs.pageTableBytesBefore, obs.pageTableBytesAfter), ok: res.ok });
  }
}

/** Finds a step by 1-based position or id. */
export function findStep(s: { steps: Step[] }, at: string): Step | undefined {
  if (/^\d+$/.test(at)) return s.steps[Number(at) - 1];
  return s.steps.find((x) => x.id === at);
}

export { ScenarioError };
