// Every driver example scenario (examples/mspec-*, xip-*, devmem-*) passes against the sources.
import { describe, expect, test } from 'vitest';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadScenario, runScenario } from '@mixedmap/scenario';

const dir = resolve(__dirname, '../../../examples');
const files = readdirSync(dir).filter((f) => /^(mspec|xip|devmem)-.*\.yaml$/.test(f)).sort();
const importer = (spec: string): Promise<unknown> => import(/* @vite-ignore */ spec);

describe('driver example scenarios', () => {
  test('there are at least 30', () => expect(files.length).toBeGreaterThanOrEqual(30));
  test.each(files)('%s', async (f) => {
    const s = await loadScenario(join(dir, f), { importer });
    const r = runScenario(s);
    const failed = r.steps.flatMap((st) => st.checks.filter((c) => !c.ok).map((c) => `step ${st.step.index + 1} ${c.field}: expected ${c.expected}, got ${c.actual}`));
    expect(failed).toEqual([]);
    expect(r.passed, `leaks ${r.leaks.join('; ')} violations ${r.violations.join('; ')}`).toBe(true);
  });
});
