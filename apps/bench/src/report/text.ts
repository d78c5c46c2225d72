// Terminal output: a progress bar on stderr while the benchmarks run, then the result tables.
import type { Table } from '../api.js';
import type { BenchResult, Comparison, ResultsFile, Target } from '../results.js';
import { FAULT_KIND_ORDER } from '../targets.js';

export class Progress {
  private readonly tty = process.stderr.isTTY === true;
  private readonly t0 = Date.now();
  constructor(private readonly total: number, private readonly enabled = true) {}

  update(done: number, label: string): void {
    if (!this.enabled) return;
    const width = 28;
    const fill = this.total ? Math.round((done / this.total) * width) : width;
    const s = Math.round((Date.now() - this.t0) / 1000);
    const line = `[${'█'.repeat(fill)}${'░'.repeat(width - fill)}] ${done}/${this.total} ${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')} ${label}`;
    if (this.tty) process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns ?? 120) - 1)}`);
    else process.stderr.write(`${line}\n`);
  }

  done(): void {
    if (this.enabled && this.tty) process.stderr.write('\r\x1b[2K');
  }
}

export function fmtNs(ns: number | undefined): string {
  if (ns === undefined || !Number.isFinite(ns)) return '—';
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(1)} ns`;
}

export function fmtRate(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '—';
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M/s`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}K/s`;
  return `${x.toFixed(1)}/s`;
}

export const mib = (b: number | undefined) => (b === undefined ? '—' : `${(b / 2 ** 20).toFixed(0)}`);

export function renderTable(t: Table): string {
  const cells = [t.columns, ...t.rows.map((r) => r.map((c) => String(c)))];
  const w = t.columns.map((_, i) => Math.max(...cells.map((r) => [...(r[i] ?? '')].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [t.title, line(t.columns), w.map((n) => '─'.repeat(n)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** The fault rows: model ns/op beside the live kernel's and the speedup. */
export function faultTable(rs: BenchResult[]): Table {
  const fs = rs.filter((r) => r.group === 'fault' && r.status === 'ok');
  fs.sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
  return {
    title: 'Fault throughput: model vs live kernel (ns per op; speedup = kernel ÷ model)',
    columns: ['kind', 'arch', 'kernel', 'pages', 'order', 'model median', 'min', 'max', 'ops/s', 'live kernel', 'speedup', 'heap MiB', 'AB MiB', 'RSS MiB', 'GC'],
    rows: fs.map((r) => [
      r.tags.kind!, r.tags.arch!, r.tags.kernel!, label(r.tags.size!), r.tags.order!, fmtNs(r.nsPerOp?.median), fmtNs(r.nsPerOp?.min), fmtNs(r.nsPerOp?.max),
      fmtRate(r.opsPerSec), r.kernel?.nsPerOp !== undefined ? `${fmtNs(r.kernel.nsPerOp)}${r.kernel.pages !== r.tags.size ? ` @${label(r.kernel.pages!)}` : ''}` : `— ${r.kernel?.missing ?? ''}`,
      r.kernel?.speedup !== undefined ? `${r.kernel.speedup.toFixed(1)}×` : '—', mib(r.memory?.heapUsed), mib(r.memory?.arrayBuffers), mib(r.memory?.rss),
      `${((r.gcShare ?? 0) * 100).toFixed(1)}%`,
    ]),
  };
}

function sortKey(r: BenchResult): string {
  const k = FAULT_KIND_ORDER.indexOf(r.tags.kind ?? '');
  return `${r.tags.arch === 'x86' && r.tags.kernel === '2.6.32' ? 0 : 1}/${r.tags.arch}/${r.tags.kernel}/${String(k).padStart(2, '0')}/${String(r.tags.size).padStart(10, '0')}/${r.tags.order}`;
}

export function label(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n >> 20}M`;
  if (n >= 1024 && n % 1024 === 0) return `${n >> 10}K`;
  return String(n);
}

export function otherTable(rs: BenchResult[]): Table {
  const os = rs.filter((r) => r.group !== 'fault');
  return {
    title: 'Other benchmarks',
    columns: ['benchmark', 'unit', 'median', 'min', 'max', 'ops/s', 'heap MiB', 'AB MiB', 'RSS MiB', 'status'],
    rows: os.map((r) => [r.id, r.unit, fmtNs(r.nsPerOp?.median), fmtNs(r.nsPerOp?.min), fmtNs(r.nsPerOp?.max), fmtRate(r.opsPerSec), mib(r.memory?.heapUsed), mib(r.memory?.arrayBuffers), mib(r.memory?.rss), r.status === 'ok' ? 'ok' : `${r.status}: ${r.reason ?? ''}`]),
  };
}

export function targetLines(ts: Target[]): string {
  return ts.map((t) => `${t.status.padEnd(4)} ${t.description}\n     ${t.detail}`).join('\n');
}

export function comparisonTable(c: Comparison): Table {
  return {
    title: `Compared with ${c.baseline} (commit ${c.baselineCommit ?? '?'}): ratio = now ÷ baseline ns/op; regression above ${(1 + c.threshold).toFixed(2)}×`,
    columns: ['benchmark', 'baseline', 'now', 'ratio', ''],
    rows: c.rows.map((r) => [r.id, fmtNs(r.baselineNs), fmtNs(r.currentNs), `${r.ratio.toFixed(3)}×`, r.regression ? 'REGRESSION' : r.ratio < 1 / (1 + c.threshold) ? 'faster' : '']),
  };
}

export function renderText(f: ResultsFile): string {
  const parts: string[] = [];
  const ft = faultTable(f.results);
  if (ft.rows.length) parts.push(renderTable(ft));
  parts.push(renderTable(otherTable(f.results)));
  for (const r of f.results) for (const t of r.tables) parts.push(renderTable(t));
  if (f.comparison) {
    parts.push(renderTable(comparisonTable(f.comparison)));
    parts.push(`${f.comparison.regressions} regression(s) beyond ${(f.comparison.threshold * 100).toFixed(0)}%`);
  }
  parts.push(`Targets (reported, never fatal):\n${targetLines(f.targets)}`);
  return parts.join('\n\n');
}
