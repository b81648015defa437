import test from 'ava';
import {
  EXPANDED_FLAGS,
  EXPANDING_INSTRUCTIONS,
  ExpandError,
  expandHeredocContent,
  expandWord,
  expandWords,
} from '../../../../src/build/dockerfile/expand.ts';

// The environment of the tables below; NOTHING is unset everywhere.
const ENV: Record<string, string> = {
  DIR: '/home',
  SH: 'bash',
  EMPTY: '',
  WORD: 'foobarbaz',
  GREETING: '안녕',
  SPACED: 'abc  def',
  LEADING: '  ab c',
  PATHS: '/tmp/tmp/bar.txt',
};

const word = test.macro({
  exec(t, input: string, expected: string) {
    t.is(expandWord(input, ENV), expected);
  },
  title: (_title, input: string, expected: string) => `expandWord ${JSON.stringify(input)} is ${JSON.stringify(expected)}`,
});

const wordFails = test.macro({
  exec(t, input: string) {
    t.throws(() => expandWord(input, ENV), { instanceOf: ExpandError });
  },
  title: (_title, input: string) => `expandWord ${JSON.stringify(input)} is an error`,
});

// Quotes, escapes and literal dollars (lex.go's rules, our own cases).
const QUOTING: [string, string][] = [
  ['plain', 'plain'],
  ["in'sid'e", 'inside'],
  ["it\\'s", "it's"],
  ['a\\tb', 'atb'], // outside quotes the escape makes the next character literal and goes away
  ['"a\\tb"', 'a\\tb'], // inside double quotes it only escapes " $ and itself
  ['"a\\\\tb"', 'a\\tb'],
  ['"say \\"hi\\""', 'say "hi"'],
  ["'a\\tb'", 'a\\tb'], // single quotes: everything literal
  ["'a\\'", 'a\\'],
  ['trailing\\', 'trailing'],
  ['trailing\\\\', 'trailing\\'],
  ['"it\'s"', "it's"],
  ['"\'\'"', "''"],
  ["'\"quoted\"'", '"quoted"'],
  ['$.', '$.'],
  ['a$.b', 'a$.b'],
  ['cost: $', 'cost: $'],
  ['$ x', '$ x'],
  ['\\$DIR', '$DIR'],
  ['\\${DIR}', '${DIR}'],
  ['\\${}', '${}'],
  ['"\\$DIR"', '$DIR'],
  ["'$DIR'", '$DIR'],
  ["'\\$DIR'", '\\$DIR'],
  ["'${DIR}'", '${DIR}'],
  ['\\\\$DIR', '\\/home'],
  ['"\\\\$DIR"', '\\/home'],
  ['안녕\\t하세요', '안녕t하세요'],
  ["안'녕'하세요", '안녕하세요'],
  ['"a b"c', 'a bc'],
  ['x"$SPACED"y', 'xabc  defy'],
  ['"${DIR}" and \'${DIR}\'', '/home and ${DIR}'],
  ['"he said \'$SH\'"', "he said 'bash'"],
];
for (const [input, expected] of QUOTING) test(word, input, expected);

// Names, braces, unset and special names.
const VARIABLES: [string, string][] = [
  ['$DIR', '/home'],
  ['at $DIR/x', 'at /home/x'],
  ['${DIR}', '/home'],
  ['${DIR}suffix', '/homesuffix'],
  ['$DIRsuffix', ''], // the name runs on: DIRsuffix is unset
  ['$NOTHING', ''],
  ['a${NOTHING}b', 'ab'],
  ['$GREETING!', '안녕!'],
  ['$dir', ''], // names are case-sensitive on Linux
  ['$1x', 'x'], // positional parameters: a run of digits, never set
  ['$001a', 'a'],
  ['${99}', ''],
  ['$@', ''],
  ['$@@', '@'],
  ['${#}', ''], // special parameters are names that are never set
  ['$$', ''],
  ['${$}', ''],
  ['$0', ''],
  ['${!:-bang}', 'bang'],
  ['${?:-status}', 'status'],
  ['${-:+set}', ''],
  ['${DIR}}', '/home}'],
];
for (const [input, expected] of VARIABLES) test(word, input, expected);

// Modifiers: :- - :+ + :? ?, and nesting.
const MODIFIERS: [string, string][] = [
  ['${NOTHING:-dflt}', 'dflt'],
  ['${EMPTY:-dflt}', 'dflt'],
  ['${DIR:-dflt}', '/home'],
  ['${NOTHING-dflt}', 'dflt'],
  ['${EMPTY-dflt}', ''],
  ['${DIR-dflt}', '/home'],
  ['${NOTHING:+alt}', ''],
  ['${EMPTY:+alt}', ''],
  ['${DIR:+alt}', 'alt'],
  ['${NOTHING+alt}', ''],
  ['${EMPTY+alt}', 'alt'],
  ['${DIR+alt}', 'alt'],
  ['${DIR?}', '/home'],
  ['${DIR:?}', '/home'],
  ['${EMPTY?}', ''],
  ['${NOTHING:-${DIR}}', '/home'],
  ['${NOTHING:-$DIR}', '/home'],
  ['${NOTHING:-${ALSO_NOTHING:-deep}}', 'deep'],
  ['${DIR:+${SH}}', 'bash'],
  ['${DIR:+${NOTHING}}', ''],
  ['${DIR:+${DIR}:}', '/home:'],
  ['${NOTHING:-\\$DIR:}', '$DIR:'],
  ['${NOTHING:-\\${DIR}z}', '${DIRz}'],
  ['${NOTHING:-a {b}', 'a {b'],
  ['${NOTHING:-dflt}}', 'dflt}'],
  ['${NOTHING:-"quoted }"}', 'quoted }'],
  ['${NOTHING:-}', ''],
  ['${1:-one}', 'one'],
  ['${@:-all}x', 'allx'],
];
for (const [input, expected] of MODIFIERS) test(word, input, expected);

// Pattern removal and replacement (documented with foobarbaz in the Dockerfile reference).
const PATTERNS: [string, string][] = [
  ['${WORD#f*b}', 'arbaz'],
  ['${WORD##f*b}', 'az'],
  ['${WORD%b*}', 'foobar'],
  ['${WORD%%b*}', 'foo'],
  ['${WORD/ba/fo}', 'fooforbaz'],
  ['${WORD//ba/fo}', 'fooforfoz'],
  ['${WORD#}', 'foobarbaz'],
  ['${WORD##}', 'foobarbaz'],
  ['${WORD%}', 'foobarbaz'],
  ['${WORD#*}', 'foobarbaz'], // shortest match of * is empty
  ['${WORD##*}', ''],
  ['${WORD#?}', 'oobarbaz'],
  ['${WORD%?}', 'foobarba'],
  ['${WORD#nomatch}', 'foobarbaz'],
  ['${WORD#$EMPTY}', 'foobarbaz'],
  ['${WORD#${SH%sh}}', 'foobarbaz'], // "ba" is not a prefix
  ['${WORD%${SH#ba}}', 'foobarbaz'],
  ['${NOTHING#x}', ''],
  ['${NOTHING%%x}', ''],
  ['${PATHS/\\/tmp/}', '/tmp/bar.txt'],
  ['${PATHS//\\/tmp/}', '/bar.txt'],
  ['${PATHS//\\//\\/}', '\\/tmp\\/tmp\\/bar.txt'], // \/ is literal in the pattern, kept in the replacement
  ['${PATHS/?tmp/X}', 'X/tmp/bar.txt'],
  ['${PATHS//*\\//}', 'bar.txt'], // * is greedy in replacements
  ['${PATHS/.txt/.md}', '/tmp/tmp/bar.md'], // . is not a regexp wildcard
  ['${WORD//o/$EMPTY}', 'fbarbaz'],
  ['${WORD/$EMPTY/>}', '>foobarbaz'],
  ['${WORD///}', 'foobarbaz'],
  ['${NOTHING///}', ''],
];
for (const [input, expected] of PATTERNS) test(word, input, expected);

test('patterns treat \\*, \\? and regexp characters literally', (t) => {
  const env = { V: '()[]{}^$.*?|\\x', STARS: 'xx**', MIXED: 'a***yy*', Q: '???y' };
  t.is(expandWord('${V#()[]{\\}^$.\\*\\?|\\\\}', env), 'x');
  t.is(expandWord('${STARS%%\\**}', env), 'xx');
  t.is(expandWord('${MIXED%%\\**\\*}', env), 'a');
  t.is(expandWord('${Q#?\\?}', env), '?y');
});

test('replace-all follows Go: $0 in the replacement is the match, an empty match after a match is skipped', (t) => {
  t.is(expandWord('${V//b/[$R]}', { V: 'abc', R: '$0' }), 'a[b]c');
  t.is(expandWord('${V//b/$R}', { V: 'abc', R: '$$' }), 'a$c');
  t.is(expandWord('${V/b/$R}', { V: 'abc', R: '$0' }), 'a$0c'); // a single replacement is literal
  t.is(expandWord('${V//*/-}', { V: 'abc' }), '-'); // not '--': the empty match at the end abuts the first
  t.is(expandWord('${V//*/-}', { V: '' }), '-');
});

const FAILURES = [
  "he'llo",
  "\\\\'x",
  '"open',
  '"escaped end\\"',
  "'open",
  '${}',
  'a${}b',
  '${.}',
  '${DIR',
  '${NOTHING:-x',
  '${NOTHING:-x ${DIR}',
  '${{DIR}',
  '${:}',
  '${:-x}',
  '${DIR:x}', // only - + ? after a colon
  '${DIR:=x}',
  '${DIR=x}',
  '${#DIR}', // no length operator in BuildKit
  '${DIR:#x}',
  '${DIR:%%x}',
  '${NOTHING?}',
  '${NOTHING:?}',
  '${EMPTY:?}',
  '${WORD//ba}',
  '${WORD//}',
  '${WORD#\\x}', // only \* \? \\ are escapes in a pattern
];
for (const input of FAILURES) test(wordFails, input);

test('${v?message} and ${v:?message} fail with the (expanded) message', (t) => {
  const err = t.throws(() => expandWord('${NOTHING:?please set $SH}', ENV), { instanceOf: ExpandError });
  t.regex(err!.message, /NOTHING: please set bash/);
  t.throws(() => expandWord('${EMPTY:?must not be empty}', ENV), { message: /EMPTY: must not be empty/ });
  t.throws(() => expandWord('${NOTHING?}', ENV), { message: /NOTHING: is not allowed to be unset/ });
  t.throws(() => expandWord('${EMPTY:?}', ENV), { message: /EMPTY: is not allowed to be empty/ });
  t.is(expandWord('${EMPTY?gone}', ENV), '');
});

test('errors name the word that failed', (t) => {
  t.throws(() => expandWord('x${', ENV), { message: /^failed to process "x\$\{": syntax error: missing '}'/ });
  t.throws(() => expandWord('${a:b}', ENV), { message: /unsupported modifier \(:b\) in substitution/ });
});

test('a Map works like a plain object; undefined in an object means unset', (t) => {
  const env = new Map([
    ['A', 'from-map'],
    ['E', ''],
  ]);
  t.is(expandWord('$A ${E-unset} ${B-unset}', env), 'from-map  unset');
  t.is(expandWord('${U-unset}', { U: undefined }), 'unset');
  t.is(expandWord('${toString-unset}', {}), 'unset'); // no prototype lookups
});

test('with the backtick escape, backslashes are ordinary characters', (t) => {
  const opts = { escape: '`' } as const;
  t.is(expandWord('C:\\dir\\$SH', ENV, opts), 'C:\\dir\\bash');
  t.is(expandWord('`$SH', ENV, opts), '$SH');
  t.is(expandWord('"a`"b"', ENV, opts), 'a"b');
  t.is(expandWord('"a`tb"', ENV, opts), 'a`tb');
  t.deepEqual(expandWords('a` b c', ENV, opts), ['a b', 'c']);
});

const words = test.macro({
  exec(t, input: string, expected: string[]) {
    t.deepEqual(expandWords(input, ENV), expected);
  },
  title: (_title, input: string, expected: string[]) => `expandWords ${JSON.stringify(input)} is ${JSON.stringify(expected)}`,
});

// Word splitting happens after expansion, on whitespace that is neither quoted nor escaped.
const WORDS: [string, string[]][] = [
  ['one', ['one']],
  ['one two   three', ['one', 'two', 'three']],
  ['  padded  ', ['padded']],
  ['x${SPACED}y', ['xabc', 'defy']],
  ['x"${SPACED}"y', ['xabc  defy']],
  ['x "${SPACED}"y', ['x', 'abc  defy']],
  ['x${LEADING}y', ['x', 'ab', 'cy']],
  ['"${LEADING}" y', ['  ab c', 'y']],
  ['one\\ word', ['one word']],
  ['a\\" b', ['a"', 'b']],
  ['a" b "c', ['a b c']],
  ["'$DIR' $DIR", ['$DIR', '/home']],
  ['80 443/tcp ${NOTHING}', ['80', '443/tcp']],
  ['80${NOTHING:-80}', ['8080']],
  ['""', []], // an empty quoted word is dropped, as in BuildKit
  ['a "" b', ['a', 'b']],
  ['a << EOF', ['a', '<< EOF']], // `<<` keeps the blanks after it (heredoc words)
  ['', []],
];
for (const [input, expected] of WORDS) test(words, input, expected);

test('expandWords fails like expandWord', (t) => {
  t.throws(() => expandWords('a "b', ENV), { instanceOf: ExpandError });
});

test('heredoc bodies expand variables and backslashes but keep quotes', (t) => {
  t.is(expandHeredocContent('"$SH" \'$DIR\' \\$SH\n', ENV), '"bash" \'/home\' $SH\n');
  t.is(expandHeredocContent('${NOTHING:-it\'s}\n', ENV), "it's\n");
});

test('the expanding instructions: the reference list plus ARG; never RUN, CMD, ENTRYPOINT, SHELL', (t) => {
  for (const name of ['ADD', 'COPY', 'ENV', 'EXPOSE', 'FROM', 'LABEL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR', 'ONBUILD', 'ARG']) {
    t.true(EXPANDING_INSTRUCTIONS.has(name), name);
  }
  for (const name of ['RUN', 'CMD', 'ENTRYPOINT', 'SHELL', 'HEALTHCHECK', 'MAINTAINER']) t.false(EXPANDING_INSTRUCTIONS.has(name), name);
  t.deepEqual([...EXPANDED_FLAGS.get('COPY')!].sort(), ['chmod', 'chown']);
  t.false(EXPANDED_FLAGS.get('COPY')!.has('from'));
  t.deepEqual([...EXPANDED_FLAGS.get('ADD')!].sort(), ['checksum', 'chmod', 'chown']);
  t.true(EXPANDED_FLAGS.get('FROM')!.has('platform'));
  t.true(EXPANDED_FLAGS.get('RUN')!.has('mount'));
});
