// mixedmap-bench: discovers the workspace's benchmarks, runs a selection, and writes the terminal
// table, results.json and report.html.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, hostname, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchCase, BenchFile, BenchOptions } from './api.js';
import { compare } from './compare.js';
import { buildNative, measureKernel } from './native.js';
import { RESULTS_SCHEMA, type BenchResult, type ResultsFile, type RunInfo } from './results.js';
import { runCase, runIsolated } from './runner.js';
import { evaluateTargets } from './targets.js';
import { renderHtml } from './report/html.js';
import { renderMarkdown } from './report/markdown.js';
import { Progress, renderText } from './report/text.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const APP_DIR = resolve(HERE, '..');
/** the built worker scripts (workers/*.ts); a benchmark's own worker gets the path, since a URL maker cannot be cloned */
const WORKER_DIR = join(APP_DIR, 'dist/workers');
export const ROOT = resolve(APP_DIR, '../..');

export const HELP = `mixedmap-bench — benchmarks of the mixedmap model (and the live kernel beside it)

usage: mixedmap-bench [options]

selection (filters combine; each takes a comma list; a filter that names benchmarks outside the
default suite runs them too):
  --package NAME      only benchmarks of these packages (@mixedmap/core or core)
  --name TEXT         benchmark ids containing TEXT (e.g. fault/write-anon, guests)
  --arch A            x86, arm, s390
  --kernel V          2.6.23, 2.6.32, …
  --driver D          xip, …
  --size N            pages: 1M, 4M, 16M, 4096, …
  --order seq|rand
  --all               every benchmark, not just the default suite
  --list              list the selected benchmarks and exit

running:
  --quick             every benchmark once at small sizes (CI: checks that they run, not their speed)
  --samples N         timed samples per benchmark (overrides each benchmark's default)
  --threads N         worker threads for the threaded benchmarks (default: cores, ${availableParallelism()}; at most 256)
  --kernel-pages N    cap on pages for the live-kernel column (default 128K; --quick 1K)
  --kernel-reps N     repetitions of each live-kernel measurement (default 3; --quick 1)
  --no-kernel         skip the live-kernel column
  --in-process        run every benchmark in this process (by default each gets a worker thread of
                      its own: a fresh V8 isolate, so one benchmark's JIT feedback cannot slow the next)

output:
  --out DIR           where results.json and report.html go (default apps/bench/results)
  --json FILE         results JSON path (default DIR/results.json)
  --html FILE         HTML report path (default DIR/report.html)
  --md FILE           also write the headline tables as Markdown (the root README's section)
  --from FILE         re-render the reports of a saved results.json instead of running
  --compare FILE      ratios against a saved results.json; flags regressions
  --threshold X       regression threshold as a fraction (default 0.10)
  --fail-on-regression  exit 1 when --compare finds a regression
  --quiet             no progress bar

Each option is given once. Exit status: 0; 1 a benchmark threw (or --fail-on-regression found a
regression); 2 bad arguments, a --from/--compare file that is not a results.json, an output that
cannot be written (all checked before anything runs; nothing is written then).
`;

export interface Args {
  quick: boolean;
  all: boolean;
  list: boolean;
  filters: { package?: string[]; name?: string[]; arch?: string[]; kernel?: string[]; driver?: string[]; size?: number[]; order?: string[] };
  samples?: number;
  threads: number;
  kernelPages?: number;
  kernelReps?: number;
  noKernel: boolean;
  inProcess: boolean;
  out: string;
  json?: string;
  html?: string;
  md?: string;
  from?: string;
  compare?: string;
  threshold: number;
  failOnRegression: boolean;
  quiet: boolean;
  help: boolean;
}

export function parseSize(s: string): number {
  const m = /^(\d+)([KMG]?)$/i.exec(s.trim());
  if (!m) throw new Error(`bad size "${s}" (e.g. 4096, 1M, 16M)`);
  return Number(m[1]) * { '': 1, K: 1024, M: 1 << 20, G: 1 << 30 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
}

/** Upper bound of --threads (worker threads of the threaded benchmarks). */
export const MAX_THREADS = 256;

export function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, all: false, list: false, filters: {}, threads: availableParallelism(), noKernel: false, inProcess: false, out: join(APP_DIR, 'results'), threshold: 0.1, failOnRegression: false, quiet: false, help: false };
  const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);
  const given = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const val = (): string => {
      // an option that takes a value is given once: a second one would silently win
      if (given.has(flag)) throw new Error(`${flag} is given twice; give it once (filters take a comma list: --arch x86,arm)`);
      given.add(flag);
      const v = inline ?? argv[++i];
      if (v === undefined || (inline === undefined && v.startsWith('--'))) throw new Error(`${flag} needs a value`);
      return v;
    };
    const int = (): number => {
      const v = val();
      const n = /^\d+[KMG]?$/i.test(v) ? parseSize(v) : NaN;
      if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} needs a positive integer, not "${v}"`);
      return n;
    };
    switch (flag) {
      case '--quick': a.quick = true; break;
      case '--all': a.all = true; break;
      case '--list': a.list = true; break;
      case '--package': a.filters.package = list(val()); break;
      case '--name': a.filters.name = list(val()); break;
      case '--arch': a.filters.arch = list(val()); break;
      case '--kernel': a.filters.kernel = list(val()); break;
      case '--driver': a.filters.driver = list(val()); break;
      case '--size': a.filters.size = list(val()).map(parseSize); break;
      case '--order': a.filters.order = list(val()); break;
      case '--samples': a.samples = int(); break;
      case '--threads': {
        a.threads = int();
        // each is a Node worker with its own heap: thousands would exhaust memory, not measure anything
        if (a.threads > MAX_THREADS) throw new Error(`--threads takes at most ${MAX_THREADS}, not ${a.threads}`);
        break;
      }
      case '--kernel-pages': a.kernelPages = int(); break;
      case '--kernel-reps': a.kernelReps = int(); break;
      case '--no-kernel': a.noKernel = true; break;
      case '--in-process': a.inProcess = true; break;
      case '--out': a.out = resolve(val()); break;
      case '--json': a.json = resolve(val()); break;
      case '--html': a.html = resolve(val()); break;
      case '--md': a.md = resolve(val()); break;
      case '--from': a.from = resolve(val()); break;
      case '--compare': a.compare = resolve(val()); break;
      case '--threshold': {
        const v = val();
        const t = /^(\d+(\.\d*)?|\.\d+)$/.test(v.trim()) ? Number(v) : NaN;
        if (!(t >= 0)) throw new Error(`--threshold needs a fraction such as 0.1, not "${v}"`);
        a.threshold = t;
        break;
      }
      case '--fail-on-regression': a.failOnRegression = true; break;
      case '--quiet': a.quiet = true; break;
      case '-h': case '--help': a.help = true; break;
      default: throw new Error(`unknown option ${arg} (see --help)`);
    }
  }
  return a;
}

interface Loaded {
  package: string;
  file: string;
  /** the built module's URL (a benchmark's worker imports it again) */
  module: string;
  cases: BenchCase[];
}

/** Loads every benchmark file the build put in dist/benches (manifest.json). */
export async function discover(opts: BenchOptions): Promise<Loaded[]> {
  const dir = join(APP_DIR, 'dist/benches');
  const mf = join(dir, 'manifest.json');
  if (!existsSync(mf)) throw new Error(`no ${mf}: build the bench app first (pnpm --filter @mixedmap/bench... build)`);
  const { benches } = JSON.parse(readFileSync(mf, 'utf8')) as { benches: Array<{ package: string; file: string; module: string }> };
  const out: Loaded[] = [];
  for (const b of benches) {
    const module = pathToFileURL(join(dir, b.module)).href;
    const mod = (await import(module)) as { default?: BenchFile };
    if (!mod.default || typeof mod.default.benchmarks !== 'function') throw new Error(`${b.file}: the default export must be a BenchFile ({ benchmarks(opts) })`);
    out.push({ package: b.package, file: b.file, module, cases: mod.default.benchmarks(opts) });
  }
  return out;
}

function matches(l: Loaded, c: BenchCase, a: Args): boolean {
  const f = a.filters;
  const t = c.tags ?? {};
  const has = (v: string | undefined, want: string[] | undefined) => !want || (v !== undefined && v.split('|').some((x) => want.includes(x)));
  if (f.package && !f.package.some((p) => l.package === p || l.package === `@mixedmap/${p}` || l.package.endsWith(`/${p}`))) return false;
  if (f.name && !f.name.some((n) => c.id.includes(n))) return false;
  if (!has(t.arch, f.arch) || !has(t.kernel, f.kernel) || !has(t.driver, f.driver) || !has(t.order, f.order)) return false;
  if (f.size && (t.size === undefined || !f.size.includes(t.size))) return false;
  return true;
}

export function select(loaded: Loaded[], a: Args): Array<{ l: Loaded; c: BenchCase }> {
  const explicit = a.filters.name || a.filters.size || a.filters.order;
  const out: Array<{ l: Loaded; c: BenchCase }> = [];
  const real = new Set(loaded.flatMap((l) => l.cases.filter((c) => !c.placeholder).map((c) => c.id)));
  for (const l of loaded) for (const c of l.cases) if (!(c.placeholder && real.has(c.id)) && (matches(l, c, a) && (a.all || a.quick || explicit || c.default !== false))) out.push({ l, c });
  return out;
}

function gitInfo(): RunInfo['git'] {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().length > 0;
    return { commit, dirty };
  } catch {
    return { commit: null, dirty: null };
  }
}

export async function main(argv: string[]): Promise<number> {
  let a: Args;
  try {
    a = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`mixedmap-bench: ${(e as Error).message}\n`);
    return 2;
  }
  if (a.help) {
    process.stdout.write(HELP);
    return 0;
  }
  // Everything the run needs from the user is checked before a benchmark runs: the saved results
  // files and that every output can be written (a run can take many minutes).
  let saved: ResultsFile | undefined;
  let baseline: ResultsFile | undefined;
  try {
    if (a.from) saved = readResultsFile('--from', a.from);
    if (a.compare) baseline = readResultsFile('--compare', a.compare);
    if (!a.list) checkOutputs(outputsOf(a));
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    process.stderr.write(`mixedmap-bench: ${e.message}\n`);
    return 2;
  }
  if (saved) {
    try {
      saved.targets = evaluateTargets(saved.results);
    } catch (e) {
      process.stderr.write(`mixedmap-bench: --from ${a.from}: the results cannot be evaluated (${(e as Error).message}); is it a results.json of this mixedmap-bench?\n`);
      return 2;
    }
    return writeOutputs(saved, a, baseline);
  }
  const started = Date.now();
  const opts: BenchOptions = {
    quick: a.quick,
    threads: a.threads,
    sizes: a.quick ? [4096] : [1 << 20, 4 << 20, 16 << 20],
    workerUrl: (name) => pathToFileURL(join(WORKER_DIR, `${name}.js`)),
  };
  const loaded = await discover(opts);
  const selected = select(loaded, a);
  if (a.list) {
    for (const { l, c } of selected) process.stdout.write(`${c.id}\t${l.package}\t${c.default === false ? '' : 'default'}\n`);
    return 0;
  }
  if (!selected.length) {
    process.stderr.write('mixedmap-bench: no benchmark matches the filters\n');
    return 2;
  }
  const native = a.noKernel ? { missing: 'skipped (--no-kernel)' } : buildNative();
  const kernelCap = a.kernelPages ?? (a.quick ? 1024 : 128 * 1024);
  const kernelReps = a.kernelReps ?? (a.quick ? 1 : 3);
  const progress = new Progress(selected.length, !a.quiet);
  const results: BenchResult[] = [];
  for (let i = 0; i < selected.length; i++) {
    const { l, c } = selected[i]!;
    progress.update(i, c.id);
    let r: BenchResult;
    try {
      // each benchmark in a fresh isolate (runIsolated); --in-process runs them all in this one
      const run = a.inProcess
        ? runCase(a.samples ? { ...c, samples: a.samples } : c, a.quick)
        : runIsolated({ module: l.module, id: c.id, quick: a.quick, samples: a.samples, threads: opts.threads, sizes: opts.sizes, workerDir: WORKER_DIR }, opts.workerUrl('case'));
      r = { package: l.package, file: l.file, ...(await run) };
    } catch (e) {
      r = { id: c.id, package: l.package, file: l.file, group: c.group, title: c.title, tags: c.tags ?? {}, unit: c.unit, ops: c.ops, status: 'error', reason: (e as Error).stack ?? String(e), samples: 0, metrics: {}, tables: [], charts: [] };
    }
    if (c.kernel && r.status === 'ok') {
      if ('missing' in native) {
        r.kernel = { missing: native.missing };
      } else {
        progress.update(i, `${c.id} — live kernel`);
        const pages = Math.min(c.kernel.pages, kernelCap);
        const k = measureKernel(c.kernel.kind, c.kernel.order, pages, kernelReps);
        if ('missing' in k) r.kernel = { missing: k.missing };
        else r.kernel = { nsPerOp: k.ns_per_op, min: k.ns_min, max: k.ns_max, pages: k.pages, reps: k.reps, minfltPerOp: k.minflt_per_op, speedup: k.ns_per_op / r.nsPerOp!.median };
      }
    }
    results.push(r);
  }
  progress.update(selected.length, 'done');
  progress.done();
  const cpu = cpus();
  const file: ResultsFile = {
    run: {
      schema: RESULTS_SCHEMA,
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      command: argv,
      quick: a.quick,
      git: gitInfo(),
      node: { version: process.version, v8: process.versions.v8 },
      machine: { platform: process.platform, arch: process.arch, kernel: release(), cpus: cpu.length, cpuModel: cpu[0]?.model ?? 'unknown', memoryBytes: totalmem(), hostname: hostname() },
      nativeProgram: 'missing' in native ? { built: false, missing: native.missing } : { built: true, compiler: native.compiler },
    },
    results,
    targets: evaluateTargets(results),
  };
  return writeOutputs(file, a, baseline);
}

/** A problem with what the user gave (a file, a path): exit 2, one line, no stack. */
class InputError extends Error {}

/** Reads a results.json given to --from or --compare; says what is wrong with it when it is not one. */
export function readResultsFile(flag: string, path: string): ResultsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`${flag} ${path}: cannot read it (${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : code ?? (e as Error).message})`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const pos = /at position (\d+)/.exec(msg);
    let where = '';
    if (pos) {
      const before = text.slice(0, Number(pos[1]));
      const line = before.split('\n').length;
      where = ` at line ${line}, column ${before.length - before.lastIndexOf('\n')}`;
    }
    throw new InputError(`${flag} ${path}: not JSON${where}: ${msg.replace(/ in JSON at position \d+.*$/s, '')}`);
  }
  const problem = resultsProblem(v);
  if (problem) throw new InputError(`${flag} ${path}: not a mixedmap-bench results file (${RESULTS_SCHEMA}): ${problem}`);
  return v as ResultsFile;
}

function resultsProblem(v: unknown): string | undefined {
  const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!isObj(v)) return `expected an object with run and results, got ${Array.isArray(v) ? 'a list' : v === null ? 'null' : typeof v}`;
  if (!isObj(v.run)) return 'run: missing (an object)';
  if (v.run.schema !== RESULTS_SCHEMA) return `run.schema: ${JSON.stringify(v.run.schema)}, expected "${RESULTS_SCHEMA}"`;
  if (!Array.isArray(v.results)) return 'results: missing (a list)';
  for (const [i, r] of v.results.entries()) {
    if (!isObj(r)) return `results[${i}]: expected an object`;
    if (typeof r.id !== 'string') return `results[${i}].id: expected a string`;
    if (!['ok', 'error', 'missing'].includes(r.status as string)) return `results[${i}].status: expected ok, error or missing`;
    if (r.nsPerOp !== undefined && !(isObj(r.nsPerOp) && typeof r.nsPerOp.median === 'number')) return `results[${i}].nsPerOp.median: expected a number`;
  }
  return undefined;
}

/** The files a run writes (results.json is not rewritten by --from unless --json names it). */
function outputsOf(a: Args): string[] {
  const out = [a.html ?? join(a.out, 'report.html')];
  if (!a.from || a.json) out.unshift(a.json ?? join(a.out, 'results.json'));
  if (a.md) out.push(a.md);
  return out;
}

/**
 * Every output path can be written: not a directory, and a file can be created in its nearest
 * existing directory (tried with an empty temporary file, removed again; permission bits alone say
 * nothing when run as root).
 */
function checkOutputs(paths: string[]): void {
  for (const p of paths) {
    if (existsSync(p) && statSync(p).isDirectory()) throw new InputError(`${p}: is a directory, not a file to write`);
    let dir = dirname(p);
    while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
    if (!statSync(dir).isDirectory()) throw new InputError(`${p}: cannot be written: ${dir} is not a directory`);
    // the probe goes into the nearest existing directory: no directory is created before the run
    const probe = dir === dirname(p) ? `${p}.${process.pid}.tmp` : join(dir, `.mixedmap-bench-probe.${process.pid}.tmp`);
    try {
      writeFileSync(probe, '');
    } catch (e) {
      throw new InputError(`${p}: cannot be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    } finally {
      rmSync(probe, { force: true });
    }
  }
}

/** mkdir -p without {recursive: true} (which never returns for a path under /proc on Node 20). */
function makeDirs(dir: string): void {
  if (existsSync(dir)) return;
  makeDirs(dirname(dir));
  mkdirSync(dir);
}

function writeOutputs(file: ResultsFile, a: Args, baseline?: ResultsFile): number {
  const results = file.results;
  if (a.compare && baseline) file.comparison = compare(results, baseline, a.compare, a.threshold);
  const jsonPath = a.json ?? join(a.out, 'results.json');
  const htmlPath = a.html ?? join(a.out, 'report.html');
  // everything is rendered before anything is written; every file is written to a temporary file
  // first and renamed into place only when all of them were written (a failure leaves no output)
  let contents: Array<[string, string]>;
  let text: string;
  try {
    contents = [];
    if (!a.from || a.json) contents.push([jsonPath, JSON.stringify(file, null, 1) + '\n']);
    contents.push([htmlPath, renderHtml(file)]);
    if (a.md) contents.push([a.md, renderMarkdown(file)]);
    text = `${renderText(file)}\n\nresults: ${a.from && !a.json ? a.from : jsonPath}\nreport:  ${htmlPath}\n`;
  } catch (e) {
    if (!a.from) throw e;
    process.stderr.write(`mixedmap-bench: --from ${a.from}: the results cannot be rendered (${(e as Error).message}); is it a results.json of this mixedmap-bench?\n`);
    return 2;
  }
  const tmp = (path: string): string => `${path}.${process.pid}.tmp`;
  try {
    for (const [path, body] of contents) {
      makeDirs(dirname(path));
      writeFileSync(tmp(path), body);
    }
    for (const [path] of contents) renameSync(tmp(path), path);
  } catch (e) {
    for (const [path] of contents) rmSync(tmp(path), { force: true });
    const err = e as NodeJS.ErrnoException;
    process.stderr.write(`mixedmap-bench: cannot write ${(err.path ?? 'the reports').replace(/\.\d+\.tmp$/, '')}: ${err.code ?? err.message}; no output was written\n`);
    return 2;
  }
  process.stdout.write(text);
  const errors = results.filter((r) => r.status === 'error');
  for (const e of errors) process.stderr.write(`mixedmap-bench: ${e.id} failed:\n${e.reason}\n`);
  if (errors.length) return 1;
  if (a.failOnRegression && file.comparison && file.comparison.regressions > 0) return 1;
  return 0;
}
