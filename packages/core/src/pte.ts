// pte accessors over the arch's layout (the kernel's pte_present, pte_write, pte_mkspecial, …).
// One monomorphic class per machine so V8 inlines the calls on the fault path.
//
// A pte word is held as a signed 32-bit integer (page tables are Int32Array): the same bits as the
// kernel's unsigned word, but always a small integer to V8. As an unsigned number, every pte whose
// pfn reaches bit 31 of the low word (half the frames above 2 GiB of RAM on x86) was a heap number,
// allocated afresh each time it crossed a call — a scavenge every few thousand faults. Callers that
// show a pte to the user (Machine.readPte, print_bad_pte) convert with `>>> 0`.

import type { PteLayout } from './arch.js';

/**
 * A mask or power of two as a small integer when it is one: V8 gives a field the representation of
 * its first value, and `2 ** n` is a float, so every `&` with such a field converted a double.
 */
function small(x: number): number {
  return x <= 0x3fffffff ? x | 0 : x;
}

/** A pte-word mask as the signed 32-bit integer the tables hold. */
function word(x: number): number {
  return x | 0;
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
  /** the bits of newprot pte_modify takes: ~chgMask, or all of them where the arch ORs newprot */
  private readonly newProtMask: number;
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
    this.none = word(l.none);
    this.present_ = word(l.present);
    this.presentXor = word(l.presentXor);
    this.hwPresent = word(l.hwPresent || l.present);
    this.write_ = word(l.write);
    this.writeXor = word(l.writeXor);
    this.dirtyMask = word(l.dirty);
    this.youngMask = word(l.young);
    this.specialMask = word(l.special);
    this.cacheMask = word(l.cache);
    this.userMask = word(l.user);
    this.shift = l.pfnShift;
    this.lowSpan = small(2 ** (32 - l.pfnShift));
    this.lowMask = small(this.lowSpan - 1);
    this.highShift = 32 - l.pfnShift;
    this.scale = small(2 ** l.pfnShift);
    this.protMask = small(this.scale - 1);
    this.intPfnMax = l.pfnShift >= 1 && l.pfnShift <= 31 ? 0x7fffffff : -1;
    // _PAGE_CHG_MASK always keeps the pfn field; kept as a signed 32-bit value (only used with `&`)
    this.chgMask = (l.chgMask | ~(this.scale - 1)) | 0;
    this.newProtMask = l.modifyOrsNewProt ? -1 : ~this.chgMask;
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
    return (lo & ~this.write_) | (~this.writeXor & this.write_);
  }
  wrprotect(lo: number): number {
    // s390's pte_wrprotect leaves an invalid (PROT_NONE) pte alone: its RO bit would turn the type
    // into a file pte. Elsewhere a pte without the hardware present bit has no write bit to clear.
    if (!this.hwPresentBit(lo)) return lo;
    return (lo & ~this.write_) | (this.writeXor & this.write_);
  }
  dirty(lo: number): boolean {
    return (lo & this.dirtyMask) !== 0;
  }
  mkdirty(lo: number): number {
    return lo | this.dirtyMask;
  }
  mkclean(lo: number): number {
    return lo & ~this.dirtyMask;
  }
  young(lo: number): boolean {
    return (lo & this.youngMask) !== 0;
  }
  mkyoung(lo: number): number {
    return lo | this.youngMask;
  }
  mkold(lo: number): number {
    return lo & ~this.youngMask;
  }
  /** pte_special: always false where the arch has no bit (mask 0) */
  special(lo: number): boolean {
    return (lo & this.specialMask) !== 0;
  }
  /** pte_mkspecial: the identity where the arch has no bit */
  mkspecial(lo: number): number {
    return lo | this.specialMask;
  }
  pfn(lo: number, hi: number): number {
    const low = lo >>> this.shift;
    return hi === 0 ? low : low + (hi >>> 0) * this.lowSpan;
  }
  // pfn_pte in two words. Pfns below 2^31 (every real one) take integer shifts and masks; the rest
  // (e.g. the (unsigned long)-3 of an old NOPFN_REFAULT) the exact float path. A float `%` on the
  // fault path compiled to an x87 fprem loop and cost a third of a fault.
  /** pfn_pte(pfn, prot): low word */
  pfnPteLo(pfn: number, prot: number): number {
    const low = pfn <= this.intPfnMax ? pfn & this.lowMask : pfn % this.lowSpan;
    return (low << this.shift) | (prot & this.protMask);
  }
  /** pfn_pte(pfn, prot): high word */
  pfnPteHi(pfn: number): number {
    return pfn <= this.intPfnMax ? pfn >>> this.highShift : Math.floor(pfn / this.lowSpan) | 0;
  }
  /** pte_modify(pte, newprot): keep _PAGE_CHG_MASK bits, take the rest from newprot (§2.22); x86 ≤2.6.25 ORs all of newprot */
  modify(lo: number, newProt: number): number {
    return (lo & this.chgMask) | (newProt & this.newProtMask);
  }
  /** same pte value */
  same(lo1: number, hi1: number, lo2: number, hi2: number): boolean {
    return lo1 === lo2 && hi1 === hi2;
  }
}
