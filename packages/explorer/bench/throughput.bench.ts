// The explorer's benchmark (apps/bench hook `explorer/throughput`): interleavings covered and
// states explored per second on a litmus test of the repository — three threads each reading and
// writing one page (6,934,902 interleavings) in the default suite, the two-thread anon race with
// --quick.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadLitmus, explore, type Litmus, type ExploreResult } from '@mixedmap/explorer';
import type { BenchCase, BenchFile, BenchOptions } from '../../../apps/bench/src/api.js';

/** examples/litmus of the repository, found upwards from this file (it runs bundled into apps/bench/dist). */
function litmusDir(): string {
  for (let d = dirname(fileURLToPath(import.meta.url)); d !== dirname(d); d = dirname(d)) {
    if (existsSync(join(d, 'examples/litmus'))) return join(d, 'examples/litmus');
  }
  throw new Error('examples/litmus not found above ' + fileURLToPath(import.meta.url));
}
const LITMUS = litmusDir();

const file: BenchFile = {
  benchmarks(o: BenchOptions): BenchCase[] {
    const [name, interleavings] = o.quick ? ['anon-write-race.yaml', 20] : ['three-threads-two-faults.yaml', 6_934_902];
    let last: ExploreResult | undefined;
    return [{
      id: 'explorer/throughput',
      group: 'explorer',
      title: `Explorer throughput on ${name} (${interleavings} interleavings)`,
      tags: { kind: 'explorer' },
      unit: 'interleaving',
      ops: interleavings,
      samples: o.quick ? 1 : 3,
      warmup: o.quick ? 0 : 1,
      default: true,
      setup: async (): Promise<Litmus> => loadLitmus(join(LITMUS, name)),
      run: (l: Litmus) => {
        last = explore(l);
        if (last.interleavings !== interleavings) throw new Error(`expected ${interleavings} interleavings, explored ${last.interleavings}`);
      },
      metrics: () => ({ statesExplored: last?.statesExplored ?? 0, statesPerSecond: last ? Math.round((last.statesExplored * 1000) / last.elapsedMs) : 0 }),
    }];
  },
};

export default file;
