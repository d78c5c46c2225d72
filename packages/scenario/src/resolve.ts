// The one plugin resolver: arch and driver plugins by short name, package name or path, loaded
// with dynamic import. Errors name the scenario file, line and field.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { resolveArch, resolveFeatures, validateDriver, type ArchSpec, type Driver } from '@mixedmap/core';
import { ScenarioError, type ScenarioProblem } from './errors.js';
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

/** Loads the module a plugin reference names; returns its namespace. */
async function importPlugin(ref: PluginRef, kind: 'arch' | 'driver', dir: string, importer: PluginImporter): Promise<unknown> {
  if (ref.isPath) {
    const abs = isAbsolute(ref.spec) ? ref.spec : resolvePath(dir, ref.spec);
    if (!existsSync(abs)) throw new Error(`no such file ${abs} (paths are relative to the scenario file)`);
    return importer(pathToFileURL(abs).href);
  }
  const pkg = (kind === 'arch' ? ARCH_SHORT : DRIVER_SHORT)[ref.spec] ?? ref.spec;
  try {
    return await importer(pkg);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  // Not a dependency of the runner: look next to the scenario, then in the working directory.
  for (const base of [dir, process.cwd()]) {
    let file: string;
    try {
      file = createRequire(join(base, 'noop.js')).resolve(pkg);
    } catch {
      continue;
    }
    return importer(pathToFileURL(file).href);
  }
  const short = Object.keys(kind === 'arch' ? ARCH_SHORT : DRIVER_SHORT).join('|');
  throw new Error(`unknown ${kind} "${ref.spec}": package ${pkg} is not installed (short names: ${short}; or a package name, or a path like ./my-${kind}.js)`);
}

function pluginOf(mod: unknown, kind: 'arch' | 'driver'): unknown {
  const m = mod as Record<string, unknown> | null;
  if (!m || typeof m !== 'object') return m;
  if (m.default !== undefined) return m.default;
  if (m[kind] !== undefined) return m[kind];
  return m;
}

export async function resolvePlugins(s: Scenario, importer: PluginImporter = defaultImporter): Promise<ResolvedPlugins> {
  const problems: ScenarioProblem[] = [];
  const fail = (field: string, message: string): void => {
    problems.push(s.locs.problem(field, message));
  };
  const load = async (ref: PluginRef, kind: 'arch' | 'driver'): Promise<unknown> => {
    try {
      return pluginOf(await importPlugin(ref, kind, s.dir, importer), kind);
    } catch (e) {
      fail(ref.field, isNotFound(e) || /unknown|no such file/.test(String((e as Error).message))
        ? String((e as Error).message)
        : `cannot load ${kind} "${ref.spec}": ${(e as Error).message}`);
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
  for (const ref of s.machine.drivers) {
    const d = await load(ref, 'driver');
    if (d === undefined) continue;
    try {
      validateDriver(d);
    } catch (e) {
      fail(ref.field, (e as Error).message);
      continue;
    }
    const errs = d.validate?.(ref.settings) ?? [];
    const settingsField = ref.field.replace(/\.(name|path)$/, '.settings');
    for (const err of errs) fail(`${settingsField}.${err.field}`, `driver "${d.name}": ${err.message}`);
    if (drivers.some((x) => x.driver.name === d.name)) fail(ref.field, `driver "${d.name}" is listed twice`);
    drivers.push({ driver: d, settings: ref.settings });
  }
  if (problems.length) throw new ScenarioError(problems);
  return { arch: arch!, drivers };
}
