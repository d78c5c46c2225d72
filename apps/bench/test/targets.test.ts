// The target lines: a missed speedup says how far the memory floor (bench/floor.bench.ts) lets the
// model go, so that a reader can tell a slow model from an impossible target.
import { describe, expect, test } from 'vitest';
import type { BenchResult } from '../src/results.js';
import { evaluateTargets } from '../src/targets.js';

const M = 1 << 20;

function result(group: string, kind: string, order: 'seq' | 'rand', ns: number, kernelNs?: number): BenchResult {
  return {
    id: `${group}/${kind}/${order}`, package: '@mixedmap/bench', file: 'x', group, title: kind, unit: 'op', ops: 1, status: 'ok', samples: 1,
    tags: { arch: 'x86', kernel: '2.6.32', size: 4 * M, order, kind },
    nsPerOp: { median: ns, min: ns, max: ns }, metrics: {}, tables: [], charts: [],
    ...(kernelNs ? { kernel: { nsPerOp: kernelNs, speedup: kernelNs / ns } } : {}),
  };
}

describe('speedup targets', () => {
  test('a miss names the floor and the best speedup it allows; a pass does not', () => {
    const rs = [
      result('fault', 'fork', 'seq', 50, 200), // 4× < 10×: MISS
      result('fault', 'read-zero', 'seq', 50, 1000), // 20×: passes
      result('floor', 'fork-copy', 'seq', 25),
      result('floor', 'pte-store', 'seq', 20),
    ];
    const seq = evaluateTargets(rs).find((t) => t.id === 'speedup-seq')!;
    expect(seq.status).toBe('MISS');
    expect(seq.detail).toContain('fork 4.0× (floor 25.0 ns: at most 8.0×)');
    expect(seq.detail).toContain('read-zero 20.0×');
    expect(seq.detail).not.toContain('read-zero 20.0× (floor');
  });

  test('without floor results the line is as before', () => {
    const seq = evaluateTargets([result('fault', 'fork', 'seq', 50, 200)]).find((t) => t.id === 'speedup-seq')!;
    expect(seq.detail).toContain('fork 4.0×');
    expect(seq.detail).not.toContain('floor');
  });
});

describe('floors per kind', () => {
  test('exit is held to the struct-page floor, fork to fork-copy, gup to page-flags, faults to pte-store', () => {
    const rs = [
      result('fault', 'exit', 'rand', 100, 200),
      result('fault', 'fork', 'rand', 100, 200),
      result('fault', 'read-zero', 'rand', 100, 200),
      result('fault', 'gup', 'rand', 100, 200),
      result('floor', 'struct-page', 'rand', 80),
      result('floor', 'fork-copy', 'rand', 90),
      result('floor', 'pte-store', 'rand', 50),
      result('floor', 'page-flags', 'rand', 40),
    ];
    const rand = evaluateTargets(rs).find((t) => t.id === 'speedup-rand')!;
    expect(rand.detail).toContain('exit 2.0× (floor 80.0 ns: at most 2.5×)');
    expect(rand.detail).toContain('fork 2.0× (floor 90.0 ns: at most 2.2×)');
    expect(rand.detail).toContain('read-zero 2.0× (floor 50.0 ns: at most 4.0×)');
    expect(rand.detail).toContain('gup 2.0× (floor 40.0 ns: at most 5.0×)');
  });
});
