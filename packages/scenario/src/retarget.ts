// A loaded scenario moved onto another machine: another arch and/or kernel release, everything
// else (memory, drivers and their settings, steps) as written. `mixedmap matrix` runs one scenario
// on every arch × kernel combination this way. Whatever the scenario's machine section says that
// the new combination cannot take (an arch option the arch does not know, a variant that release
// lacks, an ARCH.OP step of another arch) is a ScenarioError, like a bad scenario.

import { resolveArch, resolveFeatures, type ArchSpec } from '@mixedmap/core';
import { ScenarioError, type ScenarioProblem } from './errors.js';
import { checkDriverOps, type LoadedScenario } from './load.js';

export interface RetargetOptions {
  /** the arch plugin (see loadArch) and how it was named (shown as machine.arch) */
  arch?: { spec: string; plugin: ArchSpec };
  /** a kernel release "2.6.19" … "2.6.32" */
  kernel?: string;
}

/** The scenario with its machine's arch and/or kernel replaced. Throws ScenarioError when that machine cannot take the scenario. */
export function retargetScenario(s: LoadedScenario, t: RetargetOptions): LoadedScenario {
  const machine = {
    ...s.machine,
    ...(t.kernel !== undefined ? { kernel: t.kernel } : {}),
    ...(t.arch ? { arch: { spec: t.arch.spec, isPath: false, field: 'machine.arch' } } : {}),
  };
  const plugins = { ...s.plugins, ...(t.arch ? { arch: t.arch.plugin } : {}) };
  const out: LoadedScenario = { ...s, machine, plugins };
  const problems: ScenarioProblem[] = [];
  let features;
  try {
    features = resolveFeatures(machine.kernel, machine.kernelOptions as never);
  } catch (e) {
    const f = String((e as { field?: string }).field ?? 'kernel');
    const field = f === 'kernel' ? 'machine.kernel' : f === 'variant' ? 'machine.kernelOptions.variant' : `machine.kernelOptions.${f}`;
    problems.push(s.locs.problem(field, (e as Error).message));
  }
  if (features) {
    try {
      resolveArch(plugins.arch, features, machine.archOptions);
    } catch (e) {
      const f = String((e as { field?: string }).field ?? '');
      problems.push(s.locs.problem(f.startsWith('archOptions.') ? `machine.${f}` : 'machine.arch', (e as Error).message));
    }
  }
  if (problems.length) throw new ScenarioError(problems);
  checkDriverOps(out, plugins, s.locs);
  return out;
}
