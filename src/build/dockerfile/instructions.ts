// One logical line (plus the bodies of its heredocs) to one typed Instruction, with the argument
// rules and error texts of BuildKit's parser (parser/line_parsers.go for how arguments are cut,
// instructions/parse.go for what each instruction accepts). Words stay raw. Stages, and the rules
// that span instructions, are parse.ts's. Pure code.

import { FLAG_SPECS, parseFlags } from './flags.ts';
import { parseHealthcheckArgs } from './healthcheck.ts';
import { chompTabs, heredocWordOrUndefined } from './heredoc.ts';
import { withSuggestion } from './suggest.ts';
import { DockerfileError, type Flag, type Heredoc, type Instruction, type KeyValue, type Loc } from './types.ts';
import { parseJsonArray, parseWords, splitBlanks, splitCommand, type SplitLine } from './words.ts';

/** A heredoc as read from the file: the body exactly as written (tabs not yet stripped). */
export interface HeredocBody {
  name: string;
  chomp: boolean;
  expand: boolean;
  content: string;
}

export interface InstructionSource {
  /** The logical line, continuations joined (BuildKit's Node.Original). */
  text: string;
  split: SplitLine;
  loc: Loc;
  heredocs: HeredocBody[];
}

export interface InstructionContext {
  escape: '\\' | '`';
  warn(line: number, message: string): void;
}

export const INSTRUCTION_NAMES = [
  'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK',
  'LABEL', 'MAINTAINER', 'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
] as const;
type Name = (typeof INSTRUCTION_NAMES)[number];
const isName = (s: string): s is Name => (INSTRUCTION_NAMES as readonly string[]).includes(s);

/** Docker's rule for `FROM image AS name` (checked after lower-casing). */
const STAGE_NAME = /^[a-z][a-z0-9_.-]*$/;

const exactlyOne = (name: string) => `${name} requires exactly one argument`;
const atLeastOne = (name: string) => `${name} requires at least one argument`;

/** Builds the instruction, or throws a DockerfileError at the instruction's first line. */
export function buildInstruction(src: InstructionSource, ctx: InstructionContext): Instruction {
  try {
    return build(src, ctx);
  } catch (err) {
    if (err instanceof DockerfileError) throw err;
    throw new DockerfileError(src.loc.file, src.loc.line, (err as Error).message);
  }
}

function build(src: InstructionSource, ctx: InstructionContext): Instruction {
  const keyword = src.split.keyword;
  const name = keyword.toUpperCase();
  if (!isName(name)) throw new Error(withSuggestion(`unknown instruction: ${keyword}`, keyword, INSTRUCTION_NAMES, false));
  const flags = parseFlags(src.split.flags, FLAG_SPECS[name] ?? {}, name);
  const base = { loc: src.loc, original: src.text, flags };
  const rest = src.split.rest;
  switch (name) {
    case 'FROM':
      return { ...base, kind: 'FROM', ...parseFrom(rest, keyword, flags, src.loc.line, ctx) };
    case 'RUN':
      checkRunFlags(flags);
      return { ...base, kind: 'RUN', heredocs: src.heredocs.map(toHeredoc), ...commandForm(name, rest, false) };
    case 'CMD':
    case 'ENTRYPOINT':
      return { ...base, kind: name, ...commandForm(name, rest, true) };
    case 'SHELL': {
      const args = parseJsonArray(rest);
      if (args === undefined && rest !== '') throw new Error('SHELL requires the arguments to be in JSON form');
      if (!args || args.length === 0) throw new Error(atLeastOne(name));
      return { ...base, kind: 'SHELL', args };
    }
    case 'ENV':
    case 'LABEL':
      return { ...base, kind: name, pairs: parseKeyValues(name, rest, src.loc.line, ctx) };
    case 'ARG':
      return { ...base, kind: 'ARG', args: parseArgs(rest, ctx.escape) };
    case 'MAINTAINER':
      if (rest === '') throw new Error(exactlyOne(name));
      ctx.warn(src.loc.line, 'Maintainer instruction is deprecated in favor of using label');
      return { ...base, kind: 'MAINTAINER', name: rest };
    case 'EXPOSE': {
      const ports = splitBlanks(rest);
      if (ports.length === 0) throw new Error(atLeastOne(name));
      return { ...base, kind: 'EXPOSE', ports };
    }
    case 'VOLUME':
      return { ...base, kind: 'VOLUME', paths: parseVolumes(rest) };
    case 'USER':
      if (rest === '') throw new Error(exactlyOne(name));
      return { ...base, kind: 'USER', user: rest };
    case 'WORKDIR':
      if (rest === '') throw new Error(exactlyOne(name));
      return { ...base, kind: 'WORKDIR', path: rest };
    case 'STOPSIGNAL':
      if (rest === '') throw new Error(exactlyOne(name));
      return { ...base, kind: 'STOPSIGNAL', signal: rest };
    case 'COPY':
    case 'ADD':
      return { ...base, kind: name, ...parseSourcesAndDest(name, rest, src.heredocs) };
    case 'HEALTHCHECK':
      return { ...base, kind: 'HEALTHCHECK', ...parseHealthcheckArgs(rest, flags) };
    case 'ONBUILD':
      return { ...base, kind: 'ONBUILD', ...parseOnbuild(src, ctx) };
  }
}

function toHeredoc(h: HeredocBody): Heredoc {
  return { name: h.name, content: h.chomp ? chompTabs(h.content) : h.content, expand: h.expand };
}

function parseFrom(rest: string, keyword: string, flags: Flag[], line: number, ctx: InstructionContext) {
  const args = splitBlanks(rest);
  const named = args.length === 3 && args[1]!.toLowerCase() === 'as';
  if (!named && args.length !== 1) throw new Error('FROM requires either one or three arguments');
  const image = args[0]!;
  // An empty --platform= means "not given", as in BuildKit.
  const platform = flags.find((f) => f.name === 'platform')?.value || undefined;
  if (!named) return { image, ...(platform !== undefined && { platform }) };

  const [, as, written] = args as [string, string, string];
  const name = written.toLowerCase();
  if (!STAGE_NAME.test(name)) {
    throw new Error(`invalid name for build stage: ${JSON.stringify(written)}, name can't start with a number or contain symbols`);
  }
  if (written !== name) ctx.warn(line, `Stage name '${written}' should be lowercase`);
  // Only when FROM itself is consistently cased is a differently cased AS worth a warning.
  const fromLower = keyword === keyword.toLowerCase();
  const fromUpper = keyword === keyword.toUpperCase();
  if ((fromLower && as !== as.toLowerCase()) || (fromUpper && !fromLower && as !== as.toUpperCase())) {
    ctx.warn(line, `'${as}' and '${keyword}' keywords' casing do not match`);
  }
  return { image, name, ...(platform !== undefined && { platform }) };
}

const NETWORKS = ['default', 'none', 'host'];
const SECURITY = ['insecure', 'sandbox'];

/** BuildKit checks these two at parse time, on the value as written. */
function checkRunFlags(flags: Flag[]): void {
  for (const f of flags) {
    if (f.name === 'network' && !NETWORKS.includes(f.value!)) throw new Error(`invalid network mode ${JSON.stringify(f.value)}`);
    if (f.name === 'security' && !SECURITY.includes(f.value!)) throw new Error(`security ${JSON.stringify(f.value)} is not valid`);
  }
}

/**
 * Exec form when the text is a JSON array of strings; otherwise (a malformed array included) the
 * shell form, the text as written. An empty exec form is how CMD/ENTRYPOINT reset; RUN needs one.
 */
function commandForm(name: string, rest: string, emptyExecAllowed: boolean) {
  const args = parseJsonArray(rest);
  if (args) {
    if (args.length === 0 && !emptyExecAllowed) throw new Error(atLeastOne(name));
    return { form: 'exec' as const, args };
  }
  if (rest === '') throw new Error(atLeastOne(name));
  return { form: 'shell' as const, command: rest };
}

/** ENV and LABEL: `k=v k2="v 2"`, or the legacy `k the whole rest` when the first word has no `=`. */
function parseKeyValues(name: 'ENV' | 'LABEL', rest: string, line: number, ctx: InstructionContext): KeyValue[] {
  const words = parseWords(rest, ctx.escape);
  if (words.length === 0) throw new Error(atLeastOne(name));
  if (!words[0]!.includes('=')) {
    const blank = /[\t\v\f\r ]+/.exec(rest);
    if (!blank) throw new Error(`${name} must have two arguments`);
    if (name === 'ENV') ctx.warn(line, `"ENV key=value" should be used instead of legacy "ENV key value" format`);
    return [{ key: rest.slice(0, blank.index), value: rest.slice(blank.index + blank[0].length) }];
  }
  return words.map((word) => {
    // Like BuildKit, the key ends at the first `=` of the raw word (quotes delimit words, not keys).
    const eq = word.indexOf('=');
    if (eq < 0) throw new Error(`Syntax error - can't find = in ${JSON.stringify(word)}. Must be of the form: name=value`);
    if (eq === 0) throw new Error(`${name} names can not be blank`);
    return { key: word.slice(0, eq), value: word.slice(eq + 1) };
  });
}

function parseArgs(rest: string, escape: string): { name: string; default?: string }[] {
  const words = parseWords(rest, escape);
  if (words.length === 0) throw new Error(atLeastOne('ARG'));
  return words.map((word) => {
    const eq = word.indexOf('=');
    if (eq < 0) return { name: word };
    if (eq === 0) throw new Error('ARG names can not be blank');
    return { name: word.slice(0, eq), default: word.slice(eq + 1) };
  });
}

function parseVolumes(rest: string): string[] {
  const words = parseJsonArray(rest) ?? splitBlanks(rest);
  if (words.length === 0) throw new Error(atLeastOne('VOLUME'));
  return words.map((word) => {
    const path = word.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, '');
    if (path === '') throw new Error('VOLUME specified can not be an empty string');
    return path;
  });
}

/** COPY/ADD: the last word is the destination; `<<NAME` sources are heredocs, the rest paths. */
function parseSourcesAndDest(name: 'COPY' | 'ADD', rest: string, bodies: HeredocBody[]) {
  const args = parseJsonArray(rest) ?? splitBlanks(rest);
  if (args.length < 2) {
    const given = args.length === 0 ? 'none was' : 'only one was';
    throw new Error(`${name} requires at least two arguments, but ${given} provided. Destination could not be determined`);
  }
  const dest = args[args.length - 1]!;
  if (heredocWordOrUndefined(dest)) throw new Error(`${name} cannot accept a heredoc as a destination`);
  const sources: string[] = [];
  const heredocs: Heredoc[] = [];
  for (const word of args.slice(0, -1)) {
    const h = heredocWordOrUndefined(word);
    if (!h) {
      sources.push(word);
      continue;
    }
    // Looked up by name, as BuildKit does: a heredoc word in the JSON form finds no body.
    const content = bodies.find((b) => b.name === h.name)?.content ?? '';
    heredocs.push({ name: h.name, content: h.chomp ? chompTabs(content) : content, expand: h.expand });
  }
  return { sources, dest, heredocs };
}

const NOT_TRIGGERS: ReadonlyMap<string, string> = new Map([
  ['ONBUILD', 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed'],
  ['MAINTAINER', "MAINTAINER isn't allowed as an ONBUILD trigger"],
  ['FROM', "FROM isn't allowed as an ONBUILD trigger"],
]);

/**
 * The trigger is parsed now (BuildKit only parses it when it fires, so we are stricter); its
 * expression is what the image config's OnBuild list gets: the line without `ONBUILD`, then each
 * heredoc body and terminator.
 */
function parseOnbuild(src: InstructionSource, ctx: InstructionContext) {
  const rest = src.split.rest;
  if (rest === '') throw new Error(atLeastOne('ONBUILD'));
  const split = splitCommand(rest, ctx.escape);
  const refused = NOT_TRIGGERS.get(split.keyword.toUpperCase());
  if (refused) throw new Error(refused);
  let expression = src.text.replace(/^[\t\n\f\r ]*ONBUILD[\t\n\f\r ]*/i, '');
  for (const h of src.heredocs) expression += `\n${h.content}${h.name}`;
  // Warnings belong to the build where the trigger runs, not to this one.
  const trigger = build({ ...src, text: rest, split }, { escape: ctx.escape, warn: () => {} });
  return { trigger, expression };
}
