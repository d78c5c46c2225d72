// What the oracle refuses before anything runs, the size limit, the program it writes, the
// comparison, and the CLI command.
import { beforeAll, describe, expect, it } from 'vitest';
import { isScenarioError, type LoadedScenario } from '@mixedmap/scenario';
import { loadOracleScenario, planScenario, programText, runModel, compareRuns, renderOracle, runOracle, OracleUnavailable } from '../src/index.js';
import { runOracleCommand } from '../../../apps/cli/src/oracle.js';
import { buildExecutor } from './helpers.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const head = (machine = 'machine: { arch: x86, kernel: "6.x", drivers: [pagecache] }') => `name: t\n${machine}\ntasks: [{ name: p }]\nsteps:\n`;
const load = (text: string): Promise<LoadedScenario> => loadOracleScenario({ text, file: 't.yaml' });

async function refusal(text: string, opts: { limit?: number } = {}): Promise<{ field: string; line: number; message: string }[]> {
  const s = await load(text);
  try {
    planScenario(s, opts);
  } catch (e) {
    if (!isScenarioError(e)) throw e;
    return e.problems.map((p) => ({ field: p.field, line: p.line, message: p.message }));
  }
  return [];
}

let exe: string;
beforeAll(() => {
  exe = buildExecutor();
});

describe('planScenario refuses what the live kernel cannot show', () => {
  it('other archs and old kernels', async () => {
    const arm = await refusal(`${head('machine: { arch: arm, kernel: "6.x" }')}  - { task: p, op: mmap, as: m, length: 4K, prot: [read], flags: [private, anonymous] }\n`);
    expect(arm[0]).toMatchObject({ field: 'machine.arch', line: 2 });
    expect(arm[0]!.message).toMatch(/only x86/);
    const old = await refusal(`${head('machine: { arch: x86, kernel: "2.6.32" }')}  - { task: p, op: mmap, as: m, length: 4K, prot: [read], flags: [private, anonymous] }\n`);
    expect(old[0]).toMatchObject({ field: 'machine.kernel' });
    expect(old[0]!.message).toMatch(/"6.x", not the old release "2.6.32"/);
  });

  it('mspec and /dev/mem drivers', async () => {
    const xip = await refusal(`${head('machine: { arch: x86, kernel: "6.x", drivers: [mspec] }')}  - { task: p, op: mmap, as: m, length: 4K, prot: [read], flags: [private, anonymous] }\n`);
    expect(xip.some((p) => /mspec is an SGI/.test(p.message) && p.field.startsWith('machine.drivers[0]'))).toBe(true);
    const devmem = await refusal(`${head('machine: { arch: x86, kernel: "6.x", drivers: [devmem] }')}  - { task: p, op: mmap, as: m, file: /dev/mem, length: 4K, prot: [read], flags: [shared] }\n`);
    expect(devmem.some((p) => /\/dev\/mem/.test(p.message))).toBe(true);
  });

  it('kernel-internal ops, threads, literal addresses and MAP_FIXED', async () => {
    const r = await refusal(
      `${head()}  - { task: p, op: mmap, as: m, length: 4K, prot: [read], flags: [private, anonymous] }\n` +
        '  - { task: p, op: gup, addr: m }\n  - { task: p, op: read, addr: 0x40000000 }\n  - { task: p, op: clone, name: t2 }\n' +
        '  - { task: p, op: mmap, addr: 0x50000000, length: 4K, prot: [read], flags: [private, anonymous, fixed] }\n',
    );
    expect(r.map((p) => p.field)).toEqual(['steps[1].op', 'steps[2].addr', 'steps[3].op', 'steps[4].flags']);
    expect(r[0]!.message).toMatch(/get_user_pages is a kernel-internal call/);
    expect(r[1]!.message).toMatch(/literal addresses/);
    expect(r[0]!.line).toBe(6);
  });

  it('ranges outside the scenario mapping', async () => {
    const r = await refusal(`${head()}  - { task: p, op: mmap, as: m, length: 8K, prot: [read], flags: [private, anonymous] }\n  - { task: p, op: read, addr: m+2p }\n  - { task: p, op: madvise, addr: m+1p, length: 8K, advice: dontneed }\n`);
    expect(r.map((p) => p.field)).toEqual(['steps[1].addr', 'steps[2].length']);
  });

  it('mappings over the size limit (default 1 GiB, or --limit)', async () => {
    const text = `${head()}  - { task: p, op: mmap, as: m, length: 768M, prot: [read], flags: [private, anonymous] }\n  - { task: p, op: mmap, as: n, length: 512M, prot: [read], flags: [private, anonymous] }\n`;
    const r = await refusal(text);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ field: 'steps[1].length', line: 6 });
    expect(r[0]!.message).toMatch(/over the limit of 1073741824 bytes/);
    expect(await refusal(text, { limit: 2 * 1024 ** 3 })).toEqual([]);
    expect((await refusal(`${head()}  - { task: p, op: mmap, as: m, length: 8K, prot: [read], flags: [private, anonymous] }\n`, { limit: 4096 }))[0]!.field).toBe('steps[0].length');
  });
});

describe('the program and the comparison', () => {
  it('numbers mappings, files and tasks and passes the model addresses as hints', async () => {
    const s = await load(
      `${head()}  - { task: p, op: open, path: /tmp/f, create: true, size: 8K, as: f }\n  - { task: p, op: mmap, as: m, fd: f, length: 8K, prot: [read, write], flags: [shared] }\n` +
        '  - { task: p, op: fork, child: c }\n  - { task: c, op: poke, addr: m+1p }\n  - { task: p, op: mmap, as: z, file: /dev/zero, length: 4K, prot: [read], flags: [private] }\n',
    );
    const plan = planScenario(s);
    const model = runModel(s, plan);
    const text = programText(plan, model.addrs, 5);
    expect(text.split('\n')).toEqual([
      'mixedmap-program 1', 'limit 1073741824', 'timeout 5', 'tasks 2', 'task 0', 'file 0 0', 'mapping 0 8192', 'mapping 1 4096',
      // the open is a struct file of its own in the task (descriptor 0), which the `fd:` mmap maps
      'step 0 0 open 0 0 rw 8192', `step 1 0 mmap 0 8192 rw s fd:0 0 0x${model.addrs[0]!.toString(16)}`, 'step 2 0 fork 1', 'step 3 1 poke 0 4096',
      `step 4 0 mmap 1 4096 r p zero 0 0x${model.addrs[1]!.toString(16)}`, 'end', '',
    ]);
  });

  it('a disagreement is reported per facet and fails the verdict', async () => {
    const s = await load(`${head()}  - { task: p, op: mmap, as: m, length: 8K, prot: [read, write], flags: [private, anonymous] }\n  - { task: p, op: read, addr: m }\n`);
    const plan = planScenario(s);
    const model = runModel(s, plan);
    const header = { executor: 1, kernel: 'test', root: true, pfns: true, zeroPfn: 7, cpu: 0, limit: 1, timeout: 5 };
    // a "kernel" that mapped a fresh page instead of the zero page, with two faults
    const kernel = new Map(model.steps.map((st, i) => [i, JSON.parse(JSON.stringify(st))]));
    const k1 = kernel.get(1)!;
    k1.faults = 2;
    k1.tasks[0].maps[0].pages[0] = { present: true, exclusive: true, zero: false, pfn: 99, anon: true, mlocked: false };
    const r = compareRuns(s, plan, model.steps, '6.x', header, kernel);
    expect(r.agree).toBe(false);
    expect(r.steps[0]!.agree).toBe(true);
    expect(r.steps[1]!.differences.map((d) => [d.facet, d.where, d.model, d.kernel])).toEqual([
      ['faults', '', '1', '2'],
      ['zero', 'p:m', 'yes', 'no'],
    ]);
    expect(renderOracle(r)).toMatch(/DISAGREE[\s\S]*✗ zero at p:m: model yes, kernel no/);
  });

  it('PG_mlocked is compared per page when the kernel shows it (root), not when it is unknown', async () => {
    const s = await load(`${head()}  - { task: p, op: mmap, as: m, length: 8K, prot: [read, write], flags: [private, anonymous, locked, populate] }\n  - { task: p, op: munlock, addr: m, length: 4K }\n`);
    const plan = planScenario(s);
    const model = runModel(s, plan);
    expect(model.steps[1]!.tasks[0]!.maps[0]!.pages.map((pg) => pg.mlocked)).toEqual([false, true]);
    const header = { executor: 1, kernel: 'test', root: true, pfns: true, zeroPfn: 7, cpu: 0, limit: 1, timeout: 5 };
    // a "kernel" whose munlock left page 0 mlocked (an undrained mlock batch) and does not know page 1's flag
    const kernel = new Map(model.steps.map((st, i) => [i, JSON.parse(JSON.stringify(st))]));
    const pages = kernel.get(1)!.tasks[0].maps[0].pages;
    pages[0].mlocked = true;
    pages[1].mlocked = null;
    const r = compareRuns(s, plan, model.steps, '6.x', header, kernel);
    expect(r.steps[0]!.agree).toBe(true);
    expect(r.steps[1]!.differences.map((d) => [d.facet, d.where, d.model, d.kernel])).toEqual([['mlocked', 'p:m', 'no', 'yes']]);
    expect(renderOracle(r)).toMatch(/✗ mlocked at p:m: model no, kernel yes/);
    // the page rows mark PG_mlocked with L; it is no frame difference
    expect([r.steps[1]!.modelPages['p:m'], r.steps[1]!.kernelPages['p:m']]).toEqual([['1x', '2xL'], ['1xL', '2x']]);
    expect(renderOracle(r)).toMatch(/p:m +model: +1x 2xL\n +kernel: 1xL 2x/);
  });

  it('a symbol bound by two mmap steps names two rows, and each is compared with its own mapping', async () => {
    const s = await load(
      `${head()}  - { task: p, op: mmap, as: m, length: 16K, prot: [read, write], flags: [private, anonymous] }\n  - { task: p, op: write, addr: m }\n`
        + '  - { task: p, op: munmap, addr: m+2p, length: 8K }\n  - { task: p, op: mmap, as: m, length: 8K, prot: [read, write], flags: [private, anonymous] }\n'
        + '  - { task: p, op: read, addr: m+1p }\n',
    );
    const plan = planScenario(s);
    const model = runModel(s, plan);
    const header = { executor: 1, kernel: 'test', root: true, pfns: true, zeroPfn: 7, cpu: 0, limit: 1, timeout: 5 };
    // a "kernel" whose second mapping (step 4) left page 1 unmapped after the read
    const kernel = new Map(model.steps.map((st, i) => [i, JSON.parse(JSON.stringify(st))]));
    const second = kernel.get(4)!.tasks[0].maps.find((mp: { mid: number }) => mp.mid === 1);
    second.pages[1] = { present: false, exclusive: false, zero: false, pfn: null, anon: false, mlocked: false };
    const r = compareRuns(s, plan, model.steps, '6.x', header, kernel);
    expect(Object.keys(r.steps[4]!.modelPages)).toEqual(['p:m@1', 'p:m@4']);
    expect(r.steps[4]!.differences.map((d) => [d.facet, d.where])).toEqual([['present', 'p:m@4+1p']]);
    expect(r.agree).toBe(false);
  });

  it('a step on a symbol whose mmap failed is EFAULT on both sides (the executor refuses it untouched)', async () => {
    const s = await load(
      `${head()}  - { task: p, op: open, path: /tmp/f, create: true, size: 4K, mode: rdonly, as: f }\n`
        + '  - { task: p, op: mmap, as: m, fd: f, length: 4K, prot: [read, write], flags: [shared] }\n'
        + '  - { task: p, op: read, addr: m }\n  - { task: p, op: madvise, addr: m, length: 4K, advice: dontneed }\n',
    );
    const plan = planScenario(s);
    const model = runModel(s, plan);
    expect(model.steps.map((st) => st.outcome)).toEqual(['ok', 'EACCES', 'EFAULT', 'EFAULT']);
    expect(model.steps[2]!.error).toBeUndefined();
    const r = await runOracle(s, { executor: exe });
    expect(r.steps.map((st) => st.kernel?.outcome)).toEqual(['ok', 'EACCES', 'EFAULT', 'EFAULT']);
    expect(r.agree).toBe(true);
  });

  it('without pfns (not root) frames are not compared and a note says so', async () => {
    const s = await load(`${head()}  - { task: p, op: mmap, as: m, length: 4K, prot: [read, write], flags: [private, anonymous] }\n  - { task: p, op: write, addr: m }\n`);
    const plan = planScenario(s);
    const model = runModel(s, plan);
    const kernel = new Map(model.steps.map((st, i) => [i, JSON.parse(JSON.stringify(st))]));
    kernel.get(1)!.tasks[0].maps[0].pages[0].pfn = null;
    kernel.get(1)!.tasks[0].maps[0].pages[0].zero = null;
    const r = compareRuns(s, plan, model.steps, '6.x', { executor: 1, kernel: 't', root: false, pfns: false, zeroPfn: 0, cpu: 0, limit: 1, timeout: 5 }, kernel);
    expect(r.agree).toBe(true);
    expect(r.notes.join()).toMatch(/not running as root/);
    expect(r.steps[1]!.kernelPages['p:m']).toEqual(['?x']);
  });

  it('a missing executor is reported clearly', async () => {
    const s = await load(`${head()}  - { task: p, op: mmap, as: m, length: 4K, prot: [read], flags: [private, anonymous] }\n`);
    await expect(runOracle(s, { executor: '/nonexistent/mixedmap-executor' })).rejects.toThrow(OracleUnavailable);
    await expect(runOracle(s, { executor: '/nonexistent/mixedmap-executor' })).rejects.toThrow(/executor is missing/);
  });
});

describe('runOracleCommand', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mixedmap-oracle-cli-'));
  const file = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('exit 0 and a per-step report when the model agrees; --json', async () => {
    process.env.MIXEDMAP_EXECUTOR = exe;
    try {
      const f = file('ok.yaml', `${head()}  - { task: p, op: mmap, as: m, length: 8K, prot: [read, write], flags: [private, anonymous] }\n  - { task: p, op: read, addr: m }\n  - { task: p, op: write, addr: m+1p }\n`);
      const r = await runOracleCommand([f], { json: false });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Z \./);
      expect(r.stdout).toMatch(/1\/1 scenario\(s\) agree/);
      const j = await runOracleCommand([f], { json: true });
      const doc = JSON.parse(j.stdout);
      expect(doc.agree).toBe(true);
      expect(doc.scenarios[0].steps[1].kernel.pages['p:m']).toEqual(['Z', '.']);
      expect(doc.scenarios[0].steps[2].model.faults).toBe(1);
    } finally {
      delete process.env.MIXEDMAP_EXECUTOR;
    }
  });

  it('exit 2 with file:line:field for an invalid or oversize scenario, before anything runs', async () => {
    const bad = file('bad.yaml', `${head()}  - { task: p, op: mmap, as: m, length: 8K, prot: [read], flags: [private, anonymous], bogus: 1 }\n`);
    const r = await runOracleCommand([bad], { json: false });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.yaml:5:\d+: steps\[0\]\.bogus/);
    const big = file('big.yaml', `${head()}  - { task: p, op: mmap, as: m, length: 64K, prot: [read], flags: [private, anonymous] }\n`);
    const r2 = await runOracleCommand([big], { json: false, limit: 4096 });
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/big\.yaml:5:\d+: steps\[0\]\.length: .*over the limit of 4096 bytes/);
  });

  it('exit 2 when the executor is missing', async () => {
    process.env.MIXEDMAP_EXECUTOR = '/nonexistent/mixedmap-executor';
    try {
      const f = file('ok2.yaml', `${head()}  - { task: p, op: mmap, as: m, length: 4K, prot: [read], flags: [private, anonymous] }\n`);
      const r = await runOracleCommand([f], { json: false });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/executor is missing/);
    } finally {
      delete process.env.MIXEDMAP_EXECUTOR;
    }
  });
});
