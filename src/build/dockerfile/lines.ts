// From text to logical lines, as BuildKit's parser reads a Dockerfile: directives at the top,
// comment and blank lines skipped, continuation lines joined (the escape character at the end of a
// line, trailing blanks allowed), comment and empty lines inside a continuation dropped, and
// heredoc bodies read on request. Line numbers are 1-based physical lines. Pure code.

import { DirectiveReader } from './directives.ts';
import { DockerfileError, type Directives } from './types.ts';

export interface LogicalLine {
  /** The instruction with continuations joined; leading whitespace of the first line removed. */
  text: string;
  startLine: number;
  endLine: number;
  /** Blank lines inside the continuation (BuildKit warns: they will become errors). */
  emptyContinuationLines: number[];
}

const trimNewline = (s: string) => s.replace(/[\r\n]+$/, '');
const trimLeft = (s: string) => s.replace(/^\p{White_Space}+/u, '');
const isComment = (s: string) => trimLeft(s).startsWith('#');

/** The escape character ends a continued line unless it is itself escaped (`\\`). */
function continuationPattern(escape: '\\' | '`'): RegExp {
  return escape === '\\' ? /(^|[^\\])\\[ \t]*$/ : /(^|[^`])`[ \t]*$/;
}

function splitPhysicalLines(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  while (start < text.length) {
    const end = text.indexOf('\n', start);
    if (end < 0) {
      lines.push(text.slice(start));
      break;
    }
    lines.push(text.slice(start, end + 1));
    start = end + 1;
  }
  if (lines.length > 0) lines[0] = lines[0]!.replace(/^\uFEFF/, '');
  return lines;
}

export class LineReader {
  private readonly lines: string[];
  private index = 0;
  private readonly directiveReader = new DirectiveReader();

  constructor(
    text: string,
    private readonly file: string,
  ) {
    this.lines = splitPhysicalLines(text);
  }

  get directives(): Directives {
    return this.directiveReader.directives;
  }

  /** The number of the last physical line consumed. */
  get lineNumber(): number {
    return this.index;
  }

  /** The next instruction's logical line, or undefined at the end of the text. */
  nextInstruction(): LogicalLine | undefined {
    while (this.index < this.lines.length) {
      const startLine = ++this.index;
      const first = trimLeft(trimNewline(this.lines[startLine - 1]!));
      const directive = this.directiveReader.read(first);
      if (directive.kind === 'error') throw new DockerfileError(this.file, startLine, directive.message);
      if (first === '' || first.startsWith('#')) continue; // blank, comment, or directive
      const continuation = continuationPattern(this.directives.escape);
      let [text, ended] = this.stripContinuation(first, continuation);
      const emptyContinuationLines: number[] = [];
      while (!ended && this.index < this.lines.length) {
        const raw = this.lines[this.index++]!;
        if (isComment(raw)) continue;
        const line = trimNewline(raw); // later lines keep their indentation, as in BuildKit
        if (trimLeft(line) === '') {
          emptyContinuationLines.push(this.index);
          continue;
        }
        let part: string;
        [part, ended] = this.stripContinuation(line, continuation);
        text += part;
      }
      return { text, startLine, endLine: this.index, emptyContinuationLines };
    }
    return undefined;
  }

  /**
   * The body of a heredoc up to its terminator line (not included), each line with its line ending.
   * For `<<-` the terminator may be indented with tabs. Undefined when the text ends first.
   */
  readHeredocBody(name: string, chomp: boolean): string | undefined {
    let content = '';
    while (this.index < this.lines.length) {
      const raw = this.lines[this.index++]!;
      let candidate = trimNewline(raw);
      if (chomp) candidate = candidate.replace(/^\t+/, '');
      if (candidate === name) return content;
      content += raw;
    }
    return undefined;
  }

  private stripContinuation(line: string, continuation: RegExp): [string, boolean] {
    return continuation.test(line) ? [line.replace(continuation, '$1'), false] : [line, true];
  }
}
