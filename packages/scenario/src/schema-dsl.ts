// A small schema description language. The scenario format is written once in it (format.ts);
// the validator (validate.ts) and the JSON Schema in docs/scenario.schema.json are both derived
// from that one description, so they cannot drift apart.

export type Schema =
  | { kind: 'string'; doc?: string; enum?: readonly string[]; pattern?: string; patternHint?: string }
  | { kind: 'number'; doc?: string; integer?: boolean; minimum?: number }
  | { kind: 'boolean'; doc?: string }
  | { kind: 'null'; doc?: string }
  /** a byte count: a number, or a string with a K/M/G suffix ("64M", "128K", "0x1000") */
  | { kind: 'size'; doc?: string }
  /** a physical address or other plain number: a number or a hex string */
  | { kind: 'hex'; doc?: string }
  /** a virtual address expression: a number, "0x1000", "SYM", "SYM+0x1000", "SYM+3p", "task:SYM…" */
  | { kind: 'address'; doc?: string }
  /** a count change: a number or "+1"/"-1" (a delta relative to before the step), or "=2" (absolute) */
  | { kind: 'delta'; doc?: string }
  | { kind: 'list'; doc?: string; items: Schema; minItems?: number }
  | { kind: 'object'; doc?: string; fields: Record<string, Field>; additional?: Schema }
  /** an object whose keys are free-form (e.g. addresses) */
  | { kind: 'map'; doc?: string; keys: 'string' | 'address'; values: Schema }
  /** the first alternative whose `match` accepts the value is used to validate it */
  | { kind: 'oneOf'; doc?: string; options: readonly Schema[] }
  /** an object discriminated by one field: each variant lists its own fields; `fallback` takes tags matching a pattern */
  | {
      kind: 'tagged';
      doc?: string;
      tag: string;
      common: Record<string, Field>;
      variants: Record<string, { doc: string; fields: Record<string, Field> }>;
      fallback?: { pattern: string; patternHint: string; doc: string; fields: Record<string, Field>; additional: Schema };
    }
  | { kind: 'any'; doc?: string }
  /** a named schema: the JSON Schema puts it once under $defs and refers to it */
  | { kind: 'named'; name: string; schema: Schema; doc?: string };

export interface Field {
  schema: Schema;
  required?: boolean;
}

// Constructors (keep format.ts readable).
export const str = (doc?: string, extra: { enum?: readonly string[]; pattern?: string; patternHint?: string } = {}): Schema => ({ kind: 'string', doc, ...extra });
export const enumOf = (values: readonly string[], doc?: string): Schema => ({ kind: 'string', doc, enum: values });
export const num = (doc?: string): Schema => ({ kind: 'number', doc });
export const int = (doc?: string, minimum?: number): Schema => ({ kind: 'number', doc, integer: true, minimum });
export const bool = (doc?: string): Schema => ({ kind: 'boolean', doc });
export const nul = (doc?: string): Schema => ({ kind: 'null', doc });
export const size = (doc?: string): Schema => ({ kind: 'size', doc });
export const hex = (doc?: string): Schema => ({ kind: 'hex', doc });
export const address = (doc?: string): Schema => ({ kind: 'address', doc });
export const delta = (doc?: string): Schema => ({ kind: 'delta', doc });
export const list = (items: Schema, doc?: string, minItems?: number): Schema => ({ kind: 'list', items, doc, minItems });
export const obj = (fields: Record<string, Field>, doc?: string, additional?: Schema): Schema => ({ kind: 'object', fields, doc, additional });
export const map = (keys: 'string' | 'address', values: Schema, doc?: string): Schema => ({ kind: 'map', keys, values, doc });
export const oneOf = (options: readonly Schema[], doc?: string): Schema => ({ kind: 'oneOf', options, doc });
export const any = (doc?: string): Schema => ({ kind: 'any', doc });
export const named = (name: string, schema: Schema): Schema => ({ kind: 'named', name, schema });
export const req = (schema: Schema): Field => ({ schema, required: true });
export const opt = (schema: Schema): Field => ({ schema });

// ---- value syntaxes shared by the validator and the JSON Schema ----

export const SIZE_PATTERN = '^(0[xX][0-9a-fA-F]+|[0-9]+)\\s*([kKmMgG])?$';
export const HEX_PATTERN = '^0[xX][0-9a-fA-F]+$|^[0-9]+$';
/** [task:]SYM[+OFF] | [task:]0xNUM[+OFF]; OFF = 0xHEX | DEC | Np (pages) */
export const ADDRESS_PATTERN =
  '^(?:([A-Za-z_][\\w-]*):)?(?:(0[xX][0-9a-fA-F]+|[0-9]+)|([A-Za-z_]\\w*))(?:\\s*([+-])\\s*(0[xX][0-9a-fA-F]+|[0-9]+)(p)?)?$';
export const DELTA_PATTERN = '^([+-][0-9]+|=[0-9]+|[0-9]+)$';

/** "64M" → 67108864. Returns undefined when the text is not a size. */
export function parseSize(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = new RegExp(SIZE_PATTERN).exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const mult = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase() as 'k' | 'm' | 'g'] ?? 1;
  return n * mult;
}

export function parseHex(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? v : undefined;
  if (typeof v !== 'string' || !new RegExp(HEX_PATTERN).test(v.trim())) return undefined;
  return Number(v.trim());
}

/** A parsed virtual address expression. */
export interface AddrExpr {
  /** whose bindings (and page tables) the address refers to; undefined = the step's task */
  task?: string;
  /** symbol bound by an earlier `as:`; undefined for a literal */
  sym?: string;
  /** literal base, or offset from the symbol, in bytes */
  offset: number;
  /** the text as written, for messages */
  text: string;
}

export function parseAddress(v: unknown): AddrExpr | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? { offset: v, text: `0x${v.toString(16)}` } : undefined;
  if (typeof v !== 'string') return undefined;
  const m = new RegExp(ADDRESS_PATTERN).exec(v.trim());
  if (!m) return undefined;
  const [, task, lit, sym, sign, off, pages] = m;
  let offset = off === undefined ? 0 : Number(off) * (pages ? 4096 : 1);
  if (sign === '-') offset = -offset;
  const out: AddrExpr = { offset: lit !== undefined ? Number(lit) + offset : offset, text: v.trim() };
  if (task !== undefined) out.task = task;
  if (sym !== undefined) out.sym = sym;
  return out;
}

export interface Delta {
  kind: 'delta' | 'abs';
  n: number;
}

export function parseDelta(v: unknown): Delta | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? { kind: 'delta', n: v } : undefined;
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  if (!new RegExp(DELTA_PATTERN).test(t)) return undefined;
  if (t.startsWith('=')) return { kind: 'abs', n: Number(t.slice(1)) };
  return { kind: 'delta', n: Number(t) };
}

// ---- JSON Schema derivation ----

type Json = Record<string, unknown>;

function withDoc(s: Json, doc: string | undefined): Json {
  return doc ? { description: doc, ...s } : s;
}

function fieldsToJson(fields: Record<string, Field>, defs: Json): { properties: Json; required: string[] } {
  const properties: Json = {};
  const required: string[] = [];
  for (const [k, f] of Object.entries(fields)) {
    properties[k] = toJson(f.schema, defs);
    if (f.required) required.push(k);
  }
  return { properties, required };
}

/** The JSON Schema of a schema; named sub-schemas go once into `$defs`. */
export function toJsonSchema(s: Schema): Json {
  const defs: Json = {};
  const root = toJson(s, defs);
  return Object.keys(defs).length ? { ...root, $defs: defs } : root;
}

function toJson(s: Schema, defs: Json): Json {
  switch (s.kind) {
    case 'named':
      if (!(s.name in defs)) {
        defs[s.name] = {};
        defs[s.name] = toJson(s.schema, defs);
      }
      return { $ref: `#/$defs/${s.name}` };
    case 'string': {
      const j: Json = { type: 'string' };
      if (s.enum) j.enum = [...s.enum];
      if (s.pattern) j.pattern = s.pattern;
      return withDoc(j, s.doc);
    }
    case 'number':
      return withDoc({ type: s.integer ? 'integer' : 'number', ...(s.minimum !== undefined ? { minimum: s.minimum } : {}) }, s.doc);
    case 'boolean':
      return withDoc({ type: 'boolean' }, s.doc);
    case 'null':
      return withDoc({ type: 'null' }, s.doc);
    case 'size':
      return withDoc({ oneOf: [{ type: 'integer', minimum: 0 }, { type: 'string', pattern: SIZE_PATTERN }] }, s.doc);
    case 'hex':
      return withDoc({ oneOf: [{ type: 'integer', minimum: 0 }, { type: 'string', pattern: HEX_PATTERN }] }, s.doc);
    case 'address':
      return withDoc({ oneOf: [{ type: 'integer', minimum: 0 }, { type: 'string', pattern: ADDRESS_PATTERN }] }, s.doc);
    case 'delta':
      return withDoc({ oneOf: [{ type: 'integer' }, { type: 'string', pattern: DELTA_PATTERN }] }, s.doc);
    case 'list':
      return withDoc({ type: 'array', items: toJson(s.items, defs), ...(s.minItems ? { minItems: s.minItems } : {}) }, s.doc);
    case 'object': {
      const { properties, required } = fieldsToJson(s.fields, defs);
      return withDoc(
        {
          type: 'object',
          properties,
          ...(required.length ? { required } : {}),
          additionalProperties: s.additional ? toJson(s.additional, defs) : false,
        },
        s.doc,
      );
    }
    case 'map':
      return withDoc(
        {
          type: 'object',
          ...(s.keys === 'address' ? { propertyNames: { pattern: ADDRESS_PATTERN } } : {}),
          additionalProperties: toJson(s.values, defs),
        },
        s.doc,
      );
    case 'oneOf':
      return withDoc({ anyOf: s.options.map((o) => toJson(o, defs)) }, s.doc);
    case 'tagged': {
      const variants: Json[] = [];
      for (const [tag, v] of Object.entries(s.variants)) {
        const { properties, required } = fieldsToJson({ ...s.common, ...v.fields }, defs);
        properties[s.tag] = { const: tag };
        variants.push({
          description: v.doc,
          type: 'object',
          properties,
          required: [s.tag, ...required.filter((r) => r !== s.tag)],
          additionalProperties: false,
        });
      }
      if (s.fallback) {
        const { properties, required } = fieldsToJson({ ...s.common, ...s.fallback.fields }, defs);
        properties[s.tag] = { type: 'string', pattern: s.fallback.pattern };
        variants.push({
          description: s.fallback.doc,
          type: 'object',
          properties,
          required: [s.tag, ...required.filter((r) => r !== s.tag)],
          additionalProperties: toJson(s.fallback.additional, defs),
        });
      }
      return withDoc({ oneOf: variants }, s.doc);
    }
    case 'any':
      return withDoc({}, s.doc);
  }
}

/** Short human name of what a schema accepts, for error messages. */
export function describe(s: Schema): string {
  switch (s.kind) {
    case 'string':
      return s.enum ? `one of ${s.enum.join(', ')}` : s.patternHint ?? 'a string';
    case 'number':
      return s.integer ? (s.minimum === 0 ? 'a non-negative integer' : 'an integer') : 'a number';
    case 'boolean':
      return 'true or false';
    case 'null':
      return 'null';
    case 'size':
      return 'a size (a number, or a string like 64M, 128K, 0x1000)';
    case 'hex':
      return 'a number or a hex string like 0xA0000';
    case 'address':
      return 'an address (a number, 0x…, SYM, SYM+0x1000, SYM+3p, or task:SYM…)';
    case 'delta':
      return 'a change: a number or "+1"/"-1" (relative to before the step), or "=2" (absolute)';
    case 'list':
      return 'a list';
    case 'object':
    case 'map':
    case 'tagged':
      return 'a mapping';
    case 'oneOf':
      return s.options.map(describe).join(', or ');
    case 'any':
      return 'anything';
    case 'named':
      return describe(s.schema);
  }
}
