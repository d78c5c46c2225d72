// A litmus test is a scenario file with three more top-level fields: `race` (the ids of the steps
// that run concurrently — each thread runs its race steps in file order, the other steps run first
// as the initial state), `condition` (exists / ~exists / forall over the final state) and an
// optional `observe` (more locations to list per final state). The rest is validated by the
// scenario loader, with line and column kept.

import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { loadScenario, readScenarioText, yamlErrorMessage, ScenarioError, type LoadedScenario, type LoadOptions, type Step } from '@mixedmap/scenario';
import { parseCondition, locations, unknownWords, PredicateError, FUNCTIONS, OUTCOME_WORDS, type Condition, type Expr } from './predicate.js';

export interface Litmus {
  scenario: LoadedScenario;
  /** the initial steps, run in order before the race */
  init: Step[];
  /** thread name → its race steps in order */
  threads: Map<string, Step[]>;
  condition: Condition;
  /** extra locations listed in each final state */
  observe: Expr[];
}

const LITMUS_KEYS = ['race', 'condition', 'observe'];

export async function loadLitmus(src: string | { text: string; file: string }, opts: LoadOptions = {}): Promise<Litmus> {
  const file = typeof src === 'string' ? src : src.file;
  let text: string;
  if (typeof src === 'string') {
    text = await readScenarioText(src, 'the litmus test');
  } else {
    text = src.text;
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, keepSourceTokens: true, prettyErrors: false, uniqueKeys: true });
  const at = (node: Node | null | undefined, field: string, message: string): ScenarioError => {
    const pos = node?.range ? lc.linePos(node.range[0]) : { line: 1, col: 1 };
    return new ScenarioError([{ file, line: pos.line, column: pos.col, field, message }]);
  };
  // YAML errors first: blanking the litmus fields out below could hide one (a duplicate
  // condition:, an unclosed race: [ list) from the scenario loader
  if (doc.errors.length) {
    throw new ScenarioError(doc.errors.map((e) => {
      const p = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
      return { file, line: p.line, column: p.col, field: '', message: yamlErrorMessage(e.message) };
    }));
  }
  // blank the litmus fields out (same length, newlines kept) so the scenario loader keeps positions
  let blanked = text;
  const found = new Map<string, { key: Node; value: Node | null }>();
  if (isMap(doc.contents)) {
    for (const pair of doc.contents.items) {
      const key = pair.key as Node;
      if (!isScalar(key) || !LITMUS_KEYS.includes(String(key.value))) continue;
      found.set(String(key.value), { key, value: pair.value as Node | null });
      const from = key.range![0];
      const to = (pair.value as Node | null)?.range?.[2] ?? key.range![2];
      blanked = blanked.slice(0, from) + blanked.slice(from, to).replace(/[^\n]/g, ' ') + blanked.slice(to);
    }
  }
  const scenario = await loadScenario({ text: blanked, file }, opts);

  const race = found.get('race');
  if (!race) throw at(doc.contents as Node, 'race', 'a litmus test needs `race:` — the ids of the steps that run concurrently');
  if (!isSeq(race.value) || race.value.items.length === 0) throw at(race.value ?? race.key, 'race', 'race must be a non-empty list of step ids');
  const byId = new Map(scenario.steps.filter((s) => s.id !== undefined).map((s) => [s.id!, s]));
  const raceSteps = new Set<Step>();
  race.value.items.forEach((item, i) => {
    const id = isScalar(item) ? String(item.value) : '';
    const step = byId.get(id);
    if (!step) throw at(item as Node, `race[${i}]`, `no step with id "${id}" (ids: ${[...byId.keys()].join(', ') || 'none'})`);
    if (raceSteps.has(step)) throw at(item as Node, `race[${i}]`, `step "${id}" is listed twice in race`);
    if (step.expect) throw at(item as Node, `race[${i}]`, `step "${id}" has an expect: a race step's result depends on the interleaving; state it in condition`);
    raceSteps.add(step);
  });
  const threads = new Map<string, Step[]>();
  let lastInit = -1;
  for (const s of scenario.steps) {
    if (raceSteps.has(s)) {
      if (!threads.has(s.thread)) threads.set(s.thread, []);
      threads.get(s.thread)!.push(s);
    } else {
      if (raceSteps.size && [...raceSteps].some((r) => r.index < s.index)) {
        throw at(race.value, 'race', `step ${s.id ?? s.index + 1} comes after a race step but is not in race: the initial steps come first`);
      }
      lastInit = s.index;
    }
  }
  void lastInit;
  if (threads.size < 1) throw at(race.value, 'race', 'race names no step');

  const cond = found.get('condition');
  if (!cond || !isScalar(cond.value)) throw at(cond?.value ?? (doc.contents as Node), 'condition', 'a litmus test needs `condition:` such as "~exists (oops)"');
  let condition: Condition;
  try {
    condition = parseCondition(String(cond.value.value));
  } catch (e) {
    if (!(e instanceof PredicateError)) throw e;
    throw at(cond.value, 'condition', `${e.message} (at column ${e.column + 1} of the condition)`);
  }
  const checkWords = (e: Expr, field: string, node: Node | null | undefined): void => {
    const bad = unknownWords(e);
    if (bad.length) {
      throw at(node, field, `unknown word${bad.length > 1 ? 's' : ''} ${bad.map((w) => `"${w}"`).join(', ')} (known: true, false, leaked, doubleInstall, oops, free; outcomes ${OUTCOME_WORDS.join(', ')}; errno names such as EFAULT)`);
    }
  };
  checkWords(condition.expr, 'condition', cond.value);
  const observe: Expr[] = [];
  const obs = found.get('observe');
  if (obs) {
    if (!isSeq(obs.value)) throw at(obs.value ?? obs.key, 'observe', 'observe must be a list of locations such as pte(m).pfn');
    obs.value.items.forEach((item, i) => {
      try {
        observe.push(parseCondition(`exists (${isScalar(item) ? String(item.value) : ''})`).expr);
      } catch (e) {
        if (!(e instanceof PredicateError)) throw e;
        throw at(item as Node, `observe[${i}]`, e.message);
      }
      checkWords(observe[observe.length - 1]!, `observe[${i}]`, item as Node);
    });
  }
  // every location must name a known thread, task or bound symbol
  const tasks = new Set(scenario.tasks.map((t) => t.name));
  for (const s of scenario.steps) if (s.op === 'fork' && typeof s.args.child === 'string') tasks.add(s.args.child);
  const allThreads = new Set(scenario.tasks.flatMap((t) => [t.name, ...t.threads]));
  // fork children and clone threads exist from their step on, and can race
  for (const s of scenario.steps) {
    if (s.op === 'fork' && typeof s.args.child === 'string') allThreads.add(s.args.child);
    if (s.op === 'clone' && typeof s.args.name === 'string') allThreads.add(s.args.name);
  }
  const symbols = new Set<string>();
  for (const s of scenario.steps) if (typeof s.args.as === 'string') symbols.add(s.args.as);
  const checkLoc = (e: Expr, field: string, node: Node | null | undefined) => {
    if (e.k !== 'call') return;
    const spec = FUNCTIONS[e.fn]!;
    const arg = e.arg;
    if (spec.arg === 'thread' || (spec.arg === 'thread?' && arg)) {
      if (!allThreads.has(arg)) throw at(node, field, `${e.fn}(${arg}): unknown thread "${arg}" (threads: ${[...allThreads].join(', ')})`);
    } else if (spec.arg === 'task') {
      if (!tasks.has(arg)) throw at(node, field, `${e.fn}(${arg}): unknown task "${arg}" (tasks: ${[...tasks].join(', ')})`);
    } else if (spec.arg === 'addr') {
      const m = /^(?:([A-Za-z_][\w-]*):)?([A-Za-z_][\w-]*)?\s*(?:\+\s*(0x[0-9a-fA-F]+|\d+p?))?$|^(0x[0-9a-fA-F]+)$/.exec(arg);
      if (!m) throw at(node, field, `${e.fn}(${arg}): not an address (SYM, SYM+0x1000, SYM+2p, task:SYM or 0x…)`);
      if (m[1] && !tasks.has(m[1])) throw at(node, field, `${e.fn}(${arg}): unknown task "${m[1]}"`);
      if (m[2] && !symbols.has(m[2])) throw at(node, field, `${e.fn}(${arg}): unknown address symbol "${m[2]}" (bound by as: ${[...symbols].join(', ') || 'none'})`);
    }
  };
  for (const l of locations(condition.expr)) checkLoc(l, 'condition', cond.value);
  observe.forEach((o, i) => locations(o).forEach((l) => checkLoc(l, `observe[${i}]`, obs?.value)));

  return { scenario, init: scenario.steps.filter((s) => !raceSteps.has(s)), threads, condition, observe };
}
