// Runs a set of worker threads behind a start barrier for a fixed time and collects their reports.
import { Worker } from 'node:worker_threads';
import { CTL_GO, CTL_READY, CTL_SLOTS, CTL_STOP } from '../workers/shared.js';

export async function runWorkers<R>(url: URL, datas: Array<Record<string, unknown>>, ms: number): Promise<R[]> {
  const ctlBuf = new SharedArrayBuffer(CTL_SLOTS * 4);
  const ctl = new Int32Array(ctlBuf);
  const workers = datas.map((d) => new Worker(url, { workerData: { ...d, ctl: ctlBuf } }));
  const results = workers.map(
    (w) => new Promise<R>((resolve, reject) => {
      w.once('message', (m) => resolve(m as R));
      w.once('error', reject);
      w.once('exit', (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)));
    }),
  );
  // the barrier: every worker has built its machine and warmed up
  const deadline = Date.now() + 120_000;
  let failed: unknown;
  results.forEach((p) => p.catch((e) => (failed = e)));
  while (Atomics.load(ctl, CTL_READY) < workers.length) {
    if (failed) throw failed;
    if (Date.now() > deadline) throw new Error('workers did not start');
    await new Promise((r) => setTimeout(r, 5));
  }
  Atomics.store(ctl, CTL_GO, 1);
  Atomics.notify(ctl, CTL_GO);
  await new Promise((r) => setTimeout(r, ms));
  Atomics.store(ctl, CTL_STOP, 1);
  const out = await Promise.all(results);
  await Promise.all(workers.map((w) => w.terminate()));
  return out;
}
