// Pure: a Service's endpoints, as the endpoints and EndpointSlice controllers compute them. The pods
// in the service's namespace whose labels match its selector, with an IP and not terminating; ready
// ones are addresses, the others notReadyAddresses (or ready anyway with publishNotReadyAddresses);
// a named targetPort is resolved per pod against its container ports, so pods that name the same port
// differently land in different subsets.
import type { KubeObject, Pod } from '../api/types.ts';

export interface EndpointsBody {
  subsets: { addresses?: Address[]; notReadyAddresses?: Address[]; ports: { name?: string; port: number; protocol: string }[] }[];
}

interface Address {
  ip: string;
  nodeName?: string;
  hostname?: string;
  targetRef: { kind: 'Pod'; namespace: string; name: string; uid: string };
}

export interface SliceBody {
  addressType: 'IPv4';
  endpoints: { addresses: string[]; conditions: { ready: boolean; serving: boolean; terminating: boolean }; nodeName?: string; hostname?: string; targetRef: Address['targetRef'] }[];
  ports: { name: string; port: number; protocol: string }[];
}

export function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false; // no selector: endpoints are managed by hand
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

export function podReady(p: Pod): boolean {
  return !!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
}

/** The container port a service port targets on one pod, or undefined when the pod lacks that named port. */
export function resolveTargetPort(targetPort: number | string | undefined, port: number, protocol: string, pod: Pod): number | undefined {
  const target = targetPort ?? port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  for (const c of pod.spec.containers) for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  return undefined;
}

/** Pods the service selects that have an address and are not being deleted, oldest first. */
export function selectedPods(service: KubeObject, pods: Pod[]): Pod[] {
  return pods
    .filter((p) => p.metadata.namespace === service.metadata.namespace && selects(service.spec?.selector, p.metadata.labels))
    .filter((p) => p.status?.podIP && !['Succeeded', 'Failed'].includes(p.status?.phase ?? ''))
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

export function computeEndpoints(service: KubeObject, pods: Pod[]): EndpointsBody {
  const ports: { name?: string; port: number; protocol: string; targetPort?: number | string }[] = service.spec?.ports ?? [];
  const publishNotReady = !!service.spec?.publishNotReadyAddresses;
  const groups = new Map<string, EndpointsBody['subsets'][number]>();
  for (const pod of selectedPods(service, pods)) {
    if (pod.metadata.deletionTimestamp) continue; // a terminating pod leaves the endpoints first
    const usable: { name?: string; port: number; protocol: string }[] = [];
    for (const p of ports) {
      const target = resolveTargetPort(p.targetPort, p.port, p.protocol ?? 'TCP', pod);
      if (target !== undefined) usable.push({ ...(p.name ? { name: p.name } : {}), port: target, protocol: p.protocol ?? 'TCP' });
    }
    if (ports.length && usable.length === 0) continue;
    const key = JSON.stringify(usable);
    const subset: EndpointsBody['subsets'][number] = groups.get(key) ?? { ports: usable };
    groups.set(key, subset);
    const address: Address = {
      ip: pod.status!.podIP!,
      ...(pod.spec.nodeName ? { nodeName: pod.spec.nodeName } : {}),
      ...(pod.spec.hostname && pod.spec.subdomain === service.metadata.name ? { hostname: pod.spec.hostname } : {}),
      targetRef: { kind: 'Pod', namespace: pod.metadata.namespace!, name: pod.metadata.name, uid: pod.metadata.uid! },
    };
    if (podReady(pod) || publishNotReady) (subset.addresses ??= []).push(address);
    else (subset.notReadyAddresses ??= []).push(address);
  }
  return { subsets: [...groups.values()] };
}

/**
 * The EndpointSlice view of the same set: pods grouped by their resolved ports (one slice per group,
 * as the EndpointSlice controller does), one endpoint per pod with ready/serving/terminating conditions.
 */
export function computeSlices(service: KubeObject, pods: Pod[]): SliceBody[] {
  const ports: { name?: string; port: number; protocol: string; targetPort?: number | string }[] = service.spec?.ports ?? [];
  const publishNotReady = !!service.spec?.publishNotReadyAddresses;
  const groups = new Map<string, SliceBody>();
  for (const pod of selectedPods(service, pods)) {
    const resolved = ports
      .map((p) => ({ name: p.name ?? '', port: resolveTargetPort(p.targetPort, p.port, p.protocol ?? 'TCP', pod), protocol: p.protocol ?? 'TCP' }))
      .filter((p): p is { name: string; port: number; protocol: string } => p.port !== undefined);
    if (ports.length && resolved.length === 0) continue;
    const key = JSON.stringify(resolved);
    const slice = groups.get(key) ?? { addressType: 'IPv4' as const, endpoints: [], ports: resolved };
    groups.set(key, slice);
    const terminating = !!pod.metadata.deletionTimestamp;
    slice.endpoints.push({
      addresses: [pod.status!.podIP!],
      conditions: { ready: (podReady(pod) || publishNotReady) && !terminating, serving: podReady(pod), terminating },
      ...(pod.spec.nodeName ? { nodeName: pod.spec.nodeName } : {}),
      ...(pod.spec.hostname && pod.spec.subdomain === service.metadata.name ? { hostname: pod.spec.hostname } : {}),
      targetRef: { kind: 'Pod', namespace: pod.metadata.namespace!, name: pod.metadata.name, uid: pod.metadata.uid! },
    });
  }
  return [...groups.values()];
}
