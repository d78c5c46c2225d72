// `mixedmap explore FILE...`: every interleaving of a litmus test's race steps (packages/explorer).
// Exit 0 when every condition is validated, 1 when one is not, 2 on bad input.

import { exploreFile, loadLitmus, renderExplore, exploreJson, type ExploreResult } from '@mixedmap/explorer';
import { isScenarioError, formatProblem, PluginFault, pluginFaultError } from '@mixedmap/scenario';

export interface ExploreCliOptions {
  json: boolean;
  maxDepth?: number;
  maxStates?: number;
  /** worker threads; the interleavings are split by their first move */
  workers?: number;
  /** progress display (stderr is a terminal): states seen, frontier size */
  progress?: (states: number, frontier: number) => void;
}

export async function runExploreCommand(files: string[], o: ExploreCliOptions): Promise<{ code: number; stdout: string; stderr: string }> {
  const results: ExploreResult[] = [];
  for (const f of files) {
    try {
      results.push(await exploreFile(f, {
        workers: o.workers ?? 1,
        ...(o.maxDepth ? { maxDepth: o.maxDepth } : {}),
        ...(o.maxStates ? { maxStates: o.maxStates } : {}),
        ...(o.progress ? { onProgress: o.progress } : {}),
      }));
    } catch (e) {
      let err = e;
      // A worker thread hands back only the message of what it threw: explore in this thread
      // again to tell a plugin's fault (bad input) from an internal error.
      if (!isScenarioError(e) && !(e instanceof PluginFault) && (o.workers ?? 1) > 1) {
        try {
          await exploreFile(f, { workers: 1, ...(o.maxDepth ? { maxDepth: o.maxDepth } : {}), ...(o.maxStates ? { maxStates: o.maxStates } : {}) });
        } catch (again) {
          if (again instanceof PluginFault) err = again;
        }
      }
      // a plugin hook that threw while the race ran: the plugin's fault, named at its machine field
      if (err instanceof PluginFault) err = pluginFaultError((await loadLitmus(f)).scenario, err, undefined, 'while the race ran');
      if (isScenarioError(err)) return { code: 2, stdout: '', stderr: err.problems.map((p) => `mixedmap: ${formatProblem(p)}`).join('\n') + '\n' };
      throw e;
    }
  }
  const ok = results.every((r) => r.ok);
  const stdout = o.json
    ? JSON.stringify({ command: 'explore', ok, tests: results.map(exploreJson) }, null, 2) + '\n'
    : results.map(renderExplore).join('\n');
  return { code: ok ? 0 : 1, stdout, stderr: '' };
}
