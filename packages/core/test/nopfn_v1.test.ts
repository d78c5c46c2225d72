// The seed's first do_no_pfn postings (S002 v1 2006-04-03, v2 04-04; variant `do_no_pfn-v1`) against
// the merged 2.6.19 form (v3/v4): v1 calls ->nopfn whenever the vma has one (v3 tries ->nopage first,
// at Nick Piggin's request), and its ->nopfn returns a signed long — -ENOMEM is OOM, any other
// negative (-EFAULT, …) SIGBUS — where the merged code has NOPFN_OOM / NOPFN_SIGBUS (Linus' request).
import { describe, expect, test } from 'vitest';
import {
  createMachine, defineDriver, nopfnError, EFAULT, ENOENT, ENOMEM, NOPFN_OOM, NOPFN_SIGBUS, NOPAGE_SIGBUS,
  VM_IO, VM_PFNMAP, VM_RESERVED, MAP_SHARED, PROT_READ, PAGE_SIZE as PS, type KernelOptions,
} from '@mixedmap/core';
import x86 from '@mixedmap/arch-x86';

const DEV_PFN = 0x80000;
const V1: KernelOptions = { variant: ['do_no_pfn-v1'] };

/** a PFNMAP driver with a ->nopfn that returns `ret` (a pfn or an error), and a ->nopage when `nopage` */
function both(ret: number, nopage: boolean) {
  return defineDriver({
    name: 'both',
    paths: () => ['/dev/both'],
    lookup: (k, _s, path) => k.inodes.get(path) ?? k.newInode(k.drivers.find((d) => d.driver.name === 'both')!.driver, path, 1 << 20, null),
    mmap(_k, _s, _f, vma) {
      vma.flags |= VM_PFNMAP | VM_IO | VM_RESERVED;
      vma.ops = { name: 'both_vm_ops', nopfn: () => ret, ...(nopage ? { nopage: () => NOPAGE_SIGBUS } : {}) };
      return 0;
    },
  });
}

function readOnce(kernelOptions: KernelOptions, ret: number, nopage = false) {
  const k = createMachine({
    arch: x86, kernel: '2.6.20', kernelOptions,
    memory: { ram: 16 << 20, regions: [{ name: 'dev', start: DEV_PFN * PS, size: 1 << 20, kind: 'device', structPages: false }] },
    drivers: [{ driver: both(ret, nopage) }],
  });
  const p = k.spawn('p');
  const a = k.mmap(p, { length: PS, prot: PROT_READ, flags: MAP_SHARED, file: k.open(p, '/dev/both').file! }).addr!;
  return { k, r: k.access(p.threads[0]!, a, false), pte: k.readPte(p, a) };
}

describe('do_no_pfn: the seed v1 posting against the merged code', () => {
  test('dispatch: v1 calls ->nopfn although the vma has a ->nopage; merged tries ->nopage first (here: the BUG_ON(VM_PFNMAP) of do_no_page)', () => {
    const v1 = readOnce(V1, DEV_PFN, true);
    expect(v1.r.outcome).toBe('ok');
    expect(v1.r.faults[0]!.chain).toEqual(['handle_mm_fault', 'handle_pte_fault', 'do_no_pfn', 'nopfn']);
    expect(v1.pte.pfn).toBe(DEV_PFN);
    const merged = readOnce({}, DEV_PFN, true);
    expect(merged.r.outcome).toBe('oops');
    expect(merged.r.oops!.chain).toContain('do_no_page');
  });

  test('errors: v1 takes -ENOMEM as OOM and -EFAULT or any other negative as SIGBUS; merged knows only NOPFN_OOM / NOPFN_SIGBUS', () => {
    expect(readOnce(V1, -ENOMEM).r.outcome).toBe('OOM');
    expect(readOnce(V1, -EFAULT).r.outcome).toBe('SIGBUS');
    expect(readOnce(V1, -ENOENT).r.outcome).toBe('SIGBUS'); // = NOPFN_OOM's value, but v1 has no NOPFN_* codes
    expect(readOnce({}, NOPFN_OOM).r.outcome).toBe('OOM');
    expect(readOnce({}, NOPFN_SIGBUS).r.outcome).toBe('SIGBUS');
  });

  test('nopfnError gives a driver the error codes of the kernel it runs on', () => {
    const { k: v1 } = readOnce(V1, DEV_PFN);
    const { k: merged } = readOnce({}, DEV_PFN);
    expect([nopfnError(v1, 'oom'), nopfnError(v1, 'sigbus')]).toEqual([-ENOMEM, -EFAULT]);
    expect([nopfnError(merged, 'oom'), nopfnError(merged, 'sigbus')]).toEqual([NOPFN_OOM, NOPFN_SIGBUS]);
  });
});
