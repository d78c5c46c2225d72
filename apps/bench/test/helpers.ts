// Shared by the bench tests: the built harness (rebuilt when stale, like apps/cli's test) and runs of it.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = join(ROOT, 'apps/bench/bin/mixedmap-bench.js');

function newest(dir: string): number {
  if (!existsSync(dir)) return 0;
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist') continue;
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Builds the bench app and what it depends on when dist is missing or older than the sources. */
export function ensureBuilt(): void {
  const dist = join(ROOT, 'apps/bench/dist/benches/manifest.json');
  const sources = ['apps/bench/src', 'apps/bench/bench', ...readdirSync(join(ROOT, 'packages')).flatMap((p) => [`packages/${p}/src`, `packages/${p}/bench`])];
  const stale = !existsSync(dist) || sources.some((s) => newest(join(ROOT, s)) > statSync(dist).mtimeMs);
  if (!stale) return;
  const args = ['--filter', '@mixedmap/bench...', 'build'];
  try {
    execFileSync('pnpm', args, { cwd: ROOT, stdio: 'pipe' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    execFileSync('npx', ['--yes', 'pnpm@10.34.9', ...args], { cwd: ROOT, stdio: 'pipe' });
  }
}

export function bench(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
