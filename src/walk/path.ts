// Pure: the interfaces a packet crosses between two pods, in order, for the overlay in use. These
// are the capture points of a walk. Same node: pod eth0, its veth, the bridge, the other veth, the
// other pod's eth0. Across nodes, the source node's bridge and (vxlan) flannel.1 and eth0, both ports
// of the underlay switch, and the same in reverse on the destination node.
import { hostNetns, podHostVeth, podNetns } from '../naming.ts';

export interface Endpoint {
  /** `namespace/name` of the pod. */
  pod: string;
  namespace: string;
  name: string;
  ip: string;
  node: string;
}

export interface CapturePoint {
  /** Stable id used in file names and the report: e.g. `node1.cni0`. */
  id: string;
  node: string;
  netns: string;
  iface: string;
  /** What this point is in the path, in words. */
  role: string;
  /** The tcpdump filter: the inner flow on pod-side interfaces, the tunnel on the underlay. */
  filter: string;
  /** Whether a packet here is inside the overlay (the underlay sees VXLAN). */
  underlay: boolean;
}

export interface WalkPath {
  sameNode: boolean;
  /** In the order a packet from src to dst crosses them; the reply crosses them in reverse. */
  points: CapturePoint[];
  /** Where a routing decision is taken on the way there and back: namespace and the lookup to show. */
  routing: { direction: 'there' | 'back'; node: string; netns: string; argv: string[]; atPoint: string }[];
}

/**
 * `via`: a service's virtual IP the client sends to: captures also match it (before the DNAT, and
 * after the reply is un-NATed), and DNS to port 53 is captured so the lookup shows too.
 */
export function walkPath(cluster: string, overlay: 'vxlan' | 'host-gw', src: Endpoint, dst: Endpoint, via?: { vip: string; endpoints: string[] }): WalkPath {
  // A service walk captures toward the virtual IP and every endpoint: points shared by the paths to
  // different endpoints must see whichever the proxy picks.
  const far = via ? [via.vip, ...via.endpoints] : [dst.ip];
  const inner = `(host ${src.ip} and (${far.map((h) => `host ${h}`).join(' or ')}${via ? ' or port 53' : ''})) or arp`;
  const underlayFilter = overlay === 'vxlan' ? `udp port 8472 or arp` : inner;
  const pod = (e: Endpoint, role: string): CapturePoint => ({ id: `${e.name}.eth0`, node: e.node, netns: podNetns(cluster, e.namespace, e.name), iface: 'eth0', role, filter: inner, underlay: false });
  const veth = (e: Endpoint, role: string): CapturePoint => ({ id: `${e.node}.${podHostVeth(e.namespace, e.name)}`, node: e.node, netns: hostNetns(cluster, e.node), iface: podHostVeth(e.namespace, e.name), role, filter: inner, underlay: false });
  const onNode = (node: string, iface: string, role: string, underlay: boolean): CapturePoint => ({ id: `${node}.${iface}`, node, netns: hostNetns(cluster, node), iface, role, filter: underlay ? underlayFilter : inner, underlay });
  const swPort = (node: string): CapturePoint => ({ id: `switch.${node}`, node: 'switch', netns: hostNetns(cluster, 'switch'), iface: node, role: `underlay switch port to ${node}`, filter: underlayFilter, underlay: true });
  const routeGet = (netns: string, to: string, from?: string, iif?: string) => ['ip', '-n', netns, 'route', 'get', to, ...(from ? ['from', from] : []), ...(iif ? ['iif', iif] : [])];

  if (src.node === dst.node) {
    const points = [pod(src, 'source pod'), veth(src, "source pod's veth, a port of cni0"), onNode(src.node, 'cni0', 'the node bridge cni0', false), veth(dst, "destination pod's veth, a port of cni0"), pod(dst, 'destination pod')];
    return {
      sameNode: true,
      points,
      routing: [
        { direction: 'there', node: src.node, netns: points[0]!.netns, argv: routeGet(points[0]!.netns, via?.vip ?? dst.ip), atPoint: points[0]!.id },
        // To a service the packet goes up to the node (the gateway), which DNATs and routes it back out cni0.
        ...(via ? [{ direction: 'there' as const, node: src.node, netns: hostNetns(cluster, src.node), argv: routeGet(hostNetns(cluster, src.node), dst.ip, src.ip, 'cni0'), atPoint: `${src.node}.cni0` }] : []),
        { direction: 'back', node: dst.node, netns: points[4]!.netns, argv: routeGet(points[4]!.netns, src.ip), atPoint: points[4]!.id },
      ],
    };
  }
  const tunnel = overlay === 'vxlan';
  const points: CapturePoint[] = [
    pod(src, 'source pod'),
    veth(src, "source pod's veth, a port of cni0"),
    onNode(src.node, 'cni0', `${src.node}'s bridge cni0 (the pod's gateway)`, false),
    ...(tunnel ? [onNode(src.node, 'flannel.1', `${src.node}'s VXLAN device flannel.1`, false)] : []),
    onNode(src.node, 'eth0', `${src.node}'s underlay interface`, true),
    swPort(src.node),
    swPort(dst.node),
    onNode(dst.node, 'eth0', `${dst.node}'s underlay interface`, true),
    ...(tunnel ? [onNode(dst.node, 'flannel.1', `${dst.node}'s VXLAN device flannel.1`, false)] : []),
    onNode(dst.node, 'cni0', `${dst.node}'s bridge cni0`, false),
    veth(dst, "destination pod's veth, a port of cni0"),
    pod(dst, 'destination pod'),
  ];
  const srcNode = hostNetns(cluster, src.node);
  const dstNode = hostNetns(cluster, dst.node);
  const entryDst = tunnel ? 'flannel.1' : 'eth0';
  return {
    sameNode: false,
    points,
    routing: [
      { direction: 'there', node: src.node, netns: points[0]!.netns, argv: routeGet(points[0]!.netns, via?.vip ?? dst.ip), atPoint: points[0]!.id },
      { direction: 'there', node: src.node, netns: srcNode, argv: routeGet(srcNode, dst.ip, src.ip, 'cni0'), atPoint: `${src.node}.cni0` },
      { direction: 'there', node: dst.node, netns: dstNode, argv: routeGet(dstNode, dst.ip, src.ip, entryDst), atPoint: `${dst.node}.${entryDst}` },
      { direction: 'back', node: dst.node, netns: points.at(-1)!.netns, argv: routeGet(points.at(-1)!.netns, src.ip), atPoint: points.at(-1)!.id },
      { direction: 'back', node: dst.node, netns: dstNode, argv: routeGet(dstNode, src.ip, dst.ip, 'cni0'), atPoint: `${dst.node}.cni0` },
      { direction: 'back', node: src.node, netns: srcNode, argv: routeGet(srcNode, src.ip, dst.ip, entryDst), atPoint: `${src.node}.${entryDst}` },
    ],
  };
}
