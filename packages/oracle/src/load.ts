// Loading an oracle scenario: the scenario format's own loader. The oracle ops `madvise`, `poke`
// and `peek` are part of the format (packages/scenario); what the live kernel cannot show is
// refused afterwards by planScenario, with the reason.

import { loadScenario, type LoadedScenario, type LoadOptions } from '@mixedmap/scenario';

/** The ops oracle scenarios add to the classic ones (madvise(2) and /proc/self/mem). */
export const ORACLE_OPS = ['madvise', 'poke', 'peek'] as const;

/** Reads, validates and checks a scenario and loads its plugins (a ScenarioError names file, line and field). */
export function loadOracleScenario(src: string | { text: string; file: string }, opts: LoadOptions = {}): Promise<LoadedScenario> {
  return loadScenario(src, opts);
}
