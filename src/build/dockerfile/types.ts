// The Dockerfile as the parser hands it to the builder: directives, the ARGs before the first FROM,
// and the stages with their instructions. Words are kept as written (quotes and escapes intact,
// variables unexpanded): which instructions expand variables, and with which environment, is decided
// at build time (expand.ts does it exactly as BuildKit's shell lexer does). Pure data.

/** Where an instruction is: 1-based first and last physical line (continuations included). */
export interface Loc {
  file: string;
  line: number;
  endLine: number;
}

export interface Directives {
  /** `# syntax=` (accepted and reported; kubelab has one frontend). */
  syntax?: string;
  /** `# escape=`: the escape character, `\` by default or a backtick. */
  escape: '\\' | '`';
  /** `# check=` (accepted and reported). */
  check?: string;
}

/** A here-document: `<<EOF`, `<<-EOF` (leading tabs stripped), `<<"EOF"` or `<<'EOF'` (no expansion). */
export interface Heredoc {
  name: string;
  /** The body, newline-terminated lines, with tabs already stripped for `<<-`. */
  content: string;
  /** False when the delimiter was quoted: the body is taken literally. */
  expand: boolean;
}

/** A `--name=value` flag before an instruction's arguments (`--chown=1000:1000`, `--from=build`). */
export interface Flag {
  name: string;
  /** undefined for a bare boolean flag (`--link`). Raw, unexpanded. */
  value?: string;
}

interface Base {
  loc: Loc;
  /** The instruction as written, continuation lines joined (for error messages and history). */
  original: string;
  flags: Flag[];
}

/** Shell form is a string for the image's shell; exec form a JSON array of words. */
export type CommandForm = { form: 'shell'; command: string } | { form: 'exec'; args: string[] };

export interface KeyValue {
  /** Raw words as written: expand with expandWord (which also removes quotes). */
  key: string;
  value: string;
}

export type Instruction =
  | (Base & { kind: 'FROM'; image: string; name?: string; platform?: string })
  | (Base & { kind: 'RUN'; heredocs: Heredoc[] } & CommandForm)
  | (Base & { kind: 'CMD' } & CommandForm)
  | (Base & { kind: 'ENTRYPOINT' } & CommandForm)
  | (Base & { kind: 'SHELL'; args: string[] })
  | (Base & { kind: 'ENV'; pairs: KeyValue[] })
  | (Base & { kind: 'ARG'; args: { name: string; default?: string }[] })
  | (Base & { kind: 'LABEL'; pairs: KeyValue[] })
  | (Base & { kind: 'MAINTAINER'; name: string })
  | (Base & { kind: 'EXPOSE'; ports: string[] })
  | (Base & { kind: 'VOLUME'; paths: string[] })
  | (Base & { kind: 'USER'; user: string })
  | (Base & { kind: 'WORKDIR'; path: string })
  | (Base & { kind: 'COPY' | 'ADD'; sources: string[]; dest: string; heredocs: Heredoc[] })
  | (Base & { kind: 'STOPSIGNAL'; signal: string })
  | (Base & { kind: 'HEALTHCHECK'; none: true })
  | (Base & { kind: 'HEALTHCHECK'; none: false; test: string[]; options: HealthcheckOptions })
  | (Base & { kind: 'ONBUILD'; trigger: Instruction; expression: string });

/** Durations in nanoseconds, as the image config stores them; absent when not given. */
export interface HealthcheckOptions {
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  startInterval?: number;
  retries?: number;
}

export type InstructionKind = Instruction['kind'];
// An intersection, not Extract: Extract<Instruction, { kind: 'COPY' }> is never, because the COPY/ADD
// member's kind is 'COPY' | 'ADD'; the intersection narrows that member to kind 'COPY'.
export type InstructionOf<K extends InstructionKind> = Instruction & { kind: K };

export interface Stage {
  /** 0-based position: `COPY --from=0` names a stage by it. */
  index: number;
  /** The `AS` name, lower-cased (stage names are case-insensitive). */
  name?: string;
  from: InstructionOf<'FROM'>;
  /** Everything after FROM up to the next FROM. */
  instructions: Instruction[];
}

export interface Dockerfile {
  file: string;
  directives: Directives;
  /** ARGs before the first FROM: they may be used in FROM lines only (unless redeclared in a stage). */
  metaArgs: InstructionOf<'ARG'>[];
  stages: Stage[];
  /** Things BuildKit warns about (legacy `ENV k v`, MAINTAINER, several CMDs, ...), with their line. */
  warnings: { line: number; message: string }[];
}

/** A mistake in the Dockerfile: the message names the file and line, as `Dockerfile:12: ...`. */
export class DockerfileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly detail: string,
  ) {
    super(`${file}:${line}: ${detail}`);
    this.name = 'DockerfileError';
  }
}
