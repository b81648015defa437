// Our decoder against Wireshark on real captures: the stored tshark JSON (see
// test/fixtures/pcap/README.md) is the reference, field by field, with no root or tshark needed.

import test from 'ava';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { compareLayers } from '../../../src/capture/compare.ts';
import { decodePcap, readPcap, type LayerName } from '../../../src/capture/index.ts';
import { mapTsharkJson } from '../../../src/capture/tshark-map.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../../fixtures/pcap/${name}`, import.meta.url));

const COMMON: LayerName[] = ['ethernet', 'arp', 'ipv4', 'icmp', 'tcp', 'udp', 'vxlan', 'dns', 'http'];
const fixtures: Array<[string, number, LayerName[]]> = [
  ['vxlan-eth0', 1, COMMON],
  ['vxlan-any-sll2', 276, ['sll' as const, ...COMMON]],
  ['vxlan-any-sll', 113, ['sll' as const, ...COMMON]],
];

for (const [name, linkType, protocols] of fixtures) {
  test(`${name}.pcap: every packet agrees with tshark field by field`, async (t) => {
    const pcap = await readPcap(fixture(`${name}.pcap`));
    t.is(pcap.linkType, linkType);
    const ours = decodePcap(pcap);
    const theirs = mapTsharkJson(JSON.parse(await readFile(fixture(`${name}.tshark.json`), 'utf8')));
    t.is(ours.length, theirs.length);

    // The comparison must not be vacuous: tshark saw every protocol we claim to decode.
    const seen = new Set(theirs.flatMap((p) => p.layers.map((l) => l.layer)));
    for (const protocol of protocols) t.true(seen.has(protocol), `tshark reports no ${protocol} in ${name}`);

    for (const [i, packet] of ours.entries()) {
      t.is(theirs[i]!.index, packet.index);
      t.is(packet.error, undefined, `packet ${i}: ${packet.summary}`);
      t.deepEqual(compareLayers(packet.layers, theirs[i]!.layers), [], `packet ${i}: ${packet.summary}`);
    }
  });
}

test('the compared fields include the inner frame behind VXLAN', async (t) => {
  const theirs = mapTsharkJson(JSON.parse(await readFile(fixture('vxlan-eth0.tshark.json'), 'utf8')));
  const innerTcp = theirs.flatMap((p) => p.layers).find((l) => l.layer === 'tcp' && l.depth === 1);
  t.truthy(innerTcp);
  for (const key of ['srcPort', 'dstPort', 'seq', 'ack', 'flagsValue', 'flags', 'window', 'headerLength', 'payloadLength']) {
    t.true(key in innerTcp!, `tshark mapping lacks tcp ${key}`);
  }
});

test('compareLayers reports a differing field and a differing layer list', (t) => {
  const ours = [{ layer: 'udp', depth: 0, offset: 0, size: 8, srcPort: 1, dstPort: 53, length: 20, checksum: 0, payloadLength: 12 }] as const;
  t.deepEqual(compareLayers([...ours], [{ layer: 'udp', depth: 0, srcPort: 1, dstPort: 54 }]), ['udp@0.dstPort: ours 53, tshark 54']);
  t.deepEqual(compareLayers([...ours], []), ['layers: ours [udp@0], tshark []']);
});
