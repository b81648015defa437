// src/capture owns reading packet captures and decoding them for the packet walk:
// classic pcap files (pcap.ts, validated by pcap-format.ts), one pure decoder per protocol
// (decode/), the one-line summary (summary.ts), and the tshark cross-check (tshark-map.ts is
// pure, tshark.ts runs the command).
// It must not start captures, touch namespaces or know about clusters: callers hand it files.
// Everything here except tshark.ts is pure and never runs a command; decoders never throw.

export { PcapError } from './pcap-error.ts';
export { readPcap, parsePcap, type PcapFile, type PcapPacket } from './pcap.ts';
export { scanPcap, SUPPORTED_LINK_TYPES, LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, MAX_RECORD_LENGTH } from './pcap-format.ts';
export { decodeFrame } from './decode/frame.ts';
export { decodePacket, decodePcap } from './decode/packet.ts';
export { summarize } from './summary.ts';
export { findLayer, findLayers } from './decode/find.ts';
export type * from './decode/types.ts';
export { compareLayers } from './compare.ts';
export { mapTsharkJson, mapTsharkPacket, type TsharkLayer, type TsharkPacket } from './tshark-map.ts';
// tshark.ts (runs tshark) is deliberately not re-exported: import it directly where a command may run.
