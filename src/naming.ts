// Every name kubelab derives for a kernel object, a file or a process comes from here, so that
// exact teardown and the after-crash sweep agree on what is ours. Names carry the cluster's name:
// two clusters (or two tests) can run side by side and `down` removes exactly its own objects.
import { createHash } from 'node:crypto';
import path from 'node:path';

/** Linux interface names are at most 15 bytes (IFNAMSIZ 16 with the terminating NUL). */
export const IFNAMSIZ = 15;

const CLUSTER_NAME = /^[a-z][a-z0-9]{0,11}$/;

export function validateClusterName(name: string): void {
  if (!CLUSTER_NAME.test(name)) {
    throw new Error(
      `invalid cluster name "${name}": use 1-12 lower-case letters and digits, starting with a letter ` +
        `(it prefixes every namespace and tag kubelab makes)`,
    );
  }
}

export function shortHash(input: string, length = 8): string {
  return createHash('sha256').update(input).digest('hex').slice(0, length);
}

/** The prefix of every network namespace of a cluster: `kl-<cluster>-`. */
export function netnsPrefix(cluster: string): string {
  return `kl-${cluster}-`;
}

/** Network namespace of a node (control, node1, ...) or an infrastructure host (switch, router, ext). */
export function hostNetns(cluster: string, host: string): string {
  return `${netnsPrefix(cluster)}${host}`;
}

/** Network namespace of a pod. Readable on purpose: `ip netns list` is a lesson. */
export function podNetns(cluster: string, namespace: string, name: string): string {
  return `${netnsPrefix(cluster)}pod-${namespace}-${name}`;
}

/** True when a network namespace name belongs to a pod of this cluster. */
export function isPodNetns(cluster: string, netns: string): boolean {
  return netns.startsWith(`${netnsPrefix(cluster)}pod-`);
}

/** Host side of a pod's veth pair, in the node's namespace: `veth` + 8 hex of the pod's identity. */
export function podHostVeth(namespace: string, name: string): string {
  return `veth${shortHash(`${namespace}/${name}`)}`;
}

/** The tag written on links (as their alias) and rules (as a comment) that kubelab made. */
export function tag(cluster: string, owner?: string): string {
  return owner ? `kubelab:${cluster}:${owner}` : `kubelab:${cluster}`;
}

/** Root of all state kubelab keeps on disk; tests point it elsewhere with KUBELAB_STATE_DIR. */
export function stateRoot(): string {
  return process.env.KUBELAB_STATE_DIR ?? '/var/lib/kubelab';
}

export function clusterDir(cluster: string): string {
  return path.join(stateRoot(), cluster);
}

export const paths = {
  token: (c: string) => path.join(clusterDir(c), 'token'),
  config: (c: string) => path.join(clusterDir(c), 'cluster.json'),
  apiSocket: (c: string) => path.join(clusterDir(c), 'api.sock'),
  etcdData: (c: string) => path.join(clusterDir(c), 'etcd'),
  pidDir: (c: string) => path.join(clusterDir(c), 'pids'),
  pidFile: (c: string, component: string) => path.join(clusterDir(c), 'pids', `${component}.pid`),
  logDir: (c: string) => path.join(clusterDir(c), 'logs'),
  logFile: (c: string, component: string) => path.join(clusterDir(c), 'logs', `${component}.log`),
  transcript: (c: string) => path.join(clusterDir(c), 'transcript.jsonl'),
  nodeDir: (c: string, node: string) => path.join(clusterDir(c), 'nodes', node),
  podDir: (c: string, node: string, uid: string) => path.join(clusterDir(c), 'nodes', node, 'pods', uid),
  images: (c: string) => path.join(clusterDir(c), 'images'),
  /** `ip netns exec` bind-mounts these files over /etc: a pod's resolv.conf, hosts and hostname. */
  netnsEtc: (netns: string) => path.join('/etc/netns', netns),
};

/** The environment variable that marks every process kubelab starts, so a sweep can find them. */
export const OWNER_ENV = 'KUBELAB_CLUSTER';
