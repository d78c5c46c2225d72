// x86's boot memory is the PC's e820 map: RAM below the ISA hole (0–0x9FFFF) and from 1 MiB up to
// memory.ram. The smallest machine (memory.ram = 1 MiB) has only the 640 KiB below the hole.
import { describe, expect, test } from 'vitest';
import { createMachine, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, PAGE_SIZE as PS } from '@mixedmap/core';
import x86 from '../src/index.js';

describe('x86 boot memory (e820)', () => {
  test('memory.ram = 1 MiB: only the 640 KiB below the ISA hole, and a fault gets a page from it', () => {
    const k = createMachine({ arch: x86, kernel: '2.6.32', memory: { ram: 1 << 20 } });
    expect(k.mem.regions.map((r) => [r.name, r.start, r.size])).toEqual([['ram-low', 0, 0xa0000]]);
    const p = k.spawn('p');
    const a = k.mmap(p, { length: PS, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS }).addr!;
    expect(k.access(p.threads[0]!, a, true).outcome).toBe('ok');
    expect(k.readPte(p, a).pfn).toBeLessThan(0xa0);
  });

  test('above 1 MiB: the low 640 KiB and RAM from 1 MiB to memory.ram; x86-64 pfn_valid is per 128 MiB sparsemem section, holes included', () => {
    const k = createMachine({ arch: x86, kernel: '2.6.32', memory: { ram: 4 << 20 } });
    expect(k.mem.regions.map((r) => [r.name, r.start, r.size])).toEqual([['ram-low', 0, 0xa0000], ['ram', 0x100000, 3 << 20]]);
    expect([k.pfnValid(0x9f), k.pfnValid(0xa0), k.pfnValid(0x3ff), k.pfnValid(0x7fff), k.pfnValid(0x8000)]).toEqual([true, true, true, true, false]);
  });
});
