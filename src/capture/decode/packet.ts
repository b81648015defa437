// Turns pcap records into decoded packets with their one-line summaries.

import type { PcapFile, PcapPacket } from '../pcap.ts';
import { summarize } from '../summary.ts';
import { decodeFrame } from './frame.ts';
import type { DecodedPacket } from './types.ts';

export function decodePacket(packet: PcapPacket, linkType: number): DecodedPacket {
  const frame = decodeFrame(packet.data, linkType);
  const decoded: DecodedPacket = {
    index: packet.index,
    ts: packet.ts,
    origLen: packet.origLen,
    capLen: packet.capLen,
    snapTruncated: packet.capLen < packet.origLen,
    layers: frame.layers,
    summary: summarize(frame),
  };
  if (frame.error) decoded.error = frame.error;
  return decoded;
}

export function decodePcap(pcap: PcapFile): DecodedPacket[] {
  return pcap.packets.map((p) => decodePacket(p, pcap.linkType));
}
