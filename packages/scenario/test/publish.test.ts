// Independent publishing: the packages are packed as pnpm would publish them (workspace: ranges
// become versions, publishConfig applied), installed with npm into a throwaway project outside the
// workspace, and a scenario runs there through the public API — s390 with the page cache, with
// only the plugins it needs installed (the built-in plugins are optional peers of the runner).
// Needs the packages built (`npm test` builds everything first); it does not build.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PACKED = ['core', 'scenario', 'arch-x86', 'arch-s390', 'driver-pagecache'];
const ALL_PACKAGES = readdirSync(join(ROOT, 'packages')).filter((d) => existsSync(join(ROOT, 'packages', d, 'package.json')));

type Manifest = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const manifest = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));

/** pnpm as the test was started (`pnpm run` sets npm_execpath), else on PATH, else through npx. */
async function pnpm(args: string[], cwd: string): Promise<string> {
  const exec = process.env.npm_execpath;
  if (exec && /pnpm/.test(exec)) return (await run(process.execPath, [exec, ...args], { cwd })).stdout;
  try {
    return (await run('pnpm', args, { cwd })).stdout;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    return (await run('npx', ['--yes', 'pnpm@10.34.9', ...args], { cwd })).stdout;
  }
}

// The throwaway project must not see the workspace: package-manager shims put the workspace's
// hoisted node_modules on NODE_PATH, which would let require.resolve find uninstalled plugins.
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_PATH'));

const work = mkdtempSync(join(tmpdir(), 'mixedmap-publish-'));
const tarballs: Record<string, string> = {};

describe('every package under packages/ is publishable on its own', () => {
  test.each(ALL_PACKAGES)('%s: README, files: [dist], public access, exports with types first', (name) => {
    const dir = join(ROOT, 'packages', name);
    const m = manifest(dir);
    expect(existsSync(join(dir, 'README.md')), `packages/${name}/README.md`).toBe(true);
    expect(m.private).not.toBe(true);
    expect(m.files).toEqual(['dist']);
    expect(m.publishConfig?.access).toBe('public');
    expect(m.license).toBeTruthy();
    // what consumers see: publishConfig.exports when present (pnpm publishes that instead)
    const exp = (m.publishConfig?.exports ?? m.exports)['.'];
    const keys = Object.keys(exp).filter((k) => k !== 'source'); // `source`: the workspace's own condition (src/)
    expect(keys[0]).toBe('types');
    expect(keys.at(-1)).toBe('default');
    expect(exp.types).toMatch(/^\.\/dist\/.*\.d\.ts$/);
    expect(exp.default).toMatch(/^\.\/dist\/.*\.js$/);
  });
});

describe('packed tarballs install and run outside the workspace', () => {
  beforeAll(async () => {
    for (const p of PACKED) {
      if (!existsSync(join(ROOT, 'packages', p, 'dist', 'index.js'))) throw new Error(`packages/${p} is not built: run \`pnpm build\` (npm test builds first)`);
    }
    const dest = join(work, 'tarballs');
    await Promise.all(PACKED.map((p) => pnpm(['pack', '--pack-destination', dest], join(ROOT, 'packages', p))));
    for (const f of readdirSync(dest)) {
      const p = PACKED.find((x) => f === `mixedmap-${x}-${manifest(join(ROOT, 'packages', x)).version}.tgz`);
      if (p) tarballs[p] = join(dest, f);
    }
    const app = join(work, 'app');
    await run('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'mixedmap-consumer', private: true, type: 'module' }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...PACKED.map((p) => tarballs[p]!)], { cwd: app, env: cleanEnv });
  }, 180_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  test('the tarballs hold dist, README and package.json only; workspace: ranges became versions', async () => {
    expect(Object.keys(tarballs).sort()).toEqual([...PACKED].sort());
    for (const p of PACKED) {
      const { stdout } = await run('tar', ['-tzf', tarballs[p]!]);
      const files = stdout.trim().split('\n').sort();
      expect(files.every((f) => f === 'package/package.json' || f === 'package/README.md' || f.startsWith('package/dist/')), `${p}: ${files.join(', ')}`).toBe(true);
      expect(files).toContain('package/dist/index.d.ts');
      const installed = manifest(join(work, 'app', 'node_modules', '@mixedmap', p));
      expect(JSON.stringify(installed)).not.toMatch(/workspace:/);
    }
    const sc = manifest(join(work, 'app', 'node_modules', '@mixedmap', 'scenario'));
    expect(Object.keys(sc.exports['.'])).toEqual(['types', 'default']);
    expect(sc.peerDependenciesMeta['@mixedmap/arch-arm']).toEqual({ optional: true });
    // optional peers that were not asked for are not installed
    expect(existsSync(join(work, 'app', 'node_modules', '@mixedmap', 'arch-arm'))).toBe(false);
  });

  test('a YAML scenario runs on s390 with pagecache through the public API', async () => {
    const app = join(work, 'app');
    writeFileSync(join(app, 'file.yaml'), `name: s390-file-cow
machine:
  arch: s390
  kernel: "2.6.32"
  drivers:
    - { name: pagecache, settings: { files: [ { path: /tmp/f, size: 8192 } ] } }
tasks: [{ name: p }]
steps:
  - { task: p, op: mmap, as: m, file: /tmp/f, length: 8K, prot: [read, write], flags: [private] }
  - { task: p, op: read, addr: m, expect: { handlersInclude: [__do_fault], pte: { write: false }, normalPage: page, rss: { file: +1 } } }
  - { task: p, op: write, addr: m, expect: { handlersInclude: [do_wp_page], rss: { file: -1, anon: +1 }, pageTableBytes: 0 } }
`);
    writeFileSync(join(app, 'arm.yaml'), `name: needs-arm
machine: { arch: arm }
tasks: [{ name: p }]
steps: [{ task: p, op: exit }]
`);
    const script = `
import { loadScenario, runScenario } from '@mixedmap/scenario';
const r = runScenario(await loadScenario('./file.yaml'));
let arm = null;
try { await loadScenario('./arm.yaml'); } catch (e) { arm = e.message; }
console.log(JSON.stringify({ passed: r.passed, machine: r.machine, checks: r.steps.flatMap((s) => s.checks).filter((c) => !c.ok), handlers: r.steps[2].observation.result.faults.map((f) => f.chain.at(-1)), arm }));
`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: app, env: cleanEnv });
    const out = JSON.parse(stdout);
    expect(out.checks).toEqual([]);
    expect(out.passed).toBe(true);
    expect(out.machine).toEqual({ arch: 's390', kernel: '2.6.32' });
    expect(out.handlers).toEqual(['cow_user_page']);
    // a built-in plugin that is not installed is a clear validation error
    expect(out.arm).toMatch(/machine\.arch: unknown arch "arm": package @mixedmap\/arch-arm is not installed/);
  });
});
