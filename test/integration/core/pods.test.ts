// Pod to pod on one node and across nodes, node to pod, exec, shared localhost, and deletion:
// through real namespaces, real veths and real routes.
import { existsSync, readdirSync } from 'node:fs';
import test from 'ava';
import { execa } from 'execa';
import type { ApiClient } from '../../../src/api/client.ts';
import { hostNetns, paths, podHostVeth, podNetns } from '../../../src/naming.ts';
import { waitFor } from '../../../src/util/proc.ts';
import { downCluster, isRoot, kubelab, podYaml, randomName, rootOrSkip, SLEEPER, upCluster, waitPodsReady } from '../helpers.ts';

const name = randomName('pods');
let client: ApiClient;
let ips: Record<string, string> = {};

test.before(async () => {
  if (!isRoot()) return;
  client = await upCluster(name, 2, 'host-gw');
  const manifest = [
    podYaml('server1', { node: 'node1' }),
    podYaml('server2', { node: 'node2' }),
    podYaml('client1', { node: 'node1', image: 'busybox', command: SLEEPER }),
    podYaml('duo', {
      node: 'node2',
      extra: [`    - name: sidecar`, `      image: busybox`, `      command: ${JSON.stringify(SLEEPER)}`].join('\n'),
    }),
  ].join('---\n');
  await kubelab(name, ['apply', '-f', '-'], { input: manifest });
  const pods = await waitPodsReady(client, ['server1', 'server2', 'client1', 'duo']);
  ips = Object.fromEntries([...pods].map(([n, p]) => [n, p.status!.podIP!]));
});

test.after.always(async () => {
  if (isRoot()) await downCluster(name);
});

async function fetchFrom(pod: string, url: string): Promise<any> {
  const r = await kubelab(name, ['exec', pod, '--', 'wget', '-qO-', url]);
  return JSON.parse(r.stdout);
}

test('pods get addresses from their node\'s /24', (t) => {
  if (!rootOrSkip(t)) return;
  t.regex(ips.server1!, /^10\.244\.1\.\d+$/);
  t.regex(ips.client1!, /^10\.244\.1\.\d+$/);
  t.regex(ips.server2!, /^10\.244\.2\.\d+$/);
});

test('pod to pod on one node: the server sees the client\'s own pod IP', async (t) => {
  if (!rootOrSkip(t)) return;
  const answer = await fetchFrom('client1', `http://${ips.server1}:8080/`);
  t.is(answer.pod, 'server1');
  t.is(answer.podIP, ips.server1);
  t.is(answer.clientIP, ips.client1);
});

test('pod to pod across nodes over host-gw: no NAT on the way', async (t) => {
  if (!rootOrSkip(t)) return;
  const answer = await fetchFrom('client1', `http://${ips.server2}:8080/`);
  t.is(answer.pod, 'server2');
  t.is(answer.clientIP, ips.client1);
});

test('node to pod: a node reaches pods on itself and on other nodes', async (t) => {
  if (!rootOrSkip(t)) return;
  const viaNode = async (node: string, ip: string) => {
    const r = await execa('ip', ['netns', 'exec', hostNetns(name, node), 'busybox', 'wget', '-qO-', `http://${ip}:8080/`]);
    return JSON.parse(r.stdout);
  };
  // From node1 to a pod on node2 the packet leaves with node1's underlay address...
  t.is((await viaNode('node1', ips.server2!)).clientIP, '192.168.56.11');
  // ...and to a pod on node1 itself, with node1's address on the pod bridge.
  t.is((await viaNode('node1', ips.server1!)).clientIP, '10.244.1.1');
});

test('exec runs in the pod: its address, its hostname, its resolv.conf', async (t) => {
  if (!rootOrSkip(t)) return;
  const addr = await kubelab(name, ['exec', 'client1', '--', 'ip', '-4', 'addr', 'show', 'eth0']);
  t.true(addr.stdout.includes(`inet ${ips.client1}/24`));
  t.is((await kubelab(name, ['exec', 'client1', '--', 'hostname'])).stdout.trim(), 'client1');
  const resolv = (await kubelab(name, ['exec', 'client1', '--', 'cat', '/etc/resolv.conf'])).stdout;
  t.regex(resolv, /nameserver 10\.96\.0\.10/);
  t.regex(resolv, /search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local/);
  t.regex(resolv, /options ndots:5/);
  const route = (await kubelab(name, ['exec', 'client1', '--', 'ip', 'route'])).stdout;
  t.regex(route, /default via 10\.244\.1\.1 dev eth0/);
  const failed = await kubelab(name, ['exec', 'client1', '--', 'sh', '-c', 'exit 3'], { reject: false });
  t.is(failed.exitCode, 3);
});

test('containers of one pod share its network namespace and reach each other on localhost', async (t) => {
  if (!rootOrSkip(t)) return;
  const r = await kubelab(name, ['exec', 'duo', '-c', 'sidecar', '--', 'wget', '-qO-', 'http://127.0.0.1:8080/']);
  const answer = JSON.parse(r.stdout);
  t.is(answer.pod, 'duo');
  t.is(answer.clientIP, '127.0.0.1');
});

test('a deleted pod frees its address, its namespace and its veth', async (t) => {
  if (!rootOrSkip(t)) return;
  await kubelab(name, ['apply', '-f', '-'], { input: podYaml('doomed', { node: 'node1', image: 'busybox', command: SLEEPER }) });
  const pods = await waitPodsReady(client, ['doomed']);
  const ip = pods.get('doomed')!.status!.podIP!;
  const ipamDir = `${paths.nodeDir(name, 'node1')}/ipam`;
  t.true(readdirSync(ipamDir).includes(ip));
  t.true(existsSync(`/run/netns/${podNetns(name, 'default', 'doomed')}`));
  await kubelab(name, ['delete', 'pod', 'doomed']);
  t.is(await client.find('Pod', 'doomed'), undefined);
  t.false(readdirSync(ipamDir).includes(ip));
  t.false(existsSync(`/run/netns/${podNetns(name, 'default', 'doomed')}`));
  const links = (await execa('ip', ['-n', hostNetns(name, 'node1'), '-br', 'link'])).stdout;
  t.false(links.includes(podHostVeth('default', 'doomed')));
  t.false(existsSync(paths.netnsEtc(podNetns(name, 'default', 'doomed'))));
});

test('get -o json and wide show what the node reported', async (t) => {
  if (!rootOrSkip(t)) return;
  const list = JSON.parse((await kubelab(name, ['get', 'pods', '-o', 'json'])).stdout);
  const server1 = list.items.find((p: any) => p.metadata.name === 'server1');
  t.is(server1.status.podIP, ips.server1);
  t.is(server1.spec.nodeName, 'node1');
  t.is(server1.status.hostIP, '192.168.56.11');
  const wide = (await kubelab(name, ['get', 'nodes', '-o', 'wide'])).stdout;
  t.regex(wide, /node1\s+Ready\s+<none>.*192\.168\.56\.11\s+10\.244\.1\.0\/24/);
  t.regex(wide, /control\s+Ready\s+control-plane/);
});

test('explain shows the pod\'s kernel objects and the commands that made them', async (t) => {
  if (!rootOrSkip(t)) return;
  const text = (await kubelab(name, ['explain', 'pod/server1'])).stdout;
  t.true(text.includes(podNetns(name, 'default', 'server1')));
  t.true(text.includes(podHostVeth('default', 'server1')));
  t.regex(text, new RegExp(`ip netns add ${podNetns(name, 'default', 'server1')}`));
  t.regex(text, /route replace default via 10\.244\.1\.1 dev eth0/);
  t.true(text.includes(`${ips.server1}/24`));
});

test('scheduling spreads pods and honours nodeSelector; the control plane is tainted', async (t) => {
  if (!rootOrSkip(t)) return;
  const manifest = [
    podYaml('pick2', { image: 'busybox', command: SLEEPER }).replace('spec:\n', 'spec:\n  nodeSelector: {kubernetes.io/hostname: node2}\n'),
    podYaml('nowhere', { image: 'busybox', command: SLEEPER }).replace('spec:\n', 'spec:\n  nodeSelector: {disk: ssd}\n'),
    podYaml('oncontrol', { image: 'busybox', command: SLEEPER }).replace('spec:\n', 'spec:\n  nodeSelector: {kubernetes.io/hostname: control}\n'),
  ].join('---\n');
  await kubelab(name, ['apply', '-f', '-'], { input: manifest });
  const pods = await waitPodsReady(client, ['pick2']);
  t.is(pods.get('pick2')!.spec.nodeName, 'node2');
  const message = async (pod: string) => {
    t.true(await waitFor(async () => !!(await client.get<any>('Pod', pod)).status?.message, 10_000));
    const p = await client.get<any>('Pod', pod);
    t.is(p.spec.nodeName, undefined);
    return p.status.message as string;
  };
  t.is(await message('nowhere'), "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.");
  t.is(await message('oncontrol'), "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 node(s) didn't match Pod's node affinity/selector.");
  await kubelab(name, ['delete', 'pod', 'pick2', 'nowhere', 'oncontrol', '--now']);
});
