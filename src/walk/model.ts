// The walk report: the documented `--json` schema. Other subsystems add to it through `annotations`
// on a hop (the service proxy: "DNAT here, chosen endpoint, conntrack entry"; NetworkPolicy:
// "dropped here by this rule") without changing the shape.

export interface HopAnnotation {
  /** Which subsystem speaks: 'route', 'nat', 'policy', 'conntrack', ... */
  source: string;
  text: string;
  /** Machine-readable details (a rule, a chosen endpoint, a counter). */
  data?: Record<string, unknown>;
}

export interface Hop {
  /** 1-based position in its direction. */
  step: number;
  direction: 'there' | 'back';
  point: string;
  node: string;
  netns: string;
  interface: string;
  role: string;
  /** Capture time in seconds since the epoch (microsecond precision), and since the first hop. */
  ts: number;
  sinceStartUs: number;
  eth: { src: string; dst: string };
  ip: { src: string; dst: string; ttl: number; id: number; protocol: string };
  l4: { protocol: 'tcp' | 'udp' | 'icmp'; srcPort?: number; dstPort?: number; flags?: string[]; seq?: number; ack?: number; icmpType?: number; length?: number };
  encap?: { type: 'vxlan'; vni: number; outer: { ethSrc: string; ethDst: string; ipSrc: string; ipDst: string; udpSrc: number; udpDst: number } };
  /** What differs from the previous hop in the same direction. */
  changes: string[];
  summary: string;
  annotations: HopAnnotation[];
}

export interface MissedPoint {
  direction: 'there' | 'back';
  point: string;
  node: string;
  interface: string;
  /** Why the packet was not captured there, when kubelab knows. */
  reason: string;
}

export interface ArpExchange {
  point: string;
  node: string;
  interface: string;
  ts: number;
  op: 'request' | 'reply';
  summary: string;
}

export interface RouteLookup {
  direction: 'there' | 'back';
  node: string;
  netns: string;
  atPoint: string;
  command: string;
  result: string;
}

export interface WalkReport {
  schema: 'kubelab.walk/v1';
  from: { pod: string; ip: string; node: string };
  to: { pod?: string; ip: string; node?: string; port?: number };
  /** For a walk to a service: its virtual IP, the endpoints, the one chosen, and the kernel's evidence. */
  service?: { name: string; clusterIP: string; port: number; endpoints: string[]; chosen: string; conntrack: string; rules: string[] };
  protocol: 'tcp' | 'udp' | 'icmp';
  overlay: string;
  sameNode: boolean;
  /** The exchange the walk sent and whether the answer came back. */
  exchange: { command: string; ok: boolean; output: string };
  hops: Hop[];
  missed: MissedPoint[];
  arp: ArpExchange[];
  /** The DNS lookups of the exchange (a service walked to by name), as the client's eth0 saw them. */
  dns?: { ts: number; direction: 'query' | 'answer'; server: string; id: number; name: string; type: string; rcode?: string; answers: string[] }[];
  routes: RouteLookup[];
  startedAt: string;
  durationMs: number;
  pcaps?: { point: string; file: string }[];
}
