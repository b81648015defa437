// `explain KIND/NAME`: the kernel objects behind an API object, read live from the kernel, and the
// exact commands kubelab ran to make them (from the transcript), as a script a learner can replay.
import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import type { Node, Pod } from '../../api/types.ts';
import { renderShell } from '../../driver/command.ts';
import { iptablesTool } from '../../driver/iptables.ts';
import { readConfig } from '../../provider/config.ts';
import type { TranscriptEntry } from '../../driver/runner.ts';
import { hostNetns, paths, podHostVeth, podNetns } from '../../naming.ts';
import { clusterName, connect, out } from '../context.ts';

function transcript(cluster: string, owner: string): TranscriptEntry[] {
  let text = '';
  try {
    text = readFileSync(paths.transcript(cluster), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as TranscriptEntry)
    .filter((e) => e.owner === owner);
}

async function show(title: string, argv: string[]): Promise<string> {
  const r = await execa(argv[0]!, argv.slice(1), { reject: false });
  const body = String(r.stdout || r.stderr).trim() || '(nothing)';
  return `# ${title}\n$ ${argv.join(' ')}\n${body}\n`;
}

function commandsSection(entries: TranscriptEntry[]): string {
  if (!entries.length) return '# no commands recorded for it\n';
  return entries
    .map((e) => `# ${e.why} (${e.component}, ${e.ts})\n${renderShell({ argv: e.argv, input: e.input, why: e.why })}\n`)
    .join('\n');
}

export async function explainCommand(target: string, opts: { name?: string; namespace?: string; commands?: boolean }): Promise<void> {
  const cluster = clusterName(opts);
  const client = connect(cluster);
  const [kindWord, name] = target.split('/');
  if (!kindWord || !name) throw new Error(`explain takes KIND/NAME, e.g. pod/web (got ${JSON.stringify(target)})`);
  const kind = kindWord.toLowerCase();
  if (kind === 'pod' || kind === 'pods' || kind === 'po') {
    const ns = opts.namespace ?? 'default';
    const pod = await client.get<Pod>('Pod', name, ns);
    const node = pod.spec.nodeName;
    const pns = podNetns(cluster, ns, name);
    const veth = podHostVeth(ns, name);
    const sections = [
      `pod ${ns}/${name} on node ${node ?? '<unscheduled>'}: IP ${pod.status?.podIP ?? '<none>'}\n` +
        `  network namespace  ${pns}\n` +
        `  interfaces         eth0 (in the pod) <-> ${veth} (in ${node ? hostNetns(cluster, node) : 'the node'}, a port of cni0)\n` +
        `  processes          ${(pod.status?.containerStatuses ?? []).map((c) => `${c.name}=pid ${c.pid ?? '-'}`).join(', ') || 'none'}\n`,
    ];
    if (node) {
      sections.push(await show("the pod's interfaces", ['ip', '-n', pns, '-br', 'addr']));
      sections.push(await show("the pod's routes", ['ip', '-n', pns, 'route']));
      sections.push(await show("the host end of the pod's veth, plugged into the node's bridge", ['ip', '-n', hostNetns(cluster, node), '-d', '-br', 'link', 'show', veth]));
      sections.push(await show("the node's bridge ports", ['ip', '-n', hostNetns(cluster, node), '-br', 'link', 'show', 'master', 'cni0']));
    }
    sections.push(`# the commands that made it (replayable)\n${commandsSection(transcript(cluster, `pod/${ns}/${name}`))}`);
    return out(sections.join('\n'));
  }
  if (kind === 'node' || kind === 'nodes' || kind === 'no') {
    const node = await client.get<Node>('Node', name);
    const nns = hostNetns(cluster, name);
    const sections = [
      `node ${name}: underlay ${node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address}, pod subnet ${node.spec.podCIDR}, network namespace ${nns}\n`,
      await show("the node's links", ['ip', '-n', nns, '-br', 'link']),
      await show("the node's addresses", ['ip', '-n', nns, '-br', 'addr']),
      await show("the node's routes (host-gw: one per peer node's pod subnet)", ['ip', '-n', nns, 'route']),
      await show("the node's NAT rules", ['ip', 'netns', 'exec', nns, iptablesTool(readConfig(cluster).iptablesBackend, 'iptables'), '-t', 'nat', '-S']),
      `# the commands that made it (replayable)\n${commandsSection([...transcript(cluster, `node/${name}`), ...transcript(cluster, 'node/bridge').filter((e) => e.component === `node/${name}`), ...transcript(cluster, 'node/routes').filter((e) => e.component === `node/${name}`)])}`,
    ];
    return out(sections.join('\n'));
  }
  throw new Error(`explain knows pod/NAME and node/NAME (got ${kindWord})`);
}
