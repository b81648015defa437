// `walk FROM TO[:PORT]`: one exchange between pods, every hop with its evidence.
import { writeFileSync } from 'node:fs';
import { renderWalk } from '../../walk/render.ts';
import { renderWalkHtml } from '../../walk/html.ts';
import { walk } from '../../walk/walk.ts';
import { clusterName, connect, out } from '../context.ts';

export async function walkCommand(from: string, to: string, opts: { name?: string; namespace?: string; udp?: boolean; icmp?: boolean; json?: boolean; pcapDir?: string; html?: string; arp: boolean }): Promise<void> {
  if (opts.udp && opts.icmp) throw new Error('choose one of --udp and --icmp');
  const cluster = clusterName(opts);
  const report = await walk(cluster, connect(cluster), from, to, {
    namespace: opts.namespace ?? 'default',
    protocol: opts.udp ? 'udp' : opts.icmp ? 'icmp' : 'tcp',
    pcapDir: opts.pcapDir,
    arp: opts.arp,
  });
  if (opts.html) writeFileSync(opts.html, renderWalkHtml(report));
  out(opts.json ? JSON.stringify(report, null, 2) + '\n' : renderWalk(report));
  if (!report.exchange.ok) process.exitCode = 2;
}
