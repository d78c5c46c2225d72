// A worker thread of a parallel exploration (parallel.ts): explores one first move's share.
import { parentPort, workerData } from 'node:worker_threads';
import { loadLitmus } from './litmus.js';
import { explore, type ExploreOptions } from './explore.js';

const { file, opts } = workerData as { file: string; opts: ExploreOptions };
loadLitmus(file)
  .then((l) => parentPort!.postMessage({ ok: true, result: explore(l, opts) }))
  .catch((e: Error) => parentPort!.postMessage({ ok: false, error: e.message }));
