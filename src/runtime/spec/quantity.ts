// Kubernetes resource quantities ("500Mi", "100m", "1.5", "1e3"), parsed exactly as the API server's
// resource.Quantity does: fixed-point with bigint (never a float), values below one nano rounded up
// to 1n, binary-suffixed values capped at 2^63-1, and the canonical string that `kubectl get -o yaml`
// prints. The grammar (from the Quantity documentation):
//
//   quantity        ::= signedNumber suffix
//   signedNumber    ::= number | sign number          sign ::= "+" | "-"
//   number          ::= digits | digits "." digits | digits "." | "." digits
//   suffix          ::= binarySI | decimalExponent | decimalSI
//   binarySI        ::= Ki | Mi | Gi | Ti | Pi | Ei
//   decimalSI       ::= n | u | m | "" | k | M | G | T | P | E
//   decimalExponent ::= "e" signedNumber | "E" signedNumber      (an integer exponent)
//
// Where Kubernetes' scanner is laxer than its own grammar we follow the grammar: "-", "+", "." and a
// bare suffix such as "Mi" have no digit, and the API server quietly reads them as zero; here they
// are errors, since a manifest that says `memory: Mi` is a mistake worth reporting.
import { SpecError } from './errors.ts';

export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

/** An exact quantity: its value is `unscaled × 10^scale`; `format` is the suffix family it was written in. */
export interface Quantity {
  readonly unscaled: bigint;
  readonly scale: number;
  readonly format: QuantityFormat;
}

export class QuantityError extends SpecError {}

const DECIMAL_SUFFIX: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIX: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL_BY_EXPONENT = new Map(Object.entries(DECIMAL_SUFFIX).map(([s, e]) => [e, s]));
const BINARY_BY_EXPONENT = new Map(Object.entries(BINARY_SUFFIX).map(([s, e]) => [e / 10, s]));

/** Quantities are kept down to nano (10^-9); anything finer is rounded up, away from zero. */
const NANO = -9;
/** Binary-suffixed quantities are capped (silently, as Kubernetes does) at the largest int64. */
const MAX_INT64 = (1n << 63n) - 1n;
/**
 * kubelab's own bound on a decimal exponent. Kubernetes accepts "1e100000" and carries a
 * 100000-digit number around; no resource needs more than 10^18 (E), so a bound far above that only
 * keeps a hostile manifest from making us build enormous bigints.
 */
const MAX_EXPONENT = 1000;

const NUMBER_RE = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(.*)$/s;
const EXPONENT_RE = /^[eE]([+-]?[0-9]+)$/;

const pow10 = (n: number): bigint => 10n ** BigInt(n);
const abs = (n: bigint): bigint => (n < 0n ? -n : n);

/**
 * Parses a quantity. `path` names the field in errors:
 * `spec.containers[0].resources.limits.memory: invalid quantity "12 Gigs"`. Numbers (from YAML
 * `cpu: 0.5`) are accepted as the API server accepts JSON numbers.
 */
export function parseQuantity(input: string | number, path = ''): Quantity {
  const fail = (why?: string): never => {
    const shown = typeof input === 'string' ? JSON.stringify(input) : String(input);
    throw new QuantityError({ path, message: `invalid quantity ${shown}${why ? `: ${why}` : ''}` });
  };
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) fail('not a finite number');
    input = String(input);
  }
  if (typeof input !== 'string') fail('expected a string or a number');
  const text = input as string;
  if (text === '') fail('empty');
  const m = NUMBER_RE.exec(text);
  if (!m) return fail();
  const [, sign, whole = '', fraction = '', suffix = ''] = m;
  if (whole === '' && fraction === '') fail('no digits');

  let unscaled = BigInt(whole + fraction || '0');
  let scale = -fraction.length;
  let format: QuantityFormat;
  if (suffix in DECIMAL_SUFFIX) {
    format = 'DecimalSI';
    scale += DECIMAL_SUFFIX[suffix]!;
  } else if (suffix in BINARY_SUFFIX) {
    format = 'BinarySI';
    unscaled <<= BigInt(BINARY_SUFFIX[suffix]!);
  } else {
    const e = EXPONENT_RE.exec(suffix);
    if (suffix.startsWith('.')) fail('more than one decimal point');
    if (/\s/.test(suffix)) fail('spaces are not allowed');
    if (!e) return fail(`unknown suffix ${JSON.stringify(suffix)} (use n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or e<exponent>)`);
    const exponent = Number(e[1]);
    if (Math.abs(exponent) > MAX_EXPONENT) fail(`exponent out of range (kubelab accepts up to ±${MAX_EXPONENT})`);
    format = 'DecimalExponent';
    scale += exponent;
  }

  // Keep the magnitude; the sign goes back on at the end (Kubernetes rounds and caps magnitudes).
  if (unscaled === 0n) return { unscaled: 0n, scale: 0, format };
  if (scale < NANO) {
    const divisor = pow10(NANO - scale);
    unscaled = unscaled / divisor + (unscaled % divisor === 0n ? 0n : 1n);
    scale = NANO;
  }
  if (format === 'BinarySI') {
    if (compareMagnitude(unscaled, scale, MAX_INT64, 0) > 0) {
      unscaled = MAX_INT64;
      scale = 0;
    } else if (compareMagnitude(unscaled, scale, 1n, 0) < 0) {
      format = 'DecimalSI'; // a fraction of one byte has no binary suffix
    }
  }
  return { unscaled: sign === '-' ? -unscaled : unscaled, scale, format };
}

/** True when `input` parses as a quantity. */
export function isQuantity(input: string | number): boolean {
  try {
    parseQuantity(input);
    return true;
  } catch {
    return false;
  }
}

function compareMagnitude(a: bigint, aScale: number, b: bigint, bScale: number): number {
  const s = Math.min(aScale, bScale);
  const x = a * pow10(aScale - s);
  const y = b * pow10(bScale - s);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** -1, 0 or 1 as `a` is less than, equal to or greater than `b` (formats do not matter). */
export function compareQuantities(a: Quantity, b: Quantity): -1 | 0 | 1 {
  return compareMagnitude(a.unscaled, a.scale, b.unscaled, b.scale) as -1 | 0 | 1;
}

export const isZero = (q: Quantity) => q.unscaled === 0n;

/** The sum; its format is `a`'s unless `a` is zero (then `b`'s), as Quantity.Add does. */
export function addQuantities(a: Quantity, b: Quantity): Quantity {
  const scale = Math.min(a.scale, b.scale);
  const unscaled = a.unscaled * pow10(a.scale - scale) + b.unscaled * pow10(b.scale - scale);
  return { unscaled, scale, format: isZero(a) ? b.format : a.format };
}

/** ceil(q / 10^scale) for q >= 0, away from zero for q < 0: the integer Kubernetes reports at that scale. */
export function scaledValue(q: Quantity, scale: number): bigint {
  if (q.unscaled === 0n) return 0n;
  const shift = q.scale - scale;
  if (shift >= 0) return q.unscaled * pow10(shift);
  const divisor = pow10(-shift);
  const magnitude = abs(q.unscaled);
  const rounded = magnitude / divisor + (magnitude % divisor === 0n ? 0n : 1n);
  return q.unscaled < 0n ? -rounded : rounded;
}

/** The value rounded up to an integer (Quantity.Value): bytes for memory. */
export const quantityValue = (q: Quantity): bigint => scaledValue(q, 0);
/** The value in thousandths, rounded up (Quantity.MilliValue): millicores for cpu. */
export const milliValue = (q: Quantity): bigint => scaledValue(q, -3);

/**
 * CPU in millicores, rounded up as Kubernetes does ("0.1m" and "1u" are 1 millicore). Throws a
 * QuantityError naming `path` for an invalid or negative value, or one too large to be a number.
 */
export function cpuToMillicores(input: string | number | Quantity, path = ''): number {
  return toSafeNumber(milliValue(asQuantity(input, path)), input, path);
}

/** Memory (or any byte quantity) in bytes, rounded up; a bigint since 8Ei does not fit a number. */
export function memoryToBytes(input: string | number | Quantity, path = ''): bigint {
  const q = asQuantity(input, path);
  if (q.unscaled < 0n) throw new QuantityError({ path, message: `${quantityToString(q)} must be greater than or equal to 0` });
  return quantityValue(q);
}

function asQuantity(input: string | number | Quantity, path: string): Quantity {
  return typeof input === 'object' && input !== null ? input : parseQuantity(input, path);
}

function toSafeNumber(v: bigint, input: unknown, path: string): number {
  const shown = typeof input === 'object' ? quantityToString(input as Quantity) : String(input);
  if (v < 0n) throw new QuantityError({ path, message: `${shown} must be greater than or equal to 0` });
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new QuantityError({ path, message: `${shown} is too large` });
  return Number(v);
}

/**
 * The canonical form (Quantity.String): no fraction, the largest suffix that loses nothing, the
 * suffix family it was written in. "1.5" → "1500m", "1.5Gi" → "1536Mi", "1024Mi" → "1Gi",
 * "1.2e3" → "1200", "0.5Ki" → "512". Binary values under 1024 or with a fraction print as decimal.
 */
export function quantityToString(q: Quantity): string {
  if (q.unscaled === 0n) return '0';
  let format = q.format;
  if (format === 'BinarySI') {
    const whole = scaledValue(q, 0);
    const exact = compareQuantities(q, { unscaled: whole, scale: 0, format }) === 0;
    if (abs(whole) < 1024n || !exact) format = 'DecimalSI';
    else return binaryString(whole);
  }
  // Move every factor of ten into the exponent, then back out until the exponent is a multiple of 3.
  let mantissa = q.unscaled;
  let exponent = q.scale;
  while (mantissa % 10n === 0n) {
    mantissa /= 10n;
    exponent += 1;
  }
  while (exponent % 3 !== 0) {
    mantissa *= 10n;
    exponent -= 1;
  }
  if (format === 'DecimalSI') {
    const suffix = DECIMAL_BY_EXPONENT.get(exponent);
    if (suffix !== undefined) return `${mantissa}${suffix}`;
    // Past "E" there is no SI suffix: Kubernetes falls back to exponent notation.
  }
  return exponent === 0 ? `${mantissa}` : `${mantissa}e${exponent}`;
}

function binaryString(whole: bigint): string {
  let mantissa = whole;
  let exponent = 0;
  while (mantissa % 1024n === 0n && exponent < 6) {
    mantissa /= 1024n;
    exponent += 1;
  }
  return `${mantissa}${BINARY_BY_EXPONENT.get(exponent) ?? ''}`;
}

/** Parses and prints canonically in one step: `canonicalQuantity("0.5Gi")` is "512Mi". */
export function canonicalQuantity(input: string | number, path = ''): string {
  return quantityToString(parseQuantity(input, path));
}
