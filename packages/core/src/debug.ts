// The debug checker (on in every test): after each operation, every struct page's count and
// mapcount must equal the references the model can account for — ptes that vm_normal_page calls
// normal, gup pins, and the kernel's own (page cache, zero page, reserved, driver pools) — rss
// counters must match the ptes, and no pte may map a pfn without struct page as a normal page.

import { PAGE_SIZE, isCowMapping } from './constants.js';
import { vmNormalPage } from './memory.js';
import { PG_anon, PG_buddy, PG_reserved } from './page_alloc.js';
import type { Machine } from './machine.js';

/** Scratch arrays reused across checks (the checker runs after every operation). */
const scratch = new WeakMap<Machine, Int32Array>();

export function checkInvariants(k: Machine): string[] {
  const out: string[] = [];
  const m = k.mem;
  const n = m.count.length;
  let buf = scratch.get(k);
  if (!buf || buf.length < 3 * n) scratch.set(k, (buf = new Int32Array(3 * n)));
  else buf.fill(0, 0, 3 * n);
  const refs = buf.subarray(0, n);
  const maps = buf.subarray(n, 2 * n);
  const writable = buf.subarray(2 * n, 3 * n);
  const pte = k.pte;
  for (const mm of k.mms) {
    if (mm.users === 0) continue;
    let anon = 0;
    let file = 0;
    for (const vma of mm.vmas) {
      for (let a = vma.start; a < vma.end; a += PAGE_SIZE) {
        if (!mm.pt.lookup(a / PAGE_SIZE)) {
          const per = mm.pt.ptesPerTable * PAGE_SIZE;
          a = (Math.floor(a / per) + 1) * per - PAGE_SIZE;
          continue;
        }
        const lo = mm.pt.tbl[mm.pt.slot]!;
        const hi = mm.pt.tbl[mm.pt.slot + 1]!;
        if (pte.isNone(lo, hi) || !pte.present(lo)) continue;
        const page = vmNormalPage(k, vma, a, lo, hi);
        if (page < 0) continue;
        if (!k.hasStructPage(page)) {
          out.push(`mm${mm.id} 0x${a.toString(16)}: pte maps pfn 0x${page.toString(16)} without struct page as a normal page`);
          continue;
        }
        refs[page]!++;
        maps[page]!++;
        // writable by the MMU (a PROT_NONE pte is not, whatever its write bit: s390 PAGE_NONE, _PAGE_TYPE_NONE
        // 0x401, has no _PAGE_RO), in a COW vma: fork leaves a shared vma's anonymous pages writable in both
        if (pte.hwPresentBit(lo) && pte.write(lo) && isCowMapping(vma.flags)) writable[page]!++;
        if (m.flags[page]! & PG_anon) anon++;
        else file++;
      }
    }
    if (anon !== mm.anonRss) out.push(`mm${mm.id}: anon_rss ${mm.anonRss} but ${anon} anonymous ptes`);
    if (file !== mm.fileRss) out.push(`mm${mm.id}: file_rss ${mm.fileRss} but ${file} file ptes`);
    if (mm.ptlHolder !== 0) out.push(`mm${mm.id}: page-table lock still held by ${mm.ptlHolder}`);
  }
  k.kernelRefs((pfn, r) => {
    if (pfn >= 0 && pfn < n) refs[pfn]! += r;
  });
  const check = (pfn: number): void => {
    const flags = m.flags[pfn]!;
    if (flags & PG_buddy) {
      if (refs[pfn] !== 0 || maps[pfn] !== 0) out.push(`pfn 0x${pfn.toString(16)} is free but still referenced (${refs[pfn]} refs, ${maps[pfn]} ptes)`);
      return;
    }
    const base = flags & PG_reserved && pfn !== k.zeroPfn ? 1 : 0; // reserved pages keep their boot reference
    const want = refs[pfn]! + base;
    if (m.count[pfn] !== want) out.push(`pfn 0x${pfn.toString(16)}: page_count ${m.count[pfn]} but ${want} references accounted for`);
    if (m.mapcount[pfn]! + 1 !== maps[pfn]) out.push(`pfn 0x${pfn.toString(16)}: page_mapcount ${m.mapcount[pfn]! + 1} but ${maps[pfn]} ptes map it`);
    // COW: an anonymous page mapped more than once is never writable through a pte of a COW mapping
    if (flags & PG_anon && maps[pfn]! > 1 && writable[pfn]! > 0) out.push(`pfn 0x${pfn.toString(16)}: anonymous page shared by ${maps[pfn]} ptes is writable through ${writable[pfn]}`);
  };
  // every RAM page, plus any other memmap page something refers to (reserved pages, hot-plugged memory)
  for (const r of m.regions) {
    if (r.kind !== 'ram' || !r.structPages) continue;
    for (let pfn = r.startPfn; pfn < r.endPfn; pfn++) if (k.hasStructPage(pfn)) check(pfn);
  }
  for (let pfn = 0; pfn < n; pfn++) {
    if ((refs[pfn] !== 0 || maps[pfn] !== 0) && !isRam(k, pfn) && k.hasStructPage(pfn)) check(pfn);
  }
  return out;
}

function isRam(k: Machine, pfn: number): boolean {
  const r = k.mem.regionOf(pfn);
  return r !== undefined && r.kind === 'ram' && r.structPages;
}

/** After every task exited: pages still allocated that nobody accounts for, and page tables left. */
export function findLeaks(k: Machine): string[] {
  const out: string[] = [];
  const m = k.mem;
  const n = m.count.length;
  const held = new Uint8Array(n);
  k.kernelRefs((pfn) => {
    if (pfn >= 0 && pfn < n) held[pfn] = 1;
  });
  let leaked = 0;
  const sample: string[] = [];
  for (let pfn = 0; pfn < n; pfn++) {
    const flags = m.flags[pfn]!;
    if (flags & (PG_buddy | PG_reserved) || held[pfn] || !k.hasStructPage(pfn)) continue;
    if (m.count[pfn] === 0 && flags === 0) continue;
    leaked++;
    if (sample.length < 4) sample.push(`0x${pfn.toString(16)} (count ${m.count[pfn]}, mapcount ${m.mapcount[pfn]! + 1}${flags & PG_anon ? ', anon' : ''})`);
  }
  if (leaked) out.push(`${leaked} frame(s) leaked: ${sample.join(', ')}${leaked > sample.length ? ', …' : ''}`);
  for (const mm of k.mms) {
    if (mm.users > 0) continue;
    const extra = mm.pt.tableCount() - 1;
    if (extra > 0) out.push(`mm${mm.id}: ${extra} page-table page(s) not freed after exit`);
  }
  return out;
}
