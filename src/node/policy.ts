// The node's NetworkPolicy enforcement: the compiled chains of src/policy/compile.ts applied with
// iptables-restore --noflush (our chains only), chains of pods that left deleted, and KUBELAB-NP kept
// first in FORWARD (before kube-proxy's accept rules) so nothing bypasses it.
import type { Namespace, Pod } from '../api/types.ts';
import { iptablesTool, type IptablesBackend } from '../driver/iptables.ts';
import type { Runner } from '../driver/runner.ts';
import { tag } from '../naming.ts';
import { compileNode, compileNodeNft, NP_CHAIN } from '../policy/compile.ts';
import type { NetworkPolicy } from '../policy/types.ts';

export class PolicyEnforcer {
  private chains = new Set<string>();
  private last = '';

  constructor(private readonly ctx: { cluster: string; node: string; nodeNetns: string; runner: Runner; iptables: IptablesBackend; mode: 'iptables' | 'nftables' }) {}

  async sync(policies: NetworkPolicy[], namespaces: Namespace[], pods: Pod[]): Promise<void> {
    const { cluster, node } = this.ctx;
    const live = pods.filter((p) => !p.metadata.deletionTimestamp && p.status?.podIP);
    const local = live.filter((p) => p.spec.nodeName === node);
    if (this.ctx.mode === 'nftables') {
      // The proxy mode's firewall: one nftables table, replaced whole in one transaction.
      const compiled = compileNodeNft({ policies, namespaces, pods: live }, local, tag(cluster));
      if (compiled.restore !== this.last) {
        await this.ctx.runner.run({ argv: ['nft', '-f', '-'], netns: this.ctx.nodeNetns, input: compiled.restore, why: `NetworkPolicy (nftables): ${compiled.chains.length} isolated pod direction(s) on this node`, owner: 'node/policy' });
        this.last = compiled.restore;
      }
      return;
    }
    const compiled = compileNode({ policies, namespaces, pods: live }, local, tag(cluster));
    const now = new Set(compiled.chains.map((c) => c.chain));
    const stale = [...this.chains].filter((c) => !now.has(c));
    let restore = compiled.restore;
    if (stale.length) restore = restore.replace(/COMMIT\n$/, `${stale.map((c) => `:${c} - [0:0]`).join('\n')}\n${stale.map((c) => `-X ${c}`).join('\n')}\nCOMMIT\n`);
    if (restore !== this.last) await this.apply(restore, compiled.chains.length, now);
    await this.keepFirst();
  }

  private async apply(restore: string, count: number, now: Set<string>): Promise<void> {
    const { runner, nodeNetns, iptables } = this.ctx;
    await runner.run({ argv: [iptablesTool(iptables, 'iptables-restore'), '-w', '--noflush'], netns: nodeNetns, input: restore, why: `NetworkPolicy: ${count} isolated pod direction(s) on this node`, owner: 'node/policy' });
    this.chains = now;
    this.last = restore;
  }

  /** KUBELAB-NP must stay the first rule of FORWARD, ahead of kube-proxy's accept rules, whoever wrote last. */
  private async keepFirst(): Promise<void> {
    const { runner, nodeNetns, cluster, iptables } = this.ctx;
    const ipt = iptablesTool(iptables, 'iptables');
    const jump = ['-m', 'comment', '--comment', `${tag(cluster)} network policy`, '-j', NP_CHAIN];
    const forward = (await runner.run({ argv: [ipt, '-w', '-S', 'FORWARD'], netns: nodeNetns, why: 'read FORWARD', readOnly: true })).stdout.split('\n').filter((l) => l.startsWith('-A FORWARD'));
    if (!forward[0]?.includes(`-j ${NP_CHAIN}`)) {
      if (forward.some((l) => l.includes(`-j ${NP_CHAIN}`))) await runner.run({ argv: [ipt, '-w', '-D', 'FORWARD', ...jump], netns: nodeNetns, why: 'move the policy jump to the top', owner: 'node/policy' });
      await runner.run({ argv: [ipt, '-w', '-I', 'FORWARD', '1', ...jump], netns: nodeNetns, why: 'every forwarded packet passes NetworkPolicy first', owner: 'node/policy' });
    }
  }
}
