// sizeof(struct page) on x86 (reference §4.1): flags, _count, _mapcount, {private, mapping}, index,
// lru — 56 bytes on x86-64, 32 on x86-32; include/linux/mm_types.h has the `page_cgroup` word with
// CONFIG_CGROUP_MEM_RES_CTLR only at v2.6.25, v2.6.26 and v2.6.27 (absent at v2.6.24 and v2.6.28).
import { describe, expect, test } from 'vitest';
import { resolveArch, resolveFeatures } from '@mixedmap/core';
import x86 from '../src/index.js';

const size = (kernel: string, memcg: boolean, bits?: 32): number =>
  resolveArch(x86, resolveFeatures(kernel, { memcg }), bits ? { bits } : {}).structPageSize;

describe('sizeof(struct page) (§4.1)', () => {
  test('x86-64: 56 bytes, 64 with the memcg pointer in 2.6.25–2.6.27 only', () => {
    const releases = ['2.6.24', '2.6.25', '2.6.27', '2.6.28', '2.6.32'];
    expect(releases.map((v) => size(v, false))).toEqual([56, 56, 56, 56, 56]);
    expect(releases.map((v) => size(v, true))).toEqual([56, 64, 64, 56, 56]);
  });
  test('x86-32: 32 bytes, 36 with the memcg pointer in 2.6.25–2.6.27 only', () => {
    const releases = ['2.6.19', '2.6.24', '2.6.25', '2.6.27', '2.6.28'];
    expect(releases.map((v) => size(v, false, 32))).toEqual([32, 32, 32, 32, 32]);
    expect(releases.map((v) => size(v, true, 32))).toEqual([32, 32, 36, 36, 32]);
  });
});
