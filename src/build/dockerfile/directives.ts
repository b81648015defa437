// Parser directives: `# syntax=`, `# escape=`, `# check=` at the very top of a Dockerfile. They are
// only recognised before the first instruction, comment or blank line; the key is case-insensitive;
// each may appear once; an unknown key ends the directives (it is just a comment). Pure code.

import type { Directives } from './types.ts';

/** `key = value`, after the `#` and any blanks; the value loses its trailing blanks. */
const DIRECTIVE = /^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*([^\n]+?)[\t\n\f\r ]*$/;
const KNOWN = new Set(['syntax', 'escape', 'check']);

export type DirectiveResult =
  | { kind: 'directive'; name: string; value: string }
  | { kind: 'none' }
  | { kind: 'error'; message: string };

/** Reads lines until the first that is not a directive; after that it never answers yes again. */
export class DirectiveReader {
  private done = false;
  private readonly seen = new Set<string>();
  readonly directives: Directives = { escape: '\\' };

  /** `line` has its line ending and leading whitespace removed. */
  read(line: string): DirectiveResult {
    if (this.done) return { kind: 'none' };
    const m = line.startsWith('#') ? DIRECTIVE.exec(line.slice(1).replace(/^\p{White_Space}+/u, '')) : null;
    const name = m?.[1]?.toLowerCase();
    if (!m || name === undefined || !KNOWN.has(name)) {
      this.done = true;
      return { kind: 'none' };
    }
    if (this.seen.has(name)) return { kind: 'error', message: `only one ${name} parser directive can be used` };
    this.seen.add(name);
    const value = m[2]!;
    if (name === 'escape') {
      if (value !== '\\' && value !== '`') {
        return { kind: 'error', message: `invalid escape token '${value}' does not match \` or \\` };
      }
      this.directives.escape = value;
    } else if (name === 'syntax') {
      this.directives.syntax = value;
    } else {
      this.directives.check = value;
    }
    return { kind: 'directive', name, value };
  }
}
