// The JSON results file (results.json): what ran, where, and what it measured.

import type { BenchTags, ChartSpec, Table } from './api.js';

export const RESULTS_SCHEMA = 'mixedmap-bench/1';

export interface Stat {
  median: number;
  min: number;
  max: number;
}

export interface KernelColumn {
  /** ns per op on the live kernel (median of the C program's repetitions) */
  nsPerOp?: number;
  min?: number;
  max?: number;
  /** pages the C program used (capped: the live kernel needs real RAM for every page) */
  pages?: number;
  reps?: number;
  /** getrusage minor faults per page in the timed loop (1.0 for fault kinds) */
  minfltPerOp?: number;
  /** model ns/op ÷ kernel ns/op … here kernel ÷ model: how many times faster the model is */
  speedup?: number;
  /** why there is no kernel figure (no C compiler, not Linux, the program failed) */
  missing?: string;
}

export interface BenchResult {
  id: string;
  package: string;
  file: string;
  group: string;
  title: string;
  tags: BenchTags;
  unit: string;
  ops: number;
  status: 'ok' | 'error' | 'missing';
  reason?: string;
  /** the worker thread it ran in, a fresh V8 isolate of its own (0: the harness's thread, --in-process) */
  threadId?: number;
  samples: number;
  nsPerOp?: Stat;
  opsPerSec?: number;
  sampleMs?: Stat;
  /** process memory after the samples (peak): V8 heap used, ArrayBuffer bytes, RSS */
  memory?: { heapUsed: number; arrayBuffers: number; rss: number };
  /** share of the timed samples spent in GC (PerformanceObserver 'gc' entries) */
  gcShare?: number;
  wallMs?: number;
  metrics: Record<string, number | string | boolean>;
  kernel?: KernelColumn;
  tables: Table[];
  charts: ChartSpec[];
}

export interface Target {
  id: string;
  description: string;
  status: 'PASS' | 'MISS' | 'N/A';
  /** the measured value(s) behind the verdict */
  detail: string;
}

export interface RunInfo {
  schema: string;
  startedAt: string;
  durationMs: number;
  command: string[];
  quick: boolean;
  git: { commit: string | null; dirty: boolean | null };
  node: { version: string; v8: string };
  machine: {
    platform: string;
    arch: string;
    kernel: string;
    cpus: number;
    cpuModel: string;
    memoryBytes: number;
    hostname: string;
  };
  nativeProgram: { built: boolean; compiler?: string; missing?: string };
}

export interface ResultsFile {
  run: RunInfo;
  results: BenchResult[];
  targets: Target[];
  /** --compare: ratios against a baseline */
  comparison?: Comparison;
}

export interface ComparisonRow {
  id: string;
  baselineNs: number;
  currentNs: number;
  /** current ÷ baseline ns/op: > 1 is slower */
  ratio: number;
  regression: boolean;
}

export interface Comparison {
  baseline: string;
  baselineCommit: string | null;
  threshold: number;
  rows: ComparisonRow[];
  regressions: number;
  onlyInBaseline: string[];
  onlyInCurrent: string[];
}
