// herd7-shaped output: the test and its verdict, `States N` with each distinct final state,
// Ok/No, `Positive: P Negative: N`, the condition, `Observation NAME Always|Sometimes|Never P N`;
// then what mixedmap adds: interleavings per state, states explored, and a counterexample trace.

import type { ExploreResult, TraceMove } from './explore.js';

const KIND = { exists: 'Allowed', '~exists': 'Forbidden', forall: 'Required' } as const;

function fmt(v: unknown): string {
  return typeof v === 'number' && Number.isInteger(v) && v > 255 ? `0x${v.toString(16)}` : String(v);
}

export function renderTrace(trace: TraceMove[]): string[] {
  return trace.map((m, i) => {
    const pte = m.pteBefore === m.pteAfter ? `pte ${m.pteAfter || '-'}` : `pte ${m.pteBefore || '-'} → ${m.pteAfter || '-'}`;
    return `  ${String(i + 1).padStart(2)}. ${m.thread.padEnd(4)} ${m.step.padEnd(18)} ${m.then}  [${pte}]`;
  });
}

export function renderExplore(r: ExploreResult): string {
  const out: string[] = [];
  out.push(`Test ${r.name} ${KIND[r.quantifier as keyof typeof KIND] ?? r.quantifier}`);
  out.push(`States ${r.states.length}`);
  for (const s of r.states) {
    const vals = Object.entries(s.values).map(([k, v]) => `${k}=${fmt(v)};`).join(' ');
    out.push(`${vals}   (${s.interleavings} interleaving${s.interleavings === 1 ? '' : 's'}${s.holds ? ', condition holds' : ''})`);
    for (const v of s.violations) out.push(`  invariant violated: ${v}`);
  }
  out.push(r.ok ? 'Ok' : 'No');
  out.push('Witnesses');
  out.push(`Positive: ${r.positive} Negative: ${r.negative}`);
  out.push(`Condition ${r.condition}`);
  out.push(`Observation ${r.name} ${r.observation} ${r.positive} ${r.negative}`);
  out.push(`Interleavings ${r.interleavings}, states explored ${r.statesExplored}, ${r.elapsedMs.toFixed(0)} ms`);
  if (r.cut) out.push(`Note: the exploration was cut: ${r.cut}; the counts cover only what was explored`);
  if (r.counterexample) {
    out.push(`Counterexample (${r.counterexample.reason}), ${r.counterexample.trace.length} moves:`);
    out.push(...renderTrace(r.counterexample.trace));
  }
  return out.join('\n') + '\n';
}

/** The stable JSON shape of `mixedmap explore --json` (docs/cli.md). */
export function exploreJson(r: ExploreResult): unknown {
  return {
    test: r.name,
    condition: r.condition,
    quantifier: r.quantifier,
    ok: r.ok,
    observation: r.observation,
    positive: r.positive,
    negative: r.negative,
    interleavings: r.interleavings,
    statesExplored: r.statesExplored,
    cut: r.cut,
    states: r.states.map((s) => ({ values: s.values, holds: s.holds, interleavings: s.interleavings, oops: s.oops, violations: s.violations })),
    counterexample: r.counterexample,
  };
}
