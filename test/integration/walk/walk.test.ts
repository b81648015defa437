// Walks through real clusters: on one node, across nodes over VXLAN (and after a node joins), over
// host-gw, with TCP, UDP and ICMP. Every capture the walks take is decoded by tshark too, and the two
// decoders must agree on every packet, field by field. The HTML report is opened in Chromium.
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { compareLayers } from '../../../src/capture/compare.ts';
import { decodePcap } from '../../../src/capture/decode/packet.ts';
import { readPcap } from '../../../src/capture/pcap.ts';
import { tsharkPackets } from '../../../src/capture/tshark.ts';
import type { WalkReport } from '../../../src/walk/model.ts';
import { downCluster, isRoot, kubelab, podYaml, randomName, rootOrSkip, upCluster, waitPodsReady } from '../helpers.ts';

const vx = randomName('walk');
const hg = randomName('walkhg');
const pcapRoot = mkdtempSync(path.join(os.tmpdir(), 'kubelab-walk-test-'));
const pcapDirs: string[] = [];

test.before(async () => {
  if (!isRoot()) return;
  // The VXLAN cluster starts with one worker; node2 joins later, in the test that needs it.
  const client = await upCluster(vx, 1, 'vxlan');
  await kubelab(vx, ['apply', '-f', '-'], { input: [podYaml('a', { node: 'node1' }), podYaml('b', { node: 'node1' })].join('---\n') });
  await waitPodsReady(client, ['a', 'b']);
  const hgClient = await upCluster(hg, 2, 'host-gw');
  await kubelab(hg, ['apply', '-f', '-'], { input: [podYaml('a', { node: 'node1' }), podYaml('c', { node: 'node2' })].join('---\n') });
  await waitPodsReady(hgClient, ['a', 'c']);
});

test.after.always(async () => {
  if (!isRoot()) return;
  await downCluster(vx);
  await downCluster(hg);
  rmSync(pcapRoot, { recursive: true, force: true });
});

async function walk(cluster: string, args: string[]): Promise<WalkReport> {
  const dir = path.join(pcapRoot, `${cluster}-${pcapDirs.length}`);
  pcapDirs.push(dir);
  const r = await kubelab(cluster, ['walk', ...args, '--json', '--pcap-dir', dir]);
  return JSON.parse(r.stdout);
}

const there = (r: WalkReport) => r.hops.filter((h) => h.direction === 'there');
const back = (r: WalkReport) => r.hops.filter((h) => h.direction === 'back');

test.serial('same node: the pods ARP for each other and the bridge switches the frame; nothing is routed', async (t) => {
  if (!rootOrSkip(t)) return;
  const r = await walk(vx, ['a', 'b']);
  t.true(r.exchange.ok, r.exchange.output);
  t.true(r.sameNode);
  const hops = there(r);
  t.deepEqual([hops[0]!.interface, hops.at(-1)!.interface], ['eth0', 'eth0']);
  t.is(hops[0]!.netns.endsWith('pod-default-a'), true);
  t.is(hops.at(-1)!.netns.endsWith('pod-default-b'), true);
  // Not routed: TTL and MACs are the same at the first and the last hop.
  t.is(hops.at(-1)!.ip.ttl, hops[0]!.ip.ttl);
  t.deepEqual(hops.at(-1)!.eth, hops[0]!.eth);
  t.deepEqual(hops[0]!.l4.flags, ['SYN']);
  t.deepEqual(back(r)[0]!.l4.flags?.sort(), ['ACK', 'SYN']);
  // The source pod asked for the destination's MAC itself: same subnet, on-link.
  t.true(r.arp.some((a) => a.op === 'request' && a.summary.startsWith(`who-has ${r.to.ip} tell ${r.from.ip}`)));
  t.true(r.routes[0]!.result.includes('dev eth0'));
});

test.serial('across nodes over VXLAN after node2 joins: encapsulated on the underlay, routed twice', async (t) => {
  if (!rootOrSkip(t)) return;
  await kubelab(vx, ['up', '--nodes', '2']);
  await kubelab(vx, ['apply', '-f', '-'], { input: podYaml('c', { node: 'node2' }) });
  const { apiClient } = await import('../../../src/provider/embedded/cluster.ts');
  await waitPodsReady(apiClient(vx), ['c']);
  const r = await walk(vx, ['a', 'c:8080']);
  t.true(r.exchange.ok, r.exchange.output);
  t.false(r.sameNode);
  const hops = there(r);
  const names = hops.map((h) => `${h.node}/${h.interface}`);
  t.deepEqual(names.slice(2), ['node1/cni0', 'node1/flannel.1', 'node1/eth0', 'switch/node1', 'switch/node2', 'node2/eth0', 'node2/flannel.1', 'node2/cni0', names.at(-2)!, 'node2/eth0']);
  for (const h of hops.filter((x) => x.interface === 'eth0' && (x.node === 'node1' || x.node === 'node2') && !x.netns.includes('-pod-')).concat(hops.filter((x) => x.node === 'switch'))) {
    // The underlay hop: node IPs outside, UDP 8472, VNI 1; pod IPs inside.
    t.is(h.encap?.type, 'vxlan');
    t.is(h.encap?.vni, 1);
    t.is(h.encap?.outer.udpDst, 8472);
    t.is(h.encap?.outer.ipSrc, '192.168.56.11');
    t.is(h.encap?.outer.ipDst, '192.168.56.12');
    t.is(h.ip.src, r.from.ip);
    t.is(h.ip.dst, r.to.ip);
  }
  t.is(hops[0]!.ip.ttl - hops.at(-1)!.ip.ttl, 2, 'routed by node1 and by node2');
  t.true(hops.some((h) => h.changes.some((c) => c.startsWith('encapsulated in VXLAN (VNI 1)'))));
  t.true(hops.some((h) => h.changes.some((c) => c.startsWith('decapsulated'))));
  t.true(r.routes.some((x) => x.direction === 'there' && x.result.includes('dev flannel.1')));
  // The reply takes the same way back, encapsulated from node2 to node1.
  const underlayBack = back(r).find((h) => h.node === 'switch');
  t.is(underlayBack?.encap?.outer.ipSrc, '192.168.56.12');
});

test.serial('UDP and ICMP walks across nodes', async (t) => {
  if (!rootOrSkip(t)) return;
  const udp = await walk(vx, ['a', 'c', '--udp']);
  t.true(udp.exchange.ok, udp.exchange.output);
  t.is(udp.exchange.output, 'c');
  t.is(there(udp)[0]!.l4.protocol, 'udp');
  t.is(there(udp)[0]!.l4.dstPort, 8081);
  t.true(there(udp).some((h) => h.encap?.vni === 1));
  const icmp = await walk(vx, ['a', 'c', '--icmp']);
  t.true(icmp.exchange.ok, icmp.exchange.output);
  t.is(there(icmp)[0]!.l4.icmpType, 8);
  t.is(back(icmp)[0]!.l4.icmpType, 0);
  t.is(there(icmp).length, 12);
  t.is(back(icmp).length, 12);
});

test.serial('across nodes over host-gw: no encapsulation, the node MACs on the underlay', async (t) => {
  if (!rootOrSkip(t)) return;
  const r = await walk(hg, ['a', 'c']);
  t.true(r.exchange.ok, r.exchange.output);
  const hops = there(r);
  t.false(hops.some((h) => h.encap));
  t.false(hops.some((h) => h.interface === 'flannel.1'));
  const onWire = hops.find((h) => h.node === 'switch')!;
  t.is(onWire.ip.src, r.from.ip, 'no NAT: the pod IP is on the wire');
  t.is(onWire.ip.ttl, hops[0]!.ip.ttl - 1);
  t.true(r.routes.some((x) => x.result.includes('via 192.168.56.12 dev eth0')));
});

test.serial('walking to a pod IP, and bad targets get clear errors', async (t) => {
  if (!rootOrSkip(t)) return;
  const c = JSON.parse((await kubelab(vx, ['get', 'pods', 'c', '-o', 'json'])).stdout);
  const r = await walk(vx, ['a', `${c.status.podIP}:8080`]);
  t.is(r.to.pod, 'default/c');
  const missing = await kubelab(vx, ['walk', 'a', 'nosuchpod'], { reject: false });
  t.regex(missing.stderr, /no pod or service default\/nosuchpod/);
  const badPort = await kubelab(vx, ['walk', 'a', 'c:70000'], { reject: false });
  t.regex(badPort.stderr, /port 70000 is out of range/);
});

test.serial('the HTML report draws the path and the hop table (checked in headless Chromium)', async (t) => {
  if (!rootOrSkip(t)) return;
  const file = path.join(pcapRoot, 'walk.html');
  await kubelab(vx, ['walk', 'a', 'c', '--html', file]);
  const profile = mkdtempSync(path.join(os.tmpdir(), 'kubelab-chromium-'));
  t.teardown(() => rmSync(profile, { recursive: true, force: true }));
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`];
  // --dump-dom prints the DOM after the page has loaded and laid out.
  const dom = (await execa('chromium', [...flags, '--dump-dom', `file://${file}`], { timeout: 60_000 })).stdout;
  t.regex(dom, /<svg id="path"/);
  t.is((dom.match(/<tr class="hop there"/g) ?? []).length, 12);
  t.is((dom.match(/<tr class="hop back"/g) ?? []).length, 12);
  t.is((dom.match(/data-vni="1"/g) ?? []).length, 8, 'node1 eth0, both switch ports and node2 eth0 carry VNI 1, each way');
  t.regex(dom, /<b id="outcome">answered<\/b>/);
  const png = path.join(pcapRoot, 'walk.png');
  await execa('chromium', [...flags, `--screenshot=${png}`, '--window-size=1900,900', `file://${file}`], { timeout: 60_000 });
  t.true(existsSync(png));
});

test.serial('every capture the walks took decodes the same with tshark, field by field', async (t) => {
  if (!rootOrSkip(t)) return;
  let packets = 0;
  for (const dir of pcapDirs) {
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.pcap'))) {
      const file = path.join(dir, f);
      const ours = decodePcap(await readPcap(file));
      const theirs = await tsharkPackets(file);
      t.is(ours.length, theirs.length, `${file}: packet count`);
      for (const [i, p] of ours.entries()) t.deepEqual(compareLayers(p.layers, theirs[i]!.layers), [], `${file} packet ${i}: ${p.summary}`);
      packets += ours.length;
    }
  }
  t.true(packets > 100, `compared ${packets} packets`);
  t.log(`${packets} packets from ${pcapDirs.length} walks agree with tshark`);
});


