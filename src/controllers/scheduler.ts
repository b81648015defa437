// Pure scheduling: which node a pod lands on. It honours spec.nodeName (already bound),
// nodeSelector, node taints against the pod's tolerations, unschedulable nodes, and nodes that
// have no pod subnet yet; among the nodes that fit it spreads the replicas of one controller first
// (kube-scheduler's default topology spread over hostnames), then pods in general, fewest first.
import type { Node, Pod, Taint } from '../api/types.ts';

export type Decision = { node: string } | { unschedulable: string };

function tolerates(pod: Pod, taint: Taint): boolean {
  return (pod.spec.tolerations ?? []).some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === 'Exists') return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
}

export function schedule(pod: Pod, nodes: Node[], podsPerNode: Map<string, number>, siblingsPerNode: Map<string, number> = new Map()): Decision {
  const reasons = new Map<string, number>();
  const reject = (why: string) => reasons.set(why, (reasons.get(why) ?? 0) + 1);
  const fits = nodes.filter((n) => {
    if (n.spec.unschedulable) return reject('node(s) were unschedulable'), false;
    if (!n.spec.podCIDR) return reject('node(s) had no pod subnet yet'), false;
    const selector = pod.spec.nodeSelector ?? {};
    if (Object.entries(selector).some(([k, v]) => n.metadata.labels?.[k] !== v)) return reject("node(s) didn't match Pod's node affinity/selector"), false;
    const blocking = (n.spec.taints ?? []).find((t) => t.effect !== 'PreferNoSchedule' && !tolerates(pod, t));
    if (blocking) return reject(`node(s) had untolerated taint {${blocking.key}: ${blocking.value ?? ''}}`), false;
    return true;
  });
  if (fits.length === 0) {
    const detail = [...reasons].map(([why, n]) => `${n} ${why}`).sort().join(", "); // kube-scheduler sorts the formatted reasons
    return { unschedulable: `0/${nodes.length} nodes are available${detail ? `: ${detail}` : ''}.` };
  }
  const n = (m: Map<string, number>, node: Node) => m.get(node.metadata.name) ?? 0;
  fits.sort((a, b) => n(siblingsPerNode, a) - n(siblingsPerNode, b) || n(podsPerNode, a) - n(podsPerNode, b) || a.metadata.name.localeCompare(b.metadata.name));
  return { node: fits[0]!.metadata.name };
}
