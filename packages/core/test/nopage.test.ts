// ->nopage's special returns by release (§2.3): NOPAGE_REFAULT exists up to 2.6.22 (do_no_page returns
// with nothing installed and the access faults again); 2.6.23 removed it from include/linux/mm.h
// together with do_no_page, so a driver for 2.6.23+ could not return it — the model says so as an Oops
// at the call, like the other "does not exist in this release" driver calls.
import { describe, expect, test } from 'vitest';
import { createMachine, defineDriver, MAP_SHARED, NOPAGE_REFAULT, NOPAGE_SIGBUS, PROT_READ, PAGE_SIZE as PS } from '@mixedmap/core';
import x86 from '@mixedmap/arch-x86';

/** ->nopage answers NOPAGE_REFAULT once, then NOPAGE_SIGBUS */
const refaultOnce = defineDriver({
  name: 'refault-once',
  paths: () => ['/dev/refault'],
  lookup: (k, _s, path) => k.inodes.get(path) ?? k.newInode(k.drivers.find((d) => d.driver.name === 'refault-once')!.driver, path, 1 << 20, null),
  mmap(_k, _s, _f, vma) {
    let calls = 0;
    vma.ops = { name: 'refault_vm_ops', nopage: () => (calls++ === 0 ? NOPAGE_REFAULT : NOPAGE_SIGBUS) };
    return 0;
  },
});

function readOnce(kernel: string) {
  const k = createMachine({ arch: x86, kernel, memory: { ram: 16 << 20 }, drivers: [{ driver: refaultOnce }] });
  const p = k.spawn('p');
  const a = k.mmap(p, { length: PS, prot: PROT_READ, flags: MAP_SHARED, file: k.open(p, '/dev/refault').file! }).addr!;
  return k.access(p.threads[0]!, a, false);
}

describe('->nopage NOPAGE_REFAULT by release', () => {
  test('2.6.20–2.6.22: nothing is installed, the access faults again (here the second ->nopage says SIGBUS)', () => {
    for (const v of ['2.6.20', '2.6.22']) {
      const r = readOnce(v);
      expect(r.outcome, v).toBe('SIGBUS');
      expect(r.faults.map((f) => f.chain.filter((n) => n === 'nopage').length), v).toEqual([1, 1]);
    }
  });

  test('2.6.23+: NOPAGE_REFAULT no longer exists — an Oops naming it, in ->nopage under __do_fault', () => {
    for (const v of ['2.6.23', '2.6.25']) {
      const r = readOnce(v);
      expect(r.outcome, v).toBe('oops');
      expect(r.oops!.condition, v).toMatch(/NOPAGE_REFAULT does not exist from 2\.6\.23/);
      expect(r.oops!.chain, v).toEqual(expect.arrayContaining(['__do_fault', 'nopage']));
    }
  });
});
