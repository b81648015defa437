// The controllers of the control plane, each a small level-triggered loop over the API's informers:
// node pod-subnet allocation, the scheduler, and namespace termination. They talk to the API exactly
// as the node daemons and the CLI do, over HTTP.
import { ApiError, type ApiClient } from '../api/client.ts';
import { inform, type Informer } from '../api/informer.ts';
import type { Namespace, Node, Pod } from '../api/types.ts';
import { allocatePodCIDR } from './podcidr.ts';
import { schedule } from './scheduler.ts';

export const CLUSTER_CIDR = '10.244.0.0/16';
export const NODE_MASK = 24;
/** A node's wish for the n-th pod subnet (control 0, node1 1, ...), so addresses read alike in every lab. */
export const NODE_INDEX_ANNOTATION = 'kubelab.io/node-index';

export class ControllerManager {
  private nodes!: Informer<Node>;
  private pods!: Informer<Pod>;
  private namespaces!: Informer<Namespace>;
  private pending = false;
  private running = false;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly client: ApiClient,
    private readonly log: (line: string) => void,
  ) {}

  async start(): Promise<void> {
    const kick = () => this.kick();
    const err = (e: Error) => this.log(`watch error: ${e.message}`);
    this.nodes = inform<Node>(this.client, 'Node', {}, kick, err);
    this.pods = inform<Pod>(this.client, 'Pod', {}, kick, err);
    this.namespaces = inform<Namespace>(this.client, 'Namespace', {}, kick, err);
    await Promise.all([this.nodes.synced, this.pods.synced, this.namespaces.synced]);
    // A periodic resync catches anything a failed write left behind.
    this.timer = setInterval(kick, 5000);
    this.kick();
  }

  stop(): void {
    clearInterval(this.timer);
    this.nodes?.stop();
    this.pods?.stop();
    this.namespaces?.stop();
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
    await this.schedulePods();
    await this.terminateNamespaces();
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
    for (const p of this.pods.cache.values()) if (p.spec.nodeName) counts.set(p.spec.nodeName, (counts.get(p.spec.nodeName) ?? 0) + 1);
    const unbound = [...this.pods.cache.values()]
      .filter((p) => !p.spec.nodeName && !p.metadata.deletionTimestamp)
      .sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''));
    for (const pod of unbound) {
      const decision = schedule(pod, nodes, counts);
      const ns = pod.metadata.namespace;
      try {
        if ('node' in decision) {
          await this.client.patch('Pod', pod.metadata.name, ns, { metadata: { resourceVersion: pod.metadata.resourceVersion }, spec: { nodeName: decision.node } });
          counts.set(decision.node, (counts.get(decision.node) ?? 0) + 1);
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
