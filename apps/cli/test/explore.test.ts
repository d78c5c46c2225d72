// `mixedmap explore`: herd7-shaped output, exit 0 when the condition is validated, 1 when not,
// 2 on bad input (file:line:column: field, nothing on stdout).
import { describe, expect, test } from 'vitest';
import { join } from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { main } from '../src/cli.js';

const LITMUS = join(import.meta.dirname, '../../../examples/litmus');

describe('mixedmap explore', () => {
  test('a validated condition exits 0 with the herd7 lines', async () => {
    const r = await main(['explore', join(LITMUS, 'a04-nopfn-race-merged.yaml')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Test A4-nopfn-race-merged Forbidden\nStates 1\n/);
    expect(r.stdout).toContain('Observation A4-nopfn-race-merged Never 0 20');
  });
  test('a violated condition exits 1 and prints the counterexample; --json is one document', async () => {
    const r = await main(['explore', join(LITMUS, 'c13-xip-fault-race.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Counterexample');
    const j = await main(['explore', '--json', join(LITMUS, 'c13-xip-fault-race.yaml')]);
    expect(JSON.parse(j.stdout)).toMatchObject({ command: 'explore', ok: false, tests: [{ test: 'C13-xip-fault-race', positive: 4, negative: 2 }] });
  });
  test('a plugin hook that throws during the race is bad input naming the plugin and hook, with and without workers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mm-litmus-'));
    const f = join(dir, 'faulty.yaml');
    const driver = join(import.meta.dirname, '../../../packages/scenario/test/fixtures/faulty-driver.js');
    writeFileSync(f, `name: faulty
machine: { arch: x86, kernel: "2.6.27", drivers: [{ path: ${driver}, settings: { throwIn: fault } }] }
tasks: [{ name: p, threads: [t2] }]
steps:
  - { task: p, op: mmap, as: m, file: /dev/faulty, length: 4K, prot: [read], flags: [shared] }
  - { id: a, thread: p, op: read, addr: m }
  - { id: b, thread: t2, op: read, addr: m }
race: [a, b]
condition: "~exists (oops)"
`);
    for (const workers of ['1', '2']) {
      const r = await main(['explore', '--workers', workers, f]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/faulty\.yaml:2:\d+: machine\.drivers\[0\]: driver "faulty": its vm_ops\.fault hook threw while the race ran: fault exploded — a bug in the plugin, not a kernel Oops\n$/);
    }
  });
  test('bad input: an unknown thread in the condition, a bad flag', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mm-litmus-'));
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, `name: bad
machine: { arch: x86 }
tasks: [{ name: p, threads: [t2] }]
steps:
  - { task: p, op: mmap, as: m, length: 4K, prot: [read], flags: [private, anonymous] }
  - { id: a, thread: p, op: read, addr: m }
  - { id: b, thread: t2, op: read, addr: m }
race: [a, b]
condition: "exists (outcome(zz) == ok)"
`);
    const r = await main(['explore', f]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/bad.yaml:9:\d+: condition: outcome\(zz\): unknown thread "zz"/);
    const flag = await main(['explore', f, '--max-states', 'lots']);
    expect([flag.code, flag.stderr]).toEqual([2, expect.stringMatching(/--max-states takes a positive whole number/)]);
  });
});
