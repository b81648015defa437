import test from 'ava';
import { IgnoreMatcher, IgnorePatternError, parseDockerignore } from '../../../../src/build/dockerfile/dockerignore.ts';

test('parseDockerignore: comments, blank lines, trimming, cleaning, a leading slash, exceptions', (t) => {
  const text = [
    '# a comment',
    '',
    '   ',
    '  node_modules  ',
    '  # not a comment: only column 1 starts one',
    './build//out/',
    'a/../b',
    '/abs/path',
    '!/keep/this',
    '!   spaced',
    '../outside',
    '/',
    '.',
    '*.log\r',
  ].join('\n');
  t.deepEqual(parseDockerignore(text), [
    'node_modules',
    '# not a comment: only column 1 starts one',
    'build/out',
    'b',
    'abs/path',
    '!keep/this',
    '!spaced',
    '../outside',
    '/',
    '.',
    '*.log',
  ]);
});

test('parseDockerignore: a byte-order mark and a final line without newline', (t) => {
  t.deepEqual(parseDockerignore('\uFEFF*.tmp\n!x.tmp'), ['*.tmp', '!x.tmp']);
  t.deepEqual(parseDockerignore(''), []);
});

const excluded = test.macro({
  exec(t, patterns: string[], path: string, expected: boolean) {
    t.is(new IgnoreMatcher(patterns).excludes(path), expected);
  },
  title: (_title, patterns: string[], path: string, expected: boolean) =>
    `${JSON.stringify(patterns)} ${expected ? 'excludes' : 'keeps'} ${JSON.stringify(path)}`,
});

// One pattern at a time: wildcards, classes, escapes, `**`, and directories covering their content.
const SINGLE: [string, string, boolean][] = [
  ['*', 'file.go', true],
  ['*', 'dir/file.go', true], // the directory matches, so everything below it does
  ['*.go', 'main.go', true],
  ['*.go', 'cmd/main.go', false], // * does not cross a slash
  ['*/temp*', 'somedir/temporary.txt', true],
  ['*/temp*', 'somedir/temp', true],
  ['*/temp*', 'temp', false],
  ['*/*/temp*', 'somedir/subdir/temporary.txt', true],
  ['*/*/temp*', 'somedir/temporary.txt', false],
  ['temp?', 'tempa', true],
  ['temp?', 'temp', false],
  ['temp?', 'tempab', false],
  ['a?c', 'a/c', false], // ? does not match a slash
  ['a[b-d]e', 'ace', true],
  ['a[b-d]e', 'aae', false],
  ['a[^b-d]e', 'aze', true],
  ['a[^b-d]e', 'ace', false],
  ['[Dd]ockerfile', 'dockerfile', true],
  ['a[\\]]b', 'a]b', true],
  ['.*', '.git', true],
  ['.*', 'git', false],
  ['abc.def', 'abcZdef', false], // regexp characters mean themselves
  ['a(b)c+{d}|$', 'a(b)c+{d}|$', true],
  ['a\\*b', 'a*b', true],
  ['a\\*b', 'aXb', false],
  ['a\\\\', 'a\\', true],
  ['docs', 'docs', true],
  ['docs', 'docs/api/index.md', true],
  ['docs', 'mydocs', false],
  ['docs/', 'docs/README.md', true], // cleaned to docs
  ['docs/*', 'docs/README.md', true],
  ['docs/*', 'docs', false],
  ['**', 'any/thing/at/all', true],
  ['**/*.go', 'main.go', true],
  ['**/*.go', 'a/b/c/main.go', true],
  ['**/*.go', 'a/b/c/main.gox', false],
  ['**/vendor', 'vendor', true],
  ['**/vendor', 'src/vendor/lib/x.go', true],
  ['**/.foo', 'bar.foo', false],
  ['**file', 'dir/dir/file', true],
  ['dir/**', 'dir/file', true],
  ['dir/**', 'dir/a/b', true],
  ['dir/**', 'dir', false],
  ['a/**/b', 'a/b', true],
  ['a/**/b', 'a/x/y/b', true],
  ['a/**/b', 'a/x/y/bb', false],
  ['a**/*.txt', 'a/dir/dir/file.txt', true],
  ['**/dir2/*', 'dir/dir2/file', true],
  ['build/out', 'build/out/bin/x', true],
  ['build/out', 'build/outside', false],
];
for (const [pattern, path, expected] of SINGLE) test(excluded, [pattern], path, expected);

// Several patterns: in order, the last match decides, `!` takes paths back.
const MULTI: [string[], string, boolean][] = [
  [['*.md', '!README.md'], 'README.md', false],
  [['*.md', '!README.md'], 'CHANGES.md', true],
  [['!README.md', '*.md'], 'README.md', true], // order matters
  [['*.md', '!README*.md', 'README-secret.md'], 'README-secret.md', true],
  [['*.md', '!README*.md', 'README-secret.md'], 'README-public.md', false],
  [['*.md', 'README-secret.md', '!README*.md'], 'README-secret.md', false],
  [['docs', '!docs/README.md'], 'docs/README.md', false],
  [['docs', '!docs/README.md'], 'docs/other.md', true],
  [['docs/*', '!docs/README.md'], 'docs/README.md', false],
  [['**', '!src'], 'src/app/main.ts', false],
  [['**', '!src'], 'test/x.ts', true],
  [['**', '!src', 'src/**/*.test.ts'], 'src/app/a.test.ts', true],
  [['**', '!src', 'src/**/*.test.ts'], 'src/app/a.ts', false],
  [['**', '!dist/*.whl'], 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', false],
  [['node_modules', '!node_modules/keep', 'node_modules/keep/tmp'], 'node_modules/keep/tmp/x', true],
  [['node_modules', '!node_modules/keep', 'node_modules/keep/tmp'], 'node_modules/keep/src/x', false],
  [[], 'anything', false],
  [['', '   '], 'anything', false],
  // A re-excluding pattern is not tried where the path is already excluded, so it does not reach
  // below an exception made in between: BuildKit's walk (fsutil over patternmatcher) keeps a/b/c.
  [['a', '!a/b', 'a'], 'a/b/c', false],
];
for (const [patterns, path, expected] of MULTI) test(excluded, patterns, path, expected);

test('a leading slash means the context root once parseDockerignore has read the file', (t) => {
  const patterns = parseDockerignore('/docs\n!/docs/keep\n');
  t.true(new IgnoreMatcher(patterns).excludes('docs/README.md'));
  t.false(new IgnoreMatcher(patterns).excludes('docs/keep'));
});

test('paths are cleaned; the context root is never excluded', (t) => {
  const m = new IgnoreMatcher(['**', 'logs']);
  t.true(m.excludes('./logs/'));
  t.true(m.excludes('/logs/a'));
  t.false(m.excludes('.'));
  t.false(m.excludes(''));
});

test('the matcher gives the same answers in any order of questions', (t) => {
  const patterns = ['docs', '!docs/api', 'docs/api/private'];
  const paths = ['docs/api/private/x', 'docs/api/public', 'docs/guide', 'docs/api', 'docs'];
  const fresh = paths.map((p) => new IgnoreMatcher(patterns).excludes(p));
  const shared = new IgnoreMatcher(patterns);
  t.deepEqual(paths.map((p) => shared.excludes(p)), fresh);
  t.deepEqual([...paths].reverse().map((p) => shared.excludes(p)), [...fresh].reverse());
  t.deepEqual(fresh, [true, false, true, false, true]);
});

test('mayHaveExceptionsBelow: only where a plain exception lies inside the directory', (t) => {
  const m = new IgnoreMatcher(['docs', '!docs/README.md', 'vendor', '!vendor/keep/**']);
  t.true(m.mayHaveExceptionsBelow('docs'));
  t.false(m.mayHaveExceptionsBelow('docs/api'));
  t.true(m.mayHaveExceptionsBelow('vendor'));
  t.true(m.mayHaveExceptionsBelow('vendor/keep'));
  t.false(m.mayHaveExceptionsBelow('vendor/other'));
  t.false(m.mayHaveExceptionsBelow('node_modules'));
  t.false(m.mayHaveExceptionsBelow('doc')); // a prefix of the name is not a parent
});

test('mayHaveExceptionsBelow: never without exceptions, always when an exception has wildcards', (t) => {
  t.false(new IgnoreMatcher(['*', 'build']).mayHaveExceptionsBelow('build'));
  const wild = new IgnoreMatcher(['*', '!**/*.go']);
  t.true(wild.mayHaveExceptionsBelow('anything'));
  t.true(wild.mayHaveExceptionsBelow('a/b'));
  t.true(new IgnoreMatcher(['x', '!x/*/y']).mayHaveExceptionsBelow('z'));
});

const BAD_PATTERNS: [string, RegExp][] = [
  ['!', /illegal exclusion pattern/],
  ['[', /syntax error in pattern/],
  ['a[b', /syntax error in pattern/],
  ['[]a]', /syntax error in pattern/],
  ['[^]', /syntax error in pattern/],
  ['[a-]', /syntax error in pattern/],
  ['trailing\\', /syntax error in pattern/],
  ['[z-a]', /syntax error in pattern/],
];
for (const [pattern, message] of BAD_PATTERNS) {
  test(`the pattern ${JSON.stringify(pattern)} is refused`, (t) => {
    const err = t.throws(() => new IgnoreMatcher(['ok', pattern]), { instanceOf: IgnorePatternError });
    t.is(err!.pattern, pattern);
    t.regex(err!.message, message);
  });
}
