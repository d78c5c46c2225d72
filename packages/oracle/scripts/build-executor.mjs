#!/usr/bin/env node
// Builds the oracle's executor (native/executor.c → dist/mixedmap-executor) with the system C
// compiler: $CC, else cc. Without a compiler, or off Linux, it logs a note and succeeds: the
// package still builds and installs, and `mixedmap oracle` then says the executor is missing.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(pkg, 'dist', 'mixedmap-executor');
const src = join(pkg, 'native', 'executor.c');
const cc = process.env.CC || 'cc';

// the source travels in dist/ too (the published package holds dist only), to build it later by hand
mkdirSync(dirname(out), { recursive: true });
copyFileSync(src, join(pkg, 'dist', 'executor.c'));

if (process.platform !== 'linux') {
  console.log(`@mixedmap/oracle: not building the executor on ${process.platform} (it needs Linux); mixedmap oracle will not run here.`);
  process.exit(0);
}
const r = spawnSync(cc, ['-O2', '-o', out, src], { stdio: ['ignore', 'inherit', 'inherit'] });
if (r.error) {
  console.log(`@mixedmap/oracle: no C compiler (${cc}: ${r.error.code ?? r.error.message}); skipping the executor. mixedmap oracle will report it missing.`);
  process.exit(0);
}
if (r.status !== 0) {
  console.log(`@mixedmap/oracle: ${cc} failed (status ${r.status}); skipping the executor. mixedmap oracle will report it missing.`);
  process.exit(0);
}
console.log(`@mixedmap/oracle: built ${out}`);
