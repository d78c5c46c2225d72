// Hooks for benchmarks of parts that do not exist yet.
//
// EXPLORER_HOOK — explorer throughput. The explorer package provides it the way every package
// provides benchmarks: a file `packages/explorer/bench/*.bench.ts` whose BenchFile returns a case
// with the id `explorer/throughput` (group 'explorer', unit 'interleaving', ops = interleavings
// explored per sample). The harness then drops this app's placeholder of the same id
// (`placeholder: true`); until then the placeholder reports status "missing" and no numbers.
import type { MeasureResult } from './api.js';

export const EXPLORER_HOOK = {
  id: 'explorer/throughput',
  file: 'packages/explorer/bench/throughput.bench.ts',
} as const;

export function explorerMissing(): MeasureResult {
  return {
    missing: `no explorer benchmark yet: provide a case "${EXPLORER_HOOK.id}" from ${EXPLORER_HOOK.file} (see apps/bench/src/hooks.ts)`,
  };
}
