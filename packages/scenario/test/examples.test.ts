// Every built-in example scenario runs as a test and must pass: its expectations hold, the
// invariant checker stays quiet, and nothing leaks (unless the scenario demonstrates a leak).
import { describe, expect, test } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadScenario, runScenario } from '@mixedmap/scenario';

const DIR = join(import.meta.dirname, '../../../examples');
const files = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f)).sort();

describe('examples/', () => {
  test('ships at least 25 example scenarios', () => {
    expect(files.length).toBeGreaterThanOrEqual(25);
  });
  test.each(files)('%s', async (f) => {
    const s = await loadScenario(join(DIR, f));
    const r = runScenario(s);
    const failed = r.steps.flatMap((st) => st.checks.filter((c) => !c.ok).map((c) => `step ${st.step.index + 1} ${c.field}: expected ${c.expected}, got ${c.actual}`));
    expect(failed).toEqual([]);
    expect(r.passed).toBe(true);
  });
});
