// The NetworkPolicy model: pure, and independent of any firewall compiler, it says whether a
// connection is allowed and why, following networking.k8s.io/v1 semantics:
//  - a pod is isolated for egress (ingress) when some policy with that policyType selects it; an
//    isolated pod's traffic in that direction is allowed only if some rule of a selecting policy admits
//    it; policies add up (a union), they never deny;
//  - policyTypes, when omitted, is Ingress, plus Egress when the policy has an egress section;
//  - a connection needs egress allowed at the source AND ingress allowed at the destination;
//  - empty `from`/`to` admits every peer, absent `ports` every port; protocol defaults to TCP;
//  - in a peer, podSelector alone means pods of the policy's namespace, namespaceSelector alone all
//    pods of the matching namespaces, both together their intersection (AND);
//  - ipBlock (cidr minus except) is matched against the peer's IP. Kubernetes leaves open whether it
//    applies to pod IPs; kubelab's model applies it to pod IPs too, and so does its compiler;
//  - a named port is resolved against the destination pod's container ports (name and protocol);
//    endPort makes a range;
//  - traffic from a pod to itself never leaves its network namespace, so no policy can see it: allowed.
import ipaddr from 'ipaddr.js';
import { matchesSelector } from './selector.ts';
import type { LabelSelector, NetworkPolicy, PolicyNamespace, PolicyPeer, PolicyPod, PolicyPort } from './types.ts';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface Cluster {
  policies: NetworkPolicy[];
  namespaces: PolicyNamespace[];
  pods: PolicyPod[];
}

export type Endpoint = { pod: PolicyPod } | { ip: string };

export interface Admission {
  policy: string;
  rule: number;
  /** The peer and port entries that matched (-1 when the rule has none, i.e. all). */
  peer: number;
  port: number;
}

export interface DirectionVerdict {
  /** Policies of that type selecting the pod. */
  policies: string[];
  isolated: boolean;
  allowed: boolean;
  admittedBy?: Admission;
}

export interface Verdict {
  allowed: boolean;
  egress: DirectionVerdict;
  ingress: DirectionVerdict;
  reasons: string[];
}

const key = (p: { metadata: { namespace?: string; name: string } }) => `${p.metadata.namespace ?? 'default'}/${p.metadata.name}`;

export function policyTypes(np: NetworkPolicy): ('Ingress' | 'Egress')[] {
  if (np.spec.policyTypes && np.spec.policyTypes.length) return np.spec.policyTypes;
  return np.spec.egress ? ['Ingress', 'Egress'] : ['Ingress'];
}

export function selects(np: NetworkPolicy, pod: PolicyPod): boolean {
  return (np.metadata.namespace ?? 'default') === (pod.metadata.namespace ?? 'default') && matchesSelector(np.spec.podSelector ?? {}, pod.metadata.labels ?? {});
}

function inBlock(ip: string, block: { cidr: string; except?: string[] }): boolean {
  const addr = ipaddr.parse(ip);
  const within = (cidr: string) => {
    const [range, bits] = ipaddr.parseCIDR(cidr);
    return addr.kind() === range.kind() && addr.match(range, bits);
  };
  return within(block.cidr) && !(block.except ?? []).some(within);
}

function namespaceLabels(cluster: Cluster, ns: string): Record<string, string> {
  return cluster.namespaces.find((n) => n.metadata.name === ns)?.metadata.labels ?? {};
}

export function peerMatches(cluster: Cluster, np: NetworkPolicy, peer: PolicyPeer, other: Endpoint): boolean {
  const ip = 'pod' in other ? other.pod.status?.podIP : other.ip;
  if (peer.ipBlock) return !!ip && inBlock(ip, peer.ipBlock);
  if (!('pod' in other)) return false; // selectors only ever match pods
  const pod = other.pod;
  const podNs = pod.metadata.namespace ?? 'default';
  if (peer.namespaceSelector) {
    if (!matchesSelector(peer.namespaceSelector, namespaceLabels(cluster, podNs))) return false;
  } else if (podNs !== (np.metadata.namespace ?? 'default')) return false;
  return peer.podSelector ? matchesSelector(peer.podSelector, pod.metadata.labels ?? {}) : true;
}

function portMatches(rulePort: PolicyPort, port: number, protocol: Protocol, dst: Endpoint): boolean {
  if ((rulePort.protocol ?? 'TCP') !== protocol) return false;
  if (rulePort.port === undefined) return true;
  if (typeof rulePort.port === 'number') return rulePort.endPort !== undefined ? port >= rulePort.port && port <= rulePort.endPort : port === rulePort.port;
  if (!('pod' in dst)) return false; // a named port needs a pod to name it
  return (dst.pod.spec?.containers ?? []).some((c) => (c.ports ?? []).some((p) => p.name === rulePort.port && (p.protocol ?? 'TCP') === protocol && p.containerPort === port));
}

function direction(cluster: Cluster, pod: PolicyPod, kind: 'Ingress' | 'Egress', other: Endpoint, port: number, protocol: Protocol, dst: Endpoint): DirectionVerdict {
  const selecting = cluster.policies.filter((np) => policyTypes(np).includes(kind) && selects(np, pod)).sort((a, b) => key(a).localeCompare(key(b)));
  if (selecting.length === 0) return { policies: [], isolated: false, allowed: true };
  for (const np of selecting) {
    const rules = (kind === 'Ingress' ? np.spec.ingress : np.spec.egress) ?? [];
    for (const [ri, rule] of rules.entries()) {
      const peers = (kind === 'Ingress' ? (rule as { from?: PolicyPeer[] }).from : (rule as { to?: PolicyPeer[] }).to) ?? [];
      const peerIndex = peers.length === 0 ? -1 : peers.findIndex((p) => peerMatches(cluster, np, p, other));
      if (peers.length && peerIndex < 0) continue;
      const ports = rule.ports ?? [];
      const portIndex = ports.length === 0 ? -1 : ports.findIndex((p) => portMatches(p, port, protocol, dst));
      if (ports.length && portIndex < 0) continue;
      return { policies: selecting.map(key), isolated: true, allowed: true, admittedBy: { policy: key(np), rule: ri, peer: peerIndex, port: portIndex } };
    }
  }
  return { policies: selecting.map(key), isolated: true, allowed: false };
}

export interface Query {
  src: Endpoint;
  dst: Endpoint;
  port: number;
  protocol: Protocol;
}

export function evaluate(cluster: Cluster, q: Query): Verdict {
  const name = (e: Endpoint) => ('pod' in e ? key(e.pod) : e.ip);
  if ('pod' in q.src && 'pod' in q.dst && key(q.src.pod) === key(q.dst.pod)) {
    const open: DirectionVerdict = { policies: [], isolated: false, allowed: true };
    return { allowed: true, egress: open, ingress: open, reasons: [`${name(q.src)} to itself never leaves its network namespace: no policy applies`] };
  }
  const open: DirectionVerdict = { policies: [], isolated: false, allowed: true };
  const egress = 'pod' in q.src ? direction(cluster, q.src.pod, 'Egress', q.dst, q.port, q.protocol, q.dst) : open;
  const ingress = 'pod' in q.dst ? direction(cluster, q.dst.pod, 'Ingress', q.src, q.port, q.protocol, q.dst) : open;
  const reasons = [describe('egress from', name(q.src), egress, 'to'), describe('ingress to', name(q.dst), ingress, 'from')];
  return { allowed: egress.allowed && ingress.allowed, egress, ingress, reasons };
}

function describe(what: string, who: string, v: DirectionVerdict, prep: string): string {
  if (!v.isolated) return `${what} ${who}: not isolated (no policy with that type selects it): allowed`;
  if (v.admittedBy) {
    const a = v.admittedBy;
    return `${what} ${who}: isolated by ${v.policies.join(', ')}; allowed by ${a.policy} rule ${a.rule}${a.peer >= 0 ? ` peer ${a.peer}` : ` (any peer ${prep})`}${a.port >= 0 ? ` port ${a.port}` : ' (any port)'}`;
  }
  return `${what} ${who}: isolated by ${v.policies.join(', ')}; no rule admits it: denied`;
}

export interface TruthCell {
  from: string;
  to: string;
  port: number;
  protocol: Protocol;
  allowed: boolean;
}

/** Every ordered pod pair for each port and protocol: the model's side of `policy verify`. */
export function truthTable(cluster: Cluster, ports: number[], protocols: Protocol[]): TruthCell[] {
  const pods = [...cluster.pods].sort((a, b) => key(a).localeCompare(key(b)));
  const cells: TruthCell[] = [];
  for (const protocol of protocols)
    for (const port of ports)
      for (const src of pods) for (const dst of pods) cells.push({ from: key(src), to: key(dst), port, protocol, allowed: evaluate(cluster, { src: { pod: src }, dst: { pod: dst }, port, protocol }).allowed });
  return cells;
}

export type { LabelSelector };
