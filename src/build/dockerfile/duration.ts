// Go's time.ParseDuration, which HEALTHCHECK's options use: `300ms`, `1.5h`, `2h45m`, `-1s`, `0`.
// The result is in nanoseconds, as the image config stores it. Arithmetic follows Go's (integer
// parts exact, fractions through a float64, overflow past int64 rejected). Pure code.

const UNITS: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n],
  ['us', 1_000n],
  ['\u00b5s', 1_000n], // µs, MICRO SIGN
  ['\u03bcs', 1_000n], // μs, GREEK SMALL LETTER MU
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60_000_000_000n],
  ['h', 3_600_000_000_000n],
]);
const LIMIT = 1n << 63n;

export class DurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DurationError';
  }
}

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

export function parseGoDuration(text: string): number {
  const quoted = JSON.stringify(text);
  const invalid = () => new DurationError(`time: invalid duration ${quoted}`);
  let s = text;
  let negative = false;
  if (s[0] === '-' || s[0] === '+') {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let total = 0n;
  while (s !== '') {
    if (!(s[0] === '.' || isDigit(s[0]))) throw invalid();
    // The integer part: exact, and it must stay below 2^63.
    let i = 0;
    let whole = 0n;
    while (isDigit(s[i])) {
      whole = whole * 10n + BigInt(s.charCodeAt(i) - 48);
      if (whole > LIMIT) throw invalid();
      i++;
    }
    const hadWhole = i > 0;
    s = s.slice(i);
    // The fraction: digits past what fits are ignored, as Go does.
    let fraction = 0n;
    let scale = 1;
    let hadFraction = false;
    if (s[0] === '.') {
      s = s.slice(1);
      let j = 0;
      let overflow = false;
      while (isDigit(s[j])) {
        if (!overflow) {
          const next = fraction * 10n + BigInt(s.charCodeAt(j) - 48);
          if (fraction > (LIMIT - 1n) / 10n || next > LIMIT) overflow = true;
          else {
            fraction = next;
            scale *= 10;
          }
        }
        j++;
      }
      hadFraction = j > 0;
      s = s.slice(j);
    }
    if (!hadWhole && !hadFraction) throw invalid();
    let k = 0;
    while (k < s.length && !(s[k] === '.' || isDigit(s[k]))) k++;
    if (k === 0) throw new DurationError(`time: missing unit in duration ${quoted}`);
    const unitName = s.slice(0, k);
    s = s.slice(k);
    const unit = UNITS.get(unitName);
    if (unit === undefined) throw new DurationError(`time: unknown unit ${JSON.stringify(unitName)} in duration ${quoted}`);
    if (whole > LIMIT / unit) throw invalid();
    let v = whole * unit;
    if (fraction > 0n) {
      v += BigInt(Math.trunc(Number(fraction) * (Number(unit) / scale)));
      if (v > LIMIT) throw invalid();
    }
    total += v;
    if (total > LIMIT) throw invalid();
  }
  if (negative) return -Number(total);
  if (total > LIMIT - 1n) throw invalid();
  return Number(total);
}
