// A small pfn device for arch tests: ->fault + vm_insert_mixed / vm_insert_pfn, or
// remap_pfn_range at mmap, over pfns the test picks. `ownPages` RAM pages are allocated at init
// and held by the driver (reported in kernelRefs), so the invariant checker can account for them.
// Plain JS with a .d.ts: shared tooling is not transpiled when loaded from node_modules.
import {
  defineDriver, vmInsertPfn, vmInsertMixed, remapPfnRange, VM_PFNMAP, VM_MIXEDMAP, VM_IO, VM_RESERVED, VM_MAYSHARE,
  VM_FAULT_NOPAGE, VM_FAULT_OOM, ENOMEM, EINVAL, PAGE_SIZE,
} from '@mixedmap/core';

export function device(s) {
  const d = defineDriver({
    name: 'dev',
    paths: () => ['/dev/x'],
    init(k) {
      const own = [];
      for (let i = 0; i < (s.ownPages ?? 0); i++) own.push(k.allocUserPage());
      return { own };
    },
    kernelRefs(_k, st, add) {
      for (const pfn of st.own) add(pfn, 1);
    },
    lookup: (k, _st, path) => k.inodes.get(path) ?? k.newInode(d, path, 1 << 30, null),
    mmap(k, st, _file, vma) {
      if (!s.allowPrivate && !(vma.flags & VM_MAYSHARE)) return -EINVAL;
      vma.flags |= s.flags ?? (s.mode === 'insert-mixed' ? VM_MIXEDMAP : VM_PFNMAP | VM_IO | VM_RESERVED);
      if (s.mode === 'remap') return remapPfnRange(k, vma, vma.start, s.pfnFor(vma.pgoff, st.own), vma.end - vma.start, vma.pageProt) < 0 ? -11 : 0;
      vma.ops = {
        name: `dev_${s.mode}_ops`,
        fault: (v, vmf, kk) => {
          const pfn = s.pfnFor(vmf.pgoff, st.own);
          const err = s.mode === 'insert-pfn' ? vmInsertPfn(kk, v, vmf.virtualAddress, pfn) : vmInsertMixed(kk, v, vmf.virtualAddress, pfn);
          return err === -ENOMEM ? VM_FAULT_OOM : VM_FAULT_NOPAGE;
        },
      };
      return 0;
    },
  });
  return d;
}

export function devState(k) {
  return k.drivers.find((x) => x.driver.name === 'dev').state;
}

export function mapDev(k, p, pages, prot, flags, offset = 0) {
  const o = k.open(p, '/dev/x');
  if (!o.file) throw new Error(`open: ${o.errno}`);
  const r = k.mmap(p, { length: pages * PAGE_SIZE, prot, flags, file: o.file, offset });
  if (r.addr === undefined) throw new Error(`mmap: ${r.errno}`);
  return r.addr;
}

/** Every op must leave the invariants intact unless the test says otherwise. */
export function clean(r) {
  if (r.violations?.length) throw new Error(`invariant violations: ${r.violations.join('; ')}`);
  return r;
}
