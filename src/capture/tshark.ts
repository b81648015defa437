// Runs tshark on a capture and maps its JSON onto our field names (tshark-map.ts). This is the
// only module in src/capture that runs a command; decoders must never import it.

import { execa } from 'execa';
import { mapTsharkJson, type TsharkPacket } from './tshark-map.ts';

export interface TsharkOptions {
  /** Path of the tshark binary. */
  tshark?: string;
  /** Kill tshark after this long. */
  timeoutMs?: number;
}

/** The arguments that make tshark decode what ours decodes, with absolute TCP numbers per segment. */
export function tsharkArgs(file: string): string[] {
  return [
    '-r', file, '-T', 'json', '--no-duplicate-keys',
    '-d', 'udp.port==8472,vxlan',
    // Each fragment on its own, as our decoder sees it (the first one still carries its L4 header).
    '-o', 'ip.defragment:FALSE',
    '-o', 'tcp.relative_sequence_numbers:FALSE',
    // One HTTP message start per segment, as our decoder sees it, instead of reassembled streams.
    '-o', 'tcp.desegment_tcp_streams:FALSE',
    // A segment seen twice (on the pod veth and inside the tunnel) is not a retransmission to us.
    '-o', 'tcp.analyze_sequence_numbers:FALSE',
  ];
}

/** tshark's raw JSON text for a capture. */
export async function runTsharkJson(file: string, args: string[] = tsharkArgs(file), options: TsharkOptions = {}): Promise<string> {
  const result = await execa(options.tshark ?? 'tshark', args, {
    timeout: options.timeoutMs ?? 120_000,
    maxBuffer: 1024 * 1024 * 1024,
    stripFinalNewline: false,
  });
  return result.stdout;
}

/** Decodes a capture with tshark and returns its packets in our layer vocabulary. */
export async function tsharkPackets(file: string, options: TsharkOptions = {}): Promise<TsharkPacket[]> {
  const json: unknown = JSON.parse(await runTsharkJson(file, tsharkArgs(file), options));
  return mapTsharkJson(json);
}
