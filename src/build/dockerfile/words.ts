// The ways BuildKit's parser cuts an instruction's text into arguments (parser/line_parsers.go,
// split_command.go): the keyword, the leading `--flags`, quote-aware words for ENV/LABEL/ARG, a JSON
// array, or plain whitespace. Words keep their quotes and escapes, except flags, whose quotes and
// escapes BuildKit removes while it cuts them out. Pure code.

import { isSpace } from './lex.ts';

/** BuildKit's whitespace for splitting: ASCII blanks only (not newlines, which cannot occur here). */
const BLANKS = /[\t\v\f\r ]+/;
const trimSpace = (s: string) => s.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, '');

export interface SplitLine {
  keyword: string;
  /** `--name[=value]` words, quotes and escapes removed. */
  flags: string[];
  /** The arguments after the flags, trimmed. */
  rest: string;
}

/** The keyword, the flags, and the rest of an instruction line. */
export function splitCommand(line: string, escape: string): SplitLine {
  const trimmed = trimSpace(line);
  const m = BLANKS.exec(trimmed);
  if (!m) return { keyword: trimmed, flags: [], rest: '' };
  const keyword = trimmed.slice(0, m.index);
  const { rest, flags } = extractFlags(trimmed.slice(m.index + m[0].length), escape);
  return { keyword, flags, rest: trimSpace(rest) };
}

/**
 * Takes words from the front while they start with `--`; a bare `--` ends the flags. Inside a flag,
 * quotes group (and are removed) and the escape character protects the next character.
 */
export function extractFlags(line: string, escape: string): { rest: string; flags: string[] } {
  const chars = Array.from(line);
  const flags: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let word = '';
  let quote = '';
  let blankOK = false;
  const restFrom = (pos: number) => chars.slice(pos).join('');
  for (let pos = 0; pos <= chars.length; pos++) {
    const atEnd = pos === chars.length;
    let ch = chars[pos] ?? '';
    if (phase === 'spaces') {
      if (atEnd) break;
      if (isSpace(ch)) continue;
      if (ch !== '-' || chars[pos + 1] !== '-') return { rest: restFrom(pos), flags };
      phase = 'word';
    }
    if (atEnd) {
      if (word !== '--' && (blankOK || word.length > 0)) flags.push(word);
      break;
    }
    if (phase === 'word') {
      if (isSpace(ch)) {
        phase = 'spaces';
        if (word === '--') return { rest: restFrom(pos), flags };
        if (blankOK || word.length > 0) flags.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
        continue;
      }
      if (ch === escape) {
        if (pos + 1 === chars.length) continue; // an escape at the end is dropped
        ch = chars[++pos]!;
      }
      word += ch;
      continue;
    }
    // In quotes: the escape character works inside single quotes too, as in BuildKit.
    if (ch === quote) {
      phase = 'word';
      continue;
    }
    if (ch === escape) {
      if (pos + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      ch = chars[++pos]!;
    }
    word += ch;
  }
  return { rest: '', flags };
}

/**
 * Quote-aware words (ENV, LABEL, ARG): whitespace separates words except inside quotes or after the
 * escape character; quotes and escapes stay in the words. An empty `""` is a word.
 */
export function parseWords(rest: string, escape: string): string[] {
  const chars = Array.from(rest);
  const words: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let word = '';
  let quote = '';
  let blankOK = false;
  for (let pos = 0; pos <= chars.length; pos++) {
    const atEnd = pos === chars.length;
    let ch = chars[pos] ?? '';
    if (phase === 'spaces') {
      if (atEnd) break;
      if (isSpace(ch)) continue;
      phase = 'word';
    }
    if (atEnd) {
      if (blankOK || word.length > 0) words.push(word);
      break;
    }
    if (phase === 'word') {
      if (isSpace(ch)) {
        phase = 'spaces';
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
      }
      if (ch === escape) {
        if (pos + 1 === chars.length) continue;
        word += ch;
        ch = chars[++pos]!;
      }
      word += ch;
      continue;
    }
    if (ch === quote) phase = 'word';
    // Single quotes protect everything, the escape character included.
    if (ch === escape && quote !== "'") {
      if (pos + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      word += ch;
      ch = chars[++pos]!;
    }
    word += ch;
  }
  return words;
}

/** Whitespace-separated words, quotes ignored (FROM, EXPOSE, the non-JSON COPY/ADD/VOLUME). */
export function splitBlanks(rest: string): string[] {
  return rest === '' ? [] : rest.split(BLANKS);
}

export class NotStringArrayError extends Error {
  constructor() {
    super('when using JSON array syntax, arrays must be comprised of strings only');
  }
}

/**
 * The exec form: a JSON array of strings, or undefined when the text is not a JSON array at all
 * (the caller falls back to the shell form). A JSON array with a non-string in it is an error.
 */
export function parseJsonArray(rest: string): string[] | undefined {
  const text = rest.replace(/^\p{White_Space}+/u, '');
  if (!text.startsWith('[')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  if (!value.every((v) => typeof v === 'string')) throw new NotStringArrayError();
  return value as string[];
}
