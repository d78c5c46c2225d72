// The text trace of a step with very many faults (MAP_POPULATE of gigabytes: one fault line per
// page) is built without spreading the lines into push(), which overflowed the stack and turned a
// passing run into an internal error.
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { loadScenario, runScenario } from '@mixedmap/scenario';
import { renderResult } from '../src/render.js';

test('a step with 500 000 faults renders', async () => {
  const r = runScenario(await loadScenario(join(import.meta.dirname, '../../../packages/scenario/test/fixtures/basic.yaml')));
  const step = r.steps.find((s) => s.observation.result.faults.length > 0)!;
  const f = step.observation.result.faults[0]!;
  step.observation.result = { ...step.observation.result, faults: Array.from({ length: 500_000 }, () => f) };
  const lines = renderResult(r);
  expect(lines.length).toBeGreaterThan(500_000);
  expect(lines.filter((l) => l.includes('fault 500000 '))).toHaveLength(1);
});
