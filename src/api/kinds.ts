// The registry of kinds the API serves: where each lives in the URL space and in etcd, its schema,
// its defaults and its semantic checks. Adding a kind (Service, Deployment, NetworkPolicy ...) is
// adding an entry here; the server, the store, the CLI and the manifest loader read this table.
import { type FieldError, S, type Schema, dns1123Label, dns1123Subdomain, labelKey, labelValue, portName, validate } from './schema.ts';
import type { KubeObject } from './types.ts';
import { validateNetworkPolicy } from '../policy/validate.ts';
import { effectiveCapabilities } from '../runtime/spec/capabilities.ts';
import { SpecError } from '../runtime/spec/errors.ts';
import { parseResources } from '../runtime/spec/resources.ts';

export interface KindInfo {
  kind: string;
  /** "" for the core group. */
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
  shortNames: string[];
  /** Top-level fields besides apiVersion, kind and metadata. */
  body: Record<string, Schema>;
  nameRule: (v: string) => string | undefined;
  defaults?: (obj: KubeObject) => void;
  check?: (obj: KubeObject) => FieldError[];
}

const metadata = S.obj({
  name: S.str(),
  generateName: S.str(),
  namespace: S.str(dns1123Label),
  uid: S.str(),
  resourceVersion: S.str(),
  generation: S.int(),
  creationTimestamp: S.any(),
  deletionTimestamp: S.any(),
  deletionGracePeriodSeconds: S.int(0),
  labels: S.map(labelKey, labelValue),
  annotations: S.map(),
  ownerReferences: S.arr(S.obj({ apiVersion: S.str(), kind: S.str(), name: S.str(), uid: S.str(), controller: S.bool(), blockOwnerDeletion: S.bool() })),
  finalizers: S.arr(S.str()),
  managedFields: S.any(),
});

const portNumber = S.int(1, 65535);
const protocol = S.oneOf('TCP', 'UDP', 'SCTP');
const intOrPortName = S.intOrStr((v) =>
  typeof v === 'number' ? (v < 1 || v > 65535 ? `${v} is out of range: must be 1-65535` : undefined) : portName(v),
);

const probe = S.obj({
  httpGet: S.obj({ path: S.str(), port: intOrPortName, host: S.str(), scheme: S.oneOf('HTTP', 'HTTPS'), httpHeaders: S.arr(S.obj({ name: S.str(), value: S.str() })) }, ['port']),
  tcpSocket: S.obj({ port: intOrPortName, host: S.str() }, ['port']),
  exec: S.obj({ command: S.arr(S.str()) }, ['command']),
  grpc: S.obj({ port: portNumber, service: S.str() }),
  initialDelaySeconds: S.int(0),
  periodSeconds: S.int(1),
  timeoutSeconds: S.int(1),
  successThreshold: S.int(1),
  failureThreshold: S.int(1),
  terminationGracePeriodSeconds: S.int(0),
});

const resources = S.obj({ limits: S.map(), requests: S.map(), claims: S.any() });

const container = S.obj(
  {
    name: S.str(dns1123Label),
    image: S.str(),
    imagePullPolicy: S.oneOf('Always', 'IfNotPresent', 'Never'),
    command: S.arr(S.str()),
    args: S.arr(S.str()),
    workingDir: S.str(),
    ports: S.arr(S.obj({ name: S.str(portName), containerPort: portNumber, protocol, hostPort: portNumber, hostIP: S.str() }, ['containerPort'])),
    env: S.arr(S.obj({ name: S.str(), value: S.str(), valueFrom: S.any() }, ['name'])),
    envFrom: S.any(),
    resources,
    readinessProbe: probe,
    livenessProbe: probe,
    startupProbe: probe,
    lifecycle: S.any(),
    securityContext: S.obj({
      runAsUser: S.int(0),
      runAsGroup: S.int(0),
      runAsNonRoot: S.bool(),
      privileged: S.bool(),
      allowPrivilegeEscalation: S.bool(),
      readOnlyRootFilesystem: S.bool(),
      capabilities: S.obj({ add: S.arr(S.str()), drop: S.arr(S.str()) }),
      seccompProfile: S.any(),
      seLinuxOptions: S.any(),
    }),
    volumeMounts: S.arr(S.obj({ name: S.str(), mountPath: S.str(), readOnly: S.bool(), subPath: S.str() }, ['name', 'mountPath'])),
    stdin: S.bool(),
    tty: S.bool(),
    terminationMessagePath: S.str(),
    terminationMessagePolicy: S.str(),
  },
  ['name', 'image'],
);

export const podSpecSchema = S.obj(
  {
    containers: S.arr(container),
    initContainers: S.arr(container),
    nodeName: S.str(),
    nodeSelector: S.map(labelKey, labelValue),
    tolerations: S.arr(S.obj({ key: S.str(), operator: S.oneOf('Exists', 'Equal'), value: S.str(), effect: S.oneOf('NoSchedule', 'PreferNoSchedule', 'NoExecute'), tolerationSeconds: S.int() })),
    affinity: S.any(),
    restartPolicy: S.oneOf('Always', 'OnFailure', 'Never'),
    terminationGracePeriodSeconds: S.int(0),
    hostname: S.str(dns1123Label),
    subdomain: S.str(dns1123Label),
    dnsPolicy: S.oneOf('ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'),
    dnsConfig: S.any(),
    hostNetwork: S.bool(),
    volumes: S.arr(
      S.obj(
        {
          name: S.str(dns1123Label),
          hostPath: S.obj({ path: S.str(), type: S.oneOf('', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice') }, ['path']),
          emptyDir: S.obj({ medium: S.oneOf('', 'Memory'), sizeLimit: S.intOrStr() }),
        },
        ['name'],
      ),
    ),
    securityContext: S.obj({ runAsUser: S.int(0), runAsGroup: S.int(0), runAsNonRoot: S.bool(), fsGroup: S.int(0), supplementalGroups: S.arr(S.int(0)), sysctls: S.any(), seccompProfile: S.any() }),
    serviceAccountName: S.str(),
    automountServiceAccountToken: S.bool(),
    schedulerName: S.str(),
    priorityClassName: S.str(),
    enableServiceLinks: S.bool(),
    shareProcessNamespace: S.bool(),
  },
  ['containers'],
);

const labelSelector = S.obj({
  matchLabels: S.map(labelKey, labelValue),
  matchExpressions: S.arr(S.obj({ key: S.str(), operator: S.oneOf('In', 'NotIn', 'Exists', 'DoesNotExist'), values: S.arr(S.str()) }, ['key', 'operator'])),
});

const templateMetadata = S.obj({ name: S.str(), namespace: S.str(), labels: S.map(labelKey, labelValue), annotations: S.map(), generateName: S.str(), creationTimestamp: S.any() });
const podTemplate = S.obj({ metadata: templateMetadata, spec: podSpecSchema }, ['spec']);
const intOrPercent = S.intOrStr((v) => (typeof v === 'string' && !/^\d+%$/.test(v) ? `${JSON.stringify(v)} must be an integer or a percentage like "25%"` : typeof v === 'number' && v < 0 ? 'must not be negative' : undefined));

export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;

const serviceSpec = S.obj({
  type: S.oneOf(...SERVICE_TYPES),
  selector: S.map(labelKey, labelValue),
  ports: S.arr(
    S.obj(
      {
        name: S.str(dns1123Label),
        protocol,
        port: portNumber,
        targetPort: intOrPortName,
        nodePort: S.int(30000, 32767),
        appProtocol: S.str(),
      },
      ['port'],
    ),
  ),
  clusterIP: S.str(),
  clusterIPs: S.arr(S.str()),
  externalName: S.str(),
  externalIPs: S.arr(S.str()),
  sessionAffinity: S.oneOf('None', 'ClientIP'),
  sessionAffinityConfig: S.obj({ clientIP: S.obj({ timeoutSeconds: S.int(1, 86400) }) }),
  externalTrafficPolicy: S.oneOf('Cluster', 'Local'),
  internalTrafficPolicy: S.oneOf('Cluster', 'Local'),
  loadBalancerIP: S.str(),
  loadBalancerSourceRanges: S.arr(S.str()),
  loadBalancerClass: S.str(),
  allocateLoadBalancerNodePorts: S.bool(),
  healthCheckNodePort: S.int(),
  publishNotReadyAddresses: S.bool(),
  ipFamilies: S.arr(S.oneOf('IPv4', 'IPv6')),
  ipFamilyPolicy: S.oneOf('SingleStack', 'PreferDualStack', 'RequireDualStack'),
});

function checkService(obj: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  const spec = obj.spec ?? {};
  const type = spec.type ?? 'ClusterIP';
  const ports: any[] = spec.ports ?? [];
  if (type === 'ExternalName') {
    if (!spec.externalName) errors.push({ path: 'spec.externalName', message: 'Required value: an ExternalName service needs externalName' });
    else if (dns1123Subdomain(spec.externalName.replace(/\.$/, ''))) errors.push({ path: 'spec.externalName', message: `${JSON.stringify(spec.externalName)} must be a DNS name` });
  } else if (ports.length === 0 && spec.clusterIP !== 'None') errors.push({ path: 'spec.ports', message: 'Required value' });
  const names = new Set<string>();
  const keys = new Set<string>();
  ports.forEach((p, i) => {
    if (ports.length > 1 && !p.name) errors.push({ path: `spec.ports[${i}].name`, message: 'Required value: a service with more than one port must name each' });
    if (p.name && names.has(p.name)) errors.push({ path: `spec.ports[${i}].name`, message: `Duplicate value: ${JSON.stringify(p.name)}` });
    if (p.name) names.add(p.name);
    const key = `${p.port}/${p.protocol ?? 'TCP'}`;
    if (keys.has(key)) errors.push({ path: `spec.ports[${i}]`, message: `Duplicate value: port ${key}` });
    keys.add(key);
    if (p.nodePort !== undefined && !['NodePort', 'LoadBalancer'].includes(type)) errors.push({ path: `spec.ports[${i}].nodePort`, message: `may not be used when type is '${type}'` });
  });
  if (spec.sessionAffinityConfig && spec.sessionAffinity !== 'ClientIP') errors.push({ path: 'spec.sessionAffinityConfig', message: "must not be set when sessionAffinity is 'None'" });
  if (spec.externalTrafficPolicy && !['NodePort', 'LoadBalancer'].includes(type)) errors.push({ path: 'spec.externalTrafficPolicy', message: 'may only be set for NodePort and LoadBalancer services' });
  if (type === 'ExternalName' && spec.clusterIP && spec.clusterIP !== 'None') errors.push({ path: 'spec.clusterIP', message: 'must be empty for ExternalName services' });
  return errors;
}

function defaultService(obj: KubeObject): void {
  const spec = (obj.spec ??= {});
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  if (spec.type !== 'ExternalName') spec.internalTrafficPolicy ??= 'Cluster';
  if (['NodePort', 'LoadBalancer'].includes(spec.type)) spec.externalTrafficPolicy ??= 'Cluster';
  if (spec.sessionAffinity === 'ClientIP') spec.sessionAffinityConfig ??= { clientIP: { timeoutSeconds: 10800 } };
  for (const p of spec.ports ?? []) {
    p.protocol ??= 'TCP';
    p.targetPort ??= p.port;
  }
}

const endpointAddress = S.obj({ ip: S.str(), hostname: S.str(), nodeName: S.str(), targetRef: S.any() }, ['ip']);
const endpointPort = S.obj({ name: S.str(), port: portNumber, protocol, appProtocol: S.str() }, ['port']);

function checkPod(obj: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  const spec = obj.spec ?? {};
  const containers: any[] = Array.isArray(spec.containers) ? spec.containers : [];
  if (Array.isArray(spec.containers) && containers.length === 0) errors.push({ path: 'spec.containers', message: 'Required value: a pod needs at least one container' });
  const seen = new Set<string>();
  const volumes = new Set<string>();
  (Array.isArray(spec.volumes) ? spec.volumes : []).forEach((v: any, i: number) => {
    if (v?.name && volumes.has(v.name)) errors.push({ path: `spec.volumes[${i}].name`, message: `Duplicate value: ${JSON.stringify(v.name)}` });
    if (v?.name) volumes.add(v.name);
    const sources = ['hostPath', 'emptyDir'].filter((k) => v?.[k] !== undefined);
    if (sources.length !== 1) errors.push({ path: `spec.volumes[${i}]`, message: 'must specify exactly one volume source (kubelab supports hostPath and emptyDir)' });
  });
  containers.forEach((c, i) => {
    const at = `spec.containers[${i}]`;
    // The container runtime's own checks, run at admission so bad input changes nothing.
    const check = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        if (e instanceof SpecError) errors.push(...e.problems.map((p) => ({ path: p.path, message: p.message })));
        else throw e;
      }
    };
    if (c?.resources) check(() => parseResources(c.resources, `${at}.resources`));
    if (c?.securityContext) check(() => effectiveCapabilities(c.securityContext, `${at}.securityContext`));
    (Array.isArray(c?.volumeMounts) ? c.volumeMounts : []).forEach((m: any, j: number) => {
      if (m?.name && !volumes.has(m.name)) errors.push({ path: `${at}.volumeMounts[${j}].name`, message: `Not found: ${JSON.stringify(m.name)}` });
      if (typeof m?.mountPath === 'string' && !m.mountPath.startsWith('/')) errors.push({ path: `${at}.volumeMounts[${j}].mountPath`, message: 'must be an absolute path' });
    });
    if (c?.name && seen.has(c.name)) errors.push({ path: `spec.containers[${i}].name`, message: `Duplicate value: ${JSON.stringify(c.name)}` });
    if (c?.name) seen.add(c.name);
    const portNames = new Set<string>();
    (Array.isArray(c?.ports) ? c.ports : []).forEach((p: any, j: number) => {
      if (p?.name && portNames.has(p.name)) errors.push({ path: `spec.containers[${i}].ports[${j}].name`, message: `Duplicate value: ${JSON.stringify(p.name)}` });
      if (p?.name) portNames.add(p.name);
    });
  });
  return errors;
}

function defaultPod(obj: KubeObject): void {
  const spec = obj.spec;
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  for (const c of spec.containers ?? []) {
    for (const p of c.ports ?? []) p.protocol ??= 'TCP';
    c.imagePullPolicy ??= 'IfNotPresent';
  }
}

const workloadStatus = S.any();

export const KINDS: KindInfo[] = [
  {
    kind: 'Service',
    group: '',
    version: 'v1',
    plural: 'services',
    namespaced: true,
    shortNames: ['svc'],
    body: { spec: serviceSpec, status: S.any() },
    nameRule: dns1123Label,
    defaults: defaultService,
    check: checkService,
  },
  {
    kind: 'Endpoints',
    group: '',
    version: 'v1',
    plural: 'endpoints',
    namespaced: true,
    shortNames: ['ep'],
    body: { subsets: S.arr(S.obj({ addresses: S.arr(endpointAddress), notReadyAddresses: S.arr(endpointAddress), ports: S.arr(endpointPort) })) },
    nameRule: dns1123Subdomain,
  },
  {
    kind: 'EndpointSlice',
    group: 'discovery.k8s.io',
    version: 'v1',
    plural: 'endpointslices',
    namespaced: true,
    shortNames: [],
    body: {
      addressType: S.oneOf('IPv4', 'IPv6', 'FQDN'),
      endpoints: S.arr(
        S.obj(
          {
            addresses: S.arr(S.str()),
            conditions: S.obj({ ready: S.bool(), serving: S.bool(), terminating: S.bool() }),
            nodeName: S.str(),
            hostname: S.str(),
            targetRef: S.any(),
            zone: S.str(),
            hints: S.any(),
          },
          ['addresses'],
        ),
      ),
      ports: S.arr(S.obj({ name: S.str(), port: S.int(0, 65535), protocol, appProtocol: S.str() })),
    },
    nameRule: dns1123Subdomain,
  },
  {
    kind: 'Deployment',
    group: 'apps',
    version: 'v1',
    plural: 'deployments',
    namespaced: true,
    shortNames: ['deploy'],
    body: {
      spec: S.obj(
        {
          replicas: S.int(0),
          selector: labelSelector,
          template: podTemplate,
          strategy: S.obj({ type: S.oneOf('RollingUpdate', 'Recreate'), rollingUpdate: S.obj({ maxSurge: intOrPercent, maxUnavailable: intOrPercent }) }),
          minReadySeconds: S.int(0),
          revisionHistoryLimit: S.int(0),
          progressDeadlineSeconds: S.int(1),
          paused: S.bool(),
        },
        ['selector', 'template'],
      ),
      status: workloadStatus,
    },
    nameRule: dns1123Subdomain,
  },
  {
    kind: 'ReplicaSet',
    group: 'apps',
    version: 'v1',
    plural: 'replicasets',
    namespaced: true,
    shortNames: ['rs'],
    body: { spec: S.obj({ replicas: S.int(0), selector: labelSelector, template: podTemplate, minReadySeconds: S.int(0) }, ['selector']), status: workloadStatus },
    nameRule: dns1123Subdomain,
  },
  {
    kind: 'DaemonSet',
    group: 'apps',
    version: 'v1',
    plural: 'daemonsets',
    namespaced: true,
    shortNames: ['ds'],
    body: {
      spec: S.obj(
        {
          selector: labelSelector,
          template: podTemplate,
          updateStrategy: S.obj({ type: S.oneOf('RollingUpdate', 'OnDelete'), rollingUpdate: S.obj({ maxUnavailable: intOrPercent, maxSurge: intOrPercent }) }),
          minReadySeconds: S.int(0),
          revisionHistoryLimit: S.int(0),
        },
        ['selector', 'template'],
      ),
      status: workloadStatus,
    },
    nameRule: dns1123Subdomain,
  },
  {
    kind: 'NetworkPolicy',
    group: 'networking.k8s.io',
    version: 'v1',
    plural: 'networkpolicies',
    namespaced: true,
    shortNames: ['netpol'],
    body: { spec: S.any() },
    nameRule: dns1123Subdomain,
    check: (obj) => validateNetworkPolicy(obj),
  },
  {
    kind: 'Namespace',
    group: '',
    version: 'v1',
    plural: 'namespaces',
    namespaced: false,
    shortNames: ['ns'],
    body: { spec: S.obj({ finalizers: S.arr(S.str()) }), status: S.any() },
    nameRule: dns1123Label,
  },
  {
    kind: 'Node',
    group: '',
    version: 'v1',
    plural: 'nodes',
    namespaced: false,
    shortNames: ['no'],
    body: {
      spec: S.obj({
        podCIDR: S.str(),
        podCIDRs: S.arr(S.str()),
        unschedulable: S.bool(),
        taints: S.arr(S.obj({ key: S.str(), value: S.str(), effect: S.oneOf('NoSchedule', 'PreferNoSchedule', 'NoExecute'), timeAdded: S.any() }, ['key', 'effect'])),
        providerID: S.str(),
      }),
      status: S.any(),
    },
    nameRule: dns1123Subdomain,
  },
  {
    kind: 'Pod',
    group: '',
    version: 'v1',
    plural: 'pods',
    namespaced: true,
    shortNames: ['po'],
    body: { spec: podSpecSchema, status: S.any() },
    nameRule: dns1123Subdomain,
    defaults: defaultPod,
    check: checkPod,
  },
];

const SPEC_REQUIRED = new Set(['Pod', 'Deployment', 'ReplicaSet', 'DaemonSet', 'NetworkPolicy']);

export function apiVersionOf(k: KindInfo): string {
  return k.group ? `${k.group}/${k.version}` : k.version;
}

/** Finds a kind by its name, plural, singular or short name, as kubectl accepts them. */
export function findKind(word: string): KindInfo | undefined {
  const w = word.toLowerCase();
  return KINDS.find((k) => k.kind.toLowerCase() === w || k.plural === w || k.shortNames.includes(w));
}

export function kindByName(kind: string): KindInfo | undefined {
  return KINDS.find((k) => k.kind === kind);
}

/** Strict decode of a whole object: apiVersion/kind, metadata, the kind's schema and its checks. */
export function validateObject(obj: unknown): FieldError[] {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return [{ path: '', message: 'a manifest must be a mapping with apiVersion, kind and metadata' }];
  const o = obj as KubeObject;
  if (!o.kind) return [{ path: 'kind', message: 'Required value' }];
  const info = kindByName(o.kind);
  if (!info) {
    return [{ path: 'kind', message: `unknown kind ${JSON.stringify(o.kind)}: kubelab serves ${KINDS.map((k) => k.kind).join(', ')}` }];
  }
  const errors: FieldError[] = [];
  if (o.apiVersion !== apiVersionOf(info)) {
    errors.push({ path: 'apiVersion', message: `${JSON.stringify(o.apiVersion)} does not serve kind ${info.kind}: use "${apiVersionOf(info)}"` });
  }
  const schema = S.obj({ apiVersion: S.str(), kind: S.str(), metadata, ...info.body }, ['metadata', ...(SPEC_REQUIRED.has(info.kind) ? ['spec'] : [])]);
  validate(o, schema, '', errors);
  const name = o.metadata?.name;
  if (!name && !(o.metadata as any)?.generateName) errors.push({ path: 'metadata.name', message: 'Required value' });
  else if (name) {
    const msg = info.nameRule(name);
    if (msg) errors.push({ path: 'metadata.name', message: msg });
  }
  if (!info.namespaced && o.metadata?.namespace) errors.push({ path: 'metadata.namespace', message: `${info.kind} is not namespaced` });
  if (errors.length === 0 && info.check) errors.push(...info.check(o));
  return errors;
}
