// UDP header (RFC 768). The payload is bounded by the UDP length field.

import { type DecodeResult, type UdpLayer, fail, truncated } from './types.ts';

const HEADER_LENGTH = 8;

export function decodeUdp(buf: Buffer, offset: number, end: number, depth: number, datagramLength = end - offset): DecodeResult<UdpLayer> {
  if (end - offset < HEADER_LENGTH) return truncated('udp header', offset, end, HEADER_LENGTH);
  const length = buf.readUInt16BE(offset + 4);
  if (length < HEADER_LENGTH) return fail(`udp length ${length} is below the 8-byte header`, offset + 4);
  if (length > datagramLength) {
    return fail(`udp length ${length} exceeds the ${datagramLength} bytes the ip header announces`, offset + 4);
  }
  const layer: UdpLayer = {
    layer: 'udp',
    offset,
    size: HEADER_LENGTH,
    depth,
    srcPort: buf.readUInt16BE(offset),
    dstPort: buf.readUInt16BE(offset + 2),
    length,
    checksum: buf.readUInt16BE(offset + 6),
    payloadLength: length - HEADER_LENGTH,
  };
  return { ok: true, layer, payloadOffset: offset + HEADER_LENGTH, payloadEnd: Math.min(offset + length, end) };
}
