// "Did you mean ...?" for unknown instructions and flags, as BuildKit's util/suggest does it: the
// closest option by Levenshtein distance, if it is under 3 edits away. Pure code.

export function levenshtein(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost));
    }
    prev = row;
  }
  return prev[y.length]!;
}

const commonPrefix = (a: string, b: string) => {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
};

/**
 * The option closest to `value`, or undefined when none is close or `value` is itself an option.
 * Case-insensitive search answers in the casing of `value` when it is all lower or all upper case.
 * BuildKit breaks ties by map order (at random); we prefer the longer common prefix (`rnu` → RUN,
 * not ENV), then the order of `options`.
 */
export function suggest(value: string, options: readonly string[], caseSensitive: boolean): string | undefined {
  const key = caseSensitive ? value : value.toLowerCase();
  let best: string | undefined;
  let bestDistance = 3;
  for (const option of options) {
    const candidate = caseSensitive ? option : option.toLowerCase();
    if (candidate === key) return undefined;
    const d = levenshtein(key, candidate);
    const tieWon = d === bestDistance && best !== undefined && commonPrefix(key, candidate) > commonPrefix(key, best);
    if (d < bestDistance || tieWon) {
      best = candidate;
      bestDistance = d;
    }
  }
  if (best === undefined || caseSensitive) return best;
  return value === value.toUpperCase() ? best.toUpperCase() : best;
}

/** `message (did you mean X?)` when there is a close option. */
export function withSuggestion(message: string, value: string, options: readonly string[], caseSensitive: boolean): string {
  const match = suggest(value, options, caseSensitive);
  return match === undefined ? message : `${message} (did you mean ${match}?)`;
}
