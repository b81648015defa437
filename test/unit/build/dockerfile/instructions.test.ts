import test from 'ava';
import { flagBool, flagString, flagStrings } from '../../../../src/build/dockerfile/flags.ts';
import { parseDockerfile } from '../../../../src/build/dockerfile/parse.ts';
import { only, stageOf } from './helpers/parse.ts';

// FROM and stages.
test('FROM: image, AS name (lower-cased), --platform, stage indexes and meta ARGs', (t) => {
  const df = parseDockerfile(
    'ARG GO=1.22\nARG BASE\nFROM --platform=$BUILDPLATFORM golang:${GO} AS Build\nRUN go build\nFROM scratch\nCOPY --from=build /app /app\n',
  );
  t.deepEqual(
    df.metaArgs.map((a) => a.args),
    [[{ name: 'GO', default: '1.22' }], [{ name: 'BASE' }]],
  );
  t.is(df.stages.length, 2);
  const [build, final] = df.stages;
  t.like(build, { index: 0, name: 'build', from: { kind: 'FROM', image: 'golang:${GO}', name: 'build', platform: '$BUILDPLATFORM' } });
  t.deepEqual(build!.from.flags, [{ name: 'platform', value: '$BUILDPLATFORM' }]);
  t.is(build!.instructions.length, 1);
  t.like(final, { index: 1, from: { image: 'scratch' } });
  t.false('name' in final! || 'name' in final!.from);
  t.false('platform' in final!.from);
});

test('FROM: an empty --platform= is no platform', (t) => {
  t.false('platform' in parseDockerfile('FROM --platform= a\n').stages[0]!.from);
});

test('FROM: `as` in any case; names keep dots, dashes and underscores', (t) => {
  t.is(parseDockerfile('FROM a as x-1_b.c\n').stages[0]!.name, 'x-1_b.c');
  t.is(parseDockerfile('FROM a As y\n').stages[0]!.name, 'y');
});

// RUN, CMD, ENTRYPOINT: shell and exec forms.
test('RUN: shell form keeps the text as written, variables included', (t) => {
  t.like(only('RUN', 'RUN echo "$HOME" \'x\'  &&  ls'), { form: 'shell', command: 'echo "$HOME" \'x\'  &&  ls', heredocs: [], flags: [] });
});

test('RUN: exec form is a JSON array', (t) => {
  t.like(only('RUN', 'RUN ["/bin/sh", "-c", "echo hi"]'), { form: 'exec', args: ['/bin/sh', '-c', 'echo hi'] });
  t.like(only('RUN', 'RUN   [ "a b" ]  '), { form: 'exec', args: ['a b'] });
});

test('RUN: a malformed JSON array falls back to the shell form', (t) => {
  t.like(only('RUN', "RUN ['single', 'quotes']"), { form: 'shell', command: "['single', 'quotes']" });
  t.like(only('RUN', 'RUN ["unterminated"'), { form: 'shell', command: '["unterminated"' });
  t.like(only('RUN', 'RUN ["a"] trailing'), { form: 'shell', command: '["a"] trailing' });
});

test('RUN: --mount (repeatable), --network, --security, --device stay in flags', (t) => {
  const run = only(
    'RUN',
    'RUN --mount=type=cache,target=/root/.cache --mount=type=secret,id=npmrc --network=none --security=insecure --device=nvidia.com/gpu=all make',
  );
  t.like(run, { form: 'shell', command: 'make' });
  t.deepEqual(flagStrings(run.flags, 'mount'), ['type=cache,target=/root/.cache', 'type=secret,id=npmrc']);
  t.is(flagString(run.flags, 'network'), 'none');
  t.is(flagString(run.flags, 'security'), 'insecure');
  t.deepEqual(flagStrings(run.flags, 'device'), ['nvidia.com/gpu=all']);
});

test('flags: quotes and escapes are removed as BuildKit cuts them out, `--` ends them', (t) => {
  const run = only('RUN', 'RUN --mount="type=bind,source=a b" --mount=type=tmpfs,target=/t\\ x -- --not-a-flag');
  t.deepEqual(flagStrings(run.flags, 'mount'), ['type=bind,source=a b', 'type=tmpfs,target=/t x']);
  t.like(run, { form: 'shell', command: '--not-a-flag' });
  t.like(only('RUN', 'RUN -x'), { form: 'shell', command: '-x', flags: [] }); // one dash is not a flag
});

for (const kind of ['CMD', 'ENTRYPOINT'] as const) {
  test(`${kind}: shell form, exec form, empty exec form, malformed JSON`, (t) => {
    t.like(only(kind, `${kind} nginx -g 'daemon off;'`), { kind, form: 'shell', command: "nginx -g 'daemon off;'" });
    t.like(only(kind, `${kind} ["nginx", "-g", "daemon off;"]`), { form: 'exec', args: ['nginx', '-g', 'daemon off;'] });
    t.like(only(kind, `${kind} []`), { form: 'exec', args: [] });
    t.like(only(kind, `${kind} [nginx]`), { form: 'shell', command: '[nginx]' });
  });
}

test('SHELL: a JSON array', (t) => {
  t.deepEqual(only('SHELL', 'SHELL ["powershell", "-command"]').args, ['powershell', '-command']);
});

// ENV, LABEL, ARG: words stay raw.
test('ENV: key=value pairs, quotes and escapes kept in the words', (t) => {
  t.deepEqual(only('ENV', 'ENV A=1 B="two words" C=three\\ words D=\'$x\' E= F=""').pairs, [
    { key: 'A', value: '1' },
    { key: 'B', value: '"two words"' },
    { key: 'C', value: 'three\\ words' },
    { key: 'D', value: "'$x'" },
    { key: 'E', value: '' },
    { key: 'F', value: '""' },
  ]);
});

test('ENV: the value may contain `=`; a quoted key keeps its quotes', (t) => {
  t.deepEqual(only('ENV', 'ENV OPTS=a=b "K"=v').pairs, [
    { key: 'OPTS', value: 'a=b' },
    { key: '"K"', value: 'v' },
  ]);
});

test('ENV: the legacy `ENV key value` form takes the whole rest as the value', (t) => {
  const df = parseDockerfile('FROM x\nENV PATH /usr/local/bin:$PATH  and more\n');
  t.deepEqual((df.stages[0]!.instructions[0] as { pairs: unknown }).pairs, [{ key: 'PATH', value: '/usr/local/bin:$PATH  and more' }]);
  t.deepEqual(df.warnings, [{ line: 2, message: '"ENV key=value" should be used instead of legacy "ENV key value" format' }]);
});

test('LABEL: pairs, quoted keys and values, legacy form', (t) => {
  t.deepEqual(only('LABEL', 'LABEL "com.example.vendor"="ACME Inc" version=1.0 multi="a \\\n b"').pairs, [
    { key: '"com.example.vendor"', value: '"ACME Inc"' },
    { key: 'version', value: '1.0' },
    { key: 'multi', value: '"a  b"' },
  ]);
  t.deepEqual(only('LABEL', 'LABEL description This is it').pairs, [{ key: 'description', value: 'This is it' }]);
});

test('ARG: names, defaults, several on a line, quotes kept', (t) => {
  t.deepEqual(only('ARG', 'ARG A B=2 C="x y" D= E=$A').args, [
    { name: 'A' },
    { name: 'B', default: '2' },
    { name: 'C', default: '"x y"' },
    { name: 'D', default: '' },
    { name: 'E', default: '$A' },
  ]);
});

// The single-argument instructions keep the rest of the line.
test('MAINTAINER, USER, WORKDIR, STOPSIGNAL: the rest of the line, raw', (t) => {
  t.is(only('MAINTAINER', 'MAINTAINER Jane Doe <jane@example.com>').name, 'Jane Doe <jane@example.com>');
  t.is(only('USER', 'USER ${UID}:${GID}').user, '${UID}:${GID}');
  t.is(only('WORKDIR', 'WORKDIR /my app/$DIR').path, '/my app/$DIR');
  t.is(only('STOPSIGNAL', 'STOPSIGNAL SIGTERM').signal, 'SIGTERM');
});

test('EXPOSE: whitespace-separated ports, as written', (t) => {
  t.deepEqual(only('EXPOSE', 'EXPOSE 80 443/tcp\t53/udp $PORT').ports, ['80', '443/tcp', '53/udp', '$PORT']);
});

test('VOLUME: a JSON array or whitespace-separated paths, each trimmed', (t) => {
  t.deepEqual(only('VOLUME', 'VOLUME ["/data", " /with space "]').paths, ['/data', '/with space']);
  t.deepEqual(only('VOLUME', 'VOLUME /a /b $V').paths, ['/a', '/b', '$V']);
});

// COPY and ADD.
test('COPY: sources and destination, whitespace form keeps words raw', (t) => {
  t.like(only('COPY', 'COPY a.txt "b c" $SRC /dest/'), { sources: ['a.txt', '"b', 'c"', '$SRC'], dest: '/dest/', heredocs: [] });
});

test('COPY: the JSON form allows spaces in paths', (t) => {
  t.like(only('COPY', 'COPY ["my file.txt", "other", "/my dest/"]'), { sources: ['my file.txt', 'other'], dest: '/my dest/' });
});

test('COPY: its flags', (t) => {
  const copy = only('COPY', 'COPY --from=build --chown=app:app --chmod=0755 --link --parents=false --exclude=*.md --exclude=tmp ./ /app');
  t.is(flagString(copy.flags, 'from'), 'build');
  t.is(flagString(copy.flags, 'chown'), 'app:app');
  t.is(flagString(copy.flags, 'chmod'), '0755');
  t.is(flagBool(copy.flags, 'link'), true);
  t.is(flagBool(copy.flags, 'parents'), false);
  t.is(flagBool(copy.flags, 'missing'), undefined);
  t.deepEqual(flagStrings(copy.flags, 'exclude'), ['*.md', 'tmp']);
  t.deepEqual(copy.flags[3], { name: 'link' }); // a bare boolean has no value
});

test('ADD: its flags', (t) => {
  const add = only(
    'ADD',
    'ADD --checksum=sha256:abc --keep-git-dir=true --unpack=FALSE --chown=1 --chmod=644 --link=true --exclude=x https://example.com/a.tgz /src',
  );
  t.like(add, { kind: 'ADD', sources: ['https://example.com/a.tgz'], dest: '/src' });
  t.is(flagString(add.flags, 'checksum'), 'sha256:abc');
  t.is(flagBool(add.flags, 'keep-git-dir'), true);
  t.is(flagBool(add.flags, 'unpack'), false);
  t.is(flagBool(add.flags, 'link'), true);
});

// HEALTHCHECK.
test('HEALTHCHECK NONE', (t) => {
  t.like(only('HEALTHCHECK', 'HEALTHCHECK NONE'), { none: true });
  t.like(only('HEALTHCHECK', 'healthcheck none'), { none: true });
});

test('HEALTHCHECK CMD: shell form is CMD-SHELL, exec form is CMD', (t) => {
  t.like(only('HEALTHCHECK', 'HEALTHCHECK CMD curl -f http://localhost/ || exit 1'), {
    none: false,
    test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'],
    options: {},
  });
  t.like(only('HEALTHCHECK', 'HEALTHCHECK cmd ["curl", "-f", "http://localhost/"]'), { test: ['CMD', 'curl', '-f', 'http://localhost/'] });
});

test('HEALTHCHECK options: Go durations in nanoseconds, retries', (t) => {
  const hc = only('HEALTHCHECK', 'HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=0s --start-interval=2.5s --retries=3 CMD true');
  t.deepEqual(hc.none ? undefined : hc.options, {
    interval: 90_000_000_000,
    timeout: 500_000_000,
    startPeriod: 0,
    startInterval: 2_500_000_000,
    retries: 3,
  });
  const empty = only('HEALTHCHECK', 'HEALTHCHECK --interval= --retries= CMD true');
  t.deepEqual(empty.none ? undefined : empty.options, {}); // an empty value means "not given"
  const min = only('HEALTHCHECK', 'HEALTHCHECK --timeout=1ms --retries=+0 CMD true');
  t.deepEqual(min.none ? undefined : min.options, { timeout: 1_000_000, retries: 0 });
});

// ONBUILD.
test('ONBUILD: the trigger is parsed; the expression is the line without ONBUILD', (t) => {
  const onbuild = only('ONBUILD', 'ONBUILD RUN --mount=type=cache,target=/c make \\\n  install');
  t.is(onbuild.expression, 'RUN --mount=type=cache,target=/c make   install');
  t.like(onbuild.trigger, { kind: 'RUN', form: 'shell', command: 'make   install', original: 'RUN --mount=type=cache,target=/c make   install' });
  t.deepEqual(onbuild.trigger.flags, [{ name: 'mount', value: 'type=cache,target=/c' }]);
  t.deepEqual(onbuild.trigger.loc, onbuild.loc);
  t.is(only('ONBUILD', 'onbuild   copy . /app').expression, 'copy . /app');
});

test('ONBUILD: any other instruction can be a trigger, and warns nothing now', (t) => {
  const df = parseDockerfile('FROM x\nONBUILD ENV legacy form\nONBUILD ADD . /src\nONBUILD ARG A=1\nONBUILD HEALTHCHECK NONE\n');
  t.deepEqual(
    df.stages[0]!.instructions.map((i) => (i.kind === 'ONBUILD' ? i.trigger.kind : i.kind)),
    ['ENV', 'ADD', 'ARG', 'HEALTHCHECK'],
  );
  t.deepEqual(df.warnings, []);
});

test('instructions of a stage stop at the next FROM', (t) => {
  const df = parseDockerfile('FROM a\nRUN one\nFROM b\nRUN two\nRUN three\n');
  t.deepEqual(
    df.stages.map((s) => s.instructions.map((i) => i.original)),
    [['RUN one'], ['RUN two', 'RUN three']],
  );
});

test('every instruction kind is recognised', (t) => {
  const kinds = stageOf(
    [
      'RUN a',
      'CMD a',
      'ENTRYPOINT a',
      'SHELL ["sh"]',
      'ENV a=1',
      'ARG a',
      'LABEL a=1',
      'MAINTAINER me',
      'EXPOSE 1',
      'VOLUME /v',
      'USER u',
      'WORKDIR /w',
      'COPY a b',
      'ADD a b',
      'STOPSIGNAL 9',
      'HEALTHCHECK NONE',
      'ONBUILD RUN a',
    ].join('\n'),
  ).map((i) => i.kind);
  t.deepEqual(kinds, ['RUN', 'CMD', 'ENTRYPOINT', 'SHELL', 'ENV', 'ARG', 'LABEL', 'MAINTAINER', 'EXPOSE', 'VOLUME', 'USER', 'WORKDIR', 'COPY', 'ADD', 'STOPSIGNAL', 'HEALTHCHECK', 'ONBUILD']);
});
