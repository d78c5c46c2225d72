// `mixedmap matrix`: one scenario on every arch × kernel combination (main() in-process).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { main, progressBar } from '../src/cli.js';
import { distinctive } from '../src/matrix.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const EX = (f: string) => join(ROOT, 'examples', f);
const tmp = mkdtempSync(join(tmpdir(), 'mixedmap-matrix-'));
const file = (name: string, text: string): string => {
  const f = join(tmp, name);
  writeFileSync(f, text);
  return f;
};

// a step whose expectation only holds on 2.6.32: matrix mode must not check it
const ZERO = file('zero.yaml', `name: zero
machine: { arch: x86, kernel: "2.6.32" }
tasks: [{ name: p }]
steps:
  - { task: p, op: mmap, as: m, length: 8K, prot: [read, write], flags: [private, anonymous] }
  - { task: p, op: read, addr: m, expect: { pte: { special: true } } }
  - { task: p, op: write, addr: m }
`);

describe('mixedmap matrix', () => {
  test('a row per step, a column per arch × kernel; only differing facets in the cells, marked with * without a TTY', async () => {
    const r = await main(['matrix', ZERO, '--arch', 'x86,s390', '--kernel', '2.6.20,2.6.27,2.6.32']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^matrix zero \(.*zero\.yaml\) — 6 combinations; expectations not checked$/);
    const header = lines[1]!.split('│').map((c) => c.trim());
    expect(header).toEqual(['step', 'all', 'x86 2.6.20', 'x86 2.6.27', 'x86 2.6.32', 's390 2.6.20', 's390 2.6.27', 's390 2.6.32']);
    const row = (label: string) => lines.find((l) => l.includes(label))!.split('│').map((c) => c.trim());
    // the read: do_anonymous_page everywhere; the pte differs: the zero page (2.6.20), an anon page
    // (2.6.27), the special zero pte (2.6.32). A tie: cells differing from the first column are marked
    expect(row('p: read m')).toEqual(['2 p: read m', 'ok do_anonymous_page', 'pte:ro,zero np:zero', '*pte:rw np:page', '*pte:ro,s,zero np:NULL', 'pte:ro,zero np:zero', '*pte:rw np:page', '*pte:ro,s,zero np:NULL']);
    // nothing differs on the mmap row
    expect(row('mmap → m').slice(2)).toEqual(Array(6).fill('·'));
    expect(r.stdout).not.toMatch(/\u001b\[/);
    expect(r.stdout).not.toMatch(/✗ pte|PASS|FAIL/);
  });

  test('ANSI colour instead of * when stdout is a terminal', async () => {
    const r = await main(['matrix', ZERO, '--kernel', '2.6.20,2.6.27'], { color: true });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\u001b\[1;33m/);
    expect(r.stdout).not.toMatch(/ \*pte/);
  });

  test('a combination that cannot be built is a column saying why; the others run', async () => {
    const r = await main(['matrix', EX('s390-dcss-pfn-valid-2.6.25.yaml'), '--arch', 's390,x86', '--kernel', '2.6.25']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/✗ \[1\]/);
    expect(r.stdout).toMatch(/\[1\] x86 2\.6\.25: machine\.archOptions\.segments: .*unknown option/);
    const d = await main(['matrix', EX('devmem-b02-strict-2.6.27.yaml'), '--kernel', '2.6.20,2.6.27', '--json']);
    const j = JSON.parse(d.stdout);
    expect(j.scenarios[0].columns.map((c: { error: string | null }) => c.error)).toEqual([expect.stringMatching(/strict.*do not exist before 2\.6\.26/), null]);
    expect(j.scenarios[0].steps[0].cells[0]).toBeNull();
  });

  test('--json: the documented shape; oopses, SIGBUS and errnos are shown', async () => {
    const r = await main(['matrix', EX('a08-nopfn-cow-oops.yaml'), EX('a11-nopfn-sigbus.yaml'), '--kernel', '2.6.20,2.6.26', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j)).toEqual(['format', 'kind', 'tool', 'scenarios']);
    expect(j.format).toBe(1);
    expect(j.kind).toBe('matrix');
    const [oops, sigbus] = j.scenarios;
    expect(Object.keys(oops)).toEqual(['name', 'file', 'columns', 'end', 'steps']);
    expect(oops.columns.map((c: { kernel: string }) => c.kernel)).toEqual(['2.6.20', '2.6.26']);
    const cells = oops.steps.flatMap((s: { cells: Array<{ outcome: string; oops: string | null }> }) => s.cells);
    expect(cells.some((c: { outcome: string; oops: string | null }) => c.outcome === 'oops' && c.oops)).toBe(true);
    expect(Object.keys(oops.steps[0])).toEqual(['index', 'id', 'op', 'task', 'addr', 'differs', 'differing', 'cells']);
    expect(Object.keys(oops.steps[0].cells[0])).toEqual(['outcome', 'ret', 'handler', 'chain', 'oops', 'pte', 'normalPage', 'reports', 'error', 'differs']);
    expect(sigbus.steps.flatMap((s: { cells: Array<{ outcome: string }> }) => s.cells).some((c: { outcome: string }) => c.outcome === 'SIGBUS')).toBe(true);
  });

  test('bad input: exit 2, the flag or the file named, no stack trace', async () => {
    const a = await main(['matrix', ZERO, '--arch', 'x86,vax']);
    expect(a).toMatchObject({ code: 2, stdout: '' });
    expect(a.stderr).toMatch(/^mixedmap: --arch vax: unknown arch "vax"/);
    const k = await main(['matrix', ZERO, '--kernel', '2.6.20,2.6.40,,']);
    expect(k.code).toBe(2);
    expect(k.stderr).toMatch(/--kernel 2\.6\.20,2\.6\.40,,: empty entry/);
    expect(k.stderr).toMatch(/--kernel 2\.6\.40: unknown kernel version/);
    expect(k.stderr).not.toMatch(/\n\s+at /);
    const f = await main(['matrix', join(tmp, 'missing.yaml'), '--kernel', '2.6.20']);
    expect(f.code).toBe(2);
    expect(f.stderr).toMatch(/missing\.yaml:0:0: cannot read the scenario: ENOENT/);
    expect((await main(['run', ZERO, '--arch', 'x86'])).stderr).toMatch(/--arch belongs to the matrix command/);
    expect((await main(['matrix'])).code).toBe(2);
  });

  test('an --arch plugin whose hook throws: that column says so (the plugin\'s fault), the others run; not an internal error', async () => {
    const arch = join(import.meta.dirname, '../../../packages/scenario/test/fixtures/throwing-arch.js');
    const anon = join(tmp, 'anon.yaml');
    writeFileSync(anon, 'name: anon\nmachine: { arch: x86 }\ntasks: [{ name: p }]\nsteps:\n  - { task: p, op: mmap, as: m, length: 8K, prot: [read, write], flags: [private, anonymous] }\n  - { task: p, op: write, addr: m }\n');
    const r = await main(['matrix', anon, '--arch', `./packages/scenario/test/fixtures/toy-arch.js,${arch}`, '--json']);
    expect(r.code).toBe(0);
    const cols = JSON.parse(r.stdout).scenarios[0].columns;
    expect(cols.map((c: { error: string | null; internal: boolean }) => [c.error === null, c.internal])).toEqual([[true, false], [false, false]]);
    expect(cols[1].error).toMatch(/arch "throwy" \(machine\.arch: .*throwing-arch\.js\): its pfnValid hook threw: pfn_valid exploded — a bug in the plugin, not a kernel Oops/);
  });

  test('a progress callback only for runs with many cells; the bar', async () => {
    const seen: Array<[number, number]> = [];
    await main(['matrix', ZERO, '--arch', 'x86,s390,arm', '--kernel', '2.6.20,2.6.26,2.6.27,2.6.32'], { progress: (d, t) => seen.push([d, t]) });
    expect(seen).toHaveLength(12);
    expect(seen.at(-1)).toEqual([12, 12]);
    const few: number[] = [];
    await main(['matrix', ZERO, '--kernel', '2.6.20,2.6.32'], { progress: (d) => few.push(d) });
    expect(few).toEqual([]);
    expect(progressBar(3, 12, 12)).toBe('[###---------] 3/12');
  });

  test('the distinctive part of a handler chain', () => {
    expect(distinctive(['handle_mm_fault', 'handle_pte_fault', 'do_anonymous_page'])).toBe('do_anonymous_page');
    expect(distinctive(['handle_mm_fault', 'handle_pte_fault', 'do_wp_page', 'cow_user_page'])).toBe('do_wp_page→cow_user_page');
    expect(distinctive(['handle_mm_fault', 'handle_pte_fault', 'do_no_pfn', 'nopfn', 'handle_mm_fault', 'handle_pte_fault', 'do_wp_page'])).toBe('do_no_pfn, do_wp_page');
    expect(distinctive([])).toBe('');
  });
});
