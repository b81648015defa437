// kube-proxy's iptables mode as pure text: `iptables-restore --noflush` input for the filter and nat
// tables with kube-proxy's chain names, rule order and comments, plus its partial sync (rewrite only
// the chains of services whose inputs changed, keep KUBE-SERVICES whole, delete stale chains).
// The rules that hook our chains into the built-in ones are separate (iptablesJumpRules): as in
// kube-proxy, they are ensured one by one, never restored, so nothing else in those chains is touched.
import { buildModel, changedServices, cidrContains, type EndpointModel, type ServicePortModel } from './model.ts';
import {
  IPTABLES_SERVICE_CHAIN_PREFIXES,
  iptablesEndpointChain,
  iptablesServiceChains,
  kubelabJumpComment,
} from './names.ts';
import type { ProxyInput, ProxyOptions } from './types.ts';

const KUBE_SERVICES = 'KUBE-SERVICES';
const KUBE_EXTERNAL_SERVICES = 'KUBE-EXTERNAL-SERVICES';
const KUBE_NODEPORTS = 'KUBE-NODEPORTS';
const KUBE_POSTROUTING = 'KUBE-POSTROUTING';
const KUBE_MARK_MASQ = 'KUBE-MARK-MASQ';
const KUBE_FORWARD = 'KUBE-FORWARD';
const KUBE_PROXY_FIREWALL = 'KUBE-PROXY-FIREWALL';

export const LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000;

/** What a sync leaves behind for the next one: enough to compute a partial sync. */
export interface IptablesState {
  /** Node facts and options; a change forces a full sync. */
  settingsKey: string;
  largeClusterMode: boolean;
  /** Input fingerprint of each proxied service, by `ns/name`. */
  services: Map<string, string>;
  /** Per-service nat chains (KUBE-SVC/SVL/EXT/FW/SEP) the kernel holds after this sync. */
  natChains: Set<string>;
}

export interface IptablesSync {
  /** Input for `iptables-restore --noflush` (kube-proxy always restores with --noflush). */
  payload: string;
  state: IptablesState;
  full: boolean;
  /** Services (`ns/name`) whose chains this payload rewrites or removes. */
  changedServices: string[];
  /** Per-service chains this payload deletes with -X. */
  deletedChains: string[];
}

/** One rule kubelab keeps in a built-in chain, as kube-proxy's iptablesJumpChains. */
export interface JumpRule {
  table: 'filter' | 'nat';
  chain: string;
  /** The rule's match and target, without -A/-I/-C. */
  rule: string[];
}

/** Joins words into one restore line; words that carry their own quotes are kept as written. */
class Lines {
  readonly lines: string[] = [];
  write(...words: (string | string[])[]): void {
    this.lines.push(words.flat().join(' '));
  }
}

/** A sink for the rules of services a partial sync skips (kube-proxy's discard buffer). */
class Discard extends Lines {
  override write(): void {}
}

function chainLine(chain: string): string {
  return `:${chain} - [0:0]`;
}

function probability(n: number): string {
  // kube-proxy: fmt.Sprintf("%0.10f", 1.0/float64(n)).
  return (1 / n).toFixed(10);
}

/**
 * The rules that hook kube-proxy's chains into the built-in chains, in kube-proxy's order, each tagged
 * `kubelab:<cluster> <kube-proxy's comment>` so that `down` and the sweep find exactly ours.
 */
export function iptablesJumpRules(cluster: string): JumpRule[] {
  const ctNew = ['-m', 'conntrack', '--ctstate', 'NEW'];
  const jump = (table: JumpRule['table'], target: string, chain: string, what: string, extra: string[] = []): JumpRule => ({
    table,
    chain,
    rule: [...extra, '-m', 'comment', '--comment', kubelabJumpComment(cluster, what), '-j', target],
  });
  return [
    jump('filter', KUBE_EXTERNAL_SERVICES, 'INPUT', 'kubernetes externally-visible service portals', ctNew),
    jump('filter', KUBE_EXTERNAL_SERVICES, 'FORWARD', 'kubernetes externally-visible service portals', ctNew),
    jump('filter', KUBE_NODEPORTS, 'INPUT', 'kubernetes health check service ports'),
    jump('filter', KUBE_SERVICES, 'FORWARD', 'kubernetes service portals', ctNew),
    jump('filter', KUBE_SERVICES, 'OUTPUT', 'kubernetes service portals', ctNew),
    jump('filter', KUBE_FORWARD, 'FORWARD', 'kubernetes forwarding rules'),
    jump('filter', KUBE_PROXY_FIREWALL, 'INPUT', 'kubernetes load balancer firewall', ctNew),
    jump('filter', KUBE_PROXY_FIREWALL, 'OUTPUT', 'kubernetes load balancer firewall', ctNew),
    jump('filter', KUBE_PROXY_FIREWALL, 'FORWARD', 'kubernetes load balancer firewall', ctNew),
    jump('nat', KUBE_SERVICES, 'OUTPUT', 'kubernetes service portals'),
    jump('nat', KUBE_SERVICES, 'PREROUTING', 'kubernetes service portals'),
    jump('nat', KUBE_POSTROUTING, 'POSTROUTING', 'kubernetes postrouting rules'),
  ];
}

/**
 * argv to check for (`-C`), insert (`-I`, at the top as kube-proxy's EnsureRule(Prepend)) or delete
 * (`-D`) one jump rule. The chains they point at must exist first: restore a payload before inserting.
 */
export function jumpRuleArgv(rule: JumpRule, op: '-C' | '-I' | '-D'): string[] {
  return ['iptables', '-w', '-t', rule.table, op, rule.chain, ...rule.rule];
}

interface Buffers {
  filterChains: Lines;
  filterRules: Lines;
  natChains: Lines;
  natRules: Lines;
}

interface Settings {
  mark: string;
  clusterCIDR: string;
  nodeIPs: string[];
  masqueradeAll: boolean;
  nodePortAddresses: 'all' | 'nodeIPs';
  conntrackTCPLiberal: boolean;
}

function quoted(text: string): string {
  return `"${text}"`;
}

function sepChain(p: ServicePortModel, ep: EndpointModel): string {
  return iptablesEndpointChain(p.nameString, p.protocol, ep.str);
}

/** kube-proxy's writeServiceToEndpointRules: affinity checks first, then the random cascade. */
function writeServiceToEndpointRules(
  natRules: Lines,
  p: ServicePortModel,
  svcChain: string,
  endpoints: EndpointModel[],
  comments: boolean,
): void {
  const comment = (ep: EndpointModel) => (comments ? ['-m', 'comment', '--comment', quoted(`${p.nameString} -> ${ep.str}`)] : []);
  if (p.affinitySeconds !== null) {
    for (const ep of endpoints) {
      const sep = sepChain(p, ep);
      natRules.write('-A', svcChain, comment(ep), '-m', 'recent', '--name', sep, '--rcheck', '--seconds', String(p.affinitySeconds), '--reap', '-j', sep);
    }
  }
  endpoints.forEach((ep, i) => {
    // Rule i matches with probability 1/(n-i) of what reached it, so every endpoint gets 1/n overall;
    // the last rule matches whatever is left.
    const stat = i < endpoints.length - 1 ? ['-m', 'statistic', '--mode', 'random', '--probability', probability(endpoints.length - i)] : [];
    natRules.write('-A', svcChain, comment(ep), stat, '-j', sepChain(p, ep));
  });
}

/** Everything kube-proxy writes for one service port; `chains`/`rules` may be discard sinks. */
function writeServicePort(
  p: ServicePortModel,
  s: Settings,
  b: Buffers,
  serviceChains: Lines,
  serviceRules: Lines,
  active: Set<string>,
  comments: boolean,
): void {
  const proto = p.protocol;
  const names = iptablesServiceChains(p.nameString, proto);
  const usesClusterPolicyChain = p.clusterEndpoints.length > 0;
  const usesLocalPolicyChain = p.localEndpoints.length > 0;
  const internalTrafficChain = p.internalPolicyLocal ? names.svl : names.svc;
  const hasInternalEndpoints = p.hasEndpoints && (!p.internalPolicyLocal || p.localEndpoints.length > 0);
  const externalPolicyChain = p.externalPolicyLocal ? names.svl : names.svc;
  const hasExternalEndpoints = p.hasEndpoints && (!p.externalPolicyLocal || p.localEndpoints.length > 0);
  const externalTrafficChain = names.ext;
  const usesExternalTrafficChain = p.hasEndpoints && p.externallyAccessible;
  const usesFWChain = p.hasEndpoints && p.loadBalancerVIPs.length > 0 && p.loadBalancerSourceRanges.length > 0;
  const loadBalancerTrafficChain = usesFWChain ? names.fw : externalTrafficChain;

  let internalFilterTarget = '';
  let internalFilterComment = '';
  let externalFilterTarget = '';
  let externalFilterComment = '';
  if (!p.hasEndpoints) {
    internalFilterTarget = externalFilterTarget = 'REJECT';
    internalFilterComment = externalFilterComment = quoted(`${p.nameString} has no endpoints`);
  } else {
    if (!hasInternalEndpoints) {
      internalFilterTarget = 'DROP';
      internalFilterComment = quoted(`${p.nameString} has no local endpoints`);
    }
    if (!hasExternalEndpoints) {
      externalFilterTarget = 'DROP';
      externalFilterComment = quoted(`${p.nameString} has no local endpoints`);
    }
  }
  const dport = ['-m', proto, '-p', proto];
  const port = String(p.port);

  // Capture the ClusterIP.
  if (hasInternalEndpoints) {
    b.natRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', quoted(`${p.nameString} cluster IP`), dport, '-d', p.clusterIP, '--dport', port, '-j', internalTrafficChain);
  } else {
    b.filterRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', internalFilterComment, dport, '-d', p.clusterIP, '--dport', port, '-j', internalFilterTarget);
  }

  // Capture external IPs.
  for (const ip of p.externalIPs) {
    if (p.hasEndpoints) {
      b.natRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', quoted(`${p.nameString} external IP`), dport, '-d', ip, '--dport', port, '-j', externalTrafficChain);
    }
    if (!hasExternalEndpoints) {
      b.filterRules.write('-A', KUBE_EXTERNAL_SERVICES, '-m', 'comment', '--comment', externalFilterComment, dport, '-d', ip, '--dport', port, '-j', externalFilterTarget);
    }
  }

  // Capture load-balancer ingress.
  for (const ip of p.loadBalancerVIPs) {
    if (p.hasEndpoints) {
      b.natRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', quoted(`${p.nameString} loadbalancer IP`), dport, '-d', ip, '--dport', port, '-j', loadBalancerTrafficChain);
    }
    if (usesFWChain) {
      b.filterRules.write('-A', KUBE_PROXY_FIREWALL, '-m', 'comment', '--comment', quoted(`${p.nameString} traffic not accepted by ${names.fw}`), dport, '-d', ip, '--dport', port, '-j', 'DROP');
    }
  }
  if (!hasExternalEndpoints) {
    for (const ip of p.loadBalancerVIPs) {
      b.filterRules.write('-A', KUBE_EXTERNAL_SERVICES, '-m', 'comment', '--comment', externalFilterComment, dport, '-d', ip, '--dport', port, '-j', externalFilterTarget);
    }
  }

  // Capture node ports.
  if (p.nodePort !== 0) {
    if (p.hasEndpoints) {
      b.natRules.write('-A', KUBE_NODEPORTS, '-m', 'comment', '--comment', p.nameString, dport, '--dport', String(p.nodePort), '-j', externalTrafficChain);
    }
    if (!hasExternalEndpoints) {
      b.filterRules.write('-A', KUBE_EXTERNAL_SERVICES, '-m', 'comment', '--comment', externalFilterComment, '-m', 'addrtype', '--dst-type', 'LOCAL', dport, '--dport', String(p.nodePort), '-j', externalFilterTarget);
    }
  }

  // From here on: the service's own chains, which a partial sync writes only when the service changed.
  const natChains = serviceChains;
  const natRules = serviceRules;

  if (hasInternalEndpoints) {
    const match = ['-m', 'comment', '--comment', quoted(`${p.nameString} cluster IP`), ...dport, '-d', p.clusterIP, '--dport', port];
    // Off-cluster clients (not from the pod network) are masqueraded, so replies come back through
    // this node even when the endpoint lives on another one.
    const notLocal = s.masqueradeAll ? [] : ['!', '-s', s.clusterCIDR];
    natRules.write('-A', internalTrafficChain, match, notLocal, '-j', KUBE_MARK_MASQ);
  }

  if (usesExternalTrafficChain) {
    natChains.write(chainLine(externalTrafficChain));
    active.add(externalTrafficChain);
    if (!p.externalPolicyLocal) {
      natRules.write('-A', externalTrafficChain, '-m', 'comment', '--comment', quoted(`masquerade traffic for ${p.nameString} external destinations`), '-j', KUBE_MARK_MASQ);
    } else {
      // Local policy keeps the client's source address; pods and the host itself short-circuit to
      // the Cluster chain, as if they had gone out to the load balancer and come back.
      natRules.write('-A', externalTrafficChain, '-m', 'comment', '--comment', quoted(`pod traffic for ${p.nameString} external destinations`), '-s', s.clusterCIDR, '-j', names.svc);
      natRules.write('-A', externalTrafficChain, '-m', 'comment', '--comment', quoted(`masquerade LOCAL traffic for ${p.nameString} external destinations`), '-m', 'addrtype', '--src-type', 'LOCAL', '-j', KUBE_MARK_MASQ);
      natRules.write('-A', externalTrafficChain, '-m', 'comment', '--comment', quoted(`route LOCAL traffic for ${p.nameString} external destinations`), '-m', 'addrtype', '--src-type', 'LOCAL', '-j', names.svc);
    }
    if (hasExternalEndpoints) natRules.write('-A', externalTrafficChain, '-j', externalPolicyChain);
  }

  if (usesFWChain) {
    natChains.write(chainLine(names.fw));
    active.add(names.fw);
    const head = ['-A', names.fw, '-m', 'comment', '--comment', quoted(`${p.nameString} loadbalancer IP`)];
    let allowFromNode = false;
    for (const cidr of p.loadBalancerSourceRanges) {
      natRules.write(head, '-s', cidr, '-j', externalTrafficChain);
      if (s.nodeIPs[0] !== undefined && cidrContains(cidr, s.nodeIPs[0])) allowFromNode = true;
    }
    if (allowFromNode) for (const ip of p.loadBalancerVIPs) natRules.write(head, '-s', ip, '-j', externalTrafficChain);
    natRules.write('-A', names.fw, '-m', 'comment', '--comment', quoted(`other traffic to ${p.nameString} will be dropped by KUBE-PROXY-FIREWALL`));
  }

  if (usesClusterPolicyChain) {
    natChains.write(chainLine(names.svc));
    active.add(names.svc);
    writeServiceToEndpointRules(natRules, p, names.svc, p.clusterEndpoints, comments);
  }
  if (usesLocalPolicyChain) {
    natChains.write(chainLine(names.svl));
    active.add(names.svl);
    writeServiceToEndpointRules(natRules, p, names.svl, p.localEndpoints, comments);
  }

  for (const ep of p.reachableEndpoints) {
    const sep = sepChain(p, ep);
    natChains.write(chainLine(sep));
    active.add(sep);
    const head = ['-A', sep, ...(comments ? ['-m', 'comment', '--comment', p.nameString] : [])];
    // Hairpin: a pod reaching itself through the service must be masqueraded, or its reply would
    // bypass the DNAT reversal.
    natRules.write(head, '-s', ep.ip, '-j', KUBE_MARK_MASQ);
    const affinity = p.affinitySeconds !== null ? ['-m', 'recent', '--name', sep, '--set'] : [];
    natRules.write(head, affinity, dport, '-j', 'DNAT', '--to-destination', ep.str);
  }
}


function settingsOf(input: ProxyInput, options: ProxyOptions): Settings {
  return {
    mark: input.node.masqueradeMark,
    clusterCIDR: input.node.clusterCIDR,
    nodeIPs: input.node.ips,
    masqueradeAll: options.masqueradeAll ?? false,
    nodePortAddresses: options.nodePortAddresses ?? 'all',
    conntrackTCPLiberal: options.conntrackTCPLiberal ?? false,
  };
}

/**
 * One sync, as kube-proxy's syncProxyRules. Without `previous` (or when node facts, options or large
 * cluster mode changed) it is a full sync: every chain declared and written. Otherwise it is partial:
 * the filter table and the top-level nat chains are rewritten whole, but only changed services' own
 * chains are declared and written; chains of removed services are flushed and deleted.
 */
export function iptablesSync(input: ProxyInput, options: ProxyOptions, previous?: IptablesState): IptablesSync {
  const model = buildModel(input);
  const s = settingsOf(input, options);
  const threshold = options.largeClusterEndpointsThreshold ?? LARGE_CLUSTER_ENDPOINTS_THRESHOLD;
  const largeClusterMode = model.totalEndpoints > threshold;
  const settingsKey = JSON.stringify([model.nodeFingerprint, s]);
  const full = !previous || previous.settingsKey !== settingsKey || previous.largeClusterMode !== largeClusterMode;
  const changed = full ? new Set(model.fingerprints.keys()) : changedServices(previous.services, model.fingerprints);

  const b: Buffers = { filterChains: new Lines(), filterRules: new Lines(), natChains: new Lines(), natRules: new Lines() };
  for (const c of [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL]) b.filterChains.write(chainLine(c));
  for (const c of [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ]) b.natChains.write(chainLine(c));

  // Masquerade what was marked, clearing the mark so a packet that loops through the stack again
  // is not masqueraded twice.
  b.natRules.write('-A', KUBE_POSTROUTING, '-m', 'mark', '!', '--mark', `${s.mark}/${s.mark}`, '-j', 'RETURN');
  b.natRules.write('-A', KUBE_POSTROUTING, '-j', 'MARK', '--xor-mark', s.mark);
  b.natRules.write('-A', KUBE_POSTROUTING, '-m', 'comment', '--comment', quoted('kubernetes service traffic requiring SNAT'), '-j', 'MASQUERADE', '--random-fully');
  b.natRules.write('-A', KUBE_MARK_MASQ, '-j', 'MARK', '--or-mark', s.mark);

  const active = new Set<string>();
  const discard = new Discard();
  for (const p of model.ports) {
    const write = changed.has(p.serviceKey);
    writeServicePort(p, s, b, write ? b.natChains : discard, write ? b.natRules : discard, active, !largeClusterMode);
  }

  // Chains of services that are gone: a chain line flushes, -X deletes.
  const deletedChains: string[] = [];
  for (const chain of [...(previous?.natChains ?? [])].sort()) {
    if (active.has(chain) || !IPTABLES_SERVICE_CHAIN_PREFIXES.some((pre) => chain.startsWith(pre))) continue;
    b.natChains.write(chainLine(chain));
    b.natRules.write('-X', chain);
    deletedChains.push(chain);
  }

  // The NodePort catch-all must stay the last rule of KUBE-SERVICES.
  const lastComment = quoted('kubernetes service nodeports; NOTE: this must be the last rule in this chain');
  if (s.nodePortAddresses === 'all') {
    b.natRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', lastComment, '-m', 'addrtype', '--dst-type', 'LOCAL', '!', '-d', '127.0.0.0/8', '-j', KUBE_NODEPORTS);
  } else {
    for (const ip of s.nodeIPs) b.natRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', lastComment, '-d', ip, '-j', KUBE_NODEPORTS);
  }

  if (!s.conntrackTCPLiberal) b.filterRules.write('-A', KUBE_FORWARD, '-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'DROP');
  b.filterRules.write('-A', KUBE_FORWARD, '-m', 'comment', '--comment', quoted('kubernetes forwarding rules'), '-m', 'mark', '--mark', `${s.mark}/${s.mark}`, '-j', 'ACCEPT');
  b.filterRules.write('-A', KUBE_FORWARD, '-m', 'comment', '--comment', quoted('kubernetes forwarding conntrack rule'), '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT');

  const payload = ['*filter', ...b.filterChains.lines, ...b.filterRules.lines, 'COMMIT', '*nat', ...b.natChains.lines, ...b.natRules.lines, 'COMMIT', ''].join('\n');
  return {
    payload,
    state: { settingsKey, largeClusterMode, services: model.fingerprints, natChains: active },
    full,
    changedServices: [...changed].sort(),
    deletedChains,
  };
}

/** A full sync: the whole ruleset, as kube-proxy writes it at start-up and every hour. */
export function iptablesFullSync(input: ProxyInput, options: ProxyOptions, previous?: IptablesState): IptablesSync {
  const result = iptablesSync(input, options, previous ? { ...previous, settingsKey: '' } : undefined);
  return { ...result, full: true };
}
