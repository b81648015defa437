// Linux "cooked" capture headers, written by tcpdump on the `any` pseudo-interface:
// SLL (link type 113, 16 bytes) and SLL2 (link type 276, 20 bytes; tcpdump 4.99's default for `any`).

import { formatMac } from './addresses.ts';
import { type DecodeResult, type SllLayer, truncated } from './types.ts';

const SLL_LENGTH = 16;
const SLL2_LENGTH = 20;
const ADDR_FIELD_LENGTH = 8;

const PACKET_TYPE_NAMES = ['In', 'B', 'M', 'P', 'Out'];

export function packetTypeName(packetType: number): string {
  return PACKET_TYPE_NAMES[packetType] ?? `type ${packetType}`;
}

/** SLL v1: packet type, ARPHRD type, address length, 8-byte address, protocol. */
export function decodeSll(buf: Buffer, offset: number, end: number, depth: number): DecodeResult<SllLayer> {
  if (end - offset < SLL_LENGTH) return truncated('sll header', offset, end, SLL_LENGTH);
  const packetType = buf.readUInt16BE(offset);
  const addrLen = buf.readUInt16BE(offset + 4);
  const layer: SllLayer = {
    layer: 'sll',
    offset,
    size: SLL_LENGTH,
    depth,
    version: 1,
    packetType,
    packetTypeName: packetTypeName(packetType),
    arphrdType: buf.readUInt16BE(offset + 2),
    addrLen,
    addr: formatMac(buf, offset + 6, Math.min(addrLen, ADDR_FIELD_LENGTH)),
    protocol: buf.readUInt16BE(offset + 14),
  };
  return { ok: true, layer, payloadOffset: offset + SLL_LENGTH, payloadEnd: end };
}

/** SLL2: protocol, reserved, interface index, ARPHRD type, packet type, address length, address. */
export function decodeSll2(buf: Buffer, offset: number, end: number, depth: number): DecodeResult<SllLayer> {
  if (end - offset < SLL2_LENGTH) return truncated('sll2 header', offset, end, SLL2_LENGTH);
  const packetType = buf[offset + 10]!;
  const addrLen = buf[offset + 11]!;
  const layer: SllLayer = {
    layer: 'sll',
    offset,
    size: SLL2_LENGTH,
    depth,
    version: 2,
    packetType,
    packetTypeName: packetTypeName(packetType),
    arphrdType: buf.readUInt16BE(offset + 8),
    addrLen,
    addr: formatMac(buf, offset + 12, Math.min(addrLen, ADDR_FIELD_LENGTH)),
    protocol: buf.readUInt16BE(offset),
    ifIndex: buf.readUInt32BE(offset + 4),
  };
  return { ok: true, layer, payloadOffset: offset + SLL2_LENGTH, payloadEnd: end };
}
