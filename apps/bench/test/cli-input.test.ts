// Bad input to mixedmap-bench: a flag given twice, a --from or --compare file that is not a
// results.json, an output path that cannot be written. Each is exit 2 with one line on stderr —
// no stack trace, nothing on stdout, no output file — and is found before any benchmark runs.
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { bench, ensureBuilt } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'mixedmap-bench-input-'));
const file = (name: string, text: string): string => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};
const RUN = {
  schema: 'mixedmap-bench/1', startedAt: '2026-01-01T00:00:00.000Z', durationMs: 1, command: [], quick: true,
  git: { commit: null, dirty: null }, node: { version: 'v20', v8: '11' },
  machine: { platform: 'linux', arch: 'x64', kernel: '6', cpus: 1, cpuModel: 'cpu', memoryBytes: 1, hostname: 'h' },
  nativeProgram: { built: false, missing: 'skipped' },
};
const VALID = file('valid.json', JSON.stringify({ run: RUN, results: [], targets: [] }));

function bad(r: { code: number | null; stdout: string; stderr: string }, re: RegExp): void {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(re);
  expect(r.stderr).not.toMatch(/\n\s+at |░/); // no stack trace, no progress bar: nothing ran
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
}

beforeAll(() => ensureBuilt(), 600_000);

describe('mixedmap-bench: bad input is exit 2 before anything runs', () => {
  test('a --from or --compare file that is not JSON, or not a results file', () => {
    const corrupt = file('corrupt.json', '{\n  "run": {,\n}');
    bad(bench('--from', corrupt, '--out', join(dir, 'o1')), /^mixedmap-bench: --from .*corrupt\.json: not JSON at line 2, column 11: /);
    bad(bench('--from', VALID, '--compare', file('list.json', '[]'), '--out', join(dir, 'o2')), /--compare .*list\.json: not a mixedmap-bench results file \(mixedmap-bench\/1\): expected an object with run and results, got a list/);
    bad(bench('--from', file('other.json', '{"run":{"schema":"x/2"},"results":[]}'), '--out', join(dir, 'o3')), /run\.schema: "x\/2", expected "mixedmap-bench\/1"/);
    bad(bench('--from', file('ns.json', JSON.stringify({ run: RUN, results: [{ id: 'a', status: 'ok', nsPerOp: 5 }] })), '--out', join(dir, 'o4')), /results\[0\]\.nsPerOp\.median: expected a number/);
    bad(bench('--from', join(dir, 'missing.json')), /--from .*missing\.json: cannot read it \(no such file\)/);
    // a --compare that is wrong is found before the run, not after every benchmark ran
    bad(bench('--quick', '--no-kernel', '--compare', file('x.json', '{}'), '--out', join(dir, 'o5')), /--compare .*x\.json: not a mixedmap-bench results file .*run: missing/);
    for (const o of ['o1', 'o2', 'o3', 'o4', 'o5']) expect(existsSync(join(dir, o))).toBe(false);
  });

  test('an output that cannot be written: a directory, a path under a file, /proc', () => {
    bad(bench('--from', VALID, '--html', dir), /is a directory, not a file to write/);
    bad(bench('--from', VALID, '--md', join(VALID, 'x.md'), '--out', join(dir, 'o6')), /x\.md: cannot be written: .*valid\.json is not a directory/);
    bad(bench('--quick', '--no-kernel', '--out', '/proc/mixedmap-bench-nope'), /\/proc\/mixedmap-bench-nope\/results\.json: cannot be written \(ENOENT\)/);
    expect(existsSync(join(dir, 'o6'))).toBe(false);
  });

  test('a value flag given twice, a flag without its value, a threshold that is no number', () => {
    bad(bench('--arch', 'x86', '--arch', 'arm', '--list'), /^mixedmap-bench: --arch is given twice; give it once \(filters take a comma list: --arch x86,arm\)\n$/);
    bad(bench('--out', '--quick'), /^mixedmap-bench: --out needs a value\n$/);
    bad(bench('--threshold', ''), /--threshold needs a fraction such as 0\.1, not ""/);
    bad(bench('--threshold', '1e-1x'), /--threshold needs a fraction/);
    bad(bench('--threads', '100000', '--list'), /^mixedmap-bench: --threads takes at most 256, not 100000\n$/);
  });

  test('--from a valid file re-renders the report; only report.html is written, no temporary files are left', () => {
    const out = join(dir, 'ok');
    const r = bench('--from', VALID, '--out', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readdirSync(out)).toEqual(['report.html']);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
