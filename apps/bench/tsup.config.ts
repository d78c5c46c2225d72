// The harness, its worker scripts, and every workspace package's benchmarks in one build.
// Discovery (the one way): `bench/*.bench.ts` in any workspace package (packages/*, apps/*) is
// bundled here into dist/benches/<package dir>/<name>.js, and dist/benches/manifest.json lists
// them with their package names. Workspace packages stay external (`@mixedmap/*` are this app's
// dependencies), so every benchmark runs against the same built copy of core.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';
import { preset } from '@mixedmap/tsup-config';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

interface Found {
  package: string;
  dir: string;
  source: string;
  entry: string;
}

function discover(): Found[] {
  const out: Found[] = [];
  for (const group of ['packages', 'apps']) {
    const gdir = join(root, group);
    if (!existsSync(gdir)) continue;
    for (const d of readdirSync(gdir).sort()) {
      const bdir = join(gdir, d, 'bench');
      const pj = join(gdir, d, 'package.json');
      if (!existsSync(bdir) || !existsSync(pj)) continue;
      const name = (JSON.parse(readFileSync(pj, 'utf8')) as { name: string }).name;
      for (const f of readdirSync(bdir).sort()) {
        if (!f.endsWith('.bench.ts')) continue;
        out.push({ package: name, dir: `${group}/${d}`, source: join(bdir, f), entry: `benches/${d}/${f.replace(/\.ts$/, '')}` });
      }
    }
  }
  return out;
}

const found = discover();

export default defineConfig(
  preset({
    entry: {
      index: 'src/index.ts',
      'workers/zero-page': 'src/workers/zero-page.ts',
      'workers/gup': 'src/workers/gup.ts',
      'workers/case': 'src/workers/case.ts',
      ...Object.fromEntries(found.map((f) => [f.entry, f.source])),
    },
    dts: { entry: { index: 'src/index.ts' } },
    // the harness's own types and helpers are bundled into each benchmark; packages stay external
    external: [/^@mixedmap\//, 'tinybench', 'echarts'],
    async onSuccess() {
      const manifest = found.map((f) => ({ package: f.package, file: relative(root, f.source), module: `./${f.entry.slice('benches/'.length)}.js` }));
      writeFileSync(join(here, 'dist/benches/manifest.json'), JSON.stringify({ benches: manifest }, null, 2) + '\n');
    },
  }),
);
