// `mixedmap oracle FILE…`: runs each scenario on the live Linux kernel (the @mixedmap/oracle
// executor) and on the model (kernel "6.x"), and prints per step model vs kernel and a verdict.
// Exit codes: 0 every step of every file agrees, 1 a disagreement, 2 bad input or an oracle that
// cannot run here (not Linux, no executor, a scenario the live kernel cannot show), 3 the
// executor failed.

import { isScenarioError, formatProblem } from '@mixedmap/scenario';
import {
  loadOracleScenario, planScenario, runOracle, renderOracle, OracleUnavailable, ExecutorError, type OracleResult,
} from '@mixedmap/oracle';

export const ORACLE_JSON_FORMAT_VERSION = 1;

export interface OracleCommandOptions {
  json: boolean;
  /** total bytes a scenario may map (default 1 GiB) */
  limit?: number;
}

export async function runOracleCommand(files: string[], opts: OracleCommandOptions): Promise<{ code: number; stdout: string; stderr: string }> {
  const err: string[] = [];
  if (files.length === 0) return { code: 2, stdout: '', stderr: 'mixedmap oracle: give one or more scenario files\n' };
  if (opts.limit !== undefined && (!Number.isFinite(opts.limit) || opts.limit <= 0)) {
    return { code: 2, stdout: '', stderr: `mixedmap oracle: --limit must be a positive number of bytes, not ${opts.limit}\n` };
  }
  // Validate and plan every file before anything runs.
  const loaded = [];
  for (const f of files) {
    try {
      const s = await loadOracleScenario(f);
      planScenario(s, opts.limit !== undefined ? { limit: opts.limit } : {}); // refusals and the size limit
      loaded.push(s);
    } catch (e) {
      if (!isScenarioError(e)) throw e;
      for (const p of e.problems) err.push(formatProblem(p));
    }
  }
  if (err.length) return { code: 2, stdout: '', stderr: err.map((l) => `mixedmap: ${l}`).join('\n') + '\n' };
  const results: OracleResult[] = [];
  for (const s of loaded) {
    try {
      results.push(await runOracle(s, opts.limit !== undefined ? { limit: opts.limit } : {}));
    } catch (e) {
      if (isScenarioError(e)) {
        for (const p of e.problems) err.push(formatProblem(p));
        return { code: 2, stdout: '', stderr: err.map((l) => `mixedmap: ${l}`).join('\n') + '\n' };
      }
      if (e instanceof OracleUnavailable) return { code: 2, stdout: '', stderr: `mixedmap oracle: ${e.message}\n` };
      if (e instanceof ExecutorError) return { code: 3, stdout: '', stderr: `mixedmap oracle: ${s.file}: ${e.message}\n` };
      throw e;
    }
  }
  const agree = results.every((r) => r.agree);
  const code = agree ? 0 : 1;
  if (opts.json) {
    const doc = {
      format: ORACLE_JSON_FORMAT_VERSION,
      agree,
      scenarios: results.map((r) => ({
        name: r.name,
        file: r.file,
        live: r.live,
        model: r.model,
        agree: r.agree,
        notes: r.notes,
        ...(r.fatal ? { fatal: r.fatal } : {}),
        steps: r.steps.map((st) => ({
          index: st.index,
          id: st.id,
          op: st.op,
          task: st.task,
          agree: st.agree,
          model: { outcome: st.model.outcome, faults: st.model.faults, pages: st.modelPages },
          kernel: st.kernel ? { outcome: st.kernel.outcome, faults: st.kernel.faults, pages: st.kernelPages } : null,
          differences: st.differences,
        })),
      })),
    };
    return { code, stdout: JSON.stringify(doc, null, 2) + '\n', stderr: '' };
  }
  const text = results.map(renderOracle).join('\n\n');
  const summary = `${results.filter((r) => r.agree).length}/${results.length} scenario(s) agree with the live kernel`;
  return { code, stdout: `${text}\n\n${summary}\n`, stderr: '' };
}
