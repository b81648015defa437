import test from 'ava';
import { decodeFrame, findLayer } from '../../../src/capture/index.ts';
import { TCP, ethernet, icmp, internetChecksum, ipv4, tcp, udp, type Ipv4Spec } from './helpers/build.ts';

const eth = (payload: Buffer, padTo = 0): Buffer => ethernet({ dst: '0a:58:0a:f4:02:03', src: '0a:58:0a:f4:01:02', type: 0x0800 }, payload, padTo);
const ETH = 14;

test('ipv4: every header field (RFC 791) of a DF packet with DSCP/ECN', (t) => {
  const payload = udp({ sport: 1000, dport: 2000 }, Buffer.from('hi'));
  const packet = ipv4({ tos: (46 << 2) | 1, id: 0xbeef, df: true, ttl: 63, protocol: 17, src: '10.244.1.2', dst: '10.244.2.3' }, payload);
  const { layers, error } = decodeFrame(eth(packet), 1);
  t.is(error, undefined);
  t.deepEqual(layers[1], {
    layer: 'ipv4', offset: ETH, size: 20, depth: 0, version: 4, ihl: 5, headerLength: 20, tos: (46 << 2) | 1, dscp: 46, ecn: 1,
    totalLength: 20 + payload.length, id: 0xbeef, flagsValue: 0b010, df: true, mf: false, fragOffset: 0, fragOffsetBytes: 0, ttl: 63, protocol: 17,
    checksum: internetChecksum(Buffer.concat([packet.subarray(0, 10), Buffer.alloc(2), packet.subarray(12, 20)])),
    checksumOk: true, src: '10.244.1.2', dst: '10.244.2.3', truncated: false,
  });
});

test('ipv4: a corrupted header checksum is flagged, not fatal', (t) => {
  const packet = ipv4({ protocol: 17, src: '1.1.1.1', dst: '2.2.2.2', checksum: 0x1234 }, udp({ sport: 1, dport: 2 }, Buffer.alloc(0)));
  const ip = findLayer(decodeFrame(eth(packet), 1).layers, 'ipv4');
  t.is(ip?.checksum, 0x1234);
  t.false(ip?.checksumOk);
});

test('ipv4: options (ihl 6) move the transport header', (t) => {
  const packet = ipv4({ protocol: 17, src: '1.1.1.1', dst: '2.2.2.2', options: Buffer.from([0x94, 0x04, 0, 0]) }, udp({ sport: 5, dport: 6 }, Buffer.alloc(0)));
  const { layers } = decodeFrame(eth(packet), 1);
  t.like(layers[1], { ihl: 6, headerLength: 24, checksumOk: true });
  t.like(layers[2], { layer: 'udp', offset: ETH + 24, srcPort: 5, dstPort: 6 });
});

test('ipv4: Ethernet padding after a short datagram is not payload', (t) => {
  const packet = ipv4({ protocol: 17, src: '1.1.1.1', dst: '2.2.2.2' }, udp({ sport: 7, dport: 9 }, Buffer.from('x')));
  const { layers, error } = decodeFrame(eth(packet, 60), 1);
  t.is(error, undefined);
  t.like(layers[1], { totalLength: 29, truncated: false });
  t.like(layers[2], { layer: 'udp', length: 9, payloadLength: 1 });
});

test('ipv4: first fragment (MF) decodes the transport header; later fragments stop at IP', (t) => {
  const first = ipv4({ mf: true, id: 9, protocol: 17, src: '1.1.1.1', dst: '2.2.2.2' }, udp({ sport: 1, dport: 53, length: 3000 }, Buffer.alloc(64)));
  const firstLayers = decodeFrame(eth(first), 1);
  t.is(firstLayers.error, undefined);
  t.like(firstLayers.layers[1], { mf: true, df: false, flagsValue: 1, fragOffset: 0 });
  t.like(firstLayers.layers[2], { layer: 'udp', length: 3000 });
  t.is(firstLayers.layers.length, 3, 'no DNS decoding of a partial datagram');

  const later = ipv4({ id: 9, fragOffsetBytes: 1480, protocol: 17, src: '1.1.1.1', dst: '2.2.2.2' }, Buffer.alloc(100));
  const laterLayers = decodeFrame(eth(later), 1);
  t.is(laterLayers.error, undefined);
  t.like(laterLayers.layers[1], { fragOffset: 1480 / 8, fragOffsetBytes: 1480, mf: false });
  t.is(laterLayers.layers.length, 2);
});

test('ipv4: a capture shorter than Total Length is marked truncated', (t) => {
  const packet = ipv4({ protocol: 17, src: '1.1.1.1', dst: '2.2.2.2' }, udp({ sport: 1, dport: 2 }, Buffer.alloc(100)));
  const { layers } = decodeFrame(eth(packet).subarray(0, ETH + 40), 1);
  t.like(layers[1], { layer: 'ipv4', truncated: true, totalLength: 128 });
  t.like(layers[2], { layer: 'udp', length: 108 });
});

const badIp: Array<[string, Partial<Ipv4Spec>, RegExp, number]> = [
  ['version 6 in an IPv4 EtherType', { version: 6 }, /version 6 is not 4/, ETH],
  ['ihl below 5', { ihl: 4 }, /header length 16 \(ihl 4\) is below 20/, ETH],
  ['total length below the header', { totalLength: 12 }, /total length 12 is smaller than the header length 20/, ETH + 2],
];
for (const [name, spec, message, offset] of badIp) {
  test(`ipv4 error: ${name}`, (t) => {
    const packet = ipv4({ protocol: 17, src: '1.1.1.1', dst: '2.2.2.2', ...spec }, Buffer.alloc(8));
    const { layers, error } = decodeFrame(eth(packet), 1);
    t.deepEqual(layers.map((l) => l.layer), ['ethernet']);
    t.like(error, { layer: 'ipv4', offset });
    t.regex(error!.error, message);
  });
}

test('ipv4 error: header cut by the capture', (t) => {
  const packet = ipv4({ protocol: 6, src: '1.1.1.1', dst: '2.2.2.2' }, Buffer.alloc(0));
  const { error } = decodeFrame(eth(packet).subarray(0, ETH + 12), 1);
  t.like(error, { layer: 'ipv4', offset: ETH });
  t.regex(error!.error, /need 20 bytes, 12 captured/);
});

for (const [type, name] of [[8, 'echo request'], [0, 'echo reply']] as const) {
  test(`icmp ${name}: type, code, checksum, id, seq`, (t) => {
    const msg = icmp({ type, id: 0x1982, seq: 3 }, Buffer.alloc(56, 0xab));
    const { layers, error } = decodeFrame(eth(ipv4({ protocol: 1, src: '10.244.1.2', dst: '10.244.2.3' }, msg)), 1);
    t.is(error, undefined);
    t.deepEqual(layers[2], {
      layer: 'icmp', offset: ETH + 20, size: 8, depth: 0, type, code: 0, typeName: name, checksum: msg.readUInt16BE(2), id: 0x1982, seq: 3, payloadLength: 56,
    });
  });
}

test('icmp destination unreachable has a code and no echo id/seq', (t) => {
  const msg = icmp({ type: 3, code: 3, rest: Buffer.alloc(4) }, Buffer.alloc(28));
  const layer = findLayer(decodeFrame(eth(ipv4({ protocol: 1, src: '1.1.1.1', dst: '2.2.2.2' }, msg)), 1).layers, 'icmp');
  t.like(layer, { type: 3, code: 3, typeName: 'destination unreachable' });
  t.is(layer?.id, undefined);
  t.is(layer?.seq, undefined);
});

test('icmp: truncated header is an icmp error after the ipv4 layer', (t) => {
  const packet = ipv4({ protocol: 1, src: '1.1.1.1', dst: '2.2.2.2' }, Buffer.from([8, 0, 0, 0]));
  const { layers, error } = decodeFrame(eth(packet), 1);
  t.deepEqual(layers.map((l) => l.layer), ['ethernet', 'ipv4']);
  t.like(error, { layer: 'icmp', offset: ETH + 20 });
});

// MSS 1460, SACK permitted, timestamps 100/0, NOP, window scale 7: the options of a Linux SYN.
const synOptions = Buffer.from([2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 100, 0, 0, 0, 0, 1, 3, 3, 7]);

test('tcp SYN: ports, numbers, header length, flags, window and options', (t) => {
  const seg = tcp({ sport: 43210, dport: 80, seq: 0xfffffff0, flags: TCP.SYN, window: 64240, options: synOptions });
  const { layers, error } = decodeFrame(eth(ipv4({ protocol: 6, src: '10.244.1.2', dst: '10.244.2.3' }, seg)), 1);
  t.is(error, undefined);
  t.deepEqual(layers[2], {
    layer: 'tcp', offset: ETH + 20, size: 40, depth: 0, srcPort: 43210, dstPort: 80, seq: 0xfffffff0, ack: 0, headerLength: 40,
    flags: ['SYN'], flagsValue: 0x002, window: 64240, checksum: 0x1234, urgentPointer: 0,
    options: { mss: 1460, sackPermitted: true, timestamp: { value: 100, echo: 0 }, windowScale: 7 }, payloadLength: 0,
  });
});

const flagCases: Array<[number, string[]]> = [
  [TCP.SYN | TCP.ACK, ['SYN', 'ACK']],
  [TCP.PSH | TCP.ACK, ['PSH', 'ACK']],
  [TCP.FIN | TCP.ACK, ['FIN', 'ACK']],
  [TCP.RST, ['RST']],
  [TCP.URG | TCP.ECE | TCP.CWR | TCP.AE, ['URG', 'ECE', 'CWR', 'AE']],
];
for (const [value, names] of flagCases) {
  test(`tcp flags 0x${value.toString(16).padStart(3, '0')} are ${names.join('+')}`, (t) => {
    const seg = tcp({ sport: 1, dport: 2, seq: 1, ack: 2, flags: value });
    const layer = findLayer(decodeFrame(eth(ipv4({ protocol: 6, src: '1.1.1.1', dst: '2.2.2.2' }, seg)), 1).layers, 'tcp');
    t.is(layer?.flagsValue, value);
    t.deepEqual(layer?.flags, names);
  });
}

test('tcp payload length comes from the IP lengths, even when the capture is cut', (t) => {
  const seg = tcp({ sport: 80, dport: 5555, seq: 10, ack: 20, flags: TCP.PSH | TCP.ACK }, Buffer.alloc(1000, 0x41));
  const frame = eth(ipv4({ protocol: 6, src: '1.1.1.1', dst: '2.2.2.2' }, seg));
  t.like(findLayer(decodeFrame(frame, 1).layers, 'tcp'), { payloadLength: 1000, headerLength: 20 });
  t.like(findLayer(decodeFrame(frame.subarray(0, 96), 1).layers, 'tcp'), { payloadLength: 1000 });
});

test('tcp: a header cut by the capture is a tcp error with the earlier layers kept', (t) => {
  const seg = tcp({ sport: 1, dport: 2, seq: 1, flags: TCP.SYN });
  const frame = eth(ipv4({ protocol: 6, src: '1.1.1.1', dst: '2.2.2.2' }, seg)).subarray(0, ETH + 20 + 13);
  const { layers, error } = decodeFrame(frame, 1);
  t.deepEqual(layers.map((l) => l.layer), ['ethernet', 'ipv4']);
  t.like(error, { layer: 'tcp', offset: ETH + 20 });
  t.regex(error!.error, /need 20 bytes, 13 captured/);
});

test('tcp: data offset below 5 words is a tcp error', (t) => {
  const seg = tcp({ sport: 1, dport: 2, seq: 1, flags: TCP.ACK, dataOffsetWords: 3 });
  const { error } = decodeFrame(eth(ipv4({ protocol: 6, src: '1.1.1.1', dst: '2.2.2.2' }, seg)), 1);
  t.like(error, { layer: 'tcp', offset: ETH + 20 + 12 });
});

test('tcp: a bad option length keeps the header and reports the options problem', (t) => {
  const seg = tcp({ sport: 1, dport: 2, seq: 1, flags: TCP.SYN, options: Buffer.from([2, 9, 0, 0]) });
  const { layers, error } = decodeFrame(eth(ipv4({ protocol: 6, src: '1.1.1.1', dst: '2.2.2.2' }, seg)), 1);
  t.is(error, undefined);
  t.regex(findLayer(layers, 'tcp')?.optionsError ?? '', /option kind 2 .* bad length 9/);
});

test('udp: ports, length and payload length', (t) => {
  const dgram = udp({ sport: 40000, dport: 9999 }, Buffer.from('hello'));
  const { layers, error } = decodeFrame(eth(ipv4({ protocol: 17, src: '1.1.1.1', dst: '2.2.2.2' }, dgram)), 1);
  t.is(error, undefined);
  t.deepEqual(layers[2], { layer: 'udp', offset: ETH + 20, size: 8, depth: 0, srcPort: 40000, dstPort: 9999, length: 13, checksum: 0, payloadLength: 5 });
});

test('udp: a length beyond the IP payload is a udp error', (t) => {
  const dgram = udp({ sport: 1, dport: 2, length: 500 }, Buffer.alloc(4));
  const { error } = decodeFrame(eth(ipv4({ protocol: 17, src: '1.1.1.1', dst: '2.2.2.2' }, dgram)), 1);
  t.like(error, { layer: 'udp', offset: ETH + 20 + 4 });
  t.regex(error!.error, /udp length 500 exceeds the 12 bytes/);
});
