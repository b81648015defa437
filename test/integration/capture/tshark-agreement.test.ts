// Real VXLAN traffic between two throwaway namespaces, captured by tcpdump on four interfaces
// (Ethernet underlay, Ethernet overlay, `any` as SLL2 and as SLL), decoded by us and by tshark:
// every packet must agree field by field.

import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareLayers } from '../../../src/capture/compare.ts';
import { decodePcap, findLayer, readPcap, type DecodedPacket, type LayerName } from '../../../src/capture/index.ts';
import { tsharkPackets } from '../../../src/capture/tshark.ts';
import type { TsharkPacket } from '../../../src/capture/tshark-map.ts';
import { OVERLAY, UNDERLAY, createLab, isRoot, missingTools } from './helpers/netns-lab.ts';

const TOOLS = ['ip', 'tcpdump', 'tshark', 'busybox', 'dig', 'node'];

// A DNS server that answers every A question with 10.96.0.5, and a UDP echo on port 9999.
const SERVER = `
import dgram from 'node:dgram';
import { createRequire } from 'node:module';
const dns = createRequire(process.argv[1])('dns-packet');
const addr = process.argv[2];
const dnsSock = dgram.createSocket('udp4');
dnsSock.on('message', (msg, peer) => {
  const q = dns.decode(msg);
  const reply = dns.encode({ type: 'response', id: q.id, flags: dns.AUTHORITATIVE_ANSWER | (q.flags & dns.RECURSION_DESIRED),
    questions: q.questions, answers: q.questions.map((x) => ({ type: 'A', class: 'IN', name: x.name, ttl: 30, data: '10.96.0.5' })) });
  dnsSock.send(reply, peer.port, peer.address);
});
const echo = dgram.createSocket('udp4');
echo.on('message', (msg, peer) => echo.send(msg, peer.port, peer.address));
let bound = 0;
const ready = () => { if (++bound === 2) console.log('ready'); };
dnsSock.bind(53, addr, ready);
echo.bind(9999, addr, ready);
`;

const UDP_CLIENT = `
import dgram from 'node:dgram';
const [host, port, text, wait] = process.argv.slice(1);
const s = dgram.createSocket('udp4');
const timer = setTimeout(() => { console.log('no reply'); s.close(); }, Number(wait));
s.on('message', (m) => { clearTimeout(timer); console.log(m.toString()); s.close(); });
s.send(Buffer.from(text), Number(port), host);
`;

test('our decoder agrees with tshark on live VXLAN, ICMP, ARP, TCP/HTTP, UDP and DNS captures', async (t) => {
  // Without root (or the tools) skip with a reason locally, but fail loudly in CI.
  const missing = isRoot() ? await missingTools(TOOLS) : [];
  const reason = !isRoot() ? 'needs root to create network namespaces' : missing.length > 0 ? `missing tools: ${missing.join(', ')}` : null;
  if (reason !== null) {
    if (process.env.CI === 'true') {
      t.fail(`${reason} (CI=true, so not skipping)`);
    } else {
      t.log(`skipped: ${reason}`);
      t.pass();
    }
    return;
  }

  const dir = await mkdtemp(join(tmpdir(), 'kltest-capture-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const lab = await createLab();
  t.teardown(async () => {
    const failures = await lab.destroy();
    if (failures.length > 0) console.error(`cleanup failures:\n${failures.join('\n')}`);
  });

  await writeFile(join(dir, 'index.html'), 'hello from b\n');
  const repoPackageJson = new URL('../../../package.json', import.meta.url).pathname;
  await writeFile(join(dir, 'server.mjs'), SERVER);
  await writeFile(join(dir, 'udp-client.mjs'), UDP_CLIENT);

  // Servers in b.
  await lab.spawn(lab.b, ['busybox', 'httpd', '-f', '-p', '80', '-h', dir], null);
  await lab.waitForListen(lab.b, 80);
  await lab.spawn(lab.b, ['node', '--input-type=module', '-e', SERVER, repoPackageJson, OVERLAY.b], /ready/);

  // Captures: -Z root keeps tcpdump from dropping to a user that cannot write our temp dir;
  // --immediate-mode so SIGINT loses nothing still sitting in the kernel's ring buffer.
  const captures: Array<{ name: string; ns: string; args: string[]; linkType: number }> = [
    { name: 'a-eth0', ns: lab.a, args: ['-i', 'eth0'], linkType: 1 },
    { name: 'b-flannel', ns: lab.b, args: ['-i', 'flannel.1'], linkType: 1 },
    { name: 'a-any', ns: lab.a, args: ['-i', 'any'], linkType: 276 },
    { name: 'b-any', ns: lab.b, args: ['-y', 'LINUX_SLL', '-i', 'any'], linkType: 113 },
  ];
  const tcpdumps = [];
  for (const c of captures) {
    const file = join(dir, `${c.name}.pcap`);
    tcpdumps.push(await lab.spawn(c.ns, ['tcpdump', '-Z', 'root', '--immediate-mode', '-U', '-n', ...c.args, '-w', file], /listening on/, 'stderr'));
  }

  // Traffic, only between the two namespaces.
  await lab.exec(lab.a, ['busybox', 'ping', '-c', '3', '-i', '0.2', OVERLAY.b]);
  await lab.exec(lab.a, ['busybox', 'ping', '-c', '2', '-i', '0.2', UNDERLAY.b]);
  // 2000 bytes do not fit flannel.1's MTU: the inner datagram is fragmented.
  await lab.exec(lab.a, ['busybox', 'ping', '-c', '1', '-s', '2000', OVERLAY.b]);
  const page = await lab.exec(lab.a, ['busybox', 'wget', '-q', '-O', '-', `http://${OVERLAY.b}/index.html`]);
  t.is(page.trim(), 'hello from b');
  const answer = await lab.exec(lab.a, ['dig', '+tries=1', '+time=3', '+short', `@${OVERLAY.b}`, '-p', '53', 'web.default.svc.cluster.local']);
  t.is(answer.trim(), '10.96.0.5');
  const echoed = await lab.exec(lab.a, ['node', '--input-type=module', '-e', UDP_CLIENT, OVERLAY.b, '9999', 'ping-udp', '3000']);
  t.is(echoed.trim(), 'ping-udp');
  // Nobody listens on 9998: b answers with ICMP port unreachable.
  await lab.exec(lab.a, ['node', '--input-type=module', '-e', UDP_CLIENT, OVERLAY.b, '9998', 'nobody', '500']);
  await new Promise((r) => setTimeout(r, 300));
  for (const proc of tcpdumps) await lab.interrupt(proc);

  const seen = new Map<LayerName, number>();
  const all: DecodedPacket[] = [];
  for (const c of captures) {
    const file = join(dir, `${c.name}.pcap`);
    const pcap = await readPcap(file);
    t.is(pcap.linkType, c.linkType, `${c.name} link type`);
    const ours = decodePcap(pcap);
    const theirs: TsharkPacket[] = await tsharkPackets(file);
    t.true(ours.length > 10, `${c.name} captured ${ours.length} packets`);
    t.is(ours.length, theirs.length, `${c.name}: packet count`);
    for (const [i, packet] of ours.entries()) {
      t.is(packet.error, undefined, `${c.name} packet ${i}: ${packet.summary}`);
      t.deepEqual(compareLayers(packet.layers, theirs[i]!.layers), [], `${c.name} packet ${i}: ${packet.summary}`);
      for (const l of theirs[i]!.layers) seen.set(l.layer, (seen.get(l.layer) ?? 0) + 1);
    }
    all.push(...ours);
    t.log(`${c.name}: ${ours.length} packets agree`);
  }

  // The agreement covered every protocol (so it was not vacuous) ...
  for (const name of ['sll', 'ethernet', 'arp', 'ipv4', 'icmp', 'tcp', 'udp', 'vxlan', 'dns', 'http'] as const) {
    t.true((seen.get(name) ?? 0) > 0, `tshark reported no ${name} layer in any capture`);
  }
  // ... including the inner frames behind VXLAN and the traffic we generated.
  const inner = all.filter((p) => findLayer(p.layers, 'vxlan'));
  t.true(inner.some((p) => findLayer(p.layers, 'tcp', 1)?.dstPort === 80), 'an inner TCP segment to port 80');
  t.true(inner.some((p) => findLayer(p.layers, 'ipv4', 1)?.mf === true), 'an inner first fragment');
  t.true(all.some((p) => { const h = findLayer(p.layers, 'http'); return h?.kind === 'request' && h.host === OVERLAY.b && h.target === '/index.html'; }));
  t.true(all.some((p) => findLayer(p.layers, 'dns')?.questions[0]?.name === 'web.default.svc.cluster.local'));
  t.true(all.some((p) => findLayer(p.layers, 'icmp')?.type === 3), 'ICMP port unreachable for UDP 9998');
});
