// Shared-memory primitives for the multi-threaded benchmarks: a start barrier and a stop flag, and
// the modelled mmap_sem — a real reader-writer lock on Atomics (writer-preferring, like rwsem).

/** Int32 slots of the control block */
export const CTL_READY = 0;
export const CTL_GO = 1;
export const CTL_STOP = 2;
export const CTL_SLOTS = 16;

export function waitForGo(ctl: Int32Array): void {
  Atomics.add(ctl, CTL_READY, 1);
  Atomics.notify(ctl, CTL_READY);
  while (Atomics.load(ctl, CTL_GO) === 0) Atomics.wait(ctl, CTL_GO, 0, 50);
}

// rwsem: [0] = readers (> 0), 0 free, -1 a writer holds it; [1] = writers waiting
const STATE = 0;
const WAITING = 1;
export const RWSEM_SLOTS = 16; // one 64-byte line

export function downRead(l: Int32Array): void {
  for (;;) {
    const s = Atomics.load(l, STATE);
    if (s >= 0 && Atomics.load(l, WAITING) === 0) {
      if (Atomics.compareExchange(l, STATE, s, s + 1) === s) return;
      continue;
    }
    Atomics.wait(l, STATE, s, 1);
  }
}

export function upRead(l: Int32Array): void {
  if (Atomics.sub(l, STATE, 1) === 1) Atomics.notify(l, STATE);
}

export function downWrite(l: Int32Array): void {
  Atomics.add(l, WAITING, 1);
  for (;;) {
    if (Atomics.compareExchange(l, STATE, 0, -1) === 0) break;
    const s = Atomics.load(l, STATE);
    if (s !== 0) Atomics.wait(l, STATE, s, 1);
  }
  Atomics.sub(l, WAITING, 1);
}

export function upWrite(l: Int32Array): void {
  Atomics.store(l, STATE, 0);
  Atomics.notify(l, STATE);
}
