// The workload controllers' loop: Deployments own ReplicaSets, ReplicaSets and DaemonSets own pods
// (ownerReferences with controller: true). It applies the pure decisions of workloads.ts through the
// API. Pods it has just created are remembered until the informer shows them ("expectations"), so a
// pass that runs before the cache catches up does not create them twice.
import { ApiError, type ApiClient } from '../api/client.ts';
import type { Informer } from '../api/informer.ts';
import type { KubeObject, Node, Pod } from '../api/types.ts';
import { DS_HASH_LABEL, HASH_LABEL, isAvailable, isReady, reconcileDaemonSet, reconcileDeployment, reconcileReplicaSet, REVISION, templateHash } from './workloads.ts';

const owned = (o: KubeObject, owner: KubeObject) => o.metadata.ownerReferences?.some((r) => r.uid === owner.metadata.uid && r.controller);
const ownerRef = (o: KubeObject) => [{ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, uid: o.metadata.uid!, controller: true, blockOwnerDeletion: true }];

/** Whether every field of `status` already has that value in the object's status. */
const unchanged = (status: Record<string, unknown>, current: Record<string, unknown> | undefined) => Object.entries(status).every(([k, v]) => current?.[k] === v);

function ignore(e: unknown): void {
  if (e instanceof ApiError && (e.code === 409 || e.code === 404)) return;
  throw e;
}

export class WorkloadController {
  /** owner uid -> names of pods created and not yet seen, with when. */
  private readonly expected = new Map<string, Map<string, number>>();

  constructor(
    private readonly client: ApiClient,
    private readonly log: (l: string) => void,
    private readonly informers: { deployments: Informer<KubeObject>; replicasets: Informer<KubeObject>; daemonsets: Informer<KubeObject>; pods: Informer<Pod>; nodes: Informer<Node> },
  ) {}

  async reconcile(): Promise<void> {
    const now = Date.now();
    const pods = [...this.informers.pods.cache.values()];
    const sets = [...this.informers.replicasets.cache.values()];
    for (const d of this.informers.deployments.cache.values()) await this.deployment(d, sets, pods, now).catch(ignore);
    for (const rs of this.informers.replicasets.cache.values()) await this.replicaSet(rs, pods, now).catch(ignore);
    for (const ds of this.informers.daemonsets.cache.values()) await this.daemonSet(ds, pods, now).catch(ignore);
    await this.collectOrphans(pods, sets);
  }

  private podsOf(owner: KubeObject, pods: Pod[]): Pod[] {
    const mine = pods.filter((p) => p.metadata.namespace === owner.metadata.namespace && owned(p, owner));
    const pending = this.expected.get(owner.metadata.uid!);
    if (pending) for (const name of [...pending.keys()]) if (mine.some((p) => p.metadata.name === name) || Date.now() - pending.get(name)! > 20_000) pending.delete(name);
    return mine;
  }

  private pendingCount(owner: KubeObject): number {
    return this.expected.get(owner.metadata.uid!)?.size ?? 0;
  }

  private async createPod(owner: KubeObject, template: any, extra: { nodeName?: string; labels?: Record<string, string> } = {}): Promise<void> {
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: '', generateName: `${owner.metadata.name}-`, namespace: owner.metadata.namespace, labels: { ...template.metadata?.labels, ...extra.labels }, annotations: template.metadata?.annotations, ownerReferences: ownerRef(owner) } as any,
      spec: { ...template.spec, ...(extra.nodeName ? { nodeName: extra.nodeName } : {}) },
    };
    const created = await this.client.create(pod);
    const m = this.expected.get(owner.metadata.uid!) ?? new Map<string, number>();
    m.set(created.metadata.name, Date.now());
    this.expected.set(owner.metadata.uid!, m);
  }

  private async replicaSet(rs: KubeObject, pods: Pod[], now: number): Promise<void> {
    const mine = this.podsOf(rs, pods);
    const action = reconcileReplicaSet(rs, mine);
    const create = Math.max(0, action.create - this.pendingCount(rs));
    for (let i = 0; i < create; i++) await this.createPod(rs, rs.spec.template);
    for (const p of action.delete) await this.client.delete('Pod', p.metadata.name, p.metadata.namespace).catch(ignore);
    const status = {
      replicas: mine.filter((p) => !p.metadata.deletionTimestamp).length,
      readyReplicas: mine.filter(isReady).length,
      availableReplicas: mine.filter((p) => isAvailable(p, rs.spec.minReadySeconds ?? 0, now)).length,
      observedGeneration: rs.metadata.generation,
    };
    if (!unchanged(status, rs.status)) await this.client.patch('ReplicaSet', rs.metadata.name, rs.metadata.namespace, { status }, 'status').catch(ignore);
  }

  private async deployment(d: KubeObject, allSets: KubeObject[], pods: Pod[], now: number): Promise<void> {
    const sets = allSets.filter((rs) => rs.metadata.namespace === d.metadata.namespace && owned(rs, d)).map((rs) => ({ rs, pods: pods.filter((p) => owned(p, rs)) }));
    for (const step of reconcileDeployment(d, sets, now)) {
      if (step.kind === 'create-rs') {
        const template = JSON.parse(JSON.stringify(d.spec.template));
        template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [HASH_LABEL]: step.hash } };
        await this.client
          .create({
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            metadata: { name: step.name, namespace: d.metadata.namespace, labels: { ...d.spec.template.metadata?.labels, [HASH_LABEL]: step.hash }, annotations: { [REVISION]: String(step.revision) }, ownerReferences: ownerRef(d) },
            spec: { replicas: step.replicas, minReadySeconds: d.spec.minReadySeconds, selector: { matchLabels: { ...d.spec.selector.matchLabels, [HASH_LABEL]: step.hash } }, template },
          })
          .catch(ignore);
        this.log(`deployment ${d.metadata.namespace}/${d.metadata.name}: new replicaset ${step.name} (revision ${step.revision})`);
      } else if (step.kind === 'scale') {
        await this.client.patch('ReplicaSet', step.rs, d.metadata.namespace, { spec: { replicas: step.replicas } }).catch(ignore);
      } else {
        await this.client.patch('ReplicaSet', step.rs, d.metadata.namespace, { metadata: { annotations: { [REVISION]: String(step.revision) } } }).catch(ignore);
      }
    }
    const hash = templateHash(d.spec.template);
    const all = sets.flatMap((s) => s.pods).filter((p) => !p.metadata.deletionTimestamp);
    const updated = sets.filter((s) => s.rs.metadata.labels?.[HASH_LABEL] === hash).flatMap((s) => s.pods).filter((p) => !p.metadata.deletionTimestamp);
    const status = {
      observedGeneration: d.metadata.generation,
      replicas: all.length,
      updatedReplicas: updated.length,
      readyReplicas: all.filter(isReady).length,
      availableReplicas: all.filter((p) => isAvailable(p, d.spec.minReadySeconds ?? 0, now)).length,
      unavailableReplicas: Math.max(0, (d.spec.replicas ?? 1) - all.filter((p) => isAvailable(p, d.spec.minReadySeconds ?? 0, now)).length),
    };
    if (!unchanged(status, d.status)) await this.client.patch('Deployment', d.metadata.name, d.metadata.namespace, { status }, 'status').catch(ignore);
  }

  private async daemonSet(ds: KubeObject, pods: Pod[], now: number): Promise<void> {
    const mine = this.podsOf(ds, pods);
    const action = reconcileDaemonSet(ds, [...this.informers.nodes.cache.values()], mine);
    const hash = templateHash(ds.spec.template);
    const pendingNodes = new Set([...(this.expected.get(ds.metadata.uid!)?.keys() ?? [])].map((n) => n.split('@')[1]));
    for (const c of action.create) {
      if (pendingNodes.has(c.node)) continue;
      await this.createPod(ds, ds.spec.template, { nodeName: c.node, labels: { [DS_HASH_LABEL]: hash } });
      // remember by node too: a DaemonSet's expectation is per node
      this.expected.get(ds.metadata.uid!)!.set(`pending@${c.node}`, Date.now());
    }
    for (const p of action.delete) await this.client.delete('Pod', p.metadata.name, p.metadata.namespace).catch(ignore);
    for (const p of mine) this.expected.get(ds.metadata.uid!)?.delete(`pending@${p.spec.nodeName}`);
    const status = {
      desiredNumberScheduled: new Set(mine.map((p) => p.spec.nodeName)).size + action.create.length,
      currentNumberScheduled: mine.length,
      numberReady: mine.filter(isReady).length,
      updatedNumberScheduled: mine.filter((p) => p.metadata.labels?.[DS_HASH_LABEL] === hash).length,
      numberAvailable: mine.filter((p) => isAvailable(p, ds.spec.minReadySeconds ?? 0, now)).length,
      observedGeneration: ds.metadata.generation,
    };
    if (!unchanged(status, ds.status)) await this.client.patch('DaemonSet', ds.metadata.name, ds.metadata.namespace, { status }, 'status').catch(ignore);
  }

  /** Garbage collection: objects whose controlling owner is gone are deleted, as Kubernetes' GC does. */
  private async collectOrphans(pods: Pod[], sets: KubeObject[]): Promise<void> {
    const uids = new Set([...this.informers.deployments.cache.values(), ...sets, ...this.informers.daemonsets.cache.values()].map((o) => o.metadata.uid));
    for (const rs of sets) {
      const ref = rs.metadata.ownerReferences?.find((r) => r.controller && r.kind === 'Deployment');
      if (ref && !uids.has(ref.uid)) await this.client.delete('ReplicaSet', rs.metadata.name, rs.metadata.namespace).catch(ignore);
    }
    for (const p of pods) {
      const ref = p.metadata.ownerReferences?.find((r) => r.controller && (r.kind === 'ReplicaSet' || r.kind === 'DaemonSet'));
      if (ref && !uids.has(ref.uid) && !p.metadata.deletionTimestamp) await this.client.delete('Pod', p.metadata.name, p.metadata.namespace).catch(ignore);
    }
  }
}
