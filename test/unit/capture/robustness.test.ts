// Decoding never throws: every prefix, every single-byte corruption and random garbage yields
// layers and/or a layer error, never an exception.

import test from 'ava';
import { decodeFrame, decodePacket, summarize, type LayerName } from '../../../src/capture/index.ts';
import { TCP, arp, dnsMessage, ethernet, ip, ipv4, sll, sll2, tcp, udp, vxlan } from './helpers/build.ts';

const LAYER_NAMES: LayerName[] = ['sll', 'ethernet', 'arp', 'ipv4', 'icmp', 'tcp', 'udp', 'vxlan', 'dns', 'http'];

const innerTcp = ethernet({ dst: '0a:58:0a:f4:02:03', src: '0a:58:0a:f4:01:02', type: 0x0800 },
  ipv4({ protocol: 6, src: '10.244.1.2', dst: '10.244.2.3' },
    tcp({ sport: 1234, dport: 80, seq: 1, ack: 1, flags: TCP.PSH | TCP.ACK, options: Buffer.from([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]) },
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))));
const dnsResponse = dnsMessage({ id: 3, flags: 0x8180, questions: [{ name: 'a.b', type: 1 }], answers: [{ name: Buffer.from([0xc0, 12]), type: 1, ttl: 9, rdata: ip('1.2.3.4') }] });

const samples: Array<[string, number, Buffer]> = [
  ['vxlan+tcp+http', 1, ethernet({ dst: '52:54:00:00:00:0c', src: '52:54:00:00:00:0b', type: 0x0800 },
    ipv4({ protocol: 17, src: '192.168.56.11', dst: '192.168.56.12' }, udp({ sport: 5000, dport: 8472 }, vxlan({ vni: 1 }, innerTcp))))],
  ['dns response', 1, ethernet({ dst: '02:00:00:00:00:01', src: '02:00:00:00:00:02', type: 0x0800 },
    ipv4({ protocol: 17, src: '10.96.0.10', dst: '10.244.1.2' }, udp({ sport: 53, dport: 4000 }, dnsResponse)))],
  ['arp over vlan', 1, ethernet({ dst: 'ff:ff:ff:ff:ff:ff', src: '02:00:00:00:00:02', type: 0x0806, vlans: [{ pcp: 0, dei: false, vid: 3 }] },
    arp({ op: 1, sha: '02:00:00:00:00:02', spa: '1.1.1.1', tha: '00:00:00:00:00:00', tpa: '1.1.1.2' }))],
  ['sll tcp', 113, sll({ packetType: 0, hatype: 1, addr: '02:00:00:00:00:01', protocol: 0x0800 }, innerTcp.subarray(14))],
  ['sll2 tcp', 276, sll2({ packetType: 4, hatype: 1, addr: '02:00:00:00:00:01', protocol: 0x0800, ifIndex: 3 }, innerTcp.subarray(14))],
];

function checkNoThrow(t: { true: (v: boolean, m?: string) => void }, buf: Buffer, linkType: number, what: string): void {
  let frame;
  try {
    frame = decodeFrame(buf, linkType);
    summarize(frame);
  } catch (err) {
    t.true(false, `${what}: threw ${(err as Error).stack}`);
    return;
  }
  if (frame.error) {
    t.true(LAYER_NAMES.includes(frame.error.layer), `${what}: unknown layer ${frame.error.layer}`);
    t.true(!frame.error.error.startsWith('internal decoder error'), `${what}: ${frame.error.error}`);
    t.true(frame.error.offset >= 0 && frame.error.offset <= buf.length, `${what}: offset ${frame.error.offset} outside the frame`);
  }
}

for (const [name, linkType, frame] of samples) {
  test(`${name}: every truncation decodes without throwing and reports a located error`, (t) => {
    const full = decodeFrame(frame, linkType);
    t.is(full.error, undefined, 'the intact frame decodes cleanly');
    for (let len = 0; len < frame.length; len++) checkNoThrow(t, frame.subarray(0, len), linkType, `prefix ${len}`);
  });

  test(`${name}: every single-byte corruption decodes without throwing`, (t) => {
    for (let i = 0; i < frame.length; i++) {
      for (const value of [0x00, 0xff, frame[i]! ^ 0x80]) {
        const bad = Buffer.from(frame);
        bad[i] = value;
        checkNoThrow(t, bad, linkType, `byte ${i} = ${value}`);
      }
    }
  });
}

test('random garbage on every link type decodes without throwing', (t) => {
  // Deterministic xorshift so a failure can be reproduced.
  let state = 0x9e3779b9;
  const next = (): number => {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    return state;
  };
  for (let n = 0; n < 3000; n++) {
    const buf = Buffer.alloc(next() % 200);
    for (let i = 0; i < buf.length; i++) buf[i] = next() & 0xff;
    // Steer some frames into the IPv4/UDP paths where the interesting decoders live.
    if (buf.length > 24 && n % 2 === 0) { buf.writeUInt16BE(0x0800, 12); buf[14] = 0x45; buf[23] = n % 4 === 0 ? 17 : 6; }
    for (const linkType of [1, 113, 276]) checkNoThrow(t, buf, linkType, `garbage #${n} on link type ${linkType}`);
  }
  t.pass();
});

test('decodePacket carries the pcap record metadata and marks snapshot truncation', (t) => {
  const frame = samples[0]![2];
  const packet = decodePacket({ index: 4, ts: 12.5, tsSec: 12, tsUsec: 500000, origLen: frame.length, capLen: 60, data: frame.subarray(0, 60) }, 1);
  t.like(packet, { index: 4, ts: 12.5, origLen: frame.length, capLen: 60, snapTruncated: true });
  t.is(typeof packet.summary, 'string');
  t.truthy(packet.error);
});
