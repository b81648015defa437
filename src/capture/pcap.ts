// Reads a classic libpcap file into memory: validate the bytes (pcap-format.ts), then let
// pcap-parser split the records. Captures of a packet walk are small, so whole-file reads are fine.

import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import pcapParser from 'pcap-parser';
import { PcapError } from './pcap-error.ts';
import { GLOBAL_HEADER_LENGTH, scanPcap, type PcapGlobalHeader } from './pcap-format.ts';

export interface PcapPacket {
  /** Zero-based record index in the file. */
  index: number;
  /** Capture time in seconds since the epoch, microsecond precision. */
  ts: number;
  tsSec: number;
  /** Microseconds within the second (nanosecond files are rounded down). */
  tsUsec: number;
  /** Nanoseconds within the second, only for nanosecond-resolution files. */
  tsNsec?: number;
  /** Length of the packet on the wire. */
  origLen: number;
  /** Bytes stored in the file (less than origLen when the snapshot length cut it). */
  capLen: number;
  data: Buffer;
}

export interface PcapFile {
  file: string;
  linkType: number;
  snapLen: number;
  nanosecond: boolean;
  packets: PcapPacket[];
}

/** Reads and validates a pcap file. Rejects with PcapError for any malformed input. */
export async function readPcap(file: string): Promise<PcapFile> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (err) {
    throw new PcapError(`cannot read file: ${(err as Error).message}`, { file, offset: 0 });
  }
  return parsePcap(buf, file);
}

/** Parses pcap bytes already in memory; `file` only labels errors. */
export async function parsePcap(buf: Buffer, file = '<buffer>'): Promise<PcapFile> {
  const { header, recordOffsets } = scanPcap(buf, file);
  const packets = await splitRecords(buf, header, file);
  if (packets.length !== recordOffsets.length) {
    // Cannot happen after a clean scan unless pcap-parser changes behaviour; say so plainly.
    const offset = recordOffsets[packets.length] ?? buf.length;
    throw new PcapError(`pcap-parser returned ${packets.length} records, the file holds ${recordOffsets.length}`, { file, offset, record: packets.length });
  }
  return { file, linkType: header.linkType, snapLen: header.snapLen, nanosecond: header.nanosecond, packets };
}

function splitRecords(buf: Buffer, header: PcapGlobalHeader, file: string): Promise<PcapPacket[]> {
  // pcap-parser only knows the microsecond magic; the nanosecond variant has the same layout,
  // so hand it a header with the microsecond magic of the same byte order.
  let globalHeader = buf.subarray(0, GLOBAL_HEADER_LENGTH);
  if (header.nanosecond) {
    globalHeader = Buffer.from(globalHeader);
    globalHeader.write(header.endianness === 'BE' ? 'a1b2c3d4' : 'd4c3b2a1', 0, 'hex');
  }
  const stream = Readable.from([globalHeader, buf.subarray(GLOBAL_HEADER_LENGTH)], { objectMode: false });
  return new Promise((resolve, reject) => {
    const packets: PcapPacket[] = [];
    let failed = false;
    const parser = pcapParser.parse(stream);
    parser.on('packet', ({ header: h, data }) => {
      const frac = h.timestampMicroseconds;
      const tsUsec = header.nanosecond ? Math.floor(frac / 1000) : frac;
      const packet: PcapPacket = {
        index: packets.length,
        ts: h.timestampSeconds + tsUsec / 1e6,
        tsSec: h.timestampSeconds,
        tsUsec,
        origLen: h.originalLength,
        capLen: h.capturedLength,
        data,
      };
      if (header.nanosecond) packet.tsNsec = frac;
      packets.push(packet);
    });
    parser.on('error', (err) => {
      failed = true;
      reject(new PcapError(`pcap-parser: ${err.message}`, { file, offset: 0 }));
    });
    parser.on('end', () => {
      if (!failed) resolve(packets);
    });
  });
}
