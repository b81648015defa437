// Services through the real kernel, in both proxy modes: ClusterIP from pods on both nodes and from
// nodes, balancing over 3 endpoints, ClientIP affinity, hairpin, NodePort on every node, LoadBalancer
// from the external host through the router, externalTrafficPolicy Local keeping the client's IP,
// and a removed endpoint's stale UDP conntrack entry cleared. Bad Services get field errors.
import { rmSync, writeFileSync } from 'node:fs';
import test from 'ava';
import { execa } from 'execa';
import type { ApiClient } from '../../../src/api/client.ts';
import { hostNetns, podNetns } from '../../../src/naming.ts';
import { waitFor } from '../../../src/util/proc.ts';
import { downCluster, isRoot, kubelab, randomName, rootOrSkip, SLEEPER, waitPodsReady } from '../helpers.ts';

const echoPod = (name: string, node: string, labels: Record<string, string> = {}) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: ${JSON.stringify({ app: 'echo', ...labels })}}
spec:
  nodeName: ${node}
  containers:
    - name: agnhost
      image: agnhost
      ports: [{name: http, containerPort: 8080}, {name: udp, containerPort: 8081, protocol: UDP}]
      readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 1}
`;

const MANIFEST = [
  echoPod('echo-1', 'node1', { solo: 'yes' }),
  echoPod('echo-2', 'node2'),
  echoPod('echo-3', 'node2'),
  `apiVersion: v1\nkind: Pod\nmetadata: {name: client}\nspec:\n  nodeName: node1\n  containers: [{name: shell, image: busybox, command: ${JSON.stringify(SLEEPER)}}]\n`,
  `apiVersion: v1\nkind: Pod\nmetadata: {name: client2}\nspec:\n  nodeName: node2\n  containers: [{name: shell, image: busybox, command: ${JSON.stringify(SLEEPER)}}]\n`,
  `apiVersion: v1\nkind: Service\nmetadata: {name: echo}\nspec:\n  selector: {app: echo}\n  ports:\n    - {name: http, port: 80, targetPort: http}\n    - {name: dns, port: 53, protocol: UDP, targetPort: udp}\n`,
  `apiVersion: v1\nkind: Service\nmetadata: {name: sticky}\nspec:\n  selector: {app: echo}\n  sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}\n  ports: [{port: 80, targetPort: 8080}]\n`,
  `apiVersion: v1\nkind: Service\nmetadata: {name: solo}\nspec:\n  selector: {solo: "yes"}\n  ports: [{port: 80, targetPort: 8080}]\n`,
  `apiVersion: v1\nkind: Service\nmetadata: {name: np}\nspec:\n  type: NodePort\n  selector: {app: echo}\n  ports: [{port: 80, targetPort: 8080, nodePort: 30080}]\n`,
  `apiVersion: v1\nkind: Service\nmetadata: {name: np-local}\nspec:\n  type: NodePort\n  externalTrafficPolicy: Local\n  selector: {solo: "yes"}\n  ports: [{port: 80, targetPort: 8080, nodePort: 30081}]\n`,
  `apiVersion: v1\nkind: Service\nmetadata: {name: lb}\nspec:\n  type: LoadBalancer\n  selector: {app: echo}\n  ports: [{port: 80, targetPort: 8080}]\n`,
].join('---\n');

interface Ctx {
  name: string;
  client: ApiClient;
  vip: (svc: string) => Promise<string>;
}

async function setUp(mode: 'iptables' | 'nftables'): Promise<Ctx> {
  const name = randomName(mode === 'iptables' ? 'svci' : 'svcn');
  await kubelab(name, ['up', '--nodes', '2', '--proxy-mode', mode]);
  const { apiClient } = await import('../../../src/provider/embedded/cluster.ts');
  const client = apiClient(name);
  await kubelab(name, ['apply', '-f', '-'], { input: MANIFEST });
  await waitPodsReady(client, ['echo-1', 'echo-2', 'echo-3', 'client', 'client2']);
  const vip = async (svc: string) => ((await client.get('Service', svc)) as any).spec.clusterIP as string;
  // Wait until every node has programmed the endpoints (3 ready ones for echo).
  await waitFor(async () => ((await client.get('Endpoints', 'echo')) as any).subsets?.[0]?.addresses?.length === 3, 30_000);
  return { name, client, vip };
}

/** N requests from inside a pod in one exec; the pod names that answered, counted. */
async function fromPod(ctx: Ctx, pod: string, url: string, n: number): Promise<Map<string, number>> {
  const r = await kubelab(ctx.name, ['exec', pod, '--', 'sh', '-c', `i=0; while [ $i -lt ${n} ]; do wget -qO- ${url}; echo; i=$((i+1)); done`]);
  const seen = new Map<string, number>();
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const who = JSON.parse(line).pod as string;
    seen.set(who, (seen.get(who) ?? 0) + 1);
  }
  return seen;
}

async function inNetns(netns: string, url: string): Promise<any> {
  const r = await execa('ip', ['netns', 'exec', netns, 'busybox', 'wget', '-qO-', url], { timeout: 15_000 });
  return JSON.parse(r.stdout);
}

for (const mode of ['iptables', 'nftables'] as const) {
  let ctx: Ctx | undefined;
  test.before(async () => {
    if (isRoot()) ctx = await setUp(mode);
  });
  test.after.always(async () => {
    if (ctx) await downCluster(ctx.name);
  });

  test.serial(`${mode}: a ClusterIP balances over its 3 endpoints, from pods on both nodes`, async (t) => {
    if (!rootOrSkip(t)) return;
    const vip = await ctx!.vip('echo');
    t.regex(vip, /^10\.96\./);
    for (const pod of ['client', 'client2']) {
      const seen = await fromPod(ctx!, pod, `http://${vip}/`, 100);
      t.deepEqual([...seen.keys()].sort(), ['echo-1', 'echo-2', 'echo-3'], `from ${pod}: ${JSON.stringify([...seen])}`);
    }
  });

  test.serial(`${mode}: nodes reach the ClusterIP too`, async (t) => {
    if (!rootOrSkip(t)) return;
    const vip = await ctx!.vip('echo');
    for (const node of ['node1', 'node2']) t.regex((await inNetns(hostNetns(ctx!.name, node), `http://${vip}/`)).pod, /^echo-\d$/);
  });

  test.serial(`${mode}: ClientIP session affinity pins one client to one endpoint`, async (t) => {
    if (!rootOrSkip(t)) return;
    const seen = await fromPod(ctx!, 'client', `http://${await ctx!.vip('sticky')}/`, 30);
    t.is(seen.size, 1, JSON.stringify([...seen]));
  });

  test.serial(`${mode}: hairpin: a pod reaches itself through its own service`, async (t) => {
    if (!rootOrSkip(t)) return;
    const r = await kubelab(ctx!.name, ['exec', 'echo-1', '--', 'busybox', 'wget', '-qO-', `http://${await ctx!.vip('solo')}/`]);
    t.is(JSON.parse(r.stdout).pod, 'echo-1');
  });

  test.serial(`${mode}: a NodePort answers on every node`, async (t) => {
    if (!rootOrSkip(t)) return;
    for (const ip of ['192.168.56.10', '192.168.56.11', '192.168.56.12']) {
      t.regex((await inNetns(hostNetns(ctx!.name, 'router'), `http://${ip}:30080/`)).pod, /^echo-\d$/, ip);
    }
  });

  test.serial(`${mode}: externalTrafficPolicy Local keeps the client's IP, and a node without a local endpoint drops`, async (t) => {
    if (!rootOrSkip(t)) return;
    // echo-1 (the only endpoint of np-local) runs on node1; the router is the client, 192.168.56.1.
    const local = await inNetns(hostNetns(ctx!.name, 'router'), 'http://192.168.56.11:30081/');
    t.is(local.pod, 'echo-1');
    t.is(local.clientIP, '192.168.56.1');
    const cluster = await inNetns(hostNetns(ctx!.name, 'router'), 'http://192.168.56.12:30080/');
    t.not(cluster.clientIP, '192.168.56.1', 'Cluster policy masquerades');
    const dropped = await execa('ip', ['netns', 'exec', hostNetns(ctx!.name, 'router'), 'timeout', '3', 'busybox', 'wget', '-qO-', 'http://192.168.56.12:30081/'], { reject: false });
    t.not(dropped.exitCode, 0);
  });

  test.serial(`${mode}: a LoadBalancer answers from the external host through the router`, async (t) => {
    if (!rootOrSkip(t)) return;
    const svc: any = await ctx!.client.get('Service', 'lb');
    const ip = svc.status.loadBalancer.ingress[0].ip;
    t.regex(ip, /^203\.0\.113\.\d+$/);
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add((await inNetns(hostNetns(ctx!.name, 'ext'), `http://${ip}/`)).pod);
    t.true(seen.size >= 1);
  });

  test.serial(`${mode}: a failing readiness probe takes the pod out of its service's endpoints, and back in`, async (t) => {
    if (!rootOrSkip(t)) return;
    // The probe looks for a file inside the container (its own /tmp): created and removed with exec.
    const pod = echoPod('gated', 'node1', { gate: 'yes' }).replace(
      'readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 1}',
      'readinessProbe: {exec: {command: [test, -f, /tmp/ready]}, periodSeconds: 1, failureThreshold: 1}',
    );
    const svc = `apiVersion: v1\nkind: Service\nmetadata: {name: gated}\nspec:\n  selector: {gate: "yes"}\n  ports: [{port: 80, targetPort: 8080}]\n`;
    await kubelab(ctx!.name, ['apply', '-f', '-'], { input: `${pod}---\n${svc}` });
    const addresses = async () => ((await ctx!.client.get('Endpoints', 'gated')) as any).subsets?.flatMap((s: any) => (s.addresses ?? []).map((a: any) => a.targetRef.name)) ?? [];
    const running = async () => ((await ctx!.client.find<any>('Pod', 'gated'))?.status?.containerStatuses?.[0]?.state?.running ? true : false);
    t.true(await waitFor(running, 30_000), 'running');
    const touch = () => kubelab(ctx!.name, ['exec', 'gated', '--', 'touch', '/tmp/ready']);
    await touch();
    t.true(await waitFor(async () => (await addresses()).includes('gated'), 30_000), 'ready: listed');
    await kubelab(ctx!.name, ['exec', 'gated', '--', 'rm', '/tmp/ready']);
    t.true(await waitFor(async () => !(await addresses()).includes('gated'), 30_000), 'probe failing: removed');
    const notReady = ((await ctx!.client.get('Endpoints', 'gated')) as any).subsets?.flatMap((s: any) => (s.notReadyAddresses ?? []).map((a: any) => a.targetRef.name));
    t.deepEqual(notReady, ['gated']);
    await touch();
    t.true(await waitFor(async () => (await addresses()).includes('gated'), 30_000), 'probe passing again: back');
    await kubelab(ctx!.name, ['delete', 'pod', 'gated', '--now']);
  });

  test.serial(`${mode}: walk to a service: the DNAT, the rule and the conntrack entry, and the reply un-NATed by conntrack`, async (t) => {
    if (!rootOrSkip(t)) return;
    const vip = await ctx!.vip('echo');
    const r = JSON.parse((await kubelab(ctx!.name, ['walk', 'client', 'echo', '--json'])).stdout);
    t.true(r.exchange.ok, r.exchange.output);
    t.is(r.service.clusterIP, vip);
    t.true(r.service.endpoints.includes(r.service.chosen));
    const there = r.hops.filter((h: any) => h.direction === 'there');
    const back = r.hops.filter((h: any) => h.direction === 'back');
    t.is(there[0].ip.dst, vip, 'the client sends to the virtual IP');
    t.is(there.at(-1).ip.dst, r.service.chosen.split(':')[0], 'the endpoint receives it at its own IP');
    const dnat = there.find((h: any) => h.annotations.some((a: any) => a.source === 'nat'));
    t.truthy(dnat);
    t.true(dnat.changes.some((c: string) => c === `destination NAT: ${vip} -> ${r.service.chosen.split(':')[0]}`));
    t.true(dnat.annotations.some((a: any) => a.source === 'conntrack' && a.text.includes(`dst=${vip}`) && a.text.includes(`src=${r.service.chosen.split(':')[0]}`)));
    t.true(r.service.rules.length > 0);
    if (mode === 'iptables') t.true(r.service.rules.some((l: string) => /^-A KUBE-SEP-\w+ .* -j DNAT --to-destination /.test(l)), r.service.rules.join('\n'));
    t.is(back.at(-1).ip.src, vip, 'the client gets the answer from the virtual IP');
    t.true(back.some((h: any) => h.annotations.some((a: any) => a.source === 'conntrack' && a.text.startsWith('un-NAT of the reply by conntrack'))));
  });

  test.serial(`${mode}: a removed endpoint's UDP conntrack entry is cleared, so the same flow moves on`, async (t) => {
    if (!rootOrSkip(t)) return;
    const vip = await ctx!.vip('echo');
    // The same 5-tuple each time (fixed source port), as a DNS client would send it.
    const send = async () =>
      (
        await execa('ip', ['netns', 'exec', podNetns(ctx!.name, 'default', 'client2'), process.execPath, '-e', UDP_CLIENT, vip, '53', '40053'], { timeout: 15_000, reject: false })
      ).stdout.trim();
    const first = await send();
    t.regex(first, /^echo-\d$/);
    await kubelab(ctx!.name, ['delete', 'pod', first, '--grace-period', '1']);
    t.true(await waitFor(async () => !JSON.stringify(((await ctx!.client.get('Endpoints', 'echo')) as any).subsets).includes(first), 20_000));
    let next = '';
    await waitFor(async () => {
      next = await send();
      return /^echo-\d$/.test(next);
    }, 15_000, 500);
    t.regex(next, /^echo-\d$/);
    t.not(next, first);
    await kubelab(ctx!.name, ['apply', '-f', '-'], { input: echoPod(first, first === 'echo-1' ? 'node1' : 'node2', first === 'echo-1' ? { solo: 'yes' } : {}) });
    await waitPodsReady(ctx!.client, [first]);
  });
}

// Sends "hostname" from a fixed source port and prints the answer (or nothing after 2 s).
const UDP_CLIENT = `
const dgram = require('node:dgram');
const [ip, port, src] = process.argv.slice(1);
const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
s.bind(Number(src), () => s.send('hostname', Number(port), ip));
s.on('message', (m) => { console.log(m.toString()); process.exit(0); });
setTimeout(() => process.exit(0), 2000);
`;

test.serial('bad Services get an error naming the field, and nothing is created', async (t) => {
  if (!rootOrSkip(t)) return;
  const name = randomName('svcbad');
  t.teardown(() => downCluster(name));
  await kubelab(name, ['up', '--nodes', '1']);
  const svc = (spec: string) => `apiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec:\n${spec}`;
  const cases: [string, RegExp][] = [
    [svc('  ports: [{port: 70000}]\n'), /spec\.ports\[0\]\.port: 70000 is out of range/],
    [svc('  ports: [{name: web, port: 80}, {name: web, port: 81}]\n'), /spec\.ports\[1\]\.name: Duplicate value: "web"/],
    [svc('  clusterIP: 10.0.0.5\n  ports: [{port: 80}]\n'), /spec\.clusterIP: Invalid value: "10\.0\.0\.5": provided IP is not in the valid range/],
    [svc('  type: NodePort\n  ports: [{port: 80, nodePort: 40000}]\n'), /spec\.ports\[0\]\.nodePort: 40000 is out of range/],
  ];
  for (const [yaml, error] of cases) {
    const r = await kubelab(name, ['apply', '-f', '-'], { input: yaml, reject: false });
    t.is(r.exitCode, 1);
    t.regex(r.stderr, error);
  }
  await kubelab(name, ['apply', '-f', '-'], { input: svc('  type: NodePort\n  ports: [{port: 80, nodePort: 30500}]\n').replace('name: bad', 'name: first') });
  const taken = await kubelab(name, ['apply', '-f', '-'], { input: svc('  type: NodePort\n  ports: [{port: 80, nodePort: 30500}]\n'), reject: false });
  t.regex(taken.stderr, /spec\.ports\[0\]\.nodePort: Invalid value: 30500: provided port is already allocated/);
  const { apiClient } = await import('../../../src/provider/embedded/cluster.ts');
  t.is(await apiClient(name).find('Service', 'bad'), undefined);
  const ipvs = await kubelab(randomName('ipvs'), ['up', '--proxy-mode', 'ipvs'], { reject: false });
  t.regex(ipvs.stderr, /IP Virtual Server \(CONFIG_IP_VS, module ip_vs\).*--proxy-mode iptables or --proxy-mode nftables/);
});
