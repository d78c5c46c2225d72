// The contract between the harness and a benchmark file. A benchmark file is `bench/*.bench.ts` in
// any workspace package; its default export is a BenchFile. It imports packages by name
// (`@mixedmap/core`, …), never by a relative path into a package's src, so that every benchmark
// shares the one built copy of each package. Type-only imports of this file are fine from anywhere.

export type Order = 'seq' | 'rand';

export interface BenchOptions {
  /** --quick: every benchmark once, at small sizes (checks that they run, not their speed) */
  quick: boolean;
  /** worker threads for the multi-threaded benchmarks (default: the machine's cores) */
  threads: number;
  /** page counts for size-parameterised benchmarks (default 1M, 4M, 16M; --quick: 4K) */
  sizes: number[];
  /** URL of a worker script shipped by the bench app (dist/workers/NAME.js) */
  workerUrl(name: string): URL;
}

export interface BenchTags {
  arch?: string;
  kernel?: string;
  driver?: string;
  /** pages (or guests, …) the benchmark works on */
  size?: number;
  order?: Order;
  /** the operation measured (fault kind, …) */
  kind?: string;
}

export interface Table {
  title: string;
  columns: string[];
  rows: Array<Array<string | number>>;
}

/** An echarts option rendered to SVG on the server side (no browser build step). */
export interface ChartSpec {
  id: string;
  title: string;
  width?: number;
  height?: number;
  option: Record<string, unknown>;
}

/** What a self-measuring benchmark (`measure`) reports. */
export interface MeasureResult {
  /** per-sample ns per op (the harness computes median/min/max) */
  samplesNsPerOp?: number[];
  metrics?: Record<string, number | string | boolean>;
  tables?: Table[];
  charts?: ChartSpec[];
  /** status 'missing' with a reason: the thing measured does not exist yet (no numbers) */
  missing?: string;
}

export interface BenchCase<S = any> {
  /** unique within its file, e.g. 'fault/write-anon/x86/2.6.32/4M/seq' */
  id: string;
  /** 'fault', 'guests', 'zero-page', 'gup', 'explorer', 'vm_normal_page', … */
  group: string;
  title: string;
  tags?: BenchTags;
  /** what one op is: 'fault', 'pte', 'page', 'call', 'guest' */
  unit: string;
  /** ops in one sample */
  ops: number;
  /** timed samples (default 5; --quick: 1) */
  samples?: number;
  /** untimed warm-up runs before the samples (default 1; --quick: 0) */
  warmup?: number;
  /** a stand-in, dropped when another benchmark file provides a case with the same id (src/hooks.ts) */
  placeholder?: boolean;
  /** in the default suite (`pnpm bench`); others run with --all or when a filter names them */
  default?: boolean;
  /** before every sample, untimed */
  setup?: () => S | Promise<S>;
  /** one timed sample of `ops` operations */
  run?: (state: S) => void;
  /** extra figures after the last sample (model bytes per page, …), untimed */
  metrics?: (state: S) => Record<string, number | string | boolean>;
  /** after every sample, untimed */
  teardown?: (state: S) => void;
  /** a benchmark that measures itself (worker threads, arithmetic tables) instead of setup/run */
  measure?: () => Promise<MeasureResult> | MeasureResult;
  /** the same operation on the live Linux kernel (native/mm-fault-bench.c) */
  kernel?: { kind: string; order: Order; pages: number };
}

export interface BenchFile {
  benchmarks(opts: BenchOptions): BenchCase[];
}

export function defineBenchFile(f: BenchFile): BenchFile {
  return f;
}
