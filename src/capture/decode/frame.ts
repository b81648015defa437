// Walks one captured frame from the link layer inwards, handing each payload to the decoder
// its header names. Stops quietly at protocols we do not decode (IPv6, LLC, a TCP body that is
// not HTTP) and records the first failure as the packet's error. Never throws.

import { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2 } from '../pcap-format.ts';
import { decodeArp } from './arp.ts';
import { DNS_PORT, decodeDns } from './dns.ts';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, decodeEthernet } from './ethernet.ts';
import { decodeHttp } from './http.ts';
import { decodeIcmp } from './icmp.ts';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, decodeIpv4 } from './ipv4.ts';
import { decodeSll, decodeSll2 } from './sll.ts';
import { decodeTcp } from './tcp.ts';
import type { DecodeResult, DecodedFrame, Layer, LayerName, Ipv4Layer } from './types.ts';
import { decodeUdp } from './udp.ts';
import { VXLAN_PORTS, decodeVxlan } from './vxlan.ts';

/** Tunnels nested deeper than this are garbage (or an attack on our stack), not traffic. */
export const MAX_TUNNEL_DEPTH = 8;

class Walk {
  readonly out: DecodedFrame = { layers: [] };
  /** What is being decoded right now, so that even an unexpected exception names a layer. */
  current: { layer: LayerName; offset: number; depth: number } = { layer: 'ethernet', offset: 0, depth: 0 };

  constructor(readonly buf: Buffer) {}

  /** Records a decoder's result; returns the layer, or null after recording the failure. */
  take<L extends Layer>(name: LayerName, offset: number, depth: number, result: DecodeResult<L>): (DecodeResult<L> & { ok: true }) | null {
    this.current = { layer: name, offset, depth };
    if (!result.ok) {
      this.out.error = { error: result.error, layer: name, offset: result.offset, depth };
      return null;
    }
    this.out.layers.push(result.layer);
    return result;
  }

  ethernet(offset: number, end: number, depth: number): void {
    this.current = { layer: 'ethernet', offset, depth };
    const eth = this.take('ethernet', offset, depth, decodeEthernet(this.buf, offset, end, depth));
    if (eth) this.etherType(eth.layer.etherType, eth.payloadOffset, eth.payloadEnd, depth);
  }

  etherType(type: number, offset: number, end: number, depth: number): void {
    if (type === ETHERTYPE_IPV4) {
      this.current = { layer: 'ipv4', offset, depth };
      const ip = this.take('ipv4', offset, depth, decodeIpv4(this.buf, offset, end, depth));
      if (ip) this.ipPayload(ip.layer, ip.payloadOffset, ip.payloadEnd, depth);
    } else if (type === ETHERTYPE_ARP) {
      this.current = { layer: 'arp', offset, depth };
      this.take('arp', offset, depth, decodeArp(this.buf, offset, end, depth));
    }
  }

  ipPayload(ip: Ipv4Layer, offset: number, end: number, depth: number): void {
    // Only the first fragment carries the transport header.
    if (ip.fragOffset > 0) return;
    const declared = ip.totalLength - ip.headerLength;
    const fragment = ip.mf;
    if (ip.protocol === IPPROTO_ICMP) {
      this.current = { layer: 'icmp', offset, depth };
      this.take('icmp', offset, depth, decodeIcmp(this.buf, offset, end, depth, declared));
    } else if (ip.protocol === IPPROTO_TCP) {
      this.current = { layer: 'tcp', offset, depth };
      const tcp = this.take('tcp', offset, depth, decodeTcp(this.buf, offset, end, depth, declared));
      if (tcp && !fragment && tcp.payloadEnd > tcp.payloadOffset) {
        this.current = { layer: 'http', offset: tcp.payloadOffset, depth };
        const http = decodeHttp(this.buf, tcp.payloadOffset, tcp.payloadEnd, depth);
        if (http) this.out.layers.push(http);
      }
    } else if (ip.protocol === IPPROTO_UDP) {
      this.current = { layer: 'udp', offset, depth };
      // A first fragment holds only part of the datagram the UDP length describes.
      const udp = this.take('udp', offset, depth, decodeUdp(this.buf, offset, end, depth, fragment ? 0xffff : declared));
      if (udp && !fragment) this.udpPayload(udp.layer.srcPort, udp.layer.dstPort, udp.payloadOffset, udp.payloadEnd, depth);
    }
  }

  udpPayload(srcPort: number, dstPort: number, offset: number, end: number, depth: number): void {
    if (VXLAN_PORTS.has(dstPort) || VXLAN_PORTS.has(srcPort)) {
      this.current = { layer: 'vxlan', offset, depth };
      const vxlan = this.take('vxlan', offset, depth, decodeVxlan(this.buf, offset, end, depth));
      if (!vxlan) return;
      if (depth + 1 > MAX_TUNNEL_DEPTH) {
        this.out.error = { error: `vxlan nested deeper than ${MAX_TUNNEL_DEPTH} tunnels`, layer: 'vxlan', offset, depth };
        return;
      }
      this.ethernet(vxlan.payloadOffset, vxlan.payloadEnd, depth + 1);
    } else if (dstPort === DNS_PORT || srcPort === DNS_PORT) {
      this.current = { layer: 'dns', offset, depth };
      this.take('dns', offset, depth, decodeDns(this.buf, offset, end, depth));
    }
  }
}

/** Decodes one frame of the given pcap link type into layers; never throws. */
export function decodeFrame(buf: Buffer, linkType: number): DecodedFrame {
  const walk = new Walk(buf);
  try {
    if (linkType === LINKTYPE_ETHERNET) {
      walk.ethernet(0, buf.length, 0);
    } else if (linkType === LINKTYPE_LINUX_SLL || linkType === LINKTYPE_LINUX_SLL2) {
      walk.current = { layer: 'sll', offset: 0, depth: 0 };
      const decoder = linkType === LINKTYPE_LINUX_SLL ? decodeSll : decodeSll2;
      const sll = walk.take('sll', 0, 0, decoder(buf, 0, buf.length, 0));
      if (sll) walk.etherType(sll.layer.protocol, sll.payloadOffset, sll.payloadEnd, 0);
    } else {
      walk.out.error = { error: `unsupported link type ${linkType}`, layer: 'ethernet', offset: 0, depth: 0 };
    }
  } catch (err) {
    // A decoder bug must not take the whole report down: blame the layer it happened in.
    walk.out.error = { error: `internal decoder error: ${(err as Error).message}`, ...walk.current };
  }
  return walk.out;
}
