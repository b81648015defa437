// parseDockerfile: text to Dockerfile. Reads logical lines (lines.ts), reads the heredoc bodies an
// instruction opens, builds each instruction (instructions.ts), then applies the rules that span
// instructions: only ARG before the first FROM, unique stage names, and BuildKit's cheap lint
// warnings. Pure code: no expansion, no file system.

import { heredocsInLine } from './heredoc.ts';
import { buildInstruction, type HeredocBody, type InstructionContext } from './instructions.ts';
import { LineReader, type LogicalLine } from './lines.ts';
import { DockerfileError, type Dockerfile, type Instruction, type InstructionOf, type Stage } from './types.ts';
import { parseJsonArray, splitCommand, type SplitLine } from './words.ts';

const HEREDOC_KINDS = new Set(['RUN', 'COPY', 'ADD']);
/** Instructions of which a stage should have one: only the last counts. */
const ONCE_PER_STAGE = new Set(['CMD', 'ENTRYPOINT', 'HEALTHCHECK']);

export function parseDockerfile(text: string, file = 'Dockerfile'): Dockerfile {
  const reader = new LineReader(text, file);
  const warnings: Dockerfile['warnings'] = [];
  const ctx: InstructionContext = {
    get escape() {
      return reader.directives.escape;
    },
    warn: (line, message) => warnings.push({ line, message }),
  };
  const metaArgs: InstructionOf<'ARG'>[] = [];
  const stages: Stage[] = [];
  const stageLines = new Map<string, number>();
  let lastOnce = new Map<string, number>();
  let sawInstruction = false;

  for (let line = reader.nextInstruction(); line; line = reader.nextInstruction()) {
    sawInstruction = true;
    const first = line.emptyContinuationLines[0];
    if (first !== undefined) {
      ctx.warn(first, 'Empty continuation line found (empty continuation lines will become errors in a future release)');
    }
    const instruction = readInstruction(reader, line, file, ctx);
    if (instruction.kind === 'FROM') {
      if (instruction.name !== undefined) {
        const earlier = stageLines.get(instruction.name);
        if (earlier !== undefined) {
          throw new DockerfileError(file, line.startLine, `duplicate stage name ${JSON.stringify(instruction.name)} (first used on line ${earlier}): stage names must be unique`);
        }
        stageLines.set(instruction.name, line.startLine);
      }
      stages.push({ index: stages.length, ...(instruction.name !== undefined && { name: instruction.name }), from: instruction, instructions: [] });
      lastOnce = new Map();
      continue;
    }
    const stage = stages[stages.length - 1];
    if (!stage) {
      if (instruction.kind === 'ARG') {
        metaArgs.push(instruction);
        continue;
      }
      throw new DockerfileError(file, line.startLine, `${instruction.kind} before the first FROM: no build stage in current context (only ARG may come before FROM)`);
    }
    if (ONCE_PER_STAGE.has(instruction.kind)) {
      const previous = lastOnce.get(instruction.kind);
      // BuildKit points at the earlier one: it is the one that will be ignored.
      if (previous !== undefined) {
        ctx.warn(previous, `Multiple ${instruction.kind} instructions should not be used in the same stage because only the last one will be used`);
      }
      lastOnce.set(instruction.kind, line.startLine);
    }
    stage.instructions.push(instruction);
  }

  if (!sawInstruction) throw new DockerfileError(file, 1, 'file with no instructions');
  if (stages.length === 0) throw new DockerfileError(file, metaArgs[0]?.loc.line ?? 1, 'dockerfile contains no stages to build (no FROM instruction)');
  return { file, directives: reader.directives, metaArgs, stages, warnings };
}

/** One instruction with its heredoc bodies, which follow the line in the file. */
function readInstruction(reader: LineReader, line: LogicalLine, file: string, ctx: InstructionContext): Instruction {
  const split = splitCommand(line.text, ctx.escape);
  const heredocs = takesHeredocs(split, ctx.escape) && line.text.includes('<<') ? readHeredocs(reader, line, file) : [];
  const loc = { file, line: line.startLine, endLine: reader.lineNumber };
  return buildInstruction({ text: line.text, split, loc, heredocs }, ctx);
}

/** RUN, COPY, ADD (directly or as an ONBUILD trigger), and not in their JSON form. */
function takesHeredocs(split: SplitLine, escape: '\\' | '`'): boolean {
  const target = split.keyword.toUpperCase() === 'ONBUILD' ? splitCommand(split.rest, escape) : split;
  if (!HEREDOC_KINDS.has(target.keyword.toUpperCase())) return false;
  try {
    return parseJsonArray(target.rest) === undefined;
  } catch {
    return false; // a JSON array with non-strings: buildInstruction reports it
  }
}

function readHeredocs(reader: LineReader, line: LogicalLine, file: string): HeredocBody[] {
  let words;
  try {
    words = heredocsInLine(line.text);
  } catch (err) {
    throw new DockerfileError(file, line.startLine, (err as Error).message);
  }
  return words.map((word) => {
    const content = reader.readHeredocBody(word.name, word.chomp);
    if (content === undefined) {
      throw new DockerfileError(file, line.startLine, `unterminated heredoc ${JSON.stringify(word.name)}: no line ${JSON.stringify(word.name)} before the end of the file`);
    }
    return { ...word, content };
  });
}
