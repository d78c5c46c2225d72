// Benchmark 5: explorer throughput (interleavings explored per second) — a placeholder. The
// explorer's own package supplies the real benchmark under the same id (src/hooks.ts:
// EXPLORER_HOOK); until it does, this reports status "missing" and no numbers.
import type { BenchCase } from '../src/api.js';
import { defineBenchFile } from '../src/api.js';
import { EXPLORER_HOOK, explorerMissing } from '../src/hooks.js';

export default defineBenchFile({
  benchmarks(): BenchCase[] {
    return [{
      id: EXPLORER_HOOK.id,
      group: 'explorer',
      title: 'Explorer throughput (interleavings per second)',
      tags: { kind: 'explorer' },
      unit: 'interleaving',
      ops: 1,
      default: true,
      placeholder: true,
      measure: () => explorerMissing(),
    }];
  },
});
