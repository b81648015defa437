// The embedded provider's topology, computed as data: every host of DESIGN.md is a network namespace
// (nodes, the underlay switch, the router that is the cloud's NAT gateway and load balancer, and the
// external "internet" host), wired with veth pairs. Nothing here touches the host's own namespace:
// every command names a kubelab namespace.
import { type Cmd, ipBatch } from '../../driver/command.ts';
import { iptablesTool } from '../../driver/iptables.ts';
import { hostNetns, tag } from '../../naming.ts';
import type { ClusterConfig, NodeSpec } from '../config.ts';

export const INFRA_HOSTS = ['switch', 'router', 'ext'] as const;

export function topologyNamespaces(cfg: ClusterConfig): string[] {
  return [...INFRA_HOSTS, ...cfg.nodes.map((n) => n.name)].map((h) => hostNetns(cfg.name, h));
}

const sysctl = (netns: string, setting: string, why: string, owner: string): Cmd => ({
  argv: ['sysctl', '-q', '-w', setting],
  netns,
  why,
  owner,
});

export function topologyCommands(cfg: ClusterConfig): Cmd[] {
  const ns = (h: string) => hostNetns(cfg.name, h);
  const [sw, router, ext] = [ns('switch'), ns('router'), ns('ext')];
  const prefix = cfg.underlayCIDR.split('/')[1];
  const extPrefix = cfg.externalCIDR.split('/')[1];
  const cmds: Cmd[] = topologyNamespaces(cfg).map((n) => ({ argv: ['ip', 'netns', 'add', n], why: `the lab host ${n}`, owner: 'cluster/topology' }));

  // The underlay: one bridge in the switch namespace, a port per node and one for the router.
  const swLines: string[][] = [
    ['link', 'set', 'lo', 'up'],
    ['link', 'add', 'br0', 'type', 'bridge'],
    ['link', 'set', 'br0', 'alias', tag(cfg.name, 'underlay')],
    ['link', 'set', 'br0', 'up'],
  ];
  for (const n of cfg.nodes) {
    swLines.push(['link', 'add', n.name, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns(n.name)]);
    swLines.push(['link', 'set', n.name, 'master', 'br0', 'up']);
  }
  swLines.push(['link', 'add', 'router', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', router]);
  swLines.push(['link', 'set', 'router', 'master', 'br0', 'up']);
  cmds.push(ipBatch(sw, swLines, `the underlay switch ${cfg.underlayCIDR}: a bridge with a port per node and the router`, 'cluster/topology'));

  for (const n of cfg.nodes) cmds.push(...nodeHostCommands(cfg, n));

  cmds.push(
    ipBatch(
      router,
      [
        ['link', 'set', 'lo', 'up'],
        ['addr', 'add', `${cfg.underlayGateway}/${prefix}`, 'dev', 'eth0'],
        ['link', 'set', 'eth0', 'up'],
        ['link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ext],
        ['addr', 'add', `${cfg.routerExternalIP}/${extPrefix}`, 'dev', 'eth1'],
        ['link', 'set', 'eth1', 'up'],
      ],
      `the router: ${cfg.underlayGateway} on the underlay, ${cfg.routerExternalIP} toward the internet`,
      'cluster/topology',
    ),
  );
  cmds.push(sysctl(router, 'net.ipv4.ip_forward=1', 'the router forwards between the cluster and the internet', 'cluster/topology'));
  cmds.push({
    argv: [iptablesTool(cfg.iptablesBackend, 'iptables-restore')],
    netns: router,
    input: ['*nat', `-A POSTROUTING -s ${cfg.underlayCIDR} -o eth1 -m comment --comment "${tag(cfg.name)} cloud NAT gateway" -j MASQUERADE`, 'COMMIT', ''].join('\n'),
    why: 'the cloud NAT gateway: node addresses leave as the router\'s public address',
    owner: 'cluster/topology',
  });
  cmds.push(
    ipBatch(
      ext,
      [
        ['link', 'set', 'lo', 'up'],
        ['addr', 'add', `${cfg.externalHostIP}/${extPrefix}`, 'dev', 'eth0'],
        ['link', 'set', 'eth0', 'up'],
      ],
      `the external host ${cfg.externalHostIP}, a stand-in for the internet`,
      'cluster/topology',
    ),
  );
  return cmds;
}

/** A node's own namespace: its underlay address, default route, forwarding and pod egress NAT. */
export function nodeHostCommands(cfg: ClusterConfig, n: NodeSpec): Cmd[] {
  const ns = (h: string) => hostNetns(cfg.name, h);
  const prefix = cfg.underlayCIDR.split('/')[1];
  const cmds: Cmd[] = [];
  cmds.push(
    ipBatch(
      ns(n.name),
      [
        ['link', 'set', 'lo', 'up'],
        ['link', 'set', 'eth0', 'alias', tag(cfg.name, `underlay/${n.name}`)],
        ['addr', 'add', `${n.ip}/${prefix}`, 'dev', 'eth0'],
        ['link', 'set', 'eth0', 'up'],
        ['route', 'add', 'default', 'via', cfg.underlayGateway],
      ],
      `node ${n.name} on the underlay as ${n.ip}, default route via the router`,
      `node/${n.name}`,
    ),
  );
  cmds.push(sysctl(ns(n.name), 'net.ipv4.ip_forward=1', 'a node routes for its pods', `node/${n.name}`));
  cmds.push({
    argv: [iptablesTool(cfg.iptablesBackend, 'iptables-restore'), '--noflush'],
    netns: ns(n.name),
    input: [
      '*nat',
      ':KUBELAB-POD-EGRESS - [0:0]',
      `-A POSTROUTING -m comment --comment "${tag(cfg.name)} pod egress" -j KUBELAB-POD-EGRESS`,
      `-A KUBELAB-POD-EGRESS -s ${cfg.clusterCIDR} -d ${cfg.clusterCIDR} -j RETURN`,
      `-A KUBELAB-POD-EGRESS -s ${cfg.clusterCIDR} ! -d 224.0.0.0/4 -j MASQUERADE --random-fully`,
      'COMMIT',
      '',
    ].join('\n'),
    why: 'pods reach outside the cluster from the node\'s address (flannel\'s ip-masq); pod to pod stays un-NATed',
    owner: `node/${n.name}`,
  });
  return cmds;
}

/** A node joining a running cluster: its namespace, its port on the switch, and its own set-up. */
export function joinNodeCommands(cfg: ClusterConfig, n: NodeSpec): Cmd[] {
  const node = hostNetns(cfg.name, n.name);
  return [
    { argv: ['ip', 'netns', 'add', node], why: `the lab host ${node}`, owner: `node/${n.name}` },
    ipBatch(
      hostNetns(cfg.name, 'switch'),
      [
        ['link', 'add', n.name, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', node],
        ['link', 'set', n.name, 'master', 'br0', 'up'],
      ],
      `plug ${n.name} into the underlay switch`,
      `node/${n.name}`,
    ),
    ...nodeHostCommands(cfg, n),
  ];
}
