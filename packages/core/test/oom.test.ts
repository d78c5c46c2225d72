// VM_FAULT_OOM from a user fault (reference §1.6): up to the release where the arch's do_page_fault
// calls pagefault_out_of_memory (x86 2.6.29, s390 2.6.30, arm 2.6.32, checked at the tags) the
// faulting task is killed ("VM: killing process"); from then on the OOM killer (mm/oom_kill.c
// select_bad_process / badness / oom_kill_process) kills the task with the most points — total_vm,
// plus half of each child's with its own mm — a child of it first, and the fault is retried.
import { describe, expect, test } from 'vitest';
import { createMachine, MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE as PS, PROT_READ, PROT_WRITE, type ArchSpec, type Machine, type Task } from '@mixedmap/core';
import x86 from '@mixedmap/arch-x86';
import arm from '@mixedmap/arch-arm';

const RW = PROT_READ | PROT_WRITE;

function fill(k: Machine, t: Task, pages: number): number {
  const a = k.mmap(t, { length: pages * PS, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS }).addr!;
  for (let i = 0; i < pages; i++) expect(k.access(t.threads[0]!, a + i * PS, true).outcome).toBe('ok');
  return a;
}

/** p uses most of RAM; q maps 8 pages and writes them until memory runs out. */
function squeeze(arch: ArchSpec, kernel: string, withChild = false) {
  const k = createMachine({ arch, kernel, memory: { ram: 2 << 20 } });
  const p = k.spawn('p');
  fill(k, p, k.mem.freeCount() - 40);
  const child = withChild ? k.fork(p, 'c').child! : null;
  const q = k.spawn('q');
  const b = k.mmap(q, { length: 64 * PS, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS }).addr!;
  let last = k.access(q.threads[0]!, b, true);
  const reports = [...last.reports];
  for (let i = 1; i < 64 && last.outcome === 'ok' && q.alive; i++) {
    last = k.access(q.threads[0]!, b + i * PS, true);
    reports.push(...last.reports);
  }
  return { k, p, q, child, last, oom: reports.filter((l) => l.startsWith('Out of memory')) };
}

describe('VM_FAULT_OOM from a user fault', () => {
  const ARCH = { x86, arm };
  test.each([['x86', '2.6.28'], ['arm', '2.6.31']] as const)('%s %s: the faulting task is killed', (arch, kernel) => {
    const { p, q, last, oom } = squeeze(ARCH[arch], kernel);
    expect(oom).toEqual([]);
    expect(last.outcome).toBe('OOM');
    expect([p.alive, q.alive]).toEqual([true, false]);
    expect(q.exitReason).toMatch(/VM: killing process/);
  });

  test.each([['x86', '2.6.29'], ['x86', '2.6.32'], ['arm', '2.6.32']] as const)('%s %s: the OOM killer kills the biggest task and the fault is retried', (arch, kernel) => {
    const { p, q, last, oom } = squeeze(ARCH[arch], kernel);
    expect([p.alive, q.alive]).toEqual([false, true]);
    expect(p.exitReason).toBe('SIGKILL (OOM killer)');
    expect(last.outcome).toBe('ok'); // q's faults go on once p's memory is free
    expect(oom).toEqual([expect.stringMatching(new RegExp(`^Out of memory: kill process ${p.pid} \\(p\\) score \\d+ or a child$`))]);
  });

  test('2.6.32: p is chosen (its forked child adds half its points), but the child dies first (oom_kill_process)', () => {
    const { p, q, child, last, oom } = squeeze(x86, '2.6.32', true);
    // c shares p's pages (COW), so killing it frees nothing: q's retried fault OOMs again and p goes
    expect(oom).toHaveLength(2);
    expect(oom.every((l) => l.includes(`kill process ${p.pid} (p)`))).toBe(true);
    const score = (l: string) => Number(/score (\d+)/.exec(l)![1]);
    expect(score(oom[0]!)).toBeGreaterThan(score(oom[1]!)); // the child's half (+1) counted the first time
    expect([child!.alive, p.alive, q.alive]).toEqual([false, false, true]);
    expect(last.outcome).toBe('ok');
  });
});
