// `kubelab walk`: capture on every interface of a path at once, send one exchange, and report each
// hop there and back with the evidence (the packets, the route lookups, the ARP it triggered).
// The edge of the walk: it starts tcpdump in each namespace, runs the client in the source pod,
// stops the captures by PID, and hands the files to the pure decoder and analysis.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { ApiClient } from '../api/client.ts';
import type { KubeObject } from '../api/types.ts';
import { findLayer } from '../capture/decode/find.ts';
import { podChain } from '../policy/compile.ts';
import { evaluate } from '../policy/model.ts';
import type { NetworkPolicy } from '../policy/types.ts';
import { iptablesEndpointChain, iptablesServiceChains, servicePortName } from '../proxy/names.ts';
import type { Pod } from '../api/types.ts';
import { decodePcap } from '../capture/decode/packet.ts';
import type { DecodedPacket } from '../capture/decode/types.ts';
import { readPcap } from '../capture/pcap.ts';
import { createRunner } from '../driver/runner.ts';
import { type IptablesBackend, iptablesTool } from '../driver/iptables.ts';
import { hostNetns, paths, podNetns } from '../naming.ts';
import { readConfig } from '../provider/config.ts';
import { alive, startTime, stopProcess, waitFor } from '../util/proc.ts';
import { analyze, type Flow } from './analyze.ts';
import type { Hop, RouteLookup, WalkReport } from './model.ts';
import { type CapturePoint, type Endpoint, walkPath } from './path.ts';

export interface WalkOptions {
  namespace: string;
  protocol: 'tcp' | 'udp' | 'icmp';
  port?: number;
  pcapDir?: string;
  /** Flush the pods' neighbour caches first, so the walk shows the ARP exchange (default true). */
  arp: boolean;
}

export class WalkError extends Error {}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

function endpointOf(p: Pod): Endpoint {
  if (!p.status?.podIP || !p.spec.nodeName) throw new WalkError(`pod ${p.metadata.namespace}/${p.metadata.name} has no IP yet (${p.status?.phase ?? 'Pending'})`);
  return { pod: `${p.metadata.namespace}/${p.metadata.name}`, namespace: p.metadata.namespace!, name: p.metadata.name, ip: p.status.podIP, node: p.spec.nodeName };
}

export type Target =
  | { kind: 'pod'; pod: Pod; port?: number }
  | { kind: 'service'; service: KubeObject; port?: number; byName: boolean };

/** FROM is a pod; TO is a pod or a service (`name` or `ns/name`), or a pod or ClusterIP, with an optional `:PORT`. */
export async function resolveTarget(client: ApiClient, to: string, namespace: string): Promise<Target> {
  const m = /^(.*?)(?::(\d+))?$/.exec(to)!;
  const [target, portText] = [m[1]!, m[2]];
  const port = portText ? Number(portText) : undefined;
  if (port !== undefined && (port < 1 || port > 65535)) throw new WalkError(`port ${port} is out of range 1-65535`);
  if (IPV4.test(target)) {
    const pod = (await client.list<Pod>('Pod')).items.find((p) => p.status?.podIP === target);
    if (pod) return { kind: 'pod', pod, port };
    const service = (await client.list('Service')).items.find((x) => x.spec?.clusterIP === target);
    if (service) return { kind: 'service', service, port, byName: false };
    throw new WalkError(`no pod or service has the IP ${target}`);
  }
  const [ns, name] = target.includes('/') ? target.split('/', 2) : [namespace, target];
  const pod = await client.find<Pod>('Pod', name!, ns);
  if (pod) return { kind: 'pod', pod, port };
  const service = await client.find('Service', name!, ns);
  if (service) return { kind: 'service', service, port, byName: true };
  throw new WalkError(`no pod or service ${ns}/${name}`);
}

interface ServiceTarget {
  name: string;
  namespace: string;
  serviceName: string;
  vip: string;
  port: number;
  portName: string;
  protocol: 'TCP' | 'UDP';
  endpoints: { endpoint: Endpoint; port: number }[];
}

/** The service's port to use and its ready endpoints (pods with an address) for that port. */
async function serviceTarget(client: ApiClient, target: Extract<Target, { kind: 'service' }>, protocol: 'tcp' | 'udp'): Promise<ServiceTarget> {
  const svc = target.service;
  const name = `${svc.metadata.namespace}/${svc.metadata.name}`;
  if (!svc.spec?.clusterIP || svc.spec.clusterIP === 'None') throw new WalkError(`service ${name} has no virtual IP (headless or ExternalName): walk to one of its pods instead`);
  const want = protocol.toUpperCase();
  const ports: any[] = svc.spec.ports ?? [];
  const sp = target.port !== undefined ? ports.find((p) => p.port === target.port && (p.protocol ?? 'TCP') === want) : ports.find((p) => (p.protocol ?? 'TCP') === want);
  if (!sp) throw new WalkError(`service ${name} has no ${want} port${target.port ? ` ${target.port}` : ''} (it has ${ports.map((p) => `${p.port}/${p.protocol ?? 'TCP'}`).join(', ')})`);
  const eps: any = await client.find('Endpoints', svc.metadata.name, svc.metadata.namespace);
  const pods = (await client.list<Pod>('Pod', { namespace: svc.metadata.namespace })).items;
  const endpoints: ServiceTarget['endpoints'] = [];
  for (const subset of eps?.subsets ?? []) {
    const port = (subset.ports ?? []).find((p: any) => (p.name ?? '') === (sp.name ?? '') && (p.protocol ?? 'TCP') === want);
    if (!port) continue;
    for (const a of subset.addresses ?? []) {
      const pod = pods.find((p) => p.metadata.uid === a.targetRef?.uid);
      if (pod?.status?.podIP && pod.spec.nodeName) endpoints.push({ endpoint: endpointOf(pod), port: port.port });
    }
  }
  return { name, namespace: svc.metadata.namespace!, serviceName: svc.metadata.name, vip: svc.spec.clusterIP, port: sp.port, portName: sp.name ?? '', protocol: want as 'TCP' | 'UDP', endpoints };
}

interface NatEvidence {
  endpointIP: string;
  conntrack: string;
  rules: string[];
}

/**
 * The kernel's own record of the DNAT: the conntrack entry of the exchange (original tuple to the
 * virtual IP, reply tuple from the endpoint), and the proxy rules that chose that endpoint.
 */
async function natEvidence(runner: ReturnType<typeof createRunner>, cluster: string, mode: string, backend: IptablesBackend, src: Endpoint, svc: ServiceTarget, protocol: 'tcp' | 'udp', clientPackets: DecodedPacket[]): Promise<NatEvidence> {
  const nodeNetns = hostNetns(cluster, src.node);
  const first = clientPackets.find((p) => {
    const ip = findLayer(p.layers, 'ipv4');
    return ip?.src === src.ip && ip.dst === svc.vip;
  });
  const l4 = first ? (findLayer(first.layers, protocol) as { srcPort: number } | undefined) : undefined;
  const argv = ['conntrack', '-L', '-p', protocol, '--orig-src', src.ip, '--orig-dst', svc.vip, ...(l4 ? ['--orig-port-src', String(l4.srcPort)] : [])];
  const ct = await runner.run({ argv, netns: nodeNetns, why: 'read the conntrack entry of the walk', readOnly: true, okExit: [1] });
  const line = ct.stdout.split('\n').find((l) => l.includes(`dst=${svc.vip}`)) ?? '';
  // The entry's second src= is the reply tuple's source: the endpoint that answered.
  const endpointIP = [...line.matchAll(/src=(\S+)/g)][1]?.[1] ?? svc.endpoints[0]?.endpoint.ip ?? '';
  const spn = servicePortName(svc.namespace, svc.serviceName, svc.portName);
  let rules: string[] = [];
  if (mode === 'nftables') {
    const out = await runner.run({ argv: ['nft', 'list', 'table', 'ip', 'kube-proxy'], netns: nodeNetns, why: 'read the proxy rules', readOnly: true, okExit: [1] });
    rules = out.stdout.split('\n').map((l) => l.trim()).filter((l) => l.includes(svc.vip) || l.includes(`${endpointIP}:`) || ((l.includes('numgen') || l.startsWith('goto endpoint-')) && l.includes(svc.serviceName)));
  } else {
    const { svc: svcChain } = iptablesServiceChains(spn, svc.protocol.toLowerCase());
    const epPort = svc.endpoints.find((e) => e.endpoint.ip === endpointIP)?.port;
    const sepChain = iptablesEndpointChain(spn, svc.protocol.toLowerCase(), `${endpointIP}:${epPort}`);
    const out = await runner.run({ argv: [iptablesTool(backend, 'iptables-save'), '-t', 'nat'], netns: nodeNetns, why: 'read the proxy rules', readOnly: true });
    rules = out.stdout.split('\n').filter((l) => (l.startsWith('-A KUBE-SERVICES') && l.includes(`${svc.vip}/32`)) || l.startsWith(`-A ${svcChain} `) || l.startsWith(`-A ${sepChain} `));
  }
  return { endpointIP, conntrack: line.trim(), rules };
}

/** Says where the DNAT happened and what undid it on the way back: conntrack, not a proxy rule. */
function annotateNat(hops: Hop[], svc: ServiceTarget, nat: NatEvidence): void {
  const dnat = hops.find((h) => h.direction === 'there' && h.changes.some((c) => c.startsWith('destination NAT')));
  if (!dnat) return;
  dnat.annotations.push({
    source: 'nat',
    text:
      `DNAT by the service proxy's rules in the client's node (nat PREROUTING): ${svc.vip}:${svc.port} -> ${nat.endpointIP}, chosen at random among ${svc.endpoints.length} endpoint(s)` +
      (dnat.interface === 'cni0' ? ' (already done when cni0 sees it: with br_netfilter, PREROUTING runs while the bridge handles the frame)' : ''),
    data: { rules: nat.rules, endpoints: svc.endpoints.map((e) => `${e.endpoint.ip}:${e.port}`) },
  });
  const first = hops.find((h) => h.direction === 'there');
  if (first && dnat.ip.ttl === first.ip.ttl) {
    dnat.annotations.push({
      source: 'nat',
      text: "bridged after the DNAT, not routed (TTL unchanged): br_netfilter saw the new destination on the same bridge, rewrote the destination MAC and let cni0 switch the frame",
    });
  }
  dnat.annotations.push({ source: 'conntrack', text: nat.conntrack || '(no conntrack entry found)' });
  for (const rule of nat.rules) dnat.annotations.push({ source: 'rule', text: rule });
  const undo = hops.find((h) => h.direction === 'back' && h.changes.some((c) => c.startsWith('source NAT')));
  const bridgedBack = undo && hops.some((h) => h.direction === 'back' && h.node === undo.node && h.changes.some((c) => c.startsWith('seen on cni0 only')));
  undo?.annotations.push({
    source: 'conntrack',
    text:
      `un-NAT of the reply by conntrack: nf_nat reverses the DNAT using the entry above (source ${nat.endpointIP} -> ${svc.vip}); no kube-proxy rule rewrites replies, and kube-proxy is not in the path` +
      (bridgedBack ? '. This reply was only bridged: it is un-NATed because bridge-nf-call-iptables=1 sends bridged frames through netfilter; without it the client would get an answer from the pod IP and reset the connection' : ''),
  });
}

/** The DNS queries the client sent and the answers it got, as seen on its own eth0. */
function dnsExchanges(packets: DecodedPacket[]): NonNullable<WalkReport['dns']> {
  const out: NonNullable<WalkReport['dns']> = [];
  for (const p of packets) {
    const d = findLayer(p.layers, 'dns');
    const ip = findLayer(p.layers, 'ipv4');
    if (!d || !ip) continue;
    const q = d.questions[0];
    out.push({
      ts: p.ts,
      direction: d.qr ? 'answer' : 'query',
      server: d.qr ? ip.src : ip.dst,
      id: d.id,
      name: q?.name ?? '',
      type: q?.type ?? '',
      rcode: d.qr ? d.rcodeName : undefined,
      answers: d.answers.map((a) => `${a.type} ${a.data}`),
    });
  }
  return out;
}

/**
 * When NetworkPolicy denies the exchange, the last hop that saw the packet says where it was dropped:
 * the chain of the isolated pod on its node, and the model's reason.
 */
async function annotatePolicy(client: ApiClient, hops: Hop[], src: Endpoint, dst: Endpoint, port: number | undefined, protocol: string): Promise<void> {
  const policies = (await client.list('NetworkPolicy')).items as unknown as NetworkPolicy[];
  if (!policies.length || port === undefined) return;
  const pods = (await client.list<Pod>('Pod')).items;
  const find = (e: Endpoint) => pods.find((p) => p.metadata.namespace === e.namespace && p.metadata.name === e.name);
  const s = find(src);
  const d = find(dst);
  if (!s || !d) return;
  const v = evaluate({ policies, namespaces: (await client.list('Namespace')).items, pods }, { src: { pod: s }, dst: { pod: d }, port, protocol: protocol.toUpperCase() as 'TCP' | 'UDP' });
  if (v.allowed) return;
  const dir = v.egress.allowed ? 'Ingress' : 'Egress';
  const who = dir === 'Ingress' ? dst : src;
  const last = hops.filter((h) => h.direction === 'there').at(-1);
  last?.annotations.push({
    source: 'policy',
    text: `dropped after this hop on ${who.node} by NetworkPolicy: ${podChain(who.pod, dir)} ends in DROP (${v.reasons[dir === 'Ingress' ? 1 : 0]})`,
    data: { chain: podChain(who.pod, dir), node: who.node, policies: dir === 'Ingress' ? v.ingress.policies : v.egress.policies },
  });
}

function defaultPort(pod: Pod, protocol: 'tcp' | 'udp'): number {
  const want = protocol.toUpperCase();
  for (const c of pod.spec.containers) for (const p of c.ports ?? []) if ((p.protocol ?? 'TCP') === want) return p.containerPort;
  return protocol === 'tcp' ? 8080 : 8081;
}

function exchangeArgv(flow: Flow, hostName?: string): string[] {
  // A service named by the user is reached by its name, so the walk shows the DNS lookup too.
  if (flow.protocol === 'tcp') return ['timeout', '5', 'busybox', 'wget', '-qO-', `http://${hostName ?? flow.dstIP}:${flow.port}/`];
  // Debian's busybox nc has no UDP mode: bash's /dev/udp sends one datagram, and dd reads exactly one
  // datagram back (a single read of a whole block; bash's own read would take one byte of it).
  if (flow.protocol === 'udp') return ['bash', '-c', `exec 3<>/dev/udp/${flow.dstIP}/${flow.port}; echo hostname >&3; timeout 3 dd bs=65535 count=1 status=none <&3`];
  return ['busybox', 'ping', '-c', '1', '-W', '2', flow.dstIP];
}

export async function walk(cluster: string, client: ApiClient, from: string, to: string, opts: WalkOptions): Promise<WalkReport> {
  const started = Date.now();
  const cfg = readConfig(cluster);
  const [fromNs, fromName] = from.includes('/') ? from.split('/', 2) : [opts.namespace, from];
  const srcPod = await client.find<Pod>('Pod', fromName!, fromNs);
  if (!srcPod) throw new WalkError(`pod ${fromNs}/${fromName} not found`);
  const target = await resolveTarget(client, to, opts.namespace);
  const src = endpointOf(srcPod);

  // A pod: one path. A service: a path to each of its endpoints, captured at once; the one the proxy
  // chose is known after the exchange, from the conntrack entry.
  let service: ServiceTarget | undefined;
  let candidates: { dst: Endpoint; port?: number }[];
  if (target.kind === 'pod') {
    const port = opts.protocol === 'icmp' ? undefined : (opts.port ?? target.port ?? defaultPort(target.pod, opts.protocol));
    candidates = [{ dst: endpointOf(target.pod), port }];
  } else {
    if (opts.protocol === 'icmp') throw new WalkError('a service\'s ClusterIP does not answer ICMP (kube-proxy only forwards its ports): walk to it with TCP or --udp');
    service = await serviceTarget(client, target, opts.protocol);
    candidates = service.endpoints.map((e) => ({ dst: e.endpoint, port: e.port }));
    if (candidates.length === 0) throw new WalkError(`service ${service.name} has no ready endpoints for port ${service.port}/${service.protocol}`);
  }
  const via = service ? { vip: service.vip, endpoints: candidates.map((c) => c.dst.ip) } : undefined;
  const paths_ = candidates.map((c) => walkPath(cluster, cfg.overlay, src, c.dst, via));
  const points: CapturePoint[] = [];
  for (const p of paths_) for (const pt of p.points) if (!points.some((x) => x.id === pt.id)) points.push(pt);
  const route = { points };

  const runner = createRunner({ transcript: paths.transcript(cluster), component: 'cli/walk' });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kubelab-walk-'));
  const captures: { id: string; file: string; pid: number; startTime: number; log: string }[] = [];
  try {
    // 1. A capture on every interface of the path, each in the namespace that owns it.
    for (const point of route.points) {
      const file = path.join(dir, `${String(captures.length + 1).padStart(2, '0')}-${point.id.replace(/[^\w.-]/g, '_')}.pcap`);
      const log = `${file}.log`;
      const child = runner.spawn(
        { argv: ['tcpdump', '-i', point.iface, '-n', '-U', '--immediate-mode', '-Z', 'root', '-w', file, point.filter], netns: point.netns, why: `capture on ${point.id}`, readOnly: true },
        { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' }, logFile: log },
      );
      child.unref();
      captures.push({ id: point.id, file, pid: child.pid!, startTime: startTime(child.pid!) ?? 0, log });
    }
    const listening = await waitFor(() => captures.every((c) => existsSync(c.log) && readFileSync(c.log, 'utf8').includes('listening on')), 10_000, 10);
    if (!listening) {
      const bad = captures.find((c) => !(existsSync(c.log) && readFileSync(c.log, 'utf8').includes('listening on')))!;
      throw new WalkError(`tcpdump on ${bad.id} did not start: ${existsSync(bad.log) ? readFileSync(bad.log, 'utf8').trim() : 'no output'}`);
    }

    // 2. Forget the pods' neighbours so that the ARP exchange happens in front of the captures.
    if (opts.arp) {
      for (const ns of new Set([podNetns(cluster, src.namespace, src.name), ...candidates.map((c) => podNetns(cluster, c.dst.namespace, c.dst.name))])) {
        await runner.run({ argv: ['ip', 'neigh', 'flush', 'all'], netns: ns, why: 'forget neighbours so the walk shows ARP', owner: 'walk' });
      }
    }

    // 3. One exchange from the source pod (to the service's virtual IP, or to the pod).
    const sendTo: Flow = service
      ? { protocol: opts.protocol, srcIP: src.ip, dstIP: service.vip, port: service.port }
      : { protocol: opts.protocol, srcIP: src.ip, dstIP: candidates[0]!.dst.ip, port: candidates[0]!.port };
    const hostName = service && target.kind === 'service' && target.byName && opts.protocol === 'tcp' ? (service.namespace === src.namespace ? service.serviceName : `${service.serviceName}.${service.namespace}`) : undefined;
    const argv = exchangeArgv(sendTo, hostName);
    const result = await execa('ip', ['netns', 'exec', podNetns(cluster, src.namespace, src.name), ...argv], { reject: false, timeout: 10_000 });
    const exchange = { command: argv.join(' '), ok: result.exitCode === 0, output: String(result.stdout || result.stderr).trim().slice(0, 500) };

    // 4. Stop the captures (SIGINT lets tcpdump flush), read and decode them.
    await new Promise((r) => setTimeout(r, 100));
    for (const c of captures) if (alive({ pid: c.pid, startTime: c.startTime })) process.kill(c.pid, 'SIGINT');
    await Promise.all(captures.map((c) => stopProcess({ pid: c.pid, startTime: c.startTime }, 3000)));
    const packets = new Map<string, DecodedPacket[]>();
    for (const c of captures) packets.set(c.id, existsSync(c.file) ? decodePcap(await readPcap(c.file)) : []);

    // 5. For a service: which endpoint the proxy chose, read from the conntrack entry on the client's node.
    let chosen = candidates[0]!;
    let nat: NatEvidence | undefined;
    if (service) {
      nat = await natEvidence(runner, cluster, cfg.proxyMode, cfg.iptablesBackend, src, service, opts.protocol as 'tcp' | 'udp', packets.get(`${src.name}.eth0`) ?? []);
      chosen = candidates.find((c) => c.dst.ip === nat!.endpointIP) ?? chosen;
    }
    const dst = chosen.dst;
    const port = chosen.port;
    const path_ = paths_[candidates.indexOf(chosen)]!;
    const flow: Flow = { protocol: opts.protocol, srcIP: src.ip, dstIP: dst.ip, port, ...(service ? { vip: service.vip, vipPort: service.port } : {}) };

    // 6. The route lookups at each routing point, and the analysis.
    const routes: RouteLookup[] = [];
    for (const r of path_.routing) {
      const out = await execa(r.argv[0]!, r.argv.slice(1), { reject: false });
      routes.push({ direction: r.direction, node: r.node, netns: r.netns, atPoint: r.atPoint, command: r.argv.join(' '), result: String(out.stdout || out.stderr).trim() });
    }
    const { hops, missed, arp } = analyze(path_.points, packets, flow, path_.sameNode);
    const dns = dnsExchanges(packets.get(`${src.name}.eth0`) ?? []);
    if (service && nat) annotateNat(hops, service, nat);
    await annotatePolicy(client, hops, src, dst, opts.protocol === 'icmp' ? undefined : port, opts.protocol);
    for (const r of routes) {
      const hop = hops.find((h) => h.point === r.atPoint && h.direction === r.direction);
      hop?.annotations.push({ source: 'route', text: `routing decision in ${r.netns}: ${r.result.split('\n')[0]}`, data: { command: r.command } });
    }

    let pcaps: WalkReport['pcaps'];
    if (opts.pcapDir) {
      mkdirSync(opts.pcapDir, { recursive: true });
      pcaps = captures.filter((c) => path_.points.some((p) => p.id === c.id)).map((c) => {
        const target = path.join(opts.pcapDir!, path.basename(c.file));
        if (existsSync(c.file)) copyFileSync(c.file, target);
        return { point: c.id, file: target };
      });
    }
    return {
      schema: 'kubelab.walk/v1',
      from: { pod: src.pod, ip: src.ip, node: src.node },
      to: { pod: dst.pod, ip: dst.ip, node: dst.node, ...(port ? { port } : {}) },
      ...(service ? { service: { name: service.name, clusterIP: service.vip, port: service.port, endpoints: candidates.map((c) => `${c.dst.ip}:${c.port}`), chosen: `${dst.ip}:${port}`, conntrack: nat?.conntrack ?? '', rules: nat?.rules ?? [] } } : {}),
      protocol: opts.protocol,
      overlay: cfg.overlay,
      sameNode: path_.sameNode,
      exchange,
      hops,
      missed,
      arp,
      ...(dns.length ? { dns } : {}),
      routes,
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      ...(pcaps ? { pcaps } : {}),
    };
  } finally {
    await Promise.all(captures.map((c) => stopProcess({ pid: c.pid, startTime: c.startTime }, 1000)));
    rmSync(dir, { recursive: true, force: true });
  }
}
