// Inputs of the service proxy generators: the parts of Services, EndpointSlices and the Node that
// kube-proxy reads, in the shape the node daemon hands them over. Field names follow the Kubernetes
// API (spec.ports[].targetPort, spec.externalTrafficPolicy, status.loadBalancer.ingress[].ip, ...).

export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type TrafficPolicy = 'Cluster' | 'Local';

export interface ServicePort {
  /** The port's name; may be empty only when the service has a single port. */
  name: string;
  port: number;
  protocol: Protocol;
  /** Informational here: the endpoints already carry the resolved target port. */
  targetPort?: number | string;
  /** Only meaningful for NodePort and LoadBalancer services. */
  nodePort?: number;
}

export interface Service {
  namespace: string;
  name: string;
  type: ServiceType;
  /** An IPv4 address, or `None` (or empty) for a headless service, which the proxy skips. */
  clusterIP: string;
  ports: ServicePort[];
  sessionAffinity?: 'None' | 'ClientIP';
  /** spec.sessionAffinityConfig.clientIP.timeoutSeconds; Kubernetes defaults it to 10800. */
  sessionAffinityTimeoutSeconds?: number;
  externalTrafficPolicy?: TrafficPolicy;
  internalTrafficPolicy?: TrafficPolicy;
  externalIPs?: string[];
  /** status.loadBalancer.ingress[].ip */
  loadBalancerIngressIPs?: string[];
  /** spec.loadBalancerSourceRanges: when set, LoadBalancer traffic passes a KUBE-FW chain. */
  loadBalancerSourceRanges?: string[];
}

export interface Endpoint {
  ip: string;
  port: number;
  nodeName?: string;
  ready: boolean;
  /** Whether the endpoint runs on this node; derived from nodeName when omitted. */
  local?: boolean;
}

export interface NodeFacts {
  name: string;
  /** The node's own addresses; the first is its primary IP. */
  ips: string[];
  /** Pod network; traffic from outside it is "not local" to the cluster (kube-proxy's LocalDetector). */
  clusterCIDR: string;
  /** Service network; nftables mode drops traffic to unallocated ClusterIPs inside it. */
  serviceCIDRs?: string[];
  /** The masquerade bit as kube-proxy writes it, e.g. `0x4000`. */
  masqueradeMark: string;
}

export interface ProxyInput {
  services: Service[];
  /**
   * Endpoints per service port, keyed by the service port name as kube-proxy prints it:
   * `namespace/name:portName`, or `namespace/name` for an unnamed port (see servicePortName()).
   */
  endpoints: Record<string, Endpoint[]>;
  node: NodeFacts;
}

/** Options shared by both modes; each mirrors a kube-proxy flag. */
export interface ProxyOptions {
  /** The cluster name: tags the rules kubelab adds to the built-in chains. */
  cluster: string;
  /**
   * `all` (kube-proxy's default when --nodeport-addresses is empty): NodePorts answer on every local
   * address but 127.0.0.0/8. `nodeIPs`: only on the node's own IPs (as with --nodeport-addresses).
   */
  nodePortAddresses?: 'all' | 'nodeIPs';
  /** --masquerade-all */
  masqueradeAll?: boolean;
  /**
   * kube-proxy drops per-endpoint comments above 1000 endpoints ("large cluster mode") to keep the
   * ruleset small; tests can lower this.
   */
  largeClusterEndpointsThreshold?: number;
  /** nf_conntrack_tcp_be_liberal=1 on the node: kube-proxy then skips the INVALID drop rule. */
  conntrackTCPLiberal?: boolean;
  /**
   * nftables mode: how a service chain picks its endpoint. `vmap` is kube-proxy's rule, one
   * `numgen random mod N vmap { 0 : goto ..., ... }` per service; every such rule makes an anonymous
   * map, and the kernel's handling of many anonymous sets in one transaction is quadratic (10,000
   * services take several seconds in the kernel alone, see bench/proxy-sync.ts). `cascade` (the
   * default) is the same uniform choice as N plain rules, the way iptables mode's `statistic`
   * cascade does it: `numgen random mod 3 == 0 goto A`, `numgen random mod 2 == 0 goto B`, `goto C`.
   */
  nftEndpointSelection?: 'cascade' | 'vmap';
}
