// Small helpers for the Dockerfile parser tests: parse a stage body, take one instruction, catch the
// DockerfileError of a bad Dockerfile.
import { parseDockerfile } from '../../../../../src/build/dockerfile/parse.ts';
import { DockerfileError, type Instruction, type InstructionKind, type InstructionOf } from '../../../../../src/build/dockerfile/types.ts';

/** The instructions of one stage whose body is `body` (after a `FROM scratch` on line 1). */
export function stageOf(body: string): Instruction[] {
  return parseDockerfile(`FROM scratch\n${body}`).stages[0]!.instructions;
}

/** The only instruction of `body`, checked to be of the kind expected. */
export function only<K extends InstructionKind>(kind: K, body: string): InstructionOf<K> {
  const instructions = stageOf(body);
  if (instructions.length !== 1) throw new Error(`expected one instruction, got ${instructions.length}`);
  const instruction = instructions[0]!;
  if (instruction.kind !== kind) throw new Error(`expected ${kind}, got ${instruction.kind}`);
  return instruction as InstructionOf<K>;
}

/** The error parsing `text` raises; fails loudly when there is none. */
export function parseErrorOf(text: string, file?: string): DockerfileError {
  try {
    parseDockerfile(text, file);
  } catch (err) {
    if (err instanceof DockerfileError) return err;
    throw err;
  }
  throw new Error(`expected a DockerfileError for ${JSON.stringify(text)}`);
}
