// The model side: runs the scenario's steps on the model (the scenario's machine, kernel "6.x")
// and takes, after every step, the same per-page snapshot the executor takes on the live kernel.

import { PAGE_SIZE, defineDriver, type Driver, type Inode, type Machine, type OpResult } from '@mixedmap/core';
import { startRun, runStep, type LoadedScenario, type RunState, type Step } from '@mixedmap/scenario';
import type { Plan, PlannedStep } from './plan.js';

/** One page of one mapping of one task, as either side sees it. */
export interface PageView {
  present: boolean;
  /** mapped by exactly one pte (pagemap bit 56 / page_mapcount == 1) */
  exclusive: boolean;
  /** the shared zero page (null: unknown, e.g. no pfns without root) */
  zero: boolean | null;
  /** raw frame number (null when unknown); normalised before comparing */
  pfn: number | null;
  anon: boolean | null;
  mlocked: boolean | null;
}

export interface MappingView {
  mid: number;
  pages: PageView[];
}

export interface TaskView {
  task: string;
  tid: number;
  maps: MappingView[];
}

export interface SideStep {
  /** ok, SIGSEGV, SIGBUS, an errno name, timeout */
  outcome: string;
  /** faults that completed (model: fault records that did not fail; kernel: ru_minflt delta) */
  faults: number;
  tasks: TaskView[];
  /** why the step could not run at all (model error), if so */
  error?: string;
}

const FAILED_FAULT = /SIGBUS|OOM|HWPOISON|SIGSEGV/;

function completedFaults(r: OpResult): number {
  return r.faults.filter((f) => !FAILED_FAULT.test(f.result)).length;
}

function outcomeOf(r: OpResult): string {
  if (r.outcome === 'error' || (r.outcome === 'ok' && r.ret !== undefined && r.ret < 0)) return r.errno ?? 'error';
  return r.outcome;
}

export interface ModelRun {
  steps: SideStep[];
  /** the model's address of each mapping (executor hints) */
  addrs: Array<number | undefined>;
  kernel: string;
  zeroPfn: number;
}

const EMPTY: OpResult = { outcome: 'ok', faults: [], reports: [] };

/**
 * /dev/zero for private mappings (drivers/char/mem.c mmap_zero, every release; modern: vma_set_anonymous):
 * the vma is anonymous for the fault path (no vm_ops) but keeps /dev/zero as its vm_file, so
 * is_mergeable_vma never merges it with a real anonymous vma, nor with a mapping of another open of
 * /dev/zero (each `file: /dev/zero` step is its own open). Shared /dev/zero mappings are shmem
 * (shmem_zero_setup) and run as shared anonymous mappings (runOne).
 */
const devZero: Driver<Record<string, unknown>, { inode?: Inode }> = defineDriver<Record<string, unknown>, { inode?: Inode }>({
  name: 'oracle-dev-zero',
  paths: () => ['/dev/zero'],
  init: () => ({}),
  lookup: (k, state): Inode => (state.inode ??= k.newInode(devZero, '/dev/zero', 0, null)),
  mmap: () => 0,
});

/** Runs the plan's steps on the model. */
export function runModel(s: LoadedScenario, plan: Plan): ModelRun {
  const st = startRun({ ...s, plugins: { ...s.plugins, drivers: [...s.plugins.drivers, { driver: devZero, settings: {} }] } } as LoadedScenario);
  const m = st.machine;
  // per task: mapping id → address in that task's mm
  const tables = new Map<string, Map<number, number>>(plan.tasks.slice(0, s.tasks.length).map((t) => [t, new Map()]));
  const addrs: Array<number | undefined> = [];
  const steps: SideStep[] = [];
  for (const ps of plan.steps) {
    const task = st.tasks.get(ps.step.task);
    let r: OpResult = EMPTY;
    let error: string | undefined;
    try {
      r = runOne(st, ps);
    } catch (e) {
      error = (e as Error).message;
    }
    if (ps.op === 'mmap' && r.outcome === 'ok' && (r as { addr?: number }).addr !== undefined && ps.mid !== undefined) {
      const addr = (r as { addr?: number }).addr!;
      tables.get(ps.step.task)!.set(ps.mid, addr);
      addrs[ps.mid] = addr;
    }
    if (ps.op === 'fork' && st.tasks.has(ps.step.args.child as string)) {
      tables.set(ps.step.args.child as string, new Map(tables.get(ps.step.task)));
    }
    if (ps.op === 'munmap' && ps.ref && r.outcome === 'ok' && !(r.ret! < 0)) {
      const len = plan.mappings[ps.ref.mid]!.length;
      if (ps.ref.off === 0 && (ps.step.args.length as number) >= len) tables.get(ps.step.task)?.delete(ps.ref.mid);
    }
    void task;
    // a step on a symbol whose mmap failed: the executor fails it with EFAULT before touching
    // anything (addr_of: the mapping was never made), so the model side says the same
    const unbound = error !== undefined && / is not bound in task /.test(error);
    steps.push({
      outcome: unbound ? 'EFAULT' : error ? 'error' : outcomeOf(r),
      faults: completedFaults(r),
      tasks: snapshot(m, st, plan, tables),
      ...(error && !unbound ? { error } : {}),
    });
  }
  return { steps, addrs, kernel: s.machine.kernel, zeroPfn: m.zeroPfn };
}

function runOne(st: RunState, ps: PlannedStep): OpResult {
  const step = ps.step;
  if (ps.op === 'mmap' && ps.fid === 'zero' && (step.args.flags as string[]).includes('shared')) {
    // shared /dev/zero: the kernel makes it shmem (shmem_zero_setup), a shared anonymous mapping;
    // a private one maps /dev/zero itself (devZero)
    const args: Record<string, unknown> = { ...step.args, flags: [...(step.args.flags as string[]), 'anonymous'] };
    delete args.file;
    delete args.mode;
    return runNative(st, { ...step, args });
  }
  return runNative(st, step);
}

function runNative(st: RunState, step: Step): OpResult {
  const r = runStep(st, step, { checkExpectations: false });
  if (r.observation.error) throw new Error(r.observation.error);
  return { ...r.observation.result, ...(r.observation.addr !== undefined && step.op === 'mmap' ? { addr: r.observation.addr } : {}) } as OpResult;
}

/** Every live task's mappings, page by page. */
function snapshot(m: Machine, st: RunState, plan: Plan, tables: Map<string, Map<number, number>>): TaskView[] {
  const out: TaskView[] = [];
  plan.tasks.forEach((name, tid) => {
    const task = st.tasks.get(name);
    const table = tables.get(name);
    if (!task || !task.mm || !task.alive || !table) return;
    const maps: MappingView[] = [];
    for (const mp of plan.mappings) {
      const base = table.get(mp.mid);
      if (base === undefined) continue;
      const pages: PageView[] = [];
      for (let off = 0; off < mp.length; off += PAGE_SIZE) {
        const p = m.readPte(task, base + off);
        if (!p.present) {
          pages.push({ present: false, exclusive: false, zero: false, pfn: null, anon: null, mlocked: null });
          continue;
        }
        const zero = p.pfn === m.zeroPfn;
        const normal = m.vmNormalPage(task, base + off);
        const info = normal >= 0 ? m.pageInfo(normal) : null;
        pages.push({
          present: true,
          exclusive: !zero && info !== null && info.mapcount === 1,
          zero,
          pfn: p.pfn,
          anon: info ? info.anon : false,
          mlocked: info ? info.flags.includes('mlocked') : false,
        });
      }
      maps.push({ mid: mp.mid, pages });
    }
    out.push({ task: name, tid, maps });
  });
  return out;
}
