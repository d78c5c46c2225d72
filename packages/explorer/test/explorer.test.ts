// The explorer reproduces the reference's races as exact state counts and verdicts (issue: A4, A5,
// A14, C13, the pte rechecks of do_anonymous_page and do_wp_page with and without the recheck,
// gup_fast racing munmap), and rejects bad litmus input with file, line and field.
import { describe, expect, test } from 'vitest';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { loadLitmus, explore, renderExplore, exploreJson, parseCondition, stateKey, type ExploreResult } from '@mixedmap/explorer';
import { ScenarioError } from '@mixedmap/scenario';

const DIR = join(import.meta.dirname, '../../../examples/litmus');
const run = async (f: string): Promise<ExploreResult> => explore(await loadLitmus(join(DIR, f)));

describe('worked races', () => {
  test('A4: merged do_no_pfn — one final state in all 20 interleavings, no double install, no leak', async () => {
    const r = await run('a04-nopfn-race-merged.yaml');
    expect([r.ok, r.states.length, r.interleavings, r.positive, r.observation]).toEqual([true, 1, 20, 0, 'Never']);
    expect(r.counterexample).toBeNull();
  });

  test('A5: seed v1 without the recheck — the double install is found (18 of 20 interleavings)', async () => {
    const r = await run('a05-nopfn-race-seed-v1.yaml');
    expect([r.ok, r.states.length, r.positive, r.negative, r.observation]).toEqual([true, 2, 18, 2, 'Sometimes']);
  });

  test('A4 with mspec: the driver lock is a window of its own — both threads allocate in some interleavings', async () => {
    const r = await run('a04-mspec-both-allocate.yaml');
    expect([r.ok, r.states.length, r.observation]).toEqual([true, 1, 'Always']);
    // do_no_pfn alone gives 3 moves per thread (C(6,3) = 20 schedules); mspec's lock adds a fourth
    // for a thread that allocates: C(8,4) = 70, less the 8 where one thread finds the slot published
    expect(r.interleavings).toBe(62);
  });

  test("XIP's sparse-page mutex is a window: a private hole read racing a shared fill never keeps the sparse page", async () => {
    const r = await run('xip-sparse-vs-fill.yaml');
    expect([r.ok, r.states.length, r.interleavings]).toEqual([true, 2, 31]);
  });

  test('A14: mspec ->fault + vm_insert_pfn tolerates -EBUSY in every interleaving', async () => {
    const r = await run('a14-mspec-fault-race.yaml');
    expect([r.ok, r.states.length, r.negative, r.observation]).toEqual([true, 1, 0, 'Always']);
  });

  test('C13: two XIP faults on one block — the BUG_ON is found, with a shortest trace', async () => {
    const r = await run('c13-xip-fault-race.yaml');
    expect([r.ok, r.states.length, r.positive, r.negative]).toEqual([false, 3, 4, 2]);
    const ce = r.counterexample!;
    expect(ce.trace).toHaveLength(4);
    expect(ce.trace[0]!.then).toContain('pte read without ptl');
    expect(ce.trace[1]!.then).toContain('pte read without ptl');
    expect(ce.trace[3]!.then).toMatch(/Oops: BUG_ON\(err\) in xip_file_fault/);
    const text = renderExplore(r);
    expect(text).toMatch(/^Test C13-xip-fault-race Forbidden\nStates 3\n/);
    expect(text).toContain('Observation C13-xip-fault-race Sometimes 4 2');
    expect(text).toContain('Positive: 4 Negative: 2');
    expect(exploreJson(r)).toMatchObject({ ok: false, positive: 4, negative: 2, states: expect.any(Array) });
  });

  test('C13 with three readers: an Oops ends only its own thread; the others, even one inside its fault, read ok', async () => {
    const r = await run('c13-xip-three-readers.yaml');
    expect(r.ok).toBe(false);
    const outcomes = r.states.map((st) => ['p', 't2', 't3'].map((t) => st.values[`outcome(${t})`]).join(' '));
    // the first vm_insert_mixed wins; one or both of the others may hit -EBUSY, never all three
    expect(outcomes).toContain('ok ok ok');
    expect(outcomes).toContain('ok oops ok');
    expect(outcomes.every((o) => o.includes('ok') && !o.includes('dead'))).toBe(true);
  });

  test('madvise(MADV_SEQUENTIAL) takes mmap_sem for write: it runs before the fault, after it, or before the retry — never inside it', async () => {
    const r = await run('madvise-split-vs-fault.yaml');
    expect([r.ok, r.interleavings, r.positive, r.negative]).toEqual([true, 3, 3, 0]);
  });

  test('mmap_sem is let go between a fault and the retry: mprotect can get in after the fill, the store then gets SIGSEGV', async () => {
    const r = await run('xip-mprotect-between-faults.yaml');
    const states = r.states.map((st) => `${st.values['outcome(p)']} ${st.values['pte(s+1p).present']}`).sort();
    expect(states).toEqual(['SIGSEGV false', 'SIGSEGV true', 'ok true']);
  });

  test('clone takes no mmap_sem (copy_mm with CLONE_VM only takes an mm_users reference): a new thread can be made while another is inside a fault', async () => {
    const r = explore(await loadLitmus({
      file: 'clone-during-fault.yaml',
      text: 'name: clone-during-fault\nmachine: { arch: x86, kernel: "2.6.32" }\ntasks: [{ name: p, threads: [t2] }]\nsteps:\n'
        + '  - { task: p, op: mmap, as: m, length: 4K, prot: [read, write], flags: [private, anonymous] }\n'
        + '  - { id: w, thread: p, op: write, addr: m }\n  - { id: c, thread: t2, op: clone, name: t3 }\nrace: [w, c]\ncondition: "forall (outcome(p) == ok)"\n',
    }));
    // the write fault is 3 moves (to its two lock windows, then the commit): the clone fits before,
    // into either window, or after (a clone that took mmap_sem for write could not enter the windows)
    expect([r.ok, r.interleavings]).toEqual([true, 4]);
  });

  test('do_anonymous_page pte_none recheck: no double count in any interleaving; without it the leak shows', async () => {
    const good = await run('anon-write-race.yaml');
    expect([good.ok, good.states.length, good.interleavings]).toEqual([true, 1, 20]);
    const bad = await run('anon-write-race-no-recheck.yaml');
    expect(bad.ok).toBe(true);
    expect(bad.states.find((s) => s.holds)!.values).toMatchObject({ 'rss(p).anon': 2, leaked: 1 });
    // the invariant checker sees the double count in that final state, and nothing in the good one
    expect(good.states[0]!.violations).toEqual([]);
    expect(bad.states.find((s) => s.holds)!.violations).toContain('mm1: anon_rss 2 but 1 anonymous ptes');
    expect(renderExplore(bad)).toContain('  invariant violated: mm1: anon_rss 2 but 1 anonymous ptes');
  });

  test('do_wp_page pte_same recheck: two threads COWing one page never double count', async () => {
    const r = await run('cow-write-race.yaml');
    expect([r.ok, r.states.length, r.interleavings]).toEqual([true, 1, 20]);
  });

  test('gup_fast racing munmap on x86: pinned before the unmap, or -EFAULT after it; nothing leaks', async () => {
    const r = await run('gup-fast-vs-munmap-x86.yaml');
    expect([r.ok, r.states.length]).toEqual([true, 2]);
    expect(r.states.map((s) => s.values['outcome(p)']).sort()).toEqual(['EFAULT', 'ok']);
  });

  test('three threads × two faults on one page: one final state over millions of interleavings', async () => {
    const r = await run('three-threads-two-faults.yaml');
    expect([r.ok, r.states.length, r.interleavings]).toEqual([true, 1, 6934902]);
    expect(r.statesExplored).toBeLessThan(5000); // state hashing merged the equivalent interleavings
  });

  // fault against truncate: no pte may keep a page that truncate took out of the page cache
  const truncateStates = (r: ExploreResult, loc: string): string[] =>
    r.states.map((st) => `${st.values['outcome(p)']} ${st.values['pte(m).none']} ${st.values[loc]}`).sort();
  const retarget = async (f: string, from: string, to: string): Promise<ExploreResult> => {
    const text = (await readFile(join(DIR, f), 'utf8')).replace(`kernel: "${from}"`, `kernel: "${to}"`);
    return explore(await loadLitmus({ text, file: f }));
  };

  test('shared fault against truncate: truncate_count retry (≤2.6.22), page lock and second unmap (2.6.23+) — never a pte to the truncated page', async () => {
    for (const f of ['fault-vs-truncate-2.6.20.yaml', 'fault-vs-truncate-2.6.26.yaml']) {
      const r = await run(f);
      expect([r.ok, r.positive, r.negative]).toEqual([true, 4, 0]);
      expect(truncateStates(r, 'rss(p).file')).toEqual(['SIGBUS true 0', 'ok true 0']);
    }
    for (const v of ['2.6.19', '2.6.22', '2.6.23', '2.6.32']) {
      const r = await retarget('fault-vs-truncate-2.6.26.yaml', '2.6.26', v);
      expect(truncateStates(r, 'rss(p).file')).toEqual(['SIGBUS true 0', 'ok true 0']);
    }
  });

  test('private write fault against truncate: ≤2.6.22 the early COW copy is retried away or zapped; 2.6.23+ it may survive', async () => {
    const old = await run('private-write-vs-truncate-2.6.20.yaml');
    expect([old.ok, old.positive, old.negative]).toEqual([true, 4, 0]);
    expect(truncateStates(old, 'rss(p).anon')).toEqual(['SIGBUS true 0', 'ok true 0']);
    const r22 = await retarget('private-write-vs-truncate-2.6.20.yaml', '2.6.20', '2.6.22');
    expect(truncateStates(r22, 'rss(p).anon')).toEqual(['SIGBUS true 0', 'ok true 0']);
    // __do_fault locks the file page, not the copy; truncate's second unmap (even_cows = 0) skips it
    for (const v of ['2.6.23', '2.6.32']) {
      const r = await retarget('private-write-vs-truncate-2.6.20.yaml', '2.6.20', v);
      expect(truncateStates(r, 'rss(p).anon')).toEqual(['SIGBUS true 0', 'ok false 1', 'ok true 0']);
      expect(r.states.every((st) => st.values.leaked === 0)).toBe(true);
    }
  });

  test('bounds: a cut run says so', async () => {
    const r = explore(await loadLitmus(join(DIR, 'a04-nopfn-race-merged.yaml')), { maxStates: 5 });
    expect(r.cut).toMatch(/maxStates/);
    expect(renderExplore(r)).toContain('the exploration was cut');
  });
});

describe('bad litmus input', () => {
  const base = `name: t
machine: { arch: x86, kernel: "2.6.27" }
tasks: [{ name: p, threads: [t2] }]
steps:
  - { task: p, op: mmap, as: m, length: 4K, prot: [read, write], flags: [private, anonymous] }
  - { id: a, thread: p, op: read, addr: m }
  - { id: b, thread: t2, op: read, addr: m }
race: [a, b]
`;
  const load = (extra: string) => loadLitmus({ text: base + extra, file: 'bad.litmus.yaml' });
  test('a predicate naming an unknown thread, address or field is an error with file, line and field', async () => {
    await expect(load('condition: "exists (outcome(t9) == ok)"\n')).rejects.toThrow(/bad.litmus.yaml:9:\d+: condition: outcome\(t9\): unknown thread "t9"/);
    await expect(load('condition: "exists (pte(q).present)"\n')).rejects.toThrow(/unknown address symbol "q"/);
    await expect(load('condition: "exists (pte(m).colour)"\n')).rejects.toThrow(/unknown field of pte\(\)/);
    await expect(load('condition: "maybe (oops)"\n')).rejects.toThrow(ScenarioError);
  });
  test('race must name existing steps; a race step cannot carry expect', async () => {
    await expect(loadLitmus({ text: base.replace('race: [a, b]', 'race: [a, zz]') + 'condition: "~exists (oops)"\n', file: 'x.yaml' })).rejects.toThrow(/x.yaml:8:\d+: race\[1\]: no step with id "zz"/);
  });
  test('a word that is no location, outcome or errno name is an error, not a string that is always true', async () => {
    await expect(load('condition: "forall (oopz)"\n')).rejects.toThrow(/bad.litmus.yaml:9:\d+: condition: unknown word "oopz" \(known: true, false, leaked/);
    await expect(load('condition: "exists (outcome(p) == SIGBSU)"\n')).rejects.toThrow(/condition: unknown word "SIGBSU"/);
    await expect(load('condition: "~exists (oops)"\nobserve: [colour]\n')).rejects.toThrow(/observe\[0\]: unknown word "colour"/);
    // outcomes and errno names are words a condition compares with
    await expect(load('condition: "~exists (outcome(p) == SIGBUS || outcome(t2) == EFAULT)"\n')).resolves.toBeDefined();
  });
  test('YAML errors of the litmus fields are not lost: a duplicate condition, an unclosed race list', async () => {
    await expect(load('condition: "~exists (oops)"\ncondition: "forall (true)"\n')).rejects.toThrow(/bad.litmus.yaml:10:1: YAML syntax error: Map keys must be unique/);
    await expect(loadLitmus({ text: base.replace('race: [a, b]', 'race: [a, b') + 'condition: "~exists (oops)"\n', file: 'x.yaml' })).rejects.toThrow(/x.yaml:\d+:\d+: YAML syntax error/);
  });
  test('a step listed twice in race, a condition nested absurdly deep, a number beyond 2^53', async () => {
    await expect(loadLitmus({ text: base.replace('race: [a, b]', 'race: [a, b, a]') + 'condition: "~exists (oops)"\n', file: 'x.yaml' })).rejects.toThrow(/x.yaml:8:14: race\[2\]: step "a" is listed twice in race/);
    await expect(load(`condition: "exists (${'('.repeat(5000)}true${')'.repeat(5000)})"\n`)).rejects.toThrow(/condition: the condition nests more than 100 levels deep/);
    await expect(load('condition: "exists (count(m) == 0x1fffffffffffffffff)"\n')).rejects.toThrow(/0x1fffffffffffffffff is too large/);
  });
  test('an Oops in the initial steps is the litmus test\'s problem, at the step, with condition and call chain', async () => {
    const driver = join(import.meta.dirname, '../../../examples/drivers/pfn-demo.js');
    const l = await loadLitmus({
      file: 'init-oops.yaml',
      text: `name: io
machine: { arch: x86, kernel: "2.6.27", memory: { regions: [{ name: dev, start: 0x80000000, size: 64K, kind: device }] }, drivers: [{ path: ${driver}, settings: { mode: fault-insert-mixed, vmFlags: [VM_PFNMAP] } }] }
tasks: [{ name: p, threads: [t2] }]
steps:
  - { task: p, op: mmap, as: m, file: /dev/pfndemo, length: 8K, prot: [read], flags: [shared] }
  - { task: p, op: read, addr: m }
  - { id: a, thread: p, op: read, addr: m+1p }
  - { id: b, thread: t2, op: read, addr: m+1p }
race: [a, b]
condition: "~exists (oops)"
`,
    });
    let err: unknown;
    try {
      explore(l);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScenarioError);
    expect((err as ScenarioError).message).toBe('init-oops.yaml:6:5: steps[1]: initial step 2 (before the race) hit an Oops: BUG_ON(!(vma->vm_flags & VM_MIXEDMAP)) in vm_insert_mixed (call chain: handle_mm_fault → handle_pte_fault → do_linear_fault → __do_fault → fault → vm_insert_mixed); a litmus test\'s initial steps must run cleanly — list the step in race: to explore it');
  });
  test('a fork child and a clone thread are threads a condition may name (they were refused as unknown)', async () => {
    const l = await loadLitmus({
      file: 'fork-thread.yaml',
      text: `name: ft
machine: { arch: x86, kernel: "2.6.32", memory: { ram: 16M } }
tasks: [{ name: p }]
steps:
  - { task: p, op: mmap, as: m, length: 4K, prot: [read, write], flags: [private, anonymous] }
  - { task: p, op: write, addr: m }
  - { task: p, op: fork, child: c }
  - { task: p, op: clone, name: t3 }
  - { id: w1, thread: t3, op: write, addr: m }
  - { id: w2, thread: c, op: write, addr: m }
race: [w1, w2]
condition: "forall (outcome(c) == ok && outcome(t3) == ok)"
`,
    });
    const r = explore(l);
    expect([r.ok, r.observation, r.interleavings]).toEqual([true, 'Always', 20]);
  });
  test('the condition parser', () => {
    expect(parseCondition('forall (count(m) == 1 && !oops)').quantifier).toBe('forall');
    expect(() => parseCondition('exists (count(m) ==')).toThrow(/expected a value/);
  });
});

describe('parallel exploration over worker threads', () => {
  test('the first moves partition the interleavings: two workers give the same states and counts as one thread', async () => {
    const { exploreFile } = await import('@mixedmap/explorer');
    for (const f of ['c13-xip-fault-race.yaml', 'three-threads-two-faults.yaml']) {
      const one = await run(f);
      const two = await exploreFile(join(DIR, f), { workers: 2 });
      expect([two.ok, two.interleavings, two.positive, two.negative, two.states.length]).toEqual([one.ok, one.interleavings, one.positive, one.negative, one.states.length]);
      expect(two.counterexample?.trace.length).toBe(one.counterexample?.trace.length);
    }
  });
});

describe('state keys', () => {
  test('two states that differ only in a page\'s mlock_count (the 6.x profile) are two states', async () => {
    const { createMachine, PROT_READ, PROT_WRITE, MAP_SHARED, MAP_ANONYMOUS } = await import('@mixedmap/core');
    const x86 = (await import('@mixedmap/arch-x86')).default;
    const pagecache = (await import('@mixedmap/driver-pagecache')).default;
    const k = createMachine({ arch: x86, kernel: '6.x', drivers: [{ driver: pagecache, settings: {} }] });
    const p = k.spawn('p');
    const a = k.mmap(p, { length: 4096, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED | MAP_ANONYMOUS }).addr!;
    k.access(p.threads[0]!, a, true);
    k.mlock(p, a, 4096);
    const pfn = k.readPte(p, a).pfn;
    const before = stateKey(k, p.threads, '');
    k.mem.mlockCount.set(pfn, 2); // as if a second VM_LOCKED pte had counted it: the next munlock keeps PG_mlocked
    expect(stateKey(k, p.threads, '')).not.toBe(before);
  });
});
