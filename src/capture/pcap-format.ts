// Byte-level validation of the classic libpcap file format (what `tcpdump -w` writes):
// a 24-byte global header, then records of a 16-byte header (ts_sec, ts_usec, incl_len,
// orig_len) followed by incl_len bytes. pcap-parser trusts every length it reads and simply
// stops on a short file, so we walk the records ourselves first and turn every bad field into
// a PcapError that names the file, offset and record.

import { PcapError } from './pcap-error.ts';

export const GLOBAL_HEADER_LENGTH = 24;
export const RECORD_HEADER_LENGTH = 16;
/** Largest record we accept; tcpdump's default snapshot length is the same 256 KiB. */
export const MAX_RECORD_LENGTH = 256 * 1024;

/** Link types we can decode: Ethernet, Linux cooked v1 (SLL) and v2 (SLL2, tcpdump -i any). */
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_LINUX_SLL2 = 276;
export const SUPPORTED_LINK_TYPES: ReadonlyMap<number, string> = new Map([
  [LINKTYPE_ETHERNET, 'Ethernet'],
  [LINKTYPE_LINUX_SLL, 'Linux cooked (SLL)'],
  [LINKTYPE_LINUX_SLL2, 'Linux cooked v2 (SLL2)'],
]);

export type Endianness = 'BE' | 'LE';

export interface PcapGlobalHeader {
  endianness: Endianness;
  /** True for the nanosecond-resolution variant (magic a1b23c4d). */
  nanosecond: boolean;
  versionMajor: number;
  versionMinor: number;
  snapLen: number;
  linkType: number;
}

export interface PcapScan {
  header: PcapGlobalHeader;
  /** Byte offset of each record header, in file order. */
  recordOffsets: number[];
}

// Magic numbers as the four bytes appear on disk.
const MAGICS: ReadonlyMap<string, { endianness: Endianness; nanosecond: boolean }> = new Map([
  ['a1b2c3d4', { endianness: 'BE', nanosecond: false }],
  ['d4c3b2a1', { endianness: 'LE', nanosecond: false }],
  ['a1b23c4d', { endianness: 'BE', nanosecond: true }],
  ['4d3cb2a1', { endianness: 'LE', nanosecond: true }],
]);
const PCAPNG_MAGIC = '0a0d0d0a';

function u32(buf: Buffer, offset: number, endianness: Endianness): number {
  return endianness === 'BE' ? buf.readUInt32BE(offset) : buf.readUInt32LE(offset);
}

function u16(buf: Buffer, offset: number, endianness: Endianness): number {
  return endianness === 'BE' ? buf.readUInt16BE(offset) : buf.readUInt16LE(offset);
}

export function readGlobalHeader(buf: Buffer, file: string): PcapGlobalHeader {
  if (buf.length === 0) {
    throw new PcapError('empty file: no pcap global header', { file, offset: 0 });
  }
  if (buf.length < 4) {
    throw new PcapError(`truncated global header: need ${GLOBAL_HEADER_LENGTH} bytes, file has ${buf.length}`, { file, offset: 0 });
  }
  const magicHex = buf.toString('hex', 0, 4);
  const magic = MAGICS.get(magicHex);
  if (!magic) {
    const hint = magicHex === PCAPNG_MAGIC
      ? ' (this is a pcapng file; capture with `tcpdump -w` or convert with `editcap -F pcap`)'
      : '';
    throw new PcapError(`bad magic number 0x${magicHex}: not a classic pcap file${hint}`, { file, offset: 0 });
  }
  if (buf.length < GLOBAL_HEADER_LENGTH) {
    throw new PcapError(`truncated global header: need ${GLOBAL_HEADER_LENGTH} bytes, file has ${buf.length}`, { file, offset: 0 });
  }
  const { endianness, nanosecond } = magic;
  const versionMajor = u16(buf, 4, endianness);
  const versionMinor = u16(buf, 6, endianness);
  if (versionMajor !== 2 || versionMinor !== 4) {
    throw new PcapError(`unsupported pcap version ${versionMajor}.${versionMinor}: only 2.4 is read`, { file, offset: 4 });
  }
  const snapLen = u32(buf, 16, endianness);
  // The low 16 bits are the link type; the upper bits may carry FCS information.
  const linkType = u32(buf, 20, endianness) & 0xffff;
  if (!SUPPORTED_LINK_TYPES.has(linkType)) {
    const known = [...SUPPORTED_LINK_TYPES].map(([n, name]) => `${n} (${name})`).join(', ');
    throw new PcapError(`unsupported link type ${linkType}: supported are ${known}`, { file, offset: 20 });
  }
  return { endianness, nanosecond, versionMajor, versionMinor, snapLen, linkType };
}

/** Validates the whole file and returns where each record starts. Throws PcapError. */
export function scanPcap(buf: Buffer, file: string): PcapScan {
  const header = readGlobalHeader(buf, file);
  const { endianness, snapLen } = header;
  const recordOffsets: number[] = [];
  let offset = GLOBAL_HEADER_LENGTH;
  for (let record = 0; offset < buf.length; record++) {
    const at = { file, offset, record };
    const remaining = buf.length - offset;
    if (remaining < RECORD_HEADER_LENGTH) {
      throw new PcapError(`truncated record header: need ${RECORD_HEADER_LENGTH} bytes, ${remaining} remain`, at);
    }
    const capLen = u32(buf, offset + 8, endianness);
    const origLen = u32(buf, offset + 12, endianness);
    if (capLen > MAX_RECORD_LENGTH) {
      throw new PcapError(`incl_len ${capLen} exceeds the ${MAX_RECORD_LENGTH}-byte limit`, { ...at, offset: offset + 8 });
    }
    // A snapshot length of 0 means "unknown" in some writers; only the absolute limit applies then.
    if (snapLen > 0 && capLen > snapLen) {
      throw new PcapError(`incl_len ${capLen} exceeds the file's snapshot length ${snapLen}`, { ...at, offset: offset + 8 });
    }
    if (origLen > MAX_RECORD_LENGTH) {
      throw new PcapError(`orig_len ${origLen} exceeds the ${MAX_RECORD_LENGTH}-byte limit`, { ...at, offset: offset + 12 });
    }
    if (origLen < capLen) {
      throw new PcapError(`orig_len ${origLen} is smaller than incl_len ${capLen}`, { ...at, offset: offset + 12 });
    }
    const bodyRemaining = remaining - RECORD_HEADER_LENGTH;
    if (bodyRemaining < capLen) {
      throw new PcapError(`truncated record body: incl_len ${capLen} but ${bodyRemaining} bytes remain`, { ...at, offset: offset + RECORD_HEADER_LENGTH });
    }
    recordOffsets.push(offset);
    offset += RECORD_HEADER_LENGTH + capLen;
  }
  return { header, recordOffsets };
}
