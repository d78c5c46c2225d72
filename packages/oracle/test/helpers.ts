// Builds the executor once per test file into a temporary directory (independent of `pnpm build`).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SOURCE = fileURLToPath(new URL('../native/executor.c', import.meta.url));

export function buildExecutor(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mixedmap-executor-'));
  const out = join(dir, 'mixedmap-executor');
  execFileSync(process.env.CC || 'cc', ['-O2', '-Wall', '-Werror', '-o', out, SOURCE], { stdio: 'pipe' });
  return out;
}

export interface Run {
  status: number | null;
  lines: Array<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
  stdout: string;
}

export function runProgram(exe: string, program: string, args: string[] = []): Run {
  const r = spawnSync(exe, args, { input: program, encoding: 'utf8', timeout: 60_000 });
  const lines = r.stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status: r.status, lines, stdout: r.stdout };
}

/** The page entry [present, exclusive, file, pfn, zero, anon, mlocked, thp, count] of a task's mapping. */
export function page(line: Record<string, any>, task: number, mid: number, pg: number): number[] { // eslint-disable-line @typescript-eslint/no-explicit-any
  const t = (line.tasks as Array<{ task: number; maps: Array<{ mid: number; pages: number[][] }> }>).find((x) => x.task === task)!;
  return t.maps.find((m) => m.mid === mid)!.pages[pg]!;
}
