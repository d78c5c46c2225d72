// Physical memory: frames, the mem_map (struct page as a struct of typed arrays), pfn_valid, and
// the page allocator. Page contents are not stored: each frame has a content-generation id, enough
// to show that a COW copy carries the data (design notes §3). Reference §1.4, §1.5, §4.1.

import { PAGE_SHIFT } from './constants.js';

// struct page flags (subset of include/linux/page-flags.h; values are the model's own)
export const PG_locked = 1 << 0;
export const PG_reserved = 1 << 1;
export const PG_anon = 1 << 2; // mapping & PAGE_MAPPING_ANON
export const PG_dirty = 1 << 3;
export const PG_mlocked = 1 << 4;
export const PG_uncached = 1 << 5;
export const PG_lru = 1 << 6;
export const PG_referenced = 1 << 7;
export const PG_buddy = 1 << 8; // free in the allocator
/**
 * PageAnonExclusive (PG_anon_exclusive, 5.19 6c287605fd56 [UNVERIFIED]; the model's "6.x" profile
 * only): this anonymous page is mapped by one process alone, so mprotect and a forced gup write may
 * give or use write access without a write fault. Set on a new anonymous page and on do_wp_page's
 * reuse, cleared when fork shares the page; nothing sets it back when the other mapper goes.
 */
export const PG_anon_exclusive = 1 << 9;

export const PAGE_FLAG_NAMES: ReadonlyArray<[number, string]> = [
  [PG_locked, 'locked'], [PG_reserved, 'reserved'], [PG_anon, 'anon'], [PG_dirty, 'dirty'],
  [PG_mlocked, 'mlocked'], [PG_uncached, 'uncached'], [PG_lru, 'lru'], [PG_referenced, 'referenced'],
  [PG_buddy, 'buddy'], [PG_anon_exclusive, 'anon_exclusive'],
];

export type RegionKind = 'ram' | 'device' | 'flash' | 'segment';

export interface MemRegionConfig {
  name: string;
  /** physical start address in bytes (page aligned) */
  start: number;
  /** size in bytes (page aligned) */
  size: number;
  kind: RegionKind;
  /** whether the kernel creates struct pages for it (RAM: yes) */
  structPages: boolean;
}

export interface MemRegion extends MemRegionConfig {
  startPfn: number;
  endPfn: number; // exclusive
  /** content generation of frames without struct page (struct-page frames use MemoryModel.gen) */
  gen: Uint32Array | undefined;
}

export const NO_MAPPING = -1;

/** Grows a typed array, keeping its contents. */
function grow<T extends Int32Array | Uint32Array | Uint8Array>(a: T, n: number, fill = 0): T {
  if (a.length >= n) return a;
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  if (fill !== 0) b.fill(fill as never, a.length);
  return b;
}

export class MemoryModel {
  readonly regions: MemRegion[] = [];
  /** highest pfn that has a struct page (highest_memmap_pfn) */
  highestMemmapPfn = -1;
  /** mem_map, indexed by pfn, sized highestMemmapPfn + 1 */
  count = new Int32Array(0);
  /** _mapcount as the kernel stores it: -1 = unmapped */
  mapcount = new Int32Array(0);
  flags = new Uint32Array(0);
  /** page->mapping: an address_space id, an anon_vma id (with PG_anon), or NO_MAPPING */
  mapping = new Int32Array(0);
  /**
   * The modern profile's mlock accounting (k.f.mlockCount, swap.ts): the pages on the unevictable
   * list with their folio->mlock_count, and the CPU's lru_add batch (pfns) and mlock batch
   * (pfn * 4 + kind) not yet processed
   */
  readonly mlockCount = new Map<number, number>();
  lruAddBatch: number[] = [];
  mlockBatch: number[] = [];
  /** page->index: file offset in pages */
  index = new Uint32Array(0);
  /** content generation id per struct-page frame */
  gen = new Uint32Array(0);
  /** which pfns have struct pages: per section (sparse), or per pfn range (flat/banks) */
  private sectionPresent = new Uint8Array(0);
  private freeStack = new Uint32Array(0);
  private freeTop = 0;
  /** pages handed out minus pages freed */
  allocated = 0;
  /** bumped to give every write a fresh content id */
  private genCounter = 0;
  /** the allocator refuses after this many allocations (fault injection: OOM) */
  allocLimit = Infinity;

  constructor(
    readonly kind: 'flat' | 'sparse' | 'banks',
    readonly sectionShift: number,
    readonly structPageSize: number,
    /** whether the profile keeps the mlock state above (k.f.mlockCount): only then must a freed page leave it */
    readonly tracksMlock = false,
  ) {}

  /** Adds a region at boot or at run time (hot plug). Struct pages are created when asked. */
  addRegion(cfg: MemRegionConfig): MemRegion {
    const startPfn = Math.floor(cfg.start / 4096);
    const endPfn = startPfn + Math.floor(cfg.size / 4096);
    for (const r of this.regions) {
      if (startPfn < r.endPfn && r.startPfn < endPfn) throw new RangeError(`region "${cfg.name}" overlaps "${r.name}"`);
    }
    // fields named one by one: a spread of the caller's config gave every region of a new machine a
    // fresh hidden class, and regionOf (readGen/setGen on memory without struct pages) went megamorphic
    const region: MemRegion = {
      name: cfg.name, start: cfg.start, size: cfg.size, kind: cfg.kind, structPages: cfg.structPages,
      startPfn, endPfn, gen: cfg.structPages ? undefined : new Uint32Array(endPfn - startPfn),
    };
    this.regions.push(region);
    this.regions.sort((a, b) => a.startPfn - b.startPfn);
    if (cfg.structPages) this.createStructPages(region);
    return region;
  }

  /** Removes a hot-plugged region. Struct pages created for it stay allocated but unreachable (§2.20). */
  removeRegion(name: string): MemRegion | undefined {
    const i = this.regions.findIndex((r) => r.name === name);
    if (i < 0) return undefined;
    const [r] = this.regions.splice(i, 1);
    if (r!.structPages) this.setPresent(r!.startPfn, r!.endPfn, 0);
    return r;
  }

  private createStructPages(r: MemRegion): void {
    // sparsemem allocates the memmap of a whole section; flat and banks up to the region's end
    const arrEnd = this.kind === 'sparse' ? (((r.endPfn - 1) >> this.sectionShift) + 1) << this.sectionShift : r.endPfn;
    const old = this.count.length;
    if (arrEnd > old) {
      this.count = grow(this.count, arrEnd);
      this.mapcount = grow(this.mapcount, arrEnd, -1);
      this.flags = grow(this.flags, arrEnd);
      this.mapping = grow(this.mapping, arrEnd, NO_MAPPING);
      this.index = grow(this.index, arrEnd);
      this.gen = grow(this.gen, arrEnd);
      // memmap entries without RAM behind them (flat holes, section tails) are reserved pages
      this.reserveRange(old, arrEnd);
    }
    if (r.endPfn - 1 > this.highestMemmapPfn) this.highestMemmapPfn = r.endPfn - 1;
    this.setPresent(r.startPfn, r.endPfn, 1);
    if (r.kind === 'ram') {
      const n = r.endPfn - r.startPfn;
      this.freeStack = grow(this.freeStack, this.freeTop + n);
      this.flags.fill(PG_buddy, r.startPfn, r.endPfn);
      this.count.fill(0, r.startPfn, r.endPfn);
      // the lowest free pfn stays on top: a region above every free page goes to the bottom
      const stack = this.freeStack;
      if (this.freeTop === 0 || stack[0]! < r.startPfn) {
        stack.copyWithin(n, 0, this.freeTop);
        for (let i = 0; i < n; i++) stack[i] = r.endPfn - 1 - i;
        this.freeTop += n;
      } else {
        for (let pfn = r.endPfn - 1; pfn >= r.startPfn; pfn--) stack[this.freeTop++] = pfn;
        const top = stack.subarray(0, this.freeTop);
        top.sort();
        top.reverse();
      }
    } else {
      this.reserveRange(r.startPfn, r.endPfn);
    }
  }

  private reserveRange(from: number, to: number): void {
    this.flags.fill(PG_reserved, from, to);
    this.count.fill(1, from, to); // reserved pages hold a boot-time reference and are never freed
    this.mapcount.fill(-1, from, to);
  }

  /** The pfn has a slot in the mem_map arrays (pfn_to_page would not fault). */
  inMemmap(pfn: number): boolean {
    return pfn >= 0 && pfn < this.count.length;
  }

  private setPresent(start: number, end: number, v: 0 | 1): void {
    if (this.kind === 'sparse') {
      const s0 = start >> this.sectionShift;
      const s1 = (end - 1) >> this.sectionShift;
      this.sectionPresent = grow(this.sectionPresent, s1 + 1);
      for (let s = s0; s <= s1; s++) this.sectionPresent[s] = v;
    } else {
      this.sectionPresent = grow(this.sectionPresent, end);
      this.sectionPresent.fill(v, start, end);
      if (this.kind === 'flat' && v === 1) this.sectionPresent.fill(1, 0, end); // flat: everything below max_mapnr
    }
  }

  /** Generic pfn_valid: the pfn has a struct page (§1.5). Flat: pfn < max_mapnr; sparse: section present; banks: inside a bank. */
  pfnValid(pfn: number): boolean {
    if (pfn < 0 || pfn >= this.count.length) return false;
    if (this.kind === 'sparse') return this.sectionPresent[pfn >> this.sectionShift] === 1;
    return this.sectionPresent[pfn] === 1;
  }

  /** Number of struct pages that exist (mem_map entries reachable through pfn_valid). */
  structPageCount(): number {
    if (this.kind === 'sparse') {
      let n = 0;
      for (let s = 0; s < this.sectionPresent.length; s++) if (this.sectionPresent[s]) n += 1 << this.sectionShift;
      return n;
    }
    let n = 0;
    for (let i = 0; i < this.sectionPresent.length; i++) n += this.sectionPresent[i]!;
    return n;
  }

  /** Bytes the mem_map costs (struct pages × sizeof(struct page)). */
  memMapBytes(): number {
    return this.structPageCount() * this.structPageSize;
  }

  regionOf(pfn: number): MemRegion | undefined {
    const rs = this.regions;
    let lo = 0;
    let hi = rs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = rs[mid]!;
      if (pfn < r.startPfn) hi = mid - 1;
      else if (pfn >= r.endPfn) lo = mid + 1;
      else return r;
    }
    return undefined;
  }

  region(name: string): MemRegion | undefined {
    return this.regions.find((r) => r.name === name);
  }

  // ---- page allocator (alloc_page / __free_page) ----

  /** Allocates a zeroed page with count 1; -1 when memory is exhausted (the caller returns OOM). */
  allocPage(): number {
    if (this.freeTop === 0 || this.allocated >= this.allocLimit) return -1;
    const pfn = this.freeStack[--this.freeTop]!;
    this.flags[pfn] = 0;
    this.count[pfn] = 1;
    this.mapcount[pfn] = -1;
    this.mapping[pfn] = NO_MAPPING;
    this.gen[pfn] = 0; // __GFP_ZERO
    this.allocated++;
    return pfn;
  }

  /** get_page() */
  getPage(pfn: number): void {
    this.count[pfn]++;
  }

  /** put_page(): frees the page when the last reference goes. Returns true if freed. */
  putPage(pfn: number): boolean {
    if (--this.count[pfn]! !== 0) return false;
    this.freePage(pfn);
    return true;
  }

  private freePage(pfn: number): void {
    if (this.flags[pfn]! & PG_reserved) return; // reserved pages are never handed back (bad_page in the kernel)
    this.flags[pfn] = PG_buddy;
    // only the modern profile has mlock state; one boolean here and the work out of line, so that
    // put_page stays small enough to inline into zap (every exit and munmap frees through here)
    if (this.tracksMlock) this.forgetMlockState(pfn);
    this.mapping[pfn] = NO_MAPPING;
    this.mapcount[pfn] = -1;
    this.freeStack[this.freeTop++] = pfn;
    this.allocated--;
  }

  /** The kernel's batches hold a reference until processed; the model frees the page and forgets its entries. */
  private forgetMlockState(pfn: number): void {
    this.mlockCount.delete(pfn);
    if (this.lruAddBatch.length) this.lruAddBatch = this.lruAddBatch.filter((x) => x !== pfn);
    if (this.mlockBatch.length) this.mlockBatch = this.mlockBatch.filter((x) => Math.floor(x / 4) !== pfn);
  }

  freeCount(): number {
    return this.freeTop;
  }

  /** The free list as the allocator will hand it out (last element first); a view, do not modify. */
  freeList(): Uint32Array {
    return this.freeStack.subarray(0, this.freeTop);
  }

  /** Next free page the allocator would return (for scenarios that steer allocation, B8). */
  peekFree(): number {
    return this.freeTop === 0 ? -1 : this.freeStack[this.freeTop - 1]!;
  }

  /** Moves a free pfn to the top of the free list so that the next allocation returns it. */
  preferNext(pfn: number): boolean {
    for (let i = this.freeTop - 1; i >= 0; i--) {
      if (this.freeStack[i] === pfn) {
        this.freeStack[i] = this.freeStack[this.freeTop - 1]!;
        this.freeStack[this.freeTop - 1] = pfn;
        return true;
      }
    }
    return false;
  }

  /** Takes a specific free RAM page out of the allocator (boot-time reservations such as the zero page). */
  claim(pfn: number): boolean {
    if (!this.preferNext(pfn)) return false;
    return this.allocPage() === pfn;
  }

  // ---- frame contents ----

  readGen(pfn: number): number {
    if (this.pfnValid(pfn)) return this.gen[pfn]!;
    const r = this.regionOf(pfn);
    return r?.gen ? r.gen[pfn - r.startPfn]! : 0;
  }

  /** A user store: the frame gets a fresh content id. */
  writeNew(pfn: number): number {
    const g = ++this.genCounter;
    this.setGen(pfn, g);
    return g;
  }

  setGen(pfn: number, g: number): void {
    if (this.pfnValid(pfn)) {
      this.gen[pfn] = g;
      return;
    }
    const r = this.regionOf(pfn);
    if (r?.gen) r.gen[pfn - r.startPfn] = g;
  }

  /** Bytes of model memory the mem_map arrays use (for the bench's bytes-per-page figure). */
  modelBytes(): number {
    return this.count.byteLength + this.mapcount.byteLength + this.flags.byteLength + this.mapping.byteLength +
      this.index.byteLength + this.gen.byteLength + this.freeStack.byteLength + this.sectionPresent.byteLength;
  }
}

export function pfnToPhys(pfn: number): number {
  return pfn * 4096;
}

export { PAGE_SHIFT };
