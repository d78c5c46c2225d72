// The plan: what a scenario means for the live kernel, worked out before anything runs. It refuses
// what the live kernel cannot show (other archs, old kernels, XIP/mspec/DCSS//dev/mem and other
// driver ops, gup internals, threads, literal addresses), enforces the size limit, and numbers
// mappings (one per mmap step), files (memfds) and tasks the same way for the model and the executor.

import { ScenarioError, type LoadedScenario, type ScenarioProblem, type Step, type AddrExpr } from '@mixedmap/scenario';

export const DEFAULT_LIMIT = 1024 * 1024 * 1024;
const PAGE = 4096;

/** Where an address expression points: a mapping (by id) and a byte offset into it. */
export interface MapRef {
  mid: number;
  off: number;
}

export interface PlannedStep {
  step: Step;
  /** the op without the interim oracle. prefix */
  op: string;
  /** task id (executor slot) */
  tid: number;
  /** the step's address as a mapping reference (ops with addr) */
  ref?: MapRef;
  /** mmap: the mapping it creates */
  mid?: number;
  /** mmap/open/truncate: the file (memfd) id, or 'zero' for /dev/zero */
  fid?: number | 'zero';
  /** mmap of a file opened read-only */
  rdonly?: boolean;
  /** open: the struct file it makes (executor descriptor id); mmap fd: the one it maps */
  desc?: number;
  /** fork: the child task id */
  child?: number;
  /** open: this step creates the file */
  creates?: boolean;
  /** the file does not exist at this step (open without create, mmap of a missing file): ENOENT */
  enoent?: boolean;
}

export interface PlannedFile {
  fid: number;
  path: string;
  /** size at boot (driver settings) or 0 */
  size: number;
}

export interface Plan {
  tasks: string[];
  initialTasks: number[];
  mappings: Array<{ mid: number; length: number; step: number }>;
  files: PlannedFile[];
  steps: PlannedStep[];
  totalBytes: number;
  limit: number;
}

const SUPPORTED = new Set(['mmap', 'munmap', 'mprotect', 'mlock', 'munlock', 'read', 'write', 'fork', 'exit', 'open', 'truncate', 'madvise', 'poke', 'peek']);

const WHY_NOT: Record<string, string> = {
  gup: 'get_user_pages is a kernel-internal call; a user process cannot issue it (use poke/peek for /proc/self/mem)',
  gup_fast: 'get_user_pages_fast is a kernel-internal call; a user process cannot issue it',
  put_pages: 'gup pins are kernel-internal',
  follow_page: 'follow_page is kernel-internal',
  move_pages: 'move_pages status is not part of the oracle (the zero-page answer differs by release)',
  alloc_prefer: 'the live page allocator cannot be steered',
  access_process_vm: 'use poke / peek (a forced write / a read through /proc/self/mem)',
  clone: 'threads are not supported by the executor (one thread per process)',
};

const DRIVER_WHY: Record<string, string> = {
  xip: 'execute-in-place (XIP) files need an XIP block device/file system the live machine does not have',
  mspec: 'mspec is an SGI Altix (ia64) driver; the live kernel has no such device',
  devmem: '/dev/mem mappings would touch real physical memory; the oracle never maps /dev/mem',
};

/**
 * Checks that the live kernel can show the scenario and numbers its mappings, files and tasks.
 * Throws a ScenarioError (file, line, field) listing every reason it cannot.
 */
export function planScenario(s: LoadedScenario, opts: { limit?: number; hostArch?: string } = {}): Plan {
  const problems: ScenarioProblem[] = [];
  const fail = (field: string, msg: string): void => {
    problems.push(s.locs.problem(field, msg));
  };
  const limit = opts.limit ?? DEFAULT_LIMIT;
  const hostArch = opts.hostArch ?? process.arch;

  // ---- the machine ----
  const archName = s.plugins.arch.name;
  if (archName !== 'x86') fail('machine.arch', `the oracle runs on the live kernel of this machine (${hostArch}); an ${archName} machine cannot be shown here (only x86)`);
  else if (hostArch !== 'x64') fail('machine.arch', `this machine is ${hostArch}, not x86_64: an x86 scenario cannot be shown on its kernel`);
  if (!/^6\.(x|\d+)$/.test(s.machine.kernel)) fail('machine.kernel', `the live kernel is a modern one: oracle scenarios use kernel "6.x", not the old release "${s.machine.kernel}"`);
  const ko = s.machine.kernelOptions;
  if (ko.variant?.length) fail('machine.kernelOptions.variant', 'seed variants are old-kernel patches; the live kernel has none');
  if (ko.features && Object.keys(ko.features).length) fail('machine.kernelOptions.features', 'what-if features cannot be applied to the live kernel');
  if (Object.keys(s.machine.archOptions).length) fail('machine.archOptions', 'arch options cannot be applied to the live kernel');
  if (s.machine.memory.regions?.length) fail('machine.memory.regions', 'extra physical regions (device memory, flash, DCSS segments) do not exist on the live machine');
  let mount = '/tmp';
  const bootFiles: Array<{ path: string; size: number }> = [];
  s.machine.drivers.forEach((d, i) => {
    const name = s.plugins.drivers[i]?.driver.name ?? d.spec;
    if (name !== 'pagecache') {
      fail(d.field, `driver "${name}": ${DRIVER_WHY[name] ?? 'driver operations and devices of the model have no live counterpart'}; the oracle supports pagecache files (memfd) only`);
      return;
    }
    const st = d.settings as { mount?: string; files?: Array<{ path: string; size: number }> };
    if (st.mount) mount = st.mount;
    for (const f of st.files ?? []) bootFiles.push({ path: f.path.startsWith('/') ? f.path : `${mount}/${f.path}`, size: f.size });
  });
  const hasPagecache = s.plugins.drivers.some((d) => d.driver.name === 'pagecache');

  // ---- tasks, files, mappings ----
  const tasks: string[] = s.tasks.map((t) => t.name);
  const initialTasks = tasks.map((_, i) => i);
  s.tasks.forEach((t, i) => {
    if (t.threads.length) fail(`tasks[${i}].threads`, 'threads are not supported by the executor (one thread per process)');
  });
  const files: PlannedFile[] = bootFiles.map((f, i) => ({ fid: i, path: f.path, size: f.size }));
  const created = new Set(bootFiles.map((f) => f.path));
  const fileId = (path: string): number => {
    let f = files.find((x) => x.path === path);
    if (!f) {
      f = { fid: files.length, path, size: 0 };
      files.push(f);
    }
    return f.fid;
  };
  const underMount = (p: string): boolean => p.startsWith(mount.endsWith('/') ? mount : `${mount}/`);
  // per task: symbol → mapping id; fds → file id (+ read-only)
  const syms = new Map<string, Map<string, number>>(tasks.map((t) => [t, new Map()]));
  const fds = new Map<string, Map<string, { fid: number; rdonly: boolean; desc: number }>>(tasks.map((t) => [t, new Map()]));
  let descs = 0;
  const mappings: Plan['mappings'] = [];
  let totalBytes = bootFiles.reduce((a, f) => a + f.size, 0);
  let fileBytes = totalBytes;
  const steps: PlannedStep[] = [];

  for (const step of s.steps) {
    const op = step.op;
    const f = step.field;
    const a = step.args;
    if (!SUPPORTED.has(op)) {
      fail(`${f}.op`, step.op.includes('.') ? `"${step.op}": driver and arch operations have no live counterpart` : `op "${op}" cannot be run on the live kernel: ${WHY_NOT[op] ?? 'not supported by the oracle'}`);
      continue;
    }
    if (step.thread !== step.task) fail(`${f}.thread`, 'threads are not supported by the executor');
    let tid = tasks.indexOf(step.task);
    if (tid < 0) tid = 0;
    const ps: PlannedStep = { step, op, tid };
    const resolve = (field: string, ax: AddrExpr | undefined): MapRef | undefined => {
      if (!ax) return undefined;
      if (ax.task !== undefined && ax.task !== step.task) {
        fail(field, `"${ax.text}": the step runs in task ${step.task}; an address of another task's bindings cannot be used here`);
        return undefined;
      }
      if (ax.sym === undefined) {
        fail(field, `"${ax.text}": literal addresses are not supported by the oracle (the live kernel places mappings itself); use a symbol bound with as:`);
        return undefined;
      }
      const mid = syms.get(step.task)?.get(ax.sym);
      if (mid === undefined) {
        fail(field, `"${ax.text}": no mapping bound to "${ax.sym}" in task ${step.task}`);
        return undefined;
      }
      const len = mappings[mid]!.length;
      if (ax.offset < 0 || ax.offset >= len) {
        fail(field, `"${ax.text}" is outside the mapping "${ax.sym}" (${len} bytes); the oracle only touches its own mappings`);
        return undefined;
      }
      return { mid, off: ax.offset };
    };
    switch (op) {
      case 'mmap': {
        const flags = a.flags as string[];
        const length = a.length as number;
        if (flags.includes('fixed')) fail(`${f}.flags`, 'MAP_FIXED is refused by the oracle: it could replace the executor\'s own memory');
        if (!Number.isInteger(length) || length <= 0 || length % PAGE) fail(`${f}.length`, 'the oracle needs a positive, page-aligned length');
        if (a.offset !== undefined && ((a.offset as number) % PAGE)) fail(`${f}.offset`, 'the offset must be page aligned');
        if (a.file !== undefined) {
          const path = a.file as string;
          if (path === '/dev/zero') ps.fid = 'zero';
          else if (!hasPagecache || !underMount(path)) fail(`${f}.file`, `"${path}": the oracle maps /dev/zero, anonymous memory and pagecache files under ${mount} (memfds) only`);
          else {
            ps.fid = fileId(path);
            ps.rdonly = a.mode === 'rdonly';
            if (!created.has(path)) ps.enoent = true;
          }
        } else if (a.fd !== undefined) {
          const fd = fds.get(step.task)!.get(a.fd as string);
          if (fd) {
            ps.fid = fd.fid;
            ps.rdonly = fd.rdonly;
            ps.desc = fd.desc;
          } else ps.enoent = true;
        }
        if (flags.includes('shared') && flags.includes('anonymous') && !hasPagecache) {
          fail(`${f}.flags`, 'shared anonymous memory is shmem: list the pagecache driver in machine.drivers so the model has it');
        }
        const mid = mappings.length;
        mappings.push({ mid, length, step: step.index });
        totalBytes += Number.isFinite(length) ? length : 0;
        if (totalBytes > limit) fail(`${f}.length`, `the scenario's mappings and files need ${totalBytes} bytes in all, over the limit of ${limit} bytes`);
        ps.mid = mid;
        if (a.as !== undefined) syms.get(step.task)!.set(a.as as string, mid);
        break;
      }
      case 'open': {
        const path = a.path as string;
        if (!hasPagecache || !underMount(path)) {
          fail(`${f}.path`, `"${path}": the oracle opens pagecache files under ${mount} (memfds) only`);
          break;
        }
        ps.fid = fileId(path);
        ps.rdonly = a.mode === 'rdonly';
        if (!created.has(path)) {
          if (a.create) {
            created.add(path);
            ps.creates = true;
          } else ps.enoent = true;
        }
        const size = (a.size as number | undefined) ?? 0;
        if (!ps.enoent && a.create && size) {
          fileBytes += size;
          totalBytes += size;
          if (totalBytes > limit) fail(`${f}.size`, `the scenario's mappings and files need ${totalBytes} bytes in all, over the limit of ${limit} bytes`);
        }
        if (!ps.enoent) ps.desc = descs++;
        if (a.as !== undefined && !ps.enoent) fds.get(step.task)!.set(a.as as string, { fid: ps.fid, rdonly: ps.rdonly, desc: ps.desc! });
        break;
      }
      case 'truncate': {
        const path = a.path as string;
        if (!hasPagecache || !underMount(path)) {
          fail(`${f}.path`, `"${path}": the oracle truncates pagecache files under ${mount} (memfds) only`);
          break;
        }
        ps.fid = fileId(path);
        if (!created.has(path)) ps.enoent = true;
        const size = a.size as number;
        if (size > limit) fail(`${f}.size`, `size ${size} is over the limit of ${limit} bytes`);
        break;
      }
      case 'fork': {
        const child = a.child as string;
        ps.child = tasks.length;
        tasks.push(child);
        syms.set(child, new Map(syms.get(step.task)));
        fds.set(child, new Map(fds.get(step.task)));
        break;
      }
      case 'munmap':
      case 'mprotect':
      case 'mlock':
      case 'munlock':
      case 'madvise': {
        ps.ref = resolve(`${f}.addr`, a.addr as AddrExpr);
        const length = a.length as number;
        if (ps.ref) {
          if (ps.ref.off % PAGE) fail(`${f}.addr`, 'the address must be page aligned');
          if (!Number.isInteger(length) || length <= 0 || ps.ref.off + length > mappings[ps.ref.mid]!.length) {
            fail(`${f}.length`, `the range must lie inside the mapping (${mappings[ps.ref.mid]!.length} bytes from its start): the oracle only touches its own mappings`);
          }
        }
        break;
      }
      case 'read':
      case 'write':
      case 'poke':
      case 'peek':
        ps.ref = resolve(`${f}.addr`, a.addr as AddrExpr);
        break;
      default:
        break;
    }
    steps.push(ps);
  }
  void fileBytes;
  if (tasks.length > 64) fail('steps', `at most 64 tasks (initial ones and fork children), not ${tasks.length}`);
  if (s.steps.length > 4096) fail('steps', 'at most 4096 steps');
  if (problems.length) throw new ScenarioError(problems);
  return { tasks, initialTasks, mappings, files, steps, totalBytes, limit };
}

/** The executor program for a plan; `hints[mid]` is the model's address of each mapping (or 0). */
export function programText(plan: Plan, hints: Array<number | undefined>, timeoutSec: number): string {
  const L: string[] = ['mixedmap-program 1', `limit ${plan.limit}`, `timeout ${timeoutSec}`, `tasks ${plan.tasks.length}`];
  for (const t of plan.initialTasks) L.push(`task ${t}`);
  for (const f of plan.files) L.push(`file ${f.fid} ${f.size}`);
  for (const m of plan.mappings) L.push(`mapping ${m.mid} ${m.length}`);
  const prot = (p: unknown): string => {
    const l = (p as string[]).filter((x) => x !== 'none');
    const s = `${l.includes('read') ? 'r' : ''}${l.includes('write') ? 'w' : ''}${l.includes('exec') ? 'x' : ''}`;
    return s || '-';
  };
  const ENOENT = 2;
  for (const ps of plan.steps) {
    const a = ps.step.args;
    const head = `step ${ps.step.index} ${ps.tid}`;
    const ref = ps.ref ? `${ps.ref.mid} ${ps.ref.off}` : '';
    if (ps.enoent) {
      L.push(`${head} fail ${ENOENT}`);
      continue;
    }
    switch (ps.op) {
      case 'mmap': {
        const flags = a.flags as string[];
        const letters = (flags.includes('shared') ? 's' : 'p') + (flags.includes('anonymous') ? 'a' : '') + (flags.includes('locked') ? 'l' : '') + (flags.includes('populate') ? 'P' : '');
        // `fd:` maps an open step's struct file; `file:` opens the path for this mmap alone (a struct file of its own)
        const src = ps.fid === undefined ? 'anon' : ps.fid === 'zero' ? 'zero' : ps.desc !== undefined ? `fd:${ps.desc}` : `${ps.rdonly ? 'rofile' : 'file'}:${ps.fid}`;
        const hint = hints[ps.mid!] ?? 0;
        L.push(`${head} mmap ${ps.mid} ${a.length} ${prot(a.prot)} ${letters} ${src} ${(a.offset as number | undefined) ?? 0} 0x${hint.toString(16)}`);
        break;
      }
      case 'munmap':
      case 'mlock':
      case 'munlock':
        if (ps.ref) L.push(`${head} ${ps.op} ${ref} ${a.length}`);
        break;
      case 'mprotect':
        if (ps.ref) L.push(`${head} mprotect ${ref} ${a.length} ${prot(a.prot)}`);
        break;
      case 'madvise':
        if (ps.ref) L.push(`${head} madvise ${ref} ${a.length} ${a.advice}`);
        break;
      case 'read':
      case 'write':
      case 'poke':
      case 'peek':
        if (ps.ref) L.push(`${head} ${ps.op} ${ref}`);
        break;
      case 'fork':
        L.push(`${head} fork ${ps.child}`);
        break;
      case 'exit':
        L.push(`${head} exit`);
        break;
      case 'open': {
        // the memfd exists from the start; each open is a new struct file in the task (reopened
        // through /proc/self/fd, inherited on fork); creating it gives it its size
        L.push(`${head} open ${ps.desc} ${ps.fid} ${ps.rdonly ? 'ro' : 'rw'} ${ps.creates && a.size ? a.size : 0}`);
        break;
      }
      case 'truncate':
        L.push(`${head} truncate ${ps.fid} ${a.size}`);
        break;
      default:
        break;
    }
  }
  L.push('end');
  return L.join('\n') + '\n';
}
