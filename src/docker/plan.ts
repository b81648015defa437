// src/docker owns the seed lesson "Docker networking": on one node, a docker0 bridge and containers
// in the four network modes, with -p publishing, programmed the way dockerd programs them, so a learner
// can hold Docker's model beside Kubernetes'. This file is the pure half: names, addresses, the ip
// commands and the iptables rules. It must not run anything (src/docker/engine.ts applies it).
//
// What dockerd does, and we do (dockerd with --userland-proxy=false, its hairpin-NAT mode):
//   bridge     docker0 172.17.0.1/16 in the node; per container a veth, an address, a default route
//   publish    nat DOCKER chain: DNAT hostPort -> containerIP:port, reached from PREROUTING and OUTPUT
//              for local destinations; a MASQUERADE for the hairpin case (a container reaching itself
//              through the published port) and hairpin mode on the bridge port
//   egress     POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
//   forward    filter DOCKER chain accepts published ports; established traffic back; docker0 out
import { createHash } from 'node:crypto';

export const DOCKER_BRIDGE = 'docker0';
export const DOCKER_SUBNET = '172.17.0.0/16';
export const DOCKER_GATEWAY = '172.17.0.1';

export type NetworkMode = { kind: 'bridge' } | { kind: 'host' } | { kind: 'none' } | { kind: 'container'; name: string };

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
  /** Empty: every address of the node (0.0.0.0). */
  hostIP?: string;
}

export class DockerUsageError extends Error {}

export function parseNetworkMode(text: string): NetworkMode {
  if (text === 'bridge' || text === 'default') return { kind: 'bridge' };
  if (text === 'host') return { kind: 'host' };
  if (text === 'none') return { kind: 'none' };
  if (text.startsWith('container:') && text.length > 'container:'.length) return { kind: 'container', name: text.slice('container:'.length) };
  throw new DockerUsageError(`--network ${JSON.stringify(text)}: expected bridge, host, none or container:NAME`);
}

const port = (s: string, what: string, spec: string): number => {
  const n = Number(s);
  if (!/^\d+$/.test(s) || n < 1 || n > 65535) throw new DockerUsageError(`-p ${spec}: invalid ${what} ${JSON.stringify(s)} (1-65535)`);
  return n;
};

/** `-p [IP:]HOST:CONTAINER[/tcp|udp]` or `-p CONTAINER` (then the same port on the host). */
export function parsePublish(spec: string): PortMapping {
  let [ports, proto = 'tcp'] = spec.split('/');
  if (proto !== 'tcp' && proto !== 'udp') throw new DockerUsageError(`-p ${spec}: protocol must be tcp or udp`);
  const parts = ports!.split(':');
  if (parts.length === 1) return { hostPort: port(parts[0]!, 'port', spec), containerPort: port(parts[0]!, 'port', spec), protocol: proto };
  if (parts.length === 2) return { hostPort: port(parts[0]!, 'host port', spec), containerPort: port(parts[1]!, 'container port', spec), protocol: proto };
  if (parts.length === 3) {
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(parts[0]!)) throw new DockerUsageError(`-p ${spec}: ${JSON.stringify(parts[0])} is not an IPv4 address`);
    return { hostIP: parts[0]!, hostPort: port(parts[1]!, 'host port', spec), containerPort: port(parts[2]!, 'container port', spec), protocol: proto };
  }
  throw new DockerUsageError(`-p ${spec}: expected [IP:]HOSTPORT:CONTAINERPORT[/PROTO]`);
}

export function validateContainerName(name: string): void {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/.test(name)) throw new DockerUsageError(`container name ${JSON.stringify(name)}: use letters, digits, '_', '.', '-' (as Docker)`);
}

/** The container's network namespace (named with the cluster's prefix, so `down` finds it). */
export const dockerNetns = (cluster: string, node: string, name: string) => `kl-${cluster}-dkr-${node}-${name}`.slice(0, 200);

/** Host side of the container's veth: `veth` + 7 hex, as Docker names them. */
export const dockerHostVeth = (node: string, name: string) => `veth${createHash('sha256').update(`docker/${node}/${name}`).digest('hex').slice(0, 7)}`;

/** The first free address of 172.17.0.0/16 after the gateway. */
export function allocateAddress(used: readonly string[]): string {
  const taken = new Set(used);
  for (let i = 2; i < 65534; i++) {
    const ip = `172.17.${i >> 8}.${i & 255}`;
    if (!taken.has(ip)) return ip;
  }
  throw new DockerUsageError('172.17.0.0/16 is full');
}

/** ip -batch lines that make docker0 in the node's namespace (run once; idempotent by checking first). */
export function bridgeBatch(): string {
  return [`link add ${DOCKER_BRIDGE} type bridge`, `addr add ${DOCKER_GATEWAY}/16 dev ${DOCKER_BRIDGE}`, `link set ${DOCKER_BRIDGE} up`].join('\n') + '\n';
}

/** ip -batch lines, in the node's namespace, wiring a bridge-mode container's namespace to docker0. */
export function attachBatch(netns: string, hostVeth: string, ip: string): { node: string; container: string } {
  return {
    node:
      [
        `link add ${hostVeth} type veth peer name eth0 netns ${netns}`,
        `link set ${hostVeth} master ${DOCKER_BRIDGE}`,
        // Hairpin: a container may reach itself through a published port (the DNAT sends it back out
        // of the port it came in on).
        `link set ${hostVeth} type bridge_slave hairpin on`,
        `link set ${hostVeth} up`,
      ].join('\n') + '\n',
    container: [`link set lo up`, `addr add ${ip}/16 dev eth0`, `link set eth0 up`, `route add default via ${DOCKER_GATEWAY}`].join('\n') + '\n',
  };
}

export interface PublishedContainer {
  ip: string;
  ports: PortMapping[];
}

/** The base jumps dockerd installs once, as iptables argv (checked with -C before -A). */
export function baseRules(): string[][] {
  return [
    ['-t', 'nat', '-A', 'PREROUTING', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'DOCKER'],
    ['-t', 'nat', '-A', 'OUTPUT', '!', '-d', '127.0.0.0/8', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'DOCKER'],
    ['-t', 'nat', '-A', 'POSTROUTING', '-s', DOCKER_SUBNET, '!', '-o', DOCKER_BRIDGE, '-j', 'MASQUERADE'],
    ['-t', 'filter', '-A', 'FORWARD', '-o', DOCKER_BRIDGE, '-j', 'DOCKER'],
    ['-t', 'filter', '-A', 'FORWARD', '-o', DOCKER_BRIDGE, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT'],
    ['-t', 'filter', '-A', 'FORWARD', '-i', DOCKER_BRIDGE, '-j', 'ACCEPT'],
  ];
}

/**
 * The DOCKER chains (nat and filter) for every published port, as an iptables-restore --noflush
 * payload: declaring the chains flushes them, so the whole set is replaced in one transaction.
 * DOCKER-HAIRPIN-style MASQUERADE rules live in their own chain, jumped to from POSTROUTING.
 */
export function dockerChains(containers: readonly PublishedContainer[]): string {
  const nat = ['*nat', ':DOCKER - [0:0]', ':DOCKER-POSTROUTING - [0:0]'];
  const filter = ['*filter', ':DOCKER - [0:0]'];
  for (const c of containers) {
    for (const p of c.ports) {
      const dst = p.hostIP ? ['-d', `${p.hostIP}/32`] : [];
      nat.push(['-A', 'DOCKER', ...dst, '-p', p.protocol, '-m', p.protocol, '--dport', String(p.hostPort), '-j', 'DNAT', '--to-destination', `${c.ip}:${p.containerPort}`].join(' '));
      nat.push(['-A', 'DOCKER-POSTROUTING', '-s', `${c.ip}/32`, '-d', `${c.ip}/32`, '-p', p.protocol, '-m', p.protocol, '--dport', String(p.containerPort), '-j', 'MASQUERADE'].join(' '));
      filter.push(['-A', 'DOCKER', '-d', `${c.ip}/32`, '!', '-i', DOCKER_BRIDGE, '-o', DOCKER_BRIDGE, '-p', p.protocol, '-m', p.protocol, '--dport', String(p.containerPort), '-j', 'ACCEPT'].join(' '));
    }
  }
  return [...nat, 'COMMIT', ...filter, 'COMMIT', ''].join('\n');
}

export const hairpinJump = (): string[] => ['-t', 'nat', '-A', 'POSTROUTING', '-j', 'DOCKER-POSTROUTING'];
