// The live-kernel column: native/mm-fault-bench.c builds with the system C compiler and measures
// one fault kind, with the faults confirmed by getrusage. CI runs on Linux with cc.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { expect, test } from 'vitest';
import { buildNative } from '../src/native.js';

test('the C program builds with cc and measures write faults on the live kernel', () => {
  expect(process.platform).toBe('linux');
  const b = buildNative(mkdtempSync(join(tmpdir(), 'mixedmap-native-')));
  if ('missing' in b) throw new Error(b.missing);
  expect(b.compiler).toMatch(/\S/);
  const r = spawnSync(b.path, ['write-anon', 'rand', '2048', '1'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const m = JSON.parse(r.stdout) as { kind: string; pages: number; ns_per_op: number; minflt_per_op: number; kernel: string };
  expect(m.kind).toBe('write-anon');
  expect(m.pages).toBe(2048);
  expect(m.ns_per_op).toBeGreaterThan(0);
  expect(m.minflt_per_op).toBeGreaterThanOrEqual(0.99); // one minor fault per page touched
  expect(m.kernel).toMatch(/^Linux /);
});

test('a bad kind is refused', () => {
  const b = buildNative();
  if ('missing' in b) throw new Error(b.missing);
  const r = spawnSync(b.path, ['no-such-kind', 'seq', '16', '1'], { encoding: 'utf8' });
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/unknown kind/);
});
