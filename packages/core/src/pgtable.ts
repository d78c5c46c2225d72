// Page tables with the geometry the arch gives: one walk over the levels (not one function per
// level as mm/memory.c writes it). Upper levels are plain arrays; the lowest level is a typed
// array holding each pte as a pair of signed 32-bit words (low word: flags and low pfn bits; high word: high
// pfn bits). Tables are allocated lazily and freed on munmap (free_pgtables) and exit.

type Dir = Array<Dir | Int32Array | undefined>;

export class PageTables {
  /** pages covered by one entry at each level, top first */
  private readonly span: number[];
  private readonly entries: number[];
  private readonly leafEntries: number;
  /** 1 / leafEntries: a power of two, so the product is exact and avoids a division */
  private readonly leafInv: number;
  /** 1 / span per level */
  private readonly spanInv: number[];
  private root: Dir;
  /** result of the last walk: the pte table and the pte's slot (2 × index) */
  tbl: Int32Array = EMPTY;
  slot = 0;
  /** number of allocated tables per level (index 0 = top level, always 1) */
  readonly tablesPerLevel: number[];
  // one-entry walk cache: last leaf key → table (design notes §3: ~20%)
  private cacheKey = -1;
  private cacheTbl: Int32Array = EMPTY;

  /**
   * @param canAlloc asked before a new table is allocated; false makes the walk fail (the fault
   *   path then returns VM_FAULT_OOM, the insert functions -ENOMEM) — fault injection for tests
   */
  constructor(levels: readonly number[], private readonly noneLo: number, private readonly canAlloc: () => boolean = () => true) {
    this.entries = [...levels];
    this.leafEntries = levels[levels.length - 1]!;
    this.span = levels.map((_, i) => levels.slice(i + 1).reduce((a, b) => a * b, 1));
    this.leafInv = 1 / this.leafEntries;
    this.spanInv = this.span.map((x) => 1 / x);
    this.root = new Array(levels[0]);
    this.tablesPerLevel = levels.map((_, i) => (i === 0 ? 1 : 0));
  }

  // The walks are split like the kernel's inline pte_offset fast path and its out-of-line
  // __pte_alloc: the one-entry cache hit is a few bytecodes that V8 inlines into the fault path and
  // the per-pte loops; the level walk (once per pte table) stays out of line.

  /** Finds the pte for a virtual page number without allocating. False if a table is missing. */
  lookup(vpn: number): boolean {
    return this.find(vpn, false);
  }

  /** Finds the pte for a virtual page number, allocating missing tables (__pte_alloc and friends). */
  alloc(vpn: number): boolean {
    return this.find(vpn, true);
  }

  /** The walk cache's hit, else the walk; sets `tbl` and `slot`. */
  private find(vpn: number, allocate: boolean): boolean {
    const key = Math.floor(vpn * this.leafInv);
    if (key !== this.cacheKey) return this.walk(vpn, key, allocate);
    if (this.tbl !== this.cacheTbl) this.tbl = this.cacheTbl;
    this.slot = (vpn - key * this.leafEntries) << 1;
    return true;
  }

  /** The walk over the levels, top first; with `allocate`, missing tables are allocated. */
  private walk(vpn: number, key: number, allocate: boolean): boolean {
    let dir: Dir = this.root;
    const last = this.entries.length - 1;
    for (let level = 0; level < last; level++) {
      const i = Math.floor(vpn * this.spanInv[level]!) & (this.entries[level]! - 1);
      let next = dir[i];
      if (next === undefined) {
        if (!allocate || !this.canAlloc()) return false;
        if (level === last - 1) {
          const t = new Int32Array(this.leafEntries * 2);
          if (this.noneLo !== 0) for (let k = 0; k < t.length; k += 2) t[k] = this.noneLo;
          next = t;
        } else {
          next = new Array(this.entries[level + 1]);
        }
        dir[i] = next;
        this.tablesPerLevel[level + 1]!++;
      }
      if (level === last - 1) return this.hit(key, next as Int32Array, vpn);
      dir = next as Dir;
    }
    return false;
  }

  // Table references are stored only when they change: a freshly allocated table is a young object,
  // and each store of it into an old one runs the write barrier's slow path.
  private hit(key: number, t: Int32Array, vpn: number): boolean {
    this.cacheKey = key;
    if (this.cacheTbl !== t) this.cacheTbl = t;
    if (this.tbl !== t) this.tbl = t;
    // `<< 1`, not `* 2`: a vpn above 2^31 is a double, and so was the slot, held as a heap number; the
    // field then took V8's double representation, and every pte index (and the per-pte loops'
    // counters) went through float conversions
    this.slot = (vpn - key * this.leafEntries) << 1;
    return true;
  }

  /**
   * The end of the pte table holding `vpn`, or `endVpn` if sooner: the kernel's pmd_addr_end. The
   * per-pte loops of zap and fork step with it and call a named per-table function (zap_pte_range,
   * copy_pte_range): a callback shared by every caller would make that call site polymorphic.
   */
  tableEnd(vpn: number, endVpn: number): number {
    return Math.min((Math.floor(vpn * this.leafInv) + 1) * this.leafEntries, endVpn);
  }

  /**
   * The slot just past vpn `stop` in the table the last walk found (`stop` at most tableEnd): the
   * per-pte loops' bound. `<< 1`, not `* 2`: a vpn above 2^31 is a double, and an int32 bound keeps
   * the loop counter an integer (with a double bound V8 counted and indexed in floats).
   */
  endSlot(vpn: number, stop: number): number {
    return this.slot + ((stop - vpn) << 1);
  }

  /** Number of ptes in one leaf table. */
  get ptesPerTable(): number {
    return this.leafEntries;
  }

  /** Visits every leaf table with the first vpn it maps. */
  forEachLeaf(fn: (tbl: Int32Array, firstVpn: number) => void): void {
    const walk = (dir: Dir, level: number, base: number): void => {
      for (let i = 0; i < dir.length; i++) {
        const next = dir[i];
        if (next === undefined) continue;
        const vpn = base + i * this.span[level]!;
        if (level === this.entries.length - 2) fn(next as Int32Array, vpn);
        else walk(next as Dir, level + 1, vpn);
      }
    };
    walk(this.root, 0, 0);
  }

  /**
   * free_pgtables: frees the leaf tables (and emptied directories) entirely inside [startVpn, endVpn)
   * that `inUse` says no vma still covers. Their ptes must already be none.
   */
  freeRange(startVpn: number, endVpn: number, inUse: (firstVpn: number, endVpn: number) => boolean): void {
    const prune = (dir: Dir, level: number, base: number): boolean => {
      let live = 0;
      for (let i = 0; i < dir.length; i++) {
        const next = dir[i];
        if (next === undefined) continue;
        const lo = base + i * this.span[level]!;
        const hi = lo + this.span[level]!;
        if (hi <= startVpn || lo >= endVpn || inUse(lo, hi)) {
          live++;
          continue;
        }
        if (level === this.entries.length - 2 || prune(next as Dir, level + 1, lo)) {
          dir[i] = undefined;
          this.tablesPerLevel[level + 1]!--;
        } else {
          live++;
        }
      }
      return live === 0;
    };
    prune(this.root, 0, 0);
    this.cacheKey = -1;
  }

  /** Bytes of page-table memory in use, with the arch's table sizes. */
  bytes(leafTableBytes: number, dirEntryBytes: readonly number[]): number {
    let b = 0;
    const last = this.entries.length - 1;
    for (let level = 0; level <= last; level++) {
      b += this.tablesPerLevel[level]! * (level === last ? leafTableBytes : this.entries[level]! * dirEntryBytes[level]!);
    }
    return b;
  }

  /** Number of tables (all levels) still allocated, the top level included. */
  tableCount(): number {
    return this.tablesPerLevel.reduce((a, b) => a + b, 0);
  }
}

const EMPTY = new Int32Array(2);
