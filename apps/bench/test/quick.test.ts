// `mixedmap-bench --quick`: every benchmark runs once at small sizes; the JSON records the machine,
// Node and the commit; --compare flags regressions; the HTML report renders every chart in a real
// headless Chromium (Debian's chromium; .ci/run installs it — a missing browser fails this test).
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { beforeAll, describe, expect, test } from 'vitest';
import type { ResultsFile } from '../src/results.js';
import { bench, ensureBuilt } from './helpers.js';

const out = mkdtempSync(join(tmpdir(), 'mixedmap-bench-'));
let run: { code: number | null; stdout: string; stderr: string };
let res: ResultsFile;
let listed: string[];

beforeAll(() => {
  ensureBuilt();
  listed = bench('--quick', '--list').stdout.trim().split('\n').map((l) => l.split('\t')[0]!);
  run = bench('--quick', '--quiet', '--out', out);
  res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ResultsFile;
}, 600_000);

describe('mixedmap-bench --quick', () => {
  test('exits 0 and prints the tables and the target lines', () => {
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Fault throughput: model vs live kernel');
    expect(run.stdout).toMatch(/^(PASS|MISS|N\/A) +x86 2\.6\.32, 4M pages, sequential/m);
  });

  test('runs every benchmark in a worker thread of its own (a fresh V8 isolate)', () => {
    const ids = res.results.map((r) => r.threadId);
    expect(ids.every((t) => typeof t === 'number' && t > 0), JSON.stringify(ids)).toBe(true);
    expect(new Set(ids).size).toBe(res.results.length);
  });

  test('--in-process runs them in the harness\'s own thread', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mixedmap-bench-inproc-'));
    const r = bench('--quick', '--quiet', '--in-process', '--name', 'vm_normal_page', '--out', dir);
    expect(r.code).toBe(0);
    const f = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as ResultsFile;
    expect(f.results.length).toBeGreaterThan(0);
    expect(f.results.map((x) => x.threadId)).toEqual(f.results.map(() => 0));
  });

  test('discovers benchmarks across packages, and every one of them ran', () => {
    const packages = new Set(res.results.map((r) => r.package));
    expect(packages).toContain('@mixedmap/bench');
    expect(packages).toContain('@mixedmap/core'); // packages/core/bench/vm-normal-page.bench.ts
    expect(res.results.map((r) => r.id).sort()).toEqual([...listed].sort());
    for (const r of res.results) {
      if (r.id === 'explorer/throughput' && r.package === '@mixedmap/bench') {
        expect(r.status).toBe('missing'); // the hook: no explorer benchmark yet, and no numbers
        expect(r.reason).toMatch(/explorer\/throughput/);
        expect(r.nsPerOp).toBeUndefined();
        continue;
      }
      expect(r.status, `${r.id}: ${r.reason}`).toBe('ok');
      expect(r.nsPerOp!.median).toBeGreaterThan(0);
      expect(r.nsPerOp!.min).toBeLessThanOrEqual(r.nsPerOp!.max);
      expect(r.opsPerSec).toBeGreaterThan(0);
      expect(r.memory!.rss).toBeGreaterThan(0);
      expect(r.memory!.heapUsed).toBeGreaterThan(0);
      expect(typeof r.memory!.arrayBuffers).toBe('number');
    }
  });

  test('the fault matrix: 8 kinds × arches × releases × orders, each with the live kernel beside it', () => {
    const faults = res.results.filter((r) => r.group === 'fault');
    expect(new Set(faults.map((r) => r.tags.kind))).toEqual(new Set(['read-zero', 'write-anon', 'write-after-read', 'cow-copy', 'cow-reuse', 'fork', 'exit', 'gup']));
    expect(new Set(faults.map((r) => r.tags.arch))).toEqual(new Set(['x86', 'arm', 's390']));
    expect(new Set(faults.map((r) => r.tags.order))).toEqual(new Set(['seq', 'rand']));
    for (const r of faults) {
      expect(r.kernel, r.id).toBeDefined();
      // CI runs on Linux with cc: the kernel column must be there, with getrusage-confirmed faults
      expect(r.kernel!.missing, r.id).toBeUndefined();
      expect(r.kernel!.nsPerOp).toBeGreaterThan(0);
      expect(r.kernel!.speedup).toBeCloseTo(r.kernel!.nsPerOp! / r.nsPerOp!.median, 6);
      if (!['fork', 'exit', 'gup'].includes(r.tags.kind!)) expect(r.kernel!.minfltPerOp, r.id).toBeGreaterThanOrEqual(0.99);
    }
  });

  test('the JSON records the machine, Node, the commit and the targets', () => {
    expect(res.run.schema).toBe('mixedmap-bench/1');
    expect(res.run.quick).toBe(true);
    expect(res.run.node.version).toBe(process.version);
    expect(res.run.git.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(res.run.machine.cpus).toBeGreaterThan(0);
    expect(res.run.machine.memoryBytes).toBeGreaterThan(0);
    expect(res.run.nativeProgram.built).toBe(true);
    expect(res.targets.map((t) => t.id)).toEqual(['speedup-seq', 'speedup-rand', 'scaling-16M', 'gc-share', 'bytes-per-page', 'vm-normal-page', 'pte-rate', 'guests']);
    for (const t of res.targets) expect(['PASS', 'MISS', 'N/A']).toContain(t.status);
  });

  test('the 100-guests table: break-even at 73.1 guests (56 B) and 64 (memcg), from the model', () => {
    const g = res.results.find((r) => r.id === 'guests/100-guests')!;
    expect(g.metrics.structPageBytes56PerGuest).toBe((g.metrics.imageBytes as number) / 4096 * 56);
    expect(g.metrics.structPageBytes64PerGuest).toBe((g.metrics.imageBytes as number) / 4096 * 64);
    expect(g.metrics.memmapBytes2626PerGuest).toBe(0);
    expect(g.metrics.breakEvenGuests56 as number).toBeCloseTo(4096 / 56, 6);
    expect(g.metrics.breakEvenGuests64).toBe(64);
    expect(g.metrics.runAllPtesSpecial).toBe(true);
    expect(g.metrics.runDcssMemmapBytes).toBe(0);
  });

  test('--compare prints ratios against a baseline and flags regressions beyond the threshold', () => {
    const base = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ResultsFile;
    const target = base.results.find((r) => r.id === 'vm_normal_page/normal')!;
    target.nsPerOp!.median /= 10; // the baseline was 10× faster: now is a regression
    const basePath = join(out, 'baseline.json');
    writeFileSync(basePath, JSON.stringify(base));
    const r = bench('--quick', '--quiet', '--name', 'vm_normal_page', '--out', join(out, 'cmp'), '--compare', basePath, '--threshold', '0.5', '--fail-on-regression');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/vm_normal_page\/normal .* REGRESSION/);
    const cmp = JSON.parse(readFileSync(join(out, 'cmp/results.json'), 'utf8')) as ResultsFile;
    expect(cmp.comparison!.regressions).toBeGreaterThanOrEqual(1);
    const row = cmp.comparison!.rows.find((x) => x.id === 'vm_normal_page/normal')!;
    expect(row.ratio).toBeGreaterThan(1.5);
    expect(row.regression).toBe(true);
  }, 300_000);

  test('the HTML report renders every chart in headless Chromium', async () => {
    const html = join(out, 'report.html');
    expect(existsSync(html)).toBe(true);
    const text = readFileSync(html, 'utf8');
    expect(text).not.toMatch(/<script(?! type="application\/json")/); // no client-side code: charts are server-rendered SVG
    if (!existsSync('/usr/bin/chromium')) throw new Error('/usr/bin/chromium is missing: install Debian\'s chromium (apt-get install -y chromium; .ci/run does this)');
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      await page.goto(pathToFileURL(html).href);
      const report = await page.evaluate(() => {
        const ids = JSON.parse(document.getElementById('chart-ids')!.textContent!) as string[];
        const figs = [...document.querySelectorAll('figure.chart')].map((f) => {
          const svg = f.querySelector('svg');
          const box = svg?.getBoundingClientRect();
          const marks = svg ? svg.querySelectorAll('path, rect, polyline, line').length : 0;
          const text = svg ? [...svg.querySelectorAll('text')].map((t) => t.textContent).join(' ') : '';
          return { id: f.getAttribute('data-chart-id'), w: box?.width ?? 0, h: box?.height ?? 0, marks, text };
        });
        return { ids, figs, title: document.title };
      });
      expect(report.title).toMatch(/mixedmap-bench/);
      expect(report.ids.length).toBeGreaterThanOrEqual(5);
      expect(report.figs.map((f) => f.id)).toEqual(report.ids);
      for (const id of ['model-vs-kernel-seq', 'model-vs-kernel-rand', 'arch-kernel', 'guests-memmap', 'zero-page-contention', 'gup-vs-gup-fast']) expect(report.ids).toContain(id);
      for (const f of report.figs) {
        expect(f.w, f.id!).toBeGreaterThan(100);
        expect(f.h, f.id!).toBeGreaterThan(100);
        expect(f.marks, f.id!).toBeGreaterThan(5);
        expect(f.text.length, f.id!).toBeGreaterThan(0);
      }
      await page.screenshot({ path: join(out, 'report.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  }, 120_000);
});
