// The harness's GC share: collections inside a synchronous sample must be counted. Node creates its
// 'gc' performance entries from an immediate task after each collection, so a sample that never
// yields to the event loop has none until the harness lets the loop turn.
import { describe, expect, test } from 'vitest';
import { runCase } from '../src/runner.js';

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
});
