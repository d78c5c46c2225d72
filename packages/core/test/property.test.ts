// Property: random operation sequences on anonymous and page-cache mappings, across kernel
// versions, with the debug checker on — no JS exception, no invariant violation after any
// operation, no Oops (these paths are bug-free in the kernel), and no leak after every task exits.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_NONE, PROT_READ, PROT_WRITE, type Machine, type OpResult } from '@mixedmap/core';
import arm from '@mixedmap/arch-arm';
import s390 from '@mixedmap/arch-s390';
import { newWorld, pickTask, runCommonOp, exitAll } from '@mixedmap/testdev/ops';
import { machine, PAGE_SIZE as PS } from './fixtures/machines.js';

const ARCHS = { x86: undefined, arm, s390 } as const;

const KERNELS = ['2.6.19', '2.6.20', '2.6.22', '2.6.23', '2.6.24', '2.6.25', '2.6.26', '2.6.27', '2.6.28', '2.6.29', '2.6.31', '2.6.32'];

type Op =
  | { op: 'mmap'; task: number; kind: 'anon' | 'shanon' | 'file' | 'shfile'; pages: number; prot: number }
  | { op: 'touch'; task: number; map: number; page: number; write: boolean; thread: number }
  | { op: 'fork' | 'exit' | 'clone' | 'put'; task: number }
  | { op: 'munmap' | 'mprotect' | 'mlock' | 'munlock'; task: number; map: number; page: number; pages: number; prot: number }
  | { op: 'gup' | 'gupfast'; task: number; map: number; page: number; pages: number; write: boolean }
  | { op: 'truncate'; pages: number };

const touch = fc.record({ op: fc.constant('touch' as const), task: fc.nat(3), map: fc.nat(7), page: fc.nat(3), write: fc.boolean(), thread: fc.nat(1) });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('mmap' as const), task: fc.nat(3), kind: fc.constantFrom('anon' as const, 'shanon' as const, 'file' as const, 'shfile' as const), pages: fc.integer({ min: 1, max: 6 }), prot: fc.constantFrom(PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ) }) },
  { weight: 8, arbitrary: touch },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('fork' as const), task: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('exit' as const, 'clone' as const, 'put' as const), task: fc.nat(3) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('munmap' as const, 'mprotect' as const, 'mlock' as const, 'munlock' as const), task: fc.nat(3), map: fc.nat(7), page: fc.nat(5), pages: fc.integer({ min: 1, max: 4 }), prot: fc.constantFrom(PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('gup' as const, 'gupfast' as const), task: fc.nat(3), map: fc.nat(7), page: fc.nat(5), pages: fc.integer({ min: 1, max: 3 }), write: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), pages: fc.nat(8) }) },
);

function run(arch: keyof typeof ARCHS, kernel: string, ops: Op[]): void {
  const k: Machine = machine(kernel, ARCHS[arch] ? { arch: ARCHS[arch] } : {});
  const w = newWorld(k);
  const check = (what: string, r: OpResult) => {
    expect(r.outcome, `${what}: ${r.oops?.condition ?? ''}`).not.toBe('oops');
    expect(r.violations ?? [], what).toEqual([]);
  };
  for (const o of ops) {
    if (o.op === 'truncate') {
      check('truncate', k.truncate('/tmp/f', o.pages * PS));
      continue;
    }
    const t = pickTask(w, o.task);
    if (!t) break;
    if (o.op === 'mmap') {
      const file = o.kind === 'file' || o.kind === 'shfile' ? k.open(t, '/tmp/f', { write: true }).file : undefined;
      const flags = (o.kind === 'shanon' || o.kind === 'shfile' ? MAP_SHARED : MAP_PRIVATE) | (file ? 0 : MAP_ANONYMOUS);
      const r = k.mmap(t, { length: o.pages * PS, prot: o.prot, flags, file });
      check('mmap', r);
      if (r.addr !== undefined) w.maps.get(t)!.push(r.addr);
      continue;
    }
    runCommonOp(w, t, o, check);
  }
  exitAll(w, check);
  expect(k.leaks()).toEqual([]);
}

describe('random operation sequences keep every invariant (x86, arm, s390; anonymous and page-cache memory)', () => {
  // found by the property below. Kernel rule: s390's PAGE_NONE is _PAGE_TYPE_NONE = 0x401 (invalid,
  // no _PAGE_RO 0x200; include/asm-s390/pgtable.h at v2.6.24–v2.6.26, arch/s390/include/asm at
  // v2.6.32), so pte_write() is true on a PROT_NONE pte of a COW-shared page; the MMU cannot write
  // through it, and mprotect back to PROT_WRITE takes PAGE_RO from the private vma's vm_page_prot
  test('mprotect(PROT_NONE) of a COW-shared anonymous page on s390 2.6.24 keeps every invariant', () => {
    run('s390', '2.6.24', [
      { op: 'mmap', task: 0, kind: 'anon', pages: 1, prot: PROT_READ | PROT_WRITE },
      { op: 'touch', task: 0, map: 0, page: 0, write: false, thread: 0 },
      { op: 'fork', task: 0 },
      { op: 'mprotect', task: 0, map: 0, page: 0, pages: 1, prot: PROT_NONE },
      { op: 'mprotect', task: 0, map: 0, page: 0, pages: 1, prot: PROT_READ | PROT_WRITE },
      { op: 'touch', task: 0, map: 0, page: 0, write: true, thread: 0 },
    ]);
  });

  test('fast-check over all epochs and archs', () => {
    fc.assert(
      fc.property(fc.constantFrom<keyof typeof ARCHS>('x86', 'arm', 's390'), fc.constantFrom(...KERNELS), fc.array(opArb, { minLength: 1, maxLength: 50 }), (arch, kernel, ops) => run(arch, kernel, ops)),
      { numRuns: 800 },
    );
  });
});
