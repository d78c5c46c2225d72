// Large runs spread over worker threads: the interleavings partition by their first move, so each
// worker explores the schedules that start with one thread's move and the results merge exactly
// (states are deduplicated within a worker; the total of states explored may count a state twice).

import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadLitmus } from './litmus.js';
import { explore, firstMoves, mergeResults, type ExploreOptions, type ExploreResult } from './explore.js';

/** The worker script: next to this module once built (dist/), or the built one when running from src/. */
function workerUrl(): URL {
  return import.meta.url.endsWith('.ts') ? new URL('../dist/worker.js', import.meta.url) : new URL('./worker.js', import.meta.url);
}

export interface ParallelOptions extends Omit<ExploreOptions, 'firstMoves'> {
  /** worker threads (default: the machine's cores); 1 explores in this thread */
  workers?: number;
}

export async function exploreFile(file: string, opts: ParallelOptions = {}): Promise<ExploreResult> {
  const litmus = await loadLitmus(file); // validates before any worker starts
  const workers = Math.max(1, opts.workers ?? availableParallelism());
  const moves = firstMoves(litmus);
  if (workers === 1 || moves.length < 2) return explore(litmus, opts);
  const { workers: _w, onProgress, ...rest } = opts;
  let explored = 0;
  const queue = [...moves];
  const parts: ExploreResult[] = [];
  const runOne = (move: number) =>
    new Promise<ExploreResult>((resolve, reject) => {
      // the worker runs the built packages: drop a --conditions flag (the test runner's "source")
      const execArgv = process.execArgv.filter((a) => !a.startsWith('--conditions') && !a.startsWith('-C'));
      const w = new Worker(fileURLToPath(workerUrl()), { execArgv, workerData: { file, opts: { ...rest, firstMoves: [move] } } });
      w.once('message', (m: { ok: boolean; result?: ExploreResult; error?: string }) => (m.ok ? resolve(m.result!) : reject(new Error(m.error))));
      w.once('error', reject);
    });
  const lanes = Array.from({ length: Math.min(workers, queue.length) }, async () => {
    while (queue.length) {
      const r = await runOne(queue.shift()!);
      parts.push(r);
      explored += r.statesExplored;
      onProgress?.(explored, queue.length); // per finished worker share
    }
  });
  await Promise.all(lanes);
  return mergeResults(parts);
}
