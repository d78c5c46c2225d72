// `mixedmap explore FILE...`: every interleaving of a litmus test's race steps (packages/explorer).
// Exit 0 when every condition is validated, 1 when one is not, 2 on bad input.

import { exploreFile, renderExplore, exploreJson, type ExploreResult } from '@mixedmap/explorer';
import { isScenarioError, formatProblem } from '@mixedmap/scenario';

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
      if (isScenarioError(e)) return { code: 2, stdout: '', stderr: e.problems.map((p) => `mixedmap: ${formatProblem(p)}`).join('\n') + '\n' };
      throw e;
    }
  }
  const ok = results.every((r) => r.ok);
  const stdout = o.json
    ? JSON.stringify({ command: 'explore', ok, tests: results.map(exploreJson) }, null, 2) + '\n'
    : results.map(renderExplore).join('\n');
  return { code: ok ? 0 : 1, stdout, stderr: '' };
}
