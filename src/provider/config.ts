// The shape of a cluster, fixed by `up` and written to <state>/<cluster>/cluster.json: every daemon
// reads it to know its name, its addresses and its peers. Pure derivation from the options, so the
// addressing plan of DESIGN.md lives in one place.
import { readFileSync } from 'node:fs';
import type { IptablesBackend } from '../driver/iptables.ts';
import { paths } from '../naming.ts';

export type Overlay = 'host-gw' | 'vxlan';
export type ProxyMode = 'iptables' | 'nftables' | 'ipvs';

export interface NodeSpec {
  name: string;
  /** Underlay address on 192.168.56.0/24. */
  ip: string;
  role: 'control-plane' | 'worker';
}

export interface ClusterConfig {
  name: string;
  nodes: NodeSpec[];
  overlay: Overlay;
  proxyMode: ProxyMode;
  /** The iptables backend of every lab namespace (see src/driver/iptables.ts). */
  iptablesBackend: IptablesBackend;
  underlayCIDR: string;
  underlayGateway: string;
  clusterCIDR: string;
  serviceCIDR: string;
  externalCIDR: string;
  routerExternalIP: string;
  externalHostIP: string;
  apiServer: { host: string; port: number };
  etcdEndpoint: string;
}

export const UNDERLAY_PREFIX = '192.168.56';

export function makeConfig(name: string, workers: number, overlay: Overlay = 'host-gw', proxyMode: ProxyMode = 'iptables'): ClusterConfig {
  if (!Number.isInteger(workers) || workers < 1 || workers > 20) throw new Error(`--nodes must be a whole number from 1 to 20 (got ${workers})`);
  const nodes: NodeSpec[] = [{ name: 'control', ip: `${UNDERLAY_PREFIX}.10`, role: 'control-plane' }];
  for (let i = 1; i <= workers; i++) nodes.push({ name: `node${i}`, ip: `${UNDERLAY_PREFIX}.${10 + i}`, role: 'worker' });
  return {
    name,
    nodes,
    overlay,
    proxyMode,
    iptablesBackend: 'legacy',
    underlayCIDR: `${UNDERLAY_PREFIX}.0/24`,
    underlayGateway: `${UNDERLAY_PREFIX}.1`,
    clusterCIDR: '10.244.0.0/16',
    serviceCIDR: '10.96.0.0/12',
    externalCIDR: '203.0.113.0/24',
    routerExternalIP: '203.0.113.1',
    externalHostIP: '203.0.113.100',
    apiServer: { host: `${UNDERLAY_PREFIX}.10`, port: 6443 },
    etcdEndpoint: 'http://127.0.0.1:2379',
  };
}

export function readConfig(cluster: string): ClusterConfig {
  try {
    return { iptablesBackend: 'legacy', ...JSON.parse(readFileSync(paths.config(cluster), 'utf8')) } as ClusterConfig;
  } catch (e) {
    throw new Error(`cluster ${cluster} is not up (no ${paths.config(cluster)}): run ./kubelab up --name ${cluster}`);
  }
}

export function readToken(cluster: string): string {
  return readFileSync(paths.token(cluster), 'utf8').trim();
}
