// Bad input gets a clear error that names the file, line or field, and changes nothing.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import type { ApiClient } from '../../../src/api/client.ts';
import { which } from '../../../src/driver/runner.ts';
import { netnsPrefix } from '../../../src/naming.ts';
import { downCluster, isRoot, KUBELAB, kubelab, podYaml, randomName, rootOrSkip, SLEEPER, upCluster } from '../helpers.ts';

const name = randomName('err');
let client: ApiClient;
const dir = mkdtempSync(path.join(os.tmpdir(), 'kubelab-err-'));

test.before(async () => {
  if (isRoot()) client = await upCluster(name, 1);
});
test.after.always(async () => {
  if (isRoot()) await downCluster(name);
  rmSync(dir, { recursive: true, force: true });
});

const write = (file: string, text: string) => {
  const p = path.join(dir, file);
  writeFileSync(p, text);
  return p;
};

test('invalid YAML: the error names the file and line, and nothing is applied', async (t) => {
  if (!rootOrSkip(t)) return;
  const f = write('broken.yaml', `${podYaml('first', { image: 'busybox', command: SLEEPER })}---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: second\n   bad: indent\n`);
  const r = await kubelab(name, ['apply', '-f', f], { reject: false });
  t.is(r.exitCode, 1);
  t.regex(r.stderr, new RegExp(`${f.replace(/[.]/g, '\\.')}:\\d+: invalid YAML`));
  t.is(await client.find('Pod', 'first'), undefined);
});

test('unknown kind and unknown field are named with their line; the good documents are not applied', async (t) => {
  if (!rootOrSkip(t)) return;
  const f = write('unknown.yaml', `${podYaml('good', { image: 'busybox', command: SLEEPER })}---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: typo\nspec:\n  containers:\n    - name: c\n      image: busybox\n      comand: [sh]\n---\napiVersion: v1\nkind: Gizmo\nmetadata: {name: g}\n`);
  const r = await kubelab(name, ['apply', '-f', f], { reject: false });
  t.is(r.exitCode, 1);
  t.true(r.stderr.includes(`${f}:19: spec.containers[0].comand: unknown field "comand" (Pod typo)`), r.stderr);
  t.true(r.stderr.includes(`${f}:22: kind: unknown kind "Gizmo"`), r.stderr);
  t.regex(r.stderr, /nothing was applied/);
  t.is(await client.find('Pod', 'good'), undefined);
});

test('a name that is not DNS-1123 is refused', async (t) => {
  if (!rootOrSkip(t)) return;
  const r = await kubelab(name, ['apply', '-f', '-'], { reject: false, input: podYaml('Bad_Name', { image: 'busybox' }) });
  t.is(r.exitCode, 1);
  t.regex(r.stderr, /<stdin>:4: metadata\.name: "Bad_Name" is not a valid DNS-1123 subdomain/);
});

test('create of an object that exists is an error; a repeated apply is "unchanged"', async (t) => {
  if (!rootOrSkip(t)) return;
  const f = write('dup.yaml', podYaml('dup', { image: 'busybox', command: SLEEPER }));
  t.regex((await kubelab(name, ['create', '-f', f])).stdout, /pod\/dup created/);
  const again = await kubelab(name, ['create', '-f', f], { reject: false });
  t.is(again.exitCode, 1);
  t.regex(again.stderr, /dup\.yaml:1: pods "dup" already exists/);
  // As with kubectl: the first apply over a created object records it, the next finds nothing to do.
  t.regex((await kubelab(name, ['apply', '-f', f])).stdout, /pod\/dup configured/);
  t.regex((await kubelab(name, ['apply', '-f', f])).stdout, /pod\/dup unchanged/);
  await kubelab(name, ['delete', 'pod', 'dup', '--now']);
});

test('a namespace that does not exist is reported before anything is written', async (t) => {
  if (!rootOrSkip(t)) return;
  const f = write('ns.yaml', `${podYaml('a1', { image: 'busybox', command: SLEEPER })}---\n${podYaml('a2', { image: 'busybox', namespace: 'nope' })}`);
  const r = await kubelab(name, ['apply', '-f', f], { reject: false });
  t.is(r.exitCode, 1);
  t.regex(r.stderr, /namespaces "nope" not found/);
  t.is(await client.find('Pod', 'a1'), undefined);
});

test('the API refuses requests without the bearer token; the token file is root-only', async (t) => {
  if (!rootOrSkip(t)) return;
  const { ApiClient } = await import('../../../src/api/client.ts');
  const { paths } = await import('../../../src/naming.ts');
  const anonymous = new ApiClient({ socketPath: paths.apiSocket(name) }, 'not-the-token');
  const err = await t.throwsAsync(anonymous.list('Pod'));
  t.is((err as any).code, 401);
  const { statSync } = await import('node:fs');
  t.is(statSync(paths.token(name)).mode & 0o777, 0o600);
});

test('up without root says so', async (t) => {
  if (!rootOrSkip(t)) return;
  const r = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', KUBELAB, '--name', 'noroot', 'up'], { reject: false });
  t.is(r.exitCode, 1);
  t.regex(r.stderr, /needs root/);
});

test('up without a needed tool names the package to install, and creates nothing', async (t) => {
  if (!rootOrSkip(t)) return;
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  for (const tool of ['node', 'ip', 'iptables', 'iptables-restore', 'nsenter', 'unshare', 'sysctl', 'sh', 'dirname', 'tr', 'grep', 'paste', 'iptables-legacy-restore', 'conntrack']) symlinkSync(which(tool), path.join(bin, tool));
  chmodSync(bin, 0o755);
  const other = randomName('notool');
  const r = await execa(KUBELAB, ['--name', other, 'up'], { reject: false, env: { PATH: bin }, extendEnv: false });
  t.is(r.exitCode, 1);
  t.regex(r.stderr, /missing etcd: install with "apt-get install -y etcd-server"/);
  const { readdirSync } = await import('node:fs');
  t.deepEqual(readdirSync('/run/netns').filter((n) => n.startsWith(netnsPrefix(other))), []);
});

test('bad cluster names and bad options are refused with the rule', async (t) => {
  if (!rootOrSkip(t)) return;
  const r = await execa(KUBELAB, ['--name', 'Bad-Name', 'up'], { reject: false });
  t.regex(r.stderr, /invalid cluster name "Bad-Name"/);
  const n = await execa(KUBELAB, ['--name', randomName('opt'), 'up', '--nodes', 'zero'], { reject: false });
  t.regex(n.stderr, /--nodes must be a whole number/);
});
