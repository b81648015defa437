// The controllers of the control plane, each a small level-triggered loop over the API's informers:
// node pod-subnet allocation, the scheduler, endpoints, the cloud load balancer, namespace termination. They talk to the API exactly
// as the node daemons and the CLI do, over HTTP.
import { ApiError, type ApiClient } from '../api/client.ts';
import { inform, type Informer } from '../api/informer.ts';
import type { KubeObject, Namespace, Node, Pod } from '../api/types.ts';
import { allocateLoadBalancerIP } from '../api/allocators.ts';
import type { Runner } from '../driver/runner.ts';
import type { IptablesBackend } from '../driver/iptables.ts';
import { parseJson } from '../driver/runner.ts';
import { lbTargets, routerCommands } from './cloud.ts';
import { computeEndpoints, computeSlices } from './endpoints.ts';
import { WorkloadController } from './workload-controller.ts';
import { allocatePodCIDR } from './podcidr.ts';
import { schedule } from './scheduler.ts';

export const CLUSTER_CIDR = '10.244.0.0/16';

/** Another writer got there first, or the object is gone: the next pass sees the new state. */
function ignoreConflict(e: unknown): void {
  if (e instanceof ApiError && (e.code === 409 || e.code === 404)) return;
  throw e;
}
export const NODE_MASK = 24;
/** A node's wish for the n-th pod subnet (control 0, node1 1, ...), so addresses read alike in every lab. */
export const NODE_INDEX_ANNOTATION = 'kubelab.io/node-index';

export class ControllerManager {
  private nodes!: Informer<Node>;
  private pods!: Informer<Pod>;
  private namespaces!: Informer<Namespace>;
  private services!: Informer<KubeObject>;
  private endpoints!: Informer<KubeObject>;
  private slices!: Informer<KubeObject>;
  private deployments!: Informer<KubeObject>;
  private replicasets!: Informer<KubeObject>;
  private daemonsets!: Informer<KubeObject>;
  private workloads!: WorkloadController;
  private lastRouter = '';
  private readonly bound = new Map<string, { node: string; at: number }>();
  private readonly boundOwner = new Map<string, string>();
  private pending = false;
  private running = false;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly client: ApiClient,
    private readonly log: (line: string) => void,
    /** Where the cloud load balancer lives (the router namespace); none in unit tests. */
    private readonly cloud?: { cluster: string; routerNetns: string; underlayCIDR: string; runner: Runner; iptables: IptablesBackend },
  ) {}

  async start(): Promise<void> {
    const kick = () => this.kick();
    const err = (e: Error) => this.log(`watch error: ${e.message}`);
    this.nodes = inform<Node>(this.client, 'Node', {}, kick, err);
    this.pods = inform<Pod>(this.client, 'Pod', {}, kick, err);
    this.namespaces = inform<Namespace>(this.client, 'Namespace', {}, kick, err);
    this.services = inform<KubeObject>(this.client, 'Service', {}, kick, err);
    this.endpoints = inform<KubeObject>(this.client, 'Endpoints', {}, kick, err);
    this.slices = inform<KubeObject>(this.client, 'EndpointSlice', {}, kick, err);
    this.deployments = inform<KubeObject>(this.client, 'Deployment', {}, kick, err);
    this.replicasets = inform<KubeObject>(this.client, 'ReplicaSet', {}, kick, err);
    this.daemonsets = inform<KubeObject>(this.client, 'DaemonSet', {}, kick, err);
    this.workloads = new WorkloadController(this.client, this.log, { deployments: this.deployments, replicasets: this.replicasets, daemonsets: this.daemonsets, pods: this.pods, nodes: this.nodes });
    await Promise.all([this.nodes.synced, this.pods.synced, this.namespaces.synced, this.services.synced, this.endpoints.synced, this.slices.synced, this.deployments.synced, this.replicasets.synced, this.daemonsets.synced]);
    // A periodic resync catches anything a failed write left behind.
    this.timer = setInterval(kick, 5000);
    this.kick();
  }

  stop(): void {
    clearInterval(this.timer);
    this.nodes?.stop();
    this.pods?.stop();
    this.namespaces?.stop();
    this.services?.stop();
    this.endpoints?.stop();
    this.slices?.stop();
    this.deployments?.stop();
    this.replicasets?.stop();
    this.daemonsets?.stop();
  }

  /** Coalesces bursts of events into one reconcile pass at a time. */
  private kick(): void {
    if (this.running) {
      this.pending = true;
      return;
    }
    this.running = true;
    void this.reconcile()
      .catch((e) => this.log(`reconcile: ${(e as Error).message}`))
      .finally(() => {
        this.running = false;
        if (this.pending) {
          this.pending = false;
          this.kick();
        }
      });
  }

  private async reconcile(): Promise<void> {
    await this.allocateSubnets();
    await this.workloads.reconcile();
    await this.schedulePods();
    await this.reconcileEndpoints();
    await this.loadBalancers();
    await this.terminateNamespaces();
  }

  /** Endpoints and EndpointSlices of every service with a selector, rewritten only when they change. */
  private async reconcileEndpoints(): Promise<void> {
    const pods = [...this.pods.cache.values()];
    const live = new Set<string>();
    for (const svc of this.services.cache.values()) {
      const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
      live.add(key);
      if (!svc.spec?.selector || Object.keys(svc.spec.selector).length === 0) continue; // managed by hand
      const ns = svc.metadata.namespace!;
      const owner = [{ apiVersion: 'v1', kind: 'Service', name: svc.metadata.name, uid: svc.metadata.uid!, controller: true }];
      const body = computeEndpoints(svc, pods);
      const current = this.endpoints.cache.get(key);
      if (!current) {
        await this.client.create({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: svc.metadata.name, namespace: ns, labels: { 'service.kubernetes.io/headless': svc.spec.clusterIP === 'None' ? 'true' : undefined } as any, ownerReferences: owner }, subsets: body.subsets }).catch(ignoreConflict);
      } else if (JSON.stringify(current.subsets ?? []) !== JSON.stringify(body.subsets)) {
        await this.client.update({ ...current, subsets: body.subsets }).catch(ignoreConflict);
      }
      const slices = computeSlices(svc, pods);
      const existing = [...this.slices.cache.values()].filter((x) => x.metadata.namespace === ns && x.metadata.labels?.['kubernetes.io/service-name'] === svc.metadata.name);
      for (const [i, slice] of (slices.length ? slices : [{ addressType: 'IPv4' as const, endpoints: [], ports: [] }]).entries()) {
        const name = `${svc.metadata.name}-${i}`;
        const have = existing.find((x) => x.metadata.name === name);
        const labels = { 'kubernetes.io/service-name': svc.metadata.name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' };
        if (!have) await this.client.create({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name, namespace: ns, labels, ownerReferences: owner }, ...slice }).catch(ignoreConflict);
        else if (JSON.stringify([have.endpoints ?? [], have.ports ?? []]) !== JSON.stringify([slice.endpoints, slice.ports])) await this.client.update({ ...have, ...slice }).catch(ignoreConflict);
      }
      for (const extra of existing.filter((x) => Number(x.metadata.name.slice(svc.metadata.name.length + 1)) >= Math.max(slices.length, 1))) {
        await this.client.delete('EndpointSlice', extra.metadata.name, ns).catch(ignoreConflict);
      }
    }
    // Endpoints of deleted services go with them (garbage collection by owner).
    for (const [key, ep] of this.endpoints.cache) {
      if (!live.has(key) && ep.metadata.ownerReferences?.some((o) => o.kind === 'Service')) await this.client.delete('Endpoints', ep.metadata.name, ep.metadata.namespace).catch(ignoreConflict);
    }
    for (const sl of this.slices.cache.values()) {
      const svc = sl.metadata.labels?.['kubernetes.io/service-name'];
      if (svc && !live.has(`${sl.metadata.namespace}/${svc}`)) await this.client.delete('EndpointSlice', sl.metadata.name, sl.metadata.namespace).catch(ignoreConflict);
    }
  }

  /** LoadBalancer services get an external address, and the router is programmed to match. */
  private async loadBalancers(): Promise<void> {
    const services = [...this.services.cache.values()];
    const used = new Set<string>(services.flatMap((s) => (s.status?.loadBalancer?.ingress ?? []).map((i: any) => i.ip)));
    for (const s of services) {
      const has = s.status?.loadBalancer?.ingress?.length;
      if (s.spec?.type === 'LoadBalancer' && !has) {
        const ip = s.spec.loadBalancerIP && !used.has(s.spec.loadBalancerIP) ? s.spec.loadBalancerIP : allocateLoadBalancerIP(used);
        if (!ip) continue;
        used.add(ip);
        await this.client.patch('Service', s.metadata.name, s.metadata.namespace, { status: { loadBalancer: { ingress: [{ ip, ipMode: 'VIP' }] } } }, 'status').catch(ignoreConflict);
        this.log(`service ${s.metadata.namespace}/${s.metadata.name}: load balancer address ${ip}`);
      } else if (s.spec?.type !== 'LoadBalancer' && has) {
        await this.client.patch('Service', s.metadata.name, s.metadata.namespace, { status: { loadBalancer: {} } }, 'status').catch(ignoreConflict);
      }
    }
    if (!this.cloud) return;
    const targets = lbTargets(services, [...this.endpoints.cache.values()], [...this.nodes.cache.values()]);
    const key = JSON.stringify(targets);
    if (key === this.lastRouter) return;
    const { runner, routerNetns, cluster, underlayCIDR, iptables } = this.cloud;
    const addrs = parseJson<{ addr_info: { local: string; prefixlen: number }[] }[]>(
      (await runner.run({ argv: ['ip', '-j', 'addr', 'show', 'dev', 'eth1'], netns: routerNetns, why: 'read the router addresses', readOnly: true })).stdout,
    )
      .flatMap((l) => l.addr_info)
      .filter((a) => a.prefixlen === 32)
      .map((a) => a.local);
    await runner.runAll(routerCommands(cluster, routerNetns, underlayCIDR, targets, addrs, iptables));
    this.lastRouter = key;
  }

  private async allocateSubnets(): Promise<void> {
    const nodes = [...this.nodes.cache.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    const used = nodes.map((n) => n.spec.podCIDR).filter((c): c is string => !!c);
    for (const node of nodes) {
      if (node.spec.podCIDR) continue;
      const index = Number(node.metadata.annotations?.[NODE_INDEX_ANNOTATION] ?? NaN);
      const cidr = allocatePodCIDR(CLUSTER_CIDR, NODE_MASK, used, Number.isInteger(index) ? index : undefined);
      used.push(cidr);
      // Conditional on the version we read: a stale cache must not hand out a second subnet.
      try {
        await this.client.patch('Node', node.metadata.name, undefined, { metadata: { resourceVersion: node.metadata.resourceVersion }, spec: { podCIDR: cidr, podCIDRs: [cidr] } });
        this.log(`node ${node.metadata.name}: allocated pod subnet ${cidr}`);
      } catch (e) {
        if (!(e instanceof ApiError && (e.code === 409 || e.code === 404))) throw e;
      }
    }
  }

  private async schedulePods(): Promise<void> {
    const nodes = [...this.nodes.cache.values()];
    const counts = new Map<string, number>();
    const seen = new Set<string>();
    for (const p of this.pods.cache.values()) {
      if (!p.spec.nodeName) continue;
      counts.set(p.spec.nodeName, (counts.get(p.spec.nodeName) ?? 0) + 1);
      seen.add(p.metadata.uid!);
    }
    // Bindings this scheduler made that the cache does not show yet still count, so a burst spreads.
    for (const [uid, b] of this.bound) {
      if (seen.has(uid) || Date.now() - b.at > 10_000) {
        this.bound.delete(uid);
        this.boundOwner.delete(uid);
      }
      else counts.set(b.node, (counts.get(b.node) ?? 0) + 1);
    }
    const unbound = [...this.pods.cache.values()]
      .filter((p) => !p.spec.nodeName && !p.metadata.deletionTimestamp)
      .sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''));
    const ownerOf = (p: Pod) => p.metadata.ownerReferences?.find((r) => r.controller)?.uid;
    const placed = [...this.pods.cache.values()].filter((p) => p.spec.nodeName).map((p) => ({ owner: ownerOf(p), node: p.spec.nodeName! }));
    for (const [uid, b] of this.bound) placed.push({ owner: this.boundOwner.get(uid), node: b.node });
    for (const pod of unbound) {
      const owner = ownerOf(pod);
      const siblings = new Map<string, number>();
      if (owner) for (const x of placed) if (x.owner === owner) siblings.set(x.node, (siblings.get(x.node) ?? 0) + 1);
      const decision = schedule(pod, nodes, counts, siblings);
      const ns = pod.metadata.namespace;
      try {
        if ('node' in decision) {
          await this.client.patch('Pod', pod.metadata.name, ns, { metadata: { resourceVersion: pod.metadata.resourceVersion }, spec: { nodeName: decision.node } });
          counts.set(decision.node, (counts.get(decision.node) ?? 0) + 1);
          this.bound.set(pod.metadata.uid!, { node: decision.node, at: Date.now() });
          if (owner) this.boundOwner.set(pod.metadata.uid!, owner);
          placed.push({ owner, node: decision.node });
          this.log(`scheduled ${ns}/${pod.metadata.name} to ${decision.node}`);
        } else {
          const current = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
          if (current?.reason === 'Unschedulable' && pod.status?.message === decision.unschedulable) continue;
          await this.client.patch('Pod', pod.metadata.name, ns, {
            status: { phase: 'Pending', message: decision.unschedulable, conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', lastTransitionTime: new Date().toISOString() }] },
          }, 'status');
        }
      } catch (e) {
        if (!(e instanceof ApiError && (e.code === 409 || e.code === 404))) throw e;
      }
    }
  }

  private async terminateNamespaces(): Promise<void> {
    for (const ns of this.namespaces.cache.values()) {
      if (!ns.metadata.deletionTimestamp) continue;
      const name = ns.metadata.name;
      // Controllers first, so nothing recreates the pods deleted below.
      for (const [kind, inf] of [['Deployment', this.deployments], ['DaemonSet', this.daemonsets], ['ReplicaSet', this.replicasets], ['Service', this.services]] as const) {
        for (const o of inf.cache.values()) if (o.metadata.namespace === name) await this.client.delete(kind, o.metadata.name, name).catch(ignoreConflict);
      }
      const held = [...this.pods.cache.values()].filter((p) => p.metadata.namespace === name);
      for (const pod of held) {
        if (pod.metadata.deletionTimestamp) continue;
        await this.client.delete('Pod', pod.metadata.name, name).catch((e) => {
          if (!(e instanceof ApiError && e.code === 404)) throw e;
        });
      }
      if (held.length === 0) {
        await this.client.delete('Namespace', name, undefined, { gracePeriodSeconds: 0 }).catch(() => {});
        this.log(`namespace ${name} terminated`);
      }
    }
  }
}
