// Checks a YAML document against a Schema, walking the YAML nodes (not the plain JS value) so that
// every problem carries the line and column of the offending node. Produces the converted value
// (sizes and hex strings become numbers, addresses become AddrExpr, deltas become Delta).

import { LineCounter, parseDocument, isAlias, isMap, isPair, isScalar, isSeq, type Document, type Node } from 'yaml';
import {
  type Schema, type Field, type AddrExpr, describe, parseSize, parseHex, parseAddress, parseDelta, ADDRESS_PATTERN,
} from './schema-dsl.js';
import { Locations, joinPath, type ScenarioProblem } from './errors.js';

export interface ValidationResult {
  value: unknown;
  problems: ScenarioProblem[];
  locs: Locations;
}

type AnyNode = Node | null | undefined;

class Walker {
  readonly problems: ScenarioProblem[] = [];

  constructor(
    readonly doc: Document,
    readonly lc: LineCounter,
    readonly locs: Locations,
  ) {}

  loc(node: AnyNode): { line: number; column: number } {
    const off = node && (node as { range?: [number, number, number] }).range ? (node as { range: [number, number, number] }).range[0] : 0;
    const p = this.lc.linePos(off);
    return { line: p.line, column: p.col };
  }

  fail(node: AnyNode, path: string, message: string): undefined {
    const { line, column } = this.loc(node);
    this.problems.push({ file: this.locs.file, line, column, field: path, message });
    return undefined;
  }

  deref(node: AnyNode): AnyNode {
    let n = node;
    for (let i = 0; i < 100 && n && isAlias(n); i++) n = n.resolve(this.doc) as AnyNode;
    return n;
  }

  /** Validates node against s; returns the converted value, or undefined after reporting a problem. */
  walk(s: Schema, raw: AnyNode, path: string): unknown {
    const node = this.deref(raw);
    this.locs.set(path, this.loc(node ?? raw));
    const scalar = node && isScalar(node) ? node.value : undefined;
    const isScalarNode = !node || isScalar(node);
    const got = (): string => {
      if (!node) return 'nothing';
      if (isMap(node)) return 'a mapping';
      if (isSeq(node)) return 'a list';
      if (scalar === null) return 'null';
      if (typeof scalar === 'number' && !Number.isFinite(scalar)) return `number ${(node as { source?: string }).source ?? String(scalar)}`;
      return `${typeof scalar} ${JSON.stringify(scalar)}`;
    };
    const expected = (): undefined => this.fail(node ?? raw, path, `expected ${describe(s)}, got ${got()}`);
    // YAML 1.1 merge keys are not part of YAML 1.2 (the parser keeps "<<" as a plain key): say so
    if (node && isMap(node)) {
      const merge = node.items.find((p) => {
        const k = this.deref(p.key as AnyNode);
        return k && isScalar(k) && k.value === '<<';
      });
      if (merge) return this.fail(this.deref(merge.key as AnyNode), path, 'YAML merge keys (<<: *anchor) are not supported: write the fields out (an alias *anchor can stand for a whole value)');
    }

    switch (s.kind) {
      case 'named':
        return this.walk(s.schema, raw, path);
      case 'any':
        return node ? node.toJSON() : null;
      case 'null':
        return isScalarNode && (scalar === null || !node) ? null : expected();
      case 'boolean':
        return isScalarNode && typeof scalar === 'boolean' ? scalar : expected();
      case 'number': {
        if (!isScalarNode || typeof scalar !== 'number') return expected();
        if (s.integer && !Number.isInteger(scalar)) return expected();
        if (s.integer && !Number.isSafeInteger(scalar)) return this.fail(node, path, `${sourceOf(node, scalar)} is too large (integers here are exact up to 2^53−1)`);
        if (s.minimum !== undefined && scalar < s.minimum) return this.fail(node, path, `must be at least ${s.minimum}, got ${scalar}`);
        return scalar;
      }
      case 'string': {
        if (isScalarNode && node && (typeof scalar === 'number' || typeof scalar === 'boolean')) {
          const src = (node as { source?: string }).source ?? String(scalar);
          return this.fail(node, path, `expected ${describe(s)}, got ${typeof scalar} ${src} (quote it: "${src}")`);
        }
        if (!isScalarNode || typeof scalar !== 'string') return expected();
        if (s.enum && !s.enum.includes(scalar)) return this.fail(node, path, `unknown value "${scalar}" (expected one of: ${s.enum.join(', ')})`);
        if (s.pattern && !new RegExp(s.pattern).test(scalar)) return this.fail(node, path, `"${scalar}" is not ${describe(s)}`);
        return scalar;
      }
      case 'size': {
        const v = isScalarNode ? parseSize(scalar) : undefined;
        if (v === undefined) return expected();
        const bad = rangeProblem(exactValue('size', node, scalar), v, sourceOf(node, scalar));
        return bad ? this.fail(node, path, bad) : v;
      }
      case 'hex': {
        const v = isScalarNode ? parseHex(scalar) : undefined;
        if (v === undefined) return expected();
        const bad = rangeProblem(exactValue('hex', node, scalar), v, sourceOf(node, scalar));
        return bad ? this.fail(node, path, bad) : v;
      }
      case 'address': {
        const v = isScalarNode ? parseAddress(scalar) : undefined;
        if (v === undefined) return expected();
        const bad = addressProblem(v, node, scalar);
        return bad ? this.fail(node, path, bad) : v;
      }
      case 'delta': {
        const v = isScalarNode ? parseDelta(scalar) : undefined;
        if (v === undefined) return expected();
        return Number.isSafeInteger(v.n) ? v : this.fail(node, path, `${sourceOf(node, scalar)} is too large (counts are exact up to 2^53−1)`);
      }
      case 'list': {
        if (!node || !isSeq(node)) return expected();
        if (s.minItems && node.items.length < s.minItems) return this.fail(node, path, `needs at least ${s.minItems} item${s.minItems > 1 ? 's' : ''}`);
        return node.items.map((item, i) => this.walk(s.items, item as AnyNode, joinPath(path, i)));
      }
      case 'map': {
        if (!node || !isMap(node)) return expected();
        const out: Record<string, unknown> = {};
        for (const pair of node.items) {
          const key = this.deref(pair.key as AnyNode);
          const k = key && isScalar(key) ? key.value : undefined;
          const kp = joinPath(path, String(k));
          if (typeof k !== 'string' && typeof k !== 'number') {
            this.fail(key, path, 'keys must be plain strings');
            continue;
          }
          if (s.keys === 'address') {
            const a = parseAddress(k);
            const bad = a ? addressProblem(a, key, k) : `key "${k}" is not an address (a number, 0x…, SYM, SYM+0x1000, SYM+3p, or task:SYM…)`;
            if (bad) {
              this.fail(key, kp, bad);
              continue;
            }
          }
          out[String(k)] = this.walk(s.values, pair.value as AnyNode, kp);
        }
        return out;
      }
      case 'object':
        if (!node || !isMap(node)) return expected();
        return this.fields(node, path, s.fields, s.additional);
      case 'tagged': {
        if (!node || !isMap(node)) return expected();
        const tagPair = node.items.find((p) => isPair(p) && isScalar(this.deref(p.key as AnyNode)) && (this.deref(p.key as AnyNode) as { value: unknown }).value === s.tag);
        const tagPath = joinPath(path, s.tag);
        if (!tagPair) return this.fail(node, tagPath, `missing required field "${s.tag}"`);
        const tagNode = this.deref(tagPair.value as AnyNode);
        const tag = tagNode && isScalar(tagNode) ? tagNode.value : undefined;
        if (typeof tag !== 'string') {
          this.locs.set(tagPath, this.loc(tagNode ?? node));
          return this.fail(tagNode ?? node, tagPath, `expected a string, got ${tagNode ? JSON.stringify(tagNode.toJSON()) : 'nothing'}`);
        }
        const variant = Object.prototype.hasOwnProperty.call(s.variants, tag) ? s.variants[tag] : undefined;
        if (variant) return this.fields(node, path, { ...s.common, ...variant.fields });
        if (s.fallback && new RegExp(s.fallback.pattern).test(tag)) return this.fields(node, path, { ...s.common, ...s.fallback.fields }, s.fallback.additional);
        this.locs.set(tagPath, this.loc(tagNode));
        const near = closest(tag, Object.keys(s.variants));
        return this.fail(tagNode, tagPath, `unknown ${s.tag} "${tag}"${near ? ` (did you mean "${near}"?)` : ''} (known: ${Object.keys(s.variants).join(', ')}${s.fallback ? `, or ${s.fallback.patternHint}` : ''})`);
      }
      case 'oneOf': {
        // Pick the alternative by the node's shape so that nested problems are reported precisely.
        const shape = !node ? 'scalar' : isMap(node) ? 'map' : isSeq(node) ? 'seq' : 'scalar';
        const kindOf = (o: Schema): Schema['kind'] => (o.kind === 'named' ? kindOf(o.schema) : o.kind);
        const fits = (o: Schema): boolean =>
          shape === 'map' ? ['object', 'map', 'tagged', 'any'].includes(kindOf(o)) : shape === 'seq' ? ['list', 'any'].includes(kindOf(o)) : !['object', 'map', 'tagged', 'list'].includes(kindOf(o));
        const candidates = s.options.filter(fits);
        if (candidates.length === 0) return expected();
        if (candidates.length === 1 && shape !== 'scalar') return this.walk(candidates[0]!, node, path);
        for (const c of candidates) {
          const trial = new Walker(this.doc, this.lc, new Locations(this.locs.file));
          const v = trial.walk(c, node, path);
          if (trial.problems.length === 0) return this.walk(c, node, path) ?? v;
        }
        return expected();
      }
    }
  }

  fields(node: import('yaml').YAMLMap, path: string, fields: Record<string, Field>, additional?: Schema): Record<string, unknown> | undefined {
    const out: Record<string, unknown> = {};
    const seen = new Set<string>();
    let ok = true;
    for (const pair of node.items) {
      const key = this.deref(pair.key as AnyNode);
      const k = key && isScalar(key) ? key.value : undefined;
      if (typeof k !== 'string') {
        this.fail(key ?? node, path, 'field names must be plain strings');
        ok = false;
        continue;
      }
      const fp = joinPath(path, k);
      seen.add(k);
      const f = Object.prototype.hasOwnProperty.call(fields, k) ? fields[k] : undefined;
      if (!f && !additional) {
        this.locs.set(fp, this.loc(key));
        const known = Object.keys(fields);
        const near = closest(k, known);
        this.fail(key, fp, `unknown field "${k}"${near ? ` (did you mean "${near}"?)` : ''} (known: ${known.join(', ')})`);
        ok = false;
        continue;
      }
      const before = this.problems.length;
      const v = this.walk(f ? f.schema : additional!, pair.value as AnyNode, fp);
      if (this.problems.length > before) ok = false;
      else out[k] = v;
    }
    for (const [k, f] of Object.entries(fields)) {
      if (f.required && !seen.has(k)) {
        this.fail(node, joinPath(path, k), `missing required field "${k}"`);
        ok = false;
      }
    }
    return ok ? out : undefined;
  }
}

// ---- numbers: a size, pfn or address must be what was written, and fit an unsigned long ----

const MAX_U64 = (1n << 64n) - 1n;

/** The text of a scalar as written (a YAML number's source, e.g. "1e30"), for messages. */
function sourceOf(node: AnyNode, scalar: unknown): string {
  const src = (node as { source?: string } | null | undefined)?.source;
  return typeof scalar === 'string' ? JSON.stringify(scalar.trim()) : src ?? String(scalar);
}

/** An integer literal as written: decimal, 0x hex or 0o octal (YAML 1.2 core), else undefined. */
function bigOf(text: string): bigint | undefined {
  const t = text.trim();
  if (/^(0[xX][0-9a-fA-F]+|0[oO][0-7]+|[0-9]+)$/.test(t)) return BigInt(t.replace(/^0[oO]/, '0o'));
  return undefined;
}

/** The exact value a size or hex literal denotes (undefined when it cannot be told, e.g. 1e30). */
function exactValue(kind: 'size' | 'hex', node: AnyNode, scalar: unknown): bigint | undefined {
  if (typeof scalar === 'number') {
    const src = (node as { source?: string } | null | undefined)?.source;
    const b = src !== undefined ? bigOf(src) : undefined;
    if (b !== undefined) return b;
    return Number.isSafeInteger(scalar) ? BigInt(scalar) : undefined;
  }
  const t = String(scalar).trim();
  if (kind === 'hex') return bigOf(t);
  const m = /^(0[xX][0-9a-fA-F]+|[0-9]+)\s*([kKmMgG])?$/.exec(t);
  if (!m) return undefined;
  const shift = { k: 10n, m: 20n, g: 30n }[(m[2] ?? '').toLowerCase() as 'k' | 'm' | 'g'] ?? 0n;
  return BigInt(m[1]!) << shift;
}

/** Why a number cannot be used as written (too large for 64 bits, or not exact as a double). */
function rangeProblem(exact: bigint | undefined, v: number, text: string): string | undefined {
  if (Number.isSafeInteger(v) && (exact === undefined || exact === BigInt(v))) return undefined;
  if (exact === undefined || exact > MAX_U64) return `${text} is too large (the largest is 2^64−1, 0xffffffffffffffff)`;
  if (BigInt(v) !== exact) return `${text} cannot be used exactly: numbers above 2^53 lose precision (it would become ${v})`;
  return undefined;
}

function addressProblem(a: AddrExpr, node: AnyNode, scalar: unknown): string | undefined {
  const text = sourceOf(node, scalar);
  if (typeof scalar === 'number') return rangeProblem(exactValue('hex', node, scalar), a.offset, text);
  const m = new RegExp(ADDRESS_PATTERN).exec(String(scalar).trim())!;
  const [, , lit, , sign, off, pages] = m;
  let exact = off === undefined ? 0n : BigInt(off) * (pages ? 4096n : 1n);
  if (sign === '-') exact = -exact;
  if (lit !== undefined) exact += BigInt(lit);
  const abs = exact < 0n ? -exact : exact;
  const absV = Math.abs(a.offset);
  if (lit !== undefined && exact < 0n) return `${text} is a negative address`;
  if (abs > MAX_U64) return `${text} is too large (an address is at most 2^64−1, 0xffffffffffffffff)`;
  if (!Number.isSafeInteger(absV) && BigInt(absV) !== abs) return `${text} cannot be used exactly: numbers above 2^53 lose precision (it would become 0x${absV.toString(16)})`;
  return undefined;
}

/** Edit distance ≤ 2 suggestion. */
function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

function levenshtein(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

/** A YAML parser error as a scenario problem's message (first line; the parser's API terms replaced). */
export function yamlErrorMessage(message: string): string {
  const msg = message.split('\n')[0]!;
  // the yaml parser recurses per nesting level; a stack overflow means absurdly deep nesting
  const why = /Maximum call stack/i.test(msg) ? 'the document is nested too deeply'
    : /multiple documents/i.test(msg) ? 'the file holds more than one YAML document (a --- line): one scenario per file'
    : msg;
  return `YAML syntax error: ${why}`;
}

/** Parses YAML text and validates it against a schema. */
export function parseAndValidate(text: string, file: string, schema: Schema): ValidationResult {
  const lc = new LineCounter();
  const locs = new Locations(file);
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, keepSourceTokens: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const p = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
      return { file, line: p.line, column: p.col, field: '', message: yamlErrorMessage(e.message) };
    });
    return { value: undefined, problems, locs };
  }
  const w = new Walker(doc, lc, locs);
  const contents = doc.contents as AnyNode;
  if (!contents || (isScalar(contents) && contents.value === null)) {
    return { value: undefined, problems: [{ file, line: 1, column: 1, field: '', message: 'the file is empty (expected a scenario mapping)' }], locs };
  }
  let value: unknown;
  try {
    value = w.walk(schema, contents, '');
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    return { value: undefined, problems: [{ file, line: 1, column: 1, field: '', message: 'the document is nested too deeply' }], locs };
  }
  return { value, problems: w.problems, locs };
}
