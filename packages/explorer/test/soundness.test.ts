// Soundness of the explorer on races nobody wrote by hand: for random small litmus tests (arch,
// release, mapping kind and racing ops drawn from a seeded generator), every serial order of the
// racing steps — each step run to completion, the per-thread program order kept — is one of the
// interleavings, so its final state must be among the explorer's final states; and no state may
// show a leak or a JS exception (only the kernel's own outcomes: ok, signals, errnos, Oops).
import { describe, expect, test } from 'vitest';
import { loadLitmus, explore, type ExploreResult } from '@mixedmap/explorer';

/** mulberry32: a tiny seeded PRNG, so a failing case can be rerun from its seed */
function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296 * n) | 0;
  };
}
const pick = <T>(r: (n: number) => number, xs: readonly T[]): T => xs[r(xs.length)]!;

const KERNELS = ['2.6.20', '2.6.22', '2.6.23', '2.6.24', '2.6.26', '2.6.27', '2.6.28', '2.6.29', '2.6.32'];
const ARCHS = ['x86', 's390', 'arm'];
const MAPPINGS = [
  { flags: '[private, anonymous]', file: '' },
  { flags: '[shared, anonymous]', file: '' },
  { flags: '[private]', file: '/tmp/f' },
  { flags: '[shared]', file: '/tmp/f' },
];

interface Case {
  seed: number;
  head: string;
  /** the initial steps (YAML flow mappings) */
  init: string[];
  /** racing steps: [thread, YAML flow mapping without id] */
  race: [string, string][];
}

let forks = 0;
function raceOp(r: (n: number) => number, thread: string, file: string): string {
  const page = `m+${r(2)}p`;
  switch (r(13)) {
    case 8: return `thread: ${thread}, op: ${pick(r, ['mlock', 'munlock'])}, addr: m, length: 8K`;
    case 9: return `thread: ${thread}, op: ${pick(r, ['gup', 'gup_fast'])}, addr: ${page}, write: ${pick(r, ['true', 'false'])}`;
    case 10: return file ? `thread: ${thread}, op: truncate, path: ${file}, size: ${pick(r, ['0', '4K', '8K'])}` : `thread: ${thread}, op: write, addr: ${page}`;
    case 12: return `thread: ${thread}, op: fork, child: c${forks++}`;
    case 11: return `thread: ${thread}, op: follow_page, addr: ${page}, flags: [${pick(r, ['get', 'write, get', 'touch'])}]`;
    case 0: case 1: case 2: return `thread: ${thread}, op: read, addr: ${page}`;
    case 3: case 4: return `thread: ${thread}, op: write, addr: ${page}`;
    case 5: return `thread: ${thread}, op: munmap, addr: ${page}, length: 4K`;
    case 6: return `thread: ${thread}, op: mprotect, addr: m, length: 8K, prot: [${pick(r, ['read', 'none', 'read, write'])}]`;
    default: return `thread: ${thread}, op: madvise, addr: ${page}, length: 4K, advice: ${pick(r, ['dontneed', 'sequential'])}`;
  }
}

function genCase(seed: number): Case {
  const r = rng(seed);
  forks = 0;
  const arch = pick(r, ARCHS);
  const kernel = pick(r, KERNELS);
  const map = pick(r, MAPPINGS);
  const drivers = map.file ? `, drivers: [{ name: pagecache, settings: { files: [ { path: /tmp/f, size: 8192 } ] } }]` : '';
  const head = [
    `name: sound-${seed}`,
    `machine: { arch: ${arch}, kernel: "${kernel}", memory: { ram: 16M }${drivers} }`,
    'tasks: [{ name: p, threads: [t2] }]',
  ].join('\n');
  const init = [`{ task: p, op: mmap, as: m, length: 8K, prot: [read, write], flags: ${map.flags}${map.file ? `, file: ${map.file}` : ''} }`];
  for (let i = r(3); i > 0; i--) init.push(`{ thread: p, op: ${pick(r, ['read', 'write'])}, addr: m+${r(2)}p }`);
  const race: [string, string][] = [];
  race.push(['p', raceOp(r, 'p', map.file)]);
  race.push(['t2', raceOp(r, 't2', map.file)]);
  if (r(3) === 0) race.push([pick(r, ['p', 't2']), raceOp(r, race.at(-1)![0] === 'p' ? 't2' : 'p', map.file)]);
  // keep the thread field and the tuple's thread equal
  for (const x of race) x[0] = /thread: (\w+)/.exec(x[1])![1]!;
  return { seed, head, init, race };
}

const OBSERVE = '[pte(m).pfn, pte(m).write, pte(m+1p).pfn, pte(m+1p).write, count(m), mapcount(m), count(m+1p), mapcount(m+1p), rss(p).anon, rss(p).file, free, outcome(p), outcome(t2)]';

/** the litmus text: the racing steps `order` (indexes into c.race) all race, or — serial — run in `order` as initial steps */
function litmus(c: Case, order: number[] | null): string {
  const steps = c.init.map((s) => `  - ${s}`);
  let race: string[];
  if (order === null) {
    c.race.forEach(([, s], i) => steps.push(`  - { id: r${i}, ${s} }`));
    race = c.race.map((_, i) => `r${i}`);
  } else {
    // serial: all but the last step are initial steps in this order; the last is a one-step race
    order.forEach((i, n) => steps.push(`  - { ${n === order.length - 1 ? `id: r${i}, ` : ''}${c.race[i]![1]} }`));
    race = [`r${order.at(-1)}`];
  }
  const observe = c.race.some(([, s]) => s.includes('op: fork')) ? OBSERVE.replace(']', ', pte(c0:m).pfn, pte(c0:m).write, pte(c0:m+1p).pfn, rss(c0).anon, rss(c0).file]') : OBSERVE;
  return `${c.head}\nsteps:\n${steps.join('\n')}\nrace: [${race.join(', ')}]\ncondition: "forall (leaked == 0)"\nobserve: ${observe}\n`;
}

/** every order of the race steps that keeps each thread's steps in program order */
function serialOrders(c: Case): number[][] {
  const out: number[][] = [];
  const n = c.race.length;
  const go = (prefix: number[]) => {
    if (prefix.length === n) return void out.push(prefix);
    for (let i = 0; i < n; i++) {
      if (prefix.includes(i)) continue;
      // an earlier step of the same thread must already be in the prefix
      if (c.race.some(([t], j) => j < i && t === c.race[i]![0] && !prefix.includes(j))) continue;
      go([...prefix, i]);
    }
  };
  go([]);
  return out;
}

/** a final state without the threads' outcomes (a serial run records only its last step's outcome) */
const key = (v: Record<string, unknown>): string =>
  JSON.stringify(Object.keys(v).filter((k) => !k.startsWith('outcome(')).sort().map((k) => [k, v[k]]));

async function check(c: Case): Promise<void> {
  const file = `sound-${c.seed}.yaml`;
  const all: ExploreResult = explore(await loadLitmus({ text: litmus(c, null), file }), { maxStates: 200_000 });
  const where = `seed ${c.seed}\n${litmus(c, null)}`;
  expect(all.cut, where).toBeNull();
  // no interleaving leaks a frame or a page table, or breaks the bookkeeping the invariant checker checks
  expect(all.ok, where).toBe(true);
  expect(all.states.flatMap((s) => s.violations), where).toEqual([]);
  const states = new Set(all.states.map((s) => key(s.values)));
  for (const order of serialOrders(c)) {
    const one = explore(await loadLitmus({ text: litmus(c, order), file }));
    expect(one.states, `${where}serial order ${order}`).toHaveLength(1);
    expect(states.has(key(one.states[0]!.values)), `${where}serial order ${order}: ${JSON.stringify(one.states[0]!.values)} not among the explorer's ${all.states.length} states`).toBe(true);
  }
}

describe('explorer soundness on generated races', () => {
  // 120 generated tests (seeds 1…120), each with all its serial orders; SOUND_BATCHES=60 runs 1200
  const BATCHES = Number(process.env.SOUND_BATCHES ?? 6);
  for (let batch = 0; batch < BATCHES; batch++) {
    test(`seeds ${batch * 20 + 1}–${batch * 20 + 20}: every serial order is an explored final state, no leak`, async () => {
      for (let seed = batch * 20 + 1; seed <= batch * 20 + 20; seed++) await check(genCase(seed));
    });
  }
});
