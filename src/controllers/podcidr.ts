// Pure allocation of each node's pod subnet out of the cluster CIDR, flannel style: one /24 per
// node, the one the node asks for by index when free, else the lowest free one.
import ipaddr from 'ipaddr.js';

export function allocatePodCIDR(clusterCIDR: string, nodeMaskLength: number, used: Iterable<string>, preferredIndex?: number): string {
  const [base, prefix] = ipaddr.IPv4.parseCIDR(clusterCIDR);
  if (nodeMaskLength < prefix) throw new Error(`node mask /${nodeMaskLength} is larger than the cluster CIDR ${clusterCIDR}`);
  const taken = new Set([...used].map((c) => c.trim()));
  const baseInt = ipToInt(base.toString()) & maskBits(prefix);
  const count = 2 ** (nodeMaskLength - prefix);
  const step = 2 ** (32 - nodeMaskLength);
  // A node may ask for the n-th subnet (kubelab's nodes do, so that node1 is 10.244.1.0/24 in every lab).
  if (preferredIndex !== undefined && preferredIndex >= 0 && preferredIndex < count) {
    const cidr = `${intToIp(baseInt + preferredIndex * step)}/${nodeMaskLength}`;
    if (!taken.has(cidr)) return cidr;
  }
  for (let i = 0; i < count; i++) {
    const cidr = `${intToIp(baseInt + i * step)}/${nodeMaskLength}`;
    if (!taken.has(cidr)) return cidr;
  }
  throw new Error(`no free /${nodeMaskLength} left in ${clusterCIDR} (${count} in use)`);
}

export function maskBits(prefix: number): number {
  return prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
}

export function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => (acc * 256 + Number(o)) >>> 0, 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}
