// Decoder throughput: ours versus `tshark -T json` on the same capture, in the same run.
//
//   node --import tsx bench/decode.ts [--packets N] [--runs R]
//
// The capture is synthesized from a real tcpdump capture of kubelab-style traffic
// (test/fixtures/pcap/vxlan-eth0.pcap: VXLAN-encapsulated ARP, ICMP, TCP/HTTP, DNS and IPv6
// neighbour discovery), its records repeated with advancing timestamps up to N packets.
// Everything is bounded: at most 50,000 packets, tshark is killed after 120 s.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { compareLayers } from '../src/capture/compare.ts';
import { decodePcap, parsePcap, readPcap } from '../src/capture/index.ts';
import { mapTsharkJson } from '../src/capture/tshark-map.ts';
import { runTsharkJson, tsharkArgs } from '../src/capture/tshark.ts';

const MAX_PACKETS = 50_000;
const TSHARK_TIMEOUT_MS = 120_000;

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

/** Repeats the fixture's records (little-endian microsecond pcap) until `count` packets. */
async function synthesize(count: number): Promise<Buffer> {
  const seed = await readFile(new URL('../test/fixtures/pcap/vxlan-eth0.pcap', import.meta.url));
  const { packets } = await parsePcap(seed, 'vxlan-eth0.pcap');
  const header = Buffer.from(seed.subarray(0, 24));
  const parts: Buffer[] = [header];
  let usec = 0;
  for (let i = 0; i < count; i++) {
    const p = packets[i % packets.length]!;
    usec += 137;
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1_700_000_000 + Math.floor(usec / 1e6), 0);
    rec.writeUInt32LE(usec % 1e6, 4);
    rec.writeUInt32LE(p.capLen, 8);
    rec.writeUInt32LE(p.origLen, 12);
    parts.push(rec, p.data);
  }
  return Buffer.concat(parts);
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function rate(bytes: number, packets: number, seconds: number): string {
  return `${(bytes / 1e6 / seconds).toFixed(2)} MB/s, ${Math.round(packets / seconds).toLocaleString('en-US')} packets/s (${(seconds * 1000).toFixed(1)} ms)`;
}

async function main(): Promise<void> {
  const count = Math.min(option('--packets', 5000), MAX_PACKETS);
  const runs = Math.min(option('--runs', 5), 20);
  const dir = await mkdtemp(join(tmpdir(), 'kl-bench-decode-'));
  try {
    const file = join(dir, 'mixed.pcap');
    const bytes = await synthesize(count);
    await writeFile(file, bytes);
    console.log(`capture: ${count} packets, ${(bytes.length / 1e6).toFixed(2)} MB (${file})`);

    // Ours: read + validate + decode + summary line, the whole path the walk report uses.
    const ourTimes: number[] = [];
    let decoded = decodePcap(await readPcap(file)); // warm-up (JIT), not timed
    for (let r = 0; r < runs; r++) {
      const start = performance.now();
      decoded = decodePcap(await readPcap(file));
      ourTimes.push((performance.now() - start) / 1000);
    }
    const ours = median(ourTimes);

    // tshark: the plain `tshark -r FILE -T json` run, then the full cross-check path
    // (our comparison flags, JSON.parse, mapping to our field names).
    let start = performance.now();
    await runTsharkJson(file, ['-r', file, '-T', 'json', '-d', 'udp.port==8472,vxlan'], { timeoutMs: TSHARK_TIMEOUT_MS });
    const tshark = (performance.now() - start) / 1000;
    start = performance.now();
    const mapped = mapTsharkJson(JSON.parse(await runTsharkJson(file, tsharkArgs(file), { timeoutMs: TSHARK_TIMEOUT_MS })));
    const tsharkMapped = (performance.now() - start) / 1000;

    const disagreeing = decoded.filter((p, i) => compareLayers(p.layers, mapped[i]?.layers ?? []).length > 0).length;
    console.log(`ours (median of ${runs}):          ${rate(bytes.length, count, ours)}`);
    console.log(`tshark -T json:                 ${rate(bytes.length, count, tshark)}`);
    console.log(`tshark + JSON.parse + mapping:  ${rate(bytes.length, count, tsharkMapped)}`);
    console.log(`ratio ours/tshark: ${(tshark / ours).toFixed(1)}x faster (${(tsharkMapped / ours).toFixed(1)}x against the mapped path)`);
    console.log(`agreement: ${count - disagreeing}/${count} packets field-by-field equal`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
