// A plugin hook that throws while a step runs (a driver's ->fault, ->mmap, …) is a bug in the
// plugin, not in the model and not a kernel Oops: the model cannot tell what state the plugin left
// behind. The runtime hooks of every plugin loaded from outside the project (a path or a package
// name that is not a built-in) are wrapped in place here, so that such a throw reaches the runner
// as a PluginFault naming the plugin and the hook; the runner reports it as bad input (the
// scenario's plugin), with the step that ran it. So does a hook that returns what no C function of
// its kind could return (a string, NaN, undefined where the kernel takes an int or a pfn, an
// object as vmf->page): a wrong *type*, not a wrong value — a pfn out of range is still a number
// the kernel would take, and what it does with it is the model's business. Load-time hooks (validate, paths, init, the arch's
// shape hooks) are not wrapped: the core and the resolver report those with the settings field.
// Errors the core throws on purpose pass through unchanged: a KernelBug is an Oops outcome, a
// ConfigError / GupLivelock / StepFailure have their own handling.

import { ConfigError, KernelBug, type ArchSpec, type Driver } from '@mixedmap/core';

export class PluginFault extends Error {
  constructor(
    readonly kind: 'arch' | 'driver',
    /** the plugin object (driver or arch) whose hook failed */
    readonly plugin: object,
    /** e.g. "mmap", "vm_ops.fault" */
    readonly hook: string,
    /** what the hook threw (undefined when it returned a value of the wrong kind) */
    readonly thrown: unknown,
    /** what it returned instead of what the kernel takes ("returned the string "x", not a pfn") */
    readonly returned?: string,
  ) {
    const name = String((plugin as { name?: unknown }).name ?? '?');
    const what = returned ?? `threw: ${thrownText(thrown)}`;
    super(`${kind} "${name}": its ${hook} hook ${what}`);
    this.name = 'PluginFault';
    this.what = what;
  }

  /** "threw: …" or "returned …, not …" */
  readonly what: string;
}

function thrownText(e: unknown): string {
  if (e instanceof Error) return `${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message}`;
  if (typeof e === 'string') return e;
  try {
    return JSON.stringify(e) ?? String(e);
  } catch {
    return String(e);
  }
}

/** Errors the core (or the runner) throws on purpose and handles itself. */
const PASS_THROUGH = new Set(['GupLivelock', 'StepFailure', 'DriverError', 'ArchError', 'KernelVersionError']);

function passesThrough(e: unknown): boolean {
  if (e instanceof KernelBug || e instanceof ConfigError || e instanceof PluginFault) return true;
  if (!(e instanceof Error)) return false;
  for (let p = Object.getPrototypeOf(e); p && p !== Error.prototype; p = Object.getPrototypeOf(p)) {
    if (PASS_THROUGH.has(p.constructor?.name)) return true;
  }
  return false;
}

const GUARDED = Symbol.for('mixedmap.scenario.guarded');

type Fn = ((...args: unknown[]) => unknown) & { [GUARDED]?: true };

/** Checks what a hook returned (and left in its arguments); returns why it is not what the kernel takes. */
type ReturnCheck = (r: unknown, args: unknown[]) => string | undefined;

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : `the number ${v}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 30 ? `${v.slice(0, 30)}…` : v)}`;
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

/** An integer (a pfn, VM_FAULT_* bits, 0 or -errno): what the kernel's C function returns. */
const integer = (what: string): ReturnCheck => (r) => (Number.isSafeInteger(r) ? undefined : `returned ${describe(r)}, not ${what}`);

function guardFn(owner: Record<string, unknown>, key: string, kind: 'arch' | 'driver', plugin: object, hook: string, after?: (args: unknown[]) => void, check?: ReturnCheck): void {
  const fn = owner[key] as Fn | undefined;
  if (typeof fn !== 'function' || fn[GUARDED]) return;
  const desc = Object.getOwnPropertyDescriptor(owner, key);
  if (!desc || (!desc.writable && !desc.set) || Object.isFrozen(owner)) return;
  const guarded: Fn = function (this: unknown, ...args: unknown[]): unknown {
    let r: unknown;
    try {
      r = fn.apply(this, args);
    } catch (e) {
      if (passesThrough(e)) throw e;
      throw new PluginFault(kind, plugin, hook, e);
    }
    const bad = check?.(r, args);
    if (bad) throw new PluginFault(kind, plugin, hook, undefined, bad);
    after?.(args);
    return r;
  };
  guarded[GUARDED] = true;
  try {
    owner[key] = guarded;
  } catch {
    // a read-only plugin object: its throws stay internal errors
  }
}

const VM_OPS_HOOKS = ['open', 'close', 'nopage', 'nopfn', 'fault', 'pageMkwrite', 'access'] as const;

/** What each vm_operations hook must return (and, for ->fault, leave in vmf->page). */
const VM_OPS_RETURNS: Partial<Record<(typeof VM_OPS_HOOKS)[number], ReturnCheck>> = {
  nopage: integer('a pfn or NOPAGE_*'),
  nopfn: integer('a pfn or NOPFN_*'),
  fault: (r, args) => {
    if (!Number.isSafeInteger(r)) return `returned ${describe(r)}, not VM_FAULT_* bits`;
    const page = (args[1] as { page?: unknown } | null)?.page;
    return page === undefined || Number.isSafeInteger(page) ? undefined : `set vmf.page to ${describe(page)}, not a pfn`;
  },
  pageMkwrite: integer('0, a negative errno or VM_FAULT_* bits'),
  access: integer('a byte count or a negative errno'),
};

/** Wraps the vm_operations a driver's mmap installed (in place: vma_merge compares vm_ops). */
function guardVmOps(vma: unknown, d: Driver): void {
  const ops = (vma as { ops?: Record<string, unknown> } | null)?.ops;
  if (!ops || typeof ops !== 'object') return;
  for (const h of VM_OPS_HOOKS) guardFn(ops, h, 'driver', d, `vm_ops.${h}`, undefined, VM_OPS_RETURNS[h]);
}

/** Wraps a driver's runtime hooks (and the vm_ops its mmap installs). */
export function guardDriver(d: Driver): void {
  const o = d as unknown as Record<string, unknown>;
  guardFn(o, 'lookup', 'driver', d, 'lookup', undefined, (r) =>
    (r !== null && typeof r === 'object') || (Number.isSafeInteger(r) && (r as number) < 0) ? undefined : `returned ${describe(r)}, not an inode or a negative errno`);
  guardFn(o, 'truncate', 'driver', d, 'truncate', undefined, integer('0 or a negative errno'));
  guardFn(o, 'write', 'driver', d, 'write', undefined, integer('a byte count or a negative errno'));
  guardFn(o, 'shmemZeroSetup', 'driver', d, 'shmemZeroSetup', undefined, (r) => (r !== null && typeof r === 'object' ? undefined : `returned ${describe(r)}, not an inode`));
  guardFn(o, 'kernelRefs', 'driver', d, 'kernelRefs');
  // mmap(k, state, file, vma): the vma's ops are set by the time it returns
  guardFn(o, 'mmap', 'driver', d, 'mmap', (args) => guardVmOps(args[3], d), integer('0 or a negative errno'));
}

/** Wraps an arch's runtime hooks (pfnValid; the others run when the machine is built). */
export function guardArch(a: ArchSpec): void {
  guardFn(a as unknown as Record<string, unknown>, 'pfnValid', 'arch', a, 'pfnValid', undefined, (r) => (typeof r === 'boolean' ? undefined : `returned ${describe(r)}, not true or false`));
}
