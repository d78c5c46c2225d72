// The CLI as users run it: `node apps/cli/bin/mixedmap.js …` (the built dist). The build is
// refreshed here when dist is missing or older than the sources, so the test also works outside
// `npm test` (which builds everything first).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';
import { examplesDir } from '../src/cli.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'apps/cli/bin/mixedmap.js');
const FIXTURES = join(ROOT, 'packages/scenario/test/fixtures');
// the CLI and everything it is built from (the scenario runner depends on every built-in plugin)
const SOURCES = ['apps/cli/src', ...readdirSync(join(ROOT, 'packages')).map((p) => `packages/${p}/src`)];

function newest(dir: string): number {
  if (!existsSync(dir)) return 0;
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

beforeAll(() => {
  const dist = join(ROOT, 'apps/cli/dist/index.js');
  const stale = !existsSync(dist) || SOURCES.some((s) => newest(join(ROOT, s)) > statSync(dist).mtimeMs);
  if (!stale) return;
  const args = ['--filter', '@mixedmap/cli...', 'build'];
  try {
    execFileSync('pnpm', args, { cwd: ROOT, stdio: 'pipe' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    execFileSync('npx', ['--yes', 'pnpm@10.34.9', ...args], { cwd: ROOT, stdio: 'pipe' });
  }
}, 300_000);

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, MIXEDMAP_DEBUG: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tmp = mkdtempSync(join(tmpdir(), 'mixedmap-cli-'));
function scenario(name: string, text: string): string {
  const f = join(tmp, name);
  writeFileSync(f, text);
  return f;
}

const PASSING = `${FIXTURES}/basic.yaml`;
const FAILING = scenario('failing.yaml', `name: failing
machine: { arch: x86, kernel: "2.6.32" }
tasks: [{ name: p }]
steps:
  - { task: p, op: mmap, as: m, length: 8K, prot: [read, write], flags: [private, anonymous] }
  - { task: p, op: read, addr: m, expect: { pte: { write: true } } }
`);
const BAD = scenario('bad.yaml', `name: bad
machine: { arch: x86 }
tasks: [{ name: p }]
steps:
  - { task: p, op: read, addr: nowhere }
`);

describe('mixedmap CLI', () => {
  test('--help and --version exit 0', () => {
    const h = cli('--help');
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/mixedmap run FILE\.\.\. \[--json\]/);
    expect(h.stdout).toMatch(/inspect FILE --at STEP/);
    const v = cli('--version');
    expect(v.code).toBe(0);
    expect(v.stdout).toBe('mixedmap 0.1.0\n');
  });

  test('unknown flags and commands: exit 2 with a clear message, nothing on stdout', () => {
    for (const args of [['--bogus'], ['run', '--frobnicate', PASSING], ['explode'], ['run'], ['inspect', PASSING]]) {
      const r = cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^mixedmap: /);
    }
    expect(cli('--bogus').stderr).toMatch(/Unknown option '--bogus'/);
    expect(cli('inspect', PASSING).stderr).toMatch(/inspect needs --at STEP/);
  });

  test('run: a passing scenario exits 0 with a trace and per-expectation verdicts', () => {
    const r = cli('run', PASSING);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/fault 1 read @0x[0-9a-f]+: handle_mm_fault → handle_pte_fault → do_anonymous_page = MINOR/);
    expect(r.stdout).toMatch(/pte: none → pfn 0x[0-9a-f]+ \(zero\) ro clean young special/);
    expect(r.stdout).toMatch(/✓ pte\.special: true/);
    expect(r.stdout).toMatch(/rss anon \+1 file ±0/);
    expect(r.stdout).toMatch(/PASS: 1\/1 scenario passed\n$/);
  });

  test('run: a failed expectation exits 1 and shows expected vs actual', () => {
    const r = cli('run', PASSING, FAILING);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✗ pte\.write: expected true, got false/);
    expect(r.stdout).toMatch(/FAIL: 1\/2 scenarios passed/);
  });

  test('run: bad input exits 2 with file:line:column: field, no stack trace, nothing on stdout', () => {
    const r = cli('run', PASSING, BAD);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/bad\.yaml:5:32: steps\[0\]\.addr: address "nowhere" cannot be resolved/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const missing = cli('run', join(tmp, 'missing.yaml'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/missing\.yaml:0:0: cannot read the scenario: ENOENT/);
  });

  test('run --json: one stable document', () => {
    const r = cli('run', '--json', PASSING, FAILING);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j)).toEqual(['format', 'tool', 'passed', 'summary', 'scenarios']);
    expect(j.format).toBe(1);
    expect(j.passed).toBe(false);
    expect(j.summary).toMatchObject({ scenarios: 2, passed: 1, failed: 1, failedChecks: 1 });
    const [ok, bad] = j.scenarios;
    expect(Object.keys(ok)).toEqual(['name', 'file', 'machine', 'passed', 'expectLeaks', 'leaks', 'violations', 'steps']);
    expect(ok.machine).toEqual({ arch: 'toy', kernel: '2.6.32' });
    const read = ok.steps[1];
    expect(Object.keys(read)).toEqual([
      'index', 'id', 'op', 'task', 'thread', 'args', 'addr', 'outcome', 'ret', 'errno', 'detail', 'value', 'faults', 'oops',
      'reports', 'pte', 'normalPage', 'page', 'rss', 'freePages', 'vma', 'violations', 'error', 'checks', 'passed',
    ]);
    expect(read).toMatchObject({ index: 2, id: 'first-read', op: 'read', outcome: 'ok', normalPage: null, args: { addr: 'm+0x1000' } });
    expect(read.faults[0].chain).toEqual(['handle_mm_fault', 'handle_pte_fault', 'do_anonymous_page']);
    expect(read.pte.after).toMatchObject({ present: true, special: true, write: false });
    expect(bad.steps[1].checks).toContainEqual({ field: 'pte.write', expected: true, actual: false, ok: false });
  });

  test('inspect --at STEP: maps, smaps, pagemap and struct pages after that step', () => {
    const r = cli('inspect', PASSING, '--at', 'first-read');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/state after step 2 \(first-read\): read/);
    // show_map prints the header with a trailing space even without a name
    expect(r.stdout).toMatch(/-- \/proc\/1\/maps\n40000000-40002000 rw-p 00000000 00:00 0 \n/);
    // 2.6.32 smaps_pte_range counts the special zero-page pte in Rss (before vm_normal_page; the old
    // expectation "Rss: 0 kB" was the 2.6.33+ rule) and prints its own field list: Swap, KernelPageSize, no Anonymous
    expect(r.stdout).toMatch(/\nRss: {19}4 kB\nPss: {19}0 kB\n/);
    expect(r.stdout).toMatch(/\nReferenced: {12}0 kB\nSwap: {18}0 kB\nKernelPageSize: {8}4 kB\nMMUPageSize: {11}4 kB\n/);
    expect(r.stdout).not.toMatch(/Anonymous:|Locked:|VmFlags:|RawPfn:/);
    // the model-only count sits in its own section, not inside the smaps block
    expect(r.stdout).toMatch(/-- model annotations per vma \(not \/proc output\)[^\n]*\n40000000-40002000 {2}raw 4 kB /);
    expect(r.stdout).toMatch(/0x40001000 {2}86[0-9a-f]{14} {2}# present pfn 0x[0-9a-f]+ \(zero\) special=1 normal=0 exclusive=0/);
    const j = JSON.parse(cli('inspect', PASSING, '--at', '3', '--json').stdout);
    expect(j.step).toBe(3);
    // smaps values are the kernel's kB (the write replaced the zero-page pte); 2.6.32's field list, no Anonymous
    expect(j.tasks[0].vmas[0].smaps).toEqual({
      Size: 8, Rss: 4, Pss: 4, Shared_Clean: 0, Shared_Dirty: 0, Private_Clean: 0, Private_Dirty: 4, Referenced: 4, Swap: 0, KernelPageSize: 4, MMUPageSize: 4,
    });
    expect(j.tasks[0].vmas[0].vmFlags).toBeNull();
    expect(j.pages).toHaveLength(1);
    expect(j.pages[0]).toMatchObject({ count: 1, mapcount: 1, anon: true });
    const none = cli('inspect', PASSING, '--at', '99');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--at 99: no such step \(1…7 or an id: first-read\)/);
  });

  test('no arguments runs the built-in examples of the repository', () => {
    expect(examplesDir()).toBe(join(ROOT, 'examples/'));
    const r = cli();
    const yamls = readdirSync(join(ROOT, 'examples')).filter((f) => /\.ya?ml$/.test(f));
    expect(yamls.length).toBeGreaterThanOrEqual(25);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(new RegExp(`running ${yamls.length} built-in example`));
    expect(r.stdout).toMatch(new RegExp(`PASS: ${yamls.length}/${yamls.length} scenarios passed`));
    expect(r.code).toBe(0);
  });
});

describe('bad input nobody here wrote: exit 2, one line per problem on stderr, nothing on stdout', () => {
  const bad = (r: { code: number | null; stdout: string; stderr: string }, re: RegExp) => {
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(re);
    expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
  };

  test('an option given twice, a negative or non-decimal number, --limit 0', () => {
    bad(cli('inspect', PASSING, '--at', '1', '--at', '2'), /^mixedmap: --at is given 2 times \(1, 2\); give it once\n/);
    bad(cli('explore', PASSING, '--max-states', '-1'), /^mixedmap: --max-states takes a positive whole number, not "-1"\n/);
    bad(cli('explore', PASSING, '--workers', '1e3'), /--workers takes a positive whole number, not "1e3"/);
    bad(cli('explore', PASSING, '--max-depth=0x10'), /--max-depth takes a positive whole number, not "0x10"/);
    bad(cli('explore', PASSING, '--workers', '2', '--workers', '3'), /--workers is given 2 times/);
    bad(cli('oracle', PASSING, '--limit', '0'), /--limit takes a positive size such as 512M or 1G, not "0"/);
  });

  test('a file that is not UTF-8 text; oracle problems carry the mixedmap: prefix', () => {
    const f = join(tmp, 'latin1.yaml');
    writeFileSync(f, Buffer.concat([Buffer.from('name: caf'), Buffer.from([0xe9]), Buffer.from('\n')]));
    bad(cli('run', '--json', f), /latin1\.yaml:1:10: the file is not UTF-8 text: byte 0xe9 is not valid UTF-8/);
    bad(cli('oracle', BAD), /^mixedmap: .*bad\.yaml:\d+:\d+: /);
  });

  test('a driver hook that throws while a step runs: the step, the plugin and the hook — also with --json', () => {
    const f = join(FIXTURES, 'cli-faulty.yaml.tmp');
    writeFileSync(f, `name: faulty
machine: { arch: x86, kernel: "2.6.27", drivers: [{ path: ./faulty-driver.js, settings: { throwIn: fault } }] }
tasks: [{ name: p }]
steps:
  - { task: p, op: mmap, as: m, file: /dev/faulty, length: 8K, prot: [read], flags: [shared] }
  - { task: p, op: read, addr: m }
`);
    try {
      for (const args of [['run', f], ['run', '--json', f], ['inspect', f, '--at', '2']]) {
        bad(cli(...args), /^mixedmap: packages\/scenario\/test\/fixtures\/cli-faulty\.yaml\.tmp:6:5: steps\[1\]: driver "faulty" \(machine\.drivers\[0\]: \.\/faulty-driver\.js\): its vm_ops\.fault hook threw: fault exploded — a bug in the plugin, not a kernel Oops\n$/);
      }
    } finally {
      rmSync(f);
    }
  });

  test('a reader that closes the pipe early (| head) ends the run quietly, with its exit code', async () => {
    // every example: megabytes of JSON, more than a pipe holds
    const child = spawn(process.execPath, [BIN, '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  test('a plugin whose top-level await never settles', () => {
    writeFileSync(join(tmp, 'hang.js'), 'await new Promise(() => {});\nexport default {};\n');
    const f = scenario('hang.yaml', 'name: h\nmachine: { arch: ./hang.js }\ntasks: [{ name: p }]\nsteps: []\n');
    bad(cli('run', f), /^mixedmap: a plugin module never finished loading \(its top-level await never settles\)\n$/);
  });
});
