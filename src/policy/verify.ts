// `policy verify`: probe every pod pair on every port and protocol at once (a TCP connect, a UDP
// datagram that agnhost echoes), compare with the model, and print the truth table as the
// Kubernetes e2e / cyclonus tables look: '.' connected, 'X' blocked, and a mismatch marked.
import { execa } from 'execa';
import type { ApiClient } from '../api/client.ts';
import type { Pod } from '../api/types.ts';
import { podNetns } from '../naming.ts';
import { type Cluster, type Protocol, truthTable } from './model.ts';
import type { NetworkPolicy } from './types.ts';

export interface ProbeResult {
  from: string;
  to: string;
  port: number;
  protocol: Protocol;
  connected: boolean;
  expected: boolean;
}

// One prober process per source pod, inside its network namespace, probing all targets in parallel.
const PROBER = `
const net = require('node:net'); const dgram = require('node:dgram');
const targets = JSON.parse(process.argv[1]);
const tcp = (t) => new Promise((r) => { const s = net.connect({ host: t.ip, port: t.port, timeout: 1000 }); s.on('connect', () => { s.destroy(); r(true); }); s.on('timeout', () => { s.destroy(); r(false); }); s.on('error', () => r(false)); });
const udp = (t) => new Promise((r) => { const s = dgram.createSocket('udp4'); const done = (v) => { clearTimeout(tm); try { s.close(); } catch {} r(v); }; const tm = setTimeout(() => done(false), 1000); s.on('message', () => done(true)); s.on('error', () => done(false)); s.send('hostname', t.port, t.ip); });
Promise.all(targets.map((t) => (t.protocol === 'TCP' ? tcp(t) : udp(t)).then((ok) => ({ ...t, ok })))).then((r) => console.log(JSON.stringify(r)));
`;

export async function verify(cluster: string, client: ApiClient, opts: { ports: number[]; protocols: Protocol[]; namespaces?: string[] }): Promise<ProbeResult[]> {
  const pods = (await client.list<Pod>('Pod')).items.filter((p) => p.status?.podIP && !p.metadata.deletionTimestamp && p.metadata.namespace !== 'kube-system' && (!opts.namespaces || opts.namespaces.includes(p.metadata.namespace!)));
  const model: Cluster = {
    policies: (await client.list('NetworkPolicy')).items as unknown as NetworkPolicy[],
    namespaces: (await client.list('Namespace')).items,
    pods,
  };
  const expected = new Map(truthTable(model, opts.ports, opts.protocols).map((c) => [`${c.from} ${c.to} ${c.port} ${c.protocol}`, c.allowed]));
  const key = (p: Pod) => `${p.metadata.namespace}/${p.metadata.name}`;
  const results = await Promise.all(
    pods.map(async (src) => {
      const targets = pods.flatMap((dst) => opts.protocols.flatMap((protocol) => opts.ports.map((port) => ({ to: key(dst), ip: dst.status!.podIP!, port, protocol }))));
      const r = await execa('ip', ['netns', 'exec', podNetns(cluster, src.metadata.namespace!, src.metadata.name), process.execPath, '-e', PROBER, JSON.stringify(targets)], { timeout: 30_000 });
      return (JSON.parse(String(r.stdout)) as { to: string; port: number; protocol: Protocol; ok: boolean }[]).map((x) => ({
        from: key(src),
        to: x.to,
        port: x.port,
        protocol: x.protocol,
        connected: x.ok,
        expected: expected.get(`${key(src)} ${x.to} ${x.port} ${x.protocol}`) ?? true,
      }));
    }),
  );
  return results.flat();
}

/** The tables, one per port and protocol: rows are sources, columns destinations. */
export function renderTables(results: ProbeResult[]): string {
  const names = [...new Set(results.map((r) => r.from))].sort();
  const out: string[] = [];
  for (const [port, protocol] of [...new Set(results.map((r) => `${r.port}/${r.protocol}`))].map((k) => k.split('/'))) {
    const cell = (from: string, to: string) => results.find((r) => r.from === from && r.to === to && String(r.port) === port && r.protocol === protocol);
    const w = Math.max(...names.map((n) => n.length));
    out.push(`${port}/${protocol}   '.' connected, 'X' blocked, '!' the kernel disagrees with the model`);
    out.push(`${' '.repeat(w)}  ${names.map((n, i) => String(i + 1).padStart(2)).join(' ')}`);
    names.forEach((from, i) => {
      const row = names.map((to) => {
        const c = cell(from, to);
        if (!c) return ' ?';
        const mark = c.connected ? '.' : 'X';
        return c.connected === c.expected ? ` ${mark}` : `!${mark}`;
      });
      out.push(`${from.padEnd(w)}  ${row.join(' ')}   ${i + 1}`);
    });
    out.push('');
  }
  const bad = results.filter((r) => r.connected !== r.expected);
  out.push(`${results.length} probes, ${bad.length} mismatch(es)`);
  for (const b of bad.slice(0, 20)) out.push(`  ${b.from} -> ${b.to} ${b.port}/${b.protocol}: kernel ${b.connected ? 'connected' : 'blocked'}, model ${b.expected ? 'allows' : 'denies'}`);
  return out.join('\n') + '\n';
}
