// `kubelab walk`: capture on every interface of a path at once, send one exchange, and report each
// hop there and back with the evidence (the packets, the route lookups, the ARP it triggered).
// The edge of the walk: it starts tcpdump in each namespace, runs the client in the source pod,
// stops the captures by PID, and hands the files to the pure decoder and analysis.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { ApiClient } from '../api/client.ts';
import type { Pod } from '../api/types.ts';
import { decodePcap } from '../capture/decode/packet.ts';
import type { DecodedPacket } from '../capture/decode/types.ts';
import { readPcap } from '../capture/pcap.ts';
import { createRunner } from '../driver/runner.ts';
import { paths, podNetns } from '../naming.ts';
import { readConfig } from '../provider/config.ts';
import { alive, startTime, stopProcess, waitFor } from '../util/proc.ts';
import { analyze, type Flow } from './analyze.ts';
import type { RouteLookup, WalkReport } from './model.ts';
import { type Endpoint, walkPath } from './path.ts';

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

/** FROM is a pod; TO is a pod (`name` or `ns/name`) or a pod IP, with an optional `:PORT`. */
export async function resolveTarget(client: ApiClient, to: string, namespace: string): Promise<{ pod: Pod; port?: number }> {
  const m = /^(.*?)(?::(\d+))?$/.exec(to)!;
  const [target, portText] = [m[1]!, m[2]];
  const port = portText ? Number(portText) : undefined;
  if (port !== undefined && (port < 1 || port > 65535)) throw new WalkError(`port ${port} is out of range 1-65535`);
  if (IPV4.test(target)) {
    const pod = (await client.list<Pod>('Pod')).items.find((p) => p.status?.podIP === target);
    if (!pod) throw new WalkError(`no pod has the IP ${target} (walks go between pods for now)`);
    return { pod, port };
  }
  const [ns, name] = target.includes('/') ? target.split('/', 2) : [namespace, target];
  const pod = await client.find<Pod>('Pod', name!, ns);
  if (!pod) throw new WalkError(`pod ${ns}/${name} not found`);
  return { pod, port };
}

function defaultPort(pod: Pod, protocol: 'tcp' | 'udp'): number {
  const want = protocol.toUpperCase();
  for (const c of pod.spec.containers) for (const p of c.ports ?? []) if ((p.protocol ?? 'TCP') === want) return p.containerPort;
  return protocol === 'tcp' ? 8080 : 8081;
}

function exchangeArgv(flow: Flow): string[] {
  if (flow.protocol === 'tcp') return ['timeout', '5', 'busybox', 'wget', '-qO-', `http://${flow.dstIP}:${flow.port}/`];
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
  const dst = endpointOf(target.pod);
  const port = opts.protocol === 'icmp' ? undefined : (opts.port ?? target.port ?? defaultPort(target.pod, opts.protocol));
  const flow: Flow = { protocol: opts.protocol, srcIP: src.ip, dstIP: dst.ip, port };
  const route = walkPath(cluster, cfg.overlay, src, dst);

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
      for (const ns of new Set([podNetns(cluster, src.namespace, src.name), podNetns(cluster, dst.namespace, dst.name)])) {
        await runner.run({ argv: ['ip', 'neigh', 'flush', 'all'], netns: ns, why: 'forget neighbours so the walk shows ARP', owner: 'walk' });
      }
    }

    // 3. One exchange from the source pod.
    const argv = exchangeArgv(flow);
    const result = await execa('ip', ['netns', 'exec', podNetns(cluster, src.namespace, src.name), ...argv], { reject: false, timeout: 10_000 });
    const exchange = { command: argv.join(' '), ok: result.exitCode === 0, output: String(result.stdout || result.stderr).trim().slice(0, 500) };

    // 4. Stop the captures (SIGINT lets tcpdump flush), read and decode them.
    await new Promise((r) => setTimeout(r, 100));
    for (const c of captures) if (alive({ pid: c.pid, startTime: c.startTime })) process.kill(c.pid, 'SIGINT');
    await Promise.all(captures.map((c) => stopProcess({ pid: c.pid, startTime: c.startTime }, 3000)));
    const packets = new Map<string, DecodedPacket[]>();
    for (const c of captures) packets.set(c.id, existsSync(c.file) ? decodePcap(await readPcap(c.file)) : []);

    // 5. The route lookups at each routing point, and the analysis.
    const routes: RouteLookup[] = [];
    for (const r of route.routing) {
      const out = await execa(r.argv[0]!, r.argv.slice(1), { reject: false });
      routes.push({ direction: r.direction, node: r.node, netns: r.netns, atPoint: r.atPoint, command: r.argv.join(' '), result: String(out.stdout || out.stderr).trim() });
    }
    const { hops, missed, arp } = analyze(route.points, packets, flow, route.sameNode);
    for (const r of routes) {
      const hop = hops.find((h) => h.point === r.atPoint && h.direction === r.direction);
      hop?.annotations.push({ source: 'route', text: `routing decision in ${r.netns}: ${r.result.split('\n')[0]}`, data: { command: r.command } });
    }

    let pcaps: WalkReport['pcaps'];
    if (opts.pcapDir) {
      mkdirSync(opts.pcapDir, { recursive: true });
      pcaps = captures.map((c) => {
        const target = path.join(opts.pcapDir!, path.basename(c.file));
        if (existsSync(c.file)) copyFileSync(c.file, target);
        return { point: c.id, file: target };
      });
    }
    return {
      schema: 'kubelab.walk/v1',
      from: { pod: src.pod, ip: src.ip, node: src.node },
      to: { pod: dst.pod, ip: dst.ip, node: dst.node, ...(port ? { port } : {}) },
      protocol: opts.protocol,
      overlay: cfg.overlay,
      sameNode: route.sameNode,
      exchange,
      hops,
      missed,
      arp,
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
