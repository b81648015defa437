// Maps tshark's `-T json --no-duplicate-keys` output onto our layer field names, so a capture
// decoded by us and by Wireshark can be compared field by field. Pure: the command runs in
// tshark.ts. Only fields tshark reports are filled in; compare.ts checks those against ours.

import dnsClasses from 'dns-packet/classes.js';
import dnsTypes from 'dns-packet/types.js';
import type { LayerName } from './decode/types.ts';

/** A layer as tshark saw it: our layer name and depth plus whichever of our fields tshark has. */
export type TsharkLayer = { layer: LayerName; depth: number } & Record<string, unknown>;

export interface TsharkPacket {
  /** Zero-based, like our packet index (tshark's frame.number - 1). */
  index: number;
  /** tshark's frame.protocols, e.g. "eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:tcp:http". */
  protocols: string;
  layers: TsharkLayer[];
}

type Json = Record<string, unknown>;

/** Protocol tokens of frame.protocols that are not layers of their own. */
const PASS_THROUGH = new Set(['ethertype', 'data', 'data-text-lines', 'tcp.segments', 'vssmonitoring', 'eth.trailer']);

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Depth-first search for a field anywhere inside a protocol's tree (tshark nests them in *_tree). */
function field(obj: unknown, key: string): string | undefined {
  if (!isObject(obj)) return undefined;
  if (key in obj) {
    const v = obj[key];
    return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;
  }
  for (const v of Object.values(obj)) {
    if (isObject(v)) {
      const found = field(v, key);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

type Convert = (s: string) => unknown;
const num: Convert = (s) => Number(s);
const str: Convert = (s) => s;
const bool: Convert = (s) => s === '1' || s === 'True' || s === 'true';

/** Copies the listed tshark fields (searched anywhere in the tree) onto our names. */
function pick(obj: Json, spec: ReadonlyArray<[ours: string, theirs: string, convert: Convert]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [ours, theirs, convert] of spec) {
    const v = field(obj, theirs);
    if (v !== undefined) out[ours] = convert(v);
  }
  return out;
}

function direct(obj: Json, spec: ReadonlyArray<[string, string, Convert]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [ours, theirs, convert] of spec) {
    const v = obj[theirs];
    if (typeof v === 'string') out[ours] = convert(v);
  }
  return out;
}

const dnsName = (s: string): string => (s === '<Root>' ? '.' : s);

/** The values of a tshark group like "Queries" or "Answers" (keyed by description, maybe merged). */
function groupEntries(group: unknown): Json[] {
  if (!isObject(group)) return [];
  const out: Json[] = [];
  for (const v of Object.values(group)) {
    for (const item of Array.isArray(v) ? v : [v]) if (isObject(item)) out.push(item);
  }
  return out;
}

const ANSWER_DATA_FIELDS: Record<string, string> = { A: 'dns.a', AAAA: 'dns.aaaa', CNAME: 'dns.cname', NS: 'dns.ns', PTR: 'dns.ptr.domain_name' };

function mapDns(obj: Json): Record<string, unknown> {
  const out = pick(obj, [
    ['id', 'dns.id', num], ['flagsValue', 'dns.flags', num], ['qr', 'dns.flags.response', bool],
    ['opcode', 'dns.flags.opcode', num], ['rcode', 'dns.flags.rcode', num],
    ['authorityCount', 'dns.count.auth_rr', num], ['additionalCount', 'dns.count.add_rr', num],
  ]);
  out.questions = groupEntries(obj.Queries).map((q) => ({
    name: dnsName(String(q['dns.qry.name'])),
    type: dnsTypes.toString(Number(q['dns.qry.type'])),
    class: dnsClasses.toString(Number(q['dns.qry.class'])),
  }));
  out.answers = groupEntries(obj.Answers).map((a) => {
    const type = dnsTypes.toString(Number(a['dns.resp.type']));
    const answer: Record<string, unknown> = {
      name: dnsName(String(a['dns.resp.name'])),
      type,
      class: dnsClasses.toString(Number(a['dns.resp.class']) & 0x7fff),
      ttl: Number(a['dns.resp.ttl']),
    };
    const dataField = ANSWER_DATA_FIELDS[type];
    if (dataField !== undefined && typeof a[dataField] === 'string') answer.data = dnsName(a[dataField] as string);
    return answer;
  });
  return out;
}

/** The request or status line object inside tshark's http layer, if this segment starts a message. */
function mapHttp(obj: Json): Record<string, unknown> | null {
  for (const v of Object.values(obj)) {
    if (!isObject(v)) continue;
    if (typeof v['http.request.method'] === 'string') {
      const out: Record<string, unknown> = direct(v, [['method', 'http.request.method', str], ['target', 'http.request.uri', str], ['version', 'http.request.version', str]]);
      out.kind = 'request';
      if (typeof obj['http.host'] === 'string') out.host = obj['http.host'];
      return out;
    }
    if (typeof v['http.response.code'] === 'string') {
      const out = direct(v, [['version', 'http.response.version', str], ['status', 'http.response.code', num], ['reason', 'http.response.phrase', str]]);
      out.kind = 'response';
      return out;
    }
  }
  return null;
}

function mapTcp(obj: Json): Record<string, unknown> {
  const out = pick(obj, [
    ['srcPort', 'tcp.srcport', num], ['dstPort', 'tcp.dstport', num], ['seq', 'tcp.seq_raw', num], ['ack', 'tcp.ack_raw', num],
    ['headerLength', 'tcp.hdr_len', num], ['flagsValue', 'tcp.flags', num], ['window', 'tcp.window_size_value', num],
    ['checksum', 'tcp.checksum', num], ['urgentPointer', 'tcp.urgent_pointer', num], ['payloadLength', 'tcp.len', num],
  ]);
  const flagFields: Array<[string, string]> = [
    ['FIN', 'tcp.flags.fin'], ['SYN', 'tcp.flags.syn'], ['RST', 'tcp.flags.reset'], ['PSH', 'tcp.flags.push'],
    ['ACK', 'tcp.flags.ack'], ['URG', 'tcp.flags.urg'], ['ECE', 'tcp.flags.ece'], ['CWR', 'tcp.flags.cwr'], ['AE', 'tcp.flags.ae'],
  ];
  if (field(obj, 'tcp.flags.syn') !== undefined) out.flags = flagFields.filter(([, f]) => field(obj, f) === '1').map(([name]) => name);
  const options: Record<string, unknown> = pick(obj, [
    ['mss', 'tcp.options.mss_val', num], ['windowScale', 'tcp.options.wscale.shift', num],
  ]);
  const tsval = field(obj, 'tcp.options.timestamp.tsval');
  const tsecr = field(obj, 'tcp.options.timestamp.tsecr');
  if (tsval !== undefined && tsecr !== undefined) options.timestamp = { value: Number(tsval), echo: Number(tsecr) };
  if (Object.keys(options).length > 0) out.options = options;
  return out;
}

const SPECS: Partial<Record<string, [LayerName, ReadonlyArray<[string, string, Convert]>]>> = {
  eth: ['ethernet', [['src', 'eth.src', str], ['dst', 'eth.dst', str], ['etherType', 'eth.type', num]]],
  sll: ['sll', [
    ['packetType', 'sll.pkttype', num], ['arphrdType', 'sll.hatype', num], ['addrLen', 'sll.halen', num],
    ['addr', 'sll.src.eth', str], ['protocol', 'sll.etype', num], ['ifIndex', 'sll.ifindex', num],
  ]],
  arp: ['arp', [
    ['hwType', 'arp.hw.type', num], ['protoType', 'arp.proto.type', num], ['hwSize', 'arp.hw.size', num],
    ['protoSize', 'arp.proto.size', num], ['opcode', 'arp.opcode', num], ['senderMac', 'arp.src.hw_mac', str],
    ['senderIp', 'arp.src.proto_ipv4', str], ['targetMac', 'arp.dst.hw_mac', str], ['targetIp', 'arp.dst.proto_ipv4', str],
  ]],
  ip: ['ipv4', [
    ['version', 'ip.version', num], ['headerLength', 'ip.hdr_len', num], ['tos', 'ip.dsfield', num],
    ['dscp', 'ip.dsfield.dscp', num], ['ecn', 'ip.dsfield.ecn', num], ['totalLength', 'ip.len', num], ['id', 'ip.id', num],
    ['flagsValue', 'ip.flags', num], ['df', 'ip.flags.df', bool], ['mf', 'ip.flags.mf', bool],
    ['fragOffset', 'ip.frag_offset', num], ['ttl', 'ip.ttl', num], ['protocol', 'ip.proto', num],
    ['checksum', 'ip.checksum', num], ['src', 'ip.src', str], ['dst', 'ip.dst', str],
  ]],
  icmp: ['icmp', [['type', 'icmp.type', num], ['code', 'icmp.code', num], ['checksum', 'icmp.checksum', num], ['id', 'icmp.ident', num], ['seq', 'icmp.seq', num]]],
  udp: ['udp', [['srcPort', 'udp.srcport', num], ['dstPort', 'udp.dstport', num], ['length', 'udp.length', num], ['checksum', 'udp.checksum', num]]],
  vxlan: ['vxlan', [['vni', 'vxlan.vni', num]]],
};

/** Protocols after which we decode nothing further (so neither does the comparison). */
const TERMINAL: ReadonlySet<string> = new Set(['arp', 'icmp', 'dns', 'http']);

/** Maps one element of tshark's JSON array. */
export function mapTsharkPacket(packet: unknown): TsharkPacket {
  const layersJson = isObject(packet) && isObject(packet._source) && isObject(packet._source.layers) ? packet._source.layers : {};
  const frame = isObject(layersJson.frame) ? layersJson.frame : {};
  const protocols = typeof frame['frame.protocols'] === 'string' ? frame['frame.protocols'] : '';
  const index = Number(frame['frame.number'] ?? 0) - 1;
  const layers: TsharkLayer[] = [];
  const seen = new Map<string, number>();
  let depth = 0;
  for (const token of protocols.split(':')) {
    if (token === '' || PASS_THROUGH.has(token)) continue;
    const nth = seen.get(token) ?? 0;
    seen.set(token, nth + 1);
    const raw = layersJson[token];
    const obj = (Array.isArray(raw) ? raw[nth] : nth === 0 ? raw : undefined);
    if (!isObject(obj)) break;
    if (token === 'vlan') {
      // tshark shows 802.1Q tags as their own protocol; we keep them on the Ethernet layer.
      const eth = layers.at(-1);
      const etype = field(obj, 'vlan.etype');
      if (eth?.layer === 'ethernet' && etype !== undefined) eth.etherType = Number(etype);
      continue;
    }
    let mapped: Record<string, unknown> | null;
    let name: LayerName;
    if (token === 'dns') { name = 'dns'; mapped = mapDns(obj); }
    else if (token === 'http') { name = 'http'; mapped = mapHttp(obj); }
    else if (token === 'tcp') { name = 'tcp'; mapped = mapTcp(obj); }
    else {
      const spec = SPECS[token];
      if (!spec) break; // a protocol we do not decode: stop where our decoder stops
      name = spec[0];
      mapped = pick(obj, spec[1]);
      if (token === 'vxlan') {
        const flags = field(obj, 'vxlan.flags');
        // tshark's vxlan.flags is the first 16 bits; our flags field is the first byte.
        if (flags !== undefined) mapped.flags = Number(flags) >> 8;
      }
    }
    if (mapped) layers.push({ layer: name, depth, ...mapped });
    if (token === 'vxlan') depth++;
    if (TERMINAL.has(token)) break;
  }
  return { index, protocols, layers };
}

export function mapTsharkJson(json: unknown): TsharkPacket[] {
  return Array.isArray(json) ? json.map(mapTsharkPacket) : [];
}
