// `./kubelab build` for real: RUN steps in kubelab's runtime, layers as tars of overlay upper dirs,
// the image config as Docker writes it, files with the right mode, owner and content, the build
// cache's hits and misses, multi-stage builds, .dockerignore, heredocs, ADD of archives and URLs,
// clear errors naming the line, and nothing left behind.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { rootOrSkip } from '../helpers.ts';
import { buildLab } from './helpers.ts';

test.serial('a Dockerfile using every config instruction gives the config Docker writes', async (t) => {
  if (!rootOrSkip(t)) return;
  const lab = buildLab(t);
  const ctx = lab.context('cfg', {
    Dockerfile: `# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM \${BASE} AS base
LABEL org.opencontainers.image.title="config test" version=1
MAINTAINER kubelab <lab@example.org>
ENV APP_HOME=/srv/app \\
    GREETING="hello world"
ENV LEGACY form with spaces
WORKDIR \${APP_HOME}
WORKDIR sub
USER 1000:1000
EXPOSE 8080 53/udp 9000-9001/tcp
VOLUME ["/data", "/cache"]
VOLUME /logs
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=30s --timeout=3s --start-period=1m --retries=4 CMD wget -qO- http://127.0.0.1:8080/ || exit 1
SHELL ["/bin/sh", "-ec"]
ENTRYPOINT ["/bin/sh", "-c"]
CMD echo "$GREETING"
ONBUILD RUN echo triggered
`,
  });
  const r = await lab.build(['-t', 'cfg:1', ctx]);
  const c = await lab.config('cfg:1');
  t.is(c.architecture, 'amd64');
  t.is(c.os, 'linux');
  t.is(c.author, 'kubelab <lab@example.org>');
  t.deepEqual(c.config!.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'APP_HOME=/srv/app', 'GREETING=hello world', 'LEGACY=form with spaces']);
  t.is(c.config!.WorkingDir, '/srv/app/sub');
  t.is(c.config!.User, '1000:1000');
  t.deepEqual(c.config!.ExposedPorts, { '8080/tcp': {}, '53/udp': {}, '9000/tcp': {}, '9001/tcp': {} });
  t.deepEqual(c.config!.Volumes, { '/data': {}, '/cache': {}, '/logs': {} });
  t.deepEqual(c.config!.Labels, { 'org.opencontainers.image.title': 'config test', version: '1' });
  t.is(c.config!.StopSignal, 'SIGQUIT');
  t.deepEqual(c.config!.Healthcheck, { Test: ['CMD-SHELL', 'wget -qO- http://127.0.0.1:8080/ || exit 1'], Interval: 30e9, Timeout: 3e9, StartPeriod: 60e9, Retries: 4 });
  t.deepEqual(c.config!.Shell, ['/bin/sh', '-ec']);
  t.deepEqual(c.config!.Entrypoint, ['/bin/sh', '-c']);
  // The shell form of CMD uses the SHELL in force at that point.
  t.deepEqual(c.config!.Cmd, ['/bin/sh', '-ec', 'echo "$GREETING"']);
  t.deepEqual(c.config!.OnBuild, ['RUN echo triggered']);
  // WORKDIR made both directories, owned by root (USER came after), as one layer each.
  const files = await lab.files('cfg:1');
  t.true(files.some((f) => /^drwxr-xr-x 0\/0 0 srv\/app\/?$/.test(f)), files.join('\n'));
  t.true(files.some((f) => /^drwxr-xr-x 0\/0 0 srv\/app\/sub\/?$/.test(f)));
  // History reads like BuildKit's.
  const history = c.history!.map((h) => h.created_by);
  t.true(history.includes('EXPOSE [8080/tcp 53/udp 9000/tcp 9001/tcp]'), history.join('\n'));
  t.true(history.includes('CMD ["/bin/sh" "-ec" "echo \\"$GREETING\\""]'));
  t.true(history.includes('WORKDIR /srv/app/sub'));
  t.true(history.includes('USER 1000:1000'));
  t.true(history.includes('HEALTHCHECK &{[CMD-SHELL wget -qO- http://127.0.0.1:8080/ || exit 1] 30s 3s 1m0s 0s 4}'));
  t.true(c.history!.filter((h) => h.comment === 'buildkit.dockerfile.v0').every((h) => h.created));
  // The legacy ENV form and MAINTAINER are warned about, with their lines.
  t.true(r.json!.warnings.some((w) => /^Dockerfile:8: .*ENV/.test(w)), r.json!.warnings.join('\n'));
  t.true(r.json!.warnings.some((w) => /^Dockerfile:5: .*MAINTAINER/i.test(w)));
});

test.serial('RUN runs in the image with its env, user and workdir, without network; its layer holds only what it wrote', async (t) => {
  if (!rootOrSkip(t)) return;
  const lab = buildLab(t);
  const ctx = lab.context('run', {
    Dockerfile: `FROM busybox
ARG WHO=builder
ENV TOOL=make
WORKDIR /work
RUN echo "$WHO $TOOL $(pwd) $(id -u):$(id -g) $(hostname)" > /work/facts && rm /etc/group && mkdir -p /var/lib/x && touch /var/lib/x/y
RUN ip -o link | cut -d: -f2 | tr -d ' ' > /work/links; (wget -qO- http://203.0.113.100/ || echo offline) > /work/net
USER user
RUN id -un > /tmp/me && cp /tmp/me /home/user/me
`,
  });
  await lab.build(['-t', 'run:1', ctx]);
  const files = await lab.files('run:1', 1);
  // The runtime's mount points (/proc, /dev, /sys, /etc/hosts) are in no layer the steps made.
  const built = files;
  t.false(built.some((f) => / (proc|sys|dev)\/?$/.test(f) || / etc\/hosts$/.test(f)), built.join('\n'));
  // A deleted file is an OCI whiteout in the layer of the step that deleted it.
  t.true(files.some((f) => / etc\/\.wh\.group$/.test(f)), files.join('\n'));
  const { ImageStore } = await import('../../../src/image/store.ts');
  const dirs = await new ImageStore(lab.store.root).layerDirs(await lab.store.resolve('run:1'));
  const read = (rel: string) => dirs.map((d) => path.join(d, rel)).filter(existsSync).map((f) => readFileSync(f, 'utf8'))[0];
  t.is(read('work/facts')!.trim(), 'builder make /work 0:0 buildkitsandbox');
  t.is(read('work/links')!.trim(), 'lo', 'only loopback: no network by default');
  t.is(read('work/net')!.trim(), 'offline');
  t.is(read('home/user/me')!.trim(), 'user');
  // The ARG is in RUN's environment but not in the image's.
  const c = await lab.config('run:1');
  t.false(c.config!.Env!.some((e) => e.startsWith('WHO=')));
  t.true(c.history!.some((h) => h.created_by?.startsWith('RUN |1 WHO=builder /bin/sh -c echo')));
});

test.serial('COPY and ADD: modes, owners, --chown/--chmod, directories, globs, archives, URLs, heredocs', async (t) => {
  if (!rootOrSkip(t)) return;
  const lab = buildLab(t);
  const ctx = lab.context('copy', {
    'Dockerfile': `FROM busybox
COPY app/ /opt/app/
COPY --chown=user:wheel --chmod=0750 bin/tool.sh /usr/local/bin/tool
COPY --chown=1234 conf/*.conf /etc/app/
COPY ["name with space.txt", "/srv/"]
ADD site.tar.gz /srv/www/
ADD site.tar.xz site.tar.bz2 /srv/other/
ADD http://127.0.0.1:PORT/files/remote.txt /srv/remote/
COPY <<EOF /etc/motd
hello from a heredoc
EOF
RUN <<EOT
echo one > /srv/heredoc-run
echo two >> /srv/heredoc-run
EOT
`,
    'app/main.js': 'console.log(1)\n',
    'app/lib/util.js': 'export {}\n',
    'bin/tool.sh': '#!/bin/sh\necho tool\n',
    'conf/a.conf': 'a=1\n',
    'conf/b.conf': 'b=2\n',
    'conf/skip.txt': 'no\n',
    'name with space.txt': 'spaces\n',
  });
  chmodSync(path.join(ctx, 'app/main.js'), 0o640);
  utimesSync(path.join(ctx, 'app/main.js'), new Date('2020-02-02T00:00:00Z'), new Date('2020-02-02T00:00:00Z'));
  // A tarball for ADD to extract.
  const site = path.join(lab.dir, 'site');
  mkdirSync(path.join(site, 'css'), { recursive: true });
  writeFileSync(path.join(site, 'index.html'), '<h1>site</h1>\n');
  writeFileSync(path.join(site, 'css/s.css'), 'body{}\n');
  await execa('tar', ['-czf', path.join(ctx, 'site.tar.gz'), '-C', site, '.']);
  await execa('tar', ['-cJf', path.join(ctx, 'site.tar.xz'), '-C', site, 'index.html']);
  await execa('tar', ['-cjf', path.join(ctx, 'site.tar.bz2'), '-C', site, 'css']);
  // A web server on loopback for ADD of a URL.
  const server = createServer((req, res) => {
    if (req.url === '/files/remote.txt') {
      res.writeHead(200, { 'Last-Modified': 'Wed, 21 Oct 2015 07:28:00 GMT' });
      res.end('remote content\n');
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;
  writeFileSync(path.join(ctx, 'Dockerfile'), readFileSync(path.join(ctx, 'Dockerfile'), 'utf8').replace('PORT', String(port)));

  await lab.build(['-t', 'copy:1', ctx]);
  const files = await lab.files('copy:1');
  const has = (re: RegExp) => t.true(files.some((f) => re.test(f)), `${re} in\n${files.filter((f) => !f.includes(' bin/') || f.includes('local')).join('\n')}`);
  // Directory contents, modes and mtimes kept; root-owned.
  has(/^-rw-r----- 0\/0 15 opt\/app\/main\.js$/);
  has(/^-rw-r--r-- 0\/0 10 opt\/app\/lib\/util\.js$/);
  // --chown names resolved in the image's /etc/passwd and /etc/group; --chmod applied.
  has(/^-rwxr-x--- 1000\/10 \d+ usr\/local\/bin\/tool$/);
  // A uid alone: the gid is the same number, as Docker does.
  has(/^-rw-r--r-- 1234\/1234 4 etc\/app\/a\.conf$/);
  has(/^-rw-r--r-- 1234\/1234 4 etc\/app\/b\.conf$/);
  t.false(files.some((f) => f.endsWith('etc/app/skip.txt')));
  has(/ srv\/name with space\.txt$/);
  // The archive is extracted, not copied.
  has(/ srv\/www\/index\.html$/);
  has(/ srv\/www\/css\/s\.css$/);
  t.false(files.some((f) => f.endsWith('site.tar.gz')));
  // xz and bzip2 too, through the system's decompressors.
  has(/ srv\/other\/index\.html$/);
  has(/ srv\/other\/css\/s\.css$/);
  // A URL: mode 0600, named after the URL's last path element.
  has(/^-rw------- 0\/0 15 srv\/remote\/remote\.txt$/);
  has(/^-rw-r--r-- 0\/0 21 etc\/motd$/);
  const store = lab.store;
  const dirs = await store.layerDirs(await store.resolve('copy:1'));
  const find = (rel: string) => dirs.map((d) => path.join(d, rel)).find(existsSync)!;
  t.is(readFileSync(find('etc/motd'), 'utf8'), 'hello from a heredoc\n');
  t.is(readFileSync(find('srv/heredoc-run'), 'utf8'), 'one\ntwo\n');
  const { statSync } = await import('node:fs');
  t.is(statSync(find('opt/app/main.js')).mtime.toISOString(), '2020-02-02T00:00:00.000Z');
  t.is(statSync(find('srv/remote/remote.txt')).mtime.toISOString(), '2015-10-21T07:28:00.000Z');
});

test.serial('the cache: an unchanged rebuild reuses every step; a changed file invalidates from the COPY that reads it; --no-cache', async (t) => {
  if (!rootOrSkip(t)) return;
  const lab = buildLab(t);
  const ctx = lab.context('cache', {
    Dockerfile: `FROM busybox
RUN echo base > /base
COPY a.txt /a.txt
RUN cat /a.txt > /copy-of-a
COPY b.txt /b.txt
LABEL step=five
RUN date +%s%N > /stamp
`,
    'a.txt': 'a1\n',
    'b.txt': 'b1\n',
  });
  const cachedOf = (j: { steps: { instruction: string; cached: boolean }[] }) => j.steps.filter((s) => !s.instruction.startsWith('FROM') && /^(RUN|COPY)/.test(s.instruction)).map((s) => s.cached);
  const first = (await lab.build(['-t', 'cache:1', ctx])).json!;
  t.deepEqual(cachedOf(first), [false, false, false, false, false]);
  const again = (await lab.build(['-t', 'cache:1', ctx])).json!;
  t.deepEqual(cachedOf(again), [true, true, true, true, true]);
  t.is(again.digest, first.digest, 'same layers and config: the same image');
  // Touching a file without changing it keeps the cache (content, not mtime).
  utimesSync(path.join(ctx, 'a.txt'), new Date(), new Date());
  t.deepEqual(cachedOf((await lab.build(['-t', 'cache:1', ctx])).json!), [true, true, true, true, true]);
  // Changing a.txt: the COPY that reads it and everything after runs again.
  writeFileSync(path.join(ctx, 'a.txt'), 'a2\n');
  const changed = (await lab.build(['-t', 'cache:1', ctx])).json!;
  t.deepEqual(cachedOf(changed), [true, false, false, false, false]);
  // A label is image config only: changing it does not invalidate the RUN after it (as BuildKit).
  writeFileSync(path.join(ctx, 'Dockerfile'), readFileSync(path.join(ctx, 'Dockerfile'), 'utf8').replace('step=five', 'step=5'));
  const label = (await lab.build(['-t', 'cache:1', ctx])).json!;
  t.deepEqual(cachedOf(label), [true, true, true, true, true]);
  t.not(label.config, changed.config);
  const none = (await lab.build(['-t', 'cache:1', '--no-cache', ctx])).json!;
  t.deepEqual(cachedOf(none), [false, false, false, false, false]);
  // A build arg used by RUN is part of its key.
  writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM busybox\nARG V=1\nRUN echo $V > /v\n');
  const v1 = (await lab.build(['-t', 'cache:2', ctx])).json!;
  const v1again = (await lab.build(['-t', 'cache:2', '--build-arg', 'V=1', ctx])).json!;
  const v2 = (await lab.build(['-t', 'cache:2', '--build-arg', 'V=2', ctx])).json!;
  t.deepEqual([v1, v1again, v2].map((j) => j.steps.at(-1)!.cached), [false, true, false]);
});

test.serial('multi-stage: COPY --from a stage and from an image, --target, stage names in FROM', async (t) => {
  if (!rootOrSkip(t)) return;
  const lab = buildLab(t);
  const ctx = lab.context('multi', {
    Dockerfile: `FROM busybox AS build
RUN mkdir /out && echo compiled > /out/app && chmod 755 /out/app
FROM build AS test
RUN test -x /out/app && echo tested > /out/report
FROM scratch AS unused
COPY nothing-here /
FROM busybox
COPY --from=build /out/app /usr/local/bin/app
COPY --from=1 /out/report /report
COPY --from=busybox /bin/busybox /copied-busybox
`,
  });
  const r = (await lab.build(['-t', 'multi:1', ctx])).json!;
  // The stage nothing needs is never built (its COPY would fail).
  t.false(r.steps.some((s) => s.stage === 'unused'));
  const files = await lab.files('multi:1');
  t.true(files.some((f) => /^-rwxr-xr-x 0\/0 9 usr\/local\/bin\/app$/.test(f)), files.filter((f) => !f.includes(' bin/')).join('\n'));
  t.true(files.some((f) => / report$/.test(f)));
  t.true(files.some((f) => / copied-busybox$/.test(f)));
  // The final image has the final stage's layers only: busybox + three copies.
  t.is(r.layers.length, 4);
  // --target stops at a stage.
  const target = (await lab.build(['-t', 'multi:build', '--target', 'build', ctx])).json!;
  t.deepEqual([...new Set(target.steps.map((s) => s.stage))], ['build']);
  t.is(target.layers.length, 2);
  const bad = await lab.build(['-t', 'x', '--target', 'nope', ctx], { reject: false });
  t.is(bad.exitCode, 1);
  t.regex(bad.stderr, /target stage "nope" could not be found \(stages: build, test, unused, #3\)/);
});

test.serial('.dockerignore: excluded files are not in the context, ! exceptions are', async (t) => {
  if (!rootOrSkip(t)) return;
  const lab = buildLab(t);
  const ctx = lab.context('ignore', {
    Dockerfile: 'FROM busybox\nCOPY . /ctx/\n',
    '.dockerignore': '# comments are ignored\n*.log\nsecrets/\n**/*.tmp\nbuild\n!build/keep.txt\n',
    'app.js': 'ok\n',
    'debug.log': 'no\n',
    'secrets/key': 'no\n',
    'deep/er/x.tmp': 'no\n',
    'deep/er/y.txt': 'yes\n',
    'build/out.bin': 'no\n',
    'build/keep.txt': 'yes\n',
  });
  await lab.build(['-t', 'ignore:1', ctx]);
  const files = (await lab.files('ignore:1')).filter((f) => f.includes(' ctx/')).map((f) => f.split(' ').at(-1)!.replace(/\/$/, ''));
  t.true(files.includes('ctx/app.js'));
  t.true(files.includes('ctx/deep/er/y.txt'));
  t.true(files.includes('ctx/build/keep.txt'));
  for (const gone of ['ctx/debug.log', 'ctx/secrets/key', 'ctx/secrets', 'ctx/deep/er/x.tmp', 'ctx/build/out.bin']) t.false(files.includes(gone), gone);
  // Excluded files cannot be named by COPY either.
  writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM busybox\nCOPY debug.log /\n');
  const r = await lab.build(['-t', 'ignore:2', ctx], { reject: false });
  t.is(r.exitCode, 1);
  t.regex(r.stderr, /Dockerfile:2: COPY debug\.log \/: "debug\.log" not found in the context \(or excluded by \.dockerignore\)/);
});

test.serial('sources cannot leave the context: .., absolute paths and symlinks are resolved inside it', async (t) => {
  if (!rootOrSkip(t)) return;
  const lab = buildLab(t);
  const ctx = lab.context('escape', { Dockerfile: 'FROM busybox\n', 'etc/passwd': 'the context\'s own etc/passwd\n' });
  symlinkSync('/etc/shadow', path.join(ctx, 'link-to-shadow'));
  symlinkSync('../../../../../../etc', path.join(ctx, 'up'));
  const tryCopy = async (line: string) => {
    writeFileSync(path.join(ctx, 'Dockerfile'), `FROM busybox\n${line}\n`);
    return lab.build(['-t', 'escape:1', ctx], { reject: false });
  };
  // `..` and `/` stay inside the context: they name the context's own etc/passwd.
  for (const src of ['../../../../etc/passwd', '/etc/passwd', 'up/passwd']) {
    const r = await tryCopy(`COPY ${src} /got`);
    t.is(r.exitCode, 0, r.stderr);
    const dirs = await lab.store.layerDirs(await lab.store.resolve('escape:1'));
    t.is(readFileSync(path.join(dirs[0]!, 'got'), 'utf8'), "the context's own etc/passwd\n", src);
  }
  // A symlink to a file outside resolves inside the context, where there is no etc/shadow.
  const r = await tryCopy('COPY link-to-shadow /got');
  t.is(r.exitCode, 1);
  t.regex(r.stderr, /"link-to-shadow" not found in the context/);
});

test.serial('bad input: errors name the Dockerfile line; a failing RUN names its exit code; nothing is left behind', async (t) => {
  if (!rootOrSkip(t)) return;
  const lab = buildLab(t);
  const ctx = lab.context('bad', { Dockerfile: 'FROM busybox\n' });
  const cases: [string, RegExp][] = [
    ['FROM busybox\nRUNN echo x\n', /Dockerfile:2: unknown instruction: RUNN/i],
    ['FROM busybox\nRUN true\nRUN exit 3\nRUN echo never\n', /Dockerfile:3: RUN exit 3: process "\/bin\/sh -c exit 3" did not complete successfully: exit code: 3/],
    ['FROM busybox\nCOPY missing.txt /\n', /Dockerfile:2: COPY missing\.txt \/: "missing\.txt" not found in the context/],
    ['FROM busybox\nCOPY --chown=nobody-such /Dockerfile /x\n', /Dockerfile:2: .*--chown=nobody-such: unable to find user nobody-such/],
    ['FROM busybox\nCOPY --chmod=rwx Dockerfile /x\n', /Dockerfile:2: .*--chmod=rwx: expected an octal mode/],
    ['FROM busybox\nEXPOSE 80/icmp\n', /Dockerfile:2: EXPOSE 80\/icmp: invalid port "80\/icmp": unknown protocol/],
    ['FROM busybox\nSTOPSIGNAL SIGNOPE\n', /Dockerfile:2: STOPSIGNAL SIGNOPE: invalid signal: SIGNOPE/],
    ['FROM nosuch/image:1\n', /Dockerfile:1: FROM nosuch\/image:1: .*no image nosuch\/image:1 in the local store/],
    ['FROM busybox\nCOPY a b c\n', /Dockerfile:2: .*(not found|destination must be a directory)/],
    ['RUN echo before from\n', /Dockerfile:1: .*FROM/],
  ];
  for (const [text, re] of cases) {
    writeFileSync(path.join(ctx, 'Dockerfile'), text);
    const r = await lab.build(['-t', 'bad:1', ctx], { reject: false });
    t.is(r.exitCode, 1, text);
    t.regex(r.stderr, re, text);
  }
  // No image was tagged, no scratch directory, mount or process remains.
  t.deepEqual((await lab.store.list()).filter((i) => i.ref.startsWith('bad')), []);
  t.deepEqual(readdirSync(path.join(lab.store.root, 'build-tmp')), []);
  t.notRegex(readFileSync('/proc/self/mountinfo', 'utf8'), new RegExp(lab.store.root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  const ps = await execa('ps', ['-eo', 'args']);
  t.notRegex(String(ps.stdout), /kubelab-init .*buildkitsandbox/);
});

test.serial('-f - reads the Dockerfile from stdin; --build-arg and ARG before FROM pick the base', async (t) => {
  if (!rootOrSkip(t)) return;
  const lab = buildLab(t);
  const ctx = lab.context('stdin', { 'x.txt': 'x\n' });
  const text = 'ARG BASE=scratch\nFROM ${BASE}\nARG BASE\nCOPY x.txt /x-from-$BASE\n';
  await lab.build(['-t', 'stdin:1', '-f', '-', ctx], { input: text });
  t.true((await lab.files('stdin:1')).some((f) => f.endsWith(' x-from-scratch')));
  t.is((await lab.store.resolve('stdin:1')).layers.length, 1, 'FROM scratch: only the COPY layer');
  await lab.build(['-t', 'stdin:2', '-f', '-', '--build-arg', 'BASE=busybox', ctx], { input: text });
  const files = await lab.files('stdin:2');
  t.true(files.some((f) => f.endsWith(' x-from-busybox')));
  t.true(files.some((f) => f.endsWith(' bin/busybox')));
  const unused = await lab.build(['-t', 'stdin:3', '-f', '-', '--build-arg', 'NOPE=1', ctx], { input: text });
  t.true(unused.json!.warnings.some((w) => /build-args \[NOPE\] were not consumed/.test(w)));
});

test.serial('ONBUILD triggers fire in the child build; HEALTHCHECK NONE; --platform reported; the escape directive', async (t) => {
  if (!rootOrSkip(t)) return;
  const lab = buildLab(t);
  const parent = lab.context('parent', {
    Dockerfile: `FROM busybox
HEALTHCHECK CMD true
ONBUILD COPY trigger.txt /from-trigger.txt
ONBUILD RUN echo "ran in the child" > /onbuild-ran
`,
  });
  await lab.build(['-t', 'parent:1', parent]);
  t.deepEqual((await lab.config('parent:1')).config!.OnBuild, ['COPY trigger.txt /from-trigger.txt', 'RUN echo "ran in the child" > /onbuild-ran']);
  const child = lab.context('child', {
    Dockerfile: '# escape=`\nFROM --platform=linux/amd64 parent:1\nHEALTHCHECK NONE\nRUN echo one `\n    two > /escaped\n',
    'trigger.txt': 'the child context\n',
  });
  const r = await lab.build(['-t', 'child:1', child]);
  const files = await lab.files('child:1');
  t.true(files.some((f) => f.endsWith(' from-trigger.txt')), 'the COPY trigger read the child\'s context');
  t.true(files.some((f) => f.endsWith(' onbuild-ran')));
  t.true(files.some((f) => f.endsWith(' escaped')));
  const c = await lab.config('child:1');
  t.is(c.config!.OnBuild, undefined, 'triggers are not inherited further');
  t.deepEqual(c.config!.Healthcheck, { Test: ['NONE'] });
  t.regex(r.stderr, /FROM parent:1@sha256:[0-9a-f]{64} \(platform linux\/amd64\)/);
  const dirs = await lab.store.layerDirs(await lab.store.resolve('child:1'));
  t.is(readFileSync(dirs.map((d) => path.join(d, 'escaped')).find(existsSync)!, 'utf8'), 'one two\n');
});

test.serial('ADD of a hostile archive is refused: entries that climb out of the root, and device nodes', async (t) => {
  if (!rootOrSkip(t)) return;
  const lab = buildLab(t);
  const ctx = lab.context('evil', { Dockerfile: 'FROM busybox\nADD evil.tar /opt/\n' });
  // A tar whose member climbs out with ../ (GNU tar writes it with -P).
  const src = path.join(lab.dir, 'evil-src');
  mkdirSync(src);
  writeFileSync(path.join(src, 'payload'), 'pwned\n');
  const marker = path.join(lab.dir, `outside-${process.pid}`);
  await execa('tar', ['-cf', path.join(ctx, 'evil.tar'), '-P', '--transform', `s|^.*payload|../../../../../../..${marker}|`, path.join(src, 'payload')]);
  const r = await lab.build(['-t', 'evil:1', ctx], { reject: false });
  t.is(r.exitCode, 1);
  t.regex(r.stderr, /Dockerfile:2: ADD evil\.tar \/opt\/: tar entry .* escapes the root/);
  t.false(existsSync(marker), 'nothing was written outside');
  // A device node.
  await execa('mknod', [path.join(src, 'null'), 'c', '1', '3']);
  await execa('tar', ['-cf', path.join(ctx, 'evil.tar'), '-C', src, 'null']);
  const dev = await lab.build(['-t', 'evil:1', ctx], { reject: false });
  t.is(dev.exitCode, 1);
  t.regex(dev.stderr, /is a device node/);
});
