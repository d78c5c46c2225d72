// XIP on an s390 DCSS before 2.6.26 (reference §2.17, §2.20): get_xip_page needs a memmap entry
// (virt_to_page), not pfn_valid.
import { describe, expect, test } from 'vitest';
import { createMachine, ConfigError, PROT_READ, MAP_PRIVATE, PAGE_SIZE as PS, type Machine } from '@mixedmap/core';
import s390 from '@mixedmap/arch-s390';
import xip from '../src/index.js';

const DCSS = 0x10000000; // 256 MiB, above the 64 MiB of storage
const DCSS_PFN = DCSS / PS;

// the invariant checker runs (debug on): it must accept struct pages that pfn_valid denies
function machine(kernel: string, archOptions: Record<string, unknown> = {}): Machine {
  return createMachine({
    arch: s390,
    kernel,
    archOptions: { segments: [{ name: 'xipimg', start: DCSS, size: 1 << 20, type: 'SR' }], ...archOptions },
    memory: { ram: 64 << 20 },
    drivers: [{ driver: xip, settings: { segment: 'xipimg', readOnly: true, files: [{ path: 'g', size: 3 * PS }] } }],
  });
}

describe('s390 2.6.25: a DCSS above max_pfn', () => {
  test('XIP works: the DCSS has struct pages (add_shared_memory) though pfn_valid is false; the page is mapped refcounted', () => {
    const k = machine('2.6.25');
    expect(k.pfnValid(DCSS_PFN)).toBe(false);
    const p = k.spawn('p');
    const o = k.open(p, '/mnt/xip/g', { write: false });
    const a = k.mmap(p, { length: 3 * PS, prot: PROT_READ, flags: MAP_PRIVATE, file: o.file! }).addr!;
    const count0 = k.mem.count[DCSS_PFN]!;
    const r = k.access(p.threads[0]!, a, false);
    expect(r.outcome).toBe('ok'); // was: Oops "virt_to_page() on XIP memory without struct page"
    expect(k.readPte(p, a).pfn).toBe(DCSS_PFN);
    expect(k.vmNormalPage(p, a)).toBe(DCSS_PFN); // Table A without CONFIG_DEBUG_VM: pfn_to_page
    expect(k.mem.count[DCSS_PFN]).toBe(count0 + 1);
    expect(k.mem.mapcount[DCSS_PFN]).toBe(0); // _mapcount -1 → 0: mapped once
    expect(k.rss(p)).toEqual({ file: 1, anon: 0 });
    expect(k.pageInfo(DCSS_PFN)).toMatchObject({ count: count0 + 1, mapcount: 1, pfnValid: false, reserved: true });
    k.exit(p);
    expect(k.mem.count[DCSS_PFN]).toBe(count0);
    expect(k.mem.mapcount[DCSS_PFN]).toBe(-1);
    // contrast 2.6.26: no struct pages any more, vm_insert_mixed puts in a special raw pte (no count)
    const n = machine('2.6.26');
    const q = n.spawn('q');
    const b = n.mmap(q, { length: 3 * PS, prot: PROT_READ, flags: MAP_PRIVATE, file: n.open(q, '/mnt/xip/g', { write: false }).file! }).addr!;
    expect(n.access(q.threads[0]!, b, false).outcome).toBe('ok');
    expect(n.readPte(q, b)).toMatchObject({ pfn: DCSS_PFN, special: true });
    expect(n.rss(q)).toEqual({ file: 0, anon: 0 });
  });
});

describe('dcssblk add (drivers/s390/block/dcssblk.c dcssblk_add_store, v2.6.19–v2.6.32)', () => {
  test('a second device for a segment that already has one is -EEXIST ("already loaded"), before segment_load', () => {
    for (const v of ['2.6.19', '2.6.26', '2.6.32']) {
      const cfg = {
        arch: s390,
        kernel: v,
        archOptions: { mem: 1 << 30, segments: [{ name: 'xipimg', start: DCSS, size: 1 << 20, type: 'SW' }] },
        memory: { ram: 64 << 20 },
        drivers: [
          { driver: xip, settings: { segment: 'xipimg', files: [{ path: 'f', size: 2 * PS }] } },
          { driver: xip, settings: { segment: 'XIPIMG', mount: '/mnt/b', files: [{ path: 'g', size: 2 * PS }] } },
        ],
      };
      expect(() => createMachine(cfg)).toThrow(ConfigError);
      expect(() => createMachine(cfg)).toThrow(/EEXIST/);
      // one device is fine, and segment_load counts one user
      const k = createMachine({ ...cfg, drivers: cfg.drivers.slice(0, 1) });
      expect(k.driverOp('s390', 'segment_info', { name: 'xipimg' }).reports.join()).toMatch(/ref_count 1/);
    }
  });
  test('the disk of an SR, ER or SC segment is read-only (set_disk_ro): a read-write mount is -EACCES (open_bdev_excl); SW, EW, SN, EN mount read-write', () => {
    const mount = (type: string, readOnly: boolean) => () => createMachine({
      arch: s390,
      kernel: '2.6.26',
      archOptions: { segments: [{ name: 'xipimg', start: DCSS, size: 1 << 20, type }] },
      memory: { ram: 64 << 20 },
      drivers: [{ driver: xip, settings: { segment: 'xipimg', readOnly, files: [{ path: 'g', size: 2 * PS }] } }],
    });
    for (const type of ['SR', 'ER', 'SC']) {
      expect(mount(type, false)).toThrow(/EACCES/);
      expect(mount(type, true)).not.toThrow();
    }
    for (const type of ['SW', 'EW', 'SN', 'EN']) expect(mount(type, false)).not.toThrow();
  });
});
