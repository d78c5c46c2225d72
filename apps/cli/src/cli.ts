// The mixedmap command line. main() builds the whole output before anything is printed, so a
// failure never leaves half a report on stdout. Exit codes: 0 every scenario passed, 1 an
// expectation failed, 2 bad input (usage, a file that cannot be read, an invalid scenario).

import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  loadScenario, loadArch, runScenario, findStep, isScenarioError, formatProblem, type LoadedScenario, type ScenarioResult,
} from '@mixedmap/scenario';
import { resolveFeatures } from '@mixedmap/core';
import { runMatrix, renderMatrix, matrixJson, type Combination, type MatrixScenario } from './matrix.js';
import { renderResult } from './render.js';
import { runJson } from './json.js';
import { inspectState, renderInspect } from './inspect.js';
import { runExploreCommand } from './explore.js';
import { runOracleCommand } from './oracle.js';

export interface CliOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** How the output will be shown: colour for stdout, a progress callback for long runs (stderr is a TTY). */
export interface CliEnv {
  /** ANSI colour in the matrix table (stdout is a TTY) */
  color?: boolean;
  /** progress of a long run: called with (done, total) as cells complete, and (total, total) at the end */
  progress?: (done: number, total: number) => void;
  /** progress of an exploration: states seen so far and the frontier still to expand */
  exploreProgress?: (states: number, frontier: number) => void;
}

/** Runs with more cells than this show a progress bar (when stderr is a TTY). */
export const PROGRESS_MIN_CELLS = 12;

/** One progress line: `[#####-----] 12/48 label`, padded to `width` columns. */
export function progressBar(done: number, total: number, width = 30): string {
  const filled = total > 0 ? Math.round((done / total) * width) : width;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}`;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_INTERNAL = 3;

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return '0.0.0';
  }
}

/** examples/*.yaml of the repository, relative to the CLI package (apps/cli → ../../examples). */
export function examplesDir(): string {
  return fileURLToPath(new URL('../../../examples/', import.meta.url));
}

const HELP = `mixedmap — run scenarios against the model of the Linux mm fault path (2.6.19–2.6.32)

Usage:
  mixedmap                          run every built-in example (examples/*.yaml)
  mixedmap run FILE... [--json]     run scenario files; print a trace and the verdicts
  mixedmap inspect FILE --at STEP [--json]
                                    state after STEP (1-based index or step id):
                                    /proc/PID/maps, smaps, pagemap, struct pages
  mixedmap matrix FILE... [--arch A,B…] [--kernel K,L…] [--json]
                                    run each scenario on every arch × kernel combination
                                    (default: the scenario's own); a table of the steps
                                    where the combinations differ; expectations not checked
  mixedmap explore FILE... [--max-states N] [--max-depth N] [--workers N] [--json]
                                    every interleaving of a litmus test's race steps
                                    (herd7-style States / Observation, counterexamples);
                                    exit 1 when a condition is not validated
  mixedmap oracle FILE... [--limit SIZE] [--json]
                                    run a scenario on the live Linux kernel and compare
                                    with the model's "6.x" profile (as klitmus7 does)
  mixedmap --help | --version

Options:
  --json        print one JSON document instead of the text trace (see docs/cli.md)
  --at STEP     (inspect) the step after which to show the state
  --arch LIST   (matrix) archs, comma-separated: x86, s390, arm, a package or a path
  --kernel LIST (matrix) kernel releases, comma-separated: 2.6.20,2.6.26,2.6.32
  -h, --help    this help
  -v, --version print the version

Exit status: 0 all scenarios passed, 1 an expectation failed, 2 bad input (usage, unreadable file,
invalid scenario, a plugin that fails: the message names file:line:column and the field), 3 an
internal error. A kernel BUG_ON is an oops outcome, not an error.
Scenario format: docs/scenario-format.md.`;

class UsageError extends Error {}

interface Parsed {
  command: 'run' | 'inspect' | 'matrix' | 'explore' | 'oracle' | 'examples' | 'help' | 'version';
  files: string[];
  json: boolean;
  at?: string;
  arch?: string;
  kernel?: string;
  maxStates?: number;
  maxDepth?: number;
  workers?: number;
  limit?: number;
}

/** Options that take a value; each may be given once (--arch and --kernel may repeat: their lists join). */
const VALUE_OPTIONS = ['at', 'arch', 'kernel', 'max-states', 'max-depth', 'workers', 'limit'];
const SINGLE_OPTIONS = ['at', 'max-states', 'max-depth', 'workers', 'limit'];

export function parseCommandLine(argv: string[]): Parsed {
  // `--max-states -1`, `--at -2`: a value that looks like a negative number is the option's value
  // (then refused with the option's own message), not an unknown option "-1"
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (a.startsWith('--') && !a.includes('=') && VALUE_OPTIONS.includes(a.slice(2)) && next !== undefined && /^-[\d.]/.test(next)) {
      args.push(`${a}=${next}`);
      i++;
    } else args.push(a);
  }
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean' },
        at: { type: 'string', multiple: true },
        arch: { type: 'string', multiple: true },
        kernel: { type: 'string', multiple: true },
        'max-states': { type: 'string', multiple: true },
        'max-depth': { type: 'string', multiple: true },
        workers: { type: 'string', multiple: true },
        limit: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (e) {
    const msg = (e as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(msg);
  }
  const { values: all, positionals } = parsed;
  for (const o of SINGLE_OPTIONS) {
    const v = (all as Record<string, string[] | undefined>)[o];
    if (v && v.length > 1) throw new UsageError(`--${o} is given ${v.length} times (${v.join(', ')}); give it once`);
  }
  const one = (v: string[] | undefined): string | undefined => v?.[0];
  const values = {
    ...all,
    at: one(all.at), 'max-states': one(all['max-states']), 'max-depth': one(all['max-depth']), workers: one(all.workers), limit: one(all.limit),
  };
  if (values.help) return { command: 'help', files: [], json: false };
  if (values.version) return { command: 'version', files: [], json: false };
  const [cmd, ...rest] = positionals;
  const json = values.json ?? false;
  if (cmd !== 'matrix') {
    if (values.arch !== undefined) throw new UsageError('--arch belongs to the matrix command');
    if (values.kernel !== undefined) throw new UsageError('--kernel belongs to the matrix command');
  }
  if (cmd !== 'explore' && (values['max-states'] !== undefined || values['max-depth'] !== undefined || values.workers !== undefined)) {
    throw new UsageError('--max-states, --max-depth and --workers belong to the explore command');
  }
  if (cmd === undefined) {
    if (values.at !== undefined) throw new UsageError('--at belongs to the inspect command');
    return { command: 'examples', files: [], json };
  }
  if (cmd === 'run') {
    if (values.at !== undefined) throw new UsageError('--at belongs to the inspect command');
    if (rest.length === 0) throw new UsageError('run needs at least one scenario FILE');
    return { command: 'run', files: rest, json };
  }
  if (cmd === 'inspect') {
    if (rest.length !== 1) throw new UsageError('inspect needs exactly one scenario FILE');
    if (values.at === undefined) throw new UsageError('inspect needs --at STEP (a 1-based step number or a step id)');
    return { command: 'inspect', files: rest, json, at: values.at };
  }
  if (cmd === 'matrix') {
    if (values.at !== undefined) throw new UsageError('--at belongs to the inspect command');
    if (rest.length === 0) throw new UsageError('matrix needs at least one scenario FILE');
    return {
      command: 'matrix', files: rest, json,
      ...(values.arch ? { arch: values.arch.join(',') } : {}),
      ...(values.kernel ? { kernel: values.kernel.join(',') } : {}),
    };
  }
  if (cmd !== 'oracle' && values.limit !== undefined) throw new UsageError('--limit belongs to the oracle command');
  if (cmd === 'oracle') {
    if (values.at !== undefined) throw new UsageError('--at belongs to the inspect command');
    if (rest.length === 0) throw new UsageError('oracle needs at least one scenario FILE');
    let limit: number | undefined;
    if (values.limit !== undefined) {
      const m = /^(\d+)([KMG]?)$/i.exec(values.limit);
      if (!m) throw new UsageError(`--limit takes a size such as 512M or 1G, not "${values.limit}"`);
      limit = Number(m[1]) * ({ '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 } as Record<string, number>)[m[2]!.toUpperCase()]!;
      if (!Number.isSafeInteger(limit) || limit <= 0) throw new UsageError(`--limit takes a positive size such as 512M or 1G, not "${values.limit}"`);
    }
    return { command: 'oracle', files: rest, json, ...(limit !== undefined ? { limit } : {}) };
  }
  if (cmd === 'explore') {
    if (values.at !== undefined) throw new UsageError('--at belongs to the inspect command');
    if (rest.length === 0) throw new UsageError('explore needs at least one litmus FILE');
    const bound = (flag: string, v: string | undefined): number | undefined => {
      if (v === undefined) return undefined;
      const n = /^\d+$/.test(v) ? Number(v) : NaN;
      if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`--${flag} takes a positive whole number, not "${v}"`);
      return n;
    };
    const maxStates = bound('max-states', values['max-states']);
    const maxDepth = bound('max-depth', values['max-depth']);
    const workers = bound('workers', values.workers);
    return { command: 'explore', files: rest, json, ...(maxStates ? { maxStates } : {}), ...(maxDepth ? { maxDepth } : {}), ...(workers ? { workers } : {}) };
  }
  throw new UsageError(`unknown command "${cmd}" (commands: run, inspect, matrix, explore, oracle; see --help)`);
}

function display(file: string): string {
  const r = relative(process.cwd(), file);
  return r && !r.startsWith('..') ? r : file;
}

async function loadAll(files: string[], err: string[]): Promise<LoadedScenario[]> {
  const out: LoadedScenario[] = [];
  for (const f of files) {
    try {
      out.push(await loadScenario(f));
    } catch (e) {
      if (!isScenarioError(e)) throw e;
      for (const p of e.problems) err.push(formatProblem({ ...p, file: display(p.file) }));
    }
  }
  return out;
}

function runAll(scenarios: LoadedScenario[], err: string[]): ScenarioResult[] {
  const results: ScenarioResult[] = [];
  for (const s of scenarios) {
    try {
      results.push(runScenario(s));
    } catch (e) {
      if (!isScenarioError(e)) throw e;
      for (const p of e.problems) err.push(formatProblem({ ...p, file: display(p.file) }));
    }
  }
  return results;
}

async function commandRun(files: string[], json: boolean, header: string[] = []): Promise<CliOutput> {
  const err: string[] = [];
  const scenarios = await loadAll(files, err);
  if (err.length) return { code: EXIT_BAD_INPUT, stdout: '', stderr: err.map((l) => `mixedmap: ${l}`).join('\n') + '\n' };
  const results = runAll(scenarios, err);
  if (err.length) return { code: EXIT_BAD_INPUT, stdout: '', stderr: err.map((l) => `mixedmap: ${l}`).join('\n') + '\n' };
  for (const r of results) r.file = display(r.file);
  const passed = results.every((r) => r.passed);
  let stdout: string;
  if (json) {
    stdout = JSON.stringify(runJson(results, `mixedmap ${version()}`), null, 2) + '\n';
  } else {
    const lines = [...header];
    for (const r of results) {
      for (const l of renderResult(r)) lines.push(l); // no spread: a step may have a million fault lines
      lines.push('');
    }
    const ok = results.filter((r) => r.passed).length;
    lines.push(`${passed ? 'PASS' : 'FAIL'}: ${ok}/${results.length} scenario${results.length === 1 ? '' : 's'} passed`);
    for (const r of results) if (!r.passed) lines.push(`  failed: ${r.name} (${r.file})`);
    stdout = lines.join('\n') + '\n';
  }
  return { code: passed ? EXIT_OK : EXIT_FAILED, stdout, stderr: '' };
}

async function commandInspect(file: string, at: string, json: boolean): Promise<CliOutput> {
  const err: string[] = [];
  const [s] = await loadAll([file], err);
  if (!s) return { code: EXIT_BAD_INPUT, stdout: '', stderr: err.map((l) => `mixedmap: ${l}`).join('\n') + '\n' };
  const step = findStep(s, at);
  if (!step) {
    const ids = s.steps.filter((x) => x.id).map((x) => x.id);
    return {
      code: EXIT_BAD_INPUT,
      stdout: '',
      stderr: `mixedmap: ${display(file)}: --at ${at}: no such step (1…${s.steps.length}${ids.length ? ` or an id: ${ids.join(', ')}` : ''})\n`,
    };
  }
  let r: ScenarioResult;
  try {
    r = runScenario(s, { stopAfter: step.index });
  } catch (e) {
    if (!isScenarioError(e)) throw e;
    return { code: EXIT_BAD_INPUT, stdout: '', stderr: e.problems.map((p) => `mixedmap: ${formatProblem({ ...p, file: display(p.file) })}`).join('\n') + '\n' };
  }
  const view = inspectState(r.state);
  const last = r.steps[r.steps.length - 1]!;
  const title = `${s.name} (${display(file)}) — ${r.machine.arch} ${r.machine.kernel} — state after step ${step.index + 1}${step.id ? ` (${step.id})` : ''}: ${step.op}, outcome ${last.observation.outcome}`;
  const stdout = json
    ? JSON.stringify({ format: 1, scenario: s.name, file: display(file), machine: r.machine, step: step.index + 1, id: step.id ?? null, zeroPfn: r.state.machine.zeroPfn, ...view }, null, 2) + '\n'
    : renderInspect(view, title, r.state.machine.zeroPfn).join('\n') + '\n';
  return { code: EXIT_OK, stdout, stderr: '' };
}

/** Splits a comma-separated flag value; empty entries and duplicates are usage errors. */
function listFlag(flag: string, value: string, err: string[]): string[] {
  const items = value.split(',').map((x) => x.trim());
  const out: string[] = [];
  for (const it of items) {
    if (!it) err.push(`${flag} ${value}: empty entry in the comma-separated list`);
    else if (out.includes(it)) err.push(`${flag} ${value}: "${it}" is listed twice`);
    else out.push(it);
  }
  return out;
}

async function commandMatrix(p: Parsed, env: CliEnv): Promise<CliOutput> {
  const err: string[] = [];
  const bad = (): CliOutput => ({ code: EXIT_BAD_INPUT, stdout: '', stderr: err.map((l) => `mixedmap: ${l}`).join('\n') + '\n' });
  // the flags first: a typo there is cheaper to report than a scenario problem
  const archs: Array<{ spec: string; arch: import('@mixedmap/core').ArchSpec }> = [];
  if (p.arch !== undefined) {
    for (const spec of listFlag('--arch', p.arch, err)) {
      try {
        archs.push({ spec, arch: await loadArch(spec) });
      } catch (e) {
        err.push(`--arch ${spec}: ${(e as Error).message}`);
      }
    }
    const names = archs.map((a) => a.arch.name);
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i) err.push(`--arch: "${archs[i]!.spec}" is arch "${n}" again`);
    });
  }
  const kernels: string[] = [];
  if (p.kernel !== undefined) {
    for (const k of listFlag('--kernel', p.kernel, err)) {
      try {
        resolveFeatures(k, {});
        kernels.push(k);
      } catch (e) {
        err.push(`--kernel ${k}: ${(e as Error).message}`);
      }
    }
  }
  if (err.length) return bad();
  const scenarios = await loadAll(p.files, err);
  if (err.length) return bad();

  const combosOf = (s: LoadedScenario): Combination[] => {
    const as = archs.length ? archs.map((a) => ({ archSpec: a.spec, arch: a.arch })) : [{ archSpec: s.machine.arch.spec, arch: s.plugins.arch }];
    const ks = kernels.length ? kernels : [s.machine.kernel];
    return as.flatMap((a) => ks.map((kernel) => ({ ...a, kernel })));
  };
  const total = scenarios.reduce((n, s) => n + combosOf(s).length, 0);
  const progress = total >= PROGRESS_MIN_CELLS ? env.progress : undefined;
  let done = 0;
  const out: MatrixScenario[] = [];
  for (const s of scenarios) {
    const m = runMatrix(s, combosOf(s), { onCell: () => progress?.(++done, total) });
    m.file = display(m.file);
    out.push(m);
  }
  const internal = out.some((m) => m.columns.some((c) => c.internal));
  let stdout: string;
  if (p.json) {
    stdout = JSON.stringify(matrixJson(out, `mixedmap ${version()}`), null, 2) + '\n';
  } else {
    const lines: string[] = [];
    for (const m of out) {
      for (const l of renderMatrix(m, { color: env.color ?? false })) lines.push(l);
      lines.push('');
    }
    stdout = lines.join('\n');
  }
  return {
    code: internal ? EXIT_INTERNAL : EXIT_OK,
    stdout,
    stderr: internal ? 'mixedmap: internal error in some combinations (see the table); set MIXEDMAP_DEBUG=1 for details\n' : '',
  };
}

async function commandExamples(json: boolean): Promise<CliOutput> {
  const dir = examplesDir();
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(dir, f)) : [];
  if (files.length === 0) {
    return { code: EXIT_OK, stdout: json ? JSON.stringify(runJson([], `mixedmap ${version()}`), null, 2) + '\n' : `no examples found in ${dir}\n`, stderr: '' };
  }
  return commandRun(files, json, [`running ${files.length} built-in example${files.length === 1 ? '' : 's'} from ${display(dir)}`, '']);
}

/** Runs the CLI; returns the exit code and the complete output. */
export async function main(argv: string[], env: CliEnv = {}): Promise<CliOutput> {
  let p: Parsed;
  try {
    p = parseCommandLine(argv);
  } catch (e) {
    if (e instanceof UsageError) return { code: EXIT_BAD_INPUT, stdout: '', stderr: `mixedmap: ${e.message}\nTry 'mixedmap --help'.\n` };
    throw e;
  }
  try {
    switch (p.command) {
      case 'help':
        return { code: EXIT_OK, stdout: HELP + '\n', stderr: '' };
      case 'version':
        return { code: EXIT_OK, stdout: `mixedmap ${version()}\n`, stderr: '' };
      case 'run':
        return await commandRun(p.files, p.json);
      case 'inspect':
        return await commandInspect(p.files[0]!, p.at!, p.json);
      case 'matrix':
        return await commandMatrix(p, env);
      case 'oracle':
        return await runOracleCommand(p.files, { json: p.json, ...(p.limit ? { limit: p.limit } : {}) });
      case 'explore':
        return await runExploreCommand(p.files, {
          json: p.json,
          ...(p.maxStates ? { maxStates: p.maxStates } : {}),
          ...(p.maxDepth ? { maxDepth: p.maxDepth } : {}),
          ...(p.workers ? { workers: p.workers } : {}),
          ...(env.exploreProgress ? { progress: env.exploreProgress } : {}),
        });
      case 'examples':
        return await commandExamples(p.json);
    }
  } catch (e) {
    // A bug in the model or the runner, not in the user's input: no stack trace unless asked for.
    const detail = process.env.MIXEDMAP_DEBUG ? `\n${(e as Error).stack}` : ' (set MIXEDMAP_DEBUG=1 for the stack)';
    return { code: EXIT_INTERNAL, stdout: '', stderr: `mixedmap: internal error: ${(e as Error).message}${detail}\n` };
  }
}
