// One .dockerignore pattern, matched as moby/patternmatcher matches it: `*` and `?` never cross a
// `/`, `**` crosses any number of directories, `[...]` is a character class (`[^...]` negated), `\`
// makes the next character literal. Simple shapes take shortcuts (exact, `dir/**` prefix, `**/x`
// suffix), everything else becomes a regular expression. Also Go's path.Clean. Pure code.

export class IgnorePatternError extends Error {
  constructor(
    readonly pattern: string,
    message: string,
  ) {
    super(`invalid .dockerignore pattern ${JSON.stringify(pattern)}: ${message}`);
    this.name = 'IgnorePatternError';
  }
}

/** Go's path.Clean: no `.`, no `x/..`, no double or trailing slashes; "" becomes ".". */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop();
      else if (!rooted) parts.push('..');
      continue;
    }
    parts.push(seg);
  }
  const joined = (rooted ? '/' : '') + parts.join('/');
  return joined === '' ? '.' : joined;
}

/**
 * The syntax check patternmatcher borrows from Go's filepath.Match: a class must close and hold at
 * least one character or range, `-` and `]` cannot start a range end, and `\` cannot end anything.
 */
export function checkGlobSyntax(pattern: string): void {
  const chars = Array.from(pattern);
  const bad = () => new Error('syntax error in pattern');
  const classChar = (i: number): number => {
    // Returns the index after one (possibly escaped) class character.
    const ch = chars[i];
    if (ch === undefined || ch === '-' || ch === ']') throw bad();
    if (ch === '\\') {
      if (chars[i + 1] === undefined) throw bad();
      i++;
    }
    if (chars[i + 1] === undefined) throw bad(); // the class cannot end here without its ]
    return i + 1;
  };
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (ch === '\\') {
      if (chars[i + 1] === undefined) throw bad();
      i++;
    } else if (ch === '[') {
      i++;
      if (chars[i] === '^') i++;
      let ranges = 0;
      for (;;) {
        if (chars[i] === ']' && ranges > 0) break;
        i = classChar(i);
        if (chars[i] === '-') i = classChar(i + 1);
        ranges++;
      }
    }
  }
}

/** Regular-expression syntax characters that a path pattern means literally. */
const ESCAPED = new Set(['.', '+', '(', ')', '|', '{', '}', '$']);
const JS_SYNTAX = new Set(['^', '$', '\\', '.', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '/']);

type Matcher = (path: string) => boolean;

/**
 * Compiles a cleaned pattern (no leading `!`). The regular expression is the one patternmatcher
 * builds for Go's regexp, written for JS: `.` becomes `[^\n]` (Go's dot), a `]` outside a class is
 * escaped. Where the Go expression would not mean what the pattern says, we keep the documented
 * (filepath.Match) meaning: `\x` is always a literal x (Go reads `\d`, `\b` as regexp escapes),
 * `*` and `?` inside `[...]` are literal, a `^` outside a class is a character, not an anchor.
 */
export function compileIgnorePattern(pattern: string): Matcher {
  const chars = Array.from(pattern);
  let re = '^';
  let type: 'exact' | 'prefix' | 'suffix' | 'regexp' = 'exact';
  let inClass = false;
  const literal = (ch: string) => (JS_SYNTAX.has(ch) || (ch === '-' && inClass) ? '\\' + ch : ch);
  for (let i = 0, step = 0; i < chars.length; i++, step++) {
    const ch = chars[i]!;
    if (inClass && (ch === '*' || ch === '?')) {
      re += '\\' + ch;
    } else if (ch === '*' && chars[i + 1] === '*') {
      i++;
      if (chars[i + 1] === '/') i++; // `**/` is the same as `**`
      if (i + 1 === chars.length) {
        // A trailing `**` matches everything below, as in .gitignore.
        if (type === 'exact') type = 'prefix';
        else {
          re += '[^\\n]*';
          type = 'regexp';
        }
      } else {
        re += '([^\\n]*/)?'; // any number of directories, including none
        type = 'regexp';
      }
      if (step === 0) type = 'suffix';
    } else if (ch === '*') {
      re += '[^/]*';
      type = 'regexp';
    } else if (ch === '?') {
      re += '[^/]';
      type = 'regexp';
    } else if (ESCAPED.has(ch)) {
      re += '\\' + ch;
    } else if (ch === '\\') {
      // A trailing backslash cannot get here: checkGlobSyntax refuses it.
      re += literal(chars[++i] ?? '\\');
      type = 'regexp';
    } else if (ch === '[' && !inClass) {
      inClass = true;
      re += ch;
      type = 'regexp';
    } else if (ch === ']' && inClass) {
      inClass = false;
      re += ch;
      type = 'regexp';
    } else if (ch === '[' || ch === ']') {
      re += '\\' + ch;
      type = 'regexp';
    } else {
      // `-` stays raw (a range inside a class); `^` is raw only inside one (negation or literal).
      re += ch === '^' && !inClass ? '\\^' : ch;
    }
  }
  switch (type) {
    case 'exact':
      return (path) => path === pattern;
    case 'prefix': {
      const prefix = pattern.slice(0, -2);
      return (path) => path.startsWith(prefix);
    }
    case 'suffix': {
      const suffix = pattern.slice(2);
      // `**/foo` also matches a top-level `foo`.
      return (path) => path.endsWith(suffix) || (suffix.startsWith('/') && path === suffix.slice(1));
    }
    case 'regexp': {
      let regexp: RegExp;
      try {
        regexp = new RegExp(re + '$', 'u');
      } catch {
        throw new Error('syntax error in pattern');
      }
      return (path) => regexp.test(path);
    }
  }
}
