// The operations every random-sequence property test shares (core's and the drivers'): a world of
// tasks, each with the addresses it mapped, and one interpreter for the generic ops. A test adds
// its own ops (mmap of its mappings, driver operations) and calls runCommonOp for the rest.
const PS = 4096;

export function newWorld(k) {
  const init = k.spawn('init');
  return { k, tasks: [init], maps: new Map([[init, []]]) };
}

/** The live task an op names (by index, modulo the live ones), or undefined when all exited. */
export function pickTask(w, index) {
  const live = w.tasks.filter((t) => t.alive);
  return live.length ? live[index % live.length] : undefined;
}

/** The address an op names: page `page` of the task's mapping `map`, or a stray address. */
export function pickAddress(w, t, o) {
  const ms = w.maps.get(t);
  return o.map !== undefined && ms.length ? ms[o.map % ms.length] + (o.page ?? 0) * PS : 0x40000000 + (o.page ?? 0) * PS;
}

/** Runs one generic op on the world; false when the op is not a generic one. */
export function runCommonOp(w, t, o, check) {
  const k = w.k;
  const addr = pickAddress(w, t, o);
  switch (o.op) {
    case 'touch':
      check('access', k.access(t.threads[o.thread % t.threads.length], addr, o.write));
      return true;
    case 'fork': {
      const r = k.fork(t, `c${w.tasks.length}`);
      check('fork', r);
      if (r.child) {
        w.tasks.push(r.child);
        w.maps.set(r.child, [...w.maps.get(t)]);
      }
      return true;
    }
    case 'clone':
      if (t.threads.length < 2) k.cloneThread(t);
      return true;
    case 'exit':
      check('exit', k.exit(t));
      return true;
    case 'put':
      check('put', k.putPages(t));
      return true;
    case 'munmap':
      check('munmap', k.munmap(t, addr, o.pages * PS));
      return true;
    case 'mprotect':
      check('mprotect', k.mprotect(t, addr, o.pages * PS, o.prot));
      return true;
    case 'mlock':
      check('mlock', k.mlock(t, addr, o.pages * PS));
      return true;
    case 'munlock':
      check('munlock', k.munlock(t, addr, o.pages * PS));
      return true;
    case 'gup':
      check('gup', k.gup(t.threads[0], addr, o.pages, o.write));
      return true;
    case 'gupfast':
      if (k.f.gupFastApi) check('gup_fast', k.gupFast(t.threads[0], addr, o.pages, o.write));
      return true;
    case 'ptrace':
      check('access_process_vm', k.accessProcessVm(t.threads[0], addr, 16, o.write));
      return true;
    default:
      return false;
  }
}

/** Every task still alive exits. */
export function exitAll(w, check) {
  for (const t of w.tasks) if (t.alive) check('exit', w.k.exit(t));
}
