// The node daemon: kubelet + flanneld (+ kube-proxy, later) for one node. It registers its Node,
// watches the pods bound to it and the other nodes, and reconciles the node's kernel state from
// both the desired state and what the kernel really holds, so a restart repeats and loses nothing.
import { RuntimeImages } from '../runtime/images.ts';
import { readFileSync } from 'node:fs';
import { ApiClient, ApiError } from '../api/client.ts';
import { inform } from '../api/informer.ts';
import type { KubeObject, Namespace, Node, Pod } from '../api/types.ts';
import type { NetworkPolicy } from '../policy/types.ts';
import { PolicyEnforcer } from './policy.ts';
import { proxyInput, ServiceProxy } from './proxy.ts';
import { NODE_INDEX_ANNOTATION } from '../controllers/manager.ts';
import { createRunner, parseJson } from '../driver/runner.ts';
import { hostNetns, paths } from '../naming.ts';
import { readConfig, readToken } from '../provider/config.ts';
import { waitFor } from '../util/proc.ts';
import type { Backend, KernelState, PeerNode } from './backends/backend.ts';
import { VxlanBackend } from './backends/vxlan.ts';
import { HostGwBackend } from './backends/hostgw.ts';
import { gatewayOf, HostLocalIpam } from './ipam.ts';
import { bridgeCommands } from './podnet.ts';
import { describeError, PodManager } from './pods.ts';
import { SandboxStore } from './sandbox.ts';

export async function runNodeDaemon(cluster: string, nodeName: string): Promise<void> {
  const cfg = readConfig(cluster);
  const me = cfg.nodes.find((n) => n.name === nodeName);
  if (!me) throw new Error(`node ${nodeName} is not part of cluster ${cluster}`);
  const log = (line: string): void => void process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  const client = new ApiClient({ host: cfg.apiServer.host, port: cfg.apiServer.port }, readToken(cluster));
  const runner = createRunner({ transcript: paths.transcript(cluster), component: `node/${nodeName}` });
  const nodeNetns = hostNetns(cluster, nodeName);
  let podCIDR: string | undefined;
  const backend: Backend =
    cfg.overlay === 'vxlan' ? new VxlanBackend(nodeNetns, 'eth0', me.ip, () => podCIDR, runner) : new HostGwBackend(nodeNetns, 'eth0', () => podCIDR);

  if (!(await waitFor(() => client.health(), 60_000, 200))) throw new Error(`API server ${cfg.apiServer.host}:${cfg.apiServer.port} not reachable`);
  await register();

  const pods = new PodManager({
    cluster,
    node: nodeName,
    nodeIP: me.ip,
    nodeNetns,
    runner,
    client,
    ipam: new HostLocalIpam(`${paths.nodeDir(cluster, nodeName)}/ipam`),
    store: new SandboxStore(`${paths.nodeDir(cluster, nodeName)}/pods`),
    podCIDR: () => podCIDR,
    podMTU: () => backend.podMTU,
    log,
    images: new RuntimeImages(),
  });

  let bridgeDone = false;
  const readKernelState = (b: Backend) => readKernelStateWith(runner, b);
  let nodesBusy: Promise<void> = Promise.resolve();
  const nodeInformer = inform<Node>(client, 'Node', {}, () => void (nodesBusy = nodesBusy.then(syncNodes).catch((e) => log(`nodes: ${describeError(e)}`))), (e) => log(`node watch: ${e.message}`));
  const podInformer = inform<Pod>(
    client,
    'Pod',
    { fieldSelector: `spec.nodeName=${nodeName}` },
    (e) => {
      if (e.type === 'SYNC') for (const p of podInformer.cache.values()) void pods.sync(p);
      else if (e.type === 'DELETED') {
        void pods.forget(e.object.metadata.uid!);
      } else void pods.sync(e.object);
    },
    (e) => log(`pod watch: ${e.message}`),
  );
  // The service proxy: every change to Services or Endpoints re-syncs the ruleset, coalesced.
  const proxy = new ServiceProxy({ cluster, nodeNetns, runner, mode: cfg.proxyMode === 'nftables' ? 'nftables' : 'iptables', iptables: cfg.iptablesBackend, log });
  let proxyTimer: NodeJS.Timeout | undefined;
  let proxyBusy: Promise<void> = Promise.resolve();
  let lastProxyInput = '';
  const proxyKick = (force = false) => {
    clearTimeout(proxyTimer);
    proxyTimer = setTimeout(() => {
      const input = proxyInput([...serviceInformer.cache.values()], [...endpointsInformer.cache.values()], { name: nodeName, ip: me.ip }, cfg.clusterCIDR, cfg.serviceCIDR);
      const text = JSON.stringify(input);
      if (text === lastProxyInput && !force) return;
      proxyBusy = proxyBusy
        .then(() => proxy.sync(input))
        .then(() => void (lastProxyInput = text))
        .catch((e) => log(`proxy: ${describeError(e)}`));
    }, 50);
  };
  const serviceInformer = inform<KubeObject>(client, 'Service', {}, () => proxyKick(), (e) => log(`service watch: ${e.message}`));
  const endpointsInformer = inform<KubeObject>(client, 'Endpoints', {}, () => proxyKick(), (e) => log(`endpoints watch: ${e.message}`));

  // NetworkPolicy: every pod of the cluster is a possible peer, so this one watches them all.
  const enforcer = new PolicyEnforcer({ cluster, node: nodeName, nodeNetns, runner, iptables: cfg.iptablesBackend, mode: cfg.proxyMode === 'nftables' ? 'nftables' : 'iptables' });
  let policyTimer: NodeJS.Timeout | undefined;
  let policyBusy: Promise<void> = Promise.resolve();
  const policyKick = () => {
    clearTimeout(policyTimer);
    policyTimer = setTimeout(() => {
      policyBusy = policyBusy
        .then(() => enforcer.sync([...policyInformer.cache.values()] as unknown as NetworkPolicy[], [...namespaceInformer.cache.values()], [...allPodsInformer.cache.values()]))
        .catch((e) => log(`policy: ${describeError(e)}`));
    }, 50);
  };
  const policyInformer = inform<KubeObject>(client, 'NetworkPolicy', {}, policyKick, (e) => log(`policy watch: ${e.message}`));
  const namespaceInformer = inform<Namespace>(client, 'Namespace', {}, policyKick, (e) => log(`namespace watch: ${e.message}`));
  const allPodsInformer = inform<Pod>(client, 'Pod', {}, policyKick, (e) => log(`pods watch: ${e.message}`));

  pods.setEndpointsCheck((uid) =>
    [...endpointsInformer.cache.values()].some((e) => ((e.subsets as any[]) ?? []).some((sub) => (sub.addresses ?? []).some((a: any) => a.targetRef?.uid === uid))),
  );

  pods.onExit = (uid) => {
    const pod = [...podInformer.cache.values()].find((p) => p.metadata.uid === uid);
    if (pod) void pods.sync(pod);
  };

  async function syncNodes(): Promise<void> {
    const self = nodeInformer.cache.get(nodeName);
    if (!self) return;
    const hadCIDR = podCIDR;
    podCIDR = self.spec.podCIDR;
    if (podCIDR && !bridgeDone) {
      const exists = /^\s*cni0:/m.test(readProcNetDev());
      await runner.runAll(bridgeCommands({ nodeNetns, podCIDR, gateway: gatewayOf(podCIDR), mtu: backend.podMTU, cluster }, exists));
      await runner.runAll(backend.setupCommands());
      // Now that the tunnel endpoint exists, tell the peers how to reach it (flannel's annotations).
      await client.patch('Node', nodeName, undefined, { metadata: { annotations: await backend.annotations() } });
      bridgeDone = true;
    }
    const peers: PeerNode[] = [...nodeInformer.cache.values()]
      .filter((n) => n.metadata.name !== nodeName && n.spec.podCIDR)
      .map((n) => ({
        name: n.metadata.name,
        ip: n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '',
        podCIDR: n.spec.podCIDR!,
        annotations: n.metadata.annotations ?? {},
      }))
      .filter((p) => p.ip);
    await runner.runAll(backend.syncCommands(peers, await readKernelState(backend)));
    if (podCIDR && !hadCIDR) for (const p of podInformer.cache.values()) void pods.sync(p);
  }

  async function register(): Promise<void> {
    const labels: Record<string, string> = { 'kubernetes.io/hostname': nodeName, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' };
    if (me!.role === 'control-plane') labels['node-role.kubernetes.io/control-plane'] = '';
    const taints = me!.role === 'control-plane' ? [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' as const }] : [];
    const index = String(cfg.nodes.findIndex((n) => n.name === nodeName));
    try {
      await client.create<Node>({ apiVersion: 'v1', kind: 'Node', metadata: { name: nodeName, labels, annotations: { [NODE_INDEX_ANNOTATION]: index } }, spec: { taints } });
      log(`registered node ${nodeName}`);
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 409)) throw e;
    }
    await client.patch('Node', nodeName, undefined, { metadata: { annotations: { 'kubelab.io/underlay-ip': me!.ip } } });
    await heartbeat();
  }

  async function heartbeat(): Promise<void> {
    await client.patch('Node', nodeName, undefined, {
      status: {
        addresses: [
          { type: 'InternalIP', address: me!.ip },
          { type: 'Hostname', address: nodeName },
        ],
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: new Date().toISOString() }],
        nodeInfo: { kubeletVersion: 'v1.30.0-kubelab', kubeProxyVersion: 'v1.30.0-kubelab', operatingSystem: 'linux', architecture: 'amd64', containerRuntimeVersion: 'kubelab://0.1' },
      },
    }, 'status');
  }

  await Promise.all([nodeInformer.synced, podInformer.synced, serviceInformer.synced, endpointsInformer.synced, policyInformer.synced, namespaceInformer.synced, allPodsInformer.synced]);
  await nodesBusy;
  await pods.collectOrphans(new Set([...podInformer.cache.values()].map((p) => p.metadata.uid!)));
  log(`node ${nodeName} ready (${backend.name}, pod subnet ${podCIDR ?? 'pending'})`);

  // Probes every second; a full resync of pods and routes every 10 s repairs whatever drifted.
  let tick = 0;
  const timer = setInterval(() => {
    tick++;
    for (const pod of podInformer.cache.values()) {
      if (pod.metadata.deletionTimestamp) continue;
      if (pods.refreshPids(pod)) void pods.sync(pod);
      void pods.runProbes(pod).then((changed) => (changed ? pods.sync(pod) : undefined)).catch((e) => log(`probe: ${describeError(e)}`));
    }
    if (tick % 10 === 0) {
      for (const pod of podInformer.cache.values()) void pods.sync(pod);
      nodesBusy = nodesBusy.then(syncNodes).catch((e) => log(`nodes: ${describeError(e)}`));
      // Once a minute the whole ruleset is written again, repairing whatever drifted.
      proxyKick(tick % 60 === 0);
      policyKick();
      void heartbeat().catch((e) => log(`heartbeat: ${describeError(e)}`));
    }
  }, 1000);

  const stop = () => {
    clearInterval(timer);
    nodeInformer.stop();
    podInformer.stop();
    serviceInformer.stop();
    endpointsInformer.stop();
    policyInformer.stop();
    namespaceInformer.stop();
    allPodsInformer.stop();
    log('stopping (containers keep running, as with the kubelet)');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** Runs the backend's read-only queries and parses them into the state its sync compares against. */
async function readKernelStateWith(runner: ReturnType<typeof createRunner>, backend: Backend): Promise<KernelState> {
  const state: KernelState = { routes: [], neighbours: [], fdb: [] };
  for (const cmd of backend.stateCommands()) {
    const rows = parseJson<any[]>((await runner.run(cmd)).stdout);
    const what = cmd.argv.slice(0, 4).join(' ');
    if (what.includes('route')) state.routes = rows.map((r) => ({ dst: r.dst, gateway: r.gateway, dev: r.dev, flags: r.flags }));
    else if (what.includes('neigh')) state.neighbours = rows.map((r) => ({ dst: r.dst, lladdr: r.lladdr, dev: r.dev }));
    else if (what.includes('fdb')) state.fdb = rows.map((r) => ({ mac: r.mac, dst: r.dst, dev: r.ifname ?? r.dev }));
  }
  return state;
}

/** This daemon runs inside the node's namespace: /proc/net/dev lists that namespace's links. */
function readProcNetDev(): string {
  return readFileSync('/proc/net/dev', 'utf8');
}
