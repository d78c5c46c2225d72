// Runs one benchmark in a worker thread of its own: a fresh V8 isolate, like JMH's forks. In one
// isolate, the benchmarks before a fault row (vm_normal_page's loops, the explorer's many machines)
// left their type feedback in the shared fault path, and the x86 read → zero-page fault measured
// ~85 ns after them against ~50 ns alone. The worker imports only the benchmark's own file.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import type { BenchFile, BenchOptions } from '../api.js';
import { runCase } from '../runner.js';

export interface CaseJob {
  module: string;
  id: string;
  quick: boolean;
  samples: number | undefined;
  threads: number;
  sizes: number[];
  workerDir: string;
}

const job = workerData as CaseJob;
const opts: BenchOptions = {
  quick: job.quick,
  threads: job.threads,
  sizes: job.sizes,
  workerUrl: (name) => pathToFileURL(join(job.workerDir, `${name}.js`)),
};
const mod = (await import(job.module)) as { default: BenchFile };
const c = mod.default.benchmarks(opts).find((x) => x.id === job.id);
if (!c) throw new Error(`benchmark ${job.id} is not in ${job.module}`);
parentPort!.postMessage(await runCase(job.samples ? { ...c, samples: job.samples } : c, job.quick));
