// The issue's speed and size targets, judged on a run's results. They are reported as PASS/MISS
// lines (terminal, JSON, HTML); a MISS never fails the run.
import type { BenchResult, Target } from './results.js';

const M = 1 << 20;
export const FAULT_KIND_ORDER = ['read-zero', 'write-anon', 'write-after-read', 'cow-copy', 'cow-reuse', 'fork', 'exit', 'gup'];

function fault(rs: BenchResult[], kind: string, size: number, order: string, arch = 'x86', kernel = '2.6.32'): BenchResult | undefined {
  return rs.find((r) => r.group === 'fault' && r.status === 'ok' && r.tags.kind === kind && r.tags.size === size && r.tags.order === order && r.tags.arch === arch && r.tags.kernel === kernel);
}

/**
 * The memory floor a kind cannot beat (bench/floor.bench.ts): exit updates count, mapcount and flags
 * per pte (struct-page); fork does that and copies each pte into the child's new table (fork-copy);
 * gup marks each page accessed (page-flags); every fault walks the page tables, reads the pte and
 * stores it (pte-store).
 */
const FLOOR_OF: Record<string, string> = { fork: 'fork-copy', exit: 'struct-page', gup: 'page-flags' };

function floorFor(rs: BenchResult[], kind: string, order: string): BenchResult | undefined {
  const fk = FLOOR_OF[kind] ?? 'pte-store';
  return rs.find((r) => r.group === 'floor' && r.status === 'ok' && r.tags.kind === fk && r.tags.order === order);
}

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : String(x));

function verdict(ok: boolean): 'PASS' | 'MISS' {
  return ok ? 'PASS' : 'MISS';
}

export function evaluateTargets(rs: BenchResult[]): Target[] {
  const out: Target[] = [];
  const na = (id: string, description: string, why: string) => out.push({ id, description, status: 'N/A', detail: why });

  for (const [id, order, need] of [['speedup-seq', 'seq', 10], ['speedup-rand', 'rand', 3]] as const) {
    const description = `x86 2.6.32, 4M pages, ${order === 'seq' ? 'sequential' : 'random'}: every fault kind ≥${need}× faster per op than the live kernel`;
    const parts: string[] = [];
    let ok = true;
    let missing = false;
    for (const kind of FAULT_KIND_ORDER) {
      const r = fault(rs, kind, 4 * M, order);
      if (!r || r.kernel?.speedup === undefined) {
        missing = true;
        parts.push(`${kind}: ${r ? `no kernel figure (${r.kernel?.missing ?? '?'})` : 'not run'}`);
        continue;
      }
      const s = r.kernel.speedup;
      if (s < need) ok = false;
      // the best speedup the floor allows: kernel ns ÷ floor ns (only worth saying on a miss)
      const fl = floorFor(rs, kind, order);
      const ceiling = fl?.nsPerOp && r.kernel.nsPerOp ? r.kernel.nsPerOp / fl.nsPerOp.median : undefined;
      parts.push(`${kind} ${f1(s)}×${s < need && ceiling !== undefined ? ` (floor ${f1(fl!.nsPerOp!.median)} ns: at most ${f1(ceiling)}×)` : ''}`);
    }
    if (missing && parts.every((p) => p.includes('not run'))) na(id, description, 'not measured in this run (needs the fault benchmarks at 4M pages)');
    else out.push({ id, description, status: missing ? 'MISS' : verdict(ok), detail: parts.join(', ') });
  }

  {
    const description = 'x86 2.6.32, sequential: ns/op at 16M pages within 1.3× of 1M, per fault kind';
    const parts: string[] = [];
    let ok = true;
    let any = false;
    for (const kind of FAULT_KIND_ORDER) {
      const a = fault(rs, kind, M, 'seq');
      const b = fault(rs, kind, 16 * M, 'seq');
      if (!a || !b) continue;
      any = true;
      const ratio = b.nsPerOp!.median / a.nsPerOp!.median;
      if (ratio > 1.3) ok = false;
      parts.push(`${kind} ${ratio.toFixed(2)}× (${f1(a.nsPerOp!.median)} → ${f1(b.nsPerOp!.median)} ns)`);
    }
    if (!any) na('scaling-16M', description, 'not measured in this run (needs 1M and 16M fault benchmarks)');
    else out.push({ id: 'scaling-16M', description, status: verdict(ok), detail: parts.join(', ') });
  }

  {
    const description = 'GC under 10% of the timed fault samples (x86 2.6.32; PerformanceObserver "gc" entries)';
    const fs = rs.filter((r) => r.group === 'fault' && r.status === 'ok' && r.tags.arch === 'x86' && r.tags.kernel === '2.6.32' && r.sampleMs);
    if (!fs.length) na('gc-share', description, 'no fault benchmarks ran');
    else {
      let gc = 0;
      let total = 0;
      let worst = fs[0]!;
      for (const r of fs) {
        const t = r.sampleMs!.median * r.samples;
        gc += (r.gcShare ?? 0) * t;
        total += t;
        if ((r.gcShare ?? 0) > (worst.gcShare ?? 0)) worst = r;
      }
      const share = gc / total;
      out.push({ id: 'gc-share', description, status: verdict(share < 0.1), detail: `${(share * 100).toFixed(1)}% over ${fs.length} benchmarks; worst ${worst.id} ${((worst.gcShare ?? 0) * 100).toFixed(1)}%` });
    }
  }

  {
    const description = '≤40 bytes of model memory per mapped page (ptes + page tables + mem_map), x86 2.6.32 write → new anonymous page';
    const ws = rs.filter((r) => r.group === 'fault' && r.status === 'ok' && r.tags.kind === 'write-anon' && r.tags.arch === 'x86' && r.tags.kernel === '2.6.32' && typeof r.metrics.modelBytesPerPage === 'number');
    const big = ws.sort((a, b) => (b.tags.size ?? 0) - (a.tags.size ?? 0))[0];
    if (!big) na('bytes-per-page', description, 'write-anon did not run');
    else {
      const v = big.metrics.modelBytesPerPage as number;
      out.push({ id: 'bytes-per-page', description, status: verdict(v <= 40), detail: `${v.toFixed(1)} B/page at ${big.tags.size} pages` });
    }
  }

  {
    const description = 'vm_normal_page ≥50M calls/s';
    const vs = rs.filter((r) => r.group === 'vm_normal_page' && r.status === 'ok');
    if (!vs.length) na('vm-normal-page', description, 'vm_normal_page benchmark did not run');
    else {
      const ok = vs.every((r) => (r.opsPerSec ?? 0) >= 50e6);
      out.push({ id: 'vm-normal-page', description, status: verdict(ok), detail: vs.map((r) => `${r.tags.kind}: ${((r.opsPerSec ?? 0) / 1e6).toFixed(1)}M/s`).join(', ') });
    }
  }

  {
    const description = 'fork, unmap (exit) and gup ≥30M ptes/s (x86 2.6.32, 4M pages, sequential)';
    const parts: string[] = [];
    let ok = true;
    let any = false;
    for (const kind of ['fork', 'exit', 'gup']) {
      const r = fault(rs, kind, 4 * M, 'seq');
      if (!r) continue;
      any = true;
      const mps = (r.opsPerSec ?? 0) / 1e6;
      if (mps < 30) ok = false;
      parts.push(`${kind} ${mps.toFixed(1)}M/s`);
    }
    if (!any) na('pte-rate', description, 'not measured in this run (needs fork/exit/gup at 4M pages)');
    else out.push({ id: 'pte-rate', description, status: parts.length === 3 ? verdict(ok) : 'MISS', detail: parts.join(', ') });
  }

  {
    const description = '100 guests × 1 GiB XIP fully faulted in under 10 s and under 3 GiB RSS';
    const g = rs.find((r) => r.group === 'guests' && r.status === 'ok');
    if (!g || g.metrics.runGuests !== 100) na('guests', description, g ? `only ${g.metrics.runGuests} guests in this run (--quick)` : 'the guests benchmark did not run');
    else {
      const s = (g.metrics.runMs as number) / 1000;
      const rss = (g.metrics.runRssBytes as number) / 1024 ** 3;
      out.push({ id: 'guests', description, status: verdict(s < 10 && rss < 3), detail: `${s.toFixed(2)} s, RSS ${rss.toFixed(2)} GiB, ${g.metrics.runPtes} ptes (${g.metrics.runDriver})${typeof g.metrics.liteDriverRunMs === 'number' ? `; through the minimal in-bench VM_MIXEDMAP driver ${((g.metrics.liteDriverRunMs as number) / 1000).toFixed(2)} s` : ''}` });
    }
  }
  return out;
}
