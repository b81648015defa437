// Every chain, set and comment name the proxy generators print, derived exactly as kube-proxy derives
// them, so a learner can put kubelab's `iptables-save` or `nft list table` beside a real node's.
import { createHash } from 'node:crypto';

/** iptables chain names are at most 28 characters (XT_EXTENSION_MAXNAMELEN 29 with the NUL). */
export const IPTABLES_CHAIN_MAX = 28;
/** knftables' NameLengthMax: nft object names are at most 256 characters. */
export const NFT_NAME_MAX = 256;
/** kube-proxy reserves 16 characters for its nft prefixes (`endpoint-`, `affinity-`, ...). */
const NFT_PREFIX_MAX = 16;
const NFT_BASE_MAX = NFT_NAME_MAX - NFT_PREFIX_MAX;

const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (Go's base32.StdEncoding) without padding; callers truncate anyway. */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32_ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32_ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

// Every sync names every chain again, and at 10,000 services that is 40,000 hashes: remember them
// (bounded; the names of a cluster's current services stay in it).
const hashed = new Map<string, string>();
const HASH_CACHE_LIMIT = 200_000;

function sha256Base32(text: string): string {
  let h = hashed.get(text);
  if (h === undefined) {
    h = base32(createHash('sha256').update(text).digest());
    if (hashed.size >= HASH_CACHE_LIMIT) hashed.clear();
    hashed.set(text, h);
  }
  return h;
}

/** kube-proxy's ServicePortName.String(): `ns/name:port`, or `ns/name` when the port has no name. */
export function servicePortName(namespace: string, name: string, portName: string): string {
  return portName ? `${namespace}/${name}:${portName}` : `${namespace}/${name}`;
}

/** `ip:port`, kube-proxy's endpoint String() for IPv4. */
export function endpointString(ip: string, port: number): string {
  return `${ip}:${port}`;
}

/** The 16-character suffix of a service's chains: base32(sha256(portName + protocol))[:16]. */
export function portProtoHash(svcPortName: string, protocol: string): string {
  return sha256Base32(svcPortName + protocol).slice(0, 16);
}

/** iptables chain names of one service port (protocol lower-case, as kube-proxy passes it). */
export function iptablesServiceChains(svcPortName: string, protocol: string) {
  const hash = portProtoHash(svcPortName, protocol);
  return {
    /** Dispatch to all usable endpoints (Cluster traffic policy). */
    svc: `KUBE-SVC-${hash}`,
    /** Dispatch to this node's endpoints (Local traffic policy). */
    svl: `KUBE-SVL-${hash}`,
    /** External destinations: NodePort, LoadBalancer and external IPs. */
    ext: `KUBE-EXT-${hash}`,
    /** loadBalancerSourceRanges filter. */
    fw: `KUBE-FW-${hash}`,
  };
}

/** KUBE-SEP-<base32(sha256(portName + protocol + "ip:port"))[:16]>. */
export function iptablesEndpointChain(svcPortName: string, protocol: string, endpoint: string): string {
  return `KUBE-SEP-${sha256Base32(svcPortName + protocol + endpoint).slice(0, 16)}`;
}

/** The prefixes that mark a nat chain as a per-service chain (the ones a sync may delete). */
export const IPTABLES_SERVICE_CHAIN_PREFIXES = ['KUBE-SVC-', 'KUBE-SVL-', 'KUBE-SEP-', 'KUBE-FW-', 'KUBE-EXT-'];

/**
 * kube-proxy's nftables hashAndTruncate: 8 base32 characters of sha256(name), a dash, the readable
 * name; truncated with `...` if it would not fit (it never does for valid Kubernetes names).
 */
function hashAndTruncate(name: string): string {
  const full = `${sha256Base32(name).slice(0, 8)}-${name}`;
  return full.length > NFT_BASE_MAX ? `${full.slice(0, NFT_BASE_MAX - 3)}...` : full;
}

/** `HASH-ns/name/proto/port`: the base of a service port's nft chain names. */
export function nftServiceBase(namespace: string, name: string, protocol: string, portName: string): string {
  return hashAndTruncate(`${namespace}/${name}/${protocol}/${portName}`);
}

/** `HASH-ns/name/proto/port__ip/port`: the base of an endpoint's chain and affinity set names. */
export function nftEndpointBase(
  namespace: string,
  name: string,
  protocol: string,
  portName: string,
  ip: string,
  port: number,
): string {
  // IPv6 colons are not allowed in nft names; kube-proxy turns them into dots.
  return hashAndTruncate(`${namespace}/${name}/${protocol}/${portName}__${ip.replaceAll(':', '.')}/${port}`);
}

export function nftServiceChains(base: string) {
  return {
    cluster: `service-${base}`,
    local: `local-${base}`,
    external: `external-${base}`,
    firewall: `firewall-${base}`,
  };
}

export function nftEndpointNames(base: string) {
  return { chain: `endpoint-${base}`, affinitySet: `affinity-${base}` };
}

/** nft's per-service chains all contain a slash; none of the fixed chains do. */
export function isNftServiceChain(name: string): boolean {
  return name.includes('/');
}

/** The comment on the rules kubelab adds to built-in chains, so a sweep can find them. */
export function kubelabJumpComment(cluster: string, what: string): string {
  return `kubelab:${cluster} ${what}`;
}
