// ARP (RFC 826) for IPv4 over Ethernet; other hardware/protocol sizes are reported as errors
// because the address fields cannot be rendered meaningfully.

import { formatIpv4, formatMac } from './addresses.ts';
import { type ArpLayer, type DecodeResult, fail, truncated } from './types.ts';

const FIXED_LENGTH = 8;
const OPCODE_NAMES: Record<number, string> = { 1: 'request', 2: 'reply', 3: 'rarp-request', 4: 'rarp-reply' };

export function decodeArp(buf: Buffer, offset: number, end: number, depth: number): DecodeResult<ArpLayer> {
  if (end - offset < FIXED_LENGTH) return truncated('arp header', offset, end, FIXED_LENGTH);
  const hwType = buf.readUInt16BE(offset);
  const protoType = buf.readUInt16BE(offset + 2);
  const hwSize = buf[offset + 4]!;
  const protoSize = buf[offset + 5]!;
  const opcode = buf.readUInt16BE(offset + 6);
  if (hwSize !== 6 || protoSize !== 4) {
    return fail(`arp with hardware size ${hwSize} and protocol size ${protoSize} is not Ethernet/IPv4`, offset + 4);
  }
  const length = FIXED_LENGTH + 2 * (hwSize + protoSize);
  if (end - offset < length) return truncated('arp addresses', offset, end, length);
  const layer: ArpLayer = {
    layer: 'arp',
    offset,
    size: length,
    depth,
    hwType,
    protoType,
    hwSize,
    protoSize,
    opcode,
    opcodeName: OPCODE_NAMES[opcode] ?? `opcode ${opcode}`,
    senderMac: formatMac(buf, offset + 8),
    senderIp: formatIpv4(buf, offset + 14),
    targetMac: formatMac(buf, offset + 18),
    targetIp: formatIpv4(buf, offset + 24),
  };
  return { ok: true, layer, payloadOffset: offset + length, payloadEnd: offset + length };
}
