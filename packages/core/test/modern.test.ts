// The "6.x" profile (docs/kernel-6x.md): the rules `mixedmap oracle` compares with the live kernel.
import { describe, expect, test } from 'vitest';
import { MADV_DONTNEED, MADV_POPULATE_WRITE, MADV_RANDOM, MAP_POPULATE, MAP_ANONYMOUS, resolveFeatures } from '@mixedmap/core';
import { machine, mapFile, anon, clean, PROT_READ, PROT_WRITE, MAP_PRIVATE, MAP_SHARED, PAGE_SIZE as PS } from './fixtures/machines.js';

const RW = PROT_READ | PROT_WRITE;

describe('kernel "6.x"', () => {
  test('parses as the modern profile', () => {
    const f = resolveFeatures('6.x');
    expect([f.epoch, f.zeroPage, f.forkCopy, f.populateWrite, f.faultAround, f.forceWriteShared, f.hasNopfn]).toEqual(['modern', 'special', 'modern', 'private-writable', 16, false, false]);
    expect(machine('6.x').arch.structPageSize).toBe(64);
  });

  test('a private anonymous read maps the special zero pte; fork skips a read-only-touched vma', () => {
    const k = machine('6.x');
    const p = k.spawn('p');
    const a = anon(k, p, 2);
    clean(k.access(p.threads[0]!, a, false));
    expect(k.readPte(p, a)).toMatchObject({ special: true, pfn: k.zeroPfn });
    const c = clean(k.fork(p, 'c')).child!;
    expect(k.readPte(c, a).none).toBe(true);
  });

  test('fork copies a VM_MIXEDMAP vma without anon_vma (vma_needs_copy), which 2.6 skipped', () => {
    for (const [v, copied] of [['2.6.32', false], ['6.x', true]] as const) {
      const k = machine(v, { dev: { mode: 'insert-mixed' } });
      const p = k.spawn('p');
      const a = mapFile(k, p, '/dev/testdev', 1, PROT_READ, MAP_SHARED, false);
      clean(k.access(p.threads[0]!, a, false));
      const c = clean(k.fork(p, 'c')).child!;
      expect(k.readPte(c, a).none).toBe(!copied);
    }
  });

  test('MAP_POPULATE on a private writable mapping write-faults (zero page replaced by anon); on MAP_SHARED it reads', () => {
    const k = machine('6.x');
    const p = k.spawn('p');
    const r = clean(k.mmap(p, { length: 2 * PS, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE }));
    expect(k.rss(p).anon).toBe(2);
    expect(k.readPte(p, r.addr!)).toMatchObject({ special: false, write: true });
    const o = k.open(p, '/tmp/f', { write: true });
    const s = clean(k.mmap(p, { length: 2 * PS, prot: RW, flags: MAP_SHARED | MAP_POPULATE, file: o.file! }));
    expect(k.readPte(p, s.addr!)).toMatchObject({ present: true, dirty: false });
    // 2.6 make_pages_present wrote into the shared mapping
    const k26 = machine('2.6.32');
    const q = k26.spawn('q');
    const o2 = k26.open(q, '/tmp/f', { write: true });
    const s2 = clean(k26.mmap(q, { length: 2 * PS, prot: RW, flags: MAP_SHARED | MAP_POPULATE, file: o2.file! }));
    expect(k26.readPte(q, s2.addr!).dirty).toBe(true);
  });

  test('fault-around maps the cached pages of the aligned 16-page window, clipped to the vma and EOF; MADV_RANDOM keeps it', () => {
    const k = machine('6.x');
    const p = k.spawn('p');
    const o = k.open(p, '/tmp/big', { write: true, create: true, size: 20 * PS });
    expect(o.outcome).toBe('ok');
    // fill the page cache through a shared mapping in another process
    const q = k.spawn('q');
    const b = mapFile(k, q, '/tmp/big', 20, RW, MAP_SHARED);
    for (let i = 0; i < 20; i++) clean(k.access(q.threads[0]!, b + i * PS, true));
    const a = clean(k.mmap(p, { length: 24 * PS, prot: PROT_READ, flags: MAP_PRIVATE, file: o.file! })).addr!;
    clean(k.madvise(p, a, 24 * PS, MADV_RANDOM));
    const r = clean(k.access(p.threads[0]!, a + 17 * PS, false));
    expect(r.faults[0]!.chain).toContain('do_fault_around');
    const mapped = Array.from({ length: 24 }, (_, i) => !k.readPte(p, a + i * PS).none);
    expect(mapped).toEqual(Array.from({ length: 24 }, (_, i) => i >= 16 && i < 20)); // window 16–31, EOF at 20
    expect(k.rss(p).file).toBe(4);
  });

  test('forced writes through /proc/self/mem: private read-only COWs without a writable pte; shared read-only is EIO', () => {
    const k = machine('6.x');
    const p = k.spawn('p');
    const a = mapFile(k, p, '/tmp/f', 1, PROT_READ, MAP_PRIVATE);
    expect(clean(k.procMem(p.threads[0]!, a, true)).ret).toBe(1);
    expect(k.readPte(p, a)).toMatchObject({ write: false });
    expect(k.rss(p)).toEqual({ file: 0, anon: 1 });
    const s = mapFile(k, p, '/tmp/f', 1, PROT_READ, MAP_SHARED, false);
    expect(k.procMem(p.threads[0]!, s, true).errno).toBe('EIO');
    const w = mapFile(k, p, '/tmp/f', 1, PROT_READ, MAP_SHARED, true);
    expect(k.procMem(p.threads[0]!, w, true).errno).toBe('EIO'); // VM_MAYWRITE but not a COW mapping
    const k26 = machine('2.6.32');
    const q = k26.spawn('q');
    const w26 = mapFile(k26, q, '/tmp/f', 1, PROT_READ, MAP_SHARED, true);
    expect(k26.procMem(q.threads[0]!, w26, true).ret).toBe(1); // 2.6 let FOLL_FORCE write there
  });

  test('MADV_DONTNEED drops anonymous pages; MADV_POPULATE_WRITE faults them back writable', () => {
    const k = machine('6.x');
    const p = k.spawn('p');
    const a = anon(k, p, 2);
    clean(k.access(p.threads[0]!, a, true));
    const free = k.mem.freeCount();
    clean(k.madvise(p, a, 2 * PS, MADV_DONTNEED));
    expect(k.readPte(p, a).none).toBe(true);
    expect(k.mem.freeCount()).toBe(free + 1);
    clean(k.madvise(p, a, 2 * PS, MADV_POPULATE_WRITE));
    expect(k.rss(p).anon).toBe(2);
    expect(k.madvise(p, a + 8 * PS, PS, MADV_DONTNEED).errno).toBe('ENOMEM');
  });

  test('exclusive anonymous pages: a forced write needs one fault, mprotect rw→r→rw gives the write bit back (6.x only)', async () => {
    const { PROT_READ: R } = await import('@mixedmap/core');
    for (const [v, faults, writable] of [['2.6.32', 2, false], ['6.x', 1, true]] as const) {
      const k = machine(v);
      const p = k.spawn('p');
      const a = anon(k, p, 1, R);
      expect(clean(k.procMem(p.threads[0]!, a, true)).faults).toHaveLength(faults);
      const b = anon(k, p, 1);
      clean(k.access(p.threads[0]!, b, true));
      clean(k.mprotect(p, b, PS, R));
      clean(k.mprotect(p, b, PS, RW));
      expect(k.readPte(p, b).write).toBe(writable);
    }
  });

  test('MADV_POPULATE_WRITE on a read-only mapping is EINVAL', () => {
    const k = machine('6.x');
    const p = k.spawn('p');
    const a = anon(k, p, 1, PROT_READ);
    expect(k.madvise(p, a, PS, MADV_POPULATE_WRITE).errno).toBe('EINVAL');
  });
});
