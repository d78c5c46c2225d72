// Driver-op arguments (sizes, addresses), alloc_prefer, the pageTableBytes expectation, a driver
// listed twice, and moving a scenario onto another arch/kernel (retargetScenario, for the matrix).
import { describe, expect, test } from 'vitest';
import { loadScenario, loadArch, retargetScenario, runScenario, ScenarioError, type ScenarioResult } from '../src/index.js';

const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
const PFNDEMO = '../../../../examples/drivers/pfn-demo.js'; // relative to the fixtures directory
const inline = (text: string) => loadScenario({ text, file: `${FIXTURES}inline.yaml` });
const run = async (text: string): Promise<ScenarioResult> => runScenario(await inline(text));
const failed = (r: ScenarioResult) => r.steps.flatMap((s) => s.checks.filter((c) => !c.ok).map((c) => ({ step: s.step.index + 1, ...c })));
async function problems(text: string): Promise<string[]> {
  try {
    await inline(text);
  } catch (e) {
    if (e instanceof ScenarioError) return e.problems.map((p) => `${p.line}:${p.field}: ${p.message}`);
    throw e;
  }
  return [];
}

const FLASH = '{ name: flash, start: 0x80000000, size: 16M, kind: flash, structPages: false }';
const DEMO = (kernel: string, drivers: string) => `name: t
machine: { arch: x86, kernel: "${kernel}", memory: { regions: [${FLASH}] }, drivers: [${drivers}] }
tasks: [{ name: p }]
steps:
`;

describe('DRIVER.OP arguments', () => {
  test('size, length and offset are parsed like other sizes; vma and at are resolved as addresses', async () => {
    const r = await run(`${DEMO('2.6.27', `{ path: ${PFNDEMO}, settings: { mode: none } }`)}  - { task: p, op: mmap, as: m, file: /dev/pfndemo, length: 16K, prot: [read], flags: [shared] }
  - { task: p, op: pfndemo.remap_pfn_range, addr: m, pfn: 0x80000, size: 8K, expect: { ret: 0, ptes: { m: { pfn: 0x80000 }, m+1p: { pfn: 0x80001 }, m+2p: { none: true } } } }
  - { task: p, op: pfndemo.insert_pfn, vma: m, addr: m+16p, pfn: 0x80004, expect: { outcome: EFAULT, ret: -14 } }
  - { task: p, op: pfndemo.insert_pfn, vma: m+3p, addr: m+3p, pfn: 0x80007, expect: { ret: 0, pte: { special: true, pfn: 0x80007 } } }
`);
    expect(failed(r)).toEqual([]);
    expect(r.steps[1]!.step.args.size).toBe(8192);
  });

  test('a bad size or an unbound symbol in vma/at is a validation error at its line', async () => {
    const head = `${DEMO('2.6.27', `{ path: ${PFNDEMO}, settings: { mode: none } }`)}  - { task: p, op: mmap, as: m, file: /dev/pfndemo, length: 16K, prot: [read], flags: [shared] }\n`;
    expect(await problems(`${head}  - { task: p, op: pfndemo.zap_vma_ptes, addr: m, size: lots }\n`)).toEqual([expect.stringMatching(/^6:steps\[1\]\.size: expected a size/)]);
    const p = await problems(`${head}  - { task: p, op: pfndemo.insert_pfn, vma: q, addr: m, pfn: 0x80000 }
  - { task: p, op: pfndemo.insert_pfn, at: q+1p, addr: m, pfn: 0x80000 }
`);
    expect(p).toHaveLength(2);
    expect(p[0]).toMatch(/^6:steps\[1\]\.vma: address "q" cannot be resolved/);
    expect(p[1]).toMatch(/^7:steps\[2\]\.at: address "q\+1p" cannot be resolved/);
  });
});

const ANON = `name: t
machine: { arch: x86, kernel: "2.6.32" }
tasks: [{ name: p }]
steps:
  - { task: p, op: mmap, as: m, length: 16K, prot: [read, write], flags: [private, anonymous] }
`;

describe('alloc_prefer', () => {
  test('steers the next allocation to a free pfn (ret 1); a pfn that is not free gives ret 0', async () => {
    const r = await run(`${ANON}  - { task: p, op: alloc_prefer, pfn: 0x2, expect: { ret: 1 } }
  - { task: p, op: write, addr: m, expect: { pte: { pfn: 0x2 }, page: { flags: [anon] } } }
  - { task: p, op: alloc_prefer, pfn: 0x2, expect: { ret: 0 } }
  - { task: p, op: alloc_prefer, pfn: 0x100, expect: { ret: 0 } }
`);
    expect(failed(r)).toEqual([]);
  });

  test('needs a pfn', async () => {
    expect(await problems(`${ANON}  - { task: p, op: alloc_prefer }\n`)).toEqual([expect.stringMatching(/steps\[1\]\.pfn: missing required field "pfn"/)]);
  });
});

describe('pageTableBytes', () => {
  test('a delta or =N of the step task, with the arch table sizes (s390: 2 KiB pte tables)', async () => {
    const r = await run(`${ANON}  - { task: p, op: write, addr: m, expect: { pageTableBytes: +12288 } }
  - { task: p, op: write, addr: m+1p, expect: { pageTableBytes: 0 } }
  - { task: p, op: read, addr: m+2p, expect: { pageTableBytes: "=16384" } }
`);
    expect(failed(r)).toEqual([]);
    const s390 = await run(`${ANON.replace('arch: x86', 'arch: s390')}  - { task: p, op: write, addr: m, expect: { pageTableBytes: +2048 } }\n`);
    const check = s390.steps[1]!.checks.find((c) => c.field === 'pageTableBytes')!;
    expect(check).toEqual({ field: 'pageTableBytes', expected: '+2048', actual: '+18432 (16384 → 34816)', ok: false });
  });
});

describe('a driver listed twice', () => {
  const TWO = (a: string, b: string) => DEMO('2.6.26', `{ path: ${PFNDEMO}, settings: ${a} }, { path: ${PFNDEMO}, settings: ${b} }`);

  test('two instances with their own device nodes keep their own settings', async () => {
    const r = await run(`${TWO('{ node: /dev/pfnA, mode: nopfn, pfns: [0x80000] }', '{ node: /dev/pfnB, mode: remap, pfns: [0x80010] }')}  - { task: p, op: mmap, as: a, file: /dev/pfnA, length: 4K, prot: [read], flags: [shared], expect: { pte: { none: true } } }
  - { task: p, op: mmap, as: b, file: /dev/pfnB, length: 4K, prot: [read], flags: [shared], expect: { pte: { present: true, pfn: 0x80010 } } }
  - { task: p, op: read, addr: a, expect: { handlersInclude: [do_no_pfn], pte: { pfn: 0x80000 } } }
  - { task: p, op: read, addr: b, expect: { faults: 0 } }
`);
    expect(failed(r)).toEqual([]);
    expect(r.passed).toBe(true);
  });

  test('two instances serving the same path are refused, naming the path', async () => {
    const p = await problems(`${TWO('{ mode: nopfn }', '{ mode: remap }')}  - { task: p, op: exit }\n`);
    expect(p).toEqual([expect.stringMatching(/^2:machine\.drivers\[1\]\.path: driver "pfndemo" is listed twice with the same path \/dev\/pfndemo \(also machine\.drivers\[0\]\.path\)/)]);
  });
});

describe('retargetScenario', () => {
  const SRC = `name: t
machine: { arch: s390, kernel: "2.6.26", archOptions: { segments: [] } }
tasks: [{ name: p }]
steps:
  - { task: p, op: mmap, as: m, length: 8K, prot: [read, write], flags: [private, anonymous] }
  - { task: p, op: read, addr: m, expect: { handlers: [nothing] } }
`;
  test('runs the steps on another kernel; an option the new arch does not know is a ScenarioError on its field', async () => {
    const s = await inline(SRC.replace(', archOptions: { segments: [] }', ''));
    const r = runScenario(retargetScenario(s, { kernel: '2.6.20' }), { checkExpectations: false });
    expect(r.machine).toEqual({ arch: 's390', kernel: '2.6.20' });
    expect(r.steps.every((x) => x.checks.length === 0)).toBe(true);
    expect(r.steps[1]!.observation.pteAfter?.pfn).toBe(r.state.machine.zeroPfn);
    const x86 = await loadArch('x86');
    expect(runScenario(retargetScenario(s, { arch: { spec: 'x86', plugin: x86 } })).machine.arch).toBe('x86');
    const withOpt = await inline(SRC);
    expect(() => retargetScenario(withOpt, { arch: { spec: 'x86', plugin: x86 } })).toThrow(/machine\.archOptions\.segments: .*unknown option/);
    expect(() => retargetScenario(s, { kernel: '2.6.40' })).toThrow(ScenarioError);
  });

  test('loadArch: short names, paths; an unknown name says why', async () => {
    expect((await loadArch('arm')).name).toBe('arm');
    expect((await loadArch('./toy-arch.js', { dir: FIXTURES })).name).toBe('toy');
    await expect(loadArch('vax')).rejects.toThrow(/unknown arch "vax"/);
    await expect(loadArch('./nope.js', { dir: FIXTURES })).rejects.toThrow(/no such file/);
  });
});
