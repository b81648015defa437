// From Services + endpoints + node facts to the per-service-port facts both generators need, with
// kube-proxy's semantics: which services are proxied at all, which endpoints serve Cluster and Local
// traffic policy (CategorizeEndpoints), and whether the port is reachable from outside. Bad input is
// rejected here, naming the service and field, before any text is generated.
import ipaddr from 'ipaddr.js';
import { endpointString, servicePortName } from './names.ts';
import type { Endpoint, ProxyInput, Service } from './types.ts';

/** Kubernetes' default for sessionAffinityConfig.clientIP.timeoutSeconds. */
export const DEFAULT_AFFINITY_SECONDS = 10800;

export interface EndpointModel {
  ip: string;
  port: number;
  local: boolean;
  /** `ip:port` */
  str: string;
}

export interface ServicePortModel {
  namespace: string;
  name: string;
  /** `ns/name` — the unit kube-proxy's partial sync tracks changes by. */
  serviceKey: string;
  portName: string;
  /** `ns/name:port`, the text of kube-proxy's comments. */
  nameString: string;
  /** Lower-case, as kube-proxy writes it in rules and hashes. */
  protocol: 'tcp' | 'udp' | 'sctp';
  clusterIP: string;
  port: number;
  nodePort: number;
  externalIPs: string[];
  loadBalancerVIPs: string[];
  loadBalancerSourceRanges: string[];
  /** Seconds of ClientIP affinity, or null without affinity. */
  affinitySeconds: number | null;
  internalPolicyLocal: boolean;
  externalPolicyLocal: boolean;
  externallyAccessible: boolean;
  clusterEndpoints: EndpointModel[];
  localEndpoints: EndpointModel[];
  /** Endpoints that get a KUBE-SEP / endpoint- chain on this node. */
  reachableEndpoints: EndpointModel[];
  /** Some endpoint anywhere in the cluster can serve this port. */
  hasEndpoints: boolean;
}

export interface ProxyModel {
  ports: ServicePortModel[];
  /** A fingerprint of each proxied service's inputs (spec and endpoints), by `ns/name`. */
  fingerprints: Map<string, string>;
  /** A fingerprint of the node facts: when they change, only a full sync is correct. */
  nodeFingerprint: string;
  totalEndpoints: number;
}

export class ProxyInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProxyInputError';
  }
}

function isIPv4(text: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(text);
}

function isIPv4CIDR(text: string): boolean {
  try {
    const [addr] = ipaddr.parseCIDR(text);
    return addr.kind() === 'ipv4';
  } catch {
    return false;
  }
}

function checkPort(where: string, value: unknown, allowZero = false): void {
  if (!Number.isInteger(value) || (value as number) < (allowZero ? 0 : 1) || (value as number) > 65535) {
    throw new ProxyInputError(`${where}: ${JSON.stringify(value)} is not a port number (1-65535)`);
  }
}

/** kube-proxy ignores headless and ExternalName services (ShouldSkipService). */
export function isProxied(svc: Service): boolean {
  return svc.type !== 'ExternalName' && svc.clusterIP !== '' && svc.clusterIP !== 'None';
}

function validateService(svc: Service, index: number): void {
  const where = `services[${index}] (${svc.namespace}/${svc.name})`;
  if (!svc.namespace || !svc.name) throw new ProxyInputError(`services[${index}]: namespace and name are required`);
  if (!['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'].includes(svc.type)) {
    throw new ProxyInputError(`${where}.type: unknown service type ${JSON.stringify(svc.type)}`);
  }
  if (!isProxied(svc)) return;
  if (!isIPv4(svc.clusterIP)) throw new ProxyInputError(`${where}.clusterIP: ${JSON.stringify(svc.clusterIP)} is not an IPv4 address`);
  if (!Array.isArray(svc.ports) || svc.ports.length === 0) throw new ProxyInputError(`${where}.ports: a proxied service needs at least one port`);
  const seen = new Set<string>();
  svc.ports.forEach((p, i) => {
    const pw = `${where}.ports[${i}]`;
    if (svc.ports.length > 1 && !p.name) throw new ProxyInputError(`${pw}.name: required when a service has several ports`);
    if (seen.has(p.name)) throw new ProxyInputError(`${pw}.name: duplicate port name ${JSON.stringify(p.name)}`);
    seen.add(p.name);
    checkPort(`${pw}.port`, p.port);
    if (!['TCP', 'UDP', 'SCTP'].includes(p.protocol)) throw new ProxyInputError(`${pw}.protocol: ${JSON.stringify(p.protocol)} is not TCP, UDP or SCTP`);
    if (p.nodePort !== undefined) checkPort(`${pw}.nodePort`, p.nodePort, true);
  });
  for (const [field, list] of [
    ['externalIPs', svc.externalIPs],
    ['loadBalancerIngressIPs', svc.loadBalancerIngressIPs],
  ] as const) {
    (list ?? []).forEach((ip, i) => {
      if (!isIPv4(ip)) throw new ProxyInputError(`${where}.${field}[${i}]: ${JSON.stringify(ip)} is not an IPv4 address`);
    });
  }
  (svc.loadBalancerSourceRanges ?? []).forEach((cidr, i) => {
    if (!isIPv4CIDR(cidr)) throw new ProxyInputError(`${where}.loadBalancerSourceRanges[${i}]: ${JSON.stringify(cidr)} is not an IPv4 CIDR`);
  });
  const t = svc.sessionAffinityTimeoutSeconds;
  if (t !== undefined && (!Number.isInteger(t) || t < 1 || t > 86400)) {
    throw new ProxyInputError(`${where}.sessionAffinityTimeoutSeconds: ${t} is not between 1 and 86400`);
  }
}

type RawEndpoint = EndpointModel & { ready: boolean };

function toEndpointModels(key: string, list: Endpoint[], nodeName: string): RawEndpoint[] {
  return list.map((ep, i) => {
    const where = `endpoints["${key}"][${i}]`;
    if (!isIPv4(ep.ip)) throw new ProxyInputError(`${where}.ip: ${JSON.stringify(ep.ip)} is not an IPv4 address`);
    checkPort(`${where}.port`, ep.port);
    return { ip: ep.ip, port: ep.port, local: ep.local ?? ep.nodeName === nodeName, str: endpointString(ep.ip, ep.port), ready: ep.ready === true };
  });
}

/** kube-proxy's apiservice.ExternallyAccessible: can traffic from outside reach this service at all? */
function serviceExternallyAccessible(svc: Service): boolean {
  return svc.type === 'LoadBalancer' || svc.type === 'NodePort' || (svc.type === 'ClusterIP' && (svc.externalIPs ?? []).length > 0);
}

function strip(ep: EndpointModel): EndpointModel {
  return { ip: ep.ip, port: ep.port, local: ep.local, str: ep.str };
}

/** The last model of each service, by `ns/name`, with the raw inputs it came from (bounded). */
const memoModels = new Map<string, { raw: string; ports: ServicePortModel[]; endpoints: number }>();
const MEMO_LIMIT = 50_000;
function rememberModel(key: string, m: { raw: string; ports: ServicePortModel[]; endpoints: number }): void {
  if (memoModels.size >= MEMO_LIMIT && !memoModels.has(key)) memoModels.clear();
  memoModels.set(key, m);
}

/** Validate the input and compute every proxied service port, sorted by `ns/name:port` and protocol. */
export function buildModel(input: ProxyInput): ProxyModel {
  const { node } = input;
  if (!node || !node.name) throw new ProxyInputError('node.name: required');
  node.ips.forEach((ip, i) => {
    if (!isIPv4(ip)) throw new ProxyInputError(`node.ips[${i}]: ${JSON.stringify(ip)} is not an IPv4 address`);
  });
  if (!isIPv4CIDR(node.clusterCIDR)) throw new ProxyInputError(`node.clusterCIDR: ${JSON.stringify(node.clusterCIDR)} is not an IPv4 CIDR`);
  (node.serviceCIDRs ?? []).forEach((c, i) => {
    if (!isIPv4CIDR(c)) throw new ProxyInputError(`node.serviceCIDRs[${i}]: ${JSON.stringify(c)} is not an IPv4 CIDR`);
  });
  if (!/^0x[0-9a-fA-F]{1,8}$/.test(node.masqueradeMark)) {
    throw new ProxyInputError(`node.masqueradeMark: ${JSON.stringify(node.masqueradeMark)} is not a hex mark like 0x4000`);
  }

  const seenServices = new Set<string>();
  const ports: ServicePortModel[] = [];
  const fingerprints = new Map<string, string>();
  let totalEndpoints = 0;

  input.services.forEach((svc, index) => {
    const serviceKey = `${svc.namespace}/${svc.name}`;
    if (seenServices.has(serviceKey)) throw new ProxyInputError(`services[${index}]: duplicate service ${serviceKey}`);
    seenServices.add(serviceKey);
    // The service's raw inputs: when they are what they were at the last sync, so is its model
    // (a partial sync at 10,000 services then costs a string comparison per unchanged service).
    const raw = JSON.stringify([node.name, svc, svc.ports?.map((p) => input.endpoints[servicePortName(svc.namespace, svc.name, p.name)] ?? null)]);
    const memo = memoModels.get(serviceKey);
    if (memo?.raw === raw) {
      if (memo.ports.length) fingerprints.set(serviceKey, raw);
      ports.push(...memo.ports);
      totalEndpoints += memo.endpoints;
      return;
    }
    validateService(svc, index);
    if (!isProxied(svc)) return void rememberModel(serviceKey, { raw, ports: [], endpoints: 0 });
    const before = ports.length;
    const endpointsBefore = totalEndpoints;

    const externallyAccessibleSvc = serviceExternallyAccessible(svc);
    const internalPolicyLocal = svc.internalTrafficPolicy === 'Local';
    const externalPolicyLocal = externallyAccessibleSvc && svc.externalTrafficPolicy === 'Local';
    const isLB = svc.type === 'LoadBalancer';
    const affinitySeconds = svc.sessionAffinity === 'ClientIP' ? (svc.sessionAffinityTimeoutSeconds ?? DEFAULT_AFFINITY_SECONDS) : null;

    for (const p of svc.ports) {
      const nameString = servicePortName(svc.namespace, svc.name, p.name);
      const all = toEndpointModels(nameString, input.endpoints[nameString] ?? [], node.name);
      // kube-proxy's endpoint cache keeps each port's endpoints sorted, so rules do not churn.
      all.sort((a, b) => (a.str < b.str ? -1 : a.str > b.str ? 1 : 0));
      const nodePort = (svc.type === 'NodePort' || isLB) && p.nodePort ? p.nodePort : 0;
      const loadBalancerVIPs = isLB ? [...(svc.loadBalancerIngressIPs ?? [])] : [];
      const externalIPs = [...(svc.externalIPs ?? [])];
      const externallyAccessible = nodePort !== 0 || loadBalancerVIPs.length > 0 || externalIPs.length > 0;
      // BaseServicePortInfo.UsesClusterEndpoints / UsesLocalEndpoints: even with Local external policy
      // the Cluster endpoints are needed for the short-circuit of pod and host traffic.
      const usesCluster = !internalPolicyLocal || externallyAccessible;
      const usesLocal = internalPolicyLocal || (externalPolicyLocal && externallyAccessible);
      const ready = all.filter((e) => e.ready);
      const clusterEndpoints = usesCluster ? ready.map(strip) : [];
      const localEndpoints = usesLocal ? ready.filter((e) => e.local).map(strip) : [];
      // Without topology hints or terminating endpoints, the Cluster set contains every Local one.
      const reachableEndpoints = usesCluster ? clusterEndpoints : localEndpoints;
      const hasEndpoints = ready.length > 0;
      totalEndpoints += all.length; // kube-proxy counts every endpoint it knows, ready or not
      ports.push({
        namespace: svc.namespace,
        name: svc.name,
        serviceKey,
        portName: p.name,
        nameString,
        protocol: p.protocol.toLowerCase() as ServicePortModel['protocol'],
        clusterIP: svc.clusterIP,
        port: p.port,
        nodePort,
        externalIPs,
        loadBalancerVIPs,
        loadBalancerSourceRanges: isLB ? [...(svc.loadBalancerSourceRanges ?? [])] : [],
        affinitySeconds,
        internalPolicyLocal,
        externalPolicyLocal,
        externallyAccessible,
        clusterEndpoints,
        localEndpoints,
        reachableEndpoints,
        hasEndpoints,
      });
    }
    fingerprints.set(serviceKey, raw);
    rememberModel(serviceKey, { raw, ports: ports.slice(before), endpoints: totalEndpoints - endpointsBefore });
  });

  ports.sort((a, b) => (a.nameString === b.nameString ? a.protocol.localeCompare(b.protocol) : a.nameString < b.nameString ? -1 : 1));
  return { ports, fingerprints, nodeFingerprint: JSON.stringify(node), totalEndpoints };
}

/** Services whose inputs differ between two fingerprint maps (added, changed or removed). */
export function changedServices(before: Map<string, string>, after: Map<string, string>): Set<string> {
  const changed = new Set<string>();
  for (const [key, fp] of after) if (before.get(key) !== fp) changed.add(key);
  for (const key of before.keys()) if (!after.has(key)) changed.add(key);
  return changed;
}

/** Whether an IPv4 address lies inside an IPv4 CIDR (both already validated). */
export function cidrContains(cidr: string, ip: string): boolean {
  const [base, bits] = ipaddr.parseCIDR(cidr);
  return ipaddr.IPv4.parse(ip).match(base as ipaddr.IPv4, bits);
}
