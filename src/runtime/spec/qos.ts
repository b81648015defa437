// The pod's QoS class, computed as Kubernetes' GetPodQOS does (pkg/apis/core/v1/helper/qos):
//
//   - only cpu and memory count; zero quantities count as absent;
//   - every container counts, init containers included, each with requests defaulted from limits
//     (the API server does that before anyone computes the class);
//   - BestEffort: no container requests or limits any cpu or memory;
//   - Guaranteed: every container limits both cpu and memory, and for each of cpu and memory the
//     pod's summed requests equal its summed limits;
//   - Burstable: everything else.
//
// Pod-level resources (spec.resources, a beta feature) are not modelled.
import { fieldPath } from './errors.ts';
import { addQuantities, compareQuantities, type Quantity } from './quantity.ts';
import { parseResources, type ResourceRequirements } from './resources.ts';

export type QOSClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

export interface QOSContainer {
  name?: string;
  resources?: ResourceRequirements;
}

export interface QOSPodSpec {
  containers: readonly QOSContainer[];
  initContainers?: readonly QOSContainer[];
}

const QOS_RESOURCES = ['cpu', 'memory'] as const;

/**
 * The QoS class of a pod spec. Invalid resources throw a SpecError whose paths start at `path`
 * (`spec.containers[1].resources.limits.cpu`).
 */
export function podQOSClass(spec: QOSPodSpec, path = 'spec'): QOSClass {
  const requests = new Map<string, Quantity>();
  const limits = new Map<string, Quantity>();
  let guaranteed = true;

  const groups: [string, readonly QOSContainer[]][] = [
    ['containers', spec.containers ?? []],
    ['initContainers', spec.initContainers ?? []],
  ];
  for (const [field, containers] of groups) {
    containers.forEach((c, i) => {
      const parsed = parseResources(c.resources, fieldPath(fieldPath(fieldPath(path, field), i), 'resources'));
      const limited = new Set<string>();
      for (const name of QOS_RESOURCES) {
        const req = parsed.requests[name];
        if (req && req.unscaled > 0n) add(requests, name, req);
        const lim = parsed.limits[name];
        if (lim && lim.unscaled > 0n) {
          limited.add(name);
          add(limits, name, lim);
        }
      }
      if (!limited.has('cpu') || !limited.has('memory')) guaranteed = false;
    });
  }

  if (requests.size === 0 && limits.size === 0) return 'BestEffort';
  if (guaranteed) {
    for (const [name, req] of requests) {
      const lim = limits.get(name);
      if (!lim || compareQuantities(lim, req) !== 0) {
        guaranteed = false;
        break;
      }
    }
  }
  return guaranteed && requests.size === limits.size ? 'Guaranteed' : 'Burstable';
}

function add(sums: Map<string, Quantity>, name: string, q: Quantity): void {
  const prev = sums.get(name);
  sums.set(name, prev ? addQuantities(prev, q) : q);
}
