// The live side: finds the executor, runs a program through it, and reads its JSON lines back into
// the same per-page views the model side produces.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Plan } from './plan.js';
import type { PageView, SideStep, TaskView } from './model.js';

/** Where the package build puts the executor (the same path from src/ and from dist/). */
export function defaultExecutorPath(): string {
  return process.env.MIXEDMAP_EXECUTOR || fileURLToPath(new URL('../dist/mixedmap-executor', import.meta.url));
}

export function executorAvailable(path = defaultExecutorPath()): boolean {
  return existsSync(path);
}

export class ExecutorError extends Error {}

export interface ExecutorHeader {
  executor: number;
  kernel: string;
  root: boolean;
  pfns: boolean;
  zeroPfn: number;
  cpu: number;
  limit: number;
  timeout: number;
}

export interface RawPage extends Array<number> {
  /** [present, exclusive, file, pfn, zero, anon, mlocked, thp, count]; -1 = unknown */
  length: 9;
}

export interface RawStep {
  step: number;
  task: number;
  op: string;
  outcome: string;
  errno: number;
  errname: string;
  ret: number;
  minflt: number;
  value: number;
  tasks: Array<{ task: number; maps: Array<{ mid: number; addr: string; pages: number[][] }> }>;
  fatal?: string;
}

export interface ExecutorRun {
  header: ExecutorHeader;
  raw: RawStep[];
  /** steps by scenario step index */
  steps: Map<number, SideStep>;
  /** a fatal problem the executor reported (timeout, a task that died) */
  fatal?: string;
  stderr: string;
}

export interface SpawnOptions {
  executor?: string;
  /** per-step timeout in seconds (default 5) */
  stepTimeout?: number;
  limit?: number;
}

/** Runs a program; resolves with the parsed output (rejects when the executor refuses the program). */
export function runExecutor(program: string, plan: Plan, opts: SpawnOptions = {}): Promise<ExecutorRun> {
  const path = opts.executor ?? defaultExecutorPath();
  const stepTimeout = opts.stepTimeout ?? 5;
  const args = opts.limit !== undefined ? ['--limit', String(opts.limit)] : [];
  const wall = (stepTimeout * (plan.steps.length + 2) + 10) * 1000;
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, wall);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new ExecutorError(`cannot run the executor ${path}: ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) return reject(new ExecutorError(`the executor did not finish within ${wall / 1000} s and was killed`));
      const lines = out.split('\n').filter((l) => l.trim());
      let parsed: Array<Record<string, unknown>>;
      try {
        parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      } catch {
        return reject(new ExecutorError(`the executor printed something that is not JSON (status ${code}): ${out.slice(0, 400)}`));
      }
      const bad = parsed.find((p) => typeof p.error === 'string');
      if (bad) return reject(new ExecutorError(`the executor refused the program: ${bad.error as string}`));
      const header = parsed.find((p) => p.executor !== undefined) as unknown as ExecutorHeader | undefined;
      if (!header) return reject(new ExecutorError(`no header from the executor (status ${code}): ${err || out}`.slice(0, 600)));
      const raw = parsed.filter((p) => typeof p.step === 'number') as unknown as RawStep[];
      const fatal = parsed.filter((p) => typeof p.fatal === 'string').map((p) => p.fatal as string).join('; ') || undefined;
      const steps = new Map<number, SideStep>();
      for (const r of raw) steps.set(r.step, toSideStep(r, plan, header));
      resolve({ header, raw, steps, ...(fatal ? { fatal } : {}), stderr: err });
    });
    child.stdin.on('error', () => {
      /* the executor may exit before reading everything (a refused program) */
    });
    child.stdin.end(program);
  });
}

function toSideStep(r: RawStep, plan: Plan, h: ExecutorHeader): SideStep {
  const outcome = r.outcome === 'error' ? r.errname || `errno ${r.errno}` : r.outcome;
  const tasks: TaskView[] = (r.tasks ?? []).map((t) => ({
    task: plan.tasks[t.task] ?? `#${t.task}`,
    tid: t.task,
    maps: t.maps.map((mp) => ({
      mid: mp.mid,
      pages: mp.pages.map((p): PageView => {
        const [present, excl, , pfn, zero, anon, mlocked] = p as [number, number, number, number, number, number, number];
        if (!present) return { present: false, exclusive: false, zero: false, pfn: null, anon: null, mlocked: null };
        const havePfn = h.pfns && pfn > 0;
        return {
          present: true,
          exclusive: excl === 1,
          zero: zero >= 0 ? zero === 1 : havePfn ? pfn === h.zeroPfn : null,
          pfn: havePfn ? pfn : null,
          anon: anon >= 0 ? anon === 1 : null,
          mlocked: mlocked >= 0 ? mlocked === 1 : null,
        };
      }),
    })),
  }));
  return { outcome, faults: r.minflt, tasks };
}
