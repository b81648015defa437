// Which iptables kubelab drives. Debian's `iptables` is the nf_tables-backed one; kubelab uses the
// legacy (x_tables) backend by default, as kube-proxy's iptables-wrapper does on hosts whose rules are
// legacy: restoring kube-proxy's ruleset for 10,000 services takes about 1.5 s with iptables-legacy-
// restore and about 2 minutes with iptables-nft-restore on our machines (bench/proxy-sync.ts).
// One backend per cluster, never mixed: two backends would each keep a nat table.
export type IptablesBackend = 'legacy' | 'nft';

export function iptablesTool(backend: IptablesBackend, tool: 'iptables' | 'iptables-save' | 'iptables-restore'): string {
  const [base, suffix] = tool === 'iptables' ? ['iptables', ''] : ['iptables', tool.slice('iptables'.length)];
  return `${base}-${backend}${suffix}`;
}
