// Paths in driver settings are relative to the scenario file, like plugin paths: xip's `from:`
// (a host directory laid out as the XIP image) works from any working directory.
import { expect, test } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario, runScenario } from '@mixedmap/scenario';

test('xip settings.from resolves against the scenario directory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mm-from-'));
  mkdirSync(join(dir, 'img'));
  writeFileSync(join(dir, 'img', 'hello'), 'x'.repeat(6000));
  const file = join(dir, 'from.yaml');
  writeFileSync(file, `name: from-dir
machine:
  arch: x86
  kernel: "2.6.27"
  memory: { ram: 16M, regions: [{ name: flash, start: 0x80000000, size: 1M, kind: flash, structPages: false }] }
  drivers: [{ name: xip, settings: { region: flash, from: ./img } }]
tasks: [{ name: p }]
steps:
  - { task: p, op: mmap, as: m, file: /mnt/xip/hello, length: 8K, prot: [read], flags: [private] }
  - { task: p, op: read, addr: m+1p, expect: { outcome: ok, pte: { special: true } } }
`);
  const cwd = process.cwd();
  process.chdir(tmpdir());
  try {
    const r = runScenario(await loadScenario(file));
    expect(r.steps.flatMap((s) => s.checks.filter((c) => !c.ok))).toEqual([]);
    expect(r.passed).toBe(true);
  } finally {
    process.chdir(cwd);
  }
});
