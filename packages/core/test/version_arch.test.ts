// The kernel version knob (§0.3) and the arch contract's load-time validation.
import { describe, expect, test } from 'vitest';
import { resolveFeatures, parseKernelVersion, epochOf, resolveArch, createMachine, ConfigError, type ArchSpec } from '@mixedmap/core';
import x86 from '@mixedmap/arch-x86';

describe('kernel versions', () => {
  test('release strings and epochs E1–E5', () => {
    expect(parseKernelVersion('2.6.26')).toBe(26);
    expect(parseKernelVersion('2.6.31.3')).toBe(31);
    expect(parseKernelVersion('2.6.18')).toBeUndefined();
    expect(parseKernelVersion('3.0')).toBeUndefined();
    expect([19, 22, 23, 25, 26, 27, 31, 32].map(epochOf)).toEqual(['E1', 'E1', 'E2', 'E2', 'E3', 'E4', 'E4', 'E5']);
  });
  test('feature table: dispatch handlers, zero page, vm_normal_page table per release', () => {
    const f20 = resolveFeatures('2.6.20');
    expect([f20.hasNopage, f20.hasFault, f20.hasNopfn, f20.nopfnRefault, f20.zeroPage, f20.vmNormalPage]).toEqual([true, false, true, false, 'refcounted', 'A']);
    const f26 = resolveFeatures('2.6.26');
    expect([f26.hasNopage, f26.hasFault, f26.hasNopfn, f26.mixedmap, f26.zeroPage, f26.vmNormalPage]).toEqual([false, true, true, true, 'none', 'B']);
    const f32 = resolveFeatures('2.6.32');
    expect([f32.hasNopfn, f32.zeroPage, f32.vmNormalPage, f32.gupFastApi]).toEqual([false, 'special', 'D', true]);
    expect(resolveFeatures('2.6.28').cowMunlock).toBe('oops-on-null');
    expect(['2.6.27', '2.6.28', '2.6.31', '2.6.32'].map((v) => resolveFeatures(v).cowMunlockBeforeCopy)).toEqual([false, true, true, false]);
  });
  test('variants and what-if features are validated', () => {
    expect(resolveFeatures('2.6.20', { variant: ['do_no_pfn-v1'] }).doNoPfn).toBe('v1');
    expect(() => resolveFeatures('2.6.27', { variant: ['do_no_pfn-v1'] })).toThrow(/nopfn/);
    expect(() => resolveFeatures('2.6.27', { variant: ['nope' as never] })).toThrow(/unknown kernel variant/);
    expect(resolveFeatures('2.6.26', { features: { wpReuseSharedNoPage: false } }).wpReuseSharedNoPage).toBe(false);
    expect(() => resolveFeatures('2.6.26', { features: { bogus: 1 } })).toThrow(/unknown kernel feature/);
    expect(() => resolveFeatures('2.6.26', { features: { mixedmap: 'yes' } })).toThrow(/takes a boolean/);
    expect(() => createMachine({ arch: x86, kernel: '2.6.99' })).toThrow(ConfigError);
  });
  test('the S003 zero page needs pte_special: refused where the arch has none (x86 before 2.6.27)', () => {
    const s003 = (kernel: string) => () => createMachine({ arch: x86, kernel, kernelOptions: { variant: ['zero-page-S003'] } });
    expect(s003('2.6.31')().f.zeroPage).toBe('s003');
    expect(s003('2.6.26')).toThrow(expect.objectContaining({ field: 'kernelOptions.variant', message: expect.stringMatching(/needs an arch with pte_special/) }));
  });
});

describe('x86', () => {
  test('_PAGE_SPECIAL is bit 9 from 2.6.27 and absent before; pte_modify keeps it from 2.6.27', () => {
    const a26 = resolveArch(x86, resolveFeatures('2.6.26'));
    const a27 = resolveArch(x86, resolveFeatures('2.6.27'));
    expect([a26.hasPteSpecial, a26.layout.special]).toEqual([false, 0]);
    expect([a27.hasPteSpecial, a27.layout.special]).toEqual([true, 0x200]);
    expect(a27.layout.chgMask & 0x200).toBe(0x200);
  });
  test('_PAGE_PROTNONE moved from the PSE bit (7) to the GLOBAL bit (8) in 2.6.29; a PROT_NONE pte stays pte_present', async () => {
    const { pageProtnone } = await import('@mixedmap/arch-x86');
    expect([28, 29].map(pageProtnone)).toEqual([0x80, 0x100]);
    for (const [v, bit] of [['2.6.28', 0x80], ['2.6.29', 0x100]] as const) {
      const k = createMachine({ arch: x86, kernel: v });
      const p = k.spawn('p');
      const { addr } = k.mmap(p, { length: 4096, prot: 3, flags: 0x22 });
      k.access(p.threads[0]!, addr!, true);
      k.mprotect(p, addr!, 4096, 0);
      const pte = k.readPte(p, addr!);
      expect([pte.present, (pte.lo & 1) === 0, (pte.lo & bit) !== 0]).toEqual([true, true, true]);
    }
  });

  test('geometry, struct page size and pfn_valid: 64-bit sparse vs 32-bit flat', () => {
    const k64 = createMachine({ arch: x86, kernel: '2.6.26', memory: { ram: 32 << 20 } });
    expect(k64.arch.levels).toEqual([512, 512, 512, 512]);
    expect(k64.arch.structPageSize).toBe(56);
    expect(k64.pfnValid(0xa0)).toBe(true); // the ISA hole lies in a present section
    const k32 = createMachine({ arch: x86, kernel: '2.6.26', archOptions: { bits: 32 }, memory: { ram: 32 << 20 } });
    expect(k32.arch.levels).toEqual([1024, 1024]);
    expect(k32.arch.structPageSize).toBe(32);
    expect(k32.pfnValid(0xa0)).toBe(true); // flat: everything below max_mapnr
    expect(k32.pfnValid(0x2000)).toBe(false);
    expect(k32.mem.memMapBytes()).toBe((32 << 20) / 4096 * 32);
    const memcg = createMachine({ arch: x86, kernel: '2.6.26', kernelOptions: { memcg: true } });
    expect(memcg.arch.structPageSize).toBe(64);
  });
  test('the 32-bit layout runs faults too', () => {
    const k = createMachine({ arch: x86, kernel: '2.6.32', archOptions: { bits: 32 } });
    const p = k.spawn('p');
    const { addr } = k.mmap(p, { length: 4096, prot: 3, flags: 0x22 });
    expect(k.access(p.threads[0]!, addr!, true).outcome).toBe('ok');
    expect(k.readPte(p, addr!).write).toBe(true);
  });
});

describe('arch plugins are validated when loaded', () => {
  const f = resolveFeatures('2.6.27');
  const bad = (patch: Partial<ArchSpec>) => () => resolveArch({ ...x86, ...patch } as ArchSpec, f);
  test('a missing hook names the plugin and the field', () => {
    expect(bad({ pteLayout: undefined as never })).toThrow(/arch "x86": pteLayout: missing hook/);
  });
  test('a mask overlapping the pfn field', () => {
    expect(bad({ pteLayout: (ff, o) => ({ ...x86.pteLayout(ff, o), special: 1 << 20 }) })).toThrow(/overlaps the pfn field/);
  });
  test('an inconsistent geometry', () => {
    expect(bad({ levels: () => [512, 500] })).toThrow(/not a power of two/);
    expect(bad({ levels: () => [512] })).toThrow(/2 to 5 levels/);
  });
  test('hasPteSpecial without a special bit', () => {
    expect(bad({ pteLayout: (ff, o) => ({ ...x86.pteLayout(ff, o), special: 0 }) })).toThrow(/pteLayout.special is 0/);
  });
  test('through createMachine it is a ConfigError with the field', () => {
    try {
      createMachine({ arch: { ...x86, name: 'broken', levels: () => [3, 3] } as ArchSpec });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).field).toBe('arch.levels');
    }
  });
});
