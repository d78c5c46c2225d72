// The live-kernel column: native/mm-fault-bench.c, built with the system C compiler (`cc`) into a
// temp directory at bench time (keyed by the source's hash; never committed), run once per
// (kind, order, pages) and cached for the run.

import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NATIVE_SOURCE = fileURLToPath(new URL('../native/mm-fault-bench.c', import.meta.url));

export type NativeBuild = { path: string; compiler: string } | { missing: string };

let built: NativeBuild | undefined;

/** Builds the C program (once per process; reused across runs while the source is unchanged). */
export function buildNative(outDir?: string): NativeBuild {
  if (built && !outDir) return built;
  const b = doBuild(outDir);
  if (!outDir) built = b;
  return b;
}

function doBuild(outDir?: string): NativeBuild {
  if (process.platform !== 'linux') return { missing: `not Linux (${process.platform}): the kernel column needs the live Linux fault path` };
  if (!existsSync(NATIVE_SOURCE)) return { missing: `native source missing: ${NATIVE_SOURCE}` };
  const cc = process.env.CC || 'cc';
  const ver = spawnSync(cc, ['--version'], { encoding: 'utf8' });
  if (ver.error || ver.status !== 0) return { missing: `no C compiler (${cc} not found)` };
  const compiler = ver.stdout.split('\n')[0]!.trim();
  const src = readFileSync(NATIVE_SOURCE);
  const hash = createHash('sha256').update(src).update(compiler).digest('hex').slice(0, 12);
  const dir = outDir ?? join(tmpdir(), `mixedmap-bench-native-${hash}`);
  mkdirSync(dir, { recursive: true });
  const exe = join(dir, 'mm-fault-bench');
  if (!outDir && existsSync(exe)) return { path: exe, compiler };
  const tmp = `${exe}.${process.pid}.tmp`;
  const r = spawnSync(cc, ['-O2', '-Wall', '-o', tmp, NATIVE_SOURCE], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return { missing: `${cc} failed to build mm-fault-bench.c: ${(r.stderr || String(r.error)).trim().split('\n').slice(0, 3).join(' ')}` };
  renameSync(tmp, exe);
  return { path: exe, compiler };
}

export interface KernelMeasurement {
  kind: string;
  order: string;
  pages: number;
  reps: number;
  ns_per_op: number;
  ns_min: number;
  ns_max: number;
  minflt_per_op: number;
  cpu: number;
  kernel: string;
}

const cache = new Map<string, KernelMeasurement | { missing: string }>();

/** Runs one kind on the live kernel: the median ns per op over `reps` fresh mappings. */
export function measureKernel(kind: string, order: string, pages: number, reps: number): KernelMeasurement | { missing: string } {
  const key = `${kind}/${order}/${pages}/${reps}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const b = buildNative();
  let out: KernelMeasurement | { missing: string };
  if ('missing' in b) {
    out = b;
  } else {
    const r = spawnSync(b.path, [kind, order, String(pages), String(reps)], { encoding: 'utf8', timeout: 300_000 });
    if (r.error || r.status !== 0) {
      out = { missing: `mm-fault-bench ${kind} failed: ${(r.stderr || String(r.error ?? `exit ${r.status}`)).trim().split('\n')[0]}` };
    } else {
      try {
        out = JSON.parse(r.stdout.trim().split('\n').pop()!) as KernelMeasurement;
      } catch {
        out = { missing: `mm-fault-bench ${kind}: unreadable output ${JSON.stringify(r.stdout.slice(0, 80))}` };
      }
    }
  }
  cache.set(key, out);
  return out;
}
