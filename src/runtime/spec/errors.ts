// The one error type of the container-spec core: every problem carries the field path at fault
// (`spec.containers[0].resources.limits.memory`), and a validator reports all of them at once.

export interface FieldProblem {
  path: string;
  message: string;
}

export class SpecError extends Error {
  readonly problems: readonly FieldProblem[];

  constructor(problems: FieldProblem | readonly FieldProblem[]) {
    const list = Array.isArray(problems) ? [...problems] : [problems as FieldProblem];
    super(list.map(formatProblem).join('\n'));
    this.name = new.target.name;
    this.problems = list;
  }

  /** The first problem's field path (most callers have exactly one). */
  get path(): string {
    return this.problems[0]?.path ?? '';
  }
}

export const formatProblem = (p: FieldProblem) => (p.path ? `${p.path}: ${p.message}` : p.message);

/** Throws one SpecError naming every problem, or returns quietly when there are none. */
export function throwIfProblems(problems: readonly FieldProblem[]): void {
  if (problems.length > 0) throw new SpecError(problems);
}

/** Joins a field path and a key: `a.b` for names, `a[2]` for indexes. */
export function fieldPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return base ? `${base}.${key}` : key;
}
