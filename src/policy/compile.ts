// Pure: NetworkPolicy compiled into one node's iptables filter rules, for the pods on that node.
// Every forwarded packet passes KUBELAB-NP (hooked into FORWARD; with bridge-nf-call-iptables that
// includes pod-to-pod traffic through the same bridge, and it comes after any service DNAT, so the
// real destination pod is checked). Replies of allowed connections pass by conntrack. Then:
//   egress of an isolated local pod:  KUBELAB-NP-E-<hash> RETURNs what a rule admits, DROPs the rest;
//   ingress of an isolated local pod: KUBELAB-NP-I-<hash> ACCEPTs what a rule admits, DROPs the rest.
// A connection between two pods of the node meets both checks in turn, as the model requires both.
// Peers become address lists (pod IPs from selectors; ipBlock cidr minus except as CIDRs); named
// ports are resolved against the destination pods, as in the model (src/policy/model.ts).
import { shortHash } from '../naming.ts';
import { type Cluster, peerMatches, policyTypes, selects } from './model.ts';
import type { NetworkPolicy, PolicyPeer, PolicyPod, PolicyPort } from './types.ts';

export const NP_CHAIN = 'KUBELAB-NP';

/** The chain that holds one pod's rules for one direction (what `policy explain` and the walk name). */
export function podChain(podKey: string, dir: 'Ingress' | 'Egress'): string {
  return `KUBELAB-NP-${dir === 'Egress' ? 'E' : 'I'}-${shortHash(`${podKey}/${dir}`, 10).toUpperCase()}`;
}

const ipToInt = (ip: string) => ip.split('.').reduce((a, o) => (a * 256 + Number(o)) >>> 0, 0);
const intToIp = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');

function range(cidr: string): [number, number] {
  const [ip, bits] = cidr.split('/');
  const b = Number(bits ?? 32);
  const size = 2 ** (32 - b);
  const start = Math.floor(ipToInt(ip!) / size) * size;
  return [start, start + size - 1];
}

/** cidr minus the except CIDRs, as the fewest CIDRs covering what is left (IPv4). */
export function subtractCidrs(cidr: string, except: string[] = []): string[] {
  let ranges: [number, number][] = [range(cidr)];
  for (const e of except) {
    const [es, ee] = range(e);
    ranges = ranges.flatMap(([s, t]): [number, number][] => {
      if (ee < s || es > t) return [[s, t]];
      const out: [number, number][] = [];
      if (es > s) out.push([s, es - 1]);
      if (ee < t) out.push([ee + 1, t]);
      return out;
    });
  }
  const cidrs: string[] = [];
  for (let [s, t] of ranges) {
    while (s <= t) {
      let size = 1;
      while (s % (size * 2) === 0 && s + size * 2 - 1 <= t) size *= 2;
      cidrs.push(`${intToIp(s)}/${32 - Math.log2(size)}`);
      s += size;
      if (s === 0) break;
    }
  }
  return cidrs;
}

interface PortMatch {
  protocol: string;
  /** "80" or "80:90"; absent: any port of that protocol. */
  dport?: string;
}

/** The addresses a peer stands for; `forPods` narrows pod-selector peers (named ports per pod). */
function peerAddresses(cluster: Cluster, np: NetworkPolicy, peer: PolicyPeer | undefined, pods: PolicyPod[]): string[] {
  if (!peer) return ['0.0.0.0/0'];
  if (peer.ipBlock) return subtractCidrs(peer.ipBlock.cidr, peer.ipBlock.except);
  return pods.filter((p) => p.status?.podIP && peerMatches(cluster, np, peer, { pod: p })).map((p) => `${p.status!.podIP}/32`);
}

function numericPort(p: PolicyPort): PortMatch {
  const protocol = (p.protocol ?? 'TCP').toLowerCase();
  if (p.port === undefined) return { protocol };
  return { protocol, dport: p.endPort !== undefined ? `${p.port}:${p.endPort}` : String(p.port) };
}

function namedPortOn(pod: PolicyPod, p: PolicyPort): number | undefined {
  for (const c of pod.spec?.containers ?? []) for (const cp of c.ports ?? []) if (cp.name === p.port && (cp.protocol ?? 'TCP') === (p.protocol ?? 'TCP')) return cp.containerPort;
  return undefined;
}

const key = (p: { metadata: { namespace?: string; name: string } }) => `${p.metadata.namespace ?? 'default'}/${p.metadata.name}`;

export interface PlanEntry {
  /** CIDRs of the peer (the far end): sources for ingress, destinations for egress. */
  addrs: string[];
  port?: PortMatch;
  comment: string;
}

export interface PodPlan {
  pod: string;
  ip: string;
  direction: 'Ingress' | 'Egress';
  chain: string;
  entries: PlanEntry[];
}

/** Pure: for each isolated pod of the node and direction, the (peer set, port) pairs its rules admit. */
export function planNode(cluster: Cluster, localPods: PolicyPod[]): PodPlan[] {
  const plans: PodPlan[] = [];
  const allPods = cluster.pods.filter((p) => p.status?.podIP);
  for (const pod of [...localPods].sort((a, b) => key(a).localeCompare(key(b)))) {
    const ip = pod.status?.podIP;
    if (!ip) continue;
    for (const dir of ['Egress', 'Ingress'] as const) {
      const selecting = cluster.policies.filter((np) => policyTypes(np).includes(dir) && selects(np, pod)).sort((a, b) => key(a).localeCompare(key(b)));
      if (selecting.length === 0) continue;
      const entries: PlanEntry[] = [];
      for (const np of selecting) {
        const rules = (dir === 'Ingress' ? np.spec.ingress : np.spec.egress) ?? [];
        rules.forEach((r, ri) => {
          const listed = (dir === 'Ingress' ? (r as { from?: PolicyPeer[] }).from : (r as { to?: PolicyPeer[] }).to) ?? [];
          const peers: (PolicyPeer | undefined)[] = listed.length ? listed : [undefined];
          const ports: (PolicyPort | undefined)[] = r.ports?.length ? r.ports : [undefined];
          const comment = `${key(np)} ${dir.toLowerCase()}[${ri}]`;
          for (const peer of peers) {
            for (const port of ports) {
              if (port && typeof port.port === 'string') {
                // A named port: each destination pod that has it, at its own number.
                const protocol = (port.protocol ?? 'TCP').toLowerCase();
                if (dir === 'Ingress') {
                  const n = namedPortOn(pod, port);
                  const addrs = peerAddresses(cluster, np, peer, allPods);
                  if (n !== undefined && addrs.length) entries.push({ addrs, port: { protocol, dport: String(n) }, comment });
                } else {
                  const targets = peer?.ipBlock
                    ? allPods.filter((p) => subtractCidrs(peer.ipBlock!.cidr, peer.ipBlock!.except).some((c) => inCidr(p.status!.podIP!, c)))
                    : peer
                      ? allPods.filter((p) => peerMatches(cluster, np, peer, { pod: p }))
                      : allPods;
                  for (const t of targets) {
                    const n = namedPortOn(t, port);
                    if (n !== undefined) entries.push({ addrs: [`${t.status!.podIP}/32`], port: { protocol, dport: String(n) }, comment });
                  }
                }
                continue;
              }
              const addrs = peerAddresses(cluster, np, peer, allPods);
              if (addrs.length) entries.push({ addrs, port: port ? numericPort(port) : undefined, comment });
            }
          }
        });
      }
      plans.push({ pod: key(pod), ip, direction: dir, chain: podChain(key(pod), dir), entries });
    }
  }
  return plans;
}

export interface CompiledPolicy {
  restore: string;
  /** Chain of each isolated local pod and direction, for `policy explain`. */
  chains: { pod: string; direction: 'Ingress' | 'Egress'; chain: string }[];
}

const chainsOf = (plans: PodPlan[]) => plans.map((p) => ({ pod: p.pod, direction: p.direction, chain: p.chain }));

/** The filter table for one node's pods (iptables-restore --noflush input; our chains only). */
export function compileNode(cluster: Cluster, localPods: PolicyPod[], tagText: string): CompiledPolicy {
  const plans = planNode(cluster, localPods);
  const lines = ['*filter', `:${NP_CHAIN} - [0:0]`, ...plans.map((p) => `:${p.chain} - [0:0]`)];
  const body: string[] = [`-A ${NP_CHAIN} -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "${tagText} replies of allowed connections" -j ACCEPT`];
  for (const p of plans) body.push(`-A ${NP_CHAIN} ${p.direction === 'Egress' ? '-s' : '-d'} ${p.ip}/32 -m comment --comment "${p.pod} is isolated for ${p.direction.toLowerCase()}" -j ${p.chain}`);
  for (const p of plans) {
    const verdict = p.direction === 'Egress' ? 'RETURN' : 'ACCEPT';
    for (const e of p.entries) {
      for (const a of e.addrs) {
        const proto = e.port ? ` -p ${e.port.protocol}${e.port.dport ? ` -m ${e.port.protocol} --dport ${e.port.dport}` : ''}` : '';
        const addr = a === '0.0.0.0/0' ? '' : ` ${p.direction === 'Ingress' ? '-s' : '-d'} ${a}`;
        body.push(`-A ${p.chain}${addr}${proto} -m comment --comment "${e.comment}" -j ${verdict}`);
      }
    }
    body.push(`-A ${p.chain} -m comment --comment "${p.pod}: no ${p.direction.toLowerCase()} rule admits it" -j DROP`);
  }
  return { restore: [...lines, ...body, 'COMMIT', ''].join('\n'), chains: chainsOf(plans) };
}

export const NFT_POLICY_TABLE = 'kubelab-policy';

/**
 * The same plan as one nftables table (`ip kubelab-policy`), replaced whole in one transaction; each
 * rule's peers are an nftables set. A drop in any base chain drops the packet, so this table does not
 * need to run before kube-proxy's.
 */
export function compileNodeNft(cluster: Cluster, localPods: PolicyPod[], tagText: string): CompiledPolicy {
  const plans = planNode(cluster, localPods);
  const t = NFT_POLICY_TABLE;
  const out = [`add table ip ${t}`, `delete table ip ${t}`, `table ip ${t} {`, `  comment "${tagText} NetworkPolicy"`];
  out.push(`  chain forward {`, `    type filter hook forward priority filter - 5; policy accept;`, `    ct state established,related accept comment "replies of allowed connections"`);
  for (const p of plans) out.push(`    ip ${p.direction === 'Egress' ? 'saddr' : 'daddr'} ${p.ip} jump ${p.chain} comment "${p.pod} is isolated for ${p.direction.toLowerCase()}"`);
  out.push('  }');
  for (const p of plans) {
    out.push(`  chain ${p.chain} {`);
    const verdict = p.direction === 'Egress' ? 'return' : 'accept';
    for (const e of p.entries) {
      const all = e.addrs.includes('0.0.0.0/0');
      const addr = all ? '' : ` ip ${p.direction === 'Ingress' ? 'saddr' : 'daddr'} { ${e.addrs.join(', ')} }`;
      const proto = e.port ? (e.port.dport ? ` ${e.port.protocol} dport ${e.port.dport.replace(':', '-')}` : ` meta l4proto ${e.port.protocol}`) : '';
      const match = `${addr}${proto}`.trim();
      out.push(`    ${match ? `${match} ` : ''}${verdict} comment "${e.comment}"`);
    }
    out.push(`    drop comment "${p.pod}: no ${p.direction.toLowerCase()} rule admits it"`, '  }');
  }
  out.push('}', '');
  return { restore: out.join('\n'), chains: chainsOf(plans) };
}

function inCidr(ip: string, cidr: string): boolean {
  const [s, t] = range(cidr);
  const n = ipToInt(ip);
  return n >= s && n <= t;
}
