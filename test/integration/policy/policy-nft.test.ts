// NetworkPolicy in nftables proxy mode: enforced with an nftables table whose rules match peers as
// nftables sets; the same documented matrices must show in the kernel, with no mismatch.
import test from 'ava';
import { execa } from 'execa';
import type { ApiClient } from '../../../src/api/client.ts';
import { downCluster, isRoot, kubelab, randomName, REPO, rootOrSkip, waitPodsReady } from '../helpers.ts';
import { ALL, expectKernelMatrix, m, policy } from './matrix.ts';

const name = randomName('npn');
let client: ApiClient;

test.before(async () => {
  if (!isRoot()) return;
  await kubelab(name, ['up', '--nodes', '2', '--proxy-mode', 'nftables']);
  const { apiClient } = await import('../../../src/provider/embedded/cluster.ts');
  client = apiClient(name);
  await kubelab(name, ['apply', '-f', `${REPO}/examples/policy/pods.yaml`]);
  for (const ns of ['x', 'y', 'z']) await waitPodsReady(client, ['a', 'b', 'c'], ns);
});
test.after.always(async () => {
  if (isRoot()) await downCluster(name);
});

test.serial('nftables: default deny ingress in x, then ports by number, name and range', async (t) => {
  if (!rootOrSkip(t)) return;
  await expectKernelMatrix(t, name, 80, 'tcp', ALL);
  await kubelab(name, ['apply', '-f', `${REPO}/examples/policy/deny-x.yaml`]);
  const denyX = m('.XX......', 'X.X......', 'XX.......', 'XXX......', 'XXX......', 'XXX......', 'XXX......', 'XXX......', 'XXX......');
  await expectKernelMatrix(t, name, 80, 'tcp', denyX);
  await expectKernelMatrix(t, name, 81, 'udp', denyX);
  await kubelab(name, ['apply', '-f', '-'], { input: policy('x', 'named', '  podSelector: {}\n  ingress:\n    - ports: [{port: serve-80-udp, protocol: UDP}, {port: 70, endPort: 80, protocol: TCP}]\n') });
  await expectKernelMatrix(t, name, 80, 'tcp', ALL);
  await expectKernelMatrix(t, name, 80, 'udp', ALL);
  await expectKernelMatrix(t, name, 81, 'tcp', denyX);
  // The rules are nftables rules with sets, in their own table: no iptables rule was written.
  const node = ((await client.get('Pod', 'a', 'x')) as any).spec.nodeName;
  const table = String((await execa('ip', ['netns', 'exec', `kl-${name}-${node}`, '/usr/sbin/nft', 'list', 'table', 'ip', 'kubelab-policy'])).stdout);
  t.regex(table, /udp dport 80 accept/);
  t.regex(table, /tcp dport 70-80 accept/);
  const legacy = String((await execa('ip', ['netns', 'exec', `kl-${name}-${node}`, 'iptables-legacy-save', '-t', 'filter'])).stdout);
  t.notRegex(legacy, /KUBELAB-NP/);
});

test.serial('nftables: peers as sets: namespaceSelector, podSelector and an ipBlock with except', async (t) => {
  if (!rootOrSkip(t)) return;
  for (const p of (await client.list('NetworkPolicy')).items) await client.delete('NetworkPolicy', p.metadata.name, p.metadata.namespace);
  await kubelab(name, ['apply', '-f', '-'], { input: policy('x', 'or', '  podSelector: {matchLabels: {pod: a}}\n  ingress:\n    - from:\n        - namespaceSelector: {matchLabels: {ns: y}}\n        - podSelector: {matchLabels: {pod: b}}\n') });
  await expectKernelMatrix(t, name, 80, 'tcp', m('.........', '.........', 'X........', '.........', '.........', '.........', 'X........', 'X........', 'X........'));
  const zIPs = (await client.list('Pod', { namespace: 'z' })).items.map((p: any) => `${p.status.podIP}/32`).join(', ');
  await kubelab(name, ['apply', '-f', '-'], { input: policy('x', 'or', `  podSelector: {matchLabels: {pod: a}}\n  ingress:\n    - from:\n        - ipBlock: {cidr: 10.244.0.0/16, except: [${zIPs}]}\n`) });
  await expectKernelMatrix(t, name, 80, 'tcp', m('.........', '.........', '.........', '.........', '.........', '.........', 'X........', 'X........', 'X........'));
});
