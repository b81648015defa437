// DNS messages (RFC 1035) over UDP. The header is read here; questions and answers come from
// dns-packet, whose exceptions on malformed input become a decode error on this layer.

import dnsPacket from 'dns-packet';
import { type DecodeResult, type DnsAnswer, type DnsFlagName, type DnsLayer, type DnsQuestion, fail, truncated } from './types.ts';

export const DNS_PORT = 53;
const HEADER_LENGTH = 12;

const FLAG_BITS: ReadonlyArray<[DnsFlagName, number]> = [
  ['aa', 0x0400], ['tc', 0x0200], ['rd', 0x0100], ['ra', 0x0080], ['z', 0x0040], ['ad', 0x0020], ['cd', 0x0010],
];
const OPCODE_NAMES = ['QUERY', 'IQUERY', 'STATUS', 'OPCODE_3', 'NOTIFY', 'UPDATE'];
const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

/** Record data as one line of text; dns-packet hands back strings, Buffers or small objects. */
function renderData(data: unknown): string {
  if (typeof data === 'string') return data;
  if (Buffer.isBuffer(data)) return data.toString('hex');
  if (Array.isArray(data)) return data.map((part) => (Buffer.isBuffer(part) ? JSON.stringify(part.toString('latin1')) : renderData(part))).join(' ');
  if (data !== null && typeof data === 'object') return Object.values(data).map(renderData).join(' ');
  return String(data ?? '');
}

export function decodeDns(buf: Buffer, offset: number, end: number, depth: number): DecodeResult<DnsLayer> {
  if (end - offset < HEADER_LENGTH) return truncated('dns header', offset, end, HEADER_LENGTH);
  const flagsValue = buf.readUInt16BE(offset + 2);
  let decoded: ReturnType<typeof dnsPacket.decode>;
  try {
    decoded = dnsPacket.decode(buf.subarray(offset, end));
  } catch (err) {
    return fail(`malformed dns message: ${(err as Error).message}`, offset);
  }
  const questions: DnsQuestion[] = (decoded.questions ?? []).map((q) => ({ name: q.name, type: String(q.type), class: String(q.class) }));
  const answers: DnsAnswer[] = (decoded.answers ?? []).map((a) => {
    const rr = a as { name: string; type: string; class?: string; ttl?: number; data?: unknown };
    return { name: rr.name, type: rr.type, class: rr.class ?? 'IN', ttl: rr.ttl ?? 0, data: renderData(rr.data) };
  });
  const opcode = (flagsValue >> 11) & 0x0f;
  const rcode = flagsValue & 0x0f;
  const layer: DnsLayer = {
    layer: 'dns',
    offset,
    size: end - offset,
    depth,
    id: buf.readUInt16BE(offset),
    qr: (flagsValue & 0x8000) !== 0,
    opcode,
    opcodeName: OPCODE_NAMES[opcode] ?? `OPCODE_${opcode}`,
    rcode,
    rcodeName: RCODE_NAMES[rcode] ?? `RCODE_${rcode}`,
    flags: FLAG_BITS.filter(([, bit]) => (flagsValue & bit) !== 0).map(([name]) => name),
    flagsValue,
    questions,
    answers,
    authorityCount: buf.readUInt16BE(offset + 8),
    additionalCount: buf.readUInt16BE(offset + 10),
  };
  return { ok: true, layer, payloadOffset: end, payloadEnd: end };
}
