import test from 'ava';
import { DurationError, parseGoDuration } from '../../../../src/build/dockerfile/duration.ts';
import { parseFlags } from '../../../../src/build/dockerfile/flags.ts';
import { cleanPath } from '../../../../src/build/dockerfile/ignore-pattern.ts';
import { compileShellPattern, reversePattern } from '../../../../src/build/dockerfile/shell-pattern.ts';
import { levenshtein, suggest } from '../../../../src/build/dockerfile/suggest.ts';

// Go's time.ParseDuration, in nanoseconds.
const DURATIONS: [string, number][] = [
  ['0', 0],
  ['-0', 0],
  ['5s', 5e9],
  ['1m30s', 90e9],
  ['2h45m', 9900e9],
  ['1.5h', 5400e9],
  ['500ms', 5e8],
  ['.5s', 5e8],
  ['1.s', 1e9],
  ['300ns', 300],
  ['1us', 1000],
  ['1\u00b5s', 1000],
  ['1\u03bcs', 1000],
  ['1h0m0.001s', 3600e9 + 1e6],
  ['+5s', 5e9],
  ['-1.5h', -5400e9],
  ['0.000000001s', 1],
  ['2562047h', 2562047 * 3600e9],
];
for (const [text, ns] of DURATIONS) {
  test(`duration ${JSON.stringify(text)} is ${ns}ns`, (t) => {
    t.is(parseGoDuration(text), ns);
  });
}

const BAD_DURATIONS: [string, RegExp][] = [
  ['', /^time: invalid duration ""$/],
  ['s', /invalid duration/],
  ['.s', /invalid duration/],
  ['-', /invalid duration/],
  ['1', /^time: missing unit in duration "1"$/],
  ['1.2.3s', /missing unit/],
  ['1x', /^time: unknown unit "x" in duration "1x"$/],
  ['5 s', /unknown unit " s"/],
  ['2562048h', /invalid duration/], // past int64
  ['9223372036854775808ns', /invalid duration/],
];
for (const [text, message] of BAD_DURATIONS) {
  test(`duration ${JSON.stringify(text)} is refused`, (t) => {
    t.throws(() => parseGoDuration(text), { instanceOf: DurationError, message });
  });
}

test('suggestions: close options only, in the casing asked', (t) => {
  t.is(levenshtein('kitten', 'sitting'), 3);
  t.is(levenshtein('', 'abc'), 3);
  t.is(suggest('RUNN', ['RUN', 'ENV'], false), 'RUN');
  t.is(suggest('cmnd', ['CMD'], false), 'cmd');
  t.is(suggest('Cmnd', ['CMD'], false), 'cmd');
  t.is(suggest('xyzzy', ['RUN'], false), undefined);
  t.is(suggest('RUN', ['RUN'], false), undefined); // an exact match needs no suggestion
  t.is(suggest('Chown', ['chown'], true), 'chown');
});

test('flags: values, bare booleans, repeatable lists', (t) => {
  const spec = { a: 'string', b: 'bool', c: 'strings' } as const;
  t.deepEqual(parseFlags(['--a=x=y', '--b', '--c=1', '--c=2', '--c='], spec, 'X'), [
    { name: 'a', value: 'x=y' },
    { name: 'b' },
    { name: 'c', value: '1' },
    { name: 'c', value: '2' },
    { name: 'c', value: '' },
  ]);
  t.throws(() => parseFlags(['-a=x'], spec, 'X'), { message: /arg should start with -- : -a=x/ });
  t.throws(() => parseFlags(['--b=TRUE', '--b'], spec, 'X'), { message: /duplicate flag specified: --b/ });
});

test('shell patterns: escapes, and reversal that keeps escape pairs', (t) => {
  t.is(compileShellPattern('*', true, true).source, '^[^\\n]*');
  t.is(compileShellPattern('?', true, true).source, '^[^\\n]');
  t.is(compileShellPattern('\\*', true, true).source, '^\\*');
  t.is(compileShellPattern('(()[]{\\}^$.\\*\\?|\\\\', true, true).source, '^\\(\\(\\)\\[\\]\\{\\}\\^\\$\\.\\*\\?\\|\\\\');
  for (const bad of ['\\', '\\x', '\\\\\\']) t.throws(() => compileShellPattern(bad, true, true), { message: /invalid escape/ });
  t.is(reversePattern('a\\*c'), 'c\\*a');
  t.is(reversePattern('\\\\\\ab'), 'b\\a\\\\');
  t.is(reversePattern('ab\\'), '\\ba');
  t.is(reversePattern('👽\\🚀🖖'), '🖖\\🚀👽');
});

test('cleanPath is Go path.Clean', (t) => {
  const cases: [string, string][] = [
    ['', '.'],
    ['a/b/', 'a/b'],
    ['./a//b', 'a/b'],
    ['a/./b/../c', 'a/c'],
    ['../../x', '../../x'],
    ['a/../..', '..'],
    ['/../x', '/x'],
    ['/', '/'],
    ['//', '/'],
  ];
  for (const [input, expected] of cases) t.is(cleanPath(input), expected, input);
});
