// The one-line summary follows tcpdump's layout ("src.port > dst.port: Flags [S.], seq N, ack N,
// win N, length N", "ICMP echo request, id N, seq N, length N", "ARP, Request who-has A tell B",
// "UDP, length N"), with DNS, VXLAN and HTTP rendered in our own short form.

import test from 'ava';
import { decodeFrame, summarize } from '../../../src/capture/index.ts';
import { TCP, arp, dnsMessage, ethernet, icmp, ip, ipv4, sll2, tcp, udp, vxlan } from './helpers/build.ts';

const A = '0a:58:0a:f4:01:02';
const B = '0a:58:0a:f4:02:03';
const eth = (payload: Buffer, type = 0x0800): Buffer => ethernet({ dst: B, src: A, type }, payload);
const v4 = (protocol: number, payload: Buffer, src = '10.244.1.2', dst = '10.244.2.3'): Buffer => ipv4({ protocol, src, dst }, payload);
const line = (frame: Buffer, linkType = 1): string => summarize(decodeFrame(frame, linkType));

const cases: Array<[string, () => Buffer, string, number?]> = [
  ['tcp SYN', () => eth(v4(6, tcp({ sport: 43210, dport: 80, seq: 1, flags: TCP.SYN, window: 64240 }))),
    '10.244.1.2.43210 > 10.244.2.3.80: Flags [S], seq 1, win 64240, length 0'],
  ['tcp SYN-ACK', () => eth(v4(6, tcp({ sport: 80, dport: 43210, seq: 500, ack: 2, flags: TCP.SYN | TCP.ACK, window: 65160 }), '10.244.2.3', '10.244.1.2')),
    '10.244.2.3.80 > 10.244.1.2.43210: Flags [S.], seq 500, ack 2, win 65160, length 0'],
  ['tcp data with a sequence range', () => eth(v4(6, tcp({ sport: 43210, dport: 9000, seq: 1, ack: 7, flags: TCP.PSH | TCP.ACK, window: 502 }, Buffer.from('hello')))),
    '10.244.1.2.43210 > 10.244.2.3.9000: Flags [P.], seq 1:6, ack 7, win 502, length 5'],
  ['tcp RST', () => eth(v4(6, tcp({ sport: 1, dport: 2, seq: 9, flags: TCP.RST, window: 0 }))),
    '10.244.1.2.1 > 10.244.2.3.2: Flags [R], seq 9, win 0, length 0'],
  ['icmp echo request', () => eth(v4(1, icmp({ type: 8, id: 1, seq: 2 }, Buffer.alloc(56)))),
    '10.244.1.2 > 10.244.2.3: ICMP echo request, id 1, seq 2, length 64'],
  ['arp request', () => eth(arp({ op: 1, sha: A, spa: '10.244.1.2', tha: '00:00:00:00:00:00', tpa: '10.244.1.1' }), 0x0806),
    'ARP, Request who-has 10.244.1.1 tell 10.244.1.2'],
  ['arp reply', () => eth(arp({ op: 2, sha: B, spa: '10.244.1.1', tha: A, tpa: '10.244.1.2' }), 0x0806),
    `ARP, Reply 10.244.1.1 is-at ${B}`],
  ['plain udp', () => eth(v4(17, udp({ sport: 40000, dport: 9999 }, Buffer.from('hello')))),
    '10.244.1.2.40000 > 10.244.2.3.9999: UDP, length 5'],
  ['dns query', () => eth(v4(17, udp({ sport: 40000, dport: 53 }, dnsMessage({ id: 0xeb2e, flags: 0x0100, questions: [{ name: 'web.default.svc.cluster.local', type: 1 }] })), '10.244.1.2', '10.96.0.10')),
    '10.244.1.2.40000 > 10.96.0.10.53: DNS query 0xeb2e A? web.default.svc.cluster.local'],
  ['dns response', () => eth(v4(17, udp({ sport: 53, dport: 40000 }, dnsMessage({
    id: 0xeb2e, flags: 0x8580, questions: [{ name: 'web', type: 1 }], answers: [{ name: 'web', type: 1, ttl: 5, rdata: ip('10.96.0.5') }],
  })), '10.96.0.10', '10.244.1.2')),
    '10.96.0.10.53 > 10.244.1.2.40000: DNS response 0xeb2e NOERROR A 10.96.0.5'],
  ['vxlan with an inner HTTP request', () => ethernet({ dst: '52:54:00:00:00:0c', src: '52:54:00:00:00:0b', type: 0x0800 },
    v4(17, udp({ sport: 51000, dport: 8472 }, vxlan({ vni: 1 }, eth(v4(6, tcp({ sport: 43210, dport: 80, seq: 1, ack: 1, flags: TCP.PSH | TCP.ACK, window: 502 },
      Buffer.from('GET /healthz HTTP/1.1\r\nHost: web\r\n\r\n')))))), '192.168.56.11', '192.168.56.12')),
    '192.168.56.11.51000 > 192.168.56.12.8472: VXLAN vni 1: 10.244.1.2.43210 > 10.244.2.3.80: Flags [P.], seq 1:37, ack 1, win 502, length 36: HTTP GET /healthz HTTP/1.1 (Host: web)'],
  ['sll2 outgoing ping', () => sll2({ packetType: 4, hatype: 1, addr: A, protocol: 0x0800, ifIndex: 2 }, v4(1, icmp({ type: 0, id: 3, seq: 4 }, Buffer.alloc(8)))),
    'if2 Out 10.244.1.2 > 10.244.2.3: ICMP echo reply, id 3, seq 4, length 16', 276],
  ['IPv6 (not decoded) shows the MACs and EtherType', () => eth(Buffer.alloc(40), 0x86dd), `${A} > ${B}, ethertype IPv6`],
  ['a truncated tcp header keeps the IP part and names the layer and byte', () => eth(v4(6, tcp({ sport: 1, dport: 2, seq: 1, flags: TCP.SYN }))).subarray(0, 44),
    '10.244.1.2 > 10.244.2.3: ip-proto-6, length 20 [bad tcp at byte 34: tcp header truncated: need 20 bytes, 10 captured]'],
];

for (const [name, frame, expected, linkType] of cases) {
  test(`summary: ${name}`, (t) => {
    t.is(line(frame(), linkType), expected);
  });
}
