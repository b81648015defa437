import test from 'ava';
import { parseHeredocWord } from '../../../../src/build/dockerfile/heredoc.ts';
import { parseDockerfile } from '../../../../src/build/dockerfile/parse.ts';
import { only, parseErrorOf, stageOf } from './helpers/parse.ts';

// Which words open a heredoc, and whether its body is expanded (any quoting turns that off).
const WORDS: [string, { name: string; chomp: boolean; expand: boolean } | undefined][] = [
  ['<<EOF', { name: 'EOF', chomp: false, expand: true }],
  ['<<-EOF', { name: 'EOF', chomp: true, expand: true }],
  ['<<"EOF"', { name: 'EOF', chomp: false, expand: false }],
  ["<<'EOF'", { name: 'EOF', chomp: false, expand: false }],
  ["<<-'EOF'", { name: 'EOF', chomp: true, expand: false }],
  ['<<EO"F"', { name: 'EOF', chomp: false, expand: false }],
  ["<<eo\\'f", { name: "eo'f", chomp: false, expand: true }], // an escaped quote is not quoting
  ['<< EOF', { name: 'EOF', chomp: false, expand: true }],
  ['3<<EOF', { name: 'EOF', chomp: false, expand: true }],
  ['<<file.txt', { name: 'file.txt', chomp: false, expand: true }],
  ['<<$EOF', { name: '$EOF', chomp: false, expand: true }],
  ["<<'one two'", { name: 'one two', chomp: false, expand: false }],
  ['EOF', undefined],
  ['<<', undefined],
  ['<<-', undefined],
  ['<EOF', undefined],
  ['<<<EOF', undefined],
  ['<<EOF sh', undefined],
];
for (const [word, expected] of WORDS) {
  test(`heredoc word ${JSON.stringify(word)}`, (t) => {
    t.deepEqual(parseHeredocWord(word), expected);
  });
}

test('RUN <<EOF: the command is the line, the body is the heredoc', (t) => {
  const df = parseDockerfile('FROM x\nRUN <<EOF\n#!/bin/sh\necho "$HOME"\n\n# kept\nEOF\nRUN done\n');
  const [run, next] = df.stages[0]!.instructions;
  t.like(run, { kind: 'RUN', form: 'shell', command: '<<EOF', heredocs: [{ name: 'EOF', content: '#!/bin/sh\necho "$HOME"\n\n# kept\n', expand: true }] });
  t.deepEqual(run!.loc, { file: 'Dockerfile', line: 2, endLine: 7 });
  t.like(next, { kind: 'RUN', command: 'done' });
});

test('RUN <<-EOF strips leading tabs from the body and allows an indented terminator', (t) => {
  t.like(only('RUN', 'RUN <<-EOF\n\tindented\n\t\ttwice\n  spaces stay\n\tEOF'), {
    heredocs: [{ name: 'EOF', content: 'indented\ntwice\n  spaces stay\n', expand: true }],
  });
});

test('RUN <<EOF keeps tabs, and an indented terminator does not end it', (t) => {
  t.like(only('RUN', 'RUN <<EOF\n\tx\n\tEOF\nEOF'), { heredocs: [{ name: 'EOF', content: '\tx\n\tEOF\n' }] });
});

test('a quoted delimiter turns expansion off', (t) => {
  t.like(only('RUN', "RUN <<'EOF'\necho $HOME\nEOF"), { heredocs: [{ name: 'EOF', content: 'echo $HOME\n', expand: false }] });
  t.like(only('RUN', 'RUN <<"EOF"\nx\nEOF'), { heredocs: [{ expand: false }] });
});

test('a heredoc in the middle of a command, with redirections and other words', (t) => {
  t.like(only('RUN', 'RUN python3 <<EOF > /out.txt\nprint(1)\nEOF'), {
    command: 'python3 <<EOF > /out.txt',
    heredocs: [{ name: 'EOF', content: 'print(1)\n' }],
  });
});

test('several heredocs in one RUN are read one after the other', (t) => {
  const run = only('RUN', 'RUN <<FILE1 cat > /a && <<-FILE2 cat > /b\none\nFILE1\n\ttwo\n\tFILE2');
  t.deepEqual(run.heredocs, [
    { name: 'FILE1', content: 'one\n', expand: true },
    { name: 'FILE2', content: 'two\n', expand: true },
  ]);
});

test('heredocs work after RUN flags', (t) => {
  const run = only('RUN', 'RUN --mount=type=cache,target=/c <<EOF\necho hi\nEOF');
  t.like(run, { command: '<<EOF', heredocs: [{ name: 'EOF', content: 'echo hi\n' }] });
});

test('COPY <<EOF /dest: heredoc sources, other sources stay paths', (t) => {
  t.like(only('COPY', 'COPY <<EOF /etc/motd\n"Hello"\n\'world\'\nEOF'), {
    sources: [],
    dest: '/etc/motd',
    heredocs: [{ name: 'EOF', content: '"Hello"\n\'world\'\n', expand: true }],
  });
  t.like(only('COPY', 'COPY --chmod=755 <<-"RUNME" real.txt /bin/\n\t#!/bin/sh\nRUNME'), {
    sources: ['real.txt'],
    dest: '/bin/',
    heredocs: [{ name: 'RUNME', content: '#!/bin/sh\n', expand: false }],
  });
});

test('COPY with two heredocs, bodies that look like the other terminator', (t) => {
  const copy = only('COPY', 'COPY <<X <<Y /dest\nY\nX\nX\nY');
  t.deepEqual(copy.heredocs, [
    { name: 'X', content: 'Y\n', expand: true },
    { name: 'Y', content: 'X\n', expand: true },
  ]);
});

test('ADD takes heredocs too', (t) => {
  t.like(only('ADD', 'ADD <<EOF /x\nbody\nEOF'), { kind: 'ADD', heredocs: [{ name: 'EOF', content: 'body\n' }] });
});

test('JSON forms and other instructions take no heredocs', (t) => {
  t.like(only('RUN', 'RUN ["cat", "<<EOF"]'), { form: 'exec', args: ['cat', '<<EOF'], heredocs: [] });
  t.like(only('RUN', 'RUN "<<NOHEREDOC"'), { form: 'shell', heredocs: [] });
  t.like(stageOf('USER <<X\nRUN next')[0], { kind: 'USER', user: '<<X' });
  t.like(stageOf('USER <<X\nRUN next')[1], { kind: 'RUN', command: 'next' });
});

test('a heredoc body keeps CRLF line endings; the terminator may end in CRLF', (t) => {
  t.like(only('RUN', 'RUN <<EOF\r\none\r\nEOF\r\n'), { heredocs: [{ content: 'one\r\n' }] });
});

test('ONBUILD with a heredoc: the trigger gets it, the expression carries body and terminator', (t) => {
  const onbuild = only('ONBUILD', 'ONBUILD RUN <<-EOF\n\techo hi\nEOF');
  t.like(onbuild.trigger, { kind: 'RUN', command: '<<-EOF', heredocs: [{ name: 'EOF', content: 'echo hi\n' }] });
  t.is(onbuild.expression, 'RUN <<-EOF\n\techo hi\nEOF');
  t.deepEqual(onbuild.loc, { file: 'Dockerfile', line: 2, endLine: 4 });
});

test('an unterminated heredoc is an error on the instruction line', (t) => {
  const err = parseErrorOf('FROM x\nRUN true\nRUN <<EOF\necho\nEOF \n');
  t.is(err.line, 3);
  t.regex(err.message, /^Dockerfile:3: unterminated heredoc "EOF"/);
});

test('a heredoc cannot be the COPY destination', (t) => {
  const err = parseErrorOf('FROM x\nCOPY /foo <<EOF\nEOF\n');
  t.is(err.line, 2);
  t.regex(err.detail, /COPY cannot accept a heredoc as a destination/);
});
