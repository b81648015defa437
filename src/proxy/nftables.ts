// kube-proxy's nftables mode as pure text: `nft -f` transactions for the table `ip kube-proxy`, with
// kube-proxy's base chains, verdict maps (service-ips, service-nodeports, no-endpoint-*), per-service
// chains `service-HASH-ns/name/proto/port`, endpoint chains `endpoint-HASH-...__ip/port` and affinity
// sets. Like kube-proxy, a full sync adds the table and re-creates (add + flush) every chain and map
// in one transaction; a partial sync rewrites only changed services' chains and the map elements
// that differ. The daemon's first sync knows nothing of what an earlier run left, so it replaces the
// whole table in its one transaction (add, delete, add): then nothing needs flushing, which at
// 10,000 services is 50,000 commands fewer. Other tables (NetworkPolicy's) are never touched.
import { buildModel, changedServices, cidrContains, type EndpointModel, type ServicePortModel } from './model.ts';
import { nftEndpointBase, nftEndpointNames, nftServiceBase, nftServiceChains } from './names.ts';
import type { ProxyInput, ProxyOptions } from './types.ts';

export const NFT_FAMILY = 'ip';
export const NFT_TABLE = 'kube-proxy';
const T = `${NFT_FAMILY} ${NFT_TABLE}`;

const SERVICES = 'services';
const SERVICE_IPS = 'service-ips';
const SERVICE_NODEPORTS = 'service-nodeports';
const NODEPORT_IPS = 'nodeport-ips';
const CLUSTER_IPS = 'cluster-ips';
const SERVICE_ENDPOINTS_CHECK = 'service-endpoints-check';
const NODEPORT_ENDPOINTS_CHECK = 'nodeport-endpoints-check';
const NO_ENDPOINT_SERVICES = 'no-endpoint-services';
const NO_ENDPOINT_NODEPORTS = 'no-endpoint-nodeports';
const REJECT_CHAIN = 'reject-chain';
const CLUSTER_IPS_CHECK = 'cluster-ips-check';
const FIREWALL_IPS = 'firewall-ips';
const FIREWALL_CHECK = 'firewall-check';
const MARK_MASQ = 'mark-for-masquerade';
const MASQUERADING = 'masquerading';

/**
 * kube-proxy's base chains. Priorities are numeric because nft 1.0.6 (Debian 12) accepts the names
 * `dstnat`/`srcnat` only on some hooks: dstnat is -100, srcnat is 100; kube-proxy writes `dstnat-10`.
 */
const BASE_CHAINS: { name: string; type: 'filter' | 'nat'; hook: string; priority: number }[] = [
  { name: 'filter-prerouting', type: 'filter', hook: 'prerouting', priority: -110 },
  { name: 'filter-input', type: 'filter', hook: 'input', priority: -110 },
  { name: 'filter-forward', type: 'filter', hook: 'forward', priority: -110 },
  { name: 'filter-output', type: 'filter', hook: 'output', priority: -110 },
  { name: 'filter-output-post-dnat', type: 'filter', hook: 'output', priority: -90 },
  { name: 'nat-prerouting', type: 'nat', hook: 'prerouting', priority: -100 },
  { name: 'nat-output', type: 'nat', hook: 'output', priority: -100 },
  { name: 'nat-postrouting', type: 'nat', hook: 'postrouting', priority: 100 },
];

/** Regular chains jumped to from the base chains, as kube-proxy's nftablesJumpChains. */
const JUMP_CHAINS: { dst: string; src: string; extra: string }[] = [
  { dst: NODEPORT_ENDPOINTS_CHECK, src: 'filter-input', extra: 'ct state new' },
  { dst: SERVICE_ENDPOINTS_CHECK, src: 'filter-input', extra: 'ct state new' },
  { dst: SERVICE_ENDPOINTS_CHECK, src: 'filter-forward', extra: 'ct state new' },
  { dst: SERVICE_ENDPOINTS_CHECK, src: 'filter-output', extra: 'ct state new' },
  { dst: FIREWALL_CHECK, src: 'filter-prerouting', extra: 'ct state new' },
  { dst: FIREWALL_CHECK, src: 'filter-output', extra: 'ct state new' },
  { dst: SERVICES, src: 'nat-output', extra: '' },
  { dst: SERVICES, src: 'nat-prerouting', extra: '' },
  { dst: MASQUERADING, src: 'nat-postrouting', extra: '' },
  { dst: CLUSTER_IPS_CHECK, src: 'filter-forward', extra: 'ct state new' },
  { dst: CLUSTER_IPS_CHECK, src: 'filter-output-post-dnat', extra: 'ct state new' },
];

/** The element containers kube-proxy keeps in sync element by element. */
const CONTAINERS = {
  [CLUSTER_IPS]: 'set',
  [SERVICE_IPS]: 'map',
  [FIREWALL_IPS]: 'map',
  [NO_ENDPOINT_SERVICES]: 'map',
  [NO_ENDPOINT_NODEPORTS]: 'map',
  [SERVICE_NODEPORTS]: 'map',
} as const;
type Container = keyof typeof CONTAINERS;

interface Element {
  key: string;
  value?: string;
  comment?: string;
}

export interface NftState {
  settingsKey: string;
  services: Map<string, string>;
  /** Per-service chains in the table after this sync (active ones). */
  chains: Set<string>;
  /** Chains flushed by this sync and to be deleted by the next one (kube-proxy's staleChains). */
  staleChains: Set<string>;
  affinitySets: Set<string>;
  /** Elements of each set/map after this sync: key -> value. */
  elements: Record<Container, Map<string, string>>;
}

export interface NftSync {
  /**
   * Run before `script` when present: deletes the chains the previous sync flushed. kube-proxy waits
   * at least a second after that sync, because kernels before 6.2 notice only lazily that a chain is
   * no longer referenced from a map.
   */
  cleanup?: string;
  /** The transaction, for `nft -f`. */
  script: string;
  state: NftState;
  full: boolean;
  changedServices: string[];
}

function emptyElements(): Record<Container, Map<string, string>> {
  return Object.fromEntries(Object.keys(CONTAINERS).map((k) => [k, new Map<string, string>()])) as Record<Container, Map<string, string>>;
}

function nftString(text: string): string {
  return `"${text.replaceAll('"', '')}"`;
}

class Tx {
  readonly lines: string[] = [];
  /** The table was (re)created in this transaction: nothing in it needs flushing. */
  fresh = false;
  add(line: string): void {
    this.lines.push(line);
  }
  flush(kind: 'chain' | 'set' | 'map', name: string): void {
    if (!this.fresh) this.add(`flush ${kind} ${T} ${name}`);
  }
  chain(name: string, comment?: string): void {
    this.add(comment ? `add chain ${T} ${name} { comment ${nftString(comment)} ; }` : `add chain ${T} ${name}`);
  }
  rule(chain: string, rule: string, comment?: string): void {
    this.add(`add rule ${T} ${chain} ${rule}${comment ? ` comment ${nftString(comment)}` : ''}`);
  }
}

/** Tracks a sync's element changes against what the table held, as kube-proxy's nftElementStorage. */
class ElementStore {
  private readonly leftover: Set<string>;
  constructor(
    readonly container: Container,
    readonly elements: Map<string, string>,
  ) {
    this.leftover = new Set(elements.keys());
  }
  private render(verb: 'add' | 'delete', e: Element): string {
    const comment = e.comment ? ` comment ${nftString(e.comment)}` : '';
    const body = verb === 'delete' || e.value === undefined ? `${e.key}${verb === 'add' ? comment : ''}` : `${e.key}${comment} : ${e.value}`;
    return `${verb} element ${T} ${this.container} { ${body} }`;
  }
  ensure(tx: Tx, e: Element): void {
    const value = e.value ?? '';
    const existing = this.elements.get(e.key);
    if (existing === undefined) {
      tx.add(this.render('add', e));
    } else if (existing !== value) {
      tx.add(this.render('delete', e));
      tx.add(this.render('add', e));
    }
    this.elements.set(e.key, value);
    this.leftover.delete(e.key);
  }
  cleanup(tx: Tx): void {
    for (const key of [...this.leftover].sort()) {
      tx.add(this.render('delete', { key }));
      this.elements.delete(key);
    }
  }
}

interface Settings {
  mark: string;
  clusterCIDR: string;
  nodeIPs: string[];
  serviceCIDRs: string[];
  masqueradeAll: boolean;
  nodePortAddresses: 'all' | 'nodeIPs';
  endpointSelection: 'cascade' | 'vmap';
}

/** The fixed part of the table: kube-proxy's setupNFTables, run on every full sync. */
function setupTable(tx: Tx, s: Settings, firstSync: boolean): void {
  if (firstSync) {
    // add + delete + add: whatever an earlier run left goes, atomically with the new ruleset.
    tx.add(`add table ${T}`);
    tx.add(`delete table ${T}`);
    tx.fresh = true;
  }
  tx.add(`add table ${T} { comment ${nftString('rules for kube-proxy')} ; }`);
  for (const bc of BASE_CHAINS) {
    tx.add(`add chain ${T} ${bc.name} { type ${bc.type} hook ${bc.hook} priority ${bc.priority} ; }`);
    tx.flush('chain', bc.name);
  }
  const created = new Set<string>();
  const ensure = (name: string) => {
    if (created.has(name)) return;
    created.add(name);
    tx.chain(name);
    tx.flush('chain', name);
  };
  for (const j of JUMP_CHAINS) {
    ensure(j.dst);
    tx.rule(j.src, `${j.extra ? `${j.extra} ` : ''}jump ${j.dst}`);
  }
  for (const c of [SERVICES, CLUSTER_IPS_CHECK, MASQUERADING, MARK_MASQ]) ensure(c);

  tx.rule(MARK_MASQ, `mark set mark or ${s.mark}`);
  tx.rule(MASQUERADING, `mark and ${s.mark} == 0 return`);
  tx.rule(MASQUERADING, `mark set mark xor ${s.mark}`);
  tx.rule(MASQUERADING, 'masquerade fully-random');

  tx.add(`add set ${T} ${CLUSTER_IPS} { type ipv4_addr ; comment ${nftString('Active ClusterIPs')} ; }`);
  tx.rule(CLUSTER_IPS_CHECK, `ip daddr @${CLUSTER_IPS} reject`, 'Reject traffic to invalid ports of ClusterIPs');
  if (s.serviceCIDRs.length > 0) {
    tx.rule(CLUSTER_IPS_CHECK, `ip daddr { ${s.serviceCIDRs.join(', ')} } drop`, 'Drop traffic to unallocated ClusterIPs');
  }

  // add + delete makes "ensure absent" idempotent.
  tx.add(`add set ${T} ${NODEPORT_IPS} { type ipv4_addr ; comment ${nftString('IPs that accept NodePort traffic')} ; }`);
  if (s.nodePortAddresses === 'all') {
    tx.add(`delete set ${T} ${NODEPORT_IPS}`);
  } else {
    tx.flush('set', NODEPORT_IPS);
    for (const ip of s.nodeIPs) tx.add(`add element ${T} ${NODEPORT_IPS} { ${ip} }`);
  }

  tx.add(`add map ${T} ${NO_ENDPOINT_SERVICES} { type ipv4_addr . inet_proto . inet_service : verdict ; comment ${nftString('vmap to drop or reject packets to services with no endpoints')} ; }`);
  tx.add(`add map ${T} ${NO_ENDPOINT_NODEPORTS} { type inet_proto . inet_service : verdict ; comment ${nftString('vmap to drop or reject packets to service nodeports with no endpoints')} ; }`);
  tx.chain(REJECT_CHAIN, 'helper for @no-endpoint-services / @no-endpoint-nodeports');
  tx.flush('chain', REJECT_CHAIN);
  tx.rule(REJECT_CHAIN, 'reject');
  tx.rule(SERVICE_ENDPOINTS_CHECK, `ip daddr . meta l4proto . th dport vmap @${NO_ENDPOINT_SERVICES}`);
  const nodePortDst = s.nodePortAddresses === 'all' ? 'ip daddr != 127.0.0.0/8' : `ip daddr @${NODEPORT_IPS}`;
  tx.rule(NODEPORT_ENDPOINTS_CHECK, `${nodePortDst} meta l4proto . th dport vmap @${NO_ENDPOINT_NODEPORTS}`);

  tx.add(`add map ${T} ${FIREWALL_IPS} { type ipv4_addr . inet_proto . inet_service : verdict ; comment ${nftString('destinations that are subject to LoadBalancerSourceRanges')} ; }`);
  ensure(FIREWALL_CHECK);
  tx.rule(FIREWALL_CHECK, `ip daddr . meta l4proto . th dport vmap @${FIREWALL_IPS}`);

  tx.add(`add map ${T} ${SERVICE_IPS} { type ipv4_addr . inet_proto . inet_service : verdict ; comment ${nftString('ClusterIP, ExternalIP and LoadBalancer IP traffic')} ; }`);
  tx.add(`add map ${T} ${SERVICE_NODEPORTS} { type inet_proto . inet_service : verdict ; comment ${nftString('NodePort traffic')} ; }`);
  tx.rule(SERVICES, `ip daddr . meta l4proto . th dport vmap @${SERVICE_IPS}`);
  if (s.nodePortAddresses === 'all') {
    tx.rule(SERVICES, `fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @${SERVICE_NODEPORTS}`);
  } else {
    tx.rule(SERVICES, `ip daddr @${NODEPORT_IPS} meta l4proto . th dport vmap @${SERVICE_NODEPORTS}`);
  }

  for (const [name, kind] of Object.entries(CONTAINERS)) tx.flush(kind, name);
}

function endpointNames(p: ServicePortModel, ep: EndpointModel) {
  return nftEndpointNames(nftEndpointBase(p.namespace, p.name, p.protocol, p.portName, ep.ip, ep.port));
}

function settingsOf(input: ProxyInput, options: ProxyOptions): Settings {
  return {
    mark: input.node.masqueradeMark,
    clusterCIDR: input.node.clusterCIDR,
    nodeIPs: input.node.ips,
    serviceCIDRs: input.node.serviceCIDRs ?? [],
    masqueradeAll: options.masqueradeAll ?? false,
    nodePortAddresses: options.nodePortAddresses ?? 'all',
    endpointSelection: options.nftEndpointSelection ?? 'cascade',
  };
}

/**
 * One sync, as kube-proxy's nftables syncProxyRules: full without `previous` (or when node facts or
 * options changed), partial otherwise. Pass the returned state to the next call.
 */
export function nftablesSync(input: ProxyInput, options: ProxyOptions, previous?: NftState): NftSync {
  const model = buildModel(input);
  const s = settingsOf(input, options);
  const settingsKey = JSON.stringify([model.nodeFingerprint, s]);
  const full = !previous || previous.settingsKey !== settingsKey;
  const changed = full ? new Set(model.fingerprints.keys()) : changedServices(previous.services, model.fingerprints);

  let cleanup: string | undefined;
  if (previous && previous.staleChains.size > 0) {
    const c = new Tx();
    // add + delete: a chain that is already gone is not an error.
    for (const chain of [...previous.staleChains].sort()) {
      c.chain(chain);
      c.add(`delete chain ${T} ${chain}`);
    }
    cleanup = c.lines.join('\n') + '\n';
  }
  // What the table holds once cleanup ran.
  const existingChains = new Set(previous?.chains ?? []);

  const tx = new Tx();
  // A full sync flushes every map, so elements are all added afresh.
  const elements = full ? emptyElements() : cloneElements(previous.elements);
  if (full) setupTable(tx, s, !previous);
  const stores = Object.fromEntries(Object.keys(CONTAINERS).map((k) => [k, new ElementStore(k as Container, elements[k as Container])])) as Record<Container, ElementStore>;

  const activeChains = new Set<string>();
  const activeAffinitySets = new Set<string>();
  const ensureChain = (name: string, skip: boolean) => {
    if (activeChains.has(name)) return;
    activeChains.add(name);
    if (skip) return;
    tx.chain(name);
    tx.flush('chain', name);
  };

  for (const p of model.ports) {
    const skip = !changed.has(p.serviceKey);
    writeServicePort(p, s, tx, stores, ensureChain, activeAffinitySets, skip);
  }

  // Chains no longer used are flushed now and deleted by the next sync's cleanup.
  const staleChains = new Set<string>();
  for (const chain of [...existingChains].sort()) {
    if (activeChains.has(chain)) continue;
    tx.flush('chain', chain);
    staleChains.add(chain);
  }
  // Affinity sets can go at once: the only rules that used them were just flushed or rewritten.
  for (const set of [...(previous?.affinitySets ?? [])].sort()) {
    if (!activeAffinitySets.has(set)) tx.add(`delete set ${T} ${set}`);
  }
  for (const store of Object.values(stores)) store.cleanup(tx);

  return {
    cleanup,
    script: tx.lines.join('\n') + '\n',
    state: { settingsKey, services: model.fingerprints, chains: activeChains, staleChains, affinitySets: activeAffinitySets, elements },
    full,
    changedServices: [...changed].sort(),
  };
}

function cloneElements(e: Record<Container, Map<string, string>>): Record<Container, Map<string, string>> {
  return Object.fromEntries(Object.entries(e).map(([k, m]) => [k, new Map(m)])) as Record<Container, Map<string, string>>;
}

function writeServicePort(
  p: ServicePortModel,
  s: Settings,
  tx: Tx,
  stores: Record<Container, ElementStore>,
  ensureChain: (name: string, skip: boolean) => void,
  activeAffinitySets: Set<string>,
  skip: boolean,
): void {
  const proto = p.protocol;
  const names = nftServiceChains(nftServiceBase(p.namespace, p.name, proto, p.portName));
  const eps = new Map(p.reachableEndpoints.map((ep) => [ep.str, endpointNames(p, ep)]));

  for (const ep of p.reachableEndpoints) {
    ensureChain(eps.get(ep.str)!.chain, skip);
    if (p.affinitySeconds !== null) activeAffinitySets.add(eps.get(ep.str)!.affinitySet);
  }
  const usesClusterPolicyChain = p.clusterEndpoints.length > 0;
  if (usesClusterPolicyChain) ensureChain(names.cluster, skip);
  const usesLocalPolicyChain = p.localEndpoints.length > 0;
  if (usesLocalPolicyChain) ensureChain(names.local, skip);

  const internalTrafficChain = p.internalPolicyLocal ? names.local : names.cluster;
  const hasInternalEndpoints = p.hasEndpoints && (!p.internalPolicyLocal || p.localEndpoints.length > 0);
  const externalPolicyChain = p.externalPolicyLocal ? names.local : names.cluster;
  const hasExternalEndpoints = p.hasEndpoints && (!p.externalPolicyLocal || p.localEndpoints.length > 0);
  const externalTrafficChain = names.external;
  const usesExternalTrafficChain = p.hasEndpoints && p.externallyAccessible;
  if (usesExternalTrafficChain) ensureChain(externalTrafficChain, skip);

  let internalVerdict = '';
  let externalVerdict = '';
  if (!p.hasEndpoints) {
    internalVerdict = externalVerdict = `goto ${REJECT_CHAIN}`;
  } else {
    if (!hasInternalEndpoints) internalVerdict = 'drop';
    if (!hasExternalEndpoints) externalVerdict = 'drop';
  }
  const port = String(p.port);

  stores[CLUSTER_IPS].ensure(tx, { key: p.clusterIP });
  if (hasInternalEndpoints) {
    stores[SERVICE_IPS].ensure(tx, { key: `${p.clusterIP} . ${proto} . ${port}`, value: `goto ${internalTrafficChain}` });
  } else {
    stores[NO_ENDPOINT_SERVICES].ensure(tx, { key: `${p.clusterIP} . ${proto} . ${port}`, value: internalVerdict, comment: p.nameString });
  }
  for (const ip of p.externalIPs) {
    if (p.hasEndpoints) stores[SERVICE_IPS].ensure(tx, { key: `${ip} . ${proto} . ${port}`, value: `goto ${externalTrafficChain}` });
    if (!hasExternalEndpoints) stores[NO_ENDPOINT_SERVICES].ensure(tx, { key: `${ip} . ${proto} . ${port}`, value: externalVerdict, comment: p.nameString });
  }

  const usesFWChain = p.loadBalancerVIPs.length > 0 && p.loadBalancerSourceRanges.length > 0;
  if (usesFWChain) ensureChain(names.firewall, skip);
  for (const ip of p.loadBalancerVIPs) {
    if (p.hasEndpoints) stores[SERVICE_IPS].ensure(tx, { key: `${ip} . ${proto} . ${port}`, value: `goto ${externalTrafficChain}` });
    if (usesFWChain) stores[FIREWALL_IPS].ensure(tx, { key: `${ip} . ${proto} . ${port}`, value: `goto ${names.firewall}` });
  }
  if (!hasExternalEndpoints) {
    for (const ip of p.loadBalancerVIPs) {
      stores[NO_ENDPOINT_SERVICES].ensure(tx, { key: `${ip} . ${proto} . ${port}`, value: externalVerdict, comment: p.nameString });
    }
  }
  if (p.nodePort !== 0) {
    if (p.hasEndpoints) stores[SERVICE_NODEPORTS].ensure(tx, { key: `${proto} . ${p.nodePort}`, value: `goto ${externalTrafficChain}` });
    if (!hasExternalEndpoints) stores[NO_ENDPOINT_NODEPORTS].ensure(tx, { key: `${proto} . ${p.nodePort}`, value: externalVerdict, comment: p.nameString });
  }

  if (skip) return;

  if (hasInternalEndpoints) {
    const notLocal = s.masqueradeAll ? '' : ` ip saddr != ${s.clusterCIDR}`;
    tx.rule(internalTrafficChain, `ip daddr ${p.clusterIP} ${proto} dport ${port}${notLocal} jump ${MARK_MASQ}`);
  }

  if (usesExternalTrafficChain) {
    if (!p.externalPolicyLocal) {
      tx.rule(externalTrafficChain, `jump ${MARK_MASQ}`);
    } else {
      tx.rule(externalTrafficChain, `ip saddr ${s.clusterCIDR} goto ${names.cluster}`, 'short-circuit pod traffic');
      tx.rule(externalTrafficChain, `fib saddr type local jump ${MARK_MASQ}`, 'masquerade local traffic');
      tx.rule(externalTrafficChain, `fib saddr type local goto ${names.cluster}`, 'short-circuit local traffic');
    }
    if (hasExternalEndpoints) tx.rule(externalTrafficChain, `goto ${externalPolicyChain}`);
  }

  if (usesFWChain) {
    const sources = [...p.loadBalancerSourceRanges];
    const nodeIP = s.nodeIPs[0];
    if (nodeIP !== undefined && p.loadBalancerSourceRanges.some((c) => cidrContains(c, nodeIP))) sources.push(...p.loadBalancerVIPs);
    tx.rule(names.firewall, `ip saddr != { ${sources.join(', ')} } drop`);
  }

  if (p.affinitySeconds !== null) {
    for (const ep of p.reachableEndpoints) {
      // One set per endpoint: client addresses seen recently, forgotten after the affinity timeout.
      tx.add(`add set ${T} ${eps.get(ep.str)!.affinitySet} { type ipv4_addr ; flags dynamic,timeout ; timeout ${p.affinitySeconds}s ; }`);
    }
  }

  if (usesClusterPolicyChain) writeServiceToEndpointRules(tx, s, p, names.cluster, p.clusterEndpoints, eps);
  if (usesLocalPolicyChain) writeServiceToEndpointRules(tx, s, p, names.local, p.localEndpoints, eps);

  for (const ep of p.reachableEndpoints) {
    const { chain, affinitySet } = eps.get(ep.str)!;
    tx.rule(chain, `ip saddr ${ep.ip} jump ${MARK_MASQ}`);
    if (p.affinitySeconds !== null) tx.rule(chain, `update @${affinitySet} { ip saddr }`);
    tx.rule(chain, `meta l4proto ${proto} dnat to ${ep.str}`);
  }
}

function writeServiceToEndpointRules(
  tx: Tx,
  s: Settings,
  p: ServicePortModel,
  chain: string,
  endpoints: EndpointModel[],
  eps: Map<string, { chain: string; affinitySet: string }>,
): void {
  if (p.affinitySeconds !== null) {
    for (const ep of endpoints) tx.rule(chain, `ip saddr @${eps.get(ep.str)!.affinitySet} goto ${eps.get(ep.str)!.chain}`);
  }
  if (s.endpointSelection === 'vmap') {
    // kube-proxy's rule: one random number per new connection indexes an anonymous verdict map.
    const vmap = endpoints.map((ep, i) => `${i} : goto ${eps.get(ep.str)!.chain}`).join(' , ');
    tx.rule(chain, `numgen random mod ${endpoints.length} vmap { ${vmap} }`);
    return;
  }
  // The same uniform choice without a map per service: endpoint i of N is taken with probability
  // 1/(N-i) among the ones left, so each gets 1/N (as iptables mode's statistic cascade).
  endpoints.forEach((ep, i) => {
    const left = endpoints.length - i;
    const target = eps.get(ep.str)!.chain;
    tx.rule(chain, left > 1 ? `numgen random mod ${left} == 0 goto ${target}` : `goto ${target}`);
  });
}


/** A full sync: the whole table, as kube-proxy writes it at start-up or after a failure. */
export function nftablesFullSync(input: ProxyInput, options: ProxyOptions, previous?: NftState): NftSync {
  return nftablesSync(input, options, previous ? { ...previous, settingsKey: '' } : undefined);
}

/** Removes the whole table: kube-proxy's CleanupLeftovers for nftables (add first: absent is fine). */
export function nftablesCleanupScript(): string {
  return `add table ${T}\ndelete table ${T}\n`;
}
