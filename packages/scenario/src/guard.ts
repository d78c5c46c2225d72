// A plugin hook that throws while a step runs (a driver's ->fault, ->mmap, …) is a bug in the
// plugin, not in the model and not a kernel Oops: the model cannot tell what state the plugin left
// behind. The runtime hooks of every plugin loaded from outside the project (a path or a package
// name that is not a built-in) are wrapped in place here, so that such a throw reaches the runner
// as a PluginFault naming the plugin and the hook; the runner reports it as bad input (the
// scenario's plugin), with the step that ran it. Load-time hooks (validate, paths, init, the arch's
// shape hooks) are not wrapped: the core and the resolver report those with the settings field.
// Errors the core throws on purpose pass through unchanged: a KernelBug is an Oops outcome, a
// ConfigError / GupLivelock / StepFailure have their own handling.

import { ConfigError, KernelBug, type ArchSpec, type Driver } from '@mixedmap/core';

export class PluginFault extends Error {
  constructor(
    readonly kind: 'arch' | 'driver',
    /** the plugin object (driver or arch) whose hook threw */
    readonly plugin: object,
    /** e.g. "mmap", "vm_ops.fault" */
    readonly hook: string,
    readonly thrown: unknown,
  ) {
    const name = String((plugin as { name?: unknown }).name ?? '?');
    super(`${kind} "${name}": its ${hook} hook threw: ${thrownText(thrown)}`);
    this.name = 'PluginFault';
    this.detail = thrownText(thrown);
  }

  /** what the hook threw, as text */
  readonly detail: string;
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

function guardFn(owner: Record<string, unknown>, key: string, kind: 'arch' | 'driver', plugin: object, hook: string, after?: (args: unknown[]) => void): void {
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

/** Wraps the vm_operations a driver's mmap installed (in place: vma_merge compares vm_ops). */
function guardVmOps(vma: unknown, d: Driver): void {
  const ops = (vma as { ops?: Record<string, unknown> } | null)?.ops;
  if (!ops || typeof ops !== 'object') return;
  for (const h of VM_OPS_HOOKS) guardFn(ops, h, 'driver', d, `vm_ops.${h}`);
}

/** Wraps a driver's runtime hooks (and the vm_ops its mmap installs). */
export function guardDriver(d: Driver): void {
  const o = d as unknown as Record<string, unknown>;
  for (const h of ['lookup', 'truncate', 'write', 'shmemZeroSetup', 'kernelRefs']) guardFn(o, h, 'driver', d, h);
  // mmap(k, state, file, vma): the vma's ops are set by the time it returns
  guardFn(o, 'mmap', 'driver', d, 'mmap', (args) => guardVmOps(args[3], d));
}

/** Wraps an arch's runtime hooks (pfnValid; the others run when the machine is built). */
export function guardArch(a: ArchSpec): void {
  guardFn(a as unknown as Record<string, unknown>, 'pfnValid', 'arch', a, 'pfnValid');
}
