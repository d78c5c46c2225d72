// Every oracle scenario in examples/oracle runs on the live kernel through the executor and on the
// model's 6.x profile, and every step agrees (outcome, fault count, present, zero page, exclusive, PG_mlocked,
// frame sharing). examples/oracle/discrepancies holds the known disagreements (not run here).
import { beforeAll, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadOracleScenario, runOracle, renderOracle } from '../src/index.js';
import { buildExecutor } from './helpers.js';

const DIR = fileURLToPath(new URL('../../../examples/oracle/', import.meta.url));
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();

let exe: string;
beforeAll(() => {
  exe = buildExecutor();
});

describe('examples/oracle', () => {
  it('ships at least 40 scenarios', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(40);
  });

  it.each(FILES)('%s: the model agrees with the live kernel', async (f) => {
    const s = await loadOracleScenario(join(DIR, f));
    expect(s.machine.kernel).toBe('6.x');
    const r = await runOracle(s, { executor: exe });
    if (!r.agree) console.log(renderOracle(r));
    expect(r.fatal).toBeUndefined();
    expect(r.steps.flatMap((st) => st.differences.map((d) => `step ${st.index + 1}: ${d.facet} ${d.where} model ${d.model} kernel ${d.kernel}`))).toEqual([]);
    expect(r.agree).toBe(true);
    // the live side really ran every step
    expect(r.steps.every((st) => st.kernel !== null)).toBe(true);
  });
});
