// --compare baseline.json: ns/op ratios against a saved run; a ratio above 1 + threshold is a regression.
import type { BenchResult, Comparison, ResultsFile } from './results.js';

export function compare(current: BenchResult[], baseline: ResultsFile, baselinePath: string, threshold: number): Comparison {
  const base = new Map(baseline.results.filter((r) => r.status === 'ok' && r.nsPerOp).map((r) => [r.id, r]));
  const cur = new Map(current.filter((r) => r.status === 'ok' && r.nsPerOp).map((r) => [r.id, r]));
  const rows = [];
  for (const [id, c] of cur) {
    const b = base.get(id);
    if (!b) continue;
    const ratio = c.nsPerOp!.median / b.nsPerOp!.median;
    rows.push({ id, baselineNs: b.nsPerOp!.median, currentNs: c.nsPerOp!.median, ratio, regression: ratio > 1 + threshold });
  }
  return {
    baseline: baselinePath,
    baselineCommit: baseline.run?.git?.commit ?? null,
    threshold,
    rows,
    regressions: rows.filter((r) => r.regression).length,
    onlyInBaseline: [...base.keys()].filter((id) => !cur.has(id)),
    onlyInCurrent: [...cur.keys()].filter((id) => !base.has(id)),
  };
}
