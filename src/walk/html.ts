// The walk as a self-contained web page: the path drawn across the topology (one lane per node and
// the switch, a box per interface, the packet's way there and back as arrows) above the hop table.
// No scripts or files from elsewhere: it opens offline, and a test reads it in headless Chromium.
import type { Hop, WalkReport } from './model.ts';

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function diagram(r: WalkReport): string {
  const there = r.hops.filter((h) => h.direction === 'there');
  const points: { id: string; node: string; iface: string }[] = [];
  for (const h of there) if (!points.some((p) => p.id === h.point)) points.push({ id: h.point, node: h.node, iface: h.interface });
  for (const m of r.missed.filter((m) => m.direction === 'there')) if (!points.some((p) => p.id === m.point)) points.push({ id: m.point, node: m.node, iface: m.interface });
  const order = [...new Set([...r.hops.map((h) => h.point), ...r.missed.map((m) => m.point)])];
  points.sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
  const lanes = [...new Set(points.map((p) => p.node))];
  const boxW = 118;
  const gap = 18;
  const laneH = 70;
  const width = points.length * (boxW + gap) + gap;
  const height = lanes.length * laneH + 90;
  const x = (i: number) => gap + i * (boxW + gap);
  const y = (node: string) => 30 + lanes.indexOf(node) * laneH;
  const seen = new Set(there.map((h) => h.point));
  const parts: string[] = [];
  lanes.forEach((lane) => parts.push(`<text class="lane" x="4" y="${y(lane) - 6}">${esc(lane)}</text><line x1="0" x2="${width}" y1="${y(lane) + 46}" y2="${y(lane) + 46}" class="laneline"/>`));
  points.forEach((p, i) => {
    parts.push(
      `<g class="point${seen.has(p.id) ? '' : ' missed'}" data-point="${esc(p.id)}"><rect x="${x(i)}" y="${y(p.node)}" width="${boxW}" height="36" rx="6"/>` +
        `<text x="${x(i) + boxW / 2}" y="${y(p.node) + 22}">${esc(p.id.startsWith(`${p.node}.`) ? p.iface : `pod ${p.id}`)}</text></g>`,
    );
  });
  const arrow = (hops: Hop[], cls: string, dy: number) => {
    for (let i = 1; i < hops.length; i++) {
      const a = points.findIndex((p) => p.id === hops[i - 1]!.point);
      const b = points.findIndex((p) => p.id === hops[i]!.point);
      if (a < 0 || b < 0) continue;
      const [x1, x2] = a < b ? [x(a) + boxW, x(b)] : [x(a), x(b) + boxW];
      parts.push(`<line class="${cls}" x1="${x1}" y1="${y(points[a]!.node) + 18 + dy}" x2="${x2}" y2="${y(points[b]!.node) + 18 + dy}" marker-end="url(#head-${cls})"/>`);
    }
  };
  arrow(there, 'there', -6);
  arrow(r.hops.filter((h) => h.direction === 'back'), 'back', 6);
  const marker = (cls: string, color: string) => `<marker id="head-${cls}" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="${color}"/></marker>`;
  return `<svg id="path" xmlns="http://www.w3.org/2000/svg" style="max-width:100%;height:auto" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><defs>${marker('there', '#1f6feb')}${marker('back', '#d9480f')}</defs>${parts.join('')}</svg>`;
}

function hopRow(h: Hop): string {
  const l4 = h.l4.protocol === 'icmp' ? `icmp type ${h.l4.icmpType}` : `${h.l4.protocol} ${h.l4.srcPort} &gt; ${h.l4.dstPort}${h.l4.flags ? ` [${esc(h.l4.flags.join(','))}]` : ''}`;
  const encap = h.encap ? `VXLAN vni ${h.encap.vni}<br>${esc(h.encap.outer.ipSrc)} &gt; ${esc(h.encap.outer.ipDst)}:${h.encap.outer.udpDst}` : '';
  const notes = [...h.changes.map(esc), ...h.annotations.map((a) => `<i>${esc(a.source)}</i>: ${esc(a.text)}`)].join('<br>');
  return (
    `<tr class="hop ${h.direction}" data-direction="${h.direction}" data-point="${esc(h.point)}" data-vni="${h.encap?.vni ?? ''}">` +
    `<td>${h.direction === 'there' ? '&rarr;' : '&larr;'} ${h.step}</td><td>${esc(h.node)}</td><td>${esc(h.interface)}</td>` +
    `<td>${esc(h.eth.src)}<br>${esc(h.eth.dst)}</td><td>${esc(h.ip.src)} &gt; ${esc(h.ip.dst)}<br>ttl ${h.ip.ttl}</td><td>${l4}</td><td>${encap}</td>` +
    `<td>+${(h.sinceStartUs / 1000).toFixed(3)} ms</td><td>${notes}</td></tr>`
  );
}

export function renderWalkHtml(r: WalkReport): string {
  const title = `walk ${r.from.pod} → ${r.to.pod ?? r.to.ip} (${r.protocol}${r.to.port ? `/${r.to.port}` : ''})`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#1b1f24}
h1{font-size:20px} .meta{color:#57606a}
svg text{font:12px monospace;text-anchor:middle} svg text.lane{text-anchor:start;font-weight:bold}
.point rect{fill:#eef4ff;stroke:#1f6feb} .point.missed rect{fill:#f6f8fa;stroke:#afb8c1;stroke-dasharray:4}
.laneline{stroke:#d0d7de} line.there{stroke:#1f6feb;stroke-width:2} line.back{stroke:#d9480f;stroke-width:2}
table{border-collapse:collapse;margin-top:16px} td,th{border:1px solid #d0d7de;padding:4px 8px;vertical-align:top;font:12px monospace}
tr.back td{background:#fff7f0} th{background:#f6f8fa}
</style></head><body>
<h1>${esc(title)}</h1>
<p class="meta">${esc(r.from.pod)} ${esc(r.from.ip)} on ${esc(r.from.node)} → ${esc(r.to.pod ?? '')} ${esc(r.to.ip)} on ${esc(r.to.node ?? '?')};
${r.sameNode ? 'same node' : `across nodes over ${esc(r.overlay)}`}; exchange <code>${esc(r.exchange.command)}</code>: <b id="outcome">${r.exchange.ok ? 'answered' : 'no answer'}</b></p>
${diagram(r)}
<table id="hops"><thead><tr><th>step</th><th>node</th><th>interface</th><th>L2 src / dst</th><th>L3</th><th>L4</th><th>encapsulation</th><th>time</th><th>what changed</th></tr></thead>
<tbody>${r.hops.map(hopRow).join('\n')}</tbody></table>
<h2>ARP</h2><ul id="arp">${r.arp.map((a) => `<li>${esc(a.node)} / ${esc(a.interface)}: ${esc(a.summary)}</li>`).join('')}</ul>
<h2>Route lookups</h2><ul id="routes">${r.routes.map((x) => `<li>${esc(x.direction)} in ${esc(x.netns)}: <code>${esc(x.command)}</code> → <code>${esc(x.result.split('\n')[0])}</code></li>`).join('')}</ul>
<script type="application/json" id="report">${JSON.stringify(r).replace(/</g, '\\u003c')}</script>
</body></html>
`;
}
