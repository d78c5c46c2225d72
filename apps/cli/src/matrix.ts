// `mixedmap matrix`: one scenario on every arch × kernel combination. Each step becomes a row,
// each combination a column; a cell shows only the facets (outcome, handler, pte, vm_normal_page,
// reports) that differ across the row — the facets every combination agrees on are shown once,
// in the "all" column. Expectations are not checked: a scenario's `expect` is for its own machine.

import {
  retargetScenario, runScenario, isScenarioError, handlerChain, type LoadedScenario, type ScenarioResult, type StepResult,
} from '@mixedmap/scenario';
import type { ArchSpec } from '@mixedmap/core';

export const MATRIX_JSON_FORMAT_VERSION = 1;

export interface Combination {
  /** the arch as given on the command line (short name, package or path) */
  archSpec: string;
  arch: ArchSpec;
  kernel: string;
}

/** The facets of one cell, each a short string ("" = nothing to show). */
export interface CellFacets {
  outcome: string;
  handler: string;
  pte: string;
  normalPage: string;
  reports: string;
}

export const FACETS: Array<keyof CellFacets> = ['outcome', 'handler', 'pte', 'normalPage', 'reports'];

export interface MatrixCell {
  outcome: string;
  ret: number | null;
  chain: string[];
  /** the handler chain's distinctive functions (see distinctive()) */
  handler: string;
  oops: string | null;
  pte: { present: boolean; write: boolean; dirty: boolean; special: boolean; zero: boolean; structPage: boolean | null } | null;
  normalPage: 'page' | 'zero' | null | undefined;
  reports: string[];
  error: string | null;
  facets: CellFacets;
}

export interface MatrixColumn {
  arch: string;
  kernel: string;
  label: string;
  /** why the machine could not be built (or the run failed), else null */
  error: string | null;
  /** an internal error (a bug in the model), not a configuration the combination refuses */
  internal: boolean;
  leaks: string[];
  violations: string[];
}

export interface MatrixRow {
  index: number;
  id: string | null;
  op: string;
  task: string;
  /** the step address as written (m+1p), or null */
  addr: string | null;
  label: string;
  /** one per column; null where the column has no result for the step */
  cells: Array<MatrixCell | null>;
  /** facets on which the columns differ */
  differing: Array<keyof CellFacets>;
  /** per column: the cell differs from the row's most common cell */
  highlight: boolean[];
}

export interface MatrixScenario {
  name: string;
  file: string;
  columns: MatrixColumn[];
  rows: MatrixRow[];
  /** the end of the run: leaks and invariant violations per column */
  end: { cells: string[]; highlight: boolean[]; differs: boolean };
}

/** Generic dispatch functions: every fault runs them, they say nothing about the path taken. */
const GENERIC = new Set(['handle_mm_fault', '__handle_mm_fault', 'handle_pte_fault', '__do_fault', 'fault', 'nopfn', 'nopage']);

/** The distinctive part of a fault's chain: its first specific handler and, when different, its last (do_wp_page→cow_user_page). */
export function distinctive(chain: string[]): string {
  const parts: string[] = [];
  let cur: string[] = [];
  const flush = (): void => {
    const specific = cur.filter((f) => !GENERIC.has(f));
    if (specific.length) parts.push(specific.length === 1 ? specific[0]! : `${specific[0]}→${specific.at(-1)}`);
    cur = [];
  };
  for (const f of chain) {
    if ((f === 'handle_mm_fault' || f === '__handle_mm_fault') && cur.length) flush();
    cur.push(f);
  }
  flush();
  return parts.join(', ');
}

const short = (s: string, n = 48): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function cellOf(r: StepResult, zeroPfn: number): MatrixCell {
  const o = r.observation;
  const res = o.result;
  const chain = handlerChain(res);
  const handler = distinctive(chain);
  const showRet = res.ret !== undefined && !['mmap', 'follow_page'].includes(r.step.op) && o.outcome === 'ok';
  const p = o.pteAfter;
  const pte = p && !p.none
    ? {
        present: p.present, write: p.write, dirty: p.dirty, special: p.special, zero: p.present && p.pfn === zeroPfn,
        structPage: o.page && p.present && o.page.pfn === p.pfn ? o.page.after !== null : null,
      }
    : null;
  const np = o.normalPage === undefined ? undefined : o.normalPage === null ? null : o.normalPage === zeroPfn ? 'zero' : 'page';
  let outcome = o.error ? 'error' : o.outcome;
  if (showRet) outcome += ` ret=${res.ret}`;
  if (res.oops) outcome += ` (${short(res.oops.condition)})`;
  if (o.error) outcome += ` (${short(o.error)})`;
  let pteText = '';
  if (p) {
    if (p.none) pteText = 'pte:none';
    else if (!p.present) pteText = 'pte:swap';
    else pteText = `pte:${[p.write ? 'rw' : 'ro', p.special ? 's' : '', pte?.zero ? 'zero' : pte?.structPage === false ? 'nopage' : ''].filter(Boolean).join(',')}`;
  }
  return {
    outcome: o.error ? 'error' : o.outcome,
    ret: res.ret ?? null,
    chain,
    handler,
    oops: res.oops?.condition ?? null,
    pte,
    normalPage: np,
    reports: [...res.reports],
    error: o.error ?? null,
    facets: {
      outcome,
      handler,
      pte: pteText,
      normalPage: np === undefined ? '' : `np:${np === null ? 'NULL' : np}`,
      reports: res.reports.length ? `reports:${res.reports.length}` : '',
    },
  };
}

const facetText = (c: CellFacets, which: Array<keyof CellFacets>): string => which.map((f) => c[f]).filter(Boolean).join(' ');

/** Which cells differ from the most common value (ties: the first column's value). */
function highlightOf(values: Array<string | null>): boolean[] {
  const counts = new Map<string, number>();
  for (const v of values) if (v !== null) counts.set(v, (counts.get(v) ?? 0) + 1);
  if (counts.size <= 1) return values.map(() => false);
  let best: string | null = null;
  let bestN = 0;
  for (const v of values) {
    if (v === null) continue;
    const n = counts.get(v)!;
    if (n > bestN) {
      best = v;
      bestN = n;
    }
  }
  return values.map((v) => v !== null && v !== best);
}

export interface MatrixOptions {
  /** called after every combination ran (for a progress bar) */
  onCell?: () => void;
}

/** Runs one scenario on every combination. Never throws for a combination the scenario cannot run on. */
export function runMatrix(s: LoadedScenario, combos: Combination[], opts: MatrixOptions = {}): MatrixScenario {
  const columns: MatrixColumn[] = [];
  const results: Array<ScenarioResult | null> = [];
  for (const c of combos) {
    const col: MatrixColumn = { arch: c.arch.name, kernel: c.kernel, label: `${c.arch.name} ${c.kernel}`, error: null, internal: false, leaks: [], violations: [] };
    let r: ScenarioResult | null = null;
    try {
      r = runScenario(retargetScenario(s, { arch: { spec: c.archSpec, plugin: c.arch }, kernel: c.kernel }), { checkExpectations: false });
      col.leaks = r.leaks;
      col.violations = r.violations;
    } catch (e) {
      if (isScenarioError(e)) col.error = e.problems.map((p) => `${p.field ? `${p.field}: ` : ''}${p.message}`).join('; ');
      else {
        col.error = `internal error: ${(e as Error).message}`;
        col.internal = true;
      }
    }
    columns.push(col);
    results.push(r);
    opts.onCell?.();
  }
  const rows: MatrixRow[] = s.steps.map((step, i) => {
    const cells = results.map((r) => {
      const sr = r?.steps[i];
      return sr ? cellOf(sr, r!.state.machine.zeroPfn) : null;
    });
    const present = cells.filter((c): c is MatrixCell => c !== null);
    const differing = FACETS.filter((f) => new Set(present.map((c) => c.facets[f])).size > 1);
    const addr = step.args.addr && typeof step.args.addr === 'object' ? (step.args.addr as { text: string }).text : null;
    const who = step.thread !== step.task ? `${step.task}/${step.thread}` : step.task;
    return {
      index: step.index + 1,
      id: step.id ?? null,
      op: step.op,
      task: step.task,
      addr,
      label: `${step.index + 1}${step.id ? ` ${step.id}` : ''} ${who}: ${step.op}${addr ? ` ${addr}` : ''}${step.op === 'mmap' && step.args.as ? ` → ${String(step.args.as)}` : ''}`,
      cells,
      differing,
      highlight: highlightOf(cells.map((c) => (c ? facetText(c.facets, differing) : null))),
    };
  });
  const endCells = columns.map((c) => (c.error ? '' : [c.leaks.length ? `leaks:${c.leaks.length}` : '', c.violations.length ? `violations:${c.violations.length}` : ''].filter(Boolean).join(' ') || 'clean'));
  const endVals = columns.map((c, i) => (c.error ? null : endCells[i]!));
  return {
    name: s.name,
    file: s.file,
    columns,
    rows,
    end: { cells: endCells, highlight: highlightOf(endVals), differs: new Set(endVals.filter((v) => v !== null)).size > 1 },
  };
}

// ---- text ------------------------------------------------------------------------------------

const ANSI = { diff: '\u001b[1;33m', fail: '\u001b[31m', dim: '\u001b[2m', reset: '\u001b[0m' };

export interface RenderOptions {
  /** ANSI colour (stdout is a TTY); otherwise differing cells are marked with `*` */
  color: boolean;
}

function table(rows: string[][], marks: boolean[][], color: boolean): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, [...c].length + (i >= 2 && !color ? 1 : 0))));
  return rows.map((r, ri) =>
    r
      .map((c, i) => {
        const mark = marks[ri]?.[i] ?? false;
        const text = i >= 2 && !color ? `${mark ? '*' : ' '}${c}` : c;
        const padded = text + ' '.repeat(Math.max(0, widths[i]! - [...text].length));
        return color && mark ? `${ANSI.diff}${padded}${ANSI.reset}` : padded;
      })
      .join(' │ ')
      .trimEnd(),
  );
}

export function renderMatrix(m: MatrixScenario, opts: RenderOptions): string[] {
  const { color } = opts;
  const lines: string[] = [`matrix ${m.name} (${m.file}) — ${m.columns.length} combination${m.columns.length === 1 ? '' : 's'}; expectations not checked`];
  const notes: string[] = [];
  const noteOf = (text: string): string => {
    let i = notes.indexOf(text);
    if (i < 0) i = notes.push(text) - 1;
    return `[${i + 1}]`;
  };
  const header = ['step', 'all', ...m.columns.map((c) => c.label)];
  const rows: string[][] = [header];
  const marks: boolean[][] = [header.map(() => false)];
  for (const r of m.rows) {
    const first = r.cells.find((c) => c !== null);
    const common = first ? facetText(first.facets, FACETS.filter((f) => !r.differing.includes(f))) : '';
    const cells = r.cells.map((c, i) => {
      const col = m.columns[i]!;
      if (!c) return col.error ? `✗ ${noteOf(`${col.label}: ${col.error}`)}` : '—';
      if (r.differing.length === 0) return '·';
      return facetText(c.facets, r.differing) || '-';
    });
    rows.push([r.label, common, ...cells]);
    marks.push([false, false, ...r.highlight]);
  }
  rows.push(['end', m.end.differs ? '' : (m.end.cells.find((c) => c) ?? ''), ...m.end.cells.map((c, i) => (m.columns[i]!.error ? '—' : m.end.differs ? c : '·'))]);
  marks.push([false, false, ...m.end.highlight]);
  for (const l of table(rows, marks, color)) lines.push(`  ${l}`);
  const differ = m.rows.filter((r) => r.differing.length).length + (m.end.differs ? 1 : 0);
  lines.push(`  ${differ} of ${m.rows.length + 1} rows differ across combinations${color ? '' : ' (* marks a cell that differs from the most common one)'}; · = same as "all"`);
  notes.forEach((n, i) => lines.push(`  [${i + 1}] ${color ? `${ANSI.fail}${n}${ANSI.reset}` : n}`));
  return lines;
}

// ---- JSON ------------------------------------------------------------------------------------

export function matrixJson(scenarios: MatrixScenario[], tool: string) {
  return {
    format: MATRIX_JSON_FORMAT_VERSION,
    kind: 'matrix',
    tool,
    scenarios: scenarios.map((m) => ({
      name: m.name,
      file: m.file,
      columns: m.columns.map((c) => ({ arch: c.arch, kernel: c.kernel, error: c.error, internal: c.internal, leaks: [...c.leaks], violations: [...c.violations] })),
      end: m.columns.map((c, i) => (c.error ? null : { result: m.end.cells[i]!, differs: m.end.highlight[i]! })),
      steps: m.rows.map((r) => ({
        index: r.index,
        id: r.id,
        op: r.op,
        task: r.task,
        addr: r.addr,
        differs: r.differing.length > 0,
        differing: [...r.differing],
        cells: r.cells.map((c, i) =>
          c
            ? {
                outcome: c.outcome,
                ret: c.ret,
                handler: c.handler,
                chain: [...c.chain],
                oops: c.oops,
                pte: c.pte,
                normalPage: c.normalPage ?? null,
                reports: [...c.reports],
                error: c.error,
                differs: r.highlight[i]!,
              }
            : null,
        ),
      })),
    })),
  };
}
