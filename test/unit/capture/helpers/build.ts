// Builds packets and pcap files byte by byte from the RFC layouts, independently of the decoder,
// so tests can state expectations in terms of the fields they put in.

export function mac(text: string): Buffer {
  return Buffer.from(text.split(':').map((h) => parseInt(h, 16)));
}

export function ip(text: string): Buffer {
  return Buffer.from(text.split('.').map(Number));
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** RFC 1071 Internet checksum. */
export function internetChecksum(bytes: Buffer): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    sum += (bytes[i]! << 8) + (i + 1 < bytes.length ? bytes[i + 1]! : 0);
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

export interface VlanSpec { tpid?: number; pcp: number; dei: boolean; vid: number }

export function ethernet(o: { dst: string; src: string; type: number; vlans?: VlanSpec[] }, payload: Buffer, padTo = 0): Buffer {
  const tags = (o.vlans ?? []).map((v) => Buffer.concat([u16(v.tpid ?? 0x8100), u16((v.pcp << 13) | (v.dei ? 0x1000 : 0) | v.vid)]));
  const frame = Buffer.concat([mac(o.dst), mac(o.src), ...tags, u16(o.type), payload]);
  return frame.length < padTo ? Buffer.concat([frame, Buffer.alloc(padTo - frame.length)]) : frame;
}

/** Linux cooked header v1 (16 bytes): pkttype, hatype, halen, 8-byte address, protocol. */
export function sll(o: { packetType: number; hatype: number; addr: string; protocol: number }, payload: Buffer): Buffer {
  const a = mac(o.addr);
  const addr = Buffer.concat([a, Buffer.alloc(8 - a.length)]);
  return Buffer.concat([u16(o.packetType), u16(o.hatype), u16(a.length), addr, u16(o.protocol), payload]);
}

/** Linux cooked header v2 (20 bytes): protocol, reserved, ifindex, hatype, pkttype, halen, address. */
export function sll2(o: { packetType: number; hatype: number; addr: string; protocol: number; ifIndex: number }, payload: Buffer): Buffer {
  const a = mac(o.addr);
  const addr = Buffer.concat([a, Buffer.alloc(8 - a.length)]);
  return Buffer.concat([u16(o.protocol), u16(0), u32(o.ifIndex), u16(o.hatype), Buffer.from([o.packetType, a.length]), addr, payload]);
}

export function arp(o: { op: number; sha: string; spa: string; tha: string; tpa: string }): Buffer {
  return Buffer.concat([u16(1), u16(0x0800), Buffer.from([6, 4]), u16(o.op), mac(o.sha), ip(o.spa), mac(o.tha), ip(o.tpa)]);
}

export interface Ipv4Spec {
  tos?: number; id?: number; df?: boolean; mf?: boolean; fragOffsetBytes?: number; ttl?: number;
  protocol: number; src: string; dst: string; options?: Buffer; totalLength?: number; checksum?: number; version?: number; ihl?: number;
}

export function ipv4(o: Ipv4Spec, payload: Buffer): Buffer {
  const options = o.options ?? Buffer.alloc(0);
  const headerLength = 20 + options.length;
  const header = Buffer.concat([
    Buffer.from([((o.version ?? 4) << 4) | (o.ihl ?? headerLength / 4), o.tos ?? 0]),
    u16(o.totalLength ?? headerLength + payload.length),
    u16(o.id ?? 0),
    u16(((o.df ? 0x2 : 0) | (o.mf ? 0x1 : 0)) << 13 | ((o.fragOffsetBytes ?? 0) / 8)),
    Buffer.from([o.ttl ?? 64, o.protocol]),
    u16(0),
    ip(o.src),
    ip(o.dst),
    options,
  ]);
  header.writeUInt16BE(o.checksum ?? internetChecksum(header), 10);
  return Buffer.concat([header, payload]);
}

export function icmp(o: { type: number; code?: number; id?: number; seq?: number; rest?: Buffer }, data: Buffer = Buffer.alloc(0)): Buffer {
  const rest = o.rest ?? Buffer.concat([u16(o.id ?? 0), u16(o.seq ?? 0)]);
  const msg = Buffer.concat([Buffer.from([o.type, o.code ?? 0]), u16(0), rest, data]);
  msg.writeUInt16BE(internetChecksum(msg), 2);
  return msg;
}

export const TCP = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80, AE: 0x100 };

export function tcp(o: { sport: number; dport: number; seq: number; ack?: number; flags: number; window?: number; urg?: number; options?: Buffer; dataOffsetWords?: number }, payload: Buffer = Buffer.alloc(0)): Buffer {
  const options = o.options ?? Buffer.alloc(0);
  if (options.length % 4 !== 0) throw new Error('tcp options must be padded to 32 bits');
  const words = o.dataOffsetWords ?? (20 + options.length) / 4;
  return Buffer.concat([
    u16(o.sport), u16(o.dport), u32(o.seq), u32(o.ack ?? 0),
    Buffer.from([(words << 4) | ((o.flags >> 8) & 0x0f), o.flags & 0xff]),
    u16(o.window ?? 65535), u16(0x1234), u16(o.urg ?? 0),
    options, payload,
  ]);
}

export function udp(o: { sport: number; dport: number; length?: number }, payload: Buffer): Buffer {
  return Buffer.concat([u16(o.sport), u16(o.dport), u16(o.length ?? 8 + payload.length), u16(0), payload]);
}

/** RFC 7348: flags byte, 24 reserved bits, 24-bit VNI, 8 reserved bits. */
export function vxlan(o: { vni: number; flags?: number }, inner: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = o.flags ?? 0x08;
  h.writeUIntBE(o.vni, 4, 3);
  return Buffer.concat([h, inner]);
}

/** RFC 1035 name: length-prefixed labels ending with the root label. */
export function dnsName(name: string): Buffer {
  const labels = name === '.' ? [] : name.replace(/\.$/, '').split('.');
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])), Buffer.from([0])]);
}

export interface DnsRr { name: string | Buffer; type: number; klass?: number; ttl: number; rdata: Buffer }

/** RFC 1035 message: 12-byte header, questions (name, type, class), answers (name, type, class, ttl, rdlength, rdata). */
export function dnsMessage(o: { id: number; flags: number; questions: Array<{ name: string; type: number; klass?: number }>; answers?: DnsRr[]; nscount?: number; arcount?: number }): Buffer {
  const answers = o.answers ?? [];
  return Buffer.concat([
    u16(o.id), u16(o.flags), u16(o.questions.length), u16(answers.length), u16(o.nscount ?? 0), u16(o.arcount ?? 0),
    ...o.questions.map((q) => Buffer.concat([dnsName(q.name), u16(q.type), u16(q.klass ?? 1)])),
    ...answers.map((a) => Buffer.concat([
      typeof a.name === 'string' ? dnsName(a.name) : a.name, u16(a.type), u16(a.klass ?? 1), u32(a.ttl), u16(a.rdata.length), a.rdata,
    ])),
  ]);
}

export interface PcapRecord { tsSec: number; tsFrac: number; data: Buffer; origLen?: number; capLen?: number }
export interface PcapSpec {
  endianness?: 'BE' | 'LE';
  nanosecond?: boolean;
  versionMajor?: number;
  versionMinor?: number;
  snapLen?: number;
  linkType?: number;
  magic?: number;
}

/** Classic libpcap file: 24-byte global header, then 16-byte record headers and data. */
export function pcapFile(spec: PcapSpec, records: PcapRecord[]): Buffer {
  const le = (spec.endianness ?? 'LE') === 'LE';
  const w32 = (n: number): Buffer => { const b = Buffer.alloc(4); if (le) b.writeUInt32LE(n >>> 0); else b.writeUInt32BE(n >>> 0); return b; };
  const w16 = (n: number): Buffer => { const b = Buffer.alloc(2); if (le) b.writeUInt16LE(n); else b.writeUInt16BE(n); return b; };
  const magic = spec.magic ?? (spec.nanosecond ? 0xa1b23c4d : 0xa1b2c3d4);
  const header = Buffer.concat([
    w32(magic), w16(spec.versionMajor ?? 2), w16(spec.versionMinor ?? 4), w32(0), w32(0),
    w32(spec.snapLen ?? 262144), w32(spec.linkType ?? 1),
  ]);
  return Buffer.concat([
    header,
    ...records.map((r) => Buffer.concat([w32(r.tsSec), w32(r.tsFrac), w32(r.capLen ?? r.data.length), w32(r.origLen ?? r.data.length), r.data])),
  ]);
}
