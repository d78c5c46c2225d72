// pfn-demo: an out-of-tree driver written only against the public @mixedmap/core API. It plays the
// hypothetical drivers of the reference's worked scenarios (groups A–D): a ->nopfn driver (A),
// a remap_pfn_range driver like /dev/mem (B), ->fault + vm_insert_mixed / vm_insert_pfn (C, A14),
// and it exposes the insert API to scenarios as operations (D).
//
// settings:
//   node:         device path (default /dev/pfndemo)
//   mode:         nopfn | fault-insert-pfn | fault-insert-mixed | remap | none
//   vmFlags:      vm_flags names its mmap sets (default by mode: PFNMAP|IO|RESERVED, or MIXEDMAP)
//   region:       name of the memory region whose pfns it hands out (default: first device region)
//   pfns:         explicit pfn per page index (overrides region)
//   allowPrivate: accept MAP_PRIVATE (real pfn drivers refuse it); default false
//   nopfnReturns: pfn | oom | sigbus | refault (what ->nopfn returns)
import {
  defineDriver, vmInsertPfn, vmInsertMixed, vmInsertPage, remapPfnRange, zapVmaPtes,
  VM_PFNMAP, VM_MIXEDMAP, VM_IO, VM_RESERVED, VM_DONTEXPAND, VM_MAYSHARE, VM_FAULT_NOPAGE, VM_FAULT_OOM,
  NOPFN_REFAULT, EINVAL, ENOMEM, PAGE_SIZE, nopfnError,
} from '@mixedmap/core';

const FLAG_BITS = { VM_PFNMAP, VM_MIXEDMAP, VM_IO, VM_RESERVED, VM_DONTEXPAND };
const MODES = ['nopfn', 'fault-insert-pfn', 'fault-insert-mixed', 'remap', 'none'];

function pfnFor(k, s, index) {
  if (Array.isArray(s.pfns)) return s.pfns[index % s.pfns.length];
  const r = s.region ? k.mem.region(s.region) : k.mem.regions.find((x) => x.kind !== 'ram');
  return r.startPfn + index;
}

// The vma is the one at `vma` (an address inside it) when given, else the one at `addr`, so an
// insert at an address outside the vma (D4, D6, D7: -EFAULT) can be expressed.
function vmaAt(k, args) {
  const at = args.vma ?? args.addr;
  const vma = k.findVmaOf(args.task, at);
  if (!vma) throw new Error(`no vma at 0x${at.toString(16)}`);
  return vma;
}

const driver = defineDriver({
  name: 'pfndemo',
  paths: (s) => [s.node ?? '/dev/pfndemo'],
  validate(s) {
    const out = [];
    if (s.mode !== undefined && !MODES.includes(s.mode)) out.push({ field: 'mode', message: `mode must be one of ${MODES.join(', ')}` });
    for (const f of s.vmFlags ?? []) if (!(f in FLAG_BITS)) out.push({ field: 'vmFlags', message: `unknown vm_flag ${f} (known: ${Object.keys(FLAG_BITS).join(', ')})` });
    if (s.pfns !== undefined && (!Array.isArray(s.pfns) || s.pfns.some((p) => !Number.isInteger(p)))) out.push({ field: 'pfns', message: 'pfns must be a list of integers' });
    return out;
  },
  init(k, s) {
    if (!s.pfns && !(s.region ? k.mem.region(s.region) : k.mem.regions.find((x) => x.kind !== 'ram'))) {
      throw Object.assign(new Error(`pfndemo needs a device memory region${s.region ? ` named "${s.region}"` : ''} or a pfns list`), { field: s.region ? 'region' : 'pfns' });
    }
    return { settings: s };
  },
  lookup(k, state, path) {
    return k.newInode(driver, path, 1 << 30, null);
  },
  mmap(k, { settings: s }, _file, vma) {
    if (!s.allowPrivate && !(vma.flags & VM_MAYSHARE)) return -EINVAL;
    const mode = s.mode ?? 'nopfn';
    const flags = s.vmFlags ?? (mode === 'fault-insert-mixed' ? ['VM_MIXEDMAP'] : ['VM_PFNMAP', 'VM_IO', 'VM_RESERVED']);
    for (const f of flags) vma.flags |= FLAG_BITS[f];
    if (mode === 'remap') {
      return remapPfnRange(k, vma, vma.start, pfnFor(k, s, vma.pgoff), vma.end - vma.start, vma.pageProt) < 0 ? -11 : 0;
    }
    if (mode === 'nopfn') {
      vma.ops = {
        name: 'pfndemo_nopfn_ops',
        nopfn: (v, address) => {
          switch (s.nopfnReturns ?? 'pfn') {
            case 'oom': return nopfnError(k, 'oom'); // NOPFN_OOM (-ENOMEM under the seed's v1)
            case 'sigbus': return nopfnError(k, 'sigbus'); // NOPFN_SIGBUS (-EFAULT under v1)
            case 'refault': return NOPFN_REFAULT;
            default: return pfnFor(k, s, (address - v.start) / PAGE_SIZE + v.pgoff);
          }
        },
      };
    } else if (mode === 'fault-insert-pfn' || mode === 'fault-insert-mixed') {
      const insert = mode === 'fault-insert-pfn' ? vmInsertPfn : vmInsertMixed;
      vma.ops = {
        name: `pfndemo_${mode}_ops`,
        // like mspec_fault (2.6.27+): -EBUSY means another thread installed the pte first
        fault: (v, vmf, kk) => (insert(kk, v, vmf.virtualAddress, pfnFor(kk, s, vmf.pgoff)) === -ENOMEM ? VM_FAULT_OOM : VM_FAULT_NOPAGE),
      };
    }
    return 0;
  },
  operations: {
    insert_pfn: (k, _st, a) => vmInsertPfn(k, vmaAt(k, a), a.addr, a.pfn),
    insert_mixed: (k, _st, a) => vmInsertMixed(k, vmaAt(k, a), a.addr, a.pfn),
    insert_page: (k, _st, a) => vmInsertPage(k, vmaAt(k, a), a.addr, a.pfn),
    remap_pfn_range: (k, _st, a) => {
      const vma = vmaAt(k, a);
      return remapPfnRange(k, vma, a.addr, a.pfn, a.size ?? PAGE_SIZE, vma.pageProt);
    },
    zap_vma_ptes: (k, _st, a) => zapVmaPtes(k, vmaAt(k, a), a.addr, a.size ?? PAGE_SIZE),
  },
});

export default driver;
