// NetworkPolicy enforced by the kernel, in the layout of the Kubernetes e2e suite: namespaces x, y, z
// with pods a, b, c serving 80 and 81 over TCP and UDP. For each case the full 9x9 matrix is written
// from the documented semantics; `policy verify` must observe exactly it in the kernel, and report no
// mismatch with the model. Changes to policies and labels take effect without a restart.
import test from 'ava';
import type { ApiClient } from '../../../src/api/client.ts';
import { waitFor } from '../../../src/util/proc.ts';
import { downCluster, isRoot, kubelab, randomName, REPO, rootOrSkip, waitPodsReady } from '../helpers.ts';
import { ALL, expectKernelMatrix, m, policy, type Verify, verifyMatrix } from './matrix.ts';

const name = randomName('np');
let client: ApiClient;
const verify = (port: number, protocol: 'tcp' | 'udp') => verifyMatrix(name, port, protocol);
const expectMatrix = (t: any, port: number, protocol: 'tcp' | 'udp', want: string) => expectKernelMatrix(t, name, port, protocol, want);

async function reset(): Promise<void> {
  for (const p of (await client.list('NetworkPolicy')).items) await client.delete('NetworkPolicy', p.metadata.name, p.metadata.namespace);
}

test.before(async () => {
  if (!isRoot()) return;
  await kubelab(name, ['up', '--nodes', '2']);
  const { apiClient } = await import('../../../src/provider/embedded/cluster.ts');
  client = apiClient(name);
  await kubelab(name, ['apply', '-f', `${REPO}/examples/policy/pods.yaml`]);
  for (const ns of ['x', 'y', 'z']) await waitPodsReady(client, ['a', 'b', 'c'], ns);
});
test.after.always(async () => {
  if (isRoot()) await downCluster(name);
});

test.serial('no policy: every pair connects on every port and protocol, 324 probes', async (t) => {
  if (!rootOrSkip(t)) return;
  const r = await kubelab(name, ['policy', 'verify', '--json', '--namespace', 'x', 'y', 'z']);
  const v: Verify = JSON.parse(r.stdout);
  t.is(v.probes, 324);
  t.is(v.mismatches, 0);
  t.true(v.results.every((x) => x.connected));
  t.log(`324 probes in ${v.seconds} s`);
});

test.serial('default deny ingress in x, on TCP and UDP', async (t) => {
  if (!rootOrSkip(t)) return;
  await reset();
  await kubelab(name, ['apply', '-f', `${REPO}/examples/policy/deny-x.yaml`]);
  const want = m('.XX......', 'X.X......', 'XX.......', 'XXX......', 'XXX......', 'XXX......', 'XXX......', 'XXX......', 'XXX......');
  await expectMatrix(t, 80, 'tcp', want);
  await expectMatrix(t, 81, 'udp', want);
});

test.serial('a walk that NetworkPolicy drops names the chain that dropped it', async (t) => {
  if (!rootOrSkip(t)) return;
  const r = JSON.parse((await kubelab(name, ['walk', 'y/a', 'x/b:80', '--json'], { reject: false })).stdout);
  t.false(r.exchange.ok);
  t.is(r.hops.filter((h: any) => h.direction === 'back').length, 0, 'no reply came back');
  const last = r.hops.filter((h: any) => h.direction === 'there').at(-1);
  const note = last.annotations.find((a: any) => a.source === 'policy');
  t.truthy(note, JSON.stringify(last.annotations));
  t.regex(note.text, /by NetworkPolicy: KUBELAB-NP-I-\w+ ends in DROP \(ingress to x\/b: isolated by x\/deny-ingress; no rule admits it: denied\)/);
});

test.serial('policy applies to the real destination pod after the service DNAT', async (t) => {
  if (!rootOrSkip(t)) return;
  await kubelab(name, ['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: Service\nmetadata: {name: xa, namespace: x}\nspec:\n  selector: {pod: a}\n  ports: [{port: 80}]\n' });
  const vip = ((await client.get('Service', 'xa', 'x')) as any).spec.clusterIP;
  await waitFor(async () => ((await client.get('Endpoints', 'xa', 'x')) as any).subsets?.length > 0, 20_000);
  const get = () => kubelab(name, ['exec', '-n', 'y', 'a', '--', 'busybox', 'timeout', '3', 'busybox', 'wget', '-qO-', `http://${vip}/`], { reject: false });
  t.not((await get()).exitCode, 0, 'x is deny-all: the service does not open a way around it');
  await kubelab(name, ['apply', '-f', '-'], { input: policy('x', 'from-y', '  podSelector: {matchLabels: {pod: a}}\n  ingress:\n    - from: [{namespaceSelector: {matchLabels: {ns: y}}}]\n') });
  t.true(await waitFor(async () => (await get()).exitCode === 0, 15_000), 'admitted from y, through the service too');
  await client.delete('NetworkPolicy', 'from-y', 'x');
  await client.delete('Service', 'xa', 'x');
});

test.serial('default deny egress in x', async (t) => {
  if (!rootOrSkip(t)) return;
  await reset();
  await kubelab(name, ['apply', '-f', '-'], { input: policy('x', 'deny-egress', '  podSelector: {}\n  policyTypes: [Egress]\n') });
  await expectMatrix(t, 80, 'tcp', m('.XXXXXXXX', 'X.XXXXXXX', 'XX.XXXXXX', '.........', '.........', '.........', '.........', '.........', '.........'));
});

test.serial('namespaceSelector AND podSelector in one peer', async (t) => {
  if (!rootOrSkip(t)) return;
  await reset();
  await kubelab(name, ['apply', '-f', '-'], { input: policy('x', 'and', '  podSelector: {matchLabels: {pod: a}}\n  ingress:\n    - from:\n        - namespaceSelector: {matchLabels: {ns: y}}\n          podSelector: {matchLabels: {pod: b}}\n') });
  await expectMatrix(t, 80, 'tcp', m('.........', 'X........', 'X........', 'X........', '.........', 'X........', 'X........', 'X........', 'X........'));
});

test.serial('the same selectors as two peers are an OR; matchExpressions; allow-all adds up with a deny', async (t) => {
  if (!rootOrSkip(t)) return;
  await reset();
  await kubelab(name, ['apply', '-f', '-'], { input: policy('x', 'or', '  podSelector: {matchLabels: {pod: a}}\n  ingress:\n    - from:\n        - namespaceSelector: {matchLabels: {ns: y}}\n        - podSelector: {matchLabels: {pod: b}}\n') });
  await expectMatrix(t, 80, 'tcp', m('.........', '.........', 'X........', '.........', '.........', '.........', 'X........', 'X........', 'X........'));
  await reset();
  await kubelab(name, ['apply', '-f', '-'], { input: policy('x', 'expr', '  podSelector: {matchLabels: {pod: a}}\n  ingress:\n    - from:\n        - namespaceSelector: {}\n          podSelector: {matchExpressions: [{key: pod, operator: NotIn, values: [c]}]}\n') });
  await expectMatrix(t, 80, 'tcp', m('.........', '.........', 'X........', '.........', '.........', 'X........', '.........', '.........', 'X........'));
  await reset();
  await kubelab(name, ['apply', '-f', `${REPO}/examples/policy/deny-x.yaml`]);
  await kubelab(name, ['apply', '-f', '-'], { input: policy('x', 'allow-all', '  podSelector: {}\n  ingress: [{}]\n') });
  await expectMatrix(t, 80, 'tcp', ALL);
});

test.serial('policyTypes omitted with an egress section isolates both directions', async (t) => {
  if (!rootOrSkip(t)) return;
  await reset();
  await kubelab(name, ['apply', '-f', '-'], { input: policy('y', 'both', '  podSelector: {matchLabels: {pod: b}}\n  egress:\n    - to: [{podSelector: {matchLabels: {pod: a}}}]\n') });
  await expectMatrix(t, 80, 'tcp', m('....X....', '....X....', '....X....', '....X....', 'XXX..XXXX', '....X....', '....X....', '....X....', '....X....'));
});

test.serial('SCTP rules compile and load even though this kernel has no SCTP sockets; TCP is unaffected', async (t) => {
  if (!rootOrSkip(t)) return;
  await reset();
  await kubelab(name, ['apply', '-f', '-'], { input: policy('x', 'sctp', '  podSelector: {}\n  ingress:\n    - ports: [{port: 80, protocol: SCTP}]\n') });
  await expectMatrix(t, 80, 'tcp', m('.XX......', 'X.X......', 'XX.......', 'XXX......', 'XXX......', 'XXX......', 'XXX......', 'XXX......', 'XXX......'));
  const { execa } = await import('execa');
  const node = ((await client.get('Pod', 'a', 'x')) as any).spec.nodeName;
  const rules = String((await execa('ip', ['netns', 'exec', `kl-${name}-${node}`, 'iptables-legacy-save', '-t', 'filter'])).stdout);
  t.regex(rules, /-p sctp -m sctp --dport 80 .*-j ACCEPT/);
});

test.serial('ports: only 81/TCP is admitted to x/a; a named port and an endPort range', async (t) => {
  if (!rootOrSkip(t)) return;
  await reset();
  await kubelab(name, ['apply', '-f', '-'], { input: policy('x', 'port81', '  podSelector: {matchLabels: {pod: a}}\n  ingress:\n    - ports: [{port: 81, protocol: TCP}]\n') });
  const a80 = m('.........', 'X........', 'X........', 'X........', 'X........', 'X........', 'X........', 'X........', 'X........');
  await expectMatrix(t, 80, 'tcp', a80);
  await expectMatrix(t, 81, 'tcp', ALL);
  await expectMatrix(t, 81, 'udp', a80);
  await reset();
  await kubelab(name, ['apply', '-f', '-'], { input: policy('x', 'named', '  podSelector: {}\n  ingress:\n    - ports: [{port: serve-80-udp, protocol: UDP}, {port: 70, endPort: 80, protocol: TCP}]\n') });
  await expectMatrix(t, 80, 'udp', ALL);
  await expectMatrix(t, 80, 'tcp', ALL);
  await expectMatrix(t, 81, 'tcp', m('.XX......', 'X.X......', 'XX.......', 'XXX......', 'XXX......', 'XXX......', 'XXX......', 'XXX......', 'XXX......'));
});

test.serial('ipBlock with except: the addresses of the z pods are cut out of 10.244.0.0/16', async (t) => {
  if (!rootOrSkip(t)) return;
  await reset();
  const zIPs = (await client.list('Pod', { namespace: 'z' })).items.map((p: any) => p.status.podIP as string);
  const xa: any = await client.get('Pod', 'a', 'x');
  // except the /32 of each z pod: the cut-out is written from the pods' real addresses
  const excepts = zIPs.map((ip) => `${ip}/32`).join(', ');
  await kubelab(name, ['apply', '-f', '-'], { input: policy('x', 'block', `  podSelector: {matchLabels: {pod: a}}\n  ingress:\n    - from:\n        - ipBlock: {cidr: 10.244.0.0/16, except: [${excepts}]}\n`) });
  t.truthy(xa.status.podIP);
  await expectMatrix(t, 80, 'tcp', m('.........', '.........', '.........', '.........', '.........', '.........', 'X........', 'X........', 'X........'));
});

test.serial('relabelling a pod and a namespace, updating and deleting a policy, take effect at once', async (t) => {
  if (!rootOrSkip(t)) return;
  await reset();
  await kubelab(name, ['apply', '-f', '-'], { input: policy('x', 'from-b', '  podSelector: {matchLabels: {pod: a}}\n  ingress:\n    - from: [{namespaceSelector: {}, podSelector: {matchLabels: {role: friend}}}]\n') });
  const onlySelf = m('.........', 'X........', 'X........', 'X........', 'X........', 'X........', 'X........', 'X........', 'X........');
  await expectMatrix(t, 80, 'tcp', onlySelf);
  // A pod gains the label: it is admitted.
  await client.patch('Pod', 'b', 'y', { metadata: { labels: { role: 'friend' } } });
  await expectMatrix(t, 80, 'tcp', m('.........', 'X........', 'X........', 'X........', '.........', 'X........', 'X........', 'X........', 'X........'));
  // The policy now selects by namespace label, and z gets that label.
  await kubelab(name, ['apply', '-f', '-'], { input: policy('x', 'from-b', '  podSelector: {matchLabels: {pod: a}}\n  ingress:\n    - from: [{namespaceSelector: {matchLabels: {team: blue}}}]\n') });
  await expectMatrix(t, 80, 'tcp', onlySelf);
  await client.patch('Namespace', 'z', undefined, { metadata: { labels: { team: 'blue' } } });
  await expectMatrix(t, 80, 'tcp', m('.........', 'X........', 'X........', 'X........', 'X........', 'X........', '.........', '.........', '.........'));
  await client.patch('Pod', 'b', 'y', { metadata: { labels: { role: null } } });
  await client.patch('Namespace', 'z', undefined, { metadata: { labels: { team: null } } });
  await reset();
  await expectMatrix(t, 80, 'tcp', ALL);
});

test.serial('a pod that restarts with a new IP is still protected', async (t) => {
  if (!rootOrSkip(t)) return;
  await kubelab(name, ['apply', '-f', `${REPO}/examples/policy/deny-x.yaml`]);
  const before = ((await client.get('Pod', 'b', 'x')) as any).status.podIP;
  const yaml = (await kubelab(name, ['get', 'pod', 'b', '-n', 'x', '-o', 'json'])).stdout;
  await kubelab(name, ['delete', 'pod', 'b', '-n', 'x', '--now']);
  const spec = JSON.parse(yaml);
  await client.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'b', namespace: 'x', labels: spec.metadata.labels }, spec: { containers: spec.spec.containers } });
  await waitPodsReady(client, ['b'], 'x');
  const after = ((await client.get('Pod', 'b', 'x')) as any).status.podIP;
  t.log(`x/b moved from ${before} to ${after}`);
  await expectMatrix(t, 80, 'tcp', m('.XX......', 'X.X......', 'XX.......', 'XXX......', 'XXX......', 'XXX......', 'XXX......', 'XXX......', 'XXX......'));
  await reset();
});

test.serial('a bad policy is refused with the field at fault', async (t) => {
  if (!rootOrSkip(t)) return;
  const r = await kubelab(name, ['apply', '-f', '-'], { reject: false, input: policy('x', 'bad', '  podSelector: {}\n  egress:\n    - ports: [{endPort: 90}]\n') });
  t.regex(r.stderr, /spec\.egress\[0\]\.ports\[0\]\.endPort: Forbidden: may not be specified when `port` is not specified/);
});
