// The scenario format, described once. validate.ts checks YAML against it and
// docs/scenario.schema.json is generated from it (`toJsonSchema(SCENARIO_SCHEMA)`).

import {
  type Schema, type Field, named, str, enumOf, int, bool, nul, size, hex, address, delta, list, obj, map, oneOf, any, req, opt,
  toJsonSchema,
} from './schema-dsl.js';

export const NAME_PATTERN = '^[A-Za-z_][\\w-]*$';
export const SYMBOL_PATTERN = '^[A-Za-z_]\\w*$';
export const DRIVER_OP_PATTERN = '^[A-Za-z][\\w-]*\\.[A-Za-z_][\\w-]*$';
export const OUTCOME_PATTERN = '^(ok|SIGSEGV|SIGBUS|OOM|oops|livelock|E[A-Z0-9]+)$';
export const VM_FLAG_PATTERN = '^VM_[A-Z_]+$';

export const PROT_NAMES = ['read', 'write', 'exec', 'none'] as const;
export const MAP_FLAG_NAMES = ['shared', 'private', 'anonymous', 'fixed', 'locked', 'populate'] as const;
export const FOLL_FLAG_NAMES = ['write', 'touch', 'get', 'anon', 'dump', 'force', 'nozero'] as const;
export const REGION_KINDS = ['ram', 'device', 'flash', 'segment'] as const;
export const NORMAL_PAGE_VALUES = ['page', 'zero'] as const;

const name = (doc: string) => str(doc, { pattern: NAME_PATTERN, patternHint: 'a name (letters, digits, _ and -, not starting with a digit)' });
const symbol = (doc: string) => str(doc, { pattern: SYMBOL_PATTERN, patternHint: 'a symbol name (letters, digits and _, not starting with a digit)' });

const pfnExpect: Schema = oneOf(
  [
    hex('this exact pfn'),
    enumOf(['zero'], 'the zero pfn (machine.zeroPfn)'),
    obj({ sameAs: req(address('the pte at this address (optionally task:ADDR) maps the same pfn')) }),
  ],
  'expected pfn',
);

export const PTE_EXPECT: Schema = named('pteExpect', obj(
  {
    none: opt(bool('pte_none()')),
    present: opt(bool('pte_present()')),
    write: opt(bool('pte_write()')),
    dirty: opt(bool('pte_dirty()')),
    young: opt(bool('pte_young()')),
    special: opt(bool('pte_special() (false on arches without the bit)')),
    cache: opt(oneOf([bool(), str(), int()], 'cache attribute as the core reports it (PteInfo.cache)')),
    pfn: opt(pfnExpect),
  },
  'expected pte fields; fields not listed are not checked',
));

const EXPECT: Schema = named('expect', obj(
  {
    outcome: opt(str('ok | SIGSEGV | SIGBUS | OOM | oops | livelock | an errno name (EINVAL, EBUSY, EFAULT, …)', {
      pattern: OUTCOME_PATTERN,
      patternHint: 'ok, SIGSEGV, SIGBUS, OOM, oops, livelock or an errno name like EINVAL',
    })),
    ret: opt(int('the return value (syscall / gup / follow_page pfn); negative = -errno')),
    handlers: opt(list(str(), 'exact list: the handler chains of all faults of the step, concatenated')),
    handlersInclude: opt(list(str(), 'each listed handler appears in some fault chain of the step')),
    faults: opt(int('number of handle_mm_fault calls the step ran', 0)),
    oops: opt(str('substring of the Oops (BUG_ON) condition')),
    pte: opt(PTE_EXPECT),
    ptes: opt(map('address', PTE_EXPECT, 'expected ptes at other addresses (keys are address expressions)')),
    normalPage: opt(oneOf([nul(), enumOf(NORMAL_PAGE_VALUES)], 'vm_normal_page() of the step address: null (NULL), page (a struct page), zero (the zero page)')),
    page: opt(obj(
      {
        at: opt(address('the page mapped at this address (default: the pte of the step address)')),
        count: opt(delta('page_count() change (or =N absolute)')),
        mapcount: opt(delta('page_mapcount() change (or =N absolute)')),
        flags: opt(list(str(), 'page flags that must be set (reserved, anon, dirty, …)')),
      },
      'the struct page of the pfn mapped at the step address (or at `at`)',
    )),
    rss: opt(obj({ anon: opt(delta('anon_rss change')), file: opt(delta('file_rss change')) }, 'rss changes of the step task')),
    reports: opt(list(str(), 'substrings that must each appear among the step reports (print_bad_pte, Bad page, doubleInstall, Eeek)')),
    noReports: opt(bool('the step printed no report')),
    vmaFlags: opt(list(str(undefined, { pattern: VM_FLAG_PATTERN, patternHint: 'a VM_* flag name' }), 'VM_* flags that must be set on the vma of the step address')),
    vmaFlagsNot: opt(list(str(undefined, { pattern: VM_FLAG_PATTERN, patternHint: 'a VM_* flag name' }), 'VM_* flags that must be clear')),
    pgoff: opt(hex('vm_pgoff of the vma of the step address')),
    value: opt(obj(
      {
        sameAs: opt(address('the content at this address has the same content id')),
        differsFrom: opt(address('the content at this address has a different content id')),
      },
      'content (generation id) of the page at the step address',
    )),
    freePages: opt(delta('change of the number of free pages in the allocator')),
    pageTableBytes: opt(delta('change (or =N absolute) of the page-table memory of the step task in bytes (Machine.pageTableBytes: the arch table sizes)')),
  },
  'expectations checked after the step; each is reported with expected vs actual',
));

const COMMON: Record<string, Field> = {
  op: req(str('the operation')),
  id: opt(name('a name for the step (mixedmap inspect --at ID)')),
  task: opt(name('the task (process) the step runs in; its first thread for thread operations')),
  thread: opt(name('the thread the step runs on (its task for task operations)')),
  note: opt(str('free text')),
  expect: opt(EXPECT),
};


const addrLen = (doc: string) => ({ doc, fields: { addr: req(address('start address')), length: req(size('length in bytes')) } });

export const STEP_SCHEMA: Schema = {
  kind: 'tagged',
  tag: 'op',
  doc: 'one operation; give either task or thread',
  common: COMMON,
  variants: {
    mmap: {
      doc: 'mmap(2); binds the returned address to `as`',
      fields: {
        length: req(size('length in bytes')),
        prot: req(list(enumOf(PROT_NAMES), 'PROT_* bits')),
        flags: req(list(enumOf(MAP_FLAG_NAMES), 'MAP_* flags')),
        file: opt(str('path to open (O_RDWR unless mode: rdonly) and map')),
        mode: opt(enumOf(['rdonly', 'rdwr'], 'open mode for `file`')),
        fd: opt(name('a file opened by an earlier open step (its `as`)')),
        offset: opt(size('file offset in bytes')),
        addr: opt(address('hint / MAP_FIXED address')),
        as: opt(symbol('binds the returned address to this symbol in the task')),
      },
    },
    munmap: addrLen('munmap(2)'),
    mprotect: {
      doc: 'mprotect(2)',
      fields: { addr: req(address('start address')), length: req(size('length in bytes')), prot: req(list(enumOf(PROT_NAMES), 'PROT_* bits')) },
    },
    mlock: addrLen('mlock(2)'),
    munlock: addrLen('munlock(2)'),
    read: { doc: 'a user load at addr (faults as needed)', fields: { addr: req(address('the address')) } },
    write: { doc: 'a user store at addr (faults as needed)', fields: { addr: req(address('the address')) } },
    fork: { doc: 'fork(2); the child becomes a task named `child`, inheriting the parent symbols', fields: { child: req(name('the child task name')) } },
    clone: { doc: 'a new thread sharing the task mm', fields: { name: req(name('the thread name')) } },
    exit: { doc: 'exit(2) of the task', fields: {} },
    open: {
      doc: 'open(2); the file is remembered under `as` for mmap fd:',
      fields: {
        path: req(str('the path')),
        mode: opt(enumOf(['rdonly', 'rdwr'], 'open mode (default rdwr)')),
        create: opt(bool('O_CREAT')),
        size: opt(size('size of a created file')),
        as: opt(name('name of the open file for later `fd:`')),
      },
    },
    truncate: { doc: 'truncate(2)', fields: { path: req(str('the path')), size: req(size('new size')) } },
    gup: {
      doc: 'get_user_pages on the thread mm',
      fields: {
        addr: req(address('start address')),
        pages: opt(int('number of pages (default 1)', 1)),
        write: opt(bool('write access')),
        force: opt(bool('force (ptrace)')),
      },
    },
    gup_fast: {
      doc: 'get_user_pages_fast',
      fields: { addr: req(address('start address')), pages: opt(int('number of pages (default 1)', 1)), write: opt(bool('write access')) },
    },
    put_pages: { doc: 'releases the pages the task pinned with gup', fields: {} },
    follow_page: {
      doc: 'follow_page(vma, addr, flags)',
      fields: { addr: req(address('the address')), flags: opt(list(enumOf(FOLL_FLAG_NAMES), 'FOLL_* flags')) },
    },
    move_pages: { doc: 'move_pages(2) status query for one address', fields: { addr: req(address('the address')) } },
    alloc_prefer: {
      doc: 'steers the page allocator: the next page allocation returns this free pfn (Machine.preferNextPage); ret = 1 when the pfn was free and is now next, 0 otherwise',
      fields: { pfn: req(hex('the pfn the next allocation should return')) },
    },
    madvise: {
      doc: 'madvise(2): dontneed zaps the range, populate_read/populate_write fault it in, dontfork/dofork set/clear VM_DONTCOPY (fork leaves the range out of the child), random/normal/sequential/willneed are hints',
      fields: {
        addr: req(address('start address')),
        length: req(size('length in bytes')),
        advice: req(enumOf(['normal', 'random', 'sequential', 'willneed', 'dontneed', 'populate_read', 'populate_write', 'dontfork', 'dofork'], 'MADV_* advice')),
      },
    },
    poke: { doc: 'a forced one-byte write through /proc/PID/mem (access_process_vm with FOLL_FORCE); EIO when nothing could be written', fields: { addr: req(address('the address')) } },
    peek: { doc: 'a one-byte read through /proc/PID/mem; EIO when nothing could be read', fields: { addr: req(address('the address')) } },
    access_process_vm: {
      doc: 'access_process_vm (ptrace PEEKDATA/POKEDATA, /proc/PID/mem): gup with force, else the vma ->access; ret = bytes',
      fields: { addr: req(address('start address')), length: opt(size('bytes to transfer (default 4)')), write: opt(bool('POKE instead of PEEK')) },
    },
  },
  fallback: {
    pattern: DRIVER_OP_PATTERN,
    patternHint: 'DRIVER.OP',
    doc: 'DRIVER.OP or ARCH.OP: a driver (or arch) operation (machine.driverOp); the other fields are its arguments: `addr`, `vma` and `at` are resolved as addresses, `size`, `length` and `offset` are parsed as sizes',
    fields: {
      addr: opt(address('an address argument (the step address), resolved before the call')),
      vma: opt(address('an address inside the vma the operation works on, resolved before the call')),
      at: opt(address('an address argument, resolved before the call')),
      size: opt(size('a size argument in bytes')),
      length: opt(size('a length argument in bytes')),
      offset: opt(size('an offset argument in bytes')),
    },
    additional: any('a driver operation argument'),
  },
};

export const DRIVER_ENTRY: Schema = oneOf(
  [
    str('a short name (pagecache|devmem|mspec|xip → @mixedmap/driver-NAME), a package name, or a path ./x.js relative to the scenario file'),
    obj({
      name: opt(str('short name or package name')),
      path: opt(str('path to the driver module, relative to the scenario file')),
      settings: opt(map('string', any(), 'driver settings')),
    }),
  ],
  'a driver plugin',
);

export const MACHINE_SCHEMA: Schema = obj(
  {
    arch: req(str('a short name (x86|s390|arm → @mixedmap/arch-NAME), a package name, or a path ./my-arch.js relative to the scenario file')),
    kernel: opt(str('kernel release "2.6.19" … "2.6.32" (default 2.6.32), or the modern profile "6.x"')),
    kernelOptions: opt(obj({
      debugVm: opt(bool('CONFIG_DEBUG_VM')),
      memcg: opt(bool('CONFIG_CGROUP_MEM_RES_CTLR')),
      variant: opt(list(str(), 'named seed variants (do_no_pfn-v1, do_no_pfn-sigbus, vm_normal_page-S000, zero-page-S003)')),
      features: opt(map('string', any(), 'what-if overrides of single kernel features')),
    })),
    archOptions: opt(map('string', any(), 'options the arch plugin declares')),
    memory: opt(obj({
      ram: opt(size('RAM size (default 64M)')),
      regions: opt(list(obj({
        name: req(name('region name')),
        start: req(hex('physical start address')),
        size: req(size('size in bytes')),
        kind: req(enumOf(REGION_KINDS)),
        structPages: opt(bool('whether the kernel creates struct pages for it')),
      }))),
    })),
    drivers: opt(list(DRIVER_ENTRY, 'driver plugins')),
    debug: opt(bool('run the invariant checker after every operation (default true)')),
  },
  'the machine to build',
);

export const SCENARIO_SCHEMA: Schema = obj(
  {
    name: req(str('scenario name')),
    description: opt(str('free text')),
    reference: opt(str('where the expected behaviour comes from, e.g. "kernel-semantics §5 B3"')),
    machine: req(MACHINE_SCHEMA),
    tasks: req(list(obj({
      name: req(name('process name; its first thread has the same name')),
      threads: opt(list(name('thread name'), 'extra threads sharing the mm')),
    }), 'processes at the start', 1)),
    steps: req(list(STEP_SCHEMA, 'the operations, in order')),
    expectLeaks: opt(bool('the scenario demonstrates a kernel bug that leaks frames or page tables (e.g. B8); leaks and invariant violations then do not fail the verdict')),
  },
  'a mixedmap scenario',
);

export const STEP_OPS = Object.keys((STEP_SCHEMA as Extract<Schema, { kind: 'tagged' }>).variants);

/** The JSON Schema (draft 2020-12) of the scenario format, as committed in docs/scenario.schema.json. */
export function scenarioJsonSchema(): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'mixedmap scenario',
    ...toJsonSchema(SCENARIO_SCHEMA),
  };
}
