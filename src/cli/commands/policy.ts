// `policy verify` and `policy explain`: the NetworkPolicy truth table, and the reasoning behind one cell.
import type { Pod } from '../../api/types.ts';
import { iptablesTool } from '../../driver/iptables.ts';
import { execa } from 'execa';
import { hostNetns } from '../../naming.ts';
import { readConfig } from '../../provider/config.ts';
import { evaluate, type Protocol } from '../../policy/model.ts';
import type { NetworkPolicy } from '../../policy/types.ts';
import { renderTables, verify } from '../../policy/verify.ts';
import { clusterName, connect, out } from '../context.ts';

export async function policyVerifyCommand(opts: { name?: string; ports: string; protocols: string; json?: boolean; namespace?: string[] }): Promise<void> {
  const cluster = clusterName(opts);
  const ports = opts.ports.split(',').map(Number);
  if (ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) throw new Error(`--ports must be a list of ports 1-65535 (got ${opts.ports})`);
  const protocols = opts.protocols.split(',').map((p) => p.toUpperCase()) as Protocol[];
  if (protocols.some((p) => p !== 'TCP' && p !== 'UDP')) throw new Error(`--protocols must be tcp and/or udp (got ${opts.protocols})`);
  const started = Date.now();
  const results = await verify(cluster, connect(cluster), { ports, protocols, namespaces: opts.namespace });
  const mismatches = results.filter((r) => r.connected !== r.expected).length;
  if (opts.json) out(JSON.stringify({ probes: results.length, mismatches, seconds: (Date.now() - started) / 1000, results }, null, 2) + '\n');
  else out(renderTables(results) + `took ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  if (mismatches) process.exitCode = 1;
}

export async function policyExplainCommand(from: string, to: string, opts: { name?: string; namespace?: string; udp?: boolean }): Promise<void> {
  const cluster = clusterName(opts);
  const client = connect(cluster);
  const ns = opts.namespace ?? 'default';
  const m = /^(.*):(\d+)$/.exec(to);
  if (!m) throw new Error(`policy explain takes FROM TO:PORT (got ${to})`);
  const find = async (ref: string) => {
    const [n, name] = ref.includes('/') ? ref.split('/', 2) : [ns, ref];
    const p = await client.find<Pod>('Pod', name!, n);
    if (!p) throw new Error(`pod ${n}/${name} not found`);
    return p;
  };
  const src = await find(from);
  const dst = await find(m[1]!);
  const model = { policies: (await client.list('NetworkPolicy')).items as unknown as NetworkPolicy[], namespaces: (await client.list('Namespace')).items, pods: (await client.list<Pod>('Pod')).items };
  const v = evaluate(model, { src: { pod: src }, dst: { pod: dst }, port: Number(m[2]), protocol: opts.udp ? 'UDP' : 'TCP' });
  out(`${v.allowed ? 'ALLOWED' : 'DENIED'}\n${v.reasons.map((r) => `  ${r}`).join('\n')}\n`);
  // The kernel side: the chains of the two pods on their nodes, with their packet counters.
  const ipt = iptablesTool(readConfig(cluster).iptablesBackend, 'iptables');
  for (const [pod, what] of [[src, 'egress'], [dst, 'ingress']] as const) {
    if (!pod.spec.nodeName) continue;
    const r = await execa('ip', ['netns', 'exec', hostNetns(cluster, pod.spec.nodeName), ipt, '-w', '-L', 'KUBELAB-NP', '-v', '-n'], { reject: false });
    const lines = String(r.stdout).split('\n').filter((l) => l.includes(`${pod.metadata.namespace}/${pod.metadata.name} is isolated for ${what}`));
    if (!lines.length) continue;
    const chain = /KUBELAB-NP-[EI]-\w+/.exec(lines[0]!)?.[0];
    if (!chain) continue;
    const c = await execa('ip', ['netns', 'exec', hostNetns(cluster, pod.spec.nodeName), ipt, '-w', '-L', chain, '-v', '-n'], { reject: false });
    out(`\n# ${what} of ${pod.metadata.namespace}/${pod.metadata.name} on ${pod.spec.nodeName}: ${ipt} -L ${chain} -v -n\n${c.stdout}\n`);
  }
}
