// TCP header (RFC 9293) with the common options (MSS, window scale, SACK, timestamps).

import { type DecodeResult, type TcpFlagName, type TcpLayer, type TcpOptions, fail, truncated } from './types.ts';

const MIN_HEADER_LENGTH = 20;

/** Flag bits of the 12-bit field after the data offset, lowest first (AE is RFC 9768's, ex-NS). */
export const TCP_FLAG_BITS: ReadonlyArray<[TcpFlagName, number]> = [
  ['FIN', 0x001], ['SYN', 0x002], ['RST', 0x004], ['PSH', 0x008],
  ['ACK', 0x010], ['URG', 0x020], ['ECE', 0x040], ['CWR', 0x080], ['AE', 0x100],
];

export function tcpFlagNames(value: number): TcpFlagName[] {
  return TCP_FLAG_BITS.filter(([, bit]) => (value & bit) !== 0).map(([name]) => name);
}

/** Parses the options area; returns an error text instead of throwing on a bad length. */
function parseOptions(buf: Buffer, start: number, end: number): { options: TcpOptions; error?: string } {
  const options: TcpOptions = {};
  let at = start;
  while (at < end) {
    const kind = buf[at]!;
    if (kind === 0) break; // end of option list
    if (kind === 1) { at += 1; continue; } // no-operation padding
    if (at + 1 >= end) return { options, error: `option kind ${kind} at byte ${at} has no length` };
    const len = buf[at + 1]!;
    if (len < 2 || at + len > end) return { options, error: `option kind ${kind} at byte ${at} has bad length ${len}` };
    if (kind === 2 && len === 4) options.mss = buf.readUInt16BE(at + 2);
    else if (kind === 3 && len === 3) options.windowScale = buf[at + 2]!;
    else if (kind === 4 && len === 2) options.sackPermitted = true;
    else if (kind === 5 && (len - 2) % 8 === 0) {
      options.sack = [];
      for (let b = at + 2; b < at + len; b += 8) options.sack.push([buf.readUInt32BE(b), buf.readUInt32BE(b + 4)]);
    } else if (kind === 8 && len === 10) {
      options.timestamp = { value: buf.readUInt32BE(at + 2), echo: buf.readUInt32BE(at + 6) };
    }
    at += len;
  }
  return { options };
}

/** `segmentLength` is the TCP length from the IP header, which a short capture may not hold. */
export function decodeTcp(buf: Buffer, offset: number, end: number, depth: number, segmentLength = end - offset): DecodeResult<TcpLayer> {
  if (end - offset < MIN_HEADER_LENGTH) return truncated('tcp header', offset, end, MIN_HEADER_LENGTH);
  const dataOffsetByte = buf[offset + 12]!;
  const headerLength = (dataOffsetByte >> 4) * 4;
  if (headerLength < MIN_HEADER_LENGTH) {
    return fail(`tcp header length ${headerLength} (data offset ${dataOffsetByte >> 4}) is below 20`, offset + 12);
  }
  if (end - offset < headerLength) return truncated('tcp options', offset, end, headerLength);
  if (segmentLength < headerLength) {
    return fail(`tcp header length ${headerLength} exceeds the ${segmentLength}-byte segment`, offset + 12);
  }
  const flagsValue = ((dataOffsetByte & 0x0f) << 8) | buf[offset + 13]!;
  const { options, error } = parseOptions(buf, offset + MIN_HEADER_LENGTH, offset + headerLength);
  const layer: TcpLayer = {
    layer: 'tcp',
    offset,
    size: headerLength,
    depth,
    srcPort: buf.readUInt16BE(offset),
    dstPort: buf.readUInt16BE(offset + 2),
    seq: buf.readUInt32BE(offset + 4),
    ack: buf.readUInt32BE(offset + 8),
    headerLength,
    flags: tcpFlagNames(flagsValue),
    flagsValue,
    window: buf.readUInt16BE(offset + 14),
    checksum: buf.readUInt16BE(offset + 16),
    urgentPointer: buf.readUInt16BE(offset + 18),
    options,
    payloadLength: segmentLength - headerLength,
  };
  if (error !== undefined) layer.optionsError = error;
  return { ok: true, layer, payloadOffset: offset + headerLength, payloadEnd: end };
}
