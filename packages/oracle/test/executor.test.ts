// The executor on its own: the JSON it prints for the basic facts of the live kernel.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildExecutor, runProgram, page } from './helpers.js';

let exe: string;
beforeAll(() => {
  exe = buildExecutor();
});

const prog = (body: string, head = 'limit 1073741824\ntimeout 5\ntasks 2\ntask 0\n'): string => `mixedmap-program 1\n${head}${body}end\n`;

describe('mixedmap-executor', () => {
  it('prints a header with the kernel, root and the zero pfn', () => {
    const r = runProgram(exe, prog('mapping 0 4096\nstep 0 0 mmap 0 4096 rw pa anon 0 0x0\n'));
    expect(r.status).toBe(0);
    const h = r.lines[0]!;
    expect(h.executor).toBe(1);
    expect(typeof h.kernel).toBe('string');
    expect(h.root).toBe(process.getuid?.() === 0);
    if (h.root) expect(h.zeroPfn).toBeGreaterThan(0);
    expect(r.lines.at(-1)).toEqual({ done: true });
  });

  it('pins itself to a CPU of the affinity it inherited (taskset), not to a fixed one', () => {
    // Cpus_allowed_list of this process, e.g. "1" under taskset -c 1, or "0-1,4"
    const list = readFileSync('/proc/self/status', 'utf8').match(/^Cpus_allowed_list:\s*(\S+)/m)![1]!;
    const allowed = list.split(',').flatMap((r) => {
      const [a, b = a] = r.split('-').map(Number) as [number, number?];
      return Array.from({ length: b! - a + 1 }, (_, i) => a + i);
    });
    const r = runProgram(exe, prog('mapping 0 4096\nstep 0 0 mmap 0 4096 rw pa anon 0 0x0\n'));
    expect(allowed).toContain(r.lines[0]!.cpu);
  });

  it('a read of private anonymous memory maps the zero page; a write maps an exclusive anon page', () => {
    const r = runProgram(exe, prog('mapping 0 8192\nstep 0 0 mmap 0 8192 rw pa anon 0 0x0\nstep 1 0 read 0 0\nstep 2 0 write 0 4096\n'));
    expect(r.status).toBe(0);
    const [h, , read, write] = r.lines;
    expect(read!.outcome).toBe('ok');
    expect(read!.minflt).toBe(1);
    const z = page(read!, 0, 0, 0);
    expect(z[0]).toBe(1); // present
    expect(z[1]).toBe(0); // not exclusive: the zero page is special, no mapcount
    if (h!.root) {
      expect(z[3]).toBe(h!.zeroPfn);
      expect(z[4]).toBe(1); // KPF_ZERO_PAGE
    }
    expect(page(read!, 0, 0, 1)[0]).toBe(0);
    const w = page(write!, 0, 0, 1);
    expect(write!.minflt).toBe(1);
    expect(w[0]).toBe(1);
    expect(w[1]).toBe(1); // exclusive
    if (h!.root) {
      expect(w[4]).toBe(0);
      expect(w[5]).toBe(1); // KPF_ANON
      expect(w[8]).toBe(1); // kpagecount
    }
  });

  it('COW after fork: shared until the child writes, then two frames', () => {
    const r = runProgram(exe, prog('mapping 0 4096\nstep 0 0 mmap 0 4096 rw pa anon 0 0x0\nstep 1 0 write 0 0\nstep 2 0 fork 1\nstep 3 1 write 0 0\n'));
    expect(r.status).toBe(0);
    const [h, , , fork, cow] = r.lines;
    const p0 = page(fork!, 0, 0, 0);
    const c0 = page(fork!, 1, 0, 0);
    expect(p0[0] && c0[0]).toBe(1);
    expect(p0[1]).toBe(0); // shared: not exclusive
    expect(c0[1]).toBe(0);
    if (h!.root) {
      expect(c0[3]).toBe(p0[3]);
      expect(p0[8]).toBe(2);
    }
    expect(cow!.minflt).toBe(1);
    const p1 = page(cow!, 0, 0, 0);
    const c1 = page(cow!, 1, 0, 0);
    expect(p1[1]).toBe(1);
    expect(c1[1]).toBe(1);
    if (h!.root) expect(c1[3]).not.toBe(p1[3]);
  });

  it('SIGSEGV on PROT_NONE is caught per step and the next step runs', () => {
    const r = runProgram(exe, prog('mapping 0 4096\nstep 0 0 mmap 0 4096 - pa anon 0 0x0\nstep 1 0 read 0 0\nstep 2 0 write 0 0\nstep 3 0 mprotect 0 0 4096 r\nstep 4 0 read 0 0\n'));
    expect(r.status).toBe(0);
    expect(r.lines.slice(2, 6).map((l) => l.outcome)).toEqual(['SIGSEGV', 'SIGSEGV', 'ok', 'ok']);
    expect(r.lines[2]!.minflt).toBe(0);
    expect(page(r.lines[5]!, 0, 0, 0)[0]).toBe(1);
  });

  it('a forced write through /proc/self/mem COWs a read-only private page; a read-only shared one is EIO', () => {
    const r = runProgram(
      exe,
      prog(
        'file 0 4096\nmapping 0 4096\nmapping 1 4096\nstep 0 0 mmap 0 4096 r pa anon 0 0x0\nstep 1 0 read 0 0\nstep 2 0 poke 0 0\nstep 3 0 write 0 0\n' +
          'step 4 0 mmap 1 4096 r s file:0 0 0x0\nstep 5 0 poke 1 0\n',
      ),
    );
    expect(r.status).toBe(0);
    const [h, , , poke, write, , pokeShared] = r.lines;
    expect(poke!.outcome).toBe('ok');
    expect(poke!.ret).toBe(1);
    const pg = page(poke!, 0, 0, 0);
    expect(pg[0]).toBe(1);
    expect(pg[1]).toBe(1); // an exclusive anonymous copy
    if (h!.root) {
      expect(pg[3]).not.toBe(h!.zeroPfn);
      expect(pg[5]).toBe(1);
    }
    expect(write!.outcome).toBe('SIGSEGV'); // still read-only for the user
    expect(pokeShared!.outcome).toBe('error');
    expect(pokeShared!.errname).toBe('EIO');
  });

  it('a memfd truncated below the mapping gives SIGBUS', () => {
    const r = runProgram(exe, prog('file 0 8192\nmapping 0 8192\nstep 0 0 mmap 0 8192 rw s file:0 0 0x0\nstep 1 0 write 0 4096\nstep 2 0 truncate 0 4096\nstep 3 0 read 0 4096\n'));
    expect(r.status).toBe(0);
    expect(page(r.lines[3]!, 0, 0, 1)[0]).toBe(0); // the truncate zapped the pte
    expect(r.lines[4]!.outcome).toBe('SIGBUS');
  });

  it('leaves vma flags as mmap made them: a mapping merges with its neighbour at mmap time, before its populate gives it an anon_vma', () => {
    // mmap_region merges b into a (same struct file, next offset) before b's MAP_LOCKED populate
    // fails past EOF (do_cow_fault has prepared an anon_vma by then). Had the executor changed b's
    // flags after mmap (MADV_NOHUGEPAGE on b alone), b would be a vma of its own with its own
    // anon_vma and could never merge back; a's fault-around would then stop at a's end.
    const base = 0x3f0000000000;
    const hex = (n: number): string => `0x${n.toString(16)}`;
    const r = runProgram(exe, prog(
      'file 0 4096\nmapping 0 8192\nmapping 1 8192\nmapping 2 16384\n' +
      'step 0 0 open 0 0 rw 0\n' +
      `step 1 0 mmap 0 8192 rw pl fd:0 0 ${hex(base)}\n` +
      `step 2 0 mmap 1 8192 rw pl fd:0 8192 ${hex(base + 8192)}\n` +
      'step 3 0 truncate 0 16384\n' +
      `step 4 0 mmap 2 16384 rw s fd:0 0 ${hex(base + 0x100000)}\n` +
      'step 5 0 write 2 8192\n' +
      'step 6 0 read 0 4096\n',
    ));
    expect(r.status).toBe(0);
    const at = (line: Record<string, any>, mid: number): string => line.tasks[0].maps.find((m: { mid: number }) => m.mid === mid).addr; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect([at(r.lines[7]!, 0), at(r.lines[7]!, 1)]).toEqual([hex(base), hex(base + 8192)]);
    expect(r.lines[3]!.outcome).toBe('ok'); // the failed populate is not an mmap error
    expect(page(r.lines[7]!, 0, 0, 1)[0]).toBe(1);
    expect(page(r.lines[7]!, 0, 1, 0)[0]).toBe(1); // file page 2, mapped by a's fault-around: one vma
  });

  it('starts every step with a cold TLB: a store after a populate that reused a page read before takes no spurious fault', () => {
    // read p1 (a read-only TLB entry), MADV_POPULATE_WRITE: do_wp_page reuses the page and makes the
    // pte writable in place without a flush; a stale entry would make the store fault once more,
    // depending on what the context switches between steps left in the TLB. Twelve rounds.
    const N = 12;
    let body = '';
    let idx = 0;
    for (let i = 0; i < N; i++) body += `mapping ${i} 12288\n`;
    for (let i = 0; i < N; i++) {
      body += `step ${idx++} 0 mmap ${i} 12288 rw pa anon 0 0x0\nstep ${idx++} 0 write ${i} 4096\nstep ${idx++} 0 fork ${i + 1}\nstep ${idx++} ${i + 1} exit\n`;
      body += `step ${idx++} 0 read ${i} 4096\nstep ${idx++} 0 madvise ${i} 0 12288 populate_write\nstep ${idx++} 0 write ${i} 4096\n`;
    }
    const r = runProgram(exe, prog(body, `limit 1073741824\ntimeout 5\ntasks ${N + 1}\ntask 0\n`));
    expect(r.status).toBe(0);
    const steps = r.lines.filter((l) => typeof l.step === 'number');
    expect(steps.length).toBe(7 * N);
    const populates = steps.filter((l) => l.op === 'madvise').map((l) => l.minflt);
    expect(populates).toEqual(Array(N).fill(3));
    const stores = steps.filter((_, i) => i % 7 === 6).map((l) => [l.op, l.minflt]);
    expect(stores).toEqual(Array(N).fill(['write', 0]));
  });

  it('drains the per-CPU mlock batch before a snapshot: a COW in a locked vma unmlocks the old page at once', () => {
    // p locks a page and forks c (VM_LOCKED is not inherited); p's write COWs: the new page is
    // mlocked (mlock_new_folio), the old one, left to c, only queued for munlock_folio on the CPU's
    // mlock_fbatch. Without the drain its PG_mlocked would still be set in every round.
    const N = 12;
    let body = '';
    let idx = 0;
    for (let i = 0; i < N; i++) body += `mapping ${i} 4096
`;
    for (let i = 0; i < N; i++) {
      body += `step ${idx++} 0 mmap ${i} 4096 rw pa anon 0 0x0
step ${idx++} 0 write ${i} 0
step ${idx++} 0 mlock ${i} 0 4096
`;
      body += `step ${idx++} 0 fork ${i + 1}
step ${idx++} 0 write ${i} 0
step ${idx++} ${i + 1} exit
`;
    }
    const r = runProgram(exe, prog(body, `limit 1073741824
timeout 5
tasks ${N + 1}
task 0
`));
    expect(r.status).toBe(0);
    const h = r.lines[0]!;
    const steps = r.lines.filter((l) => typeof l.step === 'number');
    expect(steps.length).toBe(6 * N);
    if (!h.root) return; // kpageflags needs root: the flag is not visible
    const cows = steps.filter((_, i) => i % 6 === 4);
    // [p's new page, c's old page] PG_mlocked (kpageflags bit 33)
    expect(cows.map((l, i) => [page(l, 0, i, 0)[6], page(l, i + 1, i, 0)[6]])).toEqual(Array(N).fill([1, 0]));
  });

  it('an exited task is gone (and its pages unshared) before the next snapshot', () => {
    const r = runProgram(exe, prog('mapping 0 4096\nstep 0 0 mmap 0 4096 rw pa anon 0 0x0\nstep 1 0 write 0 0\nstep 2 0 fork 1\nstep 3 1 exit\n'));
    const exit = r.lines[4]!;
    expect(exit.tasks.map((t: { task: number }) => t.task)).toEqual([0]);
    expect(page(exit, 0, 0, 0)[1]).toBe(1);
  });

  it('an access to a mapping unmapped as a whole is SIGSEGV, not a refusal', () => {
    const r = runProgram(exe, prog('mapping 0 4096\nstep 0 0 mmap 0 4096 rw pa anon 0 0x0\nstep 1 0 munmap 0 0 4096\nstep 2 0 write 0 0\n'));
    expect(r.lines[3]!.outcome).toBe('SIGSEGV');
    expect(r.lines[3]!.tasks[0].maps).toEqual([]);
  });

  it('refuses malformed programs before anything runs (exit 2, the line)', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /empty program/],
      ['mixedmap-program 2\nend\n', /line 1: expected the header/],
      [prog('mapping 0 4096\nstep 0 0 frobnicate 0\n'), /line 7: unknown op "frobnicate"/],
      [prog('mapping 0 4096\nstep 0 0 read 0 4096\n'), /outside mapping 0/],
      [prog('mapping 0 4096\nstep 0 0 mmap 0 4096 rw pa anon 0\n'), /takes 7 arguments/],
      ['mixedmap-program 1\ntasks 1\ntask 0\nmapping 0 4096\n', /missing "end"/],
      [prog('step 0 1 read 0 0\n'), /mapping 0 is not declared|task 1 does not exist/],
    ];
    for (const [text, re] of cases) {
      const r = runProgram(exe, text);
      expect(r.status, text).toBe(2);
      expect(r.lines).toHaveLength(1);
      expect(String(r.lines[0]!.error)).toMatch(re);
    }
  });

  it('refuses mappings over the size limit (program limit and --limit)', () => {
    const big = prog('mapping 0 2147483648\nstep 0 0 mmap 0 2147483648 rw pa anon 0 0x0\n');
    const r = runProgram(exe, big);
    expect(r.status).toBe(2);
    expect(r.lines[0]!.error).toMatch(/over the limit of 1073741824 bytes/);
    const small = prog('mapping 0 8192\nstep 0 0 mmap 0 8192 rw pa anon 0 0x0\n');
    const r2 = runProgram(exe, small, ['--limit', '4096']);
    expect(r2.status).toBe(2);
    expect(r2.lines[0]!.error).toMatch(/over the limit of 4096 bytes/);
    expect(runProgram(exe, small, ['--check']).lines[0]).toEqual({ ok: true, steps: 1 });
  });

  it('the build script skips the executor without a compiler and still succeeds', () => {
    const script = fileURLToPath(new URL('../scripts/build-executor.mjs', import.meta.url));
    const r = spawnSync(process.execPath, [script], { env: { ...process.env, CC: '/nonexistent/cc' }, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/no C compiler.*skipping the executor/);
  });
});
