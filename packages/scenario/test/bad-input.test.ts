// Input nobody here wrote: numbers that do not fit, files that are not UTF-8 text, absurd nesting,
// plugins that are not plugins, and plugin hooks that throw while a step runs. Each must be a
// ScenarioError naming the file, line, column and field — never a TypeError out of the runner.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadScenario, parseScenario, runScenario, ScenarioError } from '../src/index.js';

const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
const HEAD = `name: t
machine: { arch: x86 }
tasks: [{ name: p }]
steps:
  - { task: p, op: mmap, as: m, length: 8K, prot: [read, write], flags: [private, anonymous] }
`;

function problems(text: string): ScenarioError {
  try {
    parseScenario(text, 'case.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return e as ScenarioError;
  }
  throw new Error('expected a ScenarioError');
}

describe('numbers that cannot be used as written', () => {
  test('a size, address or count beyond 64 bits is refused at its line and column', () => {
    const e = problems(`${HEAD}  - { task: p, op: munmap, addr: m, length: 1e30 }\n  - { task: p, op: read, addr: 99999999999999999999999 }\n  - { task: p, op: gup, addr: m, pages: 1e30 }\n`);
    expect(e.problems.map((p) => [p.field, p.line, p.column])).toEqual([
      ['steps[1].length', 6, 45],
      ['steps[2].addr', 7, 32],
      ['steps[3].pages', 8, 41],
    ]);
    expect(e.problems[0]!.message).toBe('1e30 is too large (the largest is 2^64−1, 0xffffffffffffffff)');
    expect(e.problems[2]!.message).toMatch(/1e30 is too large \(integers here are exact up to 2\^53−1\)/);
  });

  test('a number above 2^53 that a double would round is refused, not silently changed', () => {
    const e = problems(`${HEAD}  - { task: p, op: read, addr: 9007199254740993 }\n  - { task: p, op: munmap, addr: m, length: "9007199254740993" }\n`);
    expect(e.problems.map((p) => p.field)).toEqual(['steps[1].addr', 'steps[2].length']);
    expect(e.problems[0]!.message).toMatch(/9007199254740993 cannot be used exactly: numbers above 2\^53 lose precision \(it would become 9007199254740992\)/);
    // exact large values are fine (a kernel address above TASK_SIZE is a SIGSEGV, not bad input)
    expect(() => parseScenario(`${HEAD}  - { task: p, op: read, addr: 0xffffffffff600000, expect: { outcome: SIGSEGV } }\n`, 'ok.yaml')).not.toThrow();
  });

  test('an address as a ptes key is checked the same way', () => {
    const e = problems(`${HEAD}  - { task: p, op: exit, expect: { ptes: { "0x1ffffffffffffffffff": { none: true }, "0x10-0x20": { none: true } } } }\n`);
    expect(e.problems.map((p) => [p.field, p.message])).toEqual([
      ['steps[1].expect.ptes[0x1ffffffffffffffffff]', '"0x1ffffffffffffffffff" is too large (an address is at most 2^64−1, 0xffffffffffffffff)'],
      ['steps[1].expect.ptes[0x10-0x20]', '"0x10-0x20" is a negative address'],
    ]);
  });

  test('a literal address expression below 0 is refused; .inf is named as written', () => {
    const e = problems(`${HEAD}  - { task: p, op: read, addr: 0x10-0x20 }\n  - { task: p, op: read, addr: .inf }\n`);
    expect(e.problems.map((p) => [p.field, p.message])).toEqual([
      ['steps[1].addr', '"0x10-0x20" is a negative address'],
      ['steps[2].addr', 'expected an address (a number, 0x…, SYM, SYM+0x1000, SYM+3p, or task:SYM…), got number .inf'],
    ]);
  });

  test('a symbol address that resolves below 0 at run time fails the step (it does not crash the run)', async () => {
    const s = await loadScenario({ text: `${HEAD}  - { task: p, op: write, addr: m-0x50000000 }\n`, file: 'neg.yaml' });
    const r = runScenario(s);
    expect(r.passed).toBe(false);
    expect(r.steps[1]!.observation.error).toMatch(/address "m-0x50000000" is below 0 \(m is 0x40000000\)/);
  });

  test('memory the model cannot allocate is a size problem at machine.memory.ram', async () => {
    const s = await loadScenario({ text: HEAD.replace('{ arch: x86 }', '{ arch: x86, memory: { ram: 0x100000000000000 } }'), file: 'ram.yaml' });
    const e = (() => {
      try {
        runScenario(s);
      } catch (x) {
        return x as ScenarioError;
      }
      throw new Error('expected a ScenarioError');
    })();
    expect(e).toBeInstanceOf(ScenarioError);
    expect([e.field, e.line]).toEqual(['machine.memory.ram', 2]);
    expect(e.reason).toMatch(/^too much memory for the model to allocate its per-page arrays/);
  });
});

describe('files that are not YAML text', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mixedmap-bad-input-'));
  const file = (name: string, bytes: Buffer | string): string => {
    const f = join(dir, name);
    writeFileSync(f, bytes);
    return f;
  };

  test('invalid UTF-8: the line and column of the first bad byte', async () => {
    const f = file('latin1.yaml', Buffer.concat([Buffer.from('name: t\nmachine: { arch: x86 }\ndescription: caf'), Buffer.from([0xe9]), Buffer.from('\n')]));
    const e = await loadScenario(f).catch((x) => x);
    expect(e).toBeInstanceOf(ScenarioError);
    expect([e.line, e.column]).toEqual([3, 17]);
    expect(e.reason).toBe('the file is not UTF-8 text: byte 0xe9 is not valid UTF-8');
  });

  test('UTF-16 and NUL bytes are named as such', async () => {
    const u16 = await loadScenario(file('u16.yaml', Buffer.from('\ufeffname: t\n', 'utf16le'))).catch((x) => x);
    expect(u16.reason).toMatch(/not UTF-8 text: byte 0xff .*it looks like UTF-16: save it as UTF-8/);
    const nul = await loadScenario(file('nul.yaml', Buffer.from('name: t\n\0\0'))).catch((x) => x);
    expect([nul.line, nul.column, nul.reason]).toEqual([2, 1, 'the file holds a NUL byte: not a YAML text file']);
  });

  test('a directory or a missing file', async () => {
    mkdirSync(join(dir, 'sub.yaml'));
    const d = await loadScenario(join(dir, 'sub.yaml')).catch((x) => x);
    expect(d.reason).toBe('cannot read the scenario: EISDIR (a directory, not a file)');
    const m = await loadScenario(join(dir, 'missing.yaml')).catch((x) => x);
    expect(m.reason).toBe('cannot read the scenario: ENOENT (no such file)');
  });

  test('an endless file (/dev/zero, Linux) is not read to the end', async () => {
    const z = await loadScenario('/dev/zero').catch((x) => x);
    expect(z).toBeInstanceOf(ScenarioError);
    expect(z.reason).toBe('the file is larger than 16 MiB: not a scenario');
  });

  test('two YAML documents in one file', () => {
    const e = problems(`${HEAD}---\nname: second\n`);
    expect([e.line, e.reason]).toEqual([6, 'YAML syntax error: the file holds more than one YAML document (a --- line): one scenario per file']);
  });

  test('a YAML merge key is named as such (it was "missing required field op")', () => {
    const e = problems(`${HEAD}  - &r { task: p, op: read, addr: m }\n  - { <<: *r, id: again }\n`);
    expect([e.field, e.line, e.column, e.reason]).toEqual(['steps[2]', 7, 7, 'YAML merge keys (<<: *anchor) are not supported: write the fields out (an alias *anchor can stand for a whole value)']);
  });

  test('absurdly deep nesting is a syntax error, not a stack overflow', () => {
    const e = problems(`${HEAD}  - { task: p, op: read, addr: m, note: ${'['.repeat(20000)}${']'.repeat(20000)} }\n`);
    expect(e.reason).toBe('YAML syntax error: the document is nested too deeply');
    expect(e.line).toBe(6);
  });
});

describe('plugins that are not plugins', () => {
  const load = (machine: string): Promise<ScenarioError> =>
    loadScenario({ text: `name: t\nmachine: ${machine}\ntasks: [{ name: p }]\nsteps: []\n`, file: join(FIXTURES, 'case.yaml') }).then(
      () => {
        throw new Error('expected a ScenarioError');
      },
      (x: unknown) => x as ScenarioError,
    );

  test('a default export of null, or none at all', async () => {
    const a = await load('{ arch: ./null-plugin.js }');
    expect([a.field, a.reason]).toEqual(['machine.arch', 'cannot load arch "./null-plugin.js": its default export is null: export the arch (export default defineArch({ … }))']);
    const d = await load('{ arch: x86, drivers: [./no-default-plugin.js] }');
    expect([d.field, d.line, d.reason]).toEqual(['machine.drivers[0]', 2, 'cannot load driver "./no-default-plugin.js": the module has no default export: export the driver (export default defineDriver({ … }))']);
  });

  test('a validate hook that throws or returns no list, a paths hook that returns no list', async () => {
    const v = await load('{ arch: x86, drivers: [{ path: ./bad-hooks-driver.js, settings: { bad: validate-throws } }] }');
    expect([v.field, v.reason]).toEqual(['machine.drivers[0].settings', 'driver "badhooks": its validate hook threw (a bug in the driver): validate exploded']);
    const s = await load('{ arch: x86, drivers: [{ path: ./bad-hooks-driver.js, settings: { bad: validate-string } }] }');
    expect(s.reason).toBe('driver "badhooks": its validate hook must return a list of { field, message } problems, not the string "nope"');
    const p = await load('{ arch: x86, drivers: [{ path: ./bad-hooks-driver.js, settings: { bad: paths-number } }] }');
    expect([p.field, p.reason]).toEqual(['machine.drivers[0].path', 'driver "badhooks": its paths hook must return a list of path strings, not number 42']);
  });
});

describe('a plugin hook that throws while a step runs is the plugin\'s fault, named at the step', () => {
  const scenario = (throwIn: string) => `name: t
machine: { arch: x86, kernel: "2.6.27", drivers: [{ path: ./faulty-driver.js, settings: { throwIn: ${throwIn} } }] }
tasks: [{ name: p }]
steps:
  - { task: p, op: mmap, as: m, file: /dev/faulty, length: 8K, prot: [read], flags: [shared] }
  - { task: p, op: read, addr: m, expect: { outcome: SIGBUS } }
`;
  const run = async (throwIn: string): Promise<ScenarioError> => {
    const s = await loadScenario({ text: scenario(throwIn), file: join(FIXTURES, 'faulty.yaml') });
    try {
      runScenario(s);
    } catch (e) {
      expect(e).toBeInstanceOf(ScenarioError);
      return e as ScenarioError;
    }
    throw new Error('expected a ScenarioError');
  };

  test('vm_ops.fault, mmap, lookup: the step, the driver, where the scenario loads it, the hook and what it threw', async () => {
    const f = await run('fault');
    expect([f.field, f.line, f.column]).toEqual(['steps[1]', 6, 5]);
    expect(f.reason).toBe('driver "faulty" (machine.drivers[0]: ./faulty-driver.js): its vm_ops.fault hook threw: fault exploded — a bug in the plugin, not a kernel Oops');
    const m = await run('mmap');
    expect([m.field, m.reason]).toEqual(['steps[0]', 'driver "faulty" (machine.drivers[0]: ./faulty-driver.js): its mmap hook threw: TypeError: Cannot read properties of undefined (reading \'flags\') — a bug in the plugin, not a kernel Oops']);
    const l = await run('lookup');
    expect(l.reason).toMatch(/its lookup hook threw: lookup exploded/);
  });

  test('a hook that returns what no kernel function of its kind returns (a wrong type, not a wrong value)', async () => {
    const f = await run('nothing, returns: fault-string');
    expect(f.reason).toBe('driver "faulty" (machine.drivers[0]: ./faulty-driver.js): its vm_ops.fault hook returned the string "NOPAGE", not VM_FAULT_* bits — a bug in the plugin, not a kernel Oops');
    const p = await run('nothing, returns: page-object');
    expect(p.reason).toMatch(/its vm_ops\.fault hook set vmf\.page to an object, not a pfn/);
    const l = await run('nothing, returns: lookup-number');
    expect([l.field, l.reason]).toEqual(['steps[0]', 'driver "faulty" (machine.drivers[0]: ./faulty-driver.js): its lookup hook returned the number 17, not an inode or a negative errno — a bug in the plugin, not a kernel Oops']);
  });

  test('a hook that throws after the last step (vm_ops.close at exit) is named at the driver', async () => {
    const c = await run('close');
    expect([c.field, c.line]).toEqual(['machine.drivers[0]', 2]);
    expect(c.reason).toBe('driver "faulty": its vm_ops.close hook threw while the tasks exited after the last step: close exploded — a bug in the plugin, not a kernel Oops');
  });

  test('the same driver without the bug runs normally (the hooks are wrapped, not changed)', async () => {
    const s = await loadScenario({ text: scenario('nothing'), file: join(FIXTURES, 'faulty.yaml') });
    const r = runScenario(s);
    expect(r.steps.map((x) => x.observation.outcome)).toEqual(['ok', 'SIGBUS']);
    expect(r.passed).toBe(true);
  });
});
