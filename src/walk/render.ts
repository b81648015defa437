// The walk report for a terminal: each hop as a short block (where, L2, L3/L4, what changed), the
// route lookups at the routing points, the ARP the walk triggered, and the points that did not see
// the packet, with why.
import type { Hop, WalkReport } from './model.ts';

function l4Text(h: Hop): string {
  const l = h.l4;
  if (l.protocol === 'icmp') return `icmp ${l.icmpType === 8 ? 'echo request' : l.icmpType === 0 ? 'echo reply' : `type ${l.icmpType}`}`;
  const flags = l.flags ? ` [${l.flags.map((f) => f[0]).join('')}]` : '';
  return `${l.protocol}${flags}`;
}

function hopLines(h: Hop, first: number): string[] {
  const lines = [
    `  ${String(h.step).padStart(2)}. ${h.node} / ${h.interface}  (${h.role})   +${((h.ts - first) * 1000).toFixed(3)} ms`,
    `      L2${h.encap ? ' (inner)' : ''}  ${h.eth.src} > ${h.eth.dst}`,
    `      L3  ${h.ip.src}${h.l4.srcPort ? `:${h.l4.srcPort}` : ''} > ${h.ip.dst}${h.l4.dstPort ? `:${h.l4.dstPort}` : ''}  ${l4Text(h)}  ttl ${h.ip.ttl}  id ${h.ip.id}`,
  ];
  if (h.encap) {
    const o = h.encap.outer;
    lines.push(`      VXLAN vni ${h.encap.vni}: outer ${o.ethSrc} > ${o.ethDst}, ${o.ipSrc}:${o.udpSrc} > ${o.ipDst}:${o.udpDst}`);
  }
  for (const c of h.changes) lines.push(`      * ${c}`);
  for (const a of h.annotations) lines.push(`      ${a.source}: ${a.text}`);
  return lines;
}

export function renderWalk(r: WalkReport): string {
  const out: string[] = [];
  const to = `${r.to.pod ?? r.to.ip} (${r.to.ip}${r.to.node ? `, ${r.to.node}` : ''})`;
  out.push(`walk ${r.from.pod} (${r.from.ip}, ${r.from.node}) -> ${to}, ${r.protocol}${r.to.port ? `/${r.to.port}` : ''}, ${r.sameNode ? 'same node' : `across nodes over ${r.overlay}`}`);
  out.push(`exchange: ${r.exchange.command} -> ${r.exchange.ok ? 'answered' : 'NO ANSWER'}${r.exchange.output ? `: ${r.exchange.output.split('\n')[0]!.slice(0, 120)}` : ''}`);
  const first = r.hops[0]?.ts ?? 0;
  for (const direction of ['there', 'back'] as const) {
    out.push('', direction === 'there' ? 'THERE (the first packet)' : 'BACK (the first reply)');
    const hops = r.hops.filter((h) => h.direction === direction);
    if (hops.length === 0) out.push('  (not seen anywhere)');
    for (const h of hops) out.push(...hopLines(h, first));
    for (const m of r.missed.filter((x) => x.direction === direction)) out.push(`   -  ${m.node} / ${m.interface}: ${m.reason}`);
  }
  if (r.dns?.length) {
    out.push('', `DNS (the client's resolver asks ${r.dns[0]!.server}, the cluster DNS service, following its search path)`);
    for (const d of r.dns) out.push(`  ${(((d.ts - first) * 1000).toFixed(3) + ' ms').padStart(10)}  ${d.direction === 'query' ? `query  ${d.type} ${d.name}` : `answer ${d.type} ${d.name}: ${d.rcode}${d.answers.length ? ` ${d.answers.join(', ')}` : ''}`}`);
  }
  if (r.arp.length) {
    out.push('', 'ARP (who asked whom for a MAC address)');
    for (const a of r.arp) out.push(`  ${a.point.padEnd(16)} ${(((a.ts - first) * 1000).toFixed(3) + ' ms').padStart(10)}  ${a.summary}`);
  }
  out.push('', 'ROUTE LOOKUPS (ip route get, where each routing decision was taken)');
  for (const rt of r.routes) out.push(`  ${rt.direction.padEnd(5)} ${rt.netns}: $ ${rt.command.replace(/^ip -n \S+ /, 'ip ')}`, `        ${rt.result.split('\n')[0]}`);
  if (r.pcaps) out.push('', `pcaps: ${r.pcaps.length} files in ${r.pcaps[0] ? r.pcaps[0].file.replace(/\/[^/]+$/, '') : ''} (open them in Wireshark; add "-d udp.port==8472,vxlan" to tshark)`);
  out.push('', `walk took ${r.durationMs} ms`);
  return out.join('\n') + '\n';
}
