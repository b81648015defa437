import test from 'ava';
import { decodeFrame, findLayer, findLayers } from '../../../src/capture/index.ts';
import { TCP, dnsMessage, dnsName, ethernet, ip, ipv4, tcp, udp, vxlan } from './helpers/build.ts';

const NODE1 = { mac: '52:54:00:00:00:0b', ip: '192.168.56.11' };
const NODE2 = { mac: '52:54:00:00:00:0c', ip: '192.168.56.12' };
const POD1 = { mac: '0a:58:0a:f4:01:02', ip: '10.244.1.2' };
const POD2 = { mac: '0a:58:0a:f4:02:03', ip: '10.244.2.3' };

const httpGet = Buffer.from('GET /healthz HTTP/1.1\r\nUser-Agent: test\r\nhost:  web.default \r\nAccept: */*\r\n\r\n');

function innerHttpFrame(): Buffer {
  const seg = tcp({ sport: 43210, dport: 80, seq: 1000, ack: 2000, flags: TCP.PSH | TCP.ACK, window: 502 }, httpGet);
  return ethernet({ dst: POD2.mac, src: POD1.mac, type: 0x0800 }, ipv4({ id: 77, df: true, ttl: 63, protocol: 6, src: POD1.ip, dst: POD2.ip }, seg));
}

function overlay(port: number, inner: Buffer, vni = 1): Buffer {
  const outerUdp = udp({ sport: 51000, dport: port }, vxlan({ vni }, inner));
  return ethernet({ dst: NODE2.mac, src: NODE1.mac, type: 0x0800 }, ipv4({ id: 5, ttl: 64, protocol: 17, src: NODE1.ip, dst: NODE2.ip }, outerUdp));
}

for (const port of [8472, 4789]) {
  test(`vxlan on UDP ${port}: VNI and the inner frame with TCP and HTTP, one depth deeper`, (t) => {
    const { layers, error } = decodeFrame(overlay(port, innerHttpFrame(), 0xabcdef), 1);
    t.is(error, undefined);
    t.deepEqual(layers.map((l) => `${l.layer}@${l.depth}`), ['ethernet@0', 'ipv4@0', 'udp@0', 'vxlan@0', 'ethernet@1', 'ipv4@1', 'tcp@1', 'http@1']);
    t.deepEqual(findLayer(layers, 'vxlan'), { layer: 'vxlan', offset: 42, size: 8, depth: 0, flags: 0x08, vniValid: true, vni: 0xabcdef });
    t.like(findLayer(layers, 'ethernet', 1), { offset: 50, src: POD1.mac, dst: POD2.mac, etherType: 0x0800 });
    t.like(findLayer(layers, 'ipv4', 1), { offset: 64, src: POD1.ip, dst: POD2.ip, ttl: 63, id: 77, df: true, protocol: 6 });
    t.like(findLayer(layers, 'tcp', 1), { offset: 84, srcPort: 43210, dstPort: 80, seq: 1000, ack: 2000, flags: ['PSH', 'ACK'], payloadLength: httpGet.length });
    t.like(findLayer(layers, 'ipv4', 0), { src: NODE1.ip, dst: NODE2.ip, protocol: 17 });
  });
}

test('vxlan: the I flag clear is reported, the inner frame still decoded', (t) => {
  const outer = ethernet({ dst: NODE2.mac, src: NODE1.mac, type: 0x0800 },
    ipv4({ protocol: 17, src: NODE1.ip, dst: NODE2.ip }, udp({ sport: 1, dport: 8472 }, vxlan({ vni: 1, flags: 0 }, innerHttpFrame()))));
  const { layers } = decodeFrame(outer, 1);
  t.like(findLayer(layers, 'vxlan'), { flags: 0, vniValid: false });
  t.truthy(findLayer(layers, 'tcp', 1));
});

test('vxlan: a truncated inner frame is an error at depth 1 after the tunnel layers', (t) => {
  const frame = overlay(8472, innerHttpFrame()).subarray(0, 50 + 14 + 10);
  const { layers, error } = decodeFrame(frame, 1);
  t.deepEqual(layers.map((l) => l.layer), ['ethernet', 'ipv4', 'udp', 'vxlan', 'ethernet']);
  t.like(error, { layer: 'ipv4', offset: 64, depth: 1 });
});

test('vxlan: a truncated vxlan header is a vxlan error', (t) => {
  const frame = ethernet({ dst: NODE2.mac, src: NODE1.mac, type: 0x0800 },
    ipv4({ protocol: 17, src: NODE1.ip, dst: NODE2.ip }, udp({ sport: 1, dport: 8472 }, Buffer.from([8, 0, 0]))));
  t.like(decodeFrame(frame, 1).error, { layer: 'vxlan', offset: 42 });
});

test('vxlan: tunnels nested beyond the limit are an error, not a stack overflow', (t) => {
  let frame = innerHttpFrame();
  for (let i = 0; i < 20; i++) frame = overlay(8472, frame);
  const { layers, error } = decodeFrame(frame, 1);
  t.like(error, { layer: 'vxlan' });
  t.regex(error!.error, /nested deeper/);
  t.true(findLayers(layers, 'vxlan').length <= 9);
});

function dnsFrame(payload: Buffer, sport = 40000, dport = 53): Buffer {
  return ethernet({ dst: POD2.mac, src: POD1.mac, type: 0x0800 }, ipv4({ protocol: 17, src: POD1.ip, dst: '10.96.0.10' }, udp({ sport, dport }, payload)));
}

test('dns query: id, qr, opcode, flags and the question', (t) => {
  // RD set: flags word 0x0100 (RFC 1035 4.1.1).
  const msg = dnsMessage({ id: 0xeb2e, flags: 0x0100, questions: [{ name: 'web.default.svc.cluster.local', type: 1 }], arcount: 0 });
  const { layers, error } = decodeFrame(dnsFrame(msg), 1);
  t.is(error, undefined);
  t.deepEqual(findLayer(layers, 'dns'), {
    layer: 'dns', offset: 42, size: msg.length, depth: 0, id: 0xeb2e, qr: false, opcode: 0, opcodeName: 'QUERY', rcode: 0, rcodeName: 'NOERROR',
    flags: ['rd'], flagsValue: 0x0100, questions: [{ name: 'web.default.svc.cluster.local', type: 'A', class: 'IN' }], answers: [],
    authorityCount: 0, additionalCount: 0,
  });
});

test('dns response: QR, AA, RA, rcode and answers with name/type/class/ttl/data (incl. a compression pointer)', (t) => {
  // QR|AA|RD|RA = 0x8580; the answer names use a pointer to the question name at offset 12 (0xc00c).
  const msg = dnsMessage({
    id: 7, flags: 0x8580, questions: [{ name: 'web.default.svc.cluster.local', type: 1 }],
    answers: [
      { name: Buffer.from([0xc0, 0x0c]), type: 5, ttl: 30, rdata: dnsName('web-0.default.svc.cluster.local') },
      { name: 'web-0.default.svc.cluster.local', type: 1, ttl: 5, rdata: ip('10.244.2.3') },
    ],
  });
  const dns = findLayer(decodeFrame(dnsFrame(msg, 53, 40000), 1).layers, 'dns');
  t.like(dns, { id: 7, qr: true, rcode: 0, rcodeName: 'NOERROR', flags: ['aa', 'rd', 'ra'], flagsValue: 0x8580 });
  t.deepEqual(dns?.answers, [
    { name: 'web.default.svc.cluster.local', type: 'CNAME', class: 'IN', ttl: 30, data: 'web-0.default.svc.cluster.local' },
    { name: 'web-0.default.svc.cluster.local', type: 'A', class: 'IN', ttl: 5, data: '10.244.2.3' },
  ]);
});

test('dns NXDOMAIN response: rcode 3', (t) => {
  const msg = dnsMessage({ id: 9, flags: 0x8183, questions: [{ name: 'nope.svc', type: 28 }] });
  t.like(findLayer(decodeFrame(dnsFrame(msg, 53, 40000), 1).layers, 'dns'), { qr: true, rcode: 3, rcodeName: 'NXDOMAIN', questions: [{ name: 'nope.svc', type: 'AAAA', class: 'IN' }] });
});

const badDns: Array<[string, () => Buffer]> = [
  ['a header shorter than 12 bytes', () => Buffer.from([0, 1, 0, 0, 0, 1])],
  ['a question count with no question', () => dnsMessage({ id: 1, flags: 0, questions: [] }).fill(0xff, 4, 6)],
  ['a label running past the end', () => {
    const header = dnsMessage({ id: 1, flags: 0, questions: [] });
    header.writeUInt16BE(1, 4); // one question, whose first label claims 40 bytes but has 2
    return Buffer.concat([header, Buffer.from([40, 0x61, 0x62])]);
  }],
  ['a forward compression pointer', () => {
    const m = dnsMessage({ id: 1, flags: 0, questions: [{ name: 'a', type: 1 }] });
    m.writeUInt16BE(0xc0ff, 12); // a pointer must point at prior data (RFC 1035 4.1.4)
    return m;
  }],
  ['an answer whose rdata is cut', () => dnsMessage({ id: 1, flags: 0x8000, questions: [], answers: [{ name: 'a', type: 1, ttl: 1, rdata: ip('1.2.3.4') }] }).subarray(0, 12 + 3 + 6)],
];
for (const [name, payload] of badDns) {
  test(`dns: ${name} is a dns decode error, with udp kept`, (t) => {
    const { layers, error } = decodeFrame(dnsFrame(payload()), 1);
    t.deepEqual(layers.map((l) => l.layer), ['ethernet', 'ipv4', 'udp']);
    t.like(error, { layer: 'dns', offset: 42 });
  });
}

function tcpFrame(payload: Buffer, sport = 43210, dport = 80): Buffer {
  const seg = tcp({ sport, dport, seq: 1, ack: 1, flags: TCP.PSH | TCP.ACK }, payload);
  return ethernet({ dst: POD2.mac, src: POD1.mac, type: 0x0800 }, ipv4({ protocol: 6, src: POD1.ip, dst: POD2.ip }, seg));
}

test('http request: request line parts and the Host header (case-insensitive, trimmed)', (t) => {
  const http = findLayer(decodeFrame(tcpFrame(httpGet), 1).layers, 'http');
  t.deepEqual(http, {
    layer: 'http', offset: 54, size: httpGet.length, depth: 0, firstLine: 'GET /healthz HTTP/1.1', kind: 'request',
    method: 'GET', target: '/healthz', version: 'HTTP/1.1', host: 'web.default',
  });
});

test('http response: status line on any port', (t) => {
  const http = findLayer(decodeFrame(tcpFrame(Buffer.from('HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n'), 8080, 43210), 1).layers, 'http');
  t.like(http, { kind: 'response', version: 'HTTP/1.0', status: 404, reason: 'Not Found', firstLine: 'HTTP/1.0 404 Not Found' });
});

const notHttp: Array<[string, string]> = [
  ['a body segment', 'hello world\n'],
  ['a request line not yet complete', 'GET /very/long'],
  ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
  ['an unknown method', 'FOO / HTTP/1.1\r\n\r\n'],
  ['TLS', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03'],
];
for (const [name, text] of notHttp) {
  test(`http: ${name} is not an HTTP layer and not an error`, (t) => {
    const { layers, error } = decodeFrame(tcpFrame(Buffer.from(text, 'latin1')), 1);
    t.is(error, undefined);
    t.deepEqual(layers.map((l) => l.layer), ['ethernet', 'ipv4', 'tcp']);
  });
}
