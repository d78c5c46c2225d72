// The self-contained HTML report: tables and SVG charts rendered on the server side with echarts'
// SSR renderer (no browser build step, no script in the page). Every chart is a
// <figure class="chart" data-chart-id="…"> holding an inline <svg>.
import * as echarts from 'echarts';
import type { ChartSpec, Table } from '../api.js';
import type { BenchResult, ResultsFile } from '../results.js';
import { FAULT_KIND_ORDER } from '../targets.js';
import { comparisonTable, faultTable, label, otherTable } from './text.js';

const esc = (s: unknown) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export function renderSvg(c: ChartSpec): string {
  const width = c.width ?? 760;
  const height = c.height ?? 340;
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({
      animation: false,
      title: { text: c.title, left: 'center', textStyle: { fontSize: 13 } },
      grid: { top: 70, left: 70, right: 30, bottom: 60 },
      tooltip: { show: false },
      ...c.option,
    });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

function tableHtml(t: Table): string {
  return `<table><caption>${esc(t.title)}</caption><thead><tr>${t.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>${t.rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

const M = 1 << 20;

/** The harness's own charts from the fault results. */
export function faultCharts(rs: BenchResult[]): ChartSpec[] {
  const fs = rs.filter((r) => r.group === 'fault' && r.status === 'ok');
  const get = (kind: string, size: number, order: string, arch = 'x86', kernel = '2.6.32') =>
    fs.find((r) => r.tags.kind === kind && r.tags.size === size && r.tags.order === order && r.tags.arch === arch && r.tags.kernel === kernel);
  const out: ChartSpec[] = [];
  const sizes = [...new Set(fs.filter((r) => r.tags.arch === 'x86' && r.tags.kernel === '2.6.32').map((r) => r.tags.size!))].sort((a, b) => a - b);
  const head = sizes.includes(4 * M) ? 4 * M : sizes[sizes.length - 1];
  if (head !== undefined) {
    for (const order of ['seq', 'rand']) {
      const kinds = FAULT_KIND_ORDER.filter((k) => get(k, head, order));
      if (!kinds.length) continue;
      out.push({
        id: `model-vs-kernel-${order}`,
        title: `ns per op, model vs live kernel — x86 2.6.32, ${label(head)} pages, ${order === 'seq' ? 'sequential' : 'random'} (log scale)`,
        option: {
          legend: { top: 24 },
          xAxis: { type: 'category', data: kinds, axisLabel: { interval: 0, fontSize: 10 } },
          yAxis: { type: 'log', name: 'ns/op' },
          series: [
            { name: 'model', type: 'bar', data: kinds.map((k) => +get(k, head, order)!.nsPerOp!.median.toFixed(1)) },
            { name: 'live kernel', type: 'bar', data: kinds.map((k) => { const v = get(k, head, order)!.kernel?.nsPerOp; return v === undefined ? '-' : +v.toFixed(1); }) },
          ],
        },
      });
    }
  }
  if (sizes.length > 1) {
    const kinds = FAULT_KIND_ORDER.filter((k) => sizes.some((s) => get(k, s, 'seq')));
    out.push({
      id: 'scaling',
      title: 'ns per op vs size — x86 2.6.32, sequential',
      option: {
        legend: { top: 24, type: 'scroll' },
        xAxis: { type: 'category', data: sizes.map(label) },
        yAxis: { type: 'value', name: 'ns/op' },
        series: kinds.map((k) => ({ name: k, type: 'line', data: sizes.map((s) => { const r = get(k, s, 'seq'); return r ? +r.nsPerOp!.median.toFixed(1) : '-'; }) })),
      },
    });
  }
  const configs = [...new Set(fs.filter((r) => !(r.tags.arch === 'x86' && r.tags.kernel === '2.6.32')).map((r) => `${r.tags.arch} ${r.tags.kernel}`))];
  if (configs.length) {
    const all = ['x86 2.6.32', ...configs];
    const kinds = FAULT_KIND_ORDER.filter((k) => fs.some((r) => r.tags.kind === k && `${r.tags.arch} ${r.tags.kernel}` !== 'x86 2.6.32' && r.tags.order === 'seq'));
    out.push({
      id: 'arch-kernel',
      title: 'ns per op by arch and kernel release — smallest size run, sequential',
      option: {
        legend: { top: 24 },
        xAxis: { type: 'category', data: kinds, axisLabel: { interval: 0, fontSize: 10 } },
        yAxis: { type: 'value', name: 'ns/op' },
        series: all.map((cfg) => {
          const [arch, kernel] = cfg.split(' ') as [string, string];
          return {
            name: cfg, type: 'bar',
            data: kinds.map((k) => {
              const cands = fs.filter((r) => r.tags.kind === k && r.tags.arch === arch && r.tags.kernel === kernel && r.tags.order === 'seq').sort((a, b) => a.tags.size! - b.tags.size!);
              return cands[0] ? +cands[0].nsPerOp!.median.toFixed(1) : '-';
            }),
          };
        }),
      },
    });
  }
  return out;
}

export function renderHtml(f: ResultsFile): string {
  const charts: Array<{ section: string; spec: ChartSpec }> = [];
  for (const c of faultCharts(f.results)) charts.push({ section: 'fault', spec: c });
  for (const r of f.results) for (const c of r.charts) charts.push({ section: r.id, spec: c });
  if (f.comparison && f.comparison.rows.length) {
    const rows = f.comparison.rows;
    charts.push({
      section: 'compare',
      spec: {
        id: 'comparison', title: `now ÷ baseline ns/op (regression above ${(1 + f.comparison.threshold).toFixed(2)})`, height: Math.max(300, 14 * rows.length + 120),
        option: {
          grid: { top: 60, left: 330, right: 40, bottom: 40 },
          yAxis: { type: 'category', data: rows.map((r) => r.id), axisLabel: { fontSize: 9 } },
          xAxis: { type: 'value' },
          series: [{ type: 'bar', data: rows.map((r) => ({ value: +r.ratio.toFixed(3), itemStyle: { color: r.regression ? '#c23531' : '#5470c6' } })) }],
        },
      },
    });
  }
  const fig = (c: ChartSpec) => `<figure class="chart" data-chart-id="${esc(c.id)}">${renderSvg(c)}</figure>`;
  const run = f.run;
  const targets = `<table class="targets"><caption>Targets (reported, never fatal)</caption><tbody>${f.targets
    .map((t) => `<tr class="${t.status}"><td>${t.status}</td><td>${esc(t.description)}<br><small>${esc(t.detail)}</small></td></tr>`)
    .join('')}</tbody></table>`;
  const sections: string[] = [];
  const ft = faultTable(f.results);
  if (ft.rows.length) sections.push(`<section id="fault"><h2>Fault throughput</h2>${charts.filter((c) => c.section === 'fault').map((c) => fig(c.spec)).join('')}${tableHtml(ft)}</section>`);
  for (const r of f.results.filter((x) => x.group !== 'fault')) {
    sections.push(`<section id="${esc(r.id)}"><h2>${esc(r.title)}</h2><p class="meta">${esc(r.package)} · ${esc(r.file)} · ${r.status}${r.reason ? `: ${esc(r.reason)}` : ''}</p>${r.charts.map(fig).join('')}${r.tables.map(tableHtml).join('')}${
      Object.keys(r.metrics).length ? `<details><summary>metrics</summary><pre>${esc(JSON.stringify(r.metrics, null, 2))}</pre></details>` : ''
    }</section>`);
  }
  sections.push(`<section id="all"><h2>All benchmarks</h2>${tableHtml(otherTable(f.results))}</section>`);
  if (f.comparison) sections.push(`<section id="compare"><h2>Comparison</h2>${charts.filter((c) => c.section === 'compare').map((c) => fig(c.spec)).join('')}${tableHtml(comparisonTable(f.comparison))}</section>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mixedmap-bench ${esc(run.startedAt)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:12px}caption{text-align:left;font-weight:600;padding:4px 0}
th,td{border:1px solid #ccc;padding:2px 6px;text-align:right}td:first-child,th:first-child{text-align:left}
tr.PASS td:first-child{color:#1a7f37;font-weight:700}tr.MISS td:first-child{color:#c23531;font-weight:700}tr.N\\/A td:first-child{color:#777}
table.targets td{text-align:left}figure.chart{margin:1em 0;border:1px solid #eee}.meta{color:#666;font-size:12px}
</style></head><body>
<h1>mixedmap-bench</h1>
<p class="meta">${esc(run.startedAt)} · commit ${esc(run.git.commit ?? 'unknown')}${run.git.dirty ? ' (dirty)' : ''} · Node ${esc(run.node.version)} · ${esc(run.machine.cpuModel)} × ${run.machine.cpus} · ${(run.machine.memoryBytes / 2 ** 30).toFixed(1)} GiB · ${esc(run.machine.platform)} ${esc(run.machine.kernel)}${run.quick ? ' · QUICK RUN (sizes too small for speed claims)' : ''} · ${(run.durationMs / 1000).toFixed(0)} s</p>
<p class="meta">kernel column: ${run.nativeProgram.built ? esc(`native/mm-fault-bench.c built with ${run.nativeProgram.compiler}`) : esc(`missing — ${run.nativeProgram.missing}`)}</p>
${targets}
${sections.join('\n')}
<script type="application/json" id="chart-ids">${JSON.stringify(charts.map((c) => c.spec.id))}</script>
</body></html>
`;
}
