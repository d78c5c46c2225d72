// The two fault entries run one fault path: handleMmFault (run to completion, as get_user_pages and
// the benchmarks call it) crosses each lock window with a direct call, the stepping API (faultStart /
// faultResume, behind Machine.access and the explorer) stops there. Same calls, same result, same
// ptes and struct pages, in every zero-page epoch and on the COW paths.
import { describe, expect, test } from 'vitest';
import { FaultCtx, FN, MAP_SHARED, faultResultName, handleMmFault, type Machine, type Task } from '@mixedmap/core';
import { machine, anon, mapFile, clean, PROT_READ, PROT_WRITE, PAGE_SIZE } from './fixtures/machines.js';

type Step = { write: boolean; page: number };

/** Everything a fault leaves behind that a user can see, for the first `pages` pages. */
function observe(k: Machine, p: Task, a: number, pages: number) {
  const ptes = [];
  for (let i = 0; i < pages; i++) {
    const pte = k.readPte(p, a + i * PAGE_SIZE);
    const page = pte.present ? k.pageInfo(pte.pfn) : null;
    ptes.push({ pte, count: page?.count, mapcount: page?.mapcount });
  }
  return { ptes, rss: k.rss(p), zero: k.pageInfo(k.zeroPfn) };
}

/** Builds the same process twice (with a forked child when `fork`), then runs `steps` by each entry. */
function both(kernel: string, steps: Step[], opts: { fork?: boolean; file?: boolean } = {}) {
  const runs = (['stepped', 'direct'] as const).map((entry) => {
    const k = machine(kernel);
    const p = k.spawn('p');
    const a = opts.file ? mapFile(k, p, '/tmp/f', 4, PROT_READ | PROT_WRITE, MAP_SHARED) : anon(k, p);
    if (opts.fork) {
      clean(k.access(p.threads[0]!, a, true));
      k.fork(p, 'child');
    }
    const t = p.threads[0]!;
    const faults: { chain: string[]; result: string }[] = [];
    for (const s of steps) {
      const addr = a + s.page * PAGE_SIZE;
      if (entry === 'stepped') {
        const r = clean(k.access(t, addr, s.write));
        faults.push(...r.faults.map((f) => ({ chain: f.chain, result: f.result })));
      } else {
        const pte = k.readPte(p, addr);
        if (pte.present && (!s.write || pte.write)) {
          clean(k.access(t, addr, s.write)); // no fault: only the MMU's accessed/dirty bits
          continue;
        }
        const ret = handleMmFault(k, t, k.findVmaOf(p, addr)!, addr, s.write);
        faults.push({ chain: t.fault.chainNames(), result: faultResultName(ret) });
      }
    }
    return { faults, state: observe(k, p, a, 4) };
  });
  return { stepped: runs[0]!, direct: runs[1]! };
}

describe('handleMmFault and the stepping API run the same fault path', () => {
  const reads: Step[] = [{ write: false, page: 0 }, { write: false, page: 1 }, { write: true, page: 1 }, { write: true, page: 2 }, { write: true, page: 2 }];

  for (const v of ['2.6.20', '2.6.24', '2.6.26', '2.6.32']) {
    test(`${v}: read, write after read, write, write again`, () => {
      const { stepped, direct } = both(v, reads);
      expect(direct.faults).toEqual(stepped.faults);
      expect(direct.state).toEqual(stepped.state);
      expect(direct.faults[0]!.chain.slice(0, 3)).toEqual(['handle_mm_fault', 'handle_pte_fault', 'do_anonymous_page']);
    });

    test(`${v}: COW after fork (copy), then a write to the copied page (no fault path: already writable)`, () => {
      const { stepped, direct } = both(v, [{ write: true, page: 0 }, { write: false, page: 3 }], { fork: true });
      expect(direct.faults).toEqual(stepped.faults);
      expect(direct.state).toEqual(stepped.state);
      expect(direct.faults[0]!.chain).toContain('do_wp_page');
    });
  }

  test('2.6.32: a shared file mapping (->fault on a read and on a write; no fault on a writable pte)', () => {
    const { stepped, direct } = both('2.6.32', [{ write: false, page: 0 }, { write: true, page: 0 }, { write: true, page: 1 }], { file: true });
    expect(direct.faults).toEqual(stepped.faults);
    expect(direct.state).toEqual(stepped.state);
    expect(direct.faults.map((f) => f.chain[2])).toEqual(['do_linear_fault', 'do_linear_fault']);
  });
});

describe('the call chain of a fault', () => {
  test('keeps its first 32 calls when a path records more', () => {
    const c = new FaultCtx();
    for (let i = 0; i < 40; i++) c.enter(i % 2 ? FN.follow_page : FN.handle_mm_fault);
    const names = c.chainNames();
    expect(names).toHaveLength(32);
    expect(names.slice(0, 2)).toEqual(['handle_mm_fault', 'follow_page']);
    c.chainLen = 0;
    c.enter(FN.do_wp_page);
    expect(c.chainNames()).toEqual(['do_wp_page']);
  });
});
