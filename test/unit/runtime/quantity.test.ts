import test from 'ava';
import {
  addQuantities,
  canonicalQuantity,
  compareQuantities,
  cpuToMillicores,
  memoryToBytes,
  parseQuantity,
  QuantityError,
  quantityToString,
  scaledValue,
  type Quantity,
  type QuantityFormat,
} from '../../../src/runtime/spec/quantity.ts';

// Expected values below come from the Kubernetes resource.Quantity documentation and from the
// parse/format tables of apimachinery's own tests (value written as unscaled × 10^scale).
const q = (unscaled: bigint | number, scale: number, format: QuantityFormat): Quantity => ({ unscaled: BigInt(unscaled), scale, format });

const PARSED: [string, Quantity][] = [
  ['0', q(0, 0, 'DecimalSI')],
  ['0m', q(0, 0, 'DecimalSI')],
  ['0Ki', q(0, 0, 'BinarySI')],
  ['1', q(1, 0, 'DecimalSI')],
  ['1Ki', q(1024, 0, 'BinarySI')],
  ['7Mi', q(7 * 1024 * 1024, 0, 'BinarySI')],
  ['6Gi', q(6 * 1024 ** 3, 0, 'BinarySI')],
  ['3Ei', q(3n * 1024n ** 6n, 0, 'BinarySI')],
  ['5n', q(5, -9, 'DecimalSI')],
  ['4u', q(4, -6, 'DecimalSI')],
  ['3m', q(3, -3, 'DecimalSI')],
  ['50k', q(5, 4, 'DecimalSI')],
  ['40T', q(4, 13, 'DecimalSI')],
  ['1E', q(1, 18, 'DecimalSI')], // a bare E is exa, not an exponent
  ['12E', q(12, 18, 'DecimalSI')],
  ['1E-3', q(1, -3, 'DecimalExponent')],
  ['1e3', q(1, 3, 'DecimalExponent')],
  ['1E18', q(1, 18, 'DecimalExponent')],
  ['1e14', q(1, 14, 'DecimalExponent')],
  ['100.035k', q(100035, 0, 'DecimalSI')],
  ['0.0005k', q(5, -1, 'DecimalSI')],
  ['0.5', q(5, -1, 'DecimalSI')],
  ['0.5e-2', q(5, -3, 'DecimalExponent')],
  ['1.3E+6', q(13, 5, 'DecimalExponent')],
  ['1.53E12', q(153, 10, 'DecimalExponent')],
  ['7.123456M', q(7123456, 0, 'DecimalSI')],
  ['1.01E', q(101, 16, 'DecimalSI')],
  // Finer than nano rounds up to the next nano.
  ['3.001n', q(4, -9, 'DecimalSI')],
  ['1.1E-9', q(2, -9, 'DecimalExponent')],
  ['0.0000000001', q(1, -9, 'DecimalSI')],
  ['0.00000012345', q(124, -9, 'DecimalSI')],
  // Binary quantities are capped at 2^63-1.
  ['9Ei', q((1n << 63n) - 1n, 0, 'BinarySI')],
  ['9223372036854775807Ki', q((1n << 63n) - 1n, 0, 'BinarySI')],
  ['100.035Ki', q(10243584, -2, 'BinarySI')],
  ['0.5Mi', q(524288, 0, 'BinarySI')],
  ['0.025Ti', q(274877906944, -1, 'BinarySI')],
  // A binary quantity below one becomes decimal.
  ['0.000000000001Ki', q(2, -9, 'DecimalSI')],
  // The grammar's other number forms.
  ['.001', q(1, -3, 'DecimalSI')],
  ['.0001k', q(100, -3, 'DecimalSI')],
  ['1.', q(1, 0, 'DecimalSI')],
  ['1.G', q(1, 9, 'DecimalSI')],
];

for (const [input, expected] of PARSED) {
  test(`parses ${input}`, (t) => {
    const got = parseQuantity(input);
    t.is(compareQuantities(got, expected), 0, `${quantityToString(got)} != ${quantityToString(expected)}`);
    t.is(got.format, expected.format);
  });
  if (expected.unscaled !== 0n) {
    test(`parses -${input} and +${input}`, (t) => {
      const neg = parseQuantity(`-${input}`);
      t.is(compareQuantities(neg, { ...expected, unscaled: -expected.unscaled }), 0);
      t.is(neg.format, expected.format);
      t.is(compareQuantities(parseQuantity(`+${input}`), expected), 0);
    });
  }
}

// Canonical forms: the documented examples, then apimachinery's String() table (input → output).
const CANONICAL: [string, string][] = [
  ['1.5', '1500m'],
  ['1.5Gi', '1536Mi'],
  ['1Gi', '1Gi'],
  ['1024Mi', '1Gi'],
  ['307200Ki', '300Mi'],
  ['1025024Mi', '1001Gi'],
  ['1024Gi', '1Ti'],
  ['1000M', '1G'],
  ['0.001T', '1G'],
  ['1000u', '1m'],
  ['1.08', '1080m'],
  ['1080000000n', '1080m'],
  ['5000m', '5'],
  ['0.5', '500m'],
  ['.001e12', '1e9'],
  ['0.001e0', '1e-3'],
  ['1000e-12', '1e-9'],
  ['00', '0'],
  ['1Ki', '1Ki'],
  ['.001Ki', '1024m'],
  ['.000001Ki', '1024u'],
  ['.000000001Ki', '1024n'],
  ['.000000000001Ki', '2n'],
  ['1025', '1025'],
  ['80e-3', '80e-3'],
  ['300e6', '300e6'],
  ['1.2e3', '1200'],
  ['0.5Ki', '512'], // under 1024, a binary value prints as decimal
  ['1.5Ki', '1536'],
  ['1000E', '1e21'], // past E there is no SI suffix
  ['100m', '100m'],
  ['-1.5Gi', '-1536Mi'],
  ['-0', '0'],
];

for (const [input, expected] of CANONICAL) {
  test(`canonical form of ${input} is ${expected}`, (t) => {
    t.is(canonicalQuantity(input), expected);
    // The canonical form parses back to the same value.
    t.is(compareQuantities(parseQuantity(expected), parseQuantity(input)), 0);
  });
}

test('numbers from YAML parse like their text', (t) => {
  t.is(canonicalQuantity(0.5), '500m');
  t.is(canonicalQuantity(2), '2');
  t.is(cpuToMillicores(0.25), 250);
  t.is(memoryToBytes(1e9), 1000000000n);
});

const INVALID = [
  // the brief's list
  '12 Gigs',
  '1.2.3',
  '',
  'Mi',
  '-',
  // apimachinery's list
  '1.1.M',
  '1+1.0M',
  '0.1mi',
  '0.1am',
  'aoeu',
  '.5i',
  '1i',
  '-3.01i',
  '-3.01e-',
  ' 1',
  '1 ',
  // more that the grammar rules out
  '.',
  '+',
  '1e',
  '1K',
  '1ki',
  '1e3.5',
  '1Kib',
  '0x10',
];

for (const input of INVALID) {
  test(`rejects ${JSON.stringify(input)} naming the field`, (t) => {
    const err = t.throws(() => parseQuantity(input, 'spec.containers[0].resources.limits.memory'), { instanceOf: QuantityError });
    t.true(err!.message.startsWith(`spec.containers[0].resources.limits.memory: invalid quantity ${JSON.stringify(input)}`), err!.message);
    t.is(err!.path, 'spec.containers[0].resources.limits.memory');
  });
}

test('the brief example error reads as documented', (t) => {
  const err = t.throws(() => parseQuantity('12 Gigs', 'spec.containers[0].resources.limits.memory'));
  t.regex(err!.message, /^spec\.containers\[0\]\.resources\.limits\.memory: invalid quantity "12 Gigs"/);
});

test('non-finite numbers are rejected', (t) => {
  t.throws(() => parseQuantity(Number.NaN, 'x'), { instanceOf: QuantityError });
  t.throws(() => parseQuantity(Number.POSITIVE_INFINITY, 'x'), { instanceOf: QuantityError });
});

// cpu: "0.1" is "100m"; precision finer than 1m rounds up (MilliValue is a ceiling).
const MILLICORES: [string | number, number][] = [
  ['100m', 100],
  ['0.1', 100],
  ['1', 1000],
  ['1.5', 1500],
  ['2000m', 2000],
  ['0.5m', 1],
  ['1u', 1],
  ['1n', 1],
  ['1001u', 2],
  ['0', 0],
  ['1e-3', 1],
  ['1k', 1000000],
];
for (const [input, expected] of MILLICORES) {
  test(`cpu ${input} is ${expected} millicores`, (t) => t.is(cpuToMillicores(input), expected));
}

// memory: the docs' "roughly the same value" list, the 400m warning (0.4 bytes), and the binary units.
const BYTES: [string, bigint][] = [
  ['128974848', 128974848n],
  ['129e6', 129000000n],
  ['129M', 129000000n],
  ['128974848000m', 128974848n],
  ['123Mi', 128974848n],
  ['400m', 1n],
  ['500Mi', 524288000n],
  ['1Gi', 1073741824n],
  ['1G', 1000000000n],
  ['1.5Gi', 1610612736n],
  ['8Ei', (1n << 63n) - 1n],
  ['64Ki', 65536n],
];
for (const [input, expected] of BYTES) {
  test(`memory ${input} is ${expected} bytes`, (t) => t.is(memoryToBytes(input), expected));
}

test('negative cpu and memory are rejected with the field path', (t) => {
  const e1 = t.throws(() => cpuToMillicores('-1', 'spec.containers[0].resources.requests.cpu'));
  t.is(e1!.message, 'spec.containers[0].resources.requests.cpu: -1 must be greater than or equal to 0');
  const e2 = t.throws(() => memoryToBytes('-1Gi', 'spec.containers[0].resources.limits.memory'));
  t.is(e2!.message, 'spec.containers[0].resources.limits.memory: -1Gi must be greater than or equal to 0');
});

test('scaledValue is the ceiling at each scale (apimachinery table)', (t) => {
  const table: [number, number, bigint][] = [
    [-9, -9, 1n],
    [-9, -6, 1n],
    [-9, -3, 1n],
    [-9, 0, 1n],
    [-6, -9, 1000n],
    [-6, 0, 1n],
    [-3, -9, 1000000n],
    [-3, -6, 1000n],
    [-3, 0, 1n],
    [0, -9, 1000000000n],
    [0, -3, 1000n],
    [0, 0, 1n],
    [2, -2, 10000n],
  ];
  for (const [from, to, expected] of table) t.is(scaledValue(q(1, from, 'DecimalSI'), to), expected, `${from} → ${to}`);
});

test('comparison ignores format and scale', (t) => {
  t.is(compareQuantities(parseQuantity('100m'), parseQuantity('50m')), 1);
  t.is(compareQuantities(parseQuantity('50m'), parseQuantity('100m')), -1);
  t.is(compareQuantities(parseQuantity('10000T'), parseQuantity('100Gi')), 1);
  t.is(compareQuantities(parseQuantity('1Ki'), parseQuantity('1024')), 0);
  t.is(compareQuantities(parseQuantity('1'), parseQuantity('1000m')), 0);
  t.is(compareQuantities(parseQuantity('1e3'), parseQuantity('1k')), 0);
});

test('adding keeps the first non-zero format', (t) => {
  const sum = addQuantities(parseQuantity('1Gi'), parseQuantity('512Mi'));
  t.is(quantityToString(sum), '1536Mi');
  t.is(quantityToString(addQuantities(parseQuantity('0'), parseQuantity('1Ki'))), '1Ki');
  t.is(quantityToString(addQuantities(parseQuantity('100m'), parseQuantity('0.9'))), '1');
});
