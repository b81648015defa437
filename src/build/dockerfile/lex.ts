// The Dockerfile's shell-word lexer: quote removal, escapes and `$var` / `${var...}` expansion with the
// rules of BuildKit's frontend/dockerfile/shell/lex.go (ProcessWord and ProcessWords). expand.ts is
// the public face; the parser also uses the raw modes (quotes/escapes kept, unset variables left as
// written) to find heredoc words, exactly as BuildKit's parser does. Pure code, no I/O.

import { compileShellPattern, goReplaceAll, reversePattern } from './shell-pattern.ts';

export type Escape = '\\' | '`';

export interface LexOptions {
  escape: Escape;
  /** Keep the quote characters in the result (they still group words). */
  rawQuotes?: boolean;
  /** Keep the escape characters in the result (they still protect the next character). */
  rawEscapes?: boolean;
  /** Leave `$name` / `${name...}` as written when the variable is not set. */
  skipUnsetEnv?: boolean;
  /** Treat quotes as ordinary characters (BuildKit's mode for COPY/ADD heredoc bodies). */
  skipQuotes?: boolean;
}

/** How a name is looked up: undefined means unset (which differs from set to ""). */
export type Lookup = (name: string) => string | undefined;

/** A word the lexer cannot process: unbalanced quotes, `${`, bad modifiers, `${v:?message}`. */
export class LexError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LexError';
  }
}

const EOF = '';

/** unicode.IsSpace: the White_Space property (which, unlike JS's \s, excludes U+FEFF). */
export const isSpace = (ch: string) => ch !== EOF && /^\p{White_Space}$/u.test(ch);
const isLetter = (ch: string) => ch !== EOF && /^\p{L}$/u.test(ch);
const isDigit = (ch: string) => ch !== EOF && /^\p{Nd}$/u.test(ch);
/** POSIX special parameters: never set in a build, but `$@` is a name, not a literal `$@`. */
const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);

/**
 * Collects the words of ProcessWords: characters from variable values split on whitespace, while
 * quoted text and escaped characters are "raw" and never split. An empty quoted string starts a
 * word but, as in BuildKit, a word that stays empty is dropped.
 */
class WordCollector {
  private buf = '';
  private inWord = false;
  readonly words: string[] = [];

  addChar(ch: string): void {
    if (isSpace(ch)) {
      if (this.inWord && this.buf.length > 0) {
        this.words.push(this.buf);
        this.buf = '';
        this.inWord = false;
      }
    } else {
      this.addRawChar(ch);
    }
  }

  addRawChar(ch: string): void {
    this.buf += ch;
    this.inWord = true;
  }

  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }

  addRawString(s: string): void {
    this.buf += s;
    this.inWord = true;
  }

  finish(): string[] {
    if (this.buf.length > 0) {
      this.words.push(this.buf);
      this.buf = '';
      this.inWord = false;
    }
    return this.words;
  }
}

/** One pass over one word: a code-point cursor plus the options and the variables. */
class WordScanner {
  private pos = 0;
  private readonly chars: string[];
  private rawEscapes: boolean;

  constructor(
    word: string,
    private readonly opts: LexOptions,
    private readonly lookup: Lookup,
  ) {
    this.chars = Array.from(word);
    this.rawEscapes = opts.rawEscapes ?? false;
  }

  private peek(): string {
    return this.chars[this.pos] ?? EOF;
  }

  private next(): string {
    const ch = this.chars[this.pos] ?? EOF;
    if (ch !== EOF) this.pos++;
    return ch;
  }

  /** Reads up to `stop` (consumed) or the end; the result string and its words. */
  processUntil(stop: string, rawEscapes: boolean): { result: string; words: string[] } {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      return this.processUntilInner(stop);
    } finally {
      this.rawEscapes = saved;
    }
  }

  private processUntilInner(stop: string): { result: string; words: string[] } {
    let result = '';
    // Each nesting level has its own collector. (BuildKit ≥ 0.15 shares one buffer between levels,
    // so its ProcessWords drops the text just before a `${v:-...}`; that is a bug we do not copy.)
    const words = new WordCollector();
    const quotes = !this.opts.skipQuotes;
    while (this.peek() !== EOF) {
      const ch = this.peek();
      if (stop !== EOF && ch === stop) {
        this.next();
        return { result, words: words.finish() };
      }
      if (ch === '$') {
        const value = this.processDollar();
        result += value;
        words.addString(value); // a variable's value is split on whitespace
      } else if (ch === '<') {
        const text = this.processPossibleHeredoc();
        result += text;
        words.addRawString(text);
      } else if (quotes && ch === "'") {
        const text = this.processSingleQuote();
        result += text;
        words.addRawString(text);
      } else if (quotes && ch === '"') {
        const text = this.processDoubleQuote();
        result += text;
        words.addRawString(text);
      } else {
        let c = this.next();
        if (c === this.opts.escape) {
          if (this.rawEscapes) {
            words.addRawChar(c);
            result += c;
          }
          c = this.next();
          if (c === EOF) break; // an escape at the very end is dropped
          words.addRawChar(c);
        } else {
          words.addChar(c);
        }
        result += c;
      }
    }
    if (stop !== EOF) throw new LexError(`unexpected end of statement while looking for matching ${stop}`);
    return { result, words: words.finish() };
  }

  private processSingleQuote(): string {
    // Everything up to the next ' is literal; a ' cannot be escaped inside.
    let result = '';
    const open = this.next();
    if (this.opts.rawQuotes) result += open;
    for (;;) {
      const ch = this.next();
      if (ch === EOF) throw new LexError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") {
        if (this.opts.rawQuotes) result += ch;
        return result;
      }
      result += ch;
    }
  }

  private processDoubleQuote(): string {
    // Literal except `$`, and the escape character, which protects only `"`, `$` and itself
    // (anything else keeps the escape character: "a\tb" stays a\tb).
    let result = '';
    const open = this.next();
    if (this.opts.rawQuotes) result += open;
    for (;;) {
      const ahead = this.peek();
      if (ahead === EOF) throw new LexError('unexpected end of statement while looking for matching double-quote');
      if (ahead === '"') {
        const close = this.next();
        if (this.opts.rawQuotes) result += close;
        return result;
      }
      if (ahead === '$') {
        result += this.processDollar();
        continue;
      }
      let ch = this.next();
      if (ch === this.opts.escape) {
        if (this.rawEscapes) result += ch;
        const after = this.peek();
        if (after === EOF) continue; // reported as an unterminated quote on the next turn
        if (after === '"' || after === '$' || after === this.opts.escape) ch = this.next();
      }
      result += ch;
    }
  }

  private processDollar(): string {
    this.next(); // the $
    if (this.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$'; // `$` before a non-name character is literal
      const value = this.lookup(name);
      if (value === undefined && this.opts.skipUnsetEnv) return '$' + name;
      return value ?? '';
    }
    this.next(); // the {
    const first = this.peek();
    if (first === EOF) throw new LexError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new LexError('syntax error: bad substitution');

    const name = this.processName();
    let ch = this.next();
    let modifier = ch;
    if (ch === '}') {
      const value = this.lookup(name);
      if (value === undefined && this.opts.skipUnsetEnv) return `\${${name}}`;
      return value ?? '';
    }
    if (ch === '/') return this.processReplace(name);

    if (ch === EOF) throw new LexError("syntax error: missing '}'");
    let nullIsUnset = false;
    if (ch === ':') {
      nullIsUnset = true;
      ch = this.next();
      modifier += ch;
    } else if (!'+-?#%'.includes(ch)) {
      throw new LexError(`unsupported modifier (${modifier}) in substitution`);
    }
    const isPattern = ch === '#' || ch === '%';
    if (nullIsUnset && isPattern) throw new LexError(`unsupported modifier (${modifier}) in substitution`);
    // Patterns keep their escapes: `\*` must reach the glob converter as a literal star.
    const word = this.readBraceWord(isPattern);

    const value = this.lookup(name);
    const set = value !== undefined;
    if (!set && this.opts.skipUnsetEnv) return `\${${name}${modifier}${word}}`;
    const empty = !set || (nullIsUnset && value === '');
    switch (ch) {
      case '-':
        return empty ? word : value!;
      case '+':
        return empty ? '' : word;
      case '?':
        if (!set) throw new LexError(`${name}: ${word || 'is not allowed to be unset'}`);
        if (nullIsUnset && value === '') throw new LexError(`${name}: ${word || 'is not allowed to be empty'}`);
        return value;
      case '#':
      case '%': {
        // One `#`/`%` removes the shortest match, two the longest.
        let pattern = word;
        let greedy = false;
        if (pattern.startsWith(ch)) {
          greedy = true;
          pattern = pattern.slice(1);
        }
        return ch === '%' ? trimSuffix(pattern, value ?? '', greedy) : trimPrefix(pattern, value ?? '', greedy);
      }
      default:
        throw new LexError(`unsupported modifier (${modifier}) in substitution`);
    }
  }

  private readBraceWord(rawEscapes: boolean): string {
    try {
      return this.processUntil('}', rawEscapes).result;
    } catch (err) {
      if (this.peek() === EOF) throw new LexError("syntax error: missing '}'");
      throw err;
    }
  }

  /** `${name/pattern/replacement}` and `${name//pattern/replacement}`. */
  private processReplace(name: string): string {
    const all = this.peek() === '/';
    if (all) this.next();
    let pattern: string;
    try {
      pattern = this.processUntil('/', true).result;
    } catch (err) {
      if (this.peek() === EOF) throw new LexError("syntax error: missing '/' in ${}");
      throw err;
    }
    const replacement = this.readBraceWord(true);
    const value = this.lookup(name);
    if (value === undefined && this.opts.skipUnsetEnv) return `\${${name}/${pattern}/${replacement}}`;
    const re = compileOrThrow(pattern, true, false);
    const subject = value ?? '';
    if (all) return goReplaceAll(re, subject, replacement);
    const m = re.exec(subject);
    if (!m) return subject;
    // A single replacement is literal (no `$0` template expansion, unlike the replace-all case).
    return subject.slice(0, m.index) + replacement + subject.slice(m.index + m[0].length);
  }

  /** A name: letters, digits and `_`; or a run of digits; or one special parameter character. */
  private processName(): string {
    let name = '';
    while (this.peek() !== EOF) {
      const ch = this.peek();
      if (name === '' && isDigit(ch)) {
        while (isDigit(this.peek())) name += this.next();
        return name;
      }
      if (name === '' && SPECIAL_PARAMS.has(ch)) return this.next();
      if (!isLetter(ch) && !isDigit(ch) && ch !== '_') break;
      name += this.next();
    }
    return name;
  }

  /** `<<` with the blanks after it stays one raw piece, so `<< EOF` is one word, as heredocs need. */
  private processPossibleHeredoc(): string {
    this.next();
    if (this.peek() !== '<') return '<';
    this.next();
    let text = '<<';
    while (this.peek() === ' ' || this.peek() === '\t' || this.peek() === '\r') text += this.next();
    return text;
  }
}

function compileOrThrow(pattern: string, greedy: boolean, anchored: boolean): RegExp {
  try {
    return compileShellPattern(pattern, greedy, anchored);
  } catch (err) {
    throw new LexError(`invalid pattern (${pattern}) in substitution: ${(err as Error).message}`);
  }
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = compileOrThrow(pattern, greedy, true).exec(value);
  return m ? value.slice(m.index + m[0].length) : value;
}

/** A regular expression finds leftmost matches only, so the suffix is trimmed on reversed text. */
function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  const reversed = Array.from(value).reverse().join('');
  return Array.from(trimPrefix(reversePattern(pattern), reversed, greedy)).reverse().join('');
}

/** BuildKit's Lex: one configuration, many words. */
export class ShellLexer {
  constructor(private readonly opts: LexOptions) {}

  /** ProcessWord: the expanded word, quotes removed, no splitting. */
  processWord(word: string, lookup: Lookup): string {
    return this.run(word, lookup).result;
  }

  /** ProcessWords: expanded, then split on whitespace that is neither quoted nor escaped. */
  processWords(word: string, lookup: Lookup): string[] {
    return this.run(word, lookup).words;
  }

  private run(word: string, lookup: Lookup) {
    try {
      return new WordScanner(word, this.opts, lookup).processUntil(EOF, this.opts.rawEscapes ?? false);
    } catch (err) {
      if (err instanceof LexError) throw new LexError(`failed to process ${JSON.stringify(word)}: ${err.message}`);
      throw err;
    }
  }
}

export const NO_VARIABLES: Lookup = () => undefined;
