// .dockerignore with Docker's semantics: the file is read as moby/patternmatcher's ignorefile reads
// it, and paths are matched as BuildKit's context transfer (tonistiigi/fsutil's filtered walk over
// patternmatcher) matches them: patterns in order, the last one that matches decides, `!` takes a
// path back, and a pattern matching a directory covers everything below it. Pure code: the caller
// walks the context directory and asks.

import { checkGlobSyntax, cleanPath, compileIgnorePattern, IgnorePatternError } from './ignore-pattern.ts';

export { IgnorePatternError } from './ignore-pattern.ts';

const trimSpace = (s: string) => s.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, '');

/**
 * The patterns of a .dockerignore: `#` lines (the `#` in the first column) are comments, blank lines
 * are skipped, each pattern is trimmed and cleaned (`./a//b/` is `a/b`), a leading `/` is dropped,
 * and a `!` prefix is kept to mark an exception.
 */
export function parseDockerignore(text: string): string[] {
  const patterns: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  for (const rawLine of lines) {
    const line = rawLine.replace(/\r$/, '');
    if (line.startsWith('#')) continue;
    let pattern = trimSpace(line);
    if (pattern === '') continue;
    const exception = pattern.startsWith('!');
    if (exception) pattern = trimSpace(pattern.slice(1));
    if (pattern !== '') {
      pattern = cleanPath(pattern);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    patterns.push(exception ? '!' + pattern : pattern);
  }
  return patterns;
}

interface Pattern {
  text: string;
  exception: boolean;
  matches: (path: string) => boolean;
}

/** Characters that make an exception pattern more than a plain path (fsutil's patternChars). */
const GLOB_CHARS = /[*[\]?^\\]/;

export class IgnoreMatcher {
  private readonly patterns: Pattern[] = [];
  /** Per directory, which patterns matched it or a parent: what fsutil's walk carries down. */
  private readonly dirResults = new Map<string, boolean[]>();
  private readonly exceptions: string[] = [];
  private readonly onlyPlainExceptions: boolean;

  /** Throws IgnorePatternError for a lone `!` or a malformed pattern (`[`, a trailing `\`). */
  constructor(patterns: readonly string[]) {
    for (const written of patterns) {
      let text = trimSpace(written);
      if (text === '') continue;
      text = cleanPath(text);
      const exception = text.startsWith('!');
      if (exception) {
        if (text.length === 1) throw new IgnorePatternError(written, 'illegal exclusion pattern: "!"');
        text = text.slice(1);
      }
      let matches: (path: string) => boolean;
      try {
        checkGlobSyntax(text);
        matches = compileIgnorePattern(text);
      } catch (err) {
        throw new IgnorePatternError(written, (err as Error).message);
      }
      this.patterns.push({ text, exception, matches });
      if (exception) this.exceptions.push(withoutTrailingGlob(text));
    }
    this.onlyPlainExceptions = this.exceptions.every((e) => !GLOB_CHARS.test(e));
  }

  /** Whether a path (relative to the context, `/`-separated) is left out of the build context. */
  excludes(relPath: string): boolean {
    const path = normalize(relPath);
    if (path === '.') return false;
    const parts = path.split('/');
    const parent = parts.length > 1 ? this.resultsFor(parts.slice(0, -1).join('/')) : undefined;
    return this.evaluate(path, parent).excluded;
  }

  /**
   * For an excluded directory: whether the walker must still go inside, because an exception could
   * take something below it back. As fsutil decides it: always when some exception has wildcards;
   * otherwise when an exception (without a trailing `/*` or `/**`) lies inside the directory.
   */
  mayHaveExceptionsBelow(dirRelPath: string): boolean {
    if (this.exceptions.length === 0) return false;
    if (!this.onlyPlainExceptions) return true;
    const dir = normalize(dirRelPath);
    if (dir === '.') return true;
    return this.exceptions.some((e) => (e + '/').startsWith(dir + '/'));
  }

  /** The per-pattern results of a directory, computed from the top down and remembered. */
  private resultsFor(dir: string): boolean[] {
    const known = this.dirResults.get(dir);
    if (known) return known;
    const slash = dir.lastIndexOf('/');
    const parent = slash < 0 ? undefined : this.resultsFor(dir.slice(0, slash));
    const { perPattern } = this.evaluate(dir, parent);
    this.dirResults.set(dir, perPattern);
    return perPattern;
  }

  /**
   * patternmatcher's MatchesUsingParentResults: a pattern that matched the parent matches the child;
   * a pattern that cannot change the answer so far (an exception while nothing is excluded, or an
   * exclusion while already excluded) is not tried, and then does not count as matched for children.
   */
  private evaluate(path: string, parent: boolean[] | undefined): { excluded: boolean; perPattern: boolean[] } {
    let excluded = false;
    const perPattern = this.patterns.map(() => false);
    this.patterns.forEach((pattern, i) => {
      let match = parent?.[i] ?? false;
      if (!match) {
        if (pattern.exception !== excluded) return;
        match = pattern.matches(path);
      }
      perPattern[i] = match;
      if (match) excluded = !pattern.exception;
    });
    return { excluded, perPattern };
  }
}

function normalize(relPath: string): string {
  const path = cleanPath(relPath);
  return path.startsWith('/') ? cleanPath(path.slice(1)) : path;
}

function withoutTrailingGlob(pattern: string): string {
  let p = pattern;
  if (p.endsWith('/**')) p = p.slice(0, -3);
  if (p.endsWith('/*')) p = p.slice(0, -2);
  return p;
}
