// Heredoc words (`<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'`, `3<<EOF`) as BuildKit's parser finds them:
// the line is cut into words with quotes and escapes kept, and each word of the form
// `[n]<<[-]NAME` names a heredoc; quoting any part of NAME turns expansion of the body off. Only
// RUN, COPY and ADD (also as ONBUILD triggers) in their non-JSON forms take heredocs. Pure code.

import { NO_VARIABLES, ShellLexer } from './lex.ts';

export interface HeredocWord {
  name: string;
  /** `<<-`: leading tabs are stripped from the body and from the terminator line. */
  chomp: boolean;
  /** False when some part of the name was quoted. */
  expand: boolean;
}

/** The same `\`-escaped lexer whatever `# escape=` says: BuildKit hard-codes it here. */
const RAW_LINE = new ShellLexer({ escape: '\\', rawQuotes: true, rawEscapes: true, skipUnsetEnv: true });
const NAME = new ShellLexer({ escape: '\\', skipUnsetEnv: true });
const NAME_RAW = new ShellLexer({ escape: '\\', skipUnsetEnv: true, rawQuotes: true });
const HEREDOC_WORD = /^([0-9]*)<<(-?)[\t\n\f\r ]*([^<]*)$/;

const quoteCount = (s: string) => (s.match(/['"]/g) ?? []).length;

/** The heredoc a single word opens, or undefined. Throws (LexError) on an unbalanced quote. */
export function parseHeredocWord(word: string): HeredocWord | undefined {
  const m = HEREDOC_WORD.exec(word);
  if (!m || m[3] === '') return undefined;
  const spec = m[3]!;
  const words = NAME.processWords(spec, NO_VARIABLES);
  if (words.length !== 1) return undefined;
  const raw = NAME_RAW.processWords(spec, NO_VARIABLES);
  const name = words[0]!;
  return { name, chomp: m[2] === '-', expand: quoteCount(name) === quoteCount(raw[0] ?? '') };
}

/** Like parseHeredocWord, but a malformed word is simply not a heredoc (BuildKit's MustParseHeredoc). */
export function heredocWordOrUndefined(word: string): HeredocWord | undefined {
  try {
    return parseHeredocWord(word);
  } catch {
    return undefined;
  }
}

/** Every heredoc a line opens, in order. A line the lexer cannot cut has none. */
export function heredocsInLine(line: string): HeredocWord[] {
  let words: string[];
  try {
    words = RAW_LINE.processWords(line, NO_VARIABLES);
  } catch {
    return [];
  }
  const found: HeredocWord[] = [];
  for (const word of words) {
    const heredoc = parseHeredocWord(word);
    if (heredoc) found.push(heredoc);
  }
  return found;
}

/** `<<-`: leading tabs go from every line of the body. */
export const chompTabs = (content: string) => content.replace(/(^|\n)\t+/g, '$1');
