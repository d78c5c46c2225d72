// The explorer: every interleaving of the race steps, switching threads at the fault path's named
// lock windows (the same fault code `mixedmap run` runs, driven by Machine.beginAccess/stepAccess).
// Breadth-first over states, each state reached by replaying its shortest schedule on a fresh
// machine; states with the same key are merged (state hashing), so equivalent interleavings are
// explored once; the number of interleavings reaching each final state is counted over the graph.

import { startRun, runStep, type RunState, type Step } from '@mixedmap/scenario';
import { ACCESS_RETRY_WINDOW, PAGE_SIZE, type Machine, type OpResult, type Thread } from '@mixedmap/core';
import { evaluate, locationText, locations, truthy, type Expr, type Value } from './predicate.js';
import { stateKey } from './state.js';
import type { Litmus } from './litmus.js';

export interface ExploreOptions {
  /** longest schedule explored (moves); deeper paths are cut and the result says so */
  maxDepth?: number;
  /** most distinct states kept; beyond it the run is cut and says so */
  maxStates?: number;
  /** called now and then with the number of states seen */
  onProgress?: (states: number, frontier: number) => void;
  /** explore only the schedules that start with these moves (thread indices): a worker's share */
  firstMoves?: number[];
}

/** One move of the trace: a thread ran one atomic piece of a race step. */
export interface TraceMove {
  thread: string;
  step: string;
  /** the lock window the thread stopped at, or how the step ended */
  then: string;
  pteBefore: string;
  pteAfter: string;
}

export interface FinalState {
  /** location → value, for the condition's locations, `observe` and each thread's outcomes */
  values: Record<string, Value>;
  /** the condition's proposition holds in this state */
  holds: boolean;
  /** interleavings that end here */
  interleavings: number;
  /** a shortest schedule reaching it */
  trace: TraceMove[];
  oops: string | null;
  /** what the core's invariant checker finds in this state (counts, mapcounts, rss against the ptes): empty unless the race breaks the model's bookkeeping, as a kernel bug such as A5's double install does */
  violations: string[];
}

export interface ExploreResult {
  name: string;
  quantifier: string;
  condition: string;
  /** validated: exists → some state holds; ~exists → none; forall → all */
  ok: boolean;
  states: FinalState[];
  positive: number;
  negative: number;
  observation: 'Always' | 'Sometimes' | 'Never';
  interleavings: number;
  statesExplored: number;
  cut: string | null;
  /** the shortest trace to a state that violates the condition, or to an Oops */
  counterexample: { reason: string; trace: TraceMove[] } | null;
  elapsedMs: number;
}

/** A machine with its threads' progress through the race. */
class World {
  readonly st: RunState;
  readonly names: string[];
  readonly progs: Step[][];
  readonly pc: number[];
  readonly active: boolean[];
  readonly outcomes: string[][];
  readonly reports: string[] = [];

  constructor(readonly litmus: Litmus) {
    this.st = startRun(litmus.scenario);
    for (const s of litmus.init) {
      const r = runStep(this.st, s, { checkExpectations: false });
      // the litmus test's setup must run cleanly: an Oops there is the test's problem (bad input), shown with its call chain
      const oops = r.observation.result.outcome === 'oops' ? r.observation.result.oops : undefined;
      if (oops) throw litmus.scenario.locs.error(s.field, `initial step ${s.id ?? s.index + 1} (before the race) hit an Oops: ${oops.condition} (call chain: ${oops.chain.join(' → ')}); a litmus test's initial steps must run cleanly — list the step in race: to explore it`);
    }
    this.names = [...litmus.threads.keys()];
    this.progs = this.names.map((n) => litmus.threads.get(n)!);
    this.pc = this.names.map(() => 0);
    this.active = this.names.map(() => false);
    this.outcomes = this.names.map(() => []);
  }

  get machine(): Machine {
    return this.st.machine;
  }

  thread(i: number): Thread {
    return this.st.threads.get(this.names[i]!)!;
  }

  done(i: number): boolean {
    return !this.active[i] && this.pc[i]! >= this.progs[i]!.length;
  }

  allDone(): boolean {
    return this.names.every((_, i) => this.done(i));
  }

  /** A step that takes mmap_sem for write waits while a fault of its mm holds it for read. */
  enabled(i: number): boolean {
    if (this.done(i)) return false;
    if (this.active[i]) return true;
    const step = this.progs[i]![this.pc[i]!]!;
    const task = this.thread(i).task;
    if (!task.alive || !task.mm || !this.thread(i).alive) return true; // it will be skipped
    if (isAccess(step)) return true;
    return !this.takesMmapSemForWrite(step) || task.mm.mmapSemReaders === 0;
  }

  /** Whether another live thread of thread i's mm has, as its next step, one that takes mmap_sem for write. */
  private writerWaiting(i: number): boolean {
    const mm = this.thread(i).task.mm;
    return this.names.some((_, j) => {
      if (j === i || this.done(j) || this.active[j]) return false;
      const t = this.thread(j);
      return t.alive && t.task.alive && t.task.mm === mm && this.takesMmapSemForWrite(this.progs[j]![this.pc[j]!]!);
    });
  }

  /**
   * The ops that take mmap_sem for write. sys_madvise does for every advice in 2.6.19–2.6.21; from
   * 2.6.22 (madvise_need_mmap_write) not for DONTNEED, WILLNEED, REMOVE or the populate advice.
   */
  private takesMmapSemForWrite(step: Step): boolean {
    if (step.op === 'madvise') return this.machine.f.release <= 21 || !MADVISE_READ_LOCKED.has(String(step.args.advice));
    return WRITE_LOCKED.has(step.op);
  }

  address(step: Step): number {
    const a = step.args.addr as { sym?: string; offset: number; task?: string } | undefined;
    if (!a) return -1;
    if (a.sym === undefined) return a.offset;
    const base = this.st.symbols.get(a.task ?? step.task)?.get(a.sym);
    return base === undefined ? -1 : base + a.offset;
  }

  /** Runs one atomic piece of thread i; returns what happened. */
  move(i: number, trace?: TraceMove[]): void {
    const m = this.machine;
    const t = this.thread(i);
    const step = this.progs[i]![this.pc[i]!]!;
    const addr = this.address(step);
    const before = trace ? pteText(m, t, addr) : '';
    let then: string;
    if (!t.task.alive || !t.task.mm || !t.alive) {
      // the thread died (its own Oops), or its task did under it (an OOM kill while it sat in a window)
      if (this.active[i]) {
        m.abandonAccess(t);
        this.active[i] = false;
      }
      this.outcomes[i]!.push('dead');
      this.pc[i]!++;
      then = t.alive ? 'skipped (task is dead)' : 'skipped (thread is dead)';
    } else if (isAccess(step)) {
      if (!this.active[i]) {
        m.beginAccess(t, addr, step.op === 'write');
        this.active[i] = true;
      }
      let finished = m.stepAccess(t);
      // between a fault's return and the retry mmap_sem is free: a scheduling point only when a
      // thread of the same mm waits to take it for write (otherwise nothing can tell the difference)
      while (!finished && m.accessWindow(t) === ACCESS_RETRY_WINDOW && !this.writerWaiting(i)) finished = m.stepAccess(t);
      if (finished) {
        const r = m.accessResult(t);
        this.finish(i, r);
        then = describe(r);
      } else {
        then = `window: ${m.accessWindow(t)}`;
      }
    } else {
      const r = runStep(this.st, step, { checkExpectations: false }).observation.result;
      this.finish(i, r);
      then = describe(r);
    }
    trace?.push({ thread: this.names[i]!, step: stepLabel(step), then, pteBefore: before, pteAfter: pteText(m, t, addr) });
  }

  private finish(i: number, r: OpResult): void {
    this.active[i] = false;
    this.pc[i]!++;
    this.outcomes[i]!.push(r.outcome === 'error' ? r.errno ?? 'error' : r.outcome === 'oops' ? 'oops' : r.outcome);
    this.reports.push(...r.reports);
    if (r.outcome === 'oops') this.oops = `${r.oops!.condition} (${this.names[i]}: ${r.oops!.chain.join(' → ')})`;
  }

  oops: string | null = null;

  key(): string {
    const progress = this.names.map((_, i) => `${this.pc[i]}${this.active[i] ? '*' : ''}:${this.outcomes[i]!.join(',')}`).join(' ');
    return stateKey(this.machine, this.names.map((_, i) => this.thread(i)), `${progress} r${this.reports.length}`);
  }
}

// clone(CLONE_VM) is not among them: copy_mm only takes a reference on the mm
const WRITE_LOCKED = new Set(['mmap', 'munmap', 'mprotect', 'mlock', 'munlock', 'fork', 'exit']);
const MADVISE_READ_LOCKED = new Set(['dontneed', 'willneed', 'remove', 'populate_read', 'populate_write']);

function isAccess(step: Step): boolean {
  return step.op === 'read' || step.op === 'write';
}

function stepLabel(step: Step): string {
  const a = step.args.addr as { text?: string } | undefined;
  return `${step.id ?? `#${step.index + 1}`} ${step.op}${a?.text ? ' ' + a.text : ''}`;
}

function describe(r: OpResult): string {
  if (r.outcome === 'oops') return `Oops: ${r.oops!.condition}`;
  if (r.outcome === 'error') return `returned ${r.errno}`;
  const faults = r.faults.length ? ` after ${r.faults.map((f) => f.chain.slice(2).join('→') || f.chain.join('→')).join('; ')}` : '';
  return `${r.outcome}${r.ret !== undefined ? ` (ret ${r.ret})` : ''}${faults}`;
}

function pteText(m: Machine, t: Thread, addr: number): string {
  if (addr < 0 || !t.task.mm) return '';
  const p = m.readPte(t.task, addr);
  if (p.none) return 'none';
  return `pfn 0x${p.pfn.toString(16)}${p.write ? ' w' : ''}${p.dirty ? ' d' : ''}${p.special ? ' special' : ''}`;
}

interface Node {
  prefix: number[];
  key: string;
  children: string[];
  final: boolean;
  /** the world that discovered it, kept until the node is expanded (saves one replay) */
  world?: World;
}

/** Worlds kept for the frontier at most (each holds a machine). */
const CACHED_WORLDS = 512;

export function explore(litmus: Litmus, opts: ExploreOptions = {}): ExploreResult {
  const t0 = performance.now();
  const maxDepth = opts.maxDepth ?? 200;
  const maxStates = opts.maxStates ?? 200_000;
  const replay = (prefix: number[]): World => {
    const w = new World(litmus);
    for (const i of prefix) w.move(i);
    return w;
  };
  const start = opts.firstMoves ?? [];
  const root = replay(start);
  const nodes = new Map<string, Node>();
  const rootNode: Node = { prefix: [...start], key: root.key(), children: [], final: root.allDone() };
  nodes.set(rootNode.key, rootNode);
  let frontier: Node[] = [rootNode];
  let cut: string | null = null;
  while (frontier.length && !cut) {
    const next: Node[] = [];
    let cached = 0;
    for (const node of frontier) {
      if (node.final) continue;
      if (node.prefix.length >= maxDepth) {
        cut = `schedules longer than ${maxDepth} moves were cut (maxDepth)`;
        break;
      }
      const probe = node.world ?? replay(node.prefix);
      node.world = undefined;
      const enabled = probe.names.map((_, i) => i).filter((i) => probe.enabled(i));
      if (enabled.length === 0) throw new Error(`deadlock: no thread can move after ${node.prefix.length} moves`);
      for (const i of enabled) {
        const w = i === enabled[0] ? probe : replay(node.prefix);
        w.move(i);
        const key = w.key();
        if (!nodes.has(key)) {
          if (nodes.size >= maxStates) {
            cut = `more than ${maxStates} states (maxStates)`;
            break;
          }
          const child: Node = { prefix: [...node.prefix, i], key, children: [], final: w.allDone() };
          if (!child.final && cached < CACHED_WORLDS) {
            child.world = w;
            cached++;
          }
          nodes.set(key, child);
          next.push(child);
        }
        node.children.push(key);
      }
      if (cut) break;
    }
    opts.onProgress?.(nodes.size, next.length);
    frontier = next;
  }

  // interleavings reaching each node: count paths over the state graph in topological order
  const indeg = new Map<string, number>();
  for (const n of nodes.values()) for (const c of n.children) indeg.set(c, (indeg.get(c) ?? 0) + 1);
  const paths = new Map<string, number>([[rootNode.key, 1]]);
  const queue = [rootNode.key];
  while (queue.length) {
    const k = queue.shift()!;
    const n = nodes.get(k)!;
    for (const c of n.children) {
      paths.set(c, (paths.get(c) ?? 0) + paths.get(k)!);
      indeg.set(c, indeg.get(c)! - 1);
      if (indeg.get(c) === 0) queue.push(c);
    }
  }

  // observe every final state
  const locs = [...locations(litmus.condition.expr), ...litmus.observe.flatMap((o) => locations(o))];
  const grouped = new Map<string, FinalState>();
  for (const n of nodes.values()) {
    if (!n.final) continue;
    const trace: TraceMove[] = [];
    const w = new World(litmus);
    for (const i of n.prefix) w.move(i, trace);
    // before observeState: `leaked` makes every task exit
    const violations = w.machine.checkInvariants();
    const values = observeState(w, locs);
    const holds = truthy(evaluate(litmus.condition.expr, (l) => values[locationText(l)]!));
    const label = JSON.stringify(values);
    const g = grouped.get(label);
    const count = paths.get(n.key) ?? 0;
    if (g) {
      g.interleavings += count;
      if (trace.length < g.trace.length) g.trace = trace;
      g.violations = union(g.violations, violations);
    } else {
      grouped.set(label, { values, holds, interleavings: count, trace, oops: w.oops, violations });
    }
  }
  return summarize(litmus.scenario.name, litmus.condition.quantifier, litmus.condition.text, [...grouped.values()], nodes.size, cut, performance.now() - t0);
}

const union = (a: string[], b: string[]): string[] => (b.length ? [...new Set([...a, ...b])] : a);

/** Verdict, witnesses and counterexample of a set of final states (one exploration or merged parts). */
function summarize(name: string, q: string, condition: string, states: FinalState[], statesExplored: number, cut: string | null, elapsedMs: number): ExploreResult {
  const positive = states.filter((s) => s.holds).reduce((a, s) => a + s.interleavings, 0);
  const negative = states.filter((s) => !s.holds).reduce((a, s) => a + s.interleavings, 0);
  const ok = q === 'exists' ? positive > 0 : q === '~exists' ? positive === 0 : negative === 0;
  const violating = states.filter((s) => (q === '~exists' ? s.holds : q === 'forall' ? !s.holds : false));
  const shortest = (xs: FinalState[]) => xs.reduce<FinalState | null>((b, s) => (!b || s.trace.length < b.trace.length ? s : b), null);
  let counterexample: ExploreResult['counterexample'] = null;
  const v = shortest(violating);
  if (v) counterexample = { reason: `a final state ${q === '~exists' ? 'satisfies' : 'violates'} the condition`, trace: v.trace };
  else {
    const o = shortest(states.filter((s) => s.oops));
    if (o) counterexample = { reason: `Oops: ${o.oops}`, trace: o.trace };
  }
  return {
    name, quantifier: q, condition, ok, states, positive, negative,
    observation: positive === 0 ? 'Never' : negative === 0 ? 'Always' : 'Sometimes',
    interleavings: positive + negative, statesExplored, cut, counterexample, elapsedMs,
  };
}

/** The thread indices that can make the first move (a parallel run gives each to a worker). */
export function firstMoves(litmus: Litmus): number[] {
  const w = new World(litmus);
  return w.names.map((_, i) => i).filter((i) => w.enabled(i));
}

/**
 * Merges the results of explorations that each started with a different first move: the
 * interleavings partition by their first move, so counts add up; equal final states merge.
 */
export function mergeResults(parts: ExploreResult[]): ExploreResult {
  const first = parts[0]!;
  const byLabel = new Map<string, FinalState>();
  for (const p of parts) {
    for (const st of p.states) {
      const label = JSON.stringify(st.values);
      const g = byLabel.get(label);
      if (!g) byLabel.set(label, { ...st });
      else {
        g.interleavings += st.interleavings;
        if (st.trace.length < g.trace.length) g.trace = st.trace;
        g.violations = union(g.violations, st.violations);
      }
    }
  }
  const cut = parts.map((p) => p.cut).find((c) => c) ?? null;
  return summarize(first.name, first.quantifier, first.condition, [...byLabel.values()], parts.reduce((a, p) => a + p.statesExplored, 0), cut, Math.max(...parts.map((p) => p.elapsedMs)));
}

/** The values of the locations in a final state, each thread's outcomes, and leaks after every task exits. */
function observeState(w: World, locs: Expr[]): Record<string, Value> {
  const m = w.machine;
  const st = w.st;
  const addrOf = (arg: string): { task: ReturnType<typeof st.tasks.get>; addr: number } => {
    const mm = /^(?:([A-Za-z_][\w-]*):)?([A-Za-z_][\w-]*)?\s*(?:\+\s*(0x[0-9a-fA-F]+|\d+p?))?$|^(0x[0-9a-fA-F]+)$/.exec(arg)!;
    const taskName = mm[1] ?? w.litmus.scenario.tasks[0]!.name;
    const task = st.tasks.get(taskName);
    if (mm[4]) return { task, addr: Number(mm[4]) };
    const base = mm[2] ? st.symbols.get(taskName)?.get(mm[2]) ?? NaN : 0;
    const off = mm[3] ? (mm[3].endsWith('p') ? Number(mm[3].slice(0, -1)) * PAGE_SIZE : Number(mm[3])) : 0;
    return { task, addr: base + off };
  };
  const values: Record<string, Value> = {};
  let leaked: number | null = null;
  const deferred: Expr[] = [];
  for (const l of locs) {
    const name = locationText(l);
    if (name in values) continue;
    if (l.k === 'word') {
      if (l.v === 'leaked') {
        deferred.push(l);
        continue;
      }
      if (l.v === 'doubleInstall') values[name] = w.reports.some((r) => r.includes('doubleInstall'));
      else if (l.v === 'oops') values[name] = w.oops !== null;
      else if (l.v === 'free') values[name] = m.mem.freeCount();
      continue;
    }
    if (l.k !== 'call') continue;
    switch (l.fn) {
      case 'pte': {
        const { task, addr } = addrOf(l.arg);
        const p = task?.mm ? m.readPte(task, addr) : null;
        const f = l.field!;
        values[name] = !p ? (f === 'none' ? true : f === 'pfn' ? -1 : false) : (p[f as keyof typeof p] as Value);
        break;
      }
      case 'count':
      case 'mapcount': {
        const { task, addr } = addrOf(l.arg);
        const p = task?.mm ? m.readPte(task, addr) : null;
        const info = p && !p.none ? m.pageInfo(p.pfn) : null;
        values[name] = info ? (l.fn === 'count' ? info.count : info.mapcount) : -1;
        break;
      }
      case 'normal': {
        const { task, addr } = addrOf(l.arg);
        values[name] = task?.mm ? m.vmNormalPage(task, addr) >= 0 : false;
        break;
      }
      case 'rss': {
        const task = st.tasks.get(l.arg);
        values[name] = task ? m.rss(task)[l.field as 'anon' | 'file'] : 0;
        break;
      }
      case 'outcome': {
        const i = w.names.indexOf(l.arg);
        values[name] = i >= 0 ? w.outcomes[i]!.join(',') : 'none';
        break;
      }
      case 'oops': {
        const i = w.names.indexOf(l.arg);
        values[name] = i >= 0 && w.outcomes[i]!.includes('oops');
        break;
      }
      case 'reports':
        values[name] = w.reports.some((r) => r.includes(l.arg));
        break;
    }
  }
  w.names.forEach((n, i) => (values[`outcome(${n})`] ??= w.outcomes[i]!.join(',')));
  if (deferred.length) {
    for (const t of m.tasks) if (t.alive) m.exit(t);
    leaked = m.leaks().length;
    values.leaked = leaked;
  }
  return values;
}
