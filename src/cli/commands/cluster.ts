// `up`, `down`, `status`: the life of a cluster on the embedded provider.
import { clusters, down, status, up } from '../../provider/embedded/cluster.ts';
import type { Overlay, ProxyMode } from '../../provider/config.ts';
import { table } from '../printers.ts';
import { clusterName, out, progress } from '../context.ts';

export async function upCommand(opts: { name?: string; nodes?: string; overlay?: string; proxyMode: string; verbose?: boolean }): Promise<void> {
  const overlay = opts.overlay as Overlay | undefined;
  if (overlay && !['host-gw', 'vxlan'].includes(overlay)) throw new Error(`--overlay must be host-gw or vxlan (got ${opts.overlay})`);
  const proxyMode = opts.proxyMode as ProxyMode;
  if (!['iptables', 'nftables', 'ipvs'].includes(proxyMode)) throw new Error(`--proxy-mode must be iptables, nftables or ipvs (got ${opts.proxyMode})`);
  const nodes = opts.nodes === undefined ? undefined : Number(opts.nodes);
  if (nodes !== undefined && (!Number.isInteger(nodes) || nodes < 1 || nodes > 20)) throw new Error(`--nodes must be a whole number from 1 to 20 (got ${opts.nodes})`);
  const started = Date.now();
  const cfg = await up({ name: clusterName(opts), nodes, overlay, proxyMode, progress: (l) => progress(`✓ ${l}`), echo: opts.verbose });
  progress(`✓ ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ./kubelab get nodes -o wide${cfg.name === 'lab' ? '' : ` --name ${cfg.name}`}`);
}

export async function downCommand(opts: { name?: string; all?: boolean }): Promise<void> {
  const names = opts.all ? clusters() : [clusterName(opts)];
  for (const name of names) {
    const report = await down(name);
    progress(`✓ cluster ${name} removed: ${report.processes} process(es) stopped, ${report.namespaces} namespace(s) deleted`);
    if (report.errors.length) throw new Error(`down of ${name} finished with errors:\n  ${report.errors.join('\n  ')}`);
  }
}

export async function statusCommand(opts: { name?: string; output?: string }): Promise<void> {
  const s = await status(clusterName(opts));
  if (opts.output === 'json') return out(JSON.stringify(s, null, 2) + '\n');
  out(`cluster ${s.name}: ${s.config.nodes.length} nodes, overlay ${s.config.overlay}, proxy mode ${s.config.proxyMode}, API ${s.api ? 'up' : 'DOWN'}, ${s.pods} pod(s)\n\n`);
  out(table([['DAEMON', 'PID', 'STATE'], ...s.daemons.map((d) => [d.component, String(d.pid ?? '-'), d.running ? 'running' : 'STOPPED'])]));
  if (s.nodes.length) out('\n' + table([['NODE', 'INTERNAL-IP', 'POD-CIDR', 'READY'], ...s.nodes.map((n) => [n.name, n.ip, n.podCIDR ?? '<none>', String(n.ready)])]));
  if (!s.api || s.daemons.some((d) => !d.running)) process.exitCode = 1;
}
