import test from 'ava';
import { decodeFrame, findLayer } from '../../../src/capture/index.ts';
import { arp, ethernet, icmp, ipv4, sll, sll2 } from './helpers/build.ts';

const A = '0a:58:0a:f4:01:02';
const B = '0a:58:0a:f4:02:03';

test('ethernet: addresses and EtherType of an untagged frame', (t) => {
  const frame = ethernet({ dst: B, src: A, type: 0x86dd }, Buffer.alloc(40));
  const { layers, error } = decodeFrame(frame, 1);
  t.is(error, undefined);
  t.is(layers.length, 1, 'IPv6 is not decoded further, and that is not an error');
  t.like(layers[0], { layer: 'ethernet', offset: 0, size: 14, depth: 0, dst: B, src: A, etherType: 0x86dd, vlans: [] });
});

test('ethernet: an 802.1Q tag yields PCP, DEI, VID and the inner EtherType', (t) => {
  const payload = arp({ op: 1, sha: A, spa: '10.244.1.2', tha: '00:00:00:00:00:00', tpa: '10.244.1.1' });
  const frame = ethernet({ dst: 'ff:ff:ff:ff:ff:ff', src: A, type: 0x0806, vlans: [{ pcp: 5, dei: true, vid: 100 }] }, payload);
  const { layers, error } = decodeFrame(frame, 1);
  t.is(error, undefined);
  t.like(layers[0], { layer: 'ethernet', size: 18, etherType: 0x0806, vlans: [{ tpid: 0x8100, pcp: 5, dei: true, vid: 100 }] });
  t.like(layers[1], { layer: 'arp', offset: 18 });
});

test('ethernet: stacked 802.1ad + 802.1Q tags are both reported, outer first', (t) => {
  const frame = ethernet({ dst: B, src: A, type: 0x86dd, vlans: [{ tpid: 0x88a8, pcp: 0, dei: false, vid: 10 }, { pcp: 1, dei: false, vid: 20 }] }, Buffer.alloc(4));
  const eth = findLayer(decodeFrame(frame, 1).layers, 'ethernet');
  t.deepEqual(eth?.vlans.map((v) => [v.tpid, v.vid]), [[0x88a8, 10], [0x8100, 20]]);
});

test('ethernet: a frame shorter than 14 bytes is an ethernet error at offset 0', (t) => {
  const { layers, error } = decodeFrame(Buffer.alloc(10), 1);
  t.deepEqual(layers, []);
  t.like(error, { layer: 'ethernet', offset: 0, depth: 0 });
  t.regex(error!.error, /need 14 bytes, 10 captured/);
});

test('ethernet: a VLAN tag cut short is an error, not an exception', (t) => {
  const frame = ethernet({ dst: B, src: A, type: 0x0800, vlans: [{ pcp: 0, dei: false, vid: 7 }] }, Buffer.alloc(0)).subarray(0, 15);
  const { error } = decodeFrame(frame, 1);
  t.like(error, { layer: 'ethernet', offset: 12 });
});

for (const [op, name] of [[1, 'request'], [2, 'reply']] as const) {
  test(`arp ${name}: every RFC 826 field`, (t) => {
    const frame = ethernet({ dst: 'ff:ff:ff:ff:ff:ff', src: A, type: 0x0806 },
      arp({ op, sha: A, spa: '10.244.1.2', tha: B, tpa: '10.244.1.1' }), 60);
    const { layers, error } = decodeFrame(frame, 1);
    t.is(error, undefined);
    t.deepEqual(layers[1], {
      layer: 'arp', offset: 14, size: 28, depth: 0, hwType: 1, protoType: 0x0800, hwSize: 6, protoSize: 4,
      opcode: op, opcodeName: name, senderMac: A, senderIp: '10.244.1.2', targetMac: B, targetIp: '10.244.1.1',
    });
  });
}

test('arp: truncated addresses are an arp error', (t) => {
  const frame = ethernet({ dst: B, src: A, type: 0x0806 }, arp({ op: 1, sha: A, spa: '1.2.3.4', tha: B, tpa: '5.6.7.8' }).subarray(0, 20));
  const { layers, error } = decodeFrame(frame, 1);
  t.is(layers.length, 1);
  t.like(error, { layer: 'arp', offset: 14 });
});

const ping = ipv4({ protocol: 1, src: '10.244.1.2', dst: '10.244.2.3', id: 7 }, icmp({ type: 8, id: 1, seq: 1 }));

test('sll (link type 113): cooked header fields, then the IPv4 packet', (t) => {
  const frame = sll({ packetType: 4, hatype: 1, addr: A, protocol: 0x0800 }, ping);
  const { layers, error } = decodeFrame(frame, 113);
  t.is(error, undefined);
  t.deepEqual(layers[0], {
    layer: 'sll', offset: 0, size: 16, depth: 0, version: 1, packetType: 4, packetTypeName: 'Out', arphrdType: 1, addrLen: 6, addr: A, protocol: 0x0800,
  });
  t.like(layers[1], { layer: 'ipv4', offset: 16, src: '10.244.1.2', dst: '10.244.2.3' });
  t.like(layers[2], { layer: 'icmp', offset: 36, type: 8 });
});

test('sll2 (link type 276): cooked v2 header fields including the interface index', (t) => {
  const frame = sll2({ packetType: 0, hatype: 1, addr: B, protocol: 0x0800, ifIndex: 7 }, ping);
  const { layers, error } = decodeFrame(frame, 276);
  t.is(error, undefined);
  t.deepEqual(layers[0], {
    layer: 'sll', offset: 0, size: 20, depth: 0, version: 2, packetType: 0, packetTypeName: 'In', arphrdType: 1, addrLen: 6, addr: B, protocol: 0x0800, ifIndex: 7,
  });
  t.like(layers[1], { layer: 'ipv4', offset: 20 });
});

test('sll: a short cooked header is an sll error', (t) => {
  t.like(decodeFrame(Buffer.alloc(12), 113).error, { layer: 'sll', offset: 0 });
  t.like(decodeFrame(Buffer.alloc(12), 276).error, { layer: 'sll', offset: 0 });
});

test('an unsupported link type is reported on the packet, not thrown', (t) => {
  const { layers, error } = decodeFrame(Buffer.alloc(40), 105);
  t.deepEqual(layers, []);
  t.regex(error!.error, /link type 105/);
});
