// The validator and docs/scenario.schema.json are derived from one description; this checks that
// they agree on the shape of real scenarios (reference checks — symbols, tasks — are the
// validator's alone and are left out here).
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { describe, expect, test } from 'vitest';
import { parseAndValidate, SCENARIO_SCHEMA, scenarioJsonSchema } from '../src/index.js';

const ajv = new Ajv2020({ allErrors: true, strict: false });
const validateJson = ajv.compile(scenarioJsonSchema());

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const HEAD = 'name: t\nmachine: { arch: x86 }\ntasks: [{ name: p }]\nsteps:\n';

const CASES: Array<[string, string, boolean]> = [
  ['toy fixture', fixture('basic.yaml'), true],
  ['x86 file fixture', fixture('x86-file.yaml'), true],
  ['worked D fixture', fixture('worked-d-insert.yaml'), true],
  ['worked A fixture', fixture('worked-a-nopfn.yaml'), true],
  ['driver op with free arguments', `${HEAD}  - { task: p, op: mspec.insert_pfn, addr: 0x1000, pfn: 12, expect: { outcome: oops, oops: MIXEDMAP } }\n`, true],
  ['sizes, hex and deltas', `${HEAD}  - { task: p, op: gup, addr: "m+3p", pages: 2, expect: { page: { count: "+1", mapcount: "=2" }, rss: { anon: -1 }, pgoff: "0xa0", freePages: 0 } }\n`, true],
  ['pfn forms', `${HEAD}  - { task: p, op: read, addr: 0, expect: { pte: { pfn: zero }, ptes: { "c:m+0x1000": { pfn: { sameAs: "p:m" } }, "0x2000": { pfn: 0xA1 } } } }\n`, true],
  ['driver objects and regions', 'name: t\nmachine:\n  arch: ./a.js\n  memory: { ram: 64M, regions: [{ name: v, start: 0xA0000, size: 128K, kind: device, structPages: false }] }\n  drivers: [devmem, { name: xip, settings: { a: 1 } }, { path: ./d.js }]\ntasks: [{ name: p, threads: [t1] }]\nsteps: []\n', true],
  ['unknown top-level field', `${HEAD}  []\nextra: 1\n`.replace('steps:\n  []', 'steps: []'), false],
  ['unknown op', `${HEAD}  - { task: p, op: reed, addr: 0 }\n`, false],
  ['unknown step field', `${HEAD}  - { task: p, op: read, addr: 0, pages: 1 }\n`, false],
  ['missing required op argument', `${HEAD}  - { task: p, op: munmap, addr: 0 }\n`, false],
  ['bad prot name', `${HEAD}  - { task: p, op: mprotect, addr: 0, length: 4K, prot: [rw] }\n`, false],
  ['bad size', `${HEAD}  - { task: p, op: munmap, addr: 0, length: 4Q }\n`, false],
  ['bad address', `${HEAD}  - { task: p, op: read, addr: "m+x" }\n`, false],
  ['bad delta', `${HEAD}  - { task: p, op: read, addr: 0, expect: { rss: { anon: "1+" } } }\n`, false],
  ['bad outcome', `${HEAD}  - { task: p, op: read, addr: 0, expect: { outcome: crashed } }\n`, false],
  ['bad normalPage', `${HEAD}  - { task: p, op: read, addr: 0, expect: { normalPage: maybe } }\n`, false],
  ['no tasks', 'name: t\nmachine: { arch: x86 }\ntasks: []\nsteps: []\n', false],
  ['bad region kind', 'name: t\nmachine: { arch: x86, memory: { regions: [{ name: v, start: 0, size: 4K, kind: rom }] } }\ntasks: [{ name: p }]\nsteps: []\n', false],
];

describe('validator and JSON Schema agree', () => {
  test.each(CASES)('%s', (_name, text, valid) => {
    const mine = parseAndValidate(text, 'x.yaml', SCENARIO_SCHEMA).problems;
    const json = validateJson(parse(text));
    expect(mine.length === 0, JSON.stringify(mine)).toBe(valid);
    expect(json, JSON.stringify(validateJson.errors)).toBe(valid);
  });
});
