import { describe, expect, test } from 'vitest';
import { loadScenario, parseScenario, ScenarioError } from '../src/index.js';

const HEAD = `name: t
machine:
  arch: x86
tasks:
  - name: p
steps:
`;

/** 1-based [line, column] of the first occurrence of token in text (after `from` lines). */
function at(text: string, token: string, line: number): [number, number] {
  const l = text.split('\n')[line - 1]!;
  const i = l.indexOf(token);
  if (i < 0) throw new Error(`token ${token} not on line ${line}`);
  return [line, i + 1];
}

/** Parses text and returns the single ScenarioError it must raise. */
function problem(text: string, file = 'case.yaml') {
  try {
    parseScenario(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return e as ScenarioError;
  }
  throw new Error('expected a ScenarioError');
}

describe('validator error locations', () => {
  test('YAML syntax error: file, line and column of the broken token', () => {
    const e = problem(`${HEAD}  - { task: p, op: read, addr: 0x1000\n  - { task: p }\n`);
    expect(e.file).toBe('case.yaml');
    expect(e.line).toBe(8);
    expect(e.message).toMatch(/^case\.yaml:8:\d+: YAML syntax error/);
  });

  test('unknown field: points at the key, names the field path and suggests the near name', () => {
    const text = `${HEAD}  - { task: p, op: mmap, length: 4K, prot: [read], flags: [private, anonymous], lenght: 8K }\n`;
    const e = problem(text);
    expect(e.field).toBe('steps[0].lenght');
    expect([e.line, e.column]).toEqual(at(text, 'lenght', 7));
    expect(e.reason).toMatch(/unknown field "lenght" \(did you mean "length"\?\)/);
  });

  test('unknown field deep inside an expectation', () => {
    const text = `${HEAD}  - task: p\n    op: read\n    addr: 0x1000\n    expect:\n      pte:\n        writable: true\n`;
    const e = problem(text);
    expect(e.field).toBe('steps[0].expect.pte.writable');
    expect([e.line, e.column]).toEqual([12, 9]);
  });

  test('wrong type: says what was expected and what was found', () => {
    const text = `${HEAD}  - { task: p, op: gup, addr: 0x1000, pages: two }\n`;
    const e = problem(text);
    expect(e.field).toBe('steps[0].pages');
    expect([e.line, e.column]).toEqual(at(text, 'two', 7));
    expect(e.reason).toBe('expected an integer, got string "two"');
  });

  test('wrong type for a size and for an enum value', () => {
    const e1 = problem(`${HEAD}  - { task: p, op: mmap, length: lots, prot: [read], flags: [private, anonymous] }\n`);
    expect(e1.field).toBe('steps[0].length');
    expect(e1.reason).toMatch(/expected a size/);
    const t2 = `${HEAD}  - { task: p, op: mmap, length: 4K, prot: [read, rwx], flags: [private, anonymous] }\n`;
    const e2 = problem(t2);
    expect(e2.field).toBe('steps[0].prot[1]');
    expect([e2.line, e2.column]).toEqual(at(t2, 'rwx', 7));
    expect(e2.reason).toMatch(/unknown value "rwx" \(expected one of: read, write, exec, none\)/);
  });

  test('unknown op lists the known ones', () => {
    const text = `${HEAD}  - { task: p, op: reed, addr: 0x1000 }\n`;
    const e = problem(text);
    expect(e.field).toBe('steps[0].op');
    expect([e.line, e.column]).toEqual(at(text, 'reed', 7));
    expect(e.reason).toMatch(/unknown op "reed" \(did you mean "read"\?\) \(known: mmap, .*, or DRIVER\.OP\)/);
  });

  test('missing required field', () => {
    const e = problem(`${HEAD}  - { task: p, op: read }\n`);
    expect(e.field).toBe('steps[0].addr');
    expect(e.line).toBe(7);
    expect(e.reason).toBe('missing required field "addr"');
  });

  test('unknown task and unknown thread', () => {
    const text = `${HEAD}  - { task: q, op: read, addr: 0x1000 }\n`;
    const e = problem(text);
    expect(e.field).toBe('steps[0].task');
    expect([e.line, e.column]).toEqual(at(text, 'q,', 7));
    expect(e.reason).toMatch(/unknown task "q" \(known here: p\)/);
    const e2 = problem(`${HEAD}  - { thread: t1, op: read, addr: 0x1000 }\n`);
    expect(e2.field).toBe('steps[0].thread');
    expect(e2.reason).toMatch(/unknown thread "t1"/);
  });

  test('a forked child is a task only after its fork step; an exited task is gone', () => {
    const e = problem(`${HEAD}  - { task: c, op: exit }\n  - { task: p, op: fork, child: c }\n`);
    expect(e.field).toBe('steps[0].task');
    const e2 = problem(`${HEAD}  - { task: p, op: exit }\n  - { task: p, op: read, addr: 0x1000 }\n`);
    expect(e2.field).toBe('steps[1].task');
    expect(e2.reason).toMatch(/has already exited \(at steps\[0\]\)/);
    expect(() => parseScenario(`${HEAD}  - { task: p, op: clone, name: t1 }\n  - { thread: t1, op: exit }\n`, 'x.yaml')).not.toThrow();
  });

  test('unresolvable address: a symbol no earlier mmap bound, at its line and column', () => {
    const text = `${HEAD}  - { task: p, op: mmap, as: m, length: 4K, prot: [read], flags: [private, anonymous] }\n  - { task: p, op: read, addr: n+0x1000 }\n`;
    const e = problem(text);
    expect(e.field).toBe('steps[1].addr');
    expect([e.line, e.column]).toEqual(at(text, 'n+0x1000', 8));
    expect(e.reason).toMatch(/address "n\+0x1000" cannot be resolved: no mapping bound "n" in task "p" before this step \(bound: m\)/);
  });

  test('symbols are per task; a forked child inherits the parent symbols', () => {
    const base = `name: t\nmachine: { arch: x86 }\ntasks: [{ name: p }, { name: q }]\nsteps:\n  - { task: p, op: mmap, as: m, length: 4K, prot: [read], flags: [private, anonymous] }\n`;
    const e = problem(`${base}  - { task: q, op: read, addr: m }\n`);
    expect(e.field).toBe('steps[1].addr');
    expect(() => parseScenario(`${base}  - { task: p, op: fork, child: c }\n  - { task: c, op: read, addr: m+1p, expect: { ptes: { "p:m": { present: false } } } }\n`, 'x.yaml')).not.toThrow();
    const e2 = problem(`${base}  - { task: p, op: read, addr: m, expect: { ptes: { "q:m": { present: false } } } }\n`);
    expect(e2.field).toBe('steps[1].expect.ptes[q:m]');
  });

  test('a malformed address expression', () => {
    const e = problem(`${HEAD}  - { task: p, op: read, addr: "m + " }\n`);
    expect(e.field).toBe('steps[0].addr');
    expect(e.reason).toMatch(/expected an address/);
  });

  test('pte expectations on an op without an address are rejected', () => {
    const e = problem(`${HEAD}  - { task: p, op: fork, child: c, expect: { pte: { present: true } } }\n`);
    expect(e.field).toBe('steps[0].expect.pte');
  });

  test('unknown kernel version, variant and feature name the machine field', () => {
    const v = problem(`name: t\nmachine:\n  arch: x86\n  kernel: "2.6.40"\ntasks: [{ name: p }]\nsteps: []\n`);
    expect(v.field).toBe('machine.kernel');
    expect([v.line, v.column]).toEqual([4, 11]); // the value "2.6.40"
    expect(v.reason).toMatch(/unknown kernel version "2\.6\.40"/);
    const w = problem(`name: t\nmachine:\n  arch: x86\n  kernelOptions: { variant: [do_no_pfn-v9] }\ntasks: [{ name: p }]\nsteps: []\n`);
    expect(w.field).toBe('machine.kernelOptions.variant');
    expect(w.reason).toMatch(/unknown kernel variant "do_no_pfn-v9"/);
    const f = problem(`name: t\nmachine:\n  arch: x86\n  kernelOptions: { features: { noSuchFeature: true } }\ntasks: [{ name: p }]\nsteps: []\n`);
    expect(f.field).toBe('machine.kernelOptions.features.noSuchFeature');
  });

  test('duplicate task/thread names and step ids', () => {
    const e = problem(`name: t\nmachine: { arch: x86 }\ntasks: [{ name: p, threads: [p] }]\nsteps: []\n`);
    expect(e.field).toBe('tasks[0].threads[0]');
    const e2 = problem(`${HEAD}  - { id: a, task: p, op: exit }\n  - { id: a, task: p, op: clone, name: t }\n`);
    expect(e2.field).toBe('steps[1].id');
  });

  test('every problem is collected, the first one is the error itself', () => {
    const text = `${HEAD}  - { task: p, op: read, addr: 0x1000, bogus: 1 }\n  - { task: p, op: gup, addr: 0x1000, pages: x }\n`;
    const e = problem(text);
    expect(e.problems.map((p) => p.field)).toEqual(['steps[0].bogus', 'steps[1].pages']);
    expect(e.message).toBe(`case.yaml:7:${at(text, 'bogus', 7)[1]}: steps[0].bogus: ${e.problems[0]!.message}`);
  });
});

describe('plugin resolution errors (loadScenario)', () => {
  test('unknown arch names the file, line, column and field', async () => {
    const text = `name: t\nmachine:\n  arch: vax\ntasks: [{ name: p }]\nsteps: []\n`;
    const err = await loadScenario({ text, file: 'a.yaml' }).catch((e) => e);
    expect(err).toBeInstanceOf(ScenarioError);
    expect([err.file, err.line, err.column, err.field]).toEqual(['a.yaml', 3, 9, 'machine.arch']);
    expect(err.reason).toMatch(/unknown arch "vax": package vax is not installed \(short names: x86\|s390\|arm;/);
  });

  test('an arch path that does not exist', async () => {
    const file = new URL('./fixtures/none.yaml', import.meta.url).pathname;
    const text = `name: t\nmachine:\n  arch: ./nope-arch.js\ntasks: [{ name: p }]\nsteps: []\n`;
    const err = await loadScenario({ text, file }).catch((e) => e);
    expect(err.field).toBe('machine.arch');
    expect(err.reason).toMatch(/no such file .*nope-arch\.js/);
  });

  test('unknown arch option and bad driver settings come from the plugins themselves', async () => {
    const file = new URL('./fixtures/none.yaml', import.meta.url).pathname;
    const text = `name: t\nmachine:\n  arch: ./toy-arch.js\n  archOptions: { colour: 1 }\n  drivers:\n    - { path: ./toy-driver.js, settings: { size: big } }\ntasks: [{ name: p }]\nsteps: []\n`;
    const err = (await loadScenario({ text, file }).catch((e) => e)) as ScenarioError;
    expect(err.problems.map((p) => [p.field, p.line])).toEqual([
      ['machine.archOptions.colour', 4],
      ['machine.drivers[0].settings.size', 6],
    ]);
  });

  test("a misspelt setting of a built-in driver is an error at that key, not a setting silently left at its default", async () => {
    const file = new URL('./fixtures/none.yaml', import.meta.url).pathname;
    const text = `name: t\nmachine:\n  arch: x86\n  drivers:\n    - { name: pagecache, settings: { mout: /mnt } }\n    - { name: devmem, settings: { strct: true } }\ntasks: [{ name: p }]\nsteps: []\n`;
    const err = (await loadScenario({ text, file }).catch((e) => e)) as ScenarioError;
    expect(err.problems.map((p) => [p.field, p.line, p.message])).toEqual([
      ['machine.drivers[0].settings.mout', 5, 'driver "pagecache": unknown setting "mout" (known: mount, files)'],
      ['machine.drivers[1].settings.strct', 6, 'driver "devmem": unknown setting "strct" (known: strict, exclusive, kmem, pageOffset, cache)'],
    ]);
  });

  test('a DRIVER.OP step needs that driver (or an arch of that name) on the machine and that operation', async () => {
    const file = new URL('./fixtures/none.yaml', import.meta.url).pathname;
    const base = `name: t\nmachine:\n  arch: ./toy-arch.js\n  drivers: [./toy-driver.js]\ntasks: [{ name: p }]\nsteps:\n`;
    const e1 = await loadScenario({ text: `${base}  - { task: p, op: mspec.alloc }\n`, file }).catch((e) => e);
    expect(e1.field).toBe('steps[0].op');
    expect(e1.reason).toMatch(/no driver named "mspec" in machine.drivers, nor an arch with operations \(known: toydev, toy\)/);
    const e2 = await loadScenario({ text: `${base}  - { task: p, op: toydev.question }\n`, file }).catch((e) => e);
    expect(e2.reason).toMatch(/"toydev" has no operation "question" \(known: answer\)/);
    const e3 = await loadScenario({ text: `${base}  - { task: p, op: toy.pong }\n`, file }).catch((e) => e);
    expect(e3.reason).toMatch(/"toy" has no operation "pong" \(known: ping\)/);
  });

  test('an unreadable file is a ScenarioError too', async () => {
    const err = await loadScenario('/no/such/dir/x.yaml').catch((e) => e);
    expect(err).toBeInstanceOf(ScenarioError);
    expect(err.reason).toMatch(/cannot read the scenario: ENOENT/);
  });
});

test('a number where a string belongs (kernel: 2.6) says to quote it', () => {
  let err: ScenarioError | undefined;
  try {
    parseScenario('name: t\nmachine: { arch: x86, kernel: 2.6 }\ntasks: [{ name: p }]\nsteps: []\n', 'k.yaml');
  } catch (e) {
    err = e as ScenarioError;
  }
  expect(err?.field).toBe('machine.kernel');
  expect(err?.reason).toBe('expected a string, got number 2.6 (quote it: "2.6")');
});
