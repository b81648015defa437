// Pure decisions of the workload controllers, as Kubernetes' Deployment, ReplicaSet and DaemonSet
// controllers make them. Given the objects and their pods, each returns what to do next; the
// controller manager carries it out through the API and asks again on the next change.
import { createHash } from 'node:crypto';
import type { KubeObject, Node, Pod } from '../api/types.ts';
import { schedule } from './scheduler.ts';

export const REVISION = 'deployment.kubernetes.io/revision';
export const HASH_LABEL = 'pod-template-hash';
export const DS_HASH_LABEL = 'controller-revision-hash';

export function templateHash(template: unknown): string {
  // The pod-template-hash is a hash of the template without the hash label itself.
  const t = JSON.parse(JSON.stringify(template ?? {}));
  if (t.metadata?.labels) delete t.metadata.labels[HASH_LABEL];
  if (t.metadata?.labels) delete t.metadata.labels[DS_HASH_LABEL];
  return createHash('sha256').update(JSON.stringify(t)).digest('hex').slice(0, 10);
}

export const isReady = (p: Pod) => !!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

/** Ready for at least minReadySeconds (the Ready condition's transition time tells since when). */
export function isAvailable(p: Pod, minReadySeconds: number, now: number): boolean {
  const ready = p.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True');
  if (!ready) return false;
  if (!minReadySeconds) return true;
  return now - Date.parse(ready.lastTransitionTime ?? '1970-01-01') >= minReadySeconds * 1000;
}

/** An int-or-percent of `total`; surge rounds up, unavailable rounds down, as Kubernetes does. */
export function resolveIntOrPercent(v: number | string | undefined, total: number, roundUp: boolean, fallback: string): number {
  const value = v ?? fallback;
  if (typeof value === 'number') return value;
  const pct = Number(value.replace('%', '')) / 100;
  return roundUp ? Math.ceil(pct * total) : Math.floor(pct * total);
}

export function rollingParams(deploy: KubeObject): { maxSurge: number; maxUnavailable: number } {
  const replicas = deploy.spec.replicas ?? 1;
  const ru = deploy.spec.strategy?.rollingUpdate ?? {};
  let maxSurge = resolveIntOrPercent(ru.maxSurge, replicas, true, '25%');
  const maxUnavailable = resolveIntOrPercent(ru.maxUnavailable, replicas, false, '25%');
  if (maxSurge === 0 && maxUnavailable === 0) maxSurge = 1; // Kubernetes rejects both zero; never deadlock
  return { maxSurge, maxUnavailable };
}

/**
 * Which pods a ReplicaSet scales down first, as the ReplicaSet controller ranks them: unscheduled,
 * then not ready, then ready; among equals the newest first.
 */
export function deletionOrder(pods: Pod[]): Pod[] {
  const rank = (p: Pod) => (!p.spec.nodeName ? 0 : !isReady(p) ? 1 : 2);
  return [...pods].sort((a, b) => rank(a) - rank(b) || (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '') || b.metadata.name.localeCompare(a.metadata.name));
}

export type ReplicaSetAction = { create: number; delete: Pod[] };

export function reconcileReplicaSet(rs: KubeObject, pods: Pod[]): ReplicaSetAction {
  const want = rs.spec.replicas ?? 1;
  const live = pods.filter((p) => !p.metadata.deletionTimestamp);
  if (live.length < want) return { create: want - live.length, delete: [] };
  if (live.length > want) return { create: 0, delete: deletionOrder(live).slice(0, live.length - want) };
  return { create: 0, delete: [] };
}

export interface RsView {
  rs: KubeObject;
  pods: Pod[];
}

export type DeploymentStep =
  | { kind: 'create-rs'; name: string; hash: string; revision: number; replicas: number }
  | { kind: 'scale'; rs: string; replicas: number }
  | { kind: 'revision'; rs: string; revision: number };

/** One rolling-update (or Recreate) step for a Deployment, given its ReplicaSets and their pods. */
export function reconcileDeployment(deploy: KubeObject, sets: RsView[], now: number): DeploymentStep[] {
  const replicas = deploy.spec.replicas ?? 1;
  const hash = templateHash(deploy.spec.template);
  const name = `${deploy.metadata.name}-${hash}`;
  const minReady = deploy.spec.minReadySeconds ?? 0;
  const revisionOf = (rs: KubeObject) => Number(rs.metadata.annotations?.[REVISION] ?? 0);
  const maxRevision = Math.max(0, ...sets.map((s) => revisionOf(s.rs)));
  const current = sets.find((s) => s.rs.metadata.labels?.[HASH_LABEL] === hash);
  const old = sets.filter((s) => s !== current).sort((a, b) => revisionOf(a.rs) - revisionOf(b.rs));
  if (deploy.spec.paused) return [];
  const steps: DeploymentStep[] = [];
  const recreate = deploy.spec.strategy?.type === 'Recreate';
  if (!current) {
    // A new template: a new ReplicaSet, at the next revision.
    const start = recreate ? 0 : old.length === 0 ? replicas : Math.min(replicas, Math.max(0, replicas + rollingParams(deploy).maxSurge - old.reduce((n, s) => n + (s.rs.spec.replicas ?? 0), 0)));
    return [{ kind: 'create-rs', name, hash, revision: maxRevision + 1, replicas: start }];
  }
  // Back to an older template (a rollback): that ReplicaSet becomes the newest revision.
  if (old.length && revisionOf(current.rs) < maxRevision) steps.push({ kind: 'revision', rs: current.rs.metadata.name, revision: maxRevision + 1 });
  const cur = current.rs.spec.replicas ?? 0;
  const oldTotal = old.reduce((n, s) => n + (s.rs.spec.replicas ?? 0), 0);
  if (recreate) {
    for (const s of old) if ((s.rs.spec.replicas ?? 0) > 0) steps.push({ kind: 'scale', rs: s.rs.metadata.name, replicas: 0 });
    const oldPods = old.reduce((n, s) => n + s.pods.length, 0);
    if (oldTotal === 0 && oldPods === 0 && cur !== replicas) steps.push({ kind: 'scale', rs: current.rs.metadata.name, replicas });
    return steps;
  }
  if (old.length === 0 || oldTotal === 0) {
    if (cur !== replicas) steps.push({ kind: 'scale', rs: current.rs.metadata.name, replicas });
    for (const s of old) if ((s.rs.spec.replicas ?? 0) > 0) steps.push({ kind: 'scale', rs: s.rs.metadata.name, replicas: 0 });
    return steps;
  }
  const { maxSurge, maxUnavailable } = rollingParams(deploy);
  // Scale up the new ReplicaSet as far as the surge allows.
  const total = cur + oldTotal;
  let newTarget = cur;
  if (cur < replicas) newTarget = Math.min(replicas, cur + Math.max(0, replicas + maxSurge - total));
  else if (cur > replicas) newTarget = replicas;
  if (newTarget !== cur) steps.push({ kind: 'scale', rs: current.rs.metadata.name, replicas: newTarget });
  // Scale down old ReplicaSets as far as availability allows.
  const available = sets.reduce((n, s) => n + s.pods.filter((p) => !p.metadata.deletionTimestamp && isAvailable(p, minReady, now)).length, 0);
  let canRemove = available - (replicas - maxUnavailable);
  // Old pods that are not even available can always go (they count for nothing).
  for (const s of old) {
    const have = s.rs.spec.replicas ?? 0;
    if (have === 0) continue;
    const unavailable = s.pods.filter((p) => !isAvailable(p, minReady, now)).length;
    const cut = Math.min(have, Math.max(0, canRemove) + unavailable);
    if (cut > 0) {
      steps.push({ kind: 'scale', rs: s.rs.metadata.name, replicas: have - cut });
      canRemove -= Math.max(0, cut - unavailable);
    }
  }
  return steps;
}

export type DaemonSetAction = { create: { node: string }[]; delete: Pod[] };

/**
 * One pod on each node the DaemonSet's template may run on (its nodeSelector and tolerations against
 * the node's labels and taints); pods on other nodes go; a rolling update replaces pods of an old
 * template at most maxUnavailable at a time, only while the others are ready.
 */
export function reconcileDaemonSet(ds: KubeObject, nodes: Node[], pods: Pod[]): DaemonSetAction {
  const hash = templateHash(ds.spec.template);
  const probe = (n: Node): boolean => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'probe' }, spec: ds.spec.template.spec } as Pod;
    const decision = schedule(pod, [n], new Map());
    return 'node' in decision;
  };
  const eligible = new Set(nodes.filter(probe).map((n) => n.metadata.name));
  const live = pods.filter((p) => !p.metadata.deletionTimestamp);
  const out: DaemonSetAction = { create: [], delete: [] };
  for (const p of live) if (!p.spec.nodeName || !eligible.has(p.spec.nodeName)) out.delete.push(p);
  const byNode = new Map<string, Pod[]>();
  for (const p of live) if (p.spec.nodeName) byNode.set(p.spec.nodeName, [...(byNode.get(p.spec.nodeName) ?? []), p]);
  const terminating = pods.filter((p) => p.metadata.deletionTimestamp).map((p) => p.spec.nodeName);
  const maxUnavailable = resolveIntOrPercent(ds.spec.updateStrategy?.rollingUpdate?.maxUnavailable, eligible.size, false, '1') || 1;
  let unavailable = [...eligible].filter((n) => !(byNode.get(n) ?? []).some(isReady)).length;
  for (const node of [...eligible].sort()) {
    const here = byNode.get(node) ?? [];
    if (here.length === 0) {
      if (!terminating.includes(node)) out.create.push({ node });
      continue;
    }
    for (const extra of here.slice(1)) out.delete.push(extra);
    const pod = here[0]!;
    const stale = pod.metadata.labels?.[DS_HASH_LABEL] !== hash;
    if (stale && ds.spec.updateStrategy?.type !== 'OnDelete' && (unavailable < maxUnavailable || !isReady(pod))) {
      out.delete.push(pod);
      if (isReady(pod)) unavailable++;
    }
  }
  return out;
}
