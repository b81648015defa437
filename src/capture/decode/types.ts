// The shapes every decoder produces. A decoded packet is a flat list of layers, outermost
// first; layers inside a VXLAN tunnel carry depth 1 (2 for a tunnel in a tunnel, ...).

export type LayerName =
  | 'sll' | 'ethernet' | 'arp' | 'ipv4' | 'icmp' | 'tcp' | 'udp' | 'vxlan' | 'dns' | 'http';

interface LayerBase {
  /** Byte offset of the layer's header from the start of the captured frame. */
  offset: number;
  /** Bytes this layer's header occupies (for dns and http: the bytes they were decoded from). */
  size: number;
  /** Encapsulation depth: 0 for the outer frame, +1 inside each VXLAN tunnel. */
  depth: number;
}

export interface SllLayer extends LayerBase {
  layer: 'sll';
  /** 1 for the original cooked header (link type 113), 2 for SLL2 (link type 276). */
  version: 1 | 2;
  /** 0 host, 1 broadcast, 2 multicast, 3 otherhost, 4 outgoing. */
  packetType: number;
  packetTypeName: string;
  /** ARPHRD_* type of the interface (1 = Ethernet). */
  arphrdType: number;
  addrLen: number;
  /** Link-layer source address, colon-separated hex of addrLen bytes (at most 8). */
  addr: string;
  /** EtherType of the payload. */
  protocol: number;
  /** SLL2 only: the interface index the packet was seen on. */
  ifIndex?: number;
}

export interface VlanTag {
  /** Tag protocol identifier: 0x8100 (802.1Q) or 0x88a8 (802.1ad). */
  tpid: number;
  pcp: number;
  dei: boolean;
  vid: number;
}

export interface EthernetLayer extends LayerBase {
  layer: 'ethernet';
  src: string;
  dst: string;
  /** EtherType of the payload, after any VLAN tags. */
  etherType: number;
  vlans: VlanTag[];
}

export interface ArpLayer extends LayerBase {
  layer: 'arp';
  hwType: number;
  protoType: number;
  hwSize: number;
  protoSize: number;
  opcode: number;
  opcodeName: string;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

export interface Ipv4Layer extends LayerBase {
  layer: 'ipv4';
  version: number;
  /** Header length in 32-bit words, as on the wire. */
  ihl: number;
  /** Header length in bytes (ihl * 4). */
  headerLength: number;
  tos: number;
  dscp: number;
  ecn: number;
  totalLength: number;
  id: number;
  /** The three flag bits as a number (bit 2 reserved, bit 1 DF, bit 0 MF). */
  flagsValue: number;
  df: boolean;
  mf: boolean;
  /** Fragment offset field as on the wire, in units of 8 bytes (RFC 791; tshark's ip.frag_offset). */
  fragOffset: number;
  /** Fragment offset in bytes (fragOffset * 8), as tcpdump prints it. */
  fragOffsetBytes: number;
  ttl: number;
  protocol: number;
  checksum: number;
  /** Whether the header checksum verifies. */
  checksumOk: boolean;
  src: string;
  dst: string;
  /** True when the capture holds fewer bytes than totalLength announces. */
  truncated: boolean;
}

export interface IcmpLayer extends LayerBase {
  layer: 'icmp';
  type: number;
  code: number;
  typeName: string;
  checksum: number;
  /** Echo request/reply only. */
  id?: number;
  seq?: number;
  /** Bytes after the 8-byte ICMP header. */
  payloadLength: number;
}

export type TcpFlagName = 'FIN' | 'SYN' | 'RST' | 'PSH' | 'ACK' | 'URG' | 'ECE' | 'CWR' | 'AE';

export interface TcpOptions {
  mss?: number;
  windowScale?: number;
  sackPermitted?: boolean;
  sack?: Array<[number, number]>;
  timestamp?: { value: number; echo: number };
}

export interface TcpLayer extends LayerBase {
  layer: 'tcp';
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** Header length in bytes (data offset * 4). */
  headerLength: number;
  /** Set flag names, lowest bit first. */
  flags: TcpFlagName[];
  /** The 12 bits after the data offset: 3 reserved, AE, CWR, ECE, URG, ACK, PSH, RST, SYN, FIN. */
  flagsValue: number;
  window: number;
  checksum: number;
  urgentPointer: number;
  options: TcpOptions;
  /** Set when the options area could not be parsed; the rest of the header is still good. */
  optionsError?: string;
  /** Payload length from the IP lengths (may exceed the captured bytes in a truncated capture). */
  payloadLength: number;
}

export interface UdpLayer extends LayerBase {
  layer: 'udp';
  srcPort: number;
  dstPort: number;
  /** Header plus payload length, as in the header. */
  length: number;
  checksum: number;
  payloadLength: number;
}

export interface VxlanLayer extends LayerBase {
  layer: 'vxlan';
  /** First header byte; 0x08 is the I flag (VNI valid). */
  flags: number;
  vniValid: boolean;
  vni: number;
}

export interface DnsQuestion {
  name: string;
  type: string;
  class: string;
}

export interface DnsAnswer {
  name: string;
  type: string;
  class: string;
  ttl: number;
  /** Record data rendered as text (an address, a name, "10 mail.example.", hex for opaque data). */
  data: string;
}

export type DnsFlagName = 'aa' | 'tc' | 'rd' | 'ra' | 'z' | 'ad' | 'cd';

export interface DnsLayer extends LayerBase {
  layer: 'dns';
  id: number;
  /** True for a response. */
  qr: boolean;
  opcode: number;
  opcodeName: string;
  rcode: number;
  rcodeName: string;
  /** Set flag bits by name (qr, opcode and rcode are their own fields). */
  flags: DnsFlagName[];
  /** The whole 16-bit flags word, as on the wire. */
  flagsValue: number;
  questions: DnsQuestion[];
  answers: DnsAnswer[];
  authorityCount: number;
  additionalCount: number;
}

export interface HttpRequestLayer extends LayerBase {
  layer: 'http';
  kind: 'request';
  firstLine: string;
  method: string;
  target: string;
  version: string;
  host?: string;
}

export interface HttpResponseLayer extends LayerBase {
  layer: 'http';
  kind: 'response';
  firstLine: string;
  version: string;
  status: number;
  reason: string;
}

export type HttpLayer = HttpRequestLayer | HttpResponseLayer;

export type Layer =
  | SllLayer | EthernetLayer | ArpLayer | Ipv4Layer | IcmpLayer | TcpLayer | UdpLayer
  | VxlanLayer | DnsLayer | HttpLayer;

/** A layer that could not be decoded; the packet keeps the layers decoded before it. */
export interface LayerError {
  error: string;
  layer: LayerName;
  /** Byte offset from the start of the captured frame where the bad field (or the layer) starts. */
  offset: number;
  depth: number;
}

export interface DecodedFrame {
  layers: Layer[];
  error?: LayerError;
}

export interface DecodedPacket extends DecodedFrame {
  index: number;
  ts: number;
  origLen: number;
  capLen: number;
  /** True when the snapshot length cut the frame (capLen < origLen). */
  snapTruncated: boolean;
  /** One human-readable line in the spirit of tcpdump. */
  summary: string;
}

/**
 * What a protocol decoder returns: its layer and where its payload lies, or a failure.
 * Decoders never throw; `offset` in a failure points at the bad field.
 */
export type DecodeResult<L extends Layer> =
  | { ok: true; layer: L; payloadOffset: number; payloadEnd: number }
  | { ok: false; error: string; offset: number };

export function fail(error: string, offset: number): { ok: false; error: string; offset: number } {
  return { ok: false, error, offset };
}

/** Failure for a header that does not fit in the captured bytes. */
export function truncated(what: string, offset: number, end: number, need: number): { ok: false; error: string; offset: number } {
  return fail(`${what} truncated: need ${need} bytes, ${Math.max(0, end - offset)} captured`, offset);
}
