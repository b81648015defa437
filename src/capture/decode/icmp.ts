// ICMP for IPv4 (RFC 792): type, code, checksum, and identifier/sequence for echo messages.

import { type DecodeResult, type IcmpLayer, truncated } from './types.ts';

const HEADER_LENGTH = 8;
export const ICMP_ECHO_REPLY = 0;
export const ICMP_ECHO_REQUEST = 8;

const TYPE_NAMES: Record<number, string> = {
  0: 'echo reply',
  3: 'destination unreachable',
  4: 'source quench',
  5: 'redirect',
  8: 'echo request',
  9: 'router advertisement',
  10: 'router solicitation',
  11: 'time exceeded',
  12: 'parameter problem',
  13: 'timestamp request',
  14: 'timestamp reply',
};

export function icmpTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `type ${type}`;
}

/** `messageLength` is the ICMP length from the IP header, which a short capture may not hold. */
export function decodeIcmp(buf: Buffer, offset: number, end: number, depth: number, messageLength = end - offset): DecodeResult<IcmpLayer> {
  if (end - offset < HEADER_LENGTH) return truncated('icmp header', offset, end, HEADER_LENGTH);
  const type = buf[offset]!;
  const layer: IcmpLayer = {
    layer: 'icmp',
    offset,
    size: HEADER_LENGTH,
    depth,
    type,
    code: buf[offset + 1]!,
    typeName: icmpTypeName(type),
    checksum: buf.readUInt16BE(offset + 2),
    payloadLength: Math.max(0, messageLength - HEADER_LENGTH),
  };
  if (type === ICMP_ECHO_REQUEST || type === ICMP_ECHO_REPLY) {
    layer.id = buf.readUInt16BE(offset + 4);
    layer.seq = buf.readUInt16BE(offset + 6);
  }
  return { ok: true, layer, payloadOffset: offset + HEADER_LENGTH, payloadEnd: end };
}
