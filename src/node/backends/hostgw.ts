// host-gw: every node routes every other node's pod subnet via that node's underlay address. It needs
// the nodes to share one L2 segment (our switch namespace), exactly like flannel's host-gw backend.
import { type Cmd, ipBatch } from '../../driver/command.ts';
import type { Backend, KernelState, PeerNode, RouteEntry } from './backend.ts';

export function hostGwRoutes(peers: PeerNode[], underlayDev: string): RouteEntry[] {
  return peers
    .filter((p) => p.podCIDR)
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((p) => ({ dst: p.podCIDR, gateway: p.ip, dev: underlayDev }));
}

/** Routes to other pod subnets that are present but no longer wanted (a node left, the backend changed). */
export function staleRoutes(current: RouteEntry[], wanted: RouteEntry[], clusterPrefix: string, ownSubnet: string | undefined): RouteEntry[] {
  const keep = new Set(wanted.map((r) => `${r.dst} ${r.gateway} ${r.dev}`));
  return current.filter((r) => r.dst.startsWith(clusterPrefix) && r.dst !== ownSubnet && r.dev !== 'cni0' && !keep.has(`${r.dst} ${r.gateway} ${r.dev}`) && !wanted.some((w) => w.dst === r.dst));
}

export function routeStateCommand(nodeNetns: string): Cmd {
  return { argv: ['ip', '-j', 'route', 'show'], netns: nodeNetns, why: 'read routes', readOnly: true };
}

export class HostGwBackend implements Backend {
  readonly name = 'host-gw';
  readonly podMTU = 1500;

  constructor(
    private readonly nodeNetns: string,
    private readonly underlayDev: string,
    private readonly ownSubnet: () => string | undefined,
  ) {}

  setupCommands(): Cmd[] {
    return [];
  }

  async annotations(): Promise<Record<string, string>> {
    return { 'flannel.alpha.coreos.com/backend-type': 'host-gw' };
  }

  stateCommands(): Cmd[] {
    return [routeStateCommand(this.nodeNetns)];
  }

  syncCommands(peers: PeerNode[], current: KernelState): Cmd[] {
    const wanted = hostGwRoutes(peers, this.underlayDev);
    const lines: string[][] = [];
    for (const r of staleRoutes(current.routes, wanted, '10.244.', this.ownSubnet())) lines.push(['route', 'del', r.dst]);
    for (const r of wanted) {
      const have = current.routes.find((c) => c.dst === r.dst);
      if (have && have.gateway === r.gateway && have.dev === r.dev) continue;
      lines.push(['route', 'replace', r.dst, 'via', r.gateway!, 'dev', r.dev!]);
    }
    return lines.length ? [ipBatch(this.nodeNetns, lines, "host-gw: route each peer node's pod subnet via its underlay address", 'node/routes')] : [];
  }
}
