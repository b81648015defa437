// Pure plans for the pod network of one node: the cni0 bridge, and each pod's sandbox (its network
// namespace, the veth pair into cni0, the address, the default route). These are the commands the
// CNI bridge plugin would run; the node daemon hands them to the runner, the learner reads them in
// the transcript, and the benchmark compares them with a plain `ip -batch` script.
import { type Cmd, ipBatch } from '../driver/command.ts';

export const POD_MTU_HOSTGW = 1500;

export interface BridgePlan {
  nodeNetns: string;
  podCIDR: string;
  gateway: string;
  mtu: number;
  cluster: string;
}

export function bridgeCommands(p: BridgePlan, exists: boolean): Cmd[] {
  const prefix = p.podCIDR.split('/')[1];
  const lines: string[][] = [];
  if (!exists) lines.push(['link', 'add', 'cni0', 'mtu', String(p.mtu), 'type', 'bridge']);
  lines.push(['link', 'set', 'cni0', 'alias', `kubelab:${p.cluster}:cni0`]);
  lines.push(['addr', 'replace', `${p.gateway}/${prefix}`, 'dev', 'cni0']);
  lines.push(['link', 'set', 'cni0', 'up']);
  return [ipBatch(p.nodeNetns, lines, `the pod bridge cni0 with the gateway ${p.gateway} of ${p.podCIDR}`, 'node/bridge')];
}

export interface SandboxPlan {
  cluster: string;
  owner: string;
  nodeNetns: string;
  podNetns: string;
  hostVeth: string;
  ip: string;
  prefixLength: number;
  gateway: string;
  mtu: number;
}

/** What already exists, so that creating a sandbox again after a crash repeats nothing. */
export interface SandboxState {
  netns: boolean;
  veth: boolean;
}

export function sandboxCommands(p: SandboxPlan, have: SandboxState): Cmd[] {
  const cmds: Cmd[] = [];
  const nodeLines: string[][] = [];
  // `netns add` stays out of the batch: inside `ip -batch` it leaves the ip process in the new
  // namespace, and the batch's later lines would run there.
  if (!have.netns) cmds.push({ argv: ['ip', 'netns', 'add', p.podNetns], why: `the pod's network namespace`, owner: p.owner });
  if (!have.veth) {
    nodeLines.push(['link', 'add', p.hostVeth, 'mtu', String(p.mtu), 'type', 'veth', 'peer', 'name', 'eth0', 'mtu', String(p.mtu), 'netns', p.podNetns]);
  }
  nodeLines.push(['link', 'set', p.hostVeth, 'alias', `kubelab:${p.cluster}:${p.owner}`]);
  nodeLines.push(['link', 'set', p.hostVeth, 'master', 'cni0', 'up']);
  // Hairpin: a pod that reaches itself through its service gets the frame back out of the same port.
  nodeLines.push(['link', 'set', p.hostVeth, 'type', 'bridge_slave', 'hairpin', 'on']);
  cmds.push(ipBatch(p.nodeNetns, nodeLines, `the pod's veth pair, its host end plugged into cni0`, p.owner));
  cmds.push(
    ipBatch(
      p.podNetns,
      [
        ['link', 'set', 'lo', 'up'],
        ['addr', 'replace', `${p.ip}/${p.prefixLength}`, 'dev', 'eth0'],
        ['link', 'set', 'eth0', 'up'],
        ['route', 'replace', 'default', 'via', p.gateway, 'dev', 'eth0'],
      ],
      `the pod's address ${p.ip} and its default route via the bridge ${p.gateway}`,
      p.owner,
    ),
  );
  return cmds;
}

export function sandboxDeleteCommands(p: { podNetns: string; nodeNetns: string; hostVeth: string; owner: string }): Cmd[] {
  // Deleting the namespace destroys eth0, and with it its veth peer on the bridge.
  return [
    {
      argv: ['ip', 'netns', 'delete', p.podNetns],
      why: `remove the pod's network namespace (its veth pair goes with it)`,
      owner: p.owner,
      okStderr: /No such file or directory|Cannot remove/,
    },
  ];
}

export function podResolvConf(namespace: string): string {
  return [
    'nameserver 10.96.0.10',
    `search ${namespace}.svc.cluster.local svc.cluster.local cluster.local`,
    'options ndots:5',
    '',
  ].join('\n');
}

export function podHosts(ip: string, hostname: string): string {
  return [
    '# Kubernetes-managed hosts file (kubelab).',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    `${ip}\t${hostname}`,
    '',
  ].join('\n');
}
