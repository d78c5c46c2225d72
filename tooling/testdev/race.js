// Racing accesses for tests, through the machine's public stepping API (the one the explorer
// drives): start each thread's access, move a thread to a named lock window, run it to the end.

/** Starts each thread's access to addr and stops it at its first lock window (the pte read without the ptl). */
export function startAccesses(k, threads, addr, write = false) {
  for (const t of threads) {
    k.beginAccess(t, addr, write);
    if (k.stepAccess(t)) throw new Error('the access ended without a fault');
  }
}

/** Steps a thread until it stops at a window whose name starts with `prefix`. */
export function stepTo(k, t, prefix) {
  while (!k.stepAccess(t)) if (k.accessWindow(t)?.startsWith(prefix)) return;
  throw new Error(`the access ended before a window "${prefix}…"`);
}

/** Runs a thread's access to its end and returns its OpResult. */
export function finishAccess(k, t) {
  while (!k.stepAccess(t));
  return k.accessResult(t);
}
