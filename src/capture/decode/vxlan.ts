// VXLAN header (RFC 7348): 8 bits of flags, 24 reserved, a 24-bit VNI, 8 reserved, then an
// inner Ethernet frame. flannel uses UDP port 8472, the IANA port is 4789.

import { type DecodeResult, type VxlanLayer, truncated } from './types.ts';

const HEADER_LENGTH = 8;
export const VXLAN_PORTS: ReadonlySet<number> = new Set([8472, 4789]);
const FLAG_VNI_VALID = 0x08;

export function decodeVxlan(buf: Buffer, offset: number, end: number, depth: number): DecodeResult<VxlanLayer> {
  if (end - offset < HEADER_LENGTH) return truncated('vxlan header', offset, end, HEADER_LENGTH);
  const flags = buf[offset]!;
  const layer: VxlanLayer = {
    layer: 'vxlan',
    offset,
    size: HEADER_LENGTH,
    depth,
    flags,
    vniValid: (flags & FLAG_VNI_VALID) !== 0,
    vni: buf.readUIntBE(offset + 4, 3),
  };
  return { ok: true, layer, payloadOffset: offset + HEADER_LENGTH, payloadEnd: end };
}
