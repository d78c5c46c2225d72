import { describe, expect, test } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { loadScenario, runScenario, findStep, ScenarioError, type ScenarioResult } from '../src/index.js';

const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
const inline = (text: string) => loadScenario({ text, file: `${FIXTURES}inline.yaml` });
const run = async (text: string): Promise<ScenarioResult> => runScenario(await inline(text));
const failed = (r: ScenarioResult) => r.steps.flatMap((s) => s.checks.filter((c) => !c.ok).map((c) => ({ step: s.step.index + 1, ...c })));

const TOY = `name: t
machine: { arch: ./toy-arch.js, kernel: "2.6.32" }
tasks: [{ name: p }]
steps:
  - { task: p, op: mmap, as: m, length: 16K, prot: [read, write], flags: [private, anonymous] }
`;

describe('runScenario', () => {
  test('the toy fixture passes: zero pfn on read, COW on write, fork, a driver op', async () => {
    const r = runScenario(await loadScenario(`${FIXTURES}basic.yaml`));
    expect(failed(r)).toEqual([]);
    expect(r.passed).toBe(true);
    expect(r.machine).toEqual({ arch: 'toy', kernel: '2.6.32' });
    expect(r.leaks).toEqual([]);
    const read = r.steps[1]!;
    expect(read.observation.result.faults.map((f) => f.chain.at(-1))).toEqual(['do_anonymous_page']);
    expect(read.observation.pteAfter?.pfn).toBe(r.state.machine.zeroPfn);
    expect(read.observation.addr).toBe(r.state.symbols.get('p')!.get('m')! + 0x1000);
  });

  test('x86 + pagecache fixture passes (short names resolve to the built-in packages)', async () => {
    const r = runScenario(await loadScenario(`${FIXTURES}x86-file.yaml`));
    expect(failed(r)).toEqual([]);
    expect(r.machine).toEqual({ arch: 'x86', kernel: '2.6.27' });
  });

  test('a failed expectation reports expected vs actual and fails the step and the scenario', async () => {
    const r = await run(`${TOY}  - { task: p, op: read, addr: m, expect: { pte: { write: true }, rss: { anon: +1 }, faults: 2 } }\n`);
    expect(r.passed).toBe(false);
    expect(r.steps[1]!.passed).toBe(false);
    expect(failed(r)).toEqual([
      { step: 2, field: 'faults', expected: 2, actual: 1, ok: false },
      { step: 2, field: 'pte.write', expected: true, actual: false, ok: false },
      { step: 2, field: 'rss.anon', expected: '+1', actual: '+0 (0 → 0)', ok: false },
    ]);
  });

  test('the outcome is always checked: ok unless the step says otherwise', async () => {
    const r = await run(`${TOY}  - { task: p, op: read, addr: 0x1000 }\n`);
    expect(failed(r)).toEqual([{ step: 2, field: 'outcome (implicit)', expected: 'ok', actual: 'SIGSEGV', ok: false }]);
    const r2 = await run(`${TOY}  - { task: p, op: read, addr: 0x1000, expect: { outcome: SIGSEGV, faults: 0 } }\n`);
    expect(r2.passed).toBe(true);
  });

  test('a failing syscall is named by its errno; a symbol its failed mmap never bound stops only that step', async () => {
    const r = await run(`${TOY}  - { task: p, op: mmap, as: bad, length: 0, prot: [read], flags: [private, anonymous], expect: { outcome: EINVAL, ret: -22 } }
  - { task: p, op: read, addr: bad }
  - { task: p, op: read, addr: m+3p }
`);
    expect(r.steps[1]!.passed).toBe(true);
    expect(r.steps[2]!.observation.error).toMatch(/"bad" is not bound in task "p"/);
    expect(failed(r).map((c) => c.field)).toEqual(['step']);
    expect(r.steps[3]!.passed).toBe(true);
  });

  test('count/mapcount deltas are relative to before the step, =N is absolute; page.at and task:ADDR', async () => {
    const r = await run(`${TOY}  - { task: p, op: write, addr: m, expect: { page: { count: +1, mapcount: +1, flags: [anon] }, freePages: -1 } }
  - { task: p, op: fork, child: c, expect: { page: { at: m, count: +1, mapcount: "=2" }, ptes: { m: { write: false }, "c:m": { write: false, pfn: { sameAs: "p:m" } } } } }
  - { task: c, op: read, addr: m, expect: { value: { sameAs: "p:m" } } }
  - { task: c, op: write, addr: m, expect: { page: { at: "p:m", mapcount: -1 }, value: { differsFrom: "p:m" }, rss: { anon: "=1" } } }
`);
    expect(failed(r)).toEqual([]);
  });

  test('gup pins (count +1) until put_pages; follow_page returns the pfn', async () => {
    const r = await run(`${TOY}  - { task: p, op: write, addr: m }
  - { task: p, op: gup, addr: m, pages: 1, expect: { ret: 1, page: { count: +1 } } }
  - { task: p, op: follow_page, addr: m, flags: [get], expect: { page: { count: +1 } } }
  - { task: p, op: put_pages, expect: { ret: 2, page: { at: m, count: -2 } } }
`);
    expect(failed(r)).toEqual([]);
    expect(r.steps[3]!.observation.result.ret).toBe(r.steps[1]!.observation.pteAfter!.pfn);
  });

  test('access_process_vm (ptrace) reads through gup; ret = bytes', async () => {
    const r = await run(`${TOY}  - { task: p, op: write, addr: m }
  - { task: p, op: access_process_vm, addr: m+0x10, length: 8, expect: { ret: 8, faults: 0 } }
  - { task: p, op: access_process_vm, addr: m+1p, length: 4, expect: { ret: 4, faults: 1, pte: { pfn: zero } } }
`);
    expect(failed(r)).toEqual([]);
  });

  test('threads: clone adds a thread; a thread step faults in the shared mm', async () => {
    const r = await run(`name: t\nmachine: { arch: ./toy-arch.js }\ntasks: [{ name: p, threads: [t1] }]\nsteps:
  - { task: p, op: mmap, as: m, length: 4K, prot: [read, write], flags: [private, anonymous] }
  - { thread: t1, op: write, addr: m, expect: { rss: { anon: +1 } } }
  - { task: p, op: clone, name: t2 }
  - { thread: t2, op: read, addr: m, expect: { faults: 0, value: { sameAs: m } } }
`);
    expect(failed(r)).toEqual([]);
    expect(r.steps[1]!.step.thread).toBe('t1');
  });

  test('expectLeaks: true fails a scenario that leaks nothing', async () => {
    const text = TOY.replace('steps:', 'expectLeaks: true\nsteps:');
    const r = await run(`${text}  - { task: p, op: write, addr: m }\n`);
    expect(r.steps.every((s) => s.passed)).toBe(true);
    expect(r.leaks).toEqual([]);
    expect(r.passed).toBe(false);
  });

  test('stopAfter leaves the tasks alive and skips the end-of-run checks', async () => {
    const s = await inline(`${TOY}  - { id: touched, task: p, op: write, addr: m }\n  - { task: p, op: exit }\n`);
    const step = findStep(s, 'touched')!;
    expect(step.index).toBe(1);
    expect(findStep(s, '2')).toBe(step);
    const r = runScenario(s, { stopAfter: step.index });
    expect(r.steps).toHaveLength(2);
    expect(r.skipped).toBe(1);
    expect(r.state.tasks.get('p')!.mm).not.toBeNull();
    expect(r.state.machine.rss(r.state.tasks.get('p')!)).toEqual({ file: 0, anon: 1 });
  });

  test('a machine config the core refuses is a ScenarioError on the machine field', async () => {
    const text = `name: t\nmachine:\n  arch: ./toy-arch.js\n  memory:\n    regions:\n      - { name: vga, start: 0xA0001, size: 4K, kind: device }\ntasks: [{ name: p }]\nsteps: []\n`;
    const s = await inline(text);
    let err: unknown;
    try {
      runScenario(s);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScenarioError);
    expect((err as ScenarioError).field).toBe('machine.memory.regions[0]');
    expect((err as ScenarioError).line).toBe(6);
    expect((err as ScenarioError).reason).toMatch(/page aligned/);
  });
});

// Worked scenarios of kernel-semantics §5 written as users will write them, with the repository's
// out-of-tree example driver (examples/drivers/pfn-demo.js) loaded by path.
const PFN_DEMO = new URL('../../../examples/drivers/pfn-demo.js', import.meta.url).pathname;
describe('worked scenarios with a driver loaded by path', () => {
  test.each(['worked-d-insert.yaml', 'worked-a-nopfn.yaml'])('%s passes', async (f) => {
    const r = runScenario(await loadScenario(`${FIXTURES}${f}`));
    expect(failed(r)).toEqual([]);
    expect(r.passed).toBe(true);
  });

  test('a driver operation that throws fails its step with the message; the run goes on', async () => {
    const text = readFileSync(`${FIXTURES}worked-d-insert.yaml`, 'utf8') + '  - { task: p, op: pfndemo.insert_pfn, addr: 0x1000, pfn: 0xA2 }\n  - { task: p, op: read, addr: m }\n';
    const r = runScenario(await inline(text));
    expect(failed(r)).toEqual([{ step: 5, field: 'step', expected: 'the step runs', actual: 'pfndemo.insert_pfn: no vma at 0x1000', ok: false }]);
    expect(r.steps).toHaveLength(6);
  });

  test('after an Oops the task is dead: a later step on it fails and says why', async () => {
    const text = readFileSync(`${FIXTURES}worked-a-nopfn.yaml`, 'utf8') + '  - { task: p, op: read, addr: s }\n';
    const r = runScenario(await inline(text));
    expect(failed(r)).toEqual([{ step: 5, field: 'step', expected: 'the step runs', actual: 'task "p" is no longer alive (oops)', ok: false }]);
  });

  test("a fork by a task an Oops killed makes no child: the child's steps fail and say why, the run goes on", async () => {
    const text = readFileSync(`${FIXTURES}worked-a-nopfn.yaml`, 'utf8') +
      '  - { task: p, op: fork, child: c }\n  - { task: c, op: read, addr: s }\n  - { thread: c, op: exit }\n';
    const r = runScenario(await inline(text));
    expect(failed(r).map((f) => [f.step, f.actual])).toEqual([
      [5, 'task "p" is no longer alive (oops)'],
      [6, 'task "c" does not exist: the step that creates it did not run'],
      [7, 'task "c" does not exist: the step that creates it did not run'],
    ]);
    expect(r.steps).toHaveLength(7);
  });
});

describe('files', () => {
  test('open … as: names an fd for mmap fd:, a forked child inherits it, exit closes everything', async () => {
    const r = await run(`name: t
machine:
  arch: x86
  drivers: [pagecache]
tasks: [{ name: p }]
steps:
  - { task: p, op: open, path: /tmp/g, create: true, size: 8K, as: g }
  - { task: p, op: mmap, as: m, fd: g, length: 8K, prot: [read, write], flags: [shared] }
  - { task: p, op: write, addr: m, expect: { rss: { file: +1 }, normalPage: page } }
  - { task: p, op: fork, child: c }
  - { task: c, op: mmap, as: n, fd: g, length: 8K, prot: [read], flags: [shared] }
  - { task: c, op: read, addr: n, expect: { value: { sameAs: "p:m" }, pte: { pfn: { sameAs: "p:m" } }, page: { mapcount: +1 } } }
  - { task: p, op: mmap, as: x, file: /tmp/nope, length: 4K, prot: [read], flags: [shared], expect: { outcome: ENOENT } }
`);
    expect(failed(r)).toEqual([]);
    expect(r.leaks).toEqual([]);
    expect(r.passed).toBe(true);
  });
});
