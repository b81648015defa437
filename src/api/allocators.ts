// Pure allocation of the addresses and ports a Service gets from the API server: a ClusterIP from the
// service range and NodePorts from 30000-32767. A requested value is honoured if it is in range and
// free, or refused with the field that asked for it; otherwise the lowest free one is handed out, so
// lab addresses are predictable. 10.96.0.1 (kubernetes) and 10.96.0.10 (DNS) are given only on request.
import { intToIp, ipToInt, maskBits } from '../controllers/podcidr.ts';
import type { FieldError } from './schema.ts';

export const SERVICE_CIDR = '10.96.0.0/12';
export const NODEPORT_RANGE: [number, number] = [30000, 32767];
const RESERVED = new Set(['10.96.0.1', '10.96.0.10']);

export function inCidr(ip: string, cidr: string): boolean {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip) || ip.split('.').some((o) => Number(o) > 255)) return false;
  const [base, bits] = cidr.split('/');
  const mask = maskBits(Number(bits));
  return ((ipToInt(ip) & mask) >>> 0) === ((ipToInt(base!) & mask) >>> 0);
}

export function allocateClusterIP(used: Set<string>, requested?: string): { ip: string } | { error: FieldError } {
  if (requested) {
    if (!inCidr(requested, SERVICE_CIDR)) return { error: { path: 'spec.clusterIP', message: `Invalid value: ${JSON.stringify(requested)}: provided IP is not in the valid range. The range of valid IPs is ${SERVICE_CIDR}` } };
    if (used.has(requested)) return { error: { path: 'spec.clusterIP', message: `Invalid value: ${JSON.stringify(requested)}: provided IP is already allocated` } };
    return { ip: requested };
  }
  const [base, bits] = SERVICE_CIDR.split('/');
  const first = (ipToInt(base!) & maskBits(Number(bits))) >>> 0;
  const size = 2 ** (32 - Number(bits));
  for (let i = 1; i < size - 1; i++) {
    const ip = intToIp(first + i);
    if (!used.has(ip) && !RESERVED.has(ip)) return { ip };
  }
  return { error: { path: 'spec.clusterIP', message: `no ClusterIP left in ${SERVICE_CIDR}` } };
}

export function allocateNodePort(used: Set<number>, requested: number | undefined, path: string): { port: number } | { error: FieldError } {
  const [lo, hi] = NODEPORT_RANGE;
  if (requested !== undefined) {
    if (requested < lo || requested > hi) return { error: { path, message: `Invalid value: ${requested}: provided port is not in the valid range. The range of valid ports is ${lo}-${hi}` } };
    if (used.has(requested)) return { error: { path, message: `Invalid value: ${requested}: provided port is already allocated` } };
    return { port: requested };
  }
  for (let p = lo; p <= hi; p++) if (!used.has(p)) return { port: p };
  return { error: { path, message: 'no NodePort left' } };
}

export const LB_POOL = { first: 200, last: 250, prefix: '203.0.113' };

export function allocateLoadBalancerIP(used: Set<string>): string | undefined {
  for (let i = LB_POOL.first; i <= LB_POOL.last; i++) if (!used.has(`${LB_POOL.prefix}.${i}`)) return `${LB_POOL.prefix}.${i}`;
  return undefined;
}
