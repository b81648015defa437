// The node's service proxy (kube-proxy's job): from Services and Endpoints it computes kube-proxy's
// ruleset with the pure generators of src/proxy and applies it in one batch (iptables-restore
// --noflush, or nft -f), partially when only some services changed. It also clears stale UDP
// conntrack entries toward endpoints that went away, as kube-proxy does, so new datagrams reach
// live endpoints instead of the black hole an old entry points at.
import type { KubeObject } from '../api/types.ts';
import type { Cmd } from '../driver/command.ts';
import type { Runner } from '../driver/runner.ts';
import { type IptablesBackend, iptablesTool } from '../driver/iptables.ts';
import { iptablesJumpRules, iptablesSync, jumpRuleArgv, type IptablesState, nftablesSync, type NftState, servicePortName } from '../proxy/index.ts';
import type { Endpoint, ProxyInput, Service } from '../proxy/types.ts';

export type ProxyMode = 'iptables' | 'nftables';

/** Pure: the generators' input from API objects, as kube-proxy reads Services and their endpoints. */
export function proxyInput(services: KubeObject[], endpoints: KubeObject[], node: { name: string; ip: string }, clusterCIDR: string, serviceCIDR: string): ProxyInput {
  const svcs: Service[] = [];
  const eps: Record<string, Endpoint[]> = {};
  const epIndex = new Map(endpoints.map((e) => [`${e.metadata.namespace}/${e.metadata.name}`, e]));
  for (const s of services) {
    const spec = s.spec ?? {};
    if (spec.type === 'ExternalName' || !spec.clusterIP || spec.clusterIP === 'None') continue;
    const ns = s.metadata.namespace!;
    svcs.push({
      namespace: ns,
      name: s.metadata.name,
      type: spec.type ?? 'ClusterIP',
      clusterIP: spec.clusterIP,
      ports: (spec.ports ?? []).map((p: any) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP', targetPort: p.targetPort, nodePort: p.nodePort })),
      sessionAffinity: spec.sessionAffinity,
      sessionAffinityTimeoutSeconds: spec.sessionAffinityConfig?.clientIP?.timeoutSeconds,
      externalTrafficPolicy: spec.externalTrafficPolicy,
      internalTrafficPolicy: spec.internalTrafficPolicy,
      externalIPs: spec.externalIPs,
      loadBalancerIngressIPs: (s.status?.loadBalancer?.ingress ?? []).map((i: any) => i.ip).filter(Boolean),
      loadBalancerSourceRanges: spec.loadBalancerSourceRanges,
    });
    const ep = epIndex.get(`${ns}/${s.metadata.name}`);
    for (const p of spec.ports ?? []) {
      const key = servicePortName(ns, s.metadata.name, p.name ?? '');
      const list: Endpoint[] = (eps[key] ??= []);
      for (const subset of (ep?.subsets as any[]) ?? []) {
        const sp = (subset.ports ?? []).find((x: any) => (x.name ?? '') === (p.name ?? '') && (x.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
        if (!sp) continue;
        for (const a of subset.addresses ?? []) list.push({ ip: a.ip, port: sp.port, nodeName: a.nodeName, ready: true, local: a.nodeName === node.name });
        for (const a of subset.notReadyAddresses ?? []) list.push({ ip: a.ip, port: sp.port, nodeName: a.nodeName, ready: false, local: a.nodeName === node.name });
      }
    }
  }
  return { services: svcs, endpoints: eps, node: { name: node.name, ips: [node.ip], clusterCIDR, serviceCIDRs: [serviceCIDR], masqueradeMark: '0x4000' } };
}

/** Pure: UDP endpoints that existed before and are gone now, with the ClusterIP each served. */
export function goneUdpEndpoints(before: ProxyInput | undefined, after: ProxyInput): { clusterIP: string; endpointIP: string }[] {
  if (!before) return [];
  const now = new Set<string>();
  const udpKeys = (input: ProxyInput) =>
    input.services.flatMap((s) =>
      s.ports.filter((p) => p.protocol === 'UDP').flatMap((p) => (input.endpoints[servicePortName(s.namespace, s.name, p.name)] ?? []).filter((e) => e.ready).map((e) => ({ clusterIP: s.clusterIP, endpointIP: e.ip }))),
    );
  for (const k of udpKeys(after)) now.add(`${k.clusterIP} ${k.endpointIP}`);
  const gone = new Map<string, { clusterIP: string; endpointIP: string }>();
  for (const k of udpKeys(before)) if (!now.has(`${k.clusterIP} ${k.endpointIP}`)) gone.set(`${k.clusterIP} ${k.endpointIP}`, k);
  return [...gone.values()];
}

export class ServiceProxy {
  private iptState?: IptablesState;
  private nftState?: NftState;
  private lastInput?: ProxyInput;
  private jumpsChecked = false;

  constructor(
    private readonly ctx: { cluster: string; nodeNetns: string; runner: Runner; mode: ProxyMode; iptables: IptablesBackend; log: (l: string) => void },
  ) {}

  private withBackend(argv: string[]): string[] {
    return [iptablesTool(this.ctx.iptables, 'iptables'), ...argv.slice(1)];
  }

  async sync(input: ProxyInput): Promise<void> {
    const { runner, nodeNetns, cluster } = this.ctx;
    if (this.ctx.mode === 'iptables') {
      const result = iptablesSync(input, { cluster }, this.iptState);
      try {
        await runner.run({ argv: [iptablesTool(this.ctx.iptables, 'iptables-restore'), '-w', '--noflush'], netns: nodeNetns, input: result.payload, why: `service proxy (iptables): ${result.full ? 'full sync' : `partial sync of ${result.changedServices.join(', ') || 'no service'}`}`, owner: 'node/proxy' });
      } catch (e) {
        this.iptState = undefined; // as kube-proxy: after a failed restore, the next sync is a full one
        throw e;
      }
      this.iptState = result.state;
      if (!this.jumpsChecked) {
        for (const rule of iptablesJumpRules(cluster)) {
          const check: Cmd = { argv: this.withBackend(jumpRuleArgv(rule, '-C')), netns: nodeNetns, why: 'is the jump rule there?', readOnly: true, okExit: [1] };
          if ((await runner.run(check)).exitCode !== 0) {
            // Appended, not prepended as kube-proxy does on a shared host: a node namespace's built-in
            // chains hold only kubelab's rules, and NetworkPolicy's jump must stay ahead of these.
            const argv = this.withBackend(jumpRuleArgv(rule, '-I')).map((a) => (a === '-I' ? '-A' : a));
            await runner.run({ argv, netns: nodeNetns, why: `hook ${rule.rule.at(-1)} into ${rule.table}/${rule.chain}`, owner: 'node/proxy' });
          }
        }
        this.jumpsChecked = true;
      }
    } else {
      const result = nftablesSync(input, { cluster }, this.nftState);
      if (result.cleanup) await runner.run({ argv: ['nft', '-f', '-'], netns: nodeNetns, input: result.cleanup, why: 'service proxy (nftables): delete chains the last sync emptied', owner: 'node/proxy' });
      try {
        await runner.run({ argv: ['nft', '-f', '-'], netns: nodeNetns, input: result.script, why: `service proxy (nftables): ${result.full ? 'full sync' : `partial sync of ${result.changedServices.join(', ') || 'no service'}`}`, owner: 'node/proxy' });
      } catch (e) {
        this.nftState = undefined;
        throw e;
      }
      this.nftState = result.state;
    }
    for (const g of goneUdpEndpoints(this.lastInput, input)) {
      await runner.run({
        argv: ['conntrack', '-D', '-p', 'udp', '--orig-dst', g.clusterIP, '--reply-src', g.endpointIP],
        netns: nodeNetns,
        why: `clear stale UDP conntrack entries from ${g.clusterIP} to the removed endpoint ${g.endpointIP}`,
        owner: 'node/proxy',
        okExit: [1],
      });
    }
    this.lastInput = input;
  }
}
