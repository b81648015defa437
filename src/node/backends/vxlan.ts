// flannel's vxlan backend: a VXLAN device flannel.1 (VNI 1, UDP 8472) whose address is the node's pod
// subnet's network address, and for every peer node the three entries flannel programs:
//   route   <peer subnet> via <peer flannel.1 address> dev flannel.1 onlink
//   neigh   <peer flannel.1 address> lladdr <peer VTEP MAC> dev flannel.1 (permanent)
//   fdb     <peer VTEP MAC> dev flannel.1 dst <peer underlay IP> (permanent)
// The route sends pod traffic into the device, the neighbour entry gives it the peer's inner MAC,
// and the FDB entry tells the device which underlay IP to wrap it to. Each node publishes its VTEP
// MAC and underlay IP on its Node object, as flannel does with its annotations.
import { type Cmd, ipBatch } from '../../driver/command.ts';
import { parseJson, type Runner } from '../../driver/runner.ts';
import type { Backend, KernelState, PeerNode } from './backend.ts';
import { routeStateCommand } from './hostgw.ts';

export const VXLAN_DEV = 'flannel.1';
export const VXLAN_VNI = 1;
export const VXLAN_PORT = 8472;
/** 1500 less the outer IPv4 (20), UDP (8), VXLAN (8) and inner Ethernet (14) headers. */
export const VXLAN_MTU = 1450;

export const BACKEND_DATA = 'flannel.alpha.coreos.com/backend-data';
export const PUBLIC_IP = 'flannel.alpha.coreos.com/public-ip';
export const BACKEND_TYPE = 'flannel.alpha.coreos.com/backend-type';

/** The address of a node's flannel.1: the network address of its pod subnet (10.244.1.0 for 10.244.1.0/24). */
export const vtepAddress = (podCIDR: string) => podCIDR.split('/')[0]!;

export function vtepMacOf(peer: PeerNode): string | undefined {
  try {
    return JSON.parse(peer.annotations[BACKEND_DATA] ?? '{}').VtepMAC;
  } catch {
    return undefined;
  }
}

export interface VxlanPeerEntries {
  route: { dst: string; via: string };
  neigh: { dst: string; lladdr: string };
  fdb: { mac: string; dst: string };
}

/** Pure: the entries every peer needs. Peers that have not published their VTEP MAC yet are skipped. */
export function vxlanEntries(peers: PeerNode[]): VxlanPeerEntries[] {
  return peers
    .filter((p) => p.podCIDR && vtepMacOf(p))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((p) => {
      const mac = vtepMacOf(p)!.toLowerCase();
      const via = vtepAddress(p.podCIDR);
      return { route: { dst: p.podCIDR, via }, neigh: { dst: via, lladdr: mac }, fdb: { mac, dst: p.ip } };
    });
}

export class VxlanBackend implements Backend {
  readonly name = 'vxlan';
  readonly podMTU = VXLAN_MTU;
  private mac?: string;

  constructor(
    private readonly nodeNetns: string,
    private readonly underlayDev: string,
    private readonly underlayIP: string,
    private readonly ownSubnet: () => string | undefined,
    private readonly runner: Runner,
  ) {}

  setupCommands(): Cmd[] {
    const subnet = this.ownSubnet();
    if (!subnet) return [];
    return [
      {
        argv: ['ip', 'link', 'add', VXLAN_DEV, 'type', 'vxlan', 'id', String(VXLAN_VNI), 'local', this.underlayIP, 'dev', this.underlayDev, 'dstport', String(VXLAN_PORT), 'nolearning'],
        netns: this.nodeNetns,
        why: `the VXLAN tunnel endpoint ${VXLAN_DEV}: VNI ${VXLAN_VNI}, UDP ${VXLAN_PORT}, from ${this.underlayIP}; no MAC learning, kubelab programs the FDB`,
        owner: 'node/vxlan',
        okStderr: /File exists/,
      },
      ipBatch(
        this.nodeNetns,
        [
          ['link', 'set', VXLAN_DEV, 'mtu', String(VXLAN_MTU)],
          ['addr', 'replace', `${vtepAddress(subnet)}/32`, 'dev', VXLAN_DEV],
          ['link', 'set', VXLAN_DEV, 'up'],
        ],
        `${VXLAN_DEV} gets its node's subnet address ${vtepAddress(subnet)}/32 and the overlay MTU ${VXLAN_MTU}`,
        'node/vxlan',
      ),
    ];
  }

  async annotations(): Promise<Record<string, string>> {
    if (!this.mac) {
      const links = parseJson<{ address: string }[]>((await this.runner.run({ argv: ['ip', '-j', 'link', 'show', VXLAN_DEV], netns: this.nodeNetns, why: 'read the VTEP MAC', readOnly: true })).stdout);
      this.mac = links[0]?.address;
    }
    if (!this.mac) return { [BACKEND_TYPE]: 'vxlan', [PUBLIC_IP]: this.underlayIP };
    return {
      [BACKEND_TYPE]: 'vxlan',
      [BACKEND_DATA]: JSON.stringify({ VNI: VXLAN_VNI, VtepMAC: this.mac }),
      [PUBLIC_IP]: this.underlayIP,
    };
  }

  stateCommands(): Cmd[] {
    return [
      routeStateCommand(this.nodeNetns),
      { argv: ['ip', '-j', 'neigh', 'show', 'dev', VXLAN_DEV], netns: this.nodeNetns, why: 'read neighbours', readOnly: true, okStderr: /does not exist|Cannot find device/ },
      { argv: ['bridge', '-j', 'fdb', 'show', 'dev', VXLAN_DEV], netns: this.nodeNetns, why: 'read the FDB', readOnly: true, okStderr: /does not exist|Cannot find device/ },
    ];
  }

  syncCommands(peers: PeerNode[], current: KernelState): Cmd[] {
    const wanted = vxlanEntries(peers);
    const own = this.ownSubnet();
    const ipLines: string[][] = [];
    const bridgeLines: string[][] = [];
    // Remove what belongs to nodes that left (or to another backend before this one).
    for (const r of current.routes) {
      if (!r.dst.startsWith('10.244.') || r.dst === own || r.dev === 'cni0') continue;
      const w = wanted.find((e) => e.route.dst === r.dst);
      if (!w) ipLines.push(['route', 'del', r.dst]);
    }
    for (const n of current.neighbours) if (!wanted.some((e) => e.neigh.dst === n.dst)) ipLines.push(['neigh', 'del', n.dst, 'dev', VXLAN_DEV]);
    for (const f of current.fdb) {
      if (f.mac === '00:00:00:00:00:00' || !f.dst) continue;
      if (!wanted.some((e) => e.fdb.mac === f.mac && e.fdb.dst === f.dst)) bridgeLines.push(['fdb', 'del', f.mac, 'dev', VXLAN_DEV, 'dst', f.dst]);
    }
    for (const e of wanted) {
      const have = current.routes.find((r) => r.dst === e.route.dst);
      if (!(have && have.gateway === e.route.via && have.dev === VXLAN_DEV)) ipLines.push(['route', 'replace', e.route.dst, 'via', e.route.via, 'dev', VXLAN_DEV, 'onlink']);
      const n = current.neighbours.find((x) => x.dst === e.neigh.dst);
      if (!(n && n.lladdr === e.neigh.lladdr)) ipLines.push(['neigh', 'replace', e.neigh.dst, 'lladdr', e.neigh.lladdr, 'dev', VXLAN_DEV, 'nud', 'permanent']);
      if (!current.fdb.some((f) => f.mac === e.fdb.mac && f.dst === e.fdb.dst)) bridgeLines.push(['fdb', 'replace', e.fdb.mac, 'dev', VXLAN_DEV, 'dst', e.fdb.dst, 'self', 'permanent']);
    }
    const cmds: Cmd[] = [];
    if (ipLines.length) cmds.push(ipBatch(this.nodeNetns, ipLines, "vxlan: each peer's subnet routed into flannel.1 via its VTEP address, with a permanent neighbour entry for the VTEP MAC", 'node/routes'));
    if (bridgeLines.length) {
      cmds.push({ argv: ['bridge', '-batch', '-'], netns: this.nodeNetns, input: bridgeLines.map((l) => l.join(' ')).join('\n') + '\n', why: "vxlan: FDB entries: each peer's VTEP MAC is reached at its underlay IP", owner: 'node/routes' });
    }
    return cmds;
  }
}
