import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { scenarioJsonSchema, STEP_OPS } from '../src/index.js';

const committed = fileURLToPath(new URL('../../../docs/scenario.schema.json', import.meta.url));
const generated = JSON.stringify(scenarioJsonSchema(), null, 2) + '\n';

describe('docs/scenario.schema.json', () => {
  test('equals the schema generated from the format description (MIXEDMAP_UPDATE_SCHEMA=1 rewrites it)', () => {
    if (process.env.MIXEDMAP_UPDATE_SCHEMA === '1') writeFileSync(committed, generated);
    expect(readFileSync(committed, 'utf8')).toBe(generated);
  });

  test('has one variant per op plus the DRIVER.OP fallback, each closed to unknown fields', () => {
    const steps = (scenarioJsonSchema().properties as any).steps.items.oneOf as any[];
    const consts = steps.map((v) => v.properties.op.const).filter(Boolean);
    expect(consts).toEqual(STEP_OPS);
    expect(steps.filter((v) => v.properties.op.pattern)).toHaveLength(1);
    for (const v of steps.filter((x) => x.properties.op.const)) expect(v.additionalProperties).toBe(false);
  });
});
