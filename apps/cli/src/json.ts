// The stable JSON form of a run (`mixedmap run --json`), documented in docs/cli.md.
// Bump JSON_FORMAT_VERSION on any incompatible change.

import type { ScenarioResult, StepResult } from '@mixedmap/scenario';
import type { PteInfo } from '@mixedmap/core';

export const JSON_FORMAT_VERSION = 1;

/** core's PteInfo without the raw words, and no pfn unless the pte is present */
export type JsonPte = Omit<PteInfo, 'lo' | 'hi' | 'pfn'> & { pfn: number | null };

const pte = (p: PteInfo | undefined): JsonPte | null => {
  if (!p) return null;
  const { lo: _lo, hi: _hi, pfn, ...bits } = p;
  return { ...bits, pfn: p.present ? pfn : null };
};

const ba = (before: number | undefined, after: number | undefined) => ({ before: before ?? null, after: after ?? null });

/** JSON can't hold undefined or functions; checks carry plain values already. */
function plain(v: unknown): unknown {
  if (v === undefined) return null;
  if (v && typeof v === 'object' && 'text' in (v as object) && 'offset' in (v as object)) return (v as { text: string }).text;
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

export function stepJson(r: StepResult) {
  const { step, observation: o } = r;
  const res = o.result;
  return {
    index: step.index + 1,
    id: step.id ?? null,
    op: step.op,
    task: step.task,
    thread: step.thread,
    args: plain(step.args) as Record<string, unknown>,
    addr: o.addr ?? null,
    outcome: o.outcome,
    ret: res.ret ?? null,
    errno: res.errno ?? null,
    detail: res.detail ?? null,
    value: res.value ?? null,
    faults: res.faults.map((f) => ({ address: f.address, write: f.write, chain: [...f.chain], result: f.result })),
    oops: res.oops ? { condition: res.oops.condition, chain: [...res.oops.chain] } : null,
    reports: [...res.reports],
    pte: { before: pte(o.pteBefore), after: pte(o.pteAfter) },
    normalPage: o.normalPage ?? null,
    page: o.page
      ? {
          pfn: o.page.pfn,
          count: ba(o.page.before?.count, o.page.after?.count),
          mapcount: ba(o.page.before?.mapcount, o.page.after?.mapcount),
          flags: o.page.after?.flags ?? [],
        }
      : null,
    rss: { anon: ba(o.rssBefore.anon, o.rssAfter.anon), file: ba(o.rssBefore.file, o.rssAfter.file) },
    freePages: ba(o.freePagesBefore, o.freePagesAfter),
    vma: o.vma ?? null,
    violations: [...o.violations],
    error: o.error ?? null,
    checks: r.checks.map((c) => ({ field: c.field, expected: plain(c.expected), actual: plain(c.actual), ok: c.ok })),
    passed: r.passed,
  };
}

export function scenarioJson(r: ScenarioResult) {
  return {
    name: r.name,
    file: r.file,
    machine: { arch: r.machine.arch, kernel: r.machine.kernel },
    passed: r.passed,
    expectLeaks: r.expectLeaks,
    leaks: [...r.leaks],
    violations: [...r.violations],
    steps: r.steps.map(stepJson),
  };
}

export function runJson(results: ScenarioResult[], tool: string) {
  const checks = results.flatMap((r) => r.steps.flatMap((s) => s.checks));
  return {
    format: JSON_FORMAT_VERSION,
    tool,
    passed: results.every((r) => r.passed),
    summary: {
      scenarios: results.length,
      passed: results.filter((r) => r.passed).length,
      failed: results.filter((r) => !r.passed).length,
      steps: results.reduce((n, r) => n + r.steps.length, 0),
      checks: checks.length,
      failedChecks: checks.filter((c) => !c.ok).length,
    },
    scenarios: results.map(scenarioJson),
  };
}
