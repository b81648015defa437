// One readable line per packet, in the spirit of tcpdump's default output:
//   10.244.1.2.43210 > 10.244.2.3.80: Flags [S], seq 1000, win 64240, length 0
// Tunnels read outside-in: "192.168.56.11.40000 > 192.168.56.12.8472: VXLAN vni 1: 10.244.1.2 > ...".

import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from './decode/ethernet.ts';
import type { DecodedFrame, DnsLayer, HttpLayer, Ipv4Layer, Layer, LayerError, TcpLayer } from './decode/types.ts';

/** tcpdump's flag letters; "." stands for ACK. */
const TCP_FLAG_LETTERS: ReadonlyArray<[string, string]> = [
  ['SYN', 'S'], ['FIN', 'F'], ['RST', 'R'], ['PSH', 'P'], ['URG', 'U'], ['ECE', 'E'], ['CWR', 'W'], ['AE', 'A'], ['ACK', '.'],
];
const ETHERTYPE_NAMES: Record<number, string> = { [ETHERTYPE_IPV4]: 'IPv4', [ETHERTYPE_ARP]: 'ARP', [ETHERTYPE_IPV6]: 'IPv6' };
const MAX_DNS_ANSWERS_SHOWN = 3;

function tcpText(tcp: TcpLayer): string {
  const letters = TCP_FLAG_LETTERS.filter(([name]) => tcp.flags.includes(name as never)).map(([, l]) => l).join('');
  const parts = [`Flags [${letters || 'none'}]`];
  parts.push(tcp.payloadLength > 0 ? `seq ${tcp.seq}:${(tcp.seq + tcp.payloadLength) % 2 ** 32}` : `seq ${tcp.seq}`);
  if (tcp.flags.includes('ACK')) parts.push(`ack ${tcp.ack}`);
  parts.push(`win ${tcp.window}`, `length ${tcp.payloadLength}`);
  return parts.join(', ');
}

function dnsText(dns: DnsLayer): string {
  const id = `0x${dns.id.toString(16).padStart(4, '0')}`;
  if (!dns.qr) {
    const qs = dns.questions.map((q) => `${q.type}? ${q.name}`).join(' ');
    return `DNS query ${id}${qs ? ` ${qs}` : ''}`;
  }
  const shown = dns.answers.slice(0, MAX_DNS_ANSWERS_SHOWN).map((a) => `${a.type} ${a.data}`);
  if (dns.answers.length > MAX_DNS_ANSWERS_SHOWN) shown.push(`+${dns.answers.length - MAX_DNS_ANSWERS_SHOWN} more`);
  return `DNS response ${id} ${dns.rcodeName}${shown.length ? ` ${shown.join(', ')}` : ''}`;
}

function httpText(http: HttpLayer): string {
  if (http.kind === 'response') return `HTTP ${http.firstLine}`;
  return `HTTP ${http.firstLine}${http.host !== undefined ? ` (Host: ${http.host})` : ''}`;
}

function errorText(error: LayerError): string {
  return `[bad ${error.layer} at byte ${error.offset}: ${error.error}]`;
}

/** Summarizes layers (one encapsulation level at a time, recursing through VXLAN). */
function summarizeFrom(layers: Layer[], start: number): string {
  const parts: string[] = [];
  let ip: Ipv4Layer | undefined;
  for (let i = start; i < layers.length; i++) {
    const layer = layers[i]!;
    const next = layers[i + 1];
    switch (layer.layer) {
      case 'sll':
        parts.push(layer.ifIndex !== undefined ? `if${layer.ifIndex} ${layer.packetTypeName} ` : `${layer.packetTypeName} `);
        if (next === undefined) parts.push(`ethertype ${ETHERTYPE_NAMES[layer.protocol] ?? `0x${layer.protocol.toString(16).padStart(4, '0')}`}`);
        break;
      case 'ethernet':
        for (const tag of layer.vlans) parts.push(`vlan ${tag.vid}, `);
        // Like tcpdump, MACs are shown only when nothing above the link layer was decoded.
        if (next === undefined) {
          const name = ETHERTYPE_NAMES[layer.etherType] ?? `0x${layer.etherType.toString(16).padStart(4, '0')}`;
          parts.push(`${layer.src} > ${layer.dst}, ethertype ${name}`);
        }
        break;
      case 'arp':
        parts.push(layer.opcode === 1
          ? `ARP, Request who-has ${layer.targetIp} tell ${layer.senderIp}`
          : layer.opcode === 2
            ? `ARP, Reply ${layer.senderIp} is-at ${layer.senderMac}`
            : `ARP, ${layer.opcodeName} ${layer.senderIp} > ${layer.targetIp}`);
        break;
      case 'ipv4':
        ip = layer;
        if (next === undefined || next.depth !== layer.depth) {
          const frag = layer.fragOffset > 0 || layer.mf ? `, frag offset ${layer.fragOffsetBytes}${layer.mf ? '+' : ''}` : '';
          parts.push(`${layer.src} > ${layer.dst}: ip-proto-${layer.protocol}${frag}, length ${layer.totalLength - layer.headerLength}`);
        }
        break;
      case 'icmp': {
        const echo = layer.id !== undefined ? `, id ${layer.id}, seq ${layer.seq}` : '';
        const code = layer.code !== 0 || layer.id === undefined ? ` code ${layer.code}` : '';
        parts.push(`${ip?.src} > ${ip?.dst}: ICMP ${layer.typeName}${code}${echo}, length ${layer.payloadLength + 8}`);
        break;
      }
      case 'tcp':
        parts.push(`${ip?.src}.${layer.srcPort} > ${ip?.dst}.${layer.dstPort}: ${tcpText(layer)}`);
        break;
      case 'udp':
        parts.push(`${ip?.src}.${layer.srcPort} > ${ip?.dst}.${layer.dstPort}: `);
        if (next === undefined || next.depth !== layer.depth || (next.layer !== 'vxlan' && next.layer !== 'dns')) {
          parts.push(`UDP, length ${layer.payloadLength}`);
        }
        break;
      case 'vxlan':
        parts.push(`VXLAN vni ${layer.vni}${next ? ': ' : ''}`);
        return parts.join('') + summarizeFrom(layers, i + 1);
      case 'dns':
        parts.push(dnsText(layer));
        break;
      case 'http':
        parts.push(`: ${httpText(layer)}`);
        break;
    }
  }
  return parts.join('');
}

/** The one-line summary of a decoded frame, with any decode error appended. */
export function summarize(frame: DecodedFrame): string {
  const text = summarizeFrom(frame.layers, 0);
  if (!frame.error) return text || 'empty frame';
  return text ? `${text} ${errorText(frame.error)}` : errorText(frame.error);
}
