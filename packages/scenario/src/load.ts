// Loading a scenario: YAML → schema validation → typed Scenario → reference checks (tasks,
// threads, symbols, fds, step ids) → kernel version/variant/feature check. Everything is checked
// before anything runs; every problem is a ScenarioError with file, line, column and field.

import { open } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import { resolveFeatures, VM_FLAG_NAMES } from '@mixedmap/core';
import { ScenarioError, joinPath, type Locations, type ScenarioProblem } from './errors.js';
import { SCENARIO_SCHEMA } from './format.js';
import { parseAddress, type AddrExpr } from './schema-dsl.js';
import { parseAndValidate } from './validate.js';
import type { DriverRef, Expect, MachineSpec, Scenario, Step, TaskSpec } from './types.js';
import { resolvePlugins, type ResolvedPlugins, type PluginImporter } from './resolve.js';

export const ARCH_SHORT_NAMES = ['x86', 's390', 'arm'] as const;
export const DRIVER_SHORT_NAMES = ['pagecache', 'devmem', 'mspec', 'xip'] as const;

/** Ops whose step has an address (the pte, page and vma expectations look there). */
const ADDRESS_OPS = new Set(['mmap', 'munmap', 'mprotect', 'mlock', 'munlock', 'read', 'write', 'gup', 'gup_fast', 'follow_page', 'move_pages', 'access_process_vm']);
/** Arguments of DRIVER.OP / ARCH.OP steps that are addresses besides `addr` (resolved before the call). */
export const DRIVER_OP_ADDRESS_ARGS = ['vma', 'at'] as const;
/** Expectations that need the step to have an address. */
const NEEDS_ADDRESS: Array<keyof Expect> = ['pte', 'normalPage', 'vmaFlags', 'vmaFlagsNot', 'pgoff', 'value'];

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const isPathSpec = (s: string): boolean => s.startsWith('./') || s.startsWith('../') || s.startsWith('/') || /\.[cm]?js$/.test(s);

/** Parses and checks a scenario's text without loading its plugins. Throws ScenarioError. */
export function parseScenario(text: string, file: string): Scenario {
  const v = parseAndValidate(text, file, SCENARIO_SCHEMA);
  if (v.problems.length) throw new ScenarioError(v.problems);
  const raw = v.value as Raw;
  const locs = v.locs;
  const problems: ScenarioProblem[] = [];
  const fail = (field: string, message: string): void => {
    problems.push(locs.problem(field, message));
  };

  // ---- machine ----
  const m = raw.machine as Raw;
  const drivers: DriverRef[] = ((m.drivers ?? []) as unknown[]).map((d, i) => {
    const field = joinPath('machine.drivers', i);
    if (typeof d === 'string') return { spec: d, isPath: isPathSpec(d), field, settings: {} };
    const o = d as Raw;
    if ((o.name === undefined) === (o.path === undefined)) fail(field, 'give exactly one of name or path');
    const spec = (o.path ?? o.name ?? '') as string;
    return { spec, isPath: o.path !== undefined, field: joinPath(field, o.path !== undefined ? 'path' : 'name'), settings: (o.settings ?? {}) as Record<string, unknown> };
  });
  const machine: MachineSpec = {
    arch: { spec: m.arch, isPath: isPathSpec(m.arch), field: 'machine.arch' },
    kernel: m.kernel ?? '2.6.32',
    kernelOptions: m.kernelOptions ?? {},
    archOptions: m.archOptions ?? {},
    memory: m.memory ?? {},
    drivers,
    ...(m.debug !== undefined ? { debug: m.debug } : {}),
  };
  // kernel release, variants and feature overrides: the core's feature table decides
  try {
    resolveFeatures(machine.kernel, machine.kernelOptions as never);
  } catch (e) {
    const f = String((e as { field?: string }).field ?? 'kernel');
    const field = f === 'kernel' ? 'machine.kernel' : f === 'variant' ? 'machine.kernelOptions.variant' : `machine.kernelOptions.${f}`;
    fail(field, (e as Error).message);
  }

  // ---- tasks, threads ----
  const tasks: TaskSpec[] = (raw.tasks as Raw[]).map((t) => ({ name: t.name, threads: t.threads ?? [] }));
  interface TaskState { alive: boolean; symbols: Set<string>; fds: Set<string>; exitedAt?: string }
  const taskState = new Map<string, TaskState>();
  const threadOwner = new Map<string, string>();
  const claimName = (name: string, field: string, owner: string): boolean => {
    if (threadOwner.has(name)) {
      fail(field, `the name "${name}" is already used by a task or thread`);
      return false;
    }
    threadOwner.set(name, owner);
    return true;
  };
  tasks.forEach((t, i) => {
    if (claimName(t.name, `tasks[${i}].name`, t.name)) taskState.set(t.name, { alive: true, symbols: new Set(), fds: new Set() });
    t.threads.forEach((th, j) => claimName(th, `tasks[${i}].threads[${j}]`, t.name));
  });

  const checkAddr = (a: AddrExpr | undefined, field: string, defaultTask: string): void => {
    if (!a) return;
    const tname = a.task ?? defaultTask;
    const ts = taskState.get(tname);
    if (!ts) {
      fail(field, `unknown task "${tname}" in address "${a.text}"`);
      return;
    }
    if (a.sym !== undefined && !ts.symbols.has(a.sym)) {
      const known = [...ts.symbols];
      fail(field, `address "${a.text}" cannot be resolved: no mapping bound "${a.sym}" in task "${tname}" before this step` +
        (known.length ? ` (bound: ${known.join(', ')})` : ' (bind one with `as:` on an mmap step)'));
    }
  };

  // ---- steps ----
  const steps: Step[] = [];
  const ids = new Map<string, number>();
  (raw.steps as Raw[]).forEach((s, index) => {
    const field = `steps[${index}]`;
    const op = s.op as string;
    const args: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(s)) if (!['op', 'id', 'task', 'thread', 'note', 'expect'].includes(k)) args[k] = val;

    if (s.id !== undefined) {
      if (ids.has(s.id)) fail(`${field}.id`, `step id "${s.id}" is already used by steps[${ids.get(s.id)}]`);
      else if (/^\d+$/.test(s.id)) fail(`${field}.id`, 'a step id must not be a number (numbers select steps by position)');
      else ids.set(s.id, index);
    }

    // which task and thread
    let task: string | undefined;
    let thread: string | undefined;
    if (s.task !== undefined && s.thread !== undefined) fail(field, 'give either task or thread, not both');
    else if (s.task === undefined && s.thread === undefined) fail(field, 'needs task: or thread: (which process or thread runs this step)');
    else if (s.thread !== undefined) {
      const owner = threadOwner.get(s.thread);
      if (owner === undefined) fail(`${field}.thread`, `unknown thread "${s.thread}" (known here: ${[...threadOwner.keys()].join(', ')})`);
      else {
        task = owner;
        thread = s.thread;
      }
    } else {
      if (!taskState.has(s.task)) fail(`${field}.task`, `unknown task "${s.task}" (known here: ${[...taskState.keys()].join(', ')})`);
      else {
        task = s.task;
        thread = s.task;
      }
    }
    const ts = task !== undefined ? taskState.get(task) : undefined;
    if (ts && !ts.alive) fail(s.thread !== undefined ? `${field}.thread` : `${field}.task`, `task "${task}" has already exited (${ts.exitedAt})`);

    // addresses the op uses
    if (task !== undefined && ts) {
      if (args.addr !== undefined) checkAddr(args.addr as AddrExpr, `${field}.addr`, task);
      if (op.includes('.')) for (const k of DRIVER_OP_ADDRESS_ARGS) if (args[k] !== undefined) checkAddr(args[k] as AddrExpr, `${field}.${k}`, task);
      // op-specific rules and the names the op introduces
      switch (op) {
        case 'mmap': {
          const flags = args.flags as string[];
          const anon = flags.includes('anonymous');
          if (args.file !== undefined && args.fd !== undefined) fail(`${field}.fd`, 'give either file or fd, not both');
          if (anon && (args.file !== undefined || args.fd !== undefined)) fail(`${field}.flags`, 'an anonymous mapping takes no file or fd');
          if (!anon && args.file === undefined && args.fd === undefined) fail(`${field}.flags`, 'a mapping needs file:, fd: or flags: [anonymous]');
          if (args.mode !== undefined && args.file === undefined) fail(`${field}.mode`, 'mode applies to file: only (an fd: keeps the mode it was opened with)');
          if (args.fd !== undefined && !ts.fds.has(args.fd as string)) fail(`${field}.fd`, `unknown fd "${args.fd}" in task "${task}" (open it first with op: open, as: ${args.fd})`);
          if (args.as !== undefined) ts.symbols.add(args.as as string);
          break;
        }
        case 'open':
          if (args.as !== undefined) ts.fds.add(args.as as string);
          break;
        case 'fork': {
          const child = args.child as string;
          if (claimName(child, `${field}.child`, child)) taskState.set(child, { alive: true, symbols: new Set(ts.symbols), fds: new Set(ts.fds) });
          break;
        }
        case 'clone':
          claimName(args.name as string, `${field}.name`, task);
          break;
        case 'exit':
          ts.alive = false;
          ts.exitedAt = `at ${field}`;
          break;
        default:
          break;
      }
      // expectations are checked after the step ran: they may name what it introduced (a fork child)
      const e = s.expect as Expect | undefined;
      if (e) {
        if (e.page?.at) checkAddr(e.page.at, `${field}.expect.page.at`, task);
        if (e.value?.sameAs) checkAddr(e.value.sameAs, `${field}.expect.value.sameAs`, task);
        if (e.value?.differsFrom) checkAddr(e.value.differsFrom, `${field}.expect.value.differsFrom`, task);
        if (e.pte?.pfn && typeof e.pte.pfn === 'object') checkAddr(e.pte.pfn.sameAs, `${field}.expect.pte.pfn.sameAs`, task);
        for (const [k, p] of Object.entries(e.ptes ?? {})) {
          const kp = joinPath(`${field}.expect.ptes`, k);
          // keys were validated as addresses; parse again for the symbol check
          checkAddr(parseAddress(k), kp, task);
          if (p.pfn && typeof p.pfn === 'object') checkAddr(p.pfn.sameAs, `${kp}.pfn.sameAs`, task);
        }
        const hasAddr = ADDRESS_OPS.has(op) || args.addr !== undefined;
        for (const k of NEEDS_ADDRESS) {
          if (e[k] !== undefined && !hasAddr) fail(`${field}.expect.${k}`, `op "${op}" has no address; use ptes: { ADDR: … } or page: { at: ADDR } instead`);
        }
        if (e.page && !e.page.at && !hasAddr) fail(`${field}.expect.page`, `op "${op}" has no address; give page: { at: ADDR }`);
        for (const k of ['vmaFlags', 'vmaFlagsNot'] as const) {
          (e[k] ?? []).forEach((n, j) => {
            if (!VM_FLAG_NAMES.some(([, name]) => name === n)) fail(`${field}.expect.${k}[${j}]`, `unknown vm flag "${n}" (known: ${VM_FLAG_NAMES.map(([, x]) => x).join(', ')})`);
          });
        }
      }

    }
    const step: Step = { index, field, op, task: task ?? '', thread: thread ?? '', args };
    if (s.id !== undefined) step.id = s.id;
    if (s.note !== undefined) step.note = s.note;
    if (s.expect !== undefined) step.expect = s.expect;
    steps.push(step);
  });

  if (problems.length) throw new ScenarioError(problems);
  const scenario: Scenario = {
    file,
    dir: dirname(resolvePath(file)),
    name: raw.name,
    machine,
    tasks,
    steps,
    expectLeaks: raw.expectLeaks ?? false,
    locs,
  };
  if (raw.description !== undefined) scenario.description = raw.description;
  if (raw.reference !== undefined) scenario.reference = raw.reference;
  return scenario;
}

export interface LoadedScenario extends Scenario {
  plugins: ResolvedPlugins;
}

export interface LoadOptions {
  /** how plugin modules are imported (default: dynamic import with the resolution rules in resolve.ts) */
  importer?: PluginImporter;
}

/** The byte offset of the first byte that is not part of a well-formed UTF-8 sequence, or -1. */
function firstInvalidUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    const n = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0 || i + n >= b.length) return i;
    const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
    if (b[i + 1]! < lo || b[i + 1]! > hi) return i;
    for (let k = 2; k <= n; k++) if ((b[i + k]! & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return -1;
}

/** Scenario files are small; a bigger one (or /dev/zero) is not read to the end. */
const MAX_SCENARIO_BYTES = 16 * 1024 * 1024;

async function readCapped(file: string): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.alloc(1 << 16);
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > MAX_SCENARIO_BYTES) {
        throw new ScenarioError([{ file, line: 0, column: 0, field: '', message: `the file is larger than ${MAX_SCENARIO_BYTES >> 20} MiB: not a scenario` }]);
      }
      chunks.push(buf.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks);
  } finally {
    await fh.close();
  }
}

/**
 * Reads a scenario (or litmus) file as UTF-8 text. A file that cannot be read (missing, a
 * directory, no permission), is not UTF-8 or holds NUL bytes is a ScenarioError naming the place.
 */
export async function readScenarioText(file: string, what = 'the scenario'): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readCapped(file);
  } catch (e) {
    if (e instanceof ScenarioError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory, not a file' : code === 'EACCES' ? 'permission denied' : undefined;
    throw new ScenarioError([{ file, line: 0, column: 0, field: '', message: `cannot read ${what}: ${code ?? (e as Error).message}${why ? ` (${why})` : ''}` }]);
  }
  const at = (off: number): { line: number; column: number } => {
    let line = 1;
    let start = 0;
    for (let i = 0; i < off; i++) if (bytes[i] === 0x0a) {
      line++;
      start = i + 1;
    }
    return { line, column: Buffer.from(bytes.subarray(start, off)).toString('utf8').length + 1 };
  };
  const bad = firstInvalidUtf8(bytes);
  if (bad >= 0) {
    const utf16 = bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff));
    throw new ScenarioError([{ file, ...at(bad), field: '', message: `the file is not UTF-8 text: byte 0x${bytes[bad]!.toString(16).padStart(2, '0')} is not valid UTF-8${utf16 ? ' (it looks like UTF-16: save it as UTF-8)' : ''}` }]);
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw new ScenarioError([{ file, ...at(nul), field: '', message: 'the file holds a NUL byte: not a YAML text file' }]);
  return bytes.toString('utf8');
}

/** Reads, validates and checks a scenario and loads its arch and driver plugins. Throws ScenarioError. */
export async function loadScenario(src: string | { text: string; file: string }, opts: LoadOptions = {}): Promise<LoadedScenario> {
  let text: string;
  let file: string;
  if (typeof src === 'string') {
    file = src;
    text = await readScenarioText(src);
  } else {
    ({ text, file } = src);
  }
  const scenario = parseScenario(text, file);
  const plugins = await resolvePlugins(scenario, opts.importer);
  checkDriverOps(scenario, plugins, scenario.locs);
  return { ...scenario, plugins };
}

/** DRIVER.OP / ARCH.OP steps: the machine must have that driver (or arch) and it that operation. */
export function checkDriverOps(s: Scenario, plugins: ResolvedPlugins, locs: Locations): void {
  const names = new Map<string, { operations?: Record<string, unknown> }>(plugins.drivers.map((d) => [d.driver.name, d.driver]));
  if (plugins.arch.operations && !names.has(plugins.arch.name)) names.set(plugins.arch.name, plugins.arch);
  const problems: ScenarioProblem[] = [];
  for (const step of s.steps) {
    const dot = step.op.indexOf('.');
    if (dot < 0) continue;
    const dname = step.op.slice(0, dot);
    const opname = step.op.slice(dot + 1);
    const d = names.get(dname);
    if (!d) {
      problems.push(locs.problem(`${step.field}.op`, `no driver named "${dname}" in machine.drivers, nor an arch with operations (known: ${[...names.keys()].join(', ') || 'none'})`));
      continue;
    }
    if (!d.operations || !Object.prototype.hasOwnProperty.call(d.operations, opname)) {
      problems.push(locs.problem(`${step.field}.op`, `"${dname}" has no operation "${opname}" (known: ${Object.keys(d.operations ?? {}).join(', ') || 'none'})`));
    }
  }
  if (problems.length) throw new ScenarioError(problems);
}
