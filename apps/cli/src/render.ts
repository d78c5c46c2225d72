// Human-readable trace of a scenario run: per step the op, each fault's handler chain, pte before →
// after, count/mapcount/rss deltas, reports, Oops, and the verdict of every expectation.

import type { Check, ScenarioResult, StepResult } from '@mixedmap/scenario';
import { PAGE_SIZE, sameChain, type FaultRecord, type PteInfo } from '@mixedmap/core';

const hex = (n: number): string => `0x${n.toString(16)}`;

export function fmtValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return '—';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return `[${v.map(fmtValue).join(', ')}]`;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function fmtPte(p: PteInfo | undefined, zeroPfn: number): string {
  if (!p) return '—';
  if (p.none) return 'none';
  if (!p.present) return `not present${typeof p.lo === 'number' ? ` (0x${p.lo.toString(16)})` : ''}`;
  const bits = [p.write ? 'rw' : 'ro', p.dirty ? 'dirty' : 'clean', p.young ? 'young' : 'old'];
  if (p.special) bits.push('special');
  if (p.cache) bits.push(`cache=${hex(p.cache)}`);
  return `pfn ${hex(p.pfn)}${p.pfn === zeroPfn ? ' (zero)' : ''} ${bits.join(' ')}`;
}

function delta(before: number | undefined, after: number | undefined): string {
  if (before === undefined || after === undefined) return after === undefined ? '—' : `=${after}`;
  const d = after - before;
  return d === 0 ? '±0' : d > 0 ? `+${d}` : String(d);
}

function opText(r: StepResult): string {
  const { step, observation: o } = r;
  const a = step.args;
  const parts: string[] = [step.op];
  if (o.addr !== undefined) parts.push(hex(o.addr));
  for (const [k, v] of Object.entries(a)) {
    if (k === 'addr') continue;
    if (v && typeof v === 'object' && 'text' in (v as object)) parts.push(`${k}=${(v as { text: string }).text}`);
    else parts.push(`${k}=${fmtValue(v)}`);
  }
  return parts.join(' ');
}

export function fmtCheck(c: Check): string {
  if (c.ok) return `✓ ${c.field}: ${fmtValue(c.expected)}`;
  return `✗ ${c.field}: expected ${fmtValue(c.expected)}, got ${fmtValue(c.actual)}`;
}

/** the next fault is the same fault on the next page */
function sameRun(a: FaultRecord, b: FaultRecord): boolean {
  return b.address === a.address + PAGE_SIZE && b.write === a.write && b.result === a.result && sameChain(a.chain, b.chain);
}

export function renderStep(r: StepResult, zeroPfn: number): string[] {
  const { step, observation: o } = r;
  const who = step.thread !== step.task ? `${step.task}/${step.thread}` : step.task;
  const res = o.result;
  const tail = [o.outcome];
  if (res.ret !== undefined && !(step.op === 'mmap' && res.ret === 0)) tail.push(`ret=${res.ret < 0 ? res.ret : res.ret > 0xffff ? hex(res.ret) : res.ret}`);
  if (res.detail) tail.push(res.detail);
  const lines = [`  [${step.index + 1}${step.id ? ` ${step.id}` : ''}] ${who}: ${opText(r)} → ${tail.join(' ')}`];
  const ind = '        ';
  // a run of faults on consecutive pages through the same handlers (a populate, mlock, gup of a range)
  // is one line: a 4 GiB MAP_POPULATE is a million faults
  const faults = res.faults;
  for (let i = 0; i < faults.length; ) {
    const f = faults[i]!;
    const chain = f.chain.join(' → ');
    let j = i + 1;
    while (j < faults.length && sameRun(faults[j - 1]!, faults[j]!)) j++;
    const rw = f.write ? 'write' : 'read';
    if (j - i < 3) {
      for (let n = i; n < j; n++) lines.push(`${ind}fault ${n + 1} ${rw} @${hex(faults[n]!.address)}: ${chain} = ${faults[n]!.result}`);
    } else {
      lines.push(`${ind}faults ${i + 1}–${j} ${rw} @${hex(f.address)}…${hex(faults[j - 1]!.address)} (${j - i} pages): ${chain} = ${f.result}`);
    }
    i = j;
  }
  if (o.pteBefore || o.pteAfter) lines.push(`${ind}pte: ${fmtPte(o.pteBefore, zeroPfn)} → ${fmtPte(o.pteAfter, zeroPfn)}`);
  if (o.normalPage !== undefined) lines.push(`${ind}vm_normal_page: ${o.normalPage === null ? 'NULL' : hex(o.normalPage)}`);
  const acct: string[] = [];
  if (o.page) {
    acct.push(`page ${hex(o.page.pfn)} count ${delta(o.page.before?.count, o.page.after?.count)} mapcount ${delta(o.page.before?.mapcount, o.page.after?.mapcount)}` +
      (o.page.after ? ` (now ${o.page.after.count}/${o.page.after.mapcount}${o.page.after.flags.length ? ` ${o.page.after.flags.join(',')}` : ''})` : ' (no struct page)'));
  }
  acct.push(`rss anon ${delta(o.rssBefore.anon, o.rssAfter.anon)} file ${delta(o.rssBefore.file, o.rssAfter.file)}`);
  const df = o.freePagesAfter - o.freePagesBefore;
  if (df !== 0) acct.push(`free pages ${df > 0 ? '+' : ''}${df}`);
  lines.push(`${ind}${acct.join('; ')}`);
  for (const rep of res.reports) lines.push(`${ind}report: ${rep}`);
  if (res.oops) {
    lines.push(`${ind}Oops: kernel BUG: ${res.oops.condition}`);
    lines.push(`${ind}  call chain: ${res.oops.chain.join(' → ')}`);
  }
  for (const v of o.violations) lines.push(`${ind}invariant violated: ${v}`);
  if (o.error) lines.push(`${ind}could not run: ${o.error}`);
  for (const c of r.checks) lines.push(`${ind}${fmtCheck(c)}`);
  return lines;
}

export function renderResult(r: ScenarioResult): string[] {
  const zero = r.state.machine.zeroPfn;
  const lines = [`scenario ${r.name} (${r.file}) — ${r.machine.arch} ${r.machine.kernel}`];
  // no spread: a populate step may print a million fault lines (too many arguments for push)
  for (const s of r.steps) for (const l of renderStep(s, zero)) lines.push(l);
  const checks = r.steps.flatMap((s) => s.checks);
  const failed = checks.filter((c) => !c.ok).length;
  const stepsOk = r.steps.filter((s) => s.passed).length;
  lines.push(`  end: every task exited; leaks: ${r.leaks.length ? '' : 'none'}${r.expectLeaks ? ' (expected: expectLeaks)' : ''}`);
  for (const l of r.leaks) lines.push(`        leak: ${l}`);
  if (r.violations.length) for (const v of r.violations) lines.push(`        invariant violated: ${v}`);
  if (r.expectLeaks && r.leaks.length === 0 && r.violations.length === 0) lines.push('        ✗ expectLeaks: the scenario expected leaks or violations, none were found');
  if (!r.expectLeaks && (r.leaks.length || r.violations.length)) lines.push('        ✗ leaks or invariant violations fail the verdict (set expectLeaks: true for kernel-bug scenarios)');
  lines.push(`  ${r.passed ? 'PASS' : 'FAIL'} ${r.name}: ${stepsOk}/${r.steps.length} steps, ${checks.length - failed}/${checks.length} checks passed`);
  return lines;
}
