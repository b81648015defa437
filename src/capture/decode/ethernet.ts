// Ethernet II (IEEE 802.3 framing with an EtherType), with 802.1Q / 802.1ad VLAN tags.

import { formatMac } from './addresses.ts';
import { type DecodeResult, type EthernetLayer, type VlanTag, fail, truncated } from './types.ts';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_QINQ = 0x88a8;
export const ETHERTYPE_IPV6 = 0x86dd;

const HEADER_LENGTH = 14;
const TAG_LENGTH = 4;
/** More stacked tags than any real network uses: the frame is garbage. */
const MAX_VLAN_TAGS = 4;

export function decodeEthernet(buf: Buffer, offset: number, end: number, depth: number): DecodeResult<EthernetLayer> {
  if (end - offset < HEADER_LENGTH) return truncated('ethernet header', offset, end, HEADER_LENGTH);
  const vlans: VlanTag[] = [];
  let typeAt = offset + 12;
  let etherType = buf.readUInt16BE(typeAt);
  while (etherType === ETHERTYPE_VLAN || etherType === ETHERTYPE_QINQ) {
    if (vlans.length === MAX_VLAN_TAGS) return fail(`more than ${MAX_VLAN_TAGS} VLAN tags`, typeAt);
    if (end - typeAt < 2 + TAG_LENGTH) return truncated('802.1Q tag', typeAt, end, 2 + TAG_LENGTH);
    const tci = buf.readUInt16BE(typeAt + 2);
    vlans.push({ tpid: etherType, pcp: tci >> 13, dei: (tci & 0x1000) !== 0, vid: tci & 0x0fff });
    typeAt += TAG_LENGTH;
    etherType = buf.readUInt16BE(typeAt);
  }
  // Values up to 1500 are an 802.3 length field (LLC follows), which we do not decode further.
  const payloadOffset = typeAt + 2;
  const layer: EthernetLayer = {
    layer: 'ethernet',
    offset,
    size: payloadOffset - offset,
    depth,
    dst: formatMac(buf, offset),
    src: formatMac(buf, offset + 6),
    etherType,
    vlans,
  };
  return { ok: true, layer, payloadOffset, payloadEnd: end };
}
