// Pure: kube-proxy's IPVS mode for a set of services. Every ClusterIP is bound to the dummy device
// kube-ipvs0 (so the node accepts packets for it, and IPVS sees them at LOCAL_IN), and each service
// port is an IPVS virtual server with round robin over its endpoints as real servers in masquerade
// (NAT) mode; ClientIP session affinity is IPVS persistence with the affinity timeout.
// `ipvsAvailable` tells whether the running kernel has IPVS at all (our CI machines' kernel does not).
import { existsSync } from 'node:fs';
import type { Cmd } from '../driver/command.ts';
import { servicePortName } from './names.ts';
import type { ProxyInput } from './types.ts';

export const IPVS_DEVICE = 'kube-ipvs0';

/** `ipvsadm-restore` input: virtual servers (-A) and their real servers (-a). */
export function ipvsRestore(input: ProxyInput): string {
  const lines: string[] = [];
  for (const s of [...input.services].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`))) {
    if (!s.clusterIP || s.clusterIP === 'None') continue;
    for (const p of s.ports) {
      if (p.protocol === 'SCTP') continue;
      const flag = p.protocol === 'UDP' ? '-u' : '-t';
      const vs = `${s.clusterIP}:${p.port}`;
      const persistent = s.sessionAffinity === 'ClientIP' ? ` -p ${s.sessionAffinityTimeoutSeconds ?? 10800}` : '';
      lines.push(`-A ${flag} ${vs} -s rr${persistent}`);
      for (const e of input.endpoints[servicePortName(s.namespace, s.name, p.name)] ?? []) {
        if (!e.ready) continue;
        lines.push(`-a ${flag} ${vs} -r ${e.ip}:${e.port} -m -w 1`);
      }
    }
  }
  return lines.join('\n') + '\n';
}

/** The dummy device holding every ClusterIP, as `ip -batch` lines. */
export function ipvsDeviceBatch(input: ProxyInput): string {
  const lines = [`link add ${IPVS_DEVICE} type dummy`, `link set ${IPVS_DEVICE} up`];
  const ips = new Set(input.services.map((s) => s.clusterIP).filter((ip) => ip && ip !== 'None'));
  for (const ip of [...ips].sort()) lines.push(`addr add ${ip}/32 dev ${IPVS_DEVICE}`);
  return lines.join('\n') + '\n';
}

export function ipvsCommands(input: ProxyInput, netns?: string): Cmd[] {
  return [
    { argv: ['ip', '-batch', '-'], netns, input: ipvsDeviceBatch(input), why: `${IPVS_DEVICE}: every ClusterIP is a local address of this dummy device`, owner: 'node/proxy' },
    { argv: ['ipvsadm', '-C'], netns, why: 'clear the IPVS table before restoring it', owner: 'node/proxy' },
    { argv: ['ipvsadm-restore'], netns, input: ipvsRestore(input), why: 'IPVS virtual servers (round robin, masquerade) for every service port', owner: 'node/proxy' },
  ];
}

export function ipvsAvailable(): boolean {
  return existsSync('/proc/net/ip_vs');
}

export const IPVS_MISSING =
  "proxy mode ipvs needs the kernel's IP Virtual Server (CONFIG_IP_VS, module ip_vs), which this kernel does not have and cannot load: use --proxy-mode iptables or --proxy-mode nftables (kubelab proves its IPVS configuration in a qemu guest instead)";
