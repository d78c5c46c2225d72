// runOracle: plan → model → executor → per-step comparison, like klitmus7 for the fault path.

import type { LoadedScenario } from '@mixedmap/scenario';
import { planScenario, programText, DEFAULT_LIMIT, type Plan } from './plan.js';
import { runModel, type SideStep, type TaskView } from './model.js';
import { runExecutor, defaultExecutorPath, executorAvailable, ExecutorError, type ExecutorHeader } from './executor.js';

export interface OracleOptions {
  /** total bytes the scenario may map (default 1 GiB) */
  limit?: number;
  /** the executor binary (default: dist/mixedmap-executor of this package, or $MIXEDMAP_EXECUTOR) */
  executor?: string;
  /** per-step timeout in seconds (default 5) */
  stepTimeout?: number;
}

/** One difference between the model and the kernel at one step. */
export interface Difference {
  /** outcome | faults | tasks | present | zero | exclusive | mlocked | frame */
  facet: string;
  /** where: "p:m+1p" for a page, "" for the step */
  where: string;
  model: string;
  kernel: string;
}

export interface OracleStep {
  index: number;
  id: string | null;
  op: string;
  task: string;
  model: SideStep;
  kernel: SideStep | null;
  /** frame labels per task/mapping/page (".", "Z", "1", "1x" = frame 1 mapped once, "1xL" = and PG_mlocked) */
  modelPages: Record<string, string[]>;
  kernelPages: Record<string, string[]>;
  differences: Difference[];
  agree: boolean;
}

export interface OracleResult {
  name: string;
  file: string;
  live: { kernel: string; root: boolean; pfns: boolean; cpu: number };
  model: { kernel: string };
  steps: OracleStep[];
  agree: boolean;
  notes: string[];
  /** a fatal executor problem (a step that timed out, a task that died) */
  fatal?: string;
}

export class OracleUnavailable extends Error {}

/** Why the oracle cannot run on this machine at all, or null. */
export function oracleUnavailable(executor = defaultExecutorPath()): string | null {
  if (process.platform !== 'linux') return `mixedmap oracle needs a Linux kernel to compare with; this is ${process.platform}`;
  if (!executorAvailable(executor)) {
    return `the oracle's executor is missing (${executor}): it is built with the system C compiler by the @mixedmap/oracle build (cc -O2 -o dist/mixedmap-executor native/executor.c); install a C compiler and rebuild (pnpm --filter @mixedmap/oracle build), or build it by hand: cc -O2 -o <package>/dist/mixedmap-executor <package>/dist/executor.c`;
  }
  return null;
}

/** Runs a loaded scenario on the model and on the live kernel and compares them step by step. */
export async function runOracle(s: LoadedScenario, opts: OracleOptions = {}): Promise<OracleResult> {
  const plan = planScenario(s, { limit: opts.limit ?? DEFAULT_LIMIT }); // ScenarioError before anything runs
  const why = oracleUnavailable(opts.executor);
  if (why) throw new OracleUnavailable(why);
  const model = runModel(s, plan);
  const stepTimeout = opts.stepTimeout ?? 5;
  const program = programText(plan, model.addrs, stepTimeout);
  let live;
  try {
    live = await runExecutor(program, plan, { executor: opts.executor ?? defaultExecutorPath(), stepTimeout, limit: plan.limit });
  } catch (e) {
    if (e instanceof ExecutorError) throw e;
    throw e;
  }
  return compareRuns(s, plan, model.steps, model.kernel, live.header, live.steps, live.fatal);
}

/**
 * A mapping's name in the tables: its `as:` symbol, with the 1-based step that mapped it when the
 * scenario binds that symbol more than once (two live mappings must never share a row).
 */
function mapName(plan: Plan, s: LoadedScenario, mid: number): string {
  const stepIndex = plan.mappings[mid]!.step;
  const as = s.steps[stepIndex]!.args.as as string | undefined;
  if (as === undefined) return `#${mid}`;
  const bound = plan.mappings.filter((m) => s.steps[m.step]!.args.as === as).length;
  return bound > 1 ? `${as}@${stepIndex + 1}` : as;
}

/** Frame labels of one side at one step: tasks by id, mappings by id, pages in order. */
function labels(plan: Plan, s: LoadedScenario, tasks: TaskView[], pfnsKnown: boolean): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const ids = new Map<number, number>();
  const count = new Map<number, number>();
  for (const t of tasks) for (const mp of t.maps) for (const p of mp.pages) if (p.present && !p.zero && p.pfn !== null) count.set(p.pfn, (count.get(p.pfn) ?? 0) + 1);
  for (const t of [...tasks].sort((a, b) => a.tid - b.tid)) {
    for (const mp of [...t.maps].sort((a, b) => a.mid - b.mid)) {
      out[`${t.task}:${mapName(plan, s, mp.mid)}`] = mp.pages.map((p) => {
        if (!p.present) return '.';
        if (p.zero) return 'Z';
        const flags = `${p.exclusive ? 'x' : ''}${p.mlocked ? 'L' : ''}`;
        if (!pfnsKnown || p.pfn === null) return `?${flags}`;
        if (!ids.has(p.pfn)) ids.set(p.pfn, ids.size + 1);
        return `${ids.get(p.pfn)}${flags}`;
      });
    }
  }
  return out;
}

const yn = (b: boolean | null): string => (b === null ? 'unknown' : b ? 'yes' : 'no');

export function compareRuns(
  s: LoadedScenario, plan: Plan, model: SideStep[], modelKernel: string, header: ExecutorHeader, kernel: Map<number, SideStep>, fatal?: string,
): OracleResult {
  const notes: string[] = [];
  const pfns = header.pfns;
  if (!header.root || !pfns) notes.push('not running as root: the live pfns (and so the zero-page, PG_mlocked and frame-sharing checks) are not visible; present, exclusive, fault counts and signals are still compared');
  const steps: OracleStep[] = plan.steps.map((ps, i) => {
    const m = model[i]!;
    const k = kernel.get(ps.step.index) ?? null;
    const diffs: Difference[] = [];
    const mp = labels(plan, s, m.tasks, true);
    const kp = k ? labels(plan, s, k.tasks, pfns) : {};
    if (!k) {
      diffs.push({ facet: 'step', where: '', model: m.outcome, kernel: 'did not run' });
    } else {
      if (m.outcome !== k.outcome) diffs.push({ facet: 'outcome', where: '', model: m.outcome, kernel: k.outcome });
      if (ps.op !== 'fork' && m.faults !== k.faults) diffs.push({ facet: 'faults', where: '', model: String(m.faults), kernel: String(k.faults) });
      const mt = m.tasks.map((t) => t.task).join(',');
      const kt = k.tasks.map((t) => t.task).join(',');
      if (mt !== kt) diffs.push({ facet: 'tasks', where: '', model: mt || 'none', kernel: kt || 'none' });
      for (const key of new Set([...Object.keys(mp), ...Object.keys(kp)])) {
        const a = mp[key];
        const b = kp[key];
        if (!a || !b) {
          diffs.push({ facet: 'mapping', where: key, model: a ? 'mapped' : 'not mapped', kernel: b ? 'mapped' : 'not mapped' });
          continue;
        }
        const [tname, mname] = key.split(':') as [string, string];
        const view = (side: TaskView[]) => side.find((t) => t.task === tname)!.maps.find((x) => mapName(plan, s, x.mid) === mname)!;
        const mv = view(m.tasks);
        const kv = view(k.tasks);
        for (let pg = 0; pg < Math.max(a.length, b.length); pg++) {
          const where = `${key}${pg ? `+${pg}p` : ''}`;
          const x = mv.pages[pg];
          const y = kv.pages[pg];
          if (!x || !y) continue;
          if (x.present !== y.present) {
            diffs.push({ facet: 'present', where, model: yn(x.present), kernel: yn(y.present) });
            continue;
          }
          if (!x.present) continue;
          if (y.zero !== null && x.zero !== y.zero) {
            diffs.push({ facet: 'zero', where, model: yn(x.zero), kernel: yn(y.zero) });
            continue;
          }
          if (x.exclusive !== y.exclusive) diffs.push({ facet: 'exclusive', where, model: yn(x.exclusive), kernel: yn(y.exclusive) });
          // PG_mlocked (kpageflags bit 33, root only); the executor drains the CPU's mlock batch first
          if (!x.zero && y.mlocked !== null && x.mlocked !== y.mlocked) diffs.push({ facet: 'mlocked', where, model: yn(x.mlocked), kernel: yn(y.mlocked) });
          if (pfns && a[pg] !== b[pg] && a[pg]!.replace(/[xL]/g, '') !== b[pg]!.replace(/[xL]/g, '')) {
            diffs.push({ facet: 'frame', where, model: a[pg]!, kernel: b[pg]! });
          }
        }
      }
    }
    return {
      index: ps.step.index,
      id: ps.step.id ?? null,
      op: ps.op,
      task: ps.step.task,
      model: m,
      kernel: k,
      modelPages: mp,
      kernelPages: kp,
      differences: diffs,
      agree: diffs.length === 0,
    };
  });
  if (fatal) notes.push(`executor: ${fatal}`);
  return {
    name: s.name,
    file: s.file,
    live: { kernel: header.kernel, root: header.root, pfns, cpu: header.cpu },
    model: { kernel: modelKernel },
    steps,
    agree: steps.every((x) => x.agree) && !fatal,
    notes,
    ...(fatal ? { fatal } : {}),
  };
}

/** The result as text: per step model vs kernel and a verdict. */
export function renderOracle(r: OracleResult): string {
  const L: string[] = [];
  L.push(`${r.name}  (${r.file})`);
  L.push(`  model: kernel ${r.model.kernel}   live: Linux ${r.live.kernel}${r.live.root ? ', root' : ', not root'}, pinned to cpu ${r.live.cpu}`);
  for (const n of r.notes) L.push(`  note: ${n}`);
  for (const st of r.steps) {
    const head = `  ${String(st.index + 1).padStart(3)} ${st.id ? `${st.id} ` : ''}[${st.task}] ${st.op}`;
    const mk = `model ${st.model.outcome}, ${st.model.faults} fault${st.model.faults === 1 ? '' : 's'}`;
    const kk = st.kernel ? `kernel ${st.kernel.outcome}, ${st.kernel.faults} fault${st.kernel.faults === 1 ? '' : 's'}` : 'kernel: did not run';
    L.push(`${head.padEnd(34)} ${mk.padEnd(26)} ${kk.padEnd(27)} ${st.agree ? 'agree' : 'DISAGREE'}`);
    for (const key of new Set([...Object.keys(st.modelPages), ...Object.keys(st.kernelPages)])) {
      const a = (st.modelPages[key] ?? []).join(' ');
      const b = (st.kernelPages[key] ?? []).join(' ');
      if (a === b) L.push(`        ${key.padEnd(14)} ${a}`);
      else {
        L.push(`        ${key.padEnd(14)} model:  ${a || '(not mapped)'}`);
        L.push(`        ${''.padEnd(14)} kernel: ${b || '(not mapped)'}`);
      }
    }
    for (const d of st.differences) L.push(`        ✗ ${d.facet}${d.where ? ` at ${d.where}` : ''}: model ${d.model}, kernel ${d.kernel}`);
  }
  L.push(`  verdict: ${r.agree ? 'the model agrees with the live kernel' : 'DISAGREEMENT between the model and the live kernel'}`);
  L.push('  (pages: . not present, Z zero page, N frame N (same N = same frame), x = mapped once (exclusive), L = PG_mlocked)');
  return L.join('\n');
}
