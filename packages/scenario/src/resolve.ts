// The one plugin resolver: arch and driver plugins by short name, package name or path, loaded
// with dynamic import. Errors name the scenario file, line and field.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { resolveArch, resolveFeatures, validateDriver, type ArchSpec, type Driver } from '@mixedmap/core';
import { ScenarioError, type ScenarioProblem } from './errors.js';
import { guardArch, guardDriver } from './guard.js';
import type { PluginRef, Scenario } from './types.js';

/** Imports a module by specifier (a package name or a file: URL). */
export type PluginImporter = (specifier: string) => Promise<unknown>;

export interface ResolvedPlugins {
  arch: ArchSpec;
  drivers: Array<{ driver: Driver; settings: Record<string, unknown> }>;
}

const ARCH_SHORT: Record<string, string> = { x86: '@mixedmap/arch-x86', s390: '@mixedmap/arch-s390', arm: '@mixedmap/arch-arm' };
const DRIVER_SHORT: Record<string, string> = {
  pagecache: '@mixedmap/driver-pagecache',
  devmem: '@mixedmap/driver-devmem',
  mspec: '@mixedmap/driver-mspec',
  xip: '@mixedmap/driver-xip',
};

const defaultImporter: PluginImporter = (s) => import(/* @vite-ignore */ s);

function isNotFound(e: unknown): boolean {
  const code = (e as { code?: string })?.code;
  const msg = String((e as Error)?.message ?? '');
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /Cannot find (module|package)|Failed to (resolve|load url)/i.test(msg);
}

/**
 * Loads the module a plugin reference names; returns its namespace. `instance` > 0 asks for a
 * separate module instance (a driver listed twice: each instance gets its own module, so that its
 * inodes name their own driver object and the machine finds each instance's state).
 */
async function importPlugin(ref: PluginRef, kind: 'arch' | 'driver', dir: string, importer: PluginImporter, instance = 0, relativeTo = 'the scenario file'): Promise<unknown> {
  const tag = (href: string): string => (instance > 0 ? `${href}?mixedmap-instance=${instance}` : href);
  if (ref.isPath) {
    const abs = isAbsolute(ref.spec) ? ref.spec : resolvePath(dir, ref.spec);
    if (!existsSync(abs)) throw new Error(`no such file ${abs} (paths are relative to ${relativeTo})`);
    return importer(tag(pathToFileURL(abs).href));
  }
  const pkg = (kind === 'arch' ? ARCH_SHORT : DRIVER_SHORT)[ref.spec] ?? ref.spec;
  if (instance === 0) {
    try {
      return await importer(pkg);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
  // Not a dependency of the runner (or a second instance, which needs the module's file): look
  // next to the runner, next to the scenario, then in the working directory.
  const bases = instance > 0 ? [fileURLToPath(import.meta.url), join(dir, 'noop.js'), join(process.cwd(), 'noop.js')] : [join(dir, 'noop.js'), join(process.cwd(), 'noop.js')];
  for (const base of bases) {
    let file: string;
    try {
      file = createRequire(base).resolve(pkg);
    } catch {
      continue;
    }
    return importer(tag(pathToFileURL(file).href));
  }
  const short = Object.keys(kind === 'arch' ? ARCH_SHORT : DRIVER_SHORT).join('|');
  throw new Error(`unknown ${kind} "${ref.spec}": package ${pkg} is not installed (short names: ${short}; or a package name, or a path like ./my-${kind}.js)`);
}

/** A plugin of the project itself (short name or @mixedmap/…): its exceptions are internal errors. */
function isBuiltin(ref: PluginRef, kind: 'arch' | 'driver'): boolean {
  return !ref.isPath && (ref.spec in (kind === 'arch' ? ARCH_SHORT : DRIVER_SHORT) || ref.spec.startsWith('@mixedmap/'));
}

function pluginOf(mod: unknown, kind: 'arch' | 'driver'): unknown {
  const m = mod as Record<string, unknown> | null;
  const make = kind === 'arch' ? 'defineArch' : 'defineDriver';
  if (!m || typeof m !== 'object') return m;
  if ('default' in m) {
    if (m.default === undefined || m.default === null) throw new Error(`its default export is ${m.default}: export the ${kind} (export default ${make}({ … }))`);
    return m.default;
  }
  if (m[kind] !== undefined) return m[kind];
  // a module whose named exports are the plugin's fields
  if (typeof m.name === 'string') return m;
  throw new Error(`the module has no default export: export the ${kind} (export default ${make}({ … }))`);
}

/** A thrown value's message (a plugin may throw anything, not only an Error). */
export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return typeof e === 'string' ? e : describeValue(e);
}

/** A short description of a value a plugin returned, for messages. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v} ${String(v)}`;
}

export async function resolvePlugins(s: Scenario, importer: PluginImporter = defaultImporter): Promise<ResolvedPlugins> {
  const problems: ScenarioProblem[] = [];
  const fail = (field: string, message: string): void => {
    problems.push(s.locs.problem(field, message));
  };
  const load = async (ref: PluginRef, kind: 'arch' | 'driver', instance = 0): Promise<unknown> => {
    try {
      return pluginOf(await importPlugin(ref, kind, s.dir, importer, instance), kind);
    } catch (e) {
      fail(ref.field, isNotFound(e) || /unknown|no such file/.test(errorText(e))
        ? errorText(e)
        : `cannot load ${kind} "${ref.spec}": ${errorText(e)}`);
      return undefined;
    }
  };

  const arch = (await load(s.machine.arch, 'arch')) as ArchSpec | undefined;
  if (arch) {
    try {
      resolveArch(arch, resolveFeatures(s.machine.kernel, s.machine.kernelOptions as never), s.machine.archOptions);
    } catch (e) {
      const f = String((e as { field?: string }).field ?? '');
      fail(f.startsWith('archOptions.') ? `machine.${f}` : 'machine.arch', (e as Error).message);
    }
  }
  const drivers: ResolvedPlugins['drivers'] = [];
  // every path (device node, mount point) served so far → who serves it
  const served = new Map<string, { name: string; field: string }>();
  const seenSpecs = new Map<string, number>();
  for (const ref of s.machine.drivers) {
    // a module listed again is loaded again: one module instance per driver instance
    const key = `${ref.isPath ? 'path' : 'pkg'}:${ref.spec}`;
    const instance = seenSpecs.get(key) ?? 0;
    seenSpecs.set(key, instance + 1);
    const d = await load(ref, 'driver', instance);
    if (d === undefined) continue;
    try {
      validateDriver(d);
    } catch (e) {
      fail(ref.field, (e as Error).message);
      continue;
    }
    const settingsField = ref.field.replace(/\.(name|path)$/, '.settings');
    let errs: unknown;
    try {
      errs = d.validate?.(ref.settings) ?? [];
    } catch (e) {
      fail(settingsField, `driver "${d.name}": its validate hook threw (a bug in the driver): ${errorText(e)}`);
      continue;
    }
    if (!Array.isArray(errs)) {
      fail(ref.field, `driver "${d.name}": its validate hook must return a list of { field, message } problems, not ${describeValue(errs)}`);
      continue;
    }
    for (const err of errs as Array<{ field?: unknown; message?: unknown } | null>) {
      const f = err && typeof err === 'object' && typeof err.field === 'string' && err.field ? `${settingsField}.${err.field}` : settingsField;
      const msg = err && typeof err === 'object' && err.message !== undefined ? String(err.message) : `invalid settings (the validate hook returned ${describeValue(err)})`;
      fail(f, `driver "${d.name}": ${msg}`);
    }
    if (errs.length) continue;
    // The same driver may be listed twice with different settings (two device nodes, two
    // mounts); two instances serving the same path could not both be opened.
    let paths: string[];
    try {
      paths = d.paths(ref.settings);
    } catch (e) {
      fail(settingsField, `driver "${d.name}": ${errorText(e)}`);
      continue;
    }
    if (!Array.isArray(paths) || paths.some((p) => typeof p !== 'string')) {
      fail(ref.field, `driver "${d.name}": its paths hook must return a list of path strings, not ${describeValue(paths)}`);
      continue;
    }
    const clash = paths.find((p) => served.has(p));
    if (clash !== undefined) {
      const other = served.get(clash)!;
      fail(ref.field, other.name === d.name
        ? `driver "${d.name}" is listed twice with the same path ${clash} (also ${other.field}); give the second instance its own device node or mount point in its settings`
        : `driver "${d.name}" serves ${clash}, which driver "${other.name}" (${other.field}) already serves`);
      continue;
    }
    for (const p of paths) served.set(p, { name: d.name, field: ref.field });
    drivers.push({ driver: d, settings: ref.settings });
  }
  if (problems.length) throw new ScenarioError(problems);
  // plugins from outside the project: a hook that throws at run time is reported as the plugin's fault
  if (!isBuiltin(s.machine.arch, 'arch')) guardArch(arch!);
  s.machine.drivers.forEach((ref) => {
    if (isBuiltin(ref, 'driver')) return;
    const d = drivers.find((x) => x.settings === ref.settings);
    if (d) guardDriver(d.driver);
  });
  return { arch: arch!, drivers };
}

/**
 * Loads an arch plugin by short name (x86|s390|arm), package name or path (relative to `dir`, by
 * default the working directory), as a scenario's `machine.arch` would be. Throws an Error whose
 * message says why (unknown name, missing file, not an arch).
 */
export async function loadArch(spec: string, opts: { dir?: string; importer?: PluginImporter } = {}): Promise<ArchSpec> {
  const isPath = spec.startsWith('./') || spec.startsWith('../') || spec.startsWith('/') || /\.[cm]?js$/.test(spec);
  const dir = opts.dir ?? process.cwd();
  let mod: unknown;
  try {
    mod = await importPlugin({ spec, isPath, field: 'arch' }, 'arch', dir, opts.importer ?? defaultImporter, 0, dir);
  } catch (e) {
    throw new Error(isNotFound(e) || /unknown|no such file/.test(String((e as Error).message)) ? (e as Error).message : `cannot load arch "${spec}": ${(e as Error).message}`);
  }
  let arch: ArchSpec;
  try {
    arch = pluginOf(mod, 'arch') as ArchSpec;
  } catch (e) {
    throw new Error(`cannot load arch "${spec}": ${(e as Error).message}`);
  }
  // the shape checks of resolveArch, with the default kernel
  try {
    resolveArch(arch, resolveFeatures('2.6.32', {}), {});
  } catch (e) {
    throw new Error(`"${spec}" is not a usable arch plugin: ${(e as Error).message}`);
  }
  if (!isBuiltin({ spec, isPath, field: 'arch' }, 'arch')) guardArch(arch);
  return arch;
}
