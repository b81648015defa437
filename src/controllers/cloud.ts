// The cloud controller: the router namespace plays the cloud's load balancer. A LoadBalancer Service
// gets an address from 203.0.113.200-250 (in its status, as a cloud would report it); the router
// owns that address and DNATs each port to the service's NodePort on the nodes, chosen at random. For
// externalTrafficPolicy Local it targets only nodes with a ready local endpoint, as a cloud load
// balancer does through the health-check node port.
import type { KubeObject, Node } from '../api/types.ts';
import type { Cmd } from '../driver/command.ts';
import { type IptablesBackend, iptablesTool } from '../driver/iptables.ts';
import { tag } from '../naming.ts';

export interface LbTarget {
  ip: string;
  ports: { port: number; protocol: string; nodePort: number }[];
  nodes: string[];
  service: string;
}

/** Pure: each LoadBalancer service's address, ports and the node IPs its traffic may go to. */
export function lbTargets(services: KubeObject[], endpoints: KubeObject[], nodes: Node[]): LbTarget[] {
  const nodeIP = (n: Node) => n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  const ready = nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && !n.spec.taints?.some((t) => t.key === 'node-role.kubernetes.io/control-plane'));
  const out: LbTarget[] = [];
  for (const s of services) {
    if (s.spec?.type !== 'LoadBalancer') continue;
    const ip = s.status?.loadBalancer?.ingress?.[0]?.ip;
    if (!ip) continue;
    let targets = ready;
    if (s.spec.externalTrafficPolicy === 'Local') {
      const ep = endpoints.find((e) => e.metadata.namespace === s.metadata.namespace && e.metadata.name === s.metadata.name);
      const local = new Set<string>(((ep?.subsets as any[]) ?? []).flatMap((sub) => (sub.addresses ?? []).map((a: any) => a.nodeName)));
      targets = ready.filter((n) => local.has(n.metadata.name));
    }
    out.push({
      ip,
      service: `${s.metadata.namespace}/${s.metadata.name}`,
      ports: (s.spec.ports ?? []).filter((p: any) => p.nodePort).map((p: any) => ({ port: p.port, protocol: (p.protocol ?? 'TCP').toLowerCase(), nodePort: p.nodePort })),
      nodes: targets.map(nodeIP).filter((x): x is string => !!x).sort(),
    });
  }
  return out.sort((a, b) => a.ip.localeCompare(b.ip));
}

/** Pure: the router's NAT table for the load balancers (applied whole: the router's nat table is ours). */
export function routerNatTable(cluster: string, underlayCIDR: string, targets: LbTarget[]): string {
  const lines = ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', ':KUBELAB-LB - [0:0]'];
  lines.push(`-A PREROUTING -m comment --comment "${tag(cluster)} cloud load balancer" -j KUBELAB-LB`);
  lines.push(`-A OUTPUT -m comment --comment "${tag(cluster)} cloud load balancer" -j KUBELAB-LB`);
  lines.push(`-A POSTROUTING -s ${underlayCIDR} -o eth1 -m comment --comment "${tag(cluster)} cloud NAT gateway" -j MASQUERADE`);
  for (const t of targets) {
    for (const p of t.ports) {
      const n = t.nodes.length;
      if (n === 0) {
        lines.push(`-A KUBELAB-LB -d ${t.ip}/32 -p ${p.protocol} --dport ${p.port} -m comment --comment "${t.service}: no healthy node" -j DROP`);
        continue;
      }
      t.nodes.forEach((node, i) => {
        const left = n - i;
        const pick = left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(10)}` : '';
        lines.push(`-A KUBELAB-LB -d ${t.ip}/32 -p ${p.protocol} --dport ${p.port} -m comment --comment "${t.service}:${p.port} -> ${node}"${pick} -j DNAT --to-destination ${node}:${p.nodePort}`);
      });
    }
  }
  lines.push('COMMIT', '');
  return lines.join('\n');
}

export function routerCommands(cluster: string, routerNetns: string, underlayCIDR: string, targets: LbTarget[], currentAddrs: string[], backend: IptablesBackend): Cmd[] {
  const want = new Set(targets.map((t) => t.ip));
  const addrLines: string[][] = [];
  for (const a of currentAddrs) if (!want.has(a)) addrLines.push(['addr', 'del', `${a}/32`, 'dev', 'eth1']);
  for (const ip of want) if (!currentAddrs.includes(ip)) addrLines.push(['addr', 'add', `${ip}/32`, 'dev', 'eth1']);
  const cmds: Cmd[] = [];
  if (addrLines.length) cmds.push({ argv: ['ip', '-batch', '-'], netns: routerNetns, input: addrLines.map((l) => l.join(' ')).join('\n') + '\n', why: 'the load balancer addresses the router answers for', owner: 'cloud/lb' });
  cmds.push({ argv: [iptablesTool(backend, 'iptables-restore'), '-w'], netns: routerNetns, input: routerNatTable(cluster, underlayCIDR, targets), why: 'the cloud load balancer: each LoadBalancer address and port DNATed to the NodePort on the nodes', owner: 'cloud/lb' });
  return cmds;
}
