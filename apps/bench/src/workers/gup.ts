// Benchmark 4's worker. Every worker builds the same model process (its own copy: model machines
// cannot be shared between threads), and the process's mmap_sem is one real reader-writer lock on
// a SharedArrayBuffer that all workers take, as the threads of one process would.
//   role 'gup':    pins batches of pages of a populated buffer and releases them, by `method`:
//                  'slow'  get_user_pages under down_read(mmap_sem);
//                  'fast'  get_user_pages_fast: core's lockless walk for the batch up to its first
//                          special pte, the rest through get_user_pages under down_read (the split
//                          gup_pte_range makes; arches without gup_fast take the lock for all);
//   role 'writer': mmap + fault + munmap of a small region under down_write, in a loop.
import { parentPort, workerData } from 'node:worker_threads';
import {
  createMachine, getUserPages, getUserPagesFast, handleMmFault, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE,
} from '@mixedmap/core';
import x86 from '@mixedmap/arch-x86';
import arm from '@mixedmap/arch-arm';
import { CTL_STOP, downRead, downWrite, upRead, upWrite, waitForGo } from './shared.js';

interface Data {
  role: 'gup' | 'writer';
  arch: 'x86' | 'arm';
  method: 'slow' | 'fast';
  pages: number;
  batch: number;
  /** share of the buffer's pages that are only read-faulted: special zero-page ptes on 2.6.32 x86 */
  specialShare: number;
  ctl: SharedArrayBuffer;
  sem: SharedArrayBuffer;
}

const d = workerData as Data;
const ctl = new Int32Array(d.ctl);
const sem = new Int32Array(d.sem);
const k = createMachine({ arch: d.arch === 'arm' ? arm : x86, kernel: '2.6.32', debug: false, memory: { ram: (d.pages + 16384) * 4096 } });
const task = k.spawn('db2');
const t = task.threads[0]!;
const addr = k.mmap(task, { length: d.pages * 4096, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS }).addr!;
const vma = k.findVmaOf(task, addr)!;
// populate: every page written, except an evenly spread share that is only read (zero page)
const special = new Uint8Array(d.pages);
let acc = 0;
for (let i = 0; i < d.pages; i++) {
  acc += d.specialShare;
  const ro = acc >= 1;
  if (ro) acc -= 1;
  handleMmFault(k, t, vma, addr + i * 4096, !ro);
  special[i] = k.readPte(task, addr + i * 4096).special ? 1 : 0;
}
const pins: number[] = [];
const fastArch = !!k.arch.gupFast;

function release(): void {
  for (let i = 0; i < pins.length; i++) k.mem.putPage(pins[i]!);
  pins.length = 0;
}

let pinned = 0;
let fellBack = 0;
let lockTaken = 0;

function gupBatch(first: number): void {
  const n = d.batch;
  const a = addr + first * 4096;
  if (d.method === 'slow' || !fastArch) {
    downRead(sem);
    lockTaken++;
    const r = d.method === 'slow' ? getUserPages(k, t, a, n, false, false, pins) : getUserPagesFast(k, t, a, n, false, pins);
    upRead(sem);
    if (r !== n) throw new Error(`gup returned ${r}`);
    if (d.method === 'fast') fellBack += n;
  } else {
    let prefix = 0;
    while (prefix < n && special[first + prefix] === 0) prefix++;
    if (prefix > 0 && getUserPagesFast(k, t, a, prefix, false, pins) !== prefix) throw new Error('gup_fast short');
    if (prefix < n) {
      downRead(sem);
      lockTaken++;
      const r = getUserPages(k, t, a + prefix * 4096, n - prefix, false, false, pins);
      upRead(sem);
      if (r !== n - prefix) throw new Error(`gup returned ${r}`);
      fellBack += n - prefix;
    }
  }
  pinned += n;
  release();
}

function writerRound(): void {
  downWrite(sem);
  const r = k.mmap(task, { length: 16 * 4096, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
  const v = k.findVmaOf(task, r.addr!)!;
  for (let i = 0; i < 16; i++) handleMmFault(k, t, v, r.addr! + i * 4096, true);
  k.munmap(task, r.addr!, 16 * 4096);
  upWrite(sem);
}

const batches = Math.floor(d.pages / d.batch);
// warm-up
if (d.role === 'gup') for (let b = 0; b < Math.min(batches, 256); b++) gupBatch(b * d.batch);
else for (let i = 0; i < 64; i++) writerRound();
pinned = fellBack = lockTaken = 0;

waitForGo(ctl);
const t0 = performance.now();
let rounds = 0;
if (d.role === 'gup') {
  let b = 0;
  while (Atomics.load(ctl, CTL_STOP) === 0) {
    for (let j = 0; j < 64; j++) {
      gupBatch(b * d.batch);
      if (++b === batches) b = 0;
    }
  }
} else {
  while (Atomics.load(ctl, CTL_STOP) === 0) {
    writerRound();
    rounds++;
    const until = performance.now() + 0.02; // 20 µs between write-lock sections
    while (performance.now() < until);
  }
}
const ms = performance.now() - t0;
parentPort!.postMessage({ role: d.role, pinned, fellBack, lockTaken, rounds, ms });
