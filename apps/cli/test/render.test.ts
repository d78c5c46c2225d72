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

test('faults on consecutive pages through the same handlers are one line (a populate); others keep a line each', async () => {
  const text = `name: pop
machine: { arch: x86, kernel: "2.6.32", memory: { ram: 16M } }
tasks: [{ name: p }]
steps:
  - { task: p, op: mmap, as: m, length: 256K, prot: [read, write], flags: [private, anonymous, populate] }
  - { task: p, op: mmap, as: z, length: 8K, prot: [read, write], flags: [private, anonymous] }
  - { task: p, op: read, addr: z }
  - { task: p, op: write, addr: z }
`;
  const r = runScenario(await loadScenario({ text, file: 'pop.yaml' }));
  const lines = renderResult(r).join('\n');
  expect(lines).toMatch(/faults 1–64 write @0x([0-9a-f]+)…0x[0-9a-f]+ \(64 pages\): handle_mm_fault → handle_pte_fault → do_anonymous_page = MINOR/);
  expect(lines).not.toMatch(/fault 2 write/);
  // a read then a COW write of the same page: two faults, two lines
  expect(lines).toMatch(/fault 1 read @0x[0-9a-f]+: handle_mm_fault → handle_pte_fault → do_anonymous_page = MINOR/);
  expect(lines).toMatch(/fault 1 write @0x[0-9a-f]+: handle_mm_fault → handle_pte_fault → do_wp_page/);
});
