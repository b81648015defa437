// Variable expansion of Dockerfile words at build time, as BuildKit's shell lexer does it
// (moby/buildkit frontend/dockerfile/shell/lex.go; lex.ts has the rules). The parser keeps words
// raw; the builder calls these with the environment of the moment (ARGs and ENVs so far). Pure code.

import { LexError, ShellLexer, type Escape, type Lookup } from './lex.ts';
import type { InstructionKind } from './types.ts';

/** Variables for an expansion: a Map, or a plain object where `undefined` means unset. */
export type ExpandEnv = ReadonlyMap<string, string> | Readonly<Record<string, string | undefined>>;

export interface ExpandOptions {
  /** The Dockerfile's escape character (`# escape=`), `\` by default. */
  escape?: Escape;
}

/** A word that cannot be expanded: unbalanced quotes, a bad `${...}`, or `${v?message}` failing. */
export class ExpandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExpandError';
  }
}

function isMap(env: ExpandEnv): env is ReadonlyMap<string, string> {
  return env instanceof Map || (typeof env.get === 'function' && typeof env.has === 'function');
}

function lookupIn(env: ExpandEnv): Lookup {
  if (isMap(env)) return (name) => (env.has(name) ? env.get(name) : undefined);
  const record = env as Readonly<Record<string, string | undefined>>;
  return (name) => (Object.hasOwn(record, name) ? record[name] : undefined);
}

function withExpandError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof LexError) throw new ExpandError(err.message);
    throw err;
  }
}

/** BuildKit's ProcessWord: quotes removed, escapes applied, variables expanded, no word splitting. */
export function expandWord(word: string, env: ExpandEnv, opts: ExpandOptions = {}): string {
  const lexer = new ShellLexer({ escape: opts.escape ?? '\\' });
  return withExpandError(() => lexer.processWord(word, lookupIn(env)));
}

/** BuildKit's ProcessWords: like expandWord, then split on whitespace that is not quoted or escaped. */
export function expandWords(word: string, env: ExpandEnv, opts: ExpandOptions = {}): string[] {
  const lexer = new ShellLexer({ escape: opts.escape ?? '\\' });
  return withExpandError(() => lexer.processWords(word, lookupIn(env)));
}

/**
 * The body of a COPY/ADD heredoc whose delimiter was not quoted (`Heredoc.expand`): BuildKit expands
 * variables and backslash escapes but leaves quotes alone, whatever `# escape=` says. RUN heredocs
 * are not expanded by the builder: the shell does it.
 */
export function expandHeredocContent(content: string, env: ExpandEnv): string {
  const lexer = new ShellLexer({ escape: '\\', skipQuotes: true });
  return withExpandError(() => lexer.processWord(content, lookupIn(env)));
}

/**
 * The instructions whose arguments the builder expands. Checked against BuildKit (frontend/
 * dockerfile/instructions/commands.go, the Expand methods, and dockerfile2llb/convert.go, dispatch):
 * - The Dockerfile reference's list: ADD, COPY (sources and dest), ENV and LABEL (keys and values),
 *   EXPOSE (expandWords: one word may give several ports), FROM (the image, with the ARGs declared
 *   before the first FROM only, never the stage's ENV), STOPSIGNAL, USER, VOLUME (each path on its
 *   own, with expandWord), WORKDIR; ONBUILD means its trigger is expanded when it fires in a later
 *   build, never in this one (the expression is stored as written).
 * - ARG: BuildKit also expands a default value (`ARG b=$a`), but not the name.
 * Never expanded by the builder: RUN, CMD, ENTRYPOINT, SHELL (the shell does it, or nobody in exec
 * form), HEALTHCHECK, MAINTAINER, ARG names. Flags are in EXPANDED_FLAGS.
 * ENV's rule "each variable has the same value throughout one instruction" (`ENV a=1 b=$a` sees the
 * old a) is the builder's to keep: expand the whole instruction with the env from before it.
 */
export const EXPANDING_INSTRUCTIONS: ReadonlySet<string> = new Set([
  'ADD',
  'ARG',
  'COPY',
  'ENV',
  'EXPOSE',
  'FROM',
  'LABEL',
  'ONBUILD',
  'STOPSIGNAL',
  'USER',
  'VOLUME',
  'WORKDIR',
]);

/**
 * Flag values BuildKit expands, per instruction (same sources as above):
 * ADD --chown --chmod --checksum; COPY --chown --chmod; FROM --platform (with the meta ARGs only);
 * RUN --mount (the value of each `key=value` field, after the CSV split).
 * Not expanded: COPY --from (BuildKit rejects any variable in it: "variable expansion is not
 * supported for --from"), RUN --network/--security (checked as written at parse time), --link,
 * --parents, --exclude, --keep-git-dir, --unpack, HEALTHCHECK's durations.
 */
export const EXPANDED_FLAGS: ReadonlyMap<InstructionKind, ReadonlySet<string>> = new Map<InstructionKind, ReadonlySet<string>>([
  ['ADD', new Set(['chown', 'chmod', 'checksum'])],
  ['COPY', new Set(['chown', 'chmod'])],
  ['FROM', new Set(['platform'])],
  ['RUN', new Set(['mount'])],
]);
