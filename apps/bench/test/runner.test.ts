// The harness's GC share: collections inside a synchronous sample must be counted. Node creates its
// 'gc' performance entries from an immediate task after each collection, so a sample that never
// yields to the event loop has none until the harness lets the loop turn.
import { describe, expect, test } from 'vitest';
import { fullGc, runCase } from '../src/runner.js';

describe('runCase', () => {
  test('counts the GC time of a sample that allocates and never yields', async () => {
    let keep: unknown = null;
    const r = await runCase({
      id: 'test/garbage', group: 'test', title: 'garbage', unit: 'object', ops: 2_000_000, samples: 2, warmup: 0,
      run: () => {
        // short-lived objects: scavenges during the sample
        for (let i = 0; i < 2_000_000; i++) keep = { i, next: keep && i % 64 ? keep : null };
      },
    }, false);
    expect(r.status).toBe('ok');
    expect(r.gcShare).toBeGreaterThan(0);
    expect(r.gcShare).toBeLessThan(1);
  });

  test("keeps a sample's state alive until the next sample's setup has built its own", async () => {
    // V8 holds the hidden classes of the model's objects only weakly: had the previous machine been
    // collected before the next one was built, the next would get new classes and the optimised
    // fault path would be thrown away inside the timed sample.
    const refs: Array<WeakRef<object>> = [];
    const aliveAtSetup: boolean[] = [];
    const r = await runCase({
      id: 'test/keep', group: 'test', title: 'keep', unit: 'op', ops: 1, samples: 3, warmup: 1,
      setup: async () => {
        // a new task (WeakRef targets are kept until the current one ends), then a full collection
        await new Promise((res) => setImmediate(res));
        fullGc();
        aliveAtSetup.push(refs.length > 0 && refs[refs.length - 1]!.deref() !== undefined);
        const state = { machine: new Array(1000).fill(0) };
        refs.push(new WeakRef(state));
        return state;
      },
      run: () => {},
    }, false);
    expect(r.status).toBe('ok');
    expect(aliveAtSetup).toEqual([false, true, true, true]);
    // and it does not outlive the run
    await new Promise((res) => setImmediate(res));
    fullGc();
    expect(refs.map((w) => w.deref() === undefined)).toEqual([true, true, true, true]);
  });
});
