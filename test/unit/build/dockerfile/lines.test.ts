import test from 'ava';
import { parseDockerfile } from '../../../../src/build/dockerfile/parse.ts';
import { only, parseErrorOf, stageOf } from './helpers/parse.ts';

// Parser directives: only at the very top, case-insensitive keys, each once.
const DIRECTIVES: [string, string, { syntax?: string; escape: string; check?: string }][] = [
  ['all three', '# syntax=docker/dockerfile:1\n# escape=`\n# check=skip=JSONArgsRecommended\nFROM x\n', { syntax: 'docker/dockerfile:1', escape: '`', check: 'skip=JSONArgsRecommended' }],
  ['none', 'FROM x\n', { escape: '\\' }],
  ['keys are case-insensitive', '# ESCAPE=`\n#Syntax=a/b\nFROM x\n', { syntax: 'a/b', escape: '`' }],
  ['blanks around = and after the value', '#  escape  =  `  \nFROM x\n', { escape: '`' }],
  ['indented', '   # escape=`\nFROM x\n', { escape: '`' }],
  ['after a blank line it is a comment', '\n# escape=`\nFROM x\n', { escape: '\\' }],
  ['after a comment it is a comment', '# hello\n# escape=`\nFROM x\n', { escape: '\\' }],
  ['an unknown directive ends them', '# foo=bar\n# escape=`\nFROM x\n', { escape: '\\' }],
  ['after an instruction it is a comment', 'FROM x\n# escape=`\nRUN a\n', { escape: '\\' }],
  ['a repeat after the end is a comment', '# escape=`\n# hello\n# escape=\\\nFROM x\n', { escape: '`' }],
  ['a byte-order mark is ignored', '\uFEFF# escape=`\nFROM x\n', { escape: '`' }],
];
for (const [title, text, expected] of DIRECTIVES) {
  test(`directives: ${title}`, (t) => {
    t.deepEqual(parseDockerfile(text).directives, expected);
  });
}

const DIRECTIVE_ERRORS: [string, string, number, RegExp][] = [
  ['a repeated escape', '# escape=`\n# escape=`\nFROM x\n', 2, /only one escape parser directive can be used/],
  ['a repeated syntax, in another case', '# syntax=a\n# escape=\\\n# SYNTAX=b\nFROM x\n', 3, /only one syntax parser directive can be used/],
  ['an escape that is neither \\ nor `', '# escape=x\nFROM x\n', 1, /invalid escape token 'x' does not match ` or \\/],
];
for (const [title, text, line, message] of DIRECTIVE_ERRORS) {
  test(`directives: ${title} is an error on line ${line}`, (t) => {
    const err = parseErrorOf(text);
    t.is(err.line, line);
    t.regex(err.message, new RegExp(`^Dockerfile:${line}: `));
    t.regex(err.detail, message);
  });
}

// Continuations: the escape character (then optional blanks) ends a line that goes on.
const CONTINUATIONS: [string, string, string][] = [
  ['joined as written, indentation kept', 'RUN echo a \\\n    b', 'echo a     b'],
  ['no blank before the escape', 'RUN echo a\\\nb', 'echo ab'],
  ['blanks after the escape', 'RUN echo a \\  \t\n b', 'echo a  b'],
  ['several lines', 'RUN a \\\n b \\\n c', 'a  b  c'],
  ['comment lines inside are dropped', 'RUN a \\\n# note\n b', 'a  b'],
  ['indented comment lines too', 'RUN a \\\n    # note \\\n b', 'a  b'],
  ['blank lines inside are dropped', 'RUN a \\\n\n   \n b', 'a  b'],
  ['a continuation at the end of the file', 'RUN a \\', 'a'],
  ['a continuation then a comment at the end', 'RUN a \\\n# the end', 'a'],
  ['an escaped escape does not continue', 'RUN echo a\\\\\nRUN b', 'echo a\\\\'],
  ['a lone escape line continues', 'RUN a \\\n\\\n b', 'a  b'],
  ['CRLF line endings', 'RUN a \\\r\n b\r\n', 'a  b'],
];
for (const [title, body, command] of CONTINUATIONS) {
  test(`continuation: ${title}`, (t) => {
    const run = stageOf(body)[0]!;
    t.is(run.kind, 'RUN');
    t.is(run.kind === 'RUN' && run.form === 'shell' ? run.command : undefined, command);
  });
}

test('with `# escape=`` the backtick continues lines and backslashes are plain', (t) => {
  const df = parseDockerfile('# escape=`\nFROM mcr.microsoft.com/windows\nRUN dir c:\\ `\n  && echo done\nWORKDIR c:\\\nCOPY a b\n');
  const [run, workdir] = df.stages[0]!.instructions;
  t.like(run, { kind: 'RUN', form: 'shell', command: 'dir c:\\   && echo done' });
  t.like(workdir, { kind: 'WORKDIR', path: 'c:\\' }); // a trailing backslash is not a continuation here
  t.is(df.stages[0]!.instructions.length, 3);
});

test('each instruction knows its first and last line, continuations and comments included', (t) => {
  const df = parseDockerfile(
    [
      '# syntax=docker/dockerfile:1', // 1
      '', // 2
      'FROM alpine AS base', // 3
      '# a comment', // 4
      'RUN apk add \\', // 5
      '    # dropped', // 6
      '    curl', // 7
      '', // 8
      '   ENV A=1', // 9
      'CMD ["sh"]', // 10
    ].join('\n'),
  );
  const [run, env, cmd] = df.stages[0]!.instructions;
  t.deepEqual(df.stages[0]!.from.loc, { file: 'Dockerfile', line: 3, endLine: 3 });
  t.deepEqual(run!.loc, { file: 'Dockerfile', line: 5, endLine: 7 });
  t.deepEqual(env!.loc, { file: 'Dockerfile', line: 9, endLine: 9 });
  t.deepEqual(cmd!.loc, { file: 'Dockerfile', line: 10, endLine: 10 });
  t.is(run!.original, 'RUN apk add     curl');
  t.is(env!.original, 'ENV A=1');
});

test('the file name given is used in locations and errors', (t) => {
  const df = parseDockerfile('FROM x\n', 'build/Containerfile');
  t.is(df.file, 'build/Containerfile');
  t.is(df.stages[0]!.from.loc.file, 'build/Containerfile');
  t.regex(parseErrorOf('FROM x\nBOGUS y\n', 'build/Containerfile').message, /^build\/Containerfile:2: /);
});

test('keywords are case-insensitive', (t) => {
  const df = parseDockerfile('from alpine as Base\nRun echo hi\ncopy a b\nOnBuild run make\n');
  t.is(df.stages[0]!.name, 'base');
  t.deepEqual(
    df.stages[0]!.instructions.map((i) => i.kind),
    ['RUN', 'COPY', 'ONBUILD'],
  );
});

test('comments and blank lines between instructions are skipped; a comment cannot continue', (t) => {
  const instructions = stageOf('\n# one \\\nRUN a\n\n   # two\n\nRUN b\n');
  t.deepEqual(
    instructions.map((i) => i.original),
    ['RUN a', 'RUN b'],
  );
});

test('a `#` after the start of a line is not a comment', (t) => {
  t.like(only('RUN', 'RUN echo a # not a comment'), { command: 'echo a # not a comment' });
});
