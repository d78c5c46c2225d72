// The scenarios shown in the docs and READMEs are valid, run, and pass: the docs cannot rot.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { loadScenario, parseScenario, runScenario } from '../src/index.js';

const doc = readFileSync(new URL('../../../docs/scenario-format.md', import.meta.url), 'utf8');
const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => b.startsWith('name:'));

describe('docs/scenario-format.md', () => {
  test('has at least one complete scenario', () => {
    expect(blocks.length).toBeGreaterThan(0);
  });
  test.each(blocks.map((b, i) => [i, b] as const))('scenario block %i validates, runs and passes', async (_i, text) => {
    expect(() => parseScenario(text, 'docs/scenario-format.md')).not.toThrow();
    const r = runScenario(await loadScenario({ text, file: 'docs/scenario-format.md' }));
    expect(r.steps.flatMap((s) => s.checks.filter((c) => !c.ok))).toEqual([]);
    expect(r.passed).toBe(true);
  });
});

describe('README examples run and pass', () => {
  const readme = (p: string) => readFileSync(new URL(p, import.meta.url), 'utf8');
  const cases: Array<[string, string]> = [
    ['packages/scenario/README.md', /text: `\n([\s\S]*?)`,/.exec(readme('../README.md'))![1]!],
    ['apps/cli/README.md', /<<'YAML'\n([\s\S]*?)\nYAML/.exec(readme('../../../apps/cli/README.md'))![1]!],
  ];
  test.each(cases)('%s', async (file, text) => {
    const r = runScenario(await loadScenario({ text, file: `/tmp/${file.replace(/\W/g, '_')}.yaml` }));
    expect(r.steps.flatMap((s) => s.checks.filter((c) => !c.ok))).toEqual([]);
    expect(r.passed).toBe(true);
  });
});
