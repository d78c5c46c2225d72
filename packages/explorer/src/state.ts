// The state key of a machine plus the threads' progress: two interleavings that reach the same key
// behave the same from there on, so the explorer expands the state once (state hashing). The key
// covers everything later steps can observe: ptes, struct pages, the free list, rss, vmas, tasks,
// locks, reports, the threads' fault continuations and the drivers' state.

import type { Machine, Thread } from '@mixedmap/core';

function hashArray(h1: number, h2: number, a: ArrayLike<number>, n = a.length): [number, number] {
  for (let i = 0; i < n; i++) {
    const v = a[i]! | 0;
    h1 = Math.imul(h1 ^ v, 0x01000193);
    h2 = Math.imul(h2 + v, 0x5bd1e995) ^ (h2 >>> 15);
  }
  return [h1 >>> 0, h2 >>> 0];
}

function stringifyState(v: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === 'function') return undefined;
    if (x && typeof x === 'object') {
      if (seen.has(x)) return '[cycle]';
      seen.add(x);
      if (x instanceof Map) return [...x.entries()];
      if (x instanceof Set) return [...x.values()];
      if (ArrayBuffer.isView(x)) return Array.from(x as unknown as ArrayLike<number>);
    }
    return x;
  }) ?? '';
}

export function stateKey(k: Machine, threads: Thread[], progress: string): string {
  const m = k.mem;
  let [h1, h2] = [0x811c9dc5, 0x9747b28c];
  // struct pages up to highest_memmap_pfn (section tails beyond it are reserved and only change
  // through a pte or a pin, which the key lists anyway); contents (gen) are not part of the key
  const n = m.highestMemmapPfn + 1;
  [h1, h2] = hashArray(h1, h2, m.count, n);
  [h1, h2] = hashArray(h1, h2, m.mapcount, n);
  [h1, h2] = hashArray(h1, h2, m.flags, n);
  [h1, h2] = hashArray(h1, h2, m.freeList());
  const parts: string[] = [progress, `free ${m.freeCount()} next ${m.peekFree()}`];
  // the 6.x profile's mlock accounting (swap.ts): counts, and batches an access left unprocessed
  if (m.mlockCount.size || m.lruAddBatch.length || m.mlockBatch.length) {
    parts.push(`mlock ${[...m.mlockCount].sort((a, b) => a[0] - b[0]).join(';')} batches ${m.lruAddBatch.join(',')}/${m.mlockBatch.join(',')}`);
  }
  for (const mm of k.mms) {
    if (mm.users === 0) continue;
    parts.push(`mm${mm.id} rss ${mm.fileRss}/${mm.anonRss} locked ${mm.lockedVm} sem ${mm.mmapSemReaders}/${mm.mmapSemWriter}`);
    for (const v of mm.vmas) {
      parts.push(`vma ${v.start}-${v.end} ${v.flags} ${v.pgoff} ${v.anonVma ? 'anon' : ''}`);
      const per = mm.pt.ptesPerTable;
      for (let a = v.start; a < v.end; a += 4096) {
        if (!mm.pt.lookup(a / 4096)) {
          a = (Math.floor(a / 4096 / per) + 1) * per * 4096 - 4096;
          continue;
        }
        const lo = mm.pt.tbl[mm.pt.slot]!;
        const hi = mm.pt.tbl[mm.pt.slot + 1]!;
        if (lo !== k.pte.none || hi !== 0) parts.push(`${a}:${lo}:${hi}`);
      }
    }
  }
  for (const t of k.tasks) parts.push(`task ${t.pid} ${t.alive} ${t.exitReason ?? ''} pins ${t.pins.join(',')} dead ${t.threads.filter((th) => !th.alive).map((th) => th.tid).join(',')}`);
  for (const th of threads) {
    const c = th.fault;
    parts.push(`th${th.tid} ${c.phase} ${c.window} ${c.page} ${c.newPage} ${c.pfn} ${c.origLo} ${c.origHi} ${c.vpn} ${c.write} ${c.anon} ${c.ret} ${c.truncateCount} ${c.pageMapping}`);
  }
  for (const d of k.drivers) parts.push(`${d.driver.name} ${stringifyState(d.state)}`);
  parts.push(`arch ${stringifyState(k.archState)}`);
  for (const ino of k.inodes.values()) parts.push(`ino ${ino.ino} ${ino.size} ${ino.mapping.truncateCount} ${[...ino.mapping.pages].join(';')}`);
  return `${h1.toString(36)}.${h2.toString(36)}|${parts.join('|')}`;
}
