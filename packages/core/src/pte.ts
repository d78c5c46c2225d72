// pte accessors over the arch's layout (the kernel's pte_present, pte_write, pte_mkspecial, …).
// One monomorphic class per machine so V8 inlines the calls on the fault path.

import type { PteLayout } from './arch.js';

/**
 * A mask or power of two as a small integer when it is one: V8 gives a field the representation of
 * its first value, and `2 ** n` is a float, so every `&` with such a field converted a double.
 */
function small(x: number): number {
  return x <= 0x3fffffff ? x | 0 : x;
}

export class PteOps {
  readonly none: number;
  private readonly present_: number;
  private readonly presentXor: number;
  private readonly hwPresent: number;
  private readonly write_: number;
  private readonly writeXor: number;
  readonly dirtyMask: number;
  readonly youngMask: number;
  readonly specialMask: number;
  readonly cacheMask: number;
  readonly userMask: number;
  private readonly chgMask: number;
  private readonly shift: number;
  /** 2^(32 - pfnShift): pfns per high-word unit */
  private readonly lowSpan: number;
  private readonly lowMask: number;
  private readonly highShift: number;
  private readonly scale: number;
  private readonly protMask: number;
  /** largest pfn the integer path of pfn_pte handles (-1: none, for a pfn field at bit 0 or ≥ 32) */
  private readonly intPfnMax: number;

  constructor(l: Required<PteLayout>) {
    this.none = l.none >>> 0;
    this.present_ = l.present;
    this.presentXor = l.presentXor;
    this.hwPresent = l.hwPresent || l.present;
    this.write_ = l.write;
    this.writeXor = l.writeXor;
    this.dirtyMask = l.dirty;
    this.youngMask = l.young;
    this.specialMask = l.special;
    this.cacheMask = l.cache;
    this.userMask = l.user;
    this.shift = l.pfnShift;
    this.lowSpan = small(2 ** (32 - l.pfnShift));
    this.lowMask = small(this.lowSpan - 1);
    this.highShift = 32 - l.pfnShift;
    this.scale = small(2 ** l.pfnShift);
    this.protMask = small(this.scale - 1);
    this.intPfnMax = l.pfnShift >= 1 && l.pfnShift <= 31 ? 0x7fffffff : -1;
    // _PAGE_CHG_MASK always keeps the pfn field; kept as a signed 32-bit value (only used with `&`)
    this.chgMask = (l.chgMask | ~(this.scale - 1)) | 0;
  }

  isNone(lo: number, hi: number): boolean {
    return lo === this.none && hi === 0;
  }
  present(lo: number): boolean {
    return ((lo ^ this.presentXor) & this.present_) !== 0;
  }
  /** the hardware present bit alone (gup_fast's mask test) */
  hwPresentBit(lo: number): boolean {
    return ((lo ^ this.presentXor) & this.hwPresent) !== 0;
  }
  write(lo: number): boolean {
    return ((lo ^ this.writeXor) & this.write_) !== 0;
  }
  mkwrite(lo: number): number {
    return ((lo & ~this.write_) | (~this.writeXor & this.write_)) >>> 0;
  }
  wrprotect(lo: number): number {
    // s390's pte_wrprotect leaves an invalid (PROT_NONE) pte alone: its RO bit would turn the type
    // into a file pte. Elsewhere a pte without the hardware present bit has no write bit to clear.
    if (!this.hwPresentBit(lo)) return lo;
    return ((lo & ~this.write_) | (this.writeXor & this.write_)) >>> 0;
  }
  dirty(lo: number): boolean {
    return (lo & this.dirtyMask) !== 0;
  }
  mkdirty(lo: number): number {
    return (lo | this.dirtyMask) >>> 0;
  }
  mkclean(lo: number): number {
    return (lo & ~this.dirtyMask) >>> 0;
  }
  young(lo: number): boolean {
    return (lo & this.youngMask) !== 0;
  }
  mkyoung(lo: number): number {
    return (lo | this.youngMask) >>> 0;
  }
  mkold(lo: number): number {
    return (lo & ~this.youngMask) >>> 0;
  }
  /** pte_special: always false where the arch has no bit (mask 0) */
  special(lo: number): boolean {
    return (lo & this.specialMask) !== 0;
  }
  /** pte_mkspecial: the identity where the arch has no bit */
  mkspecial(lo: number): number {
    return (lo | this.specialMask) >>> 0;
  }
  pfn(lo: number, hi: number): number {
    const low = lo >>> this.shift;
    return hi === 0 ? low : low + hi * this.lowSpan;
  }
  // pfn_pte in two words. Pfns below 2^31 (every real one) take integer shifts and masks; the rest
  // (e.g. the (unsigned long)-3 of an old NOPFN_REFAULT) the exact float path. A float `%` on the
  // fault path compiled to an x87 fprem loop and cost a third of a fault.
  /** pfn_pte(pfn, prot): low word */
  pfnPteLo(pfn: number, prot: number): number {
    const low = pfn <= this.intPfnMax ? pfn & this.lowMask : pfn % this.lowSpan;
    return ((low << this.shift) | (prot & this.protMask)) >>> 0;
  }
  /** pfn_pte(pfn, prot): high word */
  pfnPteHi(pfn: number): number {
    return pfn <= this.intPfnMax ? pfn >>> this.highShift : Math.floor(pfn / this.lowSpan) >>> 0;
  }
  /** pte_modify(pte, newprot): keep _PAGE_CHG_MASK bits, take the rest from newprot (§2.22) */
  modify(lo: number, newProt: number): number {
    return ((lo & this.chgMask) | (newProt & ~this.chgMask)) >>> 0;
  }
  /** same pte value */
  same(lo1: number, hi1: number, lo2: number, hi2: number): boolean {
    return lo1 === lo2 && hi1 === hi2;
  }
}
