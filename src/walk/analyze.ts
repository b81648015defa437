// Pure: from the packets captured at each point of a path, pick out the one exchange the walk sent
// (the first packet there and the first reply back), and describe each hop and what changed since
// the previous one: MAC rewritten (routed), TTL decremented, encapsulated, decapsulated, NAT.
import { findLayer, findLayers } from '../capture/decode/find.ts';
import type { DecodedPacket, Ipv4Layer } from '../capture/decode/types.ts';
import type { ArpExchange, Hop, MissedPoint } from './model.ts';
import type { CapturePoint } from './path.ts';

export interface Flow {
  protocol: 'tcp' | 'udp' | 'icmp';
  srcIP: string;
  /** Where the packets really go: the pod (for a service, the endpoint the proxy chose). */
  dstIP: string;
  port?: number;
  /** For a service: the virtual IP and port the client sends to (DNATed on the way). */
  vip?: string;
  vipPort?: number;
}

const PROTO: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp' };

/** The innermost IPv4 header: for a VXLAN packet, the pod's, not the node's. */
function innerIp(p: DecodedPacket): Ipv4Layer | undefined {
  const all = findLayers(p.layers, 'ipv4');
  return all[all.length - 1];
}

function matches(p: DecodedPacket, flow: Flow, direction: 'there' | 'back'): boolean {
  const ip = innerIp(p);
  if (!ip) return false;
  // Before a service's DNAT (and after the reply's un-NAT) the far end is the virtual IP and port.
  const far = [flow.dstIP, ...(flow.vip ? [flow.vip] : [])];
  const farPorts = [flow.port, ...(flow.vipPort ? [flow.vipPort] : [])];
  if (direction === 'there' ? ip.src !== flow.srcIP || !far.includes(ip.dst) : !far.includes(ip.src) || ip.dst !== flow.srcIP) return false;
  const depth = ip.depth;
  if (flow.protocol === 'tcp') {
    const tcp = findLayer(p.layers, 'tcp', depth);
    if (!tcp) return false;
    if (direction === 'there') return farPorts.includes(tcp.dstPort) && tcp.flags.includes('SYN') && !tcp.flags.includes('ACK');
    return farPorts.includes(tcp.srcPort) && tcp.flags.includes('SYN') && tcp.flags.includes('ACK');
  }
  if (flow.protocol === 'udp') {
    const udp = findLayer(p.layers, 'udp', depth);
    return !!udp && (direction === 'there' ? farPorts.includes(udp.dstPort) : farPorts.includes(udp.srcPort));
  }
  const icmp = findLayer(p.layers, 'icmp', depth);
  return !!icmp && icmp.type === (direction === 'there' ? 8 : 0);
}

function hopOf(p: DecodedPacket, point: CapturePoint, direction: 'there' | 'back', step: number): Hop {
  const ip = innerIp(p)!;
  const depth = ip.depth;
  const eth = findLayer(p.layers, 'ethernet', depth)!;
  const tcp = findLayer(p.layers, 'tcp', depth);
  const udp = findLayer(p.layers, 'udp', depth);
  const icmp = findLayer(p.layers, 'icmp', depth);
  const vxlan = findLayer(p.layers, 'vxlan');
  let encap: Hop['encap'];
  if (vxlan && depth > 0) {
    const oEth = findLayer(p.layers, 'ethernet', 0)!;
    const oIp = findLayer(p.layers, 'ipv4', 0)!;
    const oUdp = findLayer(p.layers, 'udp', 0)!;
    encap = { type: 'vxlan', vni: vxlan.vni, outer: { ethSrc: oEth.src, ethDst: oEth.dst, ipSrc: oIp.src, ipDst: oIp.dst, udpSrc: oUdp.srcPort, udpDst: oUdp.dstPort } };
  }
  const l4: Hop['l4'] = tcp
    ? { protocol: 'tcp', srcPort: tcp.srcPort, dstPort: tcp.dstPort, flags: tcp.flags, seq: tcp.seq, ack: tcp.ack, length: tcp.payloadLength }
    : udp
      ? { protocol: 'udp', srcPort: udp.srcPort, dstPort: udp.dstPort, length: udp.payloadLength }
      : { protocol: 'icmp', icmpType: icmp?.type };
  return {
    step,
    direction,
    point: point.id,
    node: point.node,
    netns: point.netns,
    interface: point.iface,
    role: point.role,
    ts: p.ts,
    sinceStartUs: 0,
    eth: eth ? { src: eth.src, dst: eth.dst } : { src: '', dst: '' },
    ip: { src: ip.src, dst: ip.dst, ttl: ip.ttl, id: ip.id, protocol: PROTO[ip.protocol] ?? String(ip.protocol) },
    l4,
    ...(encap ? { encap } : {}),
    changes: [],
    summary: p.summary,
    annotations: [],
  };
}

/** What changed between two consecutive hops of one direction, in a learner's words. */
export function describeChanges(prev: Hop | undefined, hop: Hop): string[] {
  if (!prev) return ['sent'];
  const changes: string[] = [];
  if (!prev.encap && hop.encap) changes.push(`encapsulated in VXLAN (VNI ${hop.encap.vni}): outer ${hop.encap.outer.ipSrc} -> ${hop.encap.outer.ipDst}, UDP ${hop.encap.outer.udpDst}`);
  if (prev.encap && !hop.encap) changes.push('decapsulated: the outer Ethernet, IP, UDP and VXLAN headers are gone');
  if (prev.encap && hop.encap && (prev.encap.outer.ethSrc !== hop.encap.outer.ethSrc || prev.encap.outer.ethDst !== hop.encap.outer.ethDst)) {
    changes.push(`outer MAC rewritten: ${prev.encap.outer.ethSrc} -> ${hop.encap.outer.ethSrc}, dst ${prev.encap.outer.ethDst} -> ${hop.encap.outer.ethDst}`);
  }
  if (hop.ip.ttl < prev.ip.ttl) changes.push(`TTL decremented ${prev.ip.ttl} -> ${hop.ip.ttl}: routed by ${prev.node === hop.node ? hop.node : `${prev.node}`}`);
  if (prev.eth.src !== hop.eth.src || prev.eth.dst !== hop.eth.dst) {
    changes.push(`MAC rewritten: src ${prev.eth.src} -> ${hop.eth.src}, dst ${prev.eth.dst} -> ${hop.eth.dst}`);
  }
  if (prev.ip.src !== hop.ip.src) changes.push(`source NAT: ${prev.ip.src} -> ${hop.ip.src}`);
  if (prev.ip.dst !== hop.ip.dst) changes.push(`destination NAT: ${prev.ip.dst} -> ${hop.ip.dst}`);
  if (prev.l4.srcPort !== hop.l4.srcPort) changes.push(`source port ${prev.l4.srcPort} -> ${hop.l4.srcPort}`);
  if (prev.l4.dstPort !== hop.l4.dstPort) changes.push(`destination port ${prev.l4.dstPort} -> ${hop.l4.dstPort}`);
  if (changes.length === 0) changes.push('unchanged: the same frame, forwarded at layer 2');
  return changes;
}

export interface Analysis {
  hops: Hop[];
  missed: MissedPoint[];
  arp: ArpExchange[];
}

export function analyze(points: CapturePoint[], packets: Map<string, DecodedPacket[]>, flow: Flow, sameNode: boolean): Analysis {
  const hops: Hop[] = [];
  const missed: MissedPoint[] = [];
  for (const direction of ['there', 'back'] as const) {
    const order = direction === 'there' ? points : [...points].reverse();
    let prev: Hop | undefined;
    let step = 0;
    for (const point of order) {
      const found = (packets.get(point.id) ?? []).find((p) => matches(p, flow, direction));
      if (!found) {
        const bridged = point.iface === 'cni0' && sameNode;
        missed.push({
          direction,
          point: point.id,
          node: point.node,
          interface: point.iface,
          reason: bridged
            ? 'not seen on cni0 itself: the bridge forwarded the frame from port to port by its FDB, without handing it to the node\'s IP stack'
            : 'not captured here',
        });
        continue;
      }
      const hop = hopOf(found, point, direction, ++step);
      hop.changes = describeChanges(prev, hop);
      const switched = prev && hop.ip.ttl === prev.ip.ttl && hop.ip.dst === prev.ip.dst && hop.ip.src === prev.ip.src && hop.eth.dst === prev.eth.dst;
      if (sameNode && point.iface === 'cni0' && switched) {
        hop.changes = ["seen on cni0 only because tcpdump put the bridge in promiscuous mode: the bridge switched this frame port to port by its FDB; the node's IP stack did not route it (TTL unchanged)"];
      }
      hops.push(hop);
      prev = hop;
    }
  }
  const first = hops[0]?.ts ?? 0;
  for (const h of hops) h.sinceStartUs = Math.round((h.ts - first) * 1e6);

  const arp: ArpExchange[] = [];
  // ARP is shown where it is sent and answered: in the pods, and on the nodes' underlay interfaces
  // (the same frames seen again on veths, bridges and switch ports would only repeat them).
  for (const point of points) {
    const inPod = point.id.endsWith('.eth0') && !point.underlay && point.netns.includes('-pod-');
    const onNodeUnderlay = point.underlay && point.iface === 'eth0';
    if (!inPod && !onNodeUnderlay) continue;
    for (const p of packets.get(point.id) ?? []) {
      const a = findLayer(p.layers, 'arp');
      if (!a) continue;
      arp.push({ point: point.id, node: point.node, interface: point.iface, ts: p.ts, op: a.opcode === 1 ? 'request' : 'reply', summary: a.opcode === 1 ? `who-has ${a.targetIp} tell ${a.senderIp}` : `${a.senderIp} is-at ${a.senderMac}` });
    }
  }
  arp.sort((x, y) => x.ts - y.ts);
  return { hops, missed, arp };
}
