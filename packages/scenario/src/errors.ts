// Every problem with a scenario file (bad YAML, schema, references, plugins, machine config) is a
// ScenarioError naming the file, 1-based line and column, and the field path (steps[3].expect.pte.pfn).

export interface Loc {
  line: number;
  column: number;
}

export interface ScenarioProblem {
  file: string;
  line: number;
  column: number;
  /** field path, e.g. "steps[3].expect.pte.pfn"; "" for the document itself */
  field: string;
  message: string;
}

export class ScenarioError extends Error implements ScenarioProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly field: string;
  /** every problem found (the first one is this error's own) */
  readonly problems: ScenarioProblem[];

  constructor(problems: ScenarioProblem[]) {
    const first = problems[0] ?? { file: '<unknown>', line: 0, column: 0, field: '', message: 'invalid scenario' };
    super(formatProblem(first));
    this.name = 'ScenarioError';
    this.file = first.file;
    this.line = first.line;
    this.column = first.column;
    this.field = first.field;
    this.problems = problems.length ? problems : [first];
  }

  /** The bare message of the first problem (without file, position and field). */
  get reason(): string {
    return this.problems[0]!.message;
  }
}

export function formatProblem(p: ScenarioProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.field ? `${p.field}: ` : ''}${p.message}`;
}

export function isScenarioError(e: unknown): e is ScenarioError {
  return e instanceof ScenarioError;
}

/** Locations of every field of a loaded scenario, by path; used for errors found after validation. */
export class Locations {
  private readonly map = new Map<string, Loc>();
  constructor(readonly file: string) {}

  set(path: string, loc: Loc): void {
    this.map.set(path, loc);
  }

  /** The location of a path, or of its nearest recorded ancestor. */
  get(path: string): Loc {
    let p = path;
    for (;;) {
      const l = this.map.get(p);
      if (l) return l;
      if (!p) return { line: 1, column: 1 };
      p = parentPath(p);
    }
  }

  problem(field: string, message: string): ScenarioProblem {
    const { line, column } = this.get(field);
    return { file: this.file, line, column, field, message };
  }

  error(field: string, message: string): ScenarioError {
    return new ScenarioError([this.problem(field, message)]);
  }
}

export function parentPath(p: string): string {
  const m = /^(.*?)(?:\.[^.[\]]+|\[[^\]]*\])$/.exec(p);
  return m ? m[1]! : '';
}

export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  if (!/^[A-Za-z_$][\w$]*$/.test(key)) return `${base}[${key}]`;
  return base ? `${base}.${key}` : key;
}
