// IPv4 header (RFC 791). The payload is bounded by Total Length, which strips Ethernet padding;
// a capture shorter than Total Length (snapshot length) is marked truncated, not an error.

import { formatIpv4 } from './addresses.ts';
import { type DecodeResult, type Ipv4Layer, fail, truncated } from './types.ts';

const MIN_HEADER_LENGTH = 20;

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** RFC 1071 one's-complement sum over the header; a correct header sums to 0xffff. */
function headerChecksumOk(buf: Buffer, offset: number, length: number): boolean {
  let sum = 0;
  for (let i = 0; i < length; i += 2) sum += buf.readUInt16BE(offset + i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

export function decodeIpv4(buf: Buffer, offset: number, end: number, depth: number): DecodeResult<Ipv4Layer> {
  if (end - offset < MIN_HEADER_LENGTH) return truncated('ipv4 header', offset, end, MIN_HEADER_LENGTH);
  const version = buf[offset]! >> 4;
  if (version !== 4) return fail(`ip version ${version} is not 4`, offset);
  const ihl = buf[offset]! & 0x0f;
  const headerLength = ihl * 4;
  if (headerLength < MIN_HEADER_LENGTH) return fail(`ipv4 header length ${headerLength} (ihl ${ihl}) is below 20`, offset);
  if (end - offset < headerLength) return truncated('ipv4 options', offset, end, headerLength);
  const totalLength = buf.readUInt16BE(offset + 2);
  if (totalLength < headerLength) {
    return fail(`ipv4 total length ${totalLength} is smaller than the header length ${headerLength}`, offset + 2);
  }
  const tos = buf[offset + 1]!;
  const flagsFrag = buf.readUInt16BE(offset + 6);
  const flagsValue = flagsFrag >> 13;
  const datagramEnd = offset + totalLength;
  const layer: Ipv4Layer = {
    layer: 'ipv4',
    offset,
    size: headerLength,
    depth,
    version,
    ihl,
    headerLength,
    tos,
    dscp: tos >> 2,
    ecn: tos & 0x03,
    totalLength,
    id: buf.readUInt16BE(offset + 4),
    flagsValue,
    df: (flagsValue & 0x2) !== 0,
    mf: (flagsValue & 0x1) !== 0,
    fragOffset: flagsFrag & 0x1fff,
    fragOffsetBytes: (flagsFrag & 0x1fff) * 8,
    ttl: buf[offset + 8]!,
    protocol: buf[offset + 9]!,
    checksum: buf.readUInt16BE(offset + 10),
    checksumOk: headerChecksumOk(buf, offset, headerLength),
    src: formatIpv4(buf, offset + 12),
    dst: formatIpv4(buf, offset + 16),
    truncated: datagramEnd > end,
  };
  return { ok: true, layer, payloadOffset: offset + headerLength, payloadEnd: Math.min(datagramEnd, end) };
}
