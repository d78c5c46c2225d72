// The headline tables as Markdown (--md FILE): what the root README's benchmark section shows.
import type { Table } from '../api.js';
import type { ResultsFile } from '../results.js';
import { FAULT_KIND_ORDER } from '../targets.js';
import { fmtNs } from './text.js';

function md(t: Table): string {
  const row = (r: Array<string | number>) => `| ${r.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`;
  return [`**${t.title}**`, '', row(t.columns), row(t.columns.map(() => '---')), ...t.rows.map(row)].join('\n');
}

export function renderMarkdown(f: ResultsFile): string {
  const M = 1 << 20;
  const get = (kind: string, size: number, order: string) =>
    f.results.find((r) => r.group === 'fault' && r.status === 'ok' && r.tags.kind === kind && r.tags.size === size && r.tags.order === order && r.tags.arch === 'x86' && r.tags.kernel === '2.6.32');
  const rows = FAULT_KIND_ORDER.map((kind) => {
    const cell = (size: number, order: string) => {
      const r = get(kind, size, order);
      return r ? fmtNs(r.nsPerOp!.median) : '—';
    };
    const s = get(kind, 4 * M, 'seq');
    const q = get(kind, 4 * M, 'rand');
    const k = s?.kernel?.nsPerOp;
    const kr = q?.kernel?.nsPerOp;
    return [kind, cell(M, 'seq'), cell(4 * M, 'seq'), cell(16 * M, 'seq'), k ? fmtNs(k) : '—', s?.kernel?.speedup ? `${s.kernel.speedup.toFixed(1)}×` : '—', cell(4 * M, 'rand'), kr ? fmtNs(kr) : '—', q?.kernel?.speedup ? `${q.kernel.speedup.toFixed(1)}×` : '—'];
  });
  const parts = [md({
    title: 'Model vs live kernel, x86 2.6.32 (ns per fault / pte / page; speedup = kernel ÷ model)',
    columns: ['kind', 'model 1M seq', 'model 4M seq', 'model 16M seq', 'kernel seq', 'speedup seq', 'model 4M rand', 'kernel rand', 'speedup rand'],
    rows,
  })];
  const g = f.results.find((r) => r.id === 'guests/100-guests' && r.status === 'ok');
  if (g) for (const t of g.tables) parts.push(md(t));
  parts.push(['**Targets**', '', ...f.targets.map((t) => `- ${t.status} — ${t.description}: ${t.detail}`)].join('\n'));
  const run = f.run;
  parts.push(`_${run.startedAt.slice(0, 10)}, commit ${run.git.commit?.slice(0, 10) ?? '?'}${run.git.dirty ? ' (with uncommitted changes)' : ''}, Node ${run.node.version}, ${run.machine.cpus} × ${run.machine.cpuModel}, ${(run.machine.memoryBytes / 2 ** 30).toFixed(0)} GiB, live kernel ${run.machine.kernel}; live-kernel column measured at ${f.results.find((r) => r.kernel?.pages)?.kernel?.pages ?? '?'} pages._`);
  return parts.join('\n\n') + '\n';
}
