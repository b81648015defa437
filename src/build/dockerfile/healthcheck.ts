// HEALTHCHECK's arguments: `NONE`, or options then `CMD` in shell or exec form, with BuildKit's
// checks (instructions/parse.go, parseHealthcheck): durations in Go syntax, each 0 or at least 1ms;
// retries a 32-bit integer, not negative. Pure code; errors are plain Errors the caller locates.

import { DurationError, parseGoDuration } from './duration.ts';
import { flagString } from './flags.ts';
import type { Flag, HealthcheckOptions } from './types.ts';
import { parseJsonArray } from './words.ts';

export type HealthcheckArgs = { none: true } | { none: false; test: string[]; options: HealthcheckOptions };

const MIN_DURATION = 1_000_000; // 1ms in nanoseconds
const DURATION_FLAGS: [string, keyof Omit<HealthcheckOptions, 'retries'>][] = [
  ['interval', 'interval'],
  ['timeout', 'timeout'],
  ['start-period', 'startPeriod'],
  ['start-interval', 'startInterval'],
];

/** `rest` is the text after the flags; `flags` were already checked against the spec. */
export function parseHealthcheckArgs(rest: string, flags: readonly Flag[]): HealthcheckArgs {
  if (rest === '') throw new Error('HEALTHCHECK requires at least one argument');
  const m = /\p{White_Space}+/u.exec(rest);
  const type = (m ? rest.slice(0, m.index) : rest).toUpperCase();
  const command = m ? rest.slice(m.index + m[0].length) : '';
  if (type === 'NONE') {
    if (command !== '') throw new Error('HEALTHCHECK NONE takes no arguments');
    // BuildKit ignores options here; they can only be a mistake, so we say so.
    if (flags.length > 0) throw new Error(`HEALTHCHECK NONE takes no options (found --${flags[0]!.name})`);
    return { none: true };
  }
  const exec = parseJsonArray(command);
  if (type !== 'CMD') throw new Error(`Unknown type ${JSON.stringify(type)} in HEALTHCHECK (try CMD)`);
  if (exec ? exec.length === 0 : command === '') throw new Error('Missing command after HEALTHCHECK CMD');
  const test = exec ? ['CMD', ...exec] : ['CMD-SHELL', command];

  const options: HealthcheckOptions = {};
  for (const [flag, field] of DURATION_FLAGS) {
    const value = flagString(flags, flag);
    if (value) options[field] = parseInterval(flag, value);
  }
  const retries = flagString(flags, 'retries');
  if (retries) options.retries = parseRetries(retries);
  return { none: false, test, options };
}

/** 0 means "the default"; anything else must be at least 1ms. */
function parseInterval(flag: string, value: string): number {
  let ns: number;
  try {
    ns = parseGoDuration(value);
  } catch (err) {
    if (err instanceof DurationError) throw new Error(`--${flag}: ${err.message}`);
    throw err;
  }
  if (ns !== 0 && ns < MIN_DURATION) throw new Error(`Interval ${JSON.stringify(flag)} cannot be less than 1ms`);
  return ns;
}

/** Go's strconv.ParseInt(value, 10, 32), then not negative. */
function parseRetries(value: string): number {
  if (!/^[+-]?[0-9]+$/.test(value)) throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
  const n = Number(value);
  if (n > 2 ** 31 - 1 || n < -(2 ** 31)) throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(value)}: value out of range`);
  if (n < 0) throw new Error(`--retries cannot be negative (${n})`);
  return n === 0 ? 0 : n; // not -0 for "-0"
}
