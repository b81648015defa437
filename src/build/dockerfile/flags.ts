// The `--flags` each instruction accepts, checked the way BuildKit's BFlags does it (unknown flags
// with a suggestion, duplicates, booleans that are `true`/`false` or bare, strings that need a
// value, repeatable lists), plus small getters for the builder. Pure code.

import { withSuggestion } from './suggest.ts';
import type { Flag, InstructionKind } from './types.ts';

type FlagType = 'bool' | 'string' | 'strings';
export type FlagSpec = Readonly<Record<string, FlagType>>;

/** From BuildKit's instructions/parse.go and the RUN hooks (commands_run*.go). */
export const FLAG_SPECS: Partial<Record<InstructionKind, FlagSpec>> = {
  FROM: { platform: 'string' },
  RUN: { mount: 'strings', network: 'string', security: 'string', device: 'strings' },
  COPY: { chown: 'string', chmod: 'string', from: 'string', link: 'bool', parents: 'bool', exclude: 'strings' },
  ADD: {
    chown: 'string',
    chmod: 'string',
    checksum: 'string',
    link: 'bool',
    'keep-git-dir': 'bool',
    unpack: 'bool',
    exclude: 'strings',
  },
  HEALTHCHECK: { interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' },
};

/** Checks flag words (`--name[=value]`, quotes already removed) against a spec; throws Error. */
export function parseFlags(words: readonly string[], spec: FlagSpec, instruction: string): Flag[] {
  const names = Object.keys(spec);
  const used = new Set<string>();
  const flags: Flag[] = [];
  for (const word of words) {
    if (!word.startsWith('--')) throw new Error(`arg should start with -- : ${word}`);
    const eq = word.indexOf('=');
    const flagName = eq < 0 ? word : word.slice(0, eq);
    const value = eq < 0 ? undefined : word.slice(eq + 1);
    const name = flagName.slice(2);
    const type = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (type === undefined) {
      if (names.length === 0) throw new Error(`unknown flag: ${flagName} (${instruction} takes no flags)`);
      throw new Error(withSuggestion(`unknown flag: ${flagName}`, name, names, true));
    }
    if (used.has(name) && type !== 'strings') throw new Error(`duplicate flag specified: ${flagName}`);
    used.add(name);
    if (type === 'bool') {
      if (value === '') throw new Error(`missing a value on flag: ${flagName}`);
      if (value !== undefined && !['true', 'false'].includes(value.toLowerCase())) {
        throw new Error(`expecting boolean value for flag ${flagName}, not: ${value}`);
      }
    } else if (value === undefined) {
      throw new Error(`missing a value on flag: ${flagName}`);
    }
    flags.push(value === undefined ? { name } : { name, value });
  }
  return flags;
}

function lastFlag(flags: readonly Flag[], name: string): Flag | undefined {
  for (let i = flags.length - 1; i >= 0; i--) if (flags[i]!.name === name) return flags[i];
  return undefined;
}

/** The last value given to a flag (`--chown=1000`), or undefined when it is absent. */
export function flagString(flags: readonly Flag[], name: string): string | undefined {
  return lastFlag(flags, name)?.value;
}

/** Every value of a repeatable flag (`--mount`, `--exclude`), in order. */
export function flagStrings(flags: readonly Flag[], name: string): string[] {
  return flags.filter((f) => f.name === name).map((f) => f.value ?? '');
}

/** A boolean flag: bare `--link` is true, `--link=false` false, absent undefined. */
export function flagBool(flags: readonly Flag[], name: string): boolean | undefined {
  const flag = lastFlag(flags, name);
  if (!flag) return undefined;
  return flag.value === undefined || flag.value.toLowerCase() === 'true';
}
