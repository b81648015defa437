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

function rule(chain: string, addrFlag: '-s' | '-d', addr: string, port: PortMatch | undefined, target: string, comment: string): string {
  const proto = port ? ` -p ${port.protocol}${port.dport ? ` -m ${port.protocol} --dport ${port.dport}` : ''}` : '';
  const a = addr === '0.0.0.0/0' ? '' : ` ${addrFlag} ${addr}`;
  return `-A ${chain}${a}${proto} -m comment --comment "${comment}" -j ${target}`;
}

export interface CompiledPolicy {
  restore: string;
  /** Chain of each isolated local pod and direction, for `policy explain`. */
  chains: { pod: string; direction: 'Ingress' | 'Egress'; chain: string }[];
}

/** The filter table for one node's pods (iptables-restore --noflush input; our chains only). */
export function compileNode(cluster: Cluster, localPods: PolicyPod[], tagText: string): CompiledPolicy {
  const lines = ['*filter', `:${NP_CHAIN} - [0:0]`];
  const body: string[] = [`-A ${NP_CHAIN} -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "${tagText} replies of allowed connections" -j ACCEPT`];
  const chains: CompiledPolicy['chains'] = [];
  const allPods = cluster.pods.filter((p) => p.status?.podIP);
  for (const pod of [...localPods].sort((a, b) => key(a).localeCompare(key(b)))) {
    const ip = pod.status?.podIP;
    if (!ip) continue;
    for (const dir of ['Egress', 'Ingress'] as const) {
      const selecting = cluster.policies.filter((np) => policyTypes(np).includes(dir) && selects(np, pod)).sort((a, b) => key(a).localeCompare(key(b)));
      if (selecting.length === 0) continue;
      const chain = podChain(key(pod), dir);
      chains.push({ pod: key(pod), direction: dir, chain });
      lines.push(`:${chain} - [0:0]`);
      body.push(`-A ${NP_CHAIN} ${dir === 'Egress' ? '-s' : '-d'} ${ip}/32 -m comment --comment "${key(pod)} is isolated for ${dir.toLowerCase()}" -j ${chain}`);
      const verdict = dir === 'Egress' ? 'RETURN' : 'ACCEPT';
      for (const np of selecting) {
        const rules = (dir === 'Ingress' ? np.spec.ingress : np.spec.egress) ?? [];
        rules.forEach((r, ri) => {
          const peers: (PolicyPeer | undefined)[] = ((dir === 'Ingress' ? (r as { from?: PolicyPeer[] }).from : (r as { to?: PolicyPeer[] }).to) ?? []).length ? ((dir === 'Ingress' ? (r as any).from : (r as any).to) as PolicyPeer[]) : [undefined];
          const ports: (PolicyPort | undefined)[] = r.ports?.length ? r.ports : [undefined];
          const comment = `${key(np)} ${dir.toLowerCase()}[${ri}]`;
          for (const peer of peers) {
            for (const port of ports) {
              if (port && typeof port.port === 'string') {
                // A named port: each destination pod that has it, at its own number.
                if (dir === 'Ingress') {
                  const n = namedPortOn(pod, port);
                  if (n === undefined) continue;
                  for (const a of peerAddresses(cluster, np, peer, allPods)) body.push(rule(chain, '-s', a, { protocol: (port.protocol ?? 'TCP').toLowerCase(), dport: String(n) }, verdict, comment));
                } else {
                  const targets = peer?.ipBlock ? allPods.filter((p) => peerAddresses(cluster, np, peer, [p]).length && subtractCidrs(peer.ipBlock!.cidr, peer.ipBlock!.except).some((c) => inCidr(p.status!.podIP!, c))) : peer ? allPods.filter((p) => peerMatches(cluster, np, peer, { pod: p })) : allPods;
                  for (const t of targets) {
                    const n = namedPortOn(t, port);
                    if (n !== undefined) body.push(rule(chain, '-d', `${t.status!.podIP}/32`, { protocol: (port.protocol ?? 'TCP').toLowerCase(), dport: String(n) }, verdict, comment));
                  }
                }
                continue;
              }
              for (const a of peerAddresses(cluster, np, peer, allPods)) body.push(rule(chain, dir === 'Ingress' ? '-s' : '-d', a, port ? numericPort(port) : undefined, verdict, comment));
            }
          }
        });
      }
      body.push(`-A ${chain} -m comment --comment "${key(pod)}: no ${dir.toLowerCase()} rule admits it" -j DROP`);
    }
  }
  return { restore: [...lines, ...body, 'COMMIT', ''].join('\n'), chains };
}

function inCidr(ip: string, cidr: string): boolean {
  const [s, t] = range(cidr);
  const n = ipToInt(ip);
  return n >= s && n <= t;
}
