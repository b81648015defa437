// The pure parts of the builder: the image config's values as Docker writes them, history strings as
// BuildKit writes them, COPY's wildcard matching, cache keys, and registry credentials.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { stepKey } from '../../../src/build/cache.ts';
import { hasWildcards } from '../../../src/build/context.ts';
import { components } from '../../../src/image/rootfs-view.ts';
import { parseOutput } from '../../../src/cli/commands/build.ts';
import { baseConfig, checkSignal, ConfigError, envMap, exposedPorts, goDuration, goQuoteList, scratchConfig, setEnv } from '../../../src/build/image-config.ts';
import { credentialsFor } from '../../../src/image/credentials.ts';

const ports: [string[], string[]][] = [
  [['80'], ['80/tcp']],
  [['53/udp', '53/tcp'], ['53/udp', '53/tcp']],
  [['9000-9002'], ['9000/tcp', '9001/tcp', '9002/tcp']],
  [['132/SCTP'], ['132/sctp']],
];
for (const [input, want] of ports) test(`EXPOSE ${input.join(' ')} → ${want.join(' ')}`, (t) => t.deepEqual(exposedPorts(input), want));

for (const bad of ['80/icmp', 'http', '70000', '90-80', '']) {
  test(`EXPOSE ${JSON.stringify(bad)} is refused`, (t) => {
    t.throws(() => exposedPorts([bad]), { instanceOf: ConfigError, message: new RegExp(`invalid port ${JSON.stringify(bad).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`) });
  });
}

const durations: [number, string][] = [
  [0, '0s'],
  [30e9, '30s'],
  [90e9, '1m30s'],
  [300e9, '5m0s'],
  [3600e9, '1h0m0s'],
  [1.5e9, '1.5s'],
  [500e6, '500ms'],
  [250e3, '250µs'],
  [42, '42ns'],
];
for (const [ns, want] of durations) test(`Go prints ${ns} ns as ${want}`, (t) => t.is(goDuration(ns), want));

test('CMD and ENTRYPOINT history lists are Go %q of a []string', (t) => {
  t.is(goQuoteList(['sh']), '["sh"]');
  t.is(goQuoteList(['/bin/sh', '-c', 'echo "hi"']), '["/bin/sh" "-c" "echo \\"hi\\""]');
  t.is(goQuoteList([]), '[]');
});

for (const ok of ['SIGTERM', 'TERM', 'sigquit', '9', 'SIGRTMIN+3', 'RTMAX-1']) test(`STOPSIGNAL ${ok} is a signal`, (t) => t.notThrows(() => checkSignal(ok)));
for (const bad of ['SIGNOPE', '0', '65', 'SIGRTMIN+40', '']) test(`STOPSIGNAL ${JSON.stringify(bad)} is refused`, (t) => t.throws(() => checkSignal(bad), { instanceOf: ConfigError }));

test('Env: set replaces in place, a new name goes last; the map reads entries with and without =', (t) => {
  t.deepEqual(setEnv(['PATH=/bin', 'A=1'], 'A', '2'), ['PATH=/bin', 'A=2']);
  t.deepEqual(setEnv(['PATH=/bin'], 'B', 'x=y'), ['PATH=/bin', 'B=x=y']);
  t.deepEqual([...envMap(['A=1', 'EMPTY', 'B=c=d'])], [['A', '1'], ['EMPTY', ''], ['B', 'c=d']]);
});

test('a base config is copied, keeps its PATH, drops its ONBUILD triggers; scratch has a PATH', (t) => {
  const base = { architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/opt/bin'], OnBuild: ['RUN x'], Cmd: ['sh'] }, rootfs: { type: 'layers' as const, diff_ids: ['sha256:a'] } };
  const c = baseConfig(base);
  t.deepEqual(c.config!.Env, ['PATH=/opt/bin']);
  t.is(c.config!.OnBuild, undefined);
  c.config!.Cmd!.push('changed');
  t.deepEqual(base.config.Cmd, ['sh'], 'a copy, not the base');
  t.deepEqual(scratchConfig().config!.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
});

test('COPY sources: `..` and `/` are clamped inside the tree; wildcards are recognised', (t) => {
  t.deepEqual(components('../../etc/passwd'), ['etc', 'passwd']);
  t.deepEqual(components('/etc/./x/../passwd'), ['etc', 'passwd']);
  t.deepEqual(components('.'), []);
  t.true(hasWildcards('conf/*.conf'));
  t.true(hasWildcards('file?.txt'));
  t.true(hasWildcards('[ab].txt'));
  t.false(hasWildcards('plain/path.txt'));
  t.false(hasWildcards('escaped\\*.txt'));
});

test('cache keys: the same parent and step give the same key; anything else another', (t) => {
  const k = stepKey('parent', { op: 'run', argv: ['sh', '-c', 'make'], env: ['A=1'] });
  t.is(k, stepKey('parent', { op: 'run', argv: ['sh', '-c', 'make'], env: ['A=1'] }));
  t.regex(k, /^[0-9a-f]{64}$/);
  t.not(k, stepKey('other', { op: 'run', argv: ['sh', '-c', 'make'], env: ['A=1'] }));
  t.not(k, stepKey('parent', { op: 'run', argv: ['sh', '-c', 'make'], env: ['A=2'] }));
});

test('--output: oci:DIR, docker-archive:FILE and BuildKit\'s type=...,dest=...', (t) => {
  t.deepEqual(parseOutput('oci:/tmp/layout'), { type: 'oci', dir: '/tmp/layout' });
  t.deepEqual(parseOutput('docker-archive:/tmp/x.tar'), { type: 'docker-archive', file: '/tmp/x.tar' });
  t.deepEqual(parseOutput('type=oci,dest=out'), { type: 'oci', dir: 'out' });
  t.throws(() => parseOutput('tar:/x'), { message: /unknown output type "tar"/ });
  t.throws(() => parseOutput('nothing'), { message: /expected oci:DIR or docker-archive:FILE/ });
});

test("registry credentials come from Docker's config.json, by host, in either form", (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kltest-creds-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'config.json');
  writeFileSync(
    file,
    JSON.stringify({
      auths: {
        '127.0.0.1:5000': { auth: Buffer.from('learner:pa:ss').toString('base64') },
        'https://registry.example/v1/': { username: 'u', password: 'p' },
      },
    }),
  );
  t.deepEqual(credentialsFor('127.0.0.1:5000', file), { username: 'learner', password: 'pa:ss' });
  t.deepEqual(credentialsFor('registry.example', file), { username: 'u', password: 'p' });
  t.is(credentialsFor('elsewhere:5000', file), undefined);
  t.is(credentialsFor('127.0.0.1:5000', path.join(dir, 'absent.json')), undefined);
});
