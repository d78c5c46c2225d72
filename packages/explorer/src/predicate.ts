// Litmus-style final-state conditions: `exists (…)`, `~exists (…)`, `forall (…)` over ptes, page
// counts and mapcounts, rss, leaked frames, thread outcomes and reports — herd7's condition
// language, with mixedmap's locations instead of memory cells.
//
//   cond    := ('exists' | '~exists' | 'forall') '(' expr ')'
//   expr    := or ;  or := and ('||' and)* ;  and := not ('&&' not)* ;  not := '!' not | cmp
//   cmp     := atom (('==' | '!=' | '<' | '<=' | '>' | '>=') atom)?
//   atom    := NUMBER | WORD | '(' expr ')' | FN '(' ARG ')' ('.' FIELD)?
//   FN      := pte | count | mapcount | normal | rss | outcome | oops | reports
//   WORD    := true | false | leaked | doubleInstall | oops | an outcome name (ok, oops, SIGBUS, …)

export type Quantifier = 'exists' | '~exists' | 'forall';

export type Expr =
  | { k: 'num'; v: number }
  | { k: 'word'; v: string }
  | { k: 'call'; fn: string; arg: string; field?: string }
  | { k: 'not'; e: Expr }
  | { k: 'bin'; op: string; l: Expr; r: Expr };

export interface Condition {
  quantifier: Quantifier;
  expr: Expr;
  text: string;
}

export class PredicateError extends Error {
  constructor(message: string, readonly column: number) {
    super(message);
  }
}

const FNS: Record<string, { fields?: string[]; arg: 'addr' | 'task' | 'thread' | 'thread?' | 'text' }> = {
  pte: { fields: ['present', 'none', 'write', 'dirty', 'young', 'special', 'pfn'], arg: 'addr' },
  count: { arg: 'addr' },
  mapcount: { arg: 'addr' },
  normal: { arg: 'addr' },
  rss: { fields: ['anon', 'file'], arg: 'task' },
  outcome: { arg: 'thread' },
  oops: { arg: 'thread?' },
  reports: { arg: 'text' },
};

const WORDS = new Set(['true', 'false', 'leaked', 'doubleInstall', 'oops', 'free']);

export function parseCondition(text: string): Condition {
  const m = /^\s*(~exists|exists|forall)\s*(.*)$/s.exec(text);
  if (!m) throw new PredicateError('a condition starts with exists, ~exists or forall', 0);
  const quantifier = m[1] as Quantifier;
  const body = m[2]!;
  const offset = text.length - body.length;
  const p = new Parser(body, offset);
  const expr = p.expr();
  p.end();
  return { quantifier, expr, text: text.trim() };
}

/** Bare words a condition may compare an outcome(THREAD) with (besides the WORDS and errno names). */
export const OUTCOME_WORDS = ['ok', 'SIGSEGV', 'SIGBUS', 'OOM', 'oops', 'livelock', 'error', 'none'];

/** Every bare word of a condition that is neither a location word nor an outcome or errno name. */
export function unknownWords(e: Expr, out: string[] = []): string[] {
  if (e.k === 'word' && !WORDS.has(e.v) && !OUTCOME_WORDS.includes(e.v) && !/^E[A-Z0-9]+$/.test(e.v) && !out.includes(e.v)) out.push(e.v);
  else if (e.k === 'not') unknownWords(e.e, out);
  else if (e.k === 'bin') {
    unknownWords(e.l, out);
    unknownWords(e.r, out);
  }
  return out;
}

/** Parentheses and negations nest at most this deep (the parser recurses per level). */
const MAX_NESTING = 100;

class Parser {
  private i = 0;
  private depth = 0;
  constructor(private readonly s: string, private readonly offset: number) {}

  private ws(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i]!)) this.i++;
  }
  private fail(msg: string): never {
    throw new PredicateError(msg, this.offset + this.i);
  }
  private peek(t: string): boolean {
    this.ws();
    return this.s.startsWith(t, this.i);
  }
  private eat(t: string): boolean {
    if (!this.peek(t)) return false;
    this.i += t.length;
    return true;
  }
  end(): void {
    this.ws();
    if (this.i < this.s.length) this.fail(`unexpected "${this.s.slice(this.i, this.i + 12)}"`);
  }
  expr(): Expr {
    if (++this.depth > MAX_NESTING) this.fail(`the condition nests more than ${MAX_NESTING} levels deep`);
    let l = this.and();
    while (this.eat('||')) l = { k: 'bin', op: '||', l, r: this.and() };
    this.depth--;
    return l;
  }
  private and(): Expr {
    let l = this.not();
    while (this.eat('&&')) l = { k: 'bin', op: '&&', l, r: this.not() };
    return l;
  }
  private not(): Expr {
    if (this.peek('!') && !this.peek('!=')) {
      this.i++;
      if (++this.depth > MAX_NESTING) this.fail(`the condition nests more than ${MAX_NESTING} levels deep`);
      const e: Expr = { k: 'not', e: this.not() };
      this.depth--;
      return e;
    }
    return this.cmp();
  }
  private cmp(): Expr {
    const l = this.atom();
    for (const op of ['==', '!=', '<=', '>=', '<', '>']) {
      if (this.eat(op)) return { k: 'bin', op, l, r: this.atom() };
    }
    return l;
  }
  private atom(): Expr {
    this.ws();
    if (this.eat('(')) {
      const e = this.expr();
      if (!this.eat(')')) this.fail('missing ")"');
      return e;
    }
    const num = /^(0x[0-9a-fA-F]+|-?\d+)/.exec(this.s.slice(this.i));
    if (num) {
      const v = Number(num[0]);
      if (!Number.isSafeInteger(v)) this.fail(`${num[0]} is too large (numbers are exact up to 2^53−1)`);
      this.i += num[0].length;
      return { k: 'num', v };
    }
    const w = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.i));
    if (!w) this.fail('expected a value, a location such as pte(m).present, or "("');
    const start = this.i;
    this.i += w[0].length;
    const word = w[0];
    if (this.peek('(') && word in FNS) {
      this.i = this.s.indexOf('(', this.i) + 1;
      const close = this.s.indexOf(')', this.i);
      if (close < 0) this.fail('missing ")"');
      const arg = this.s.slice(this.i, close).trim();
      this.i = close + 1;
      const spec = FNS[word]!;
      if (!arg && spec.arg !== 'thread?') this.fail(`${word}() needs an argument`);
      let field: string | undefined;
      if (spec.fields) {
        if (!this.eat('.')) this.fail(`${word}(${arg}) needs a field: .${spec.fields.join(' .')}`);
        const f = /^[A-Za-z]+/.exec(this.s.slice(this.i));
        if (!f || !spec.fields.includes(f[0])) this.fail(`unknown field of ${word}(): known ${spec.fields.join(', ')}`);
        this.i += f[0].length;
        field = f[0];
      }
      return { k: 'call', fn: word, arg, ...(field ? { field } : {}) };
    }
    if (word in FNS && word !== 'oops') {
      this.i = start;
      this.fail(`${word} needs an argument in parentheses`);
    }
    return { k: 'word', v: word };
  }
}

/** Every location (call) and word a condition mentions, for validation and for the States listing. */
export function locations(e: Expr, out: Expr[] = []): Expr[] {
  if (e.k === 'call') out.push(e);
  else if (e.k === 'word' && WORDS.has(e.v) && e.v !== 'true' && e.v !== 'false') out.push(e);
  else if (e.k === 'not') locations(e.e, out);
  else if (e.k === 'bin') {
    locations(e.l, out);
    locations(e.r, out);
  }
  return out;
}

export function locationText(e: Expr): string {
  if (e.k === 'call') return `${e.fn}(${e.arg})${e.field ? '.' + e.field : ''}`;
  if (e.k === 'word') return e.v;
  return '?';
}

export type Value = number | boolean | string;

/** Evaluates with a lookup for locations; bare words that are not locations are strings (outcome names). */
export function evaluate(e: Expr, look: (loc: Expr) => Value): Value {
  switch (e.k) {
    case 'num':
      return e.v;
    case 'word':
      if (e.v === 'true') return true;
      if (e.v === 'false') return false;
      return WORDS.has(e.v) ? look(e) : e.v;
    case 'call':
      return look(e);
    case 'not':
      return !truthy(evaluate(e.e, look));
    case 'bin': {
      if (e.op === '&&') return truthy(evaluate(e.l, look)) && truthy(evaluate(e.r, look));
      if (e.op === '||') return truthy(evaluate(e.l, look)) || truthy(evaluate(e.r, look));
      const l = evaluate(e.l, look);
      const r = evaluate(e.r, look);
      switch (e.op) {
        case '==': return l === r;
        case '!=': return l !== r;
        case '<': return (l as number) < (r as number);
        case '<=': return (l as number) <= (r as number);
        case '>': return (l as number) > (r as number);
        default: return (l as number) >= (r as number);
      }
    }
  }
}

export function truthy(v: Value): boolean {
  return typeof v === 'number' ? v !== 0 : typeof v === 'string' ? v.length > 0 : v;
}

export const FUNCTIONS = FNS;
