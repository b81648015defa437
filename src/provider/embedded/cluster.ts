// The embedded provider: a whole cluster in network namespaces on this host. `up` builds the
// topology, starts etcd, the API server and a node daemon per node, and waits until the nodes are
// ready; run again after a crash, it restarts what died and repeats nothing. `down` removes every
// namespace, link, rule, process and file of the cluster, exactly, or by sweeping its tags.
import { rmdirSync } from 'node:fs';
import { clusterCgroupPath, detectCgroups, hierarchyDirs, removeCgroupTree } from '../../runtime/cgroups.ts';
import { ImageStore } from '../../image/store.ts';
import { ensureLabImages } from '../../runtime/lab-images.ts';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { repoRoot } from '../../util/repo.ts';
import { ApiClient } from '../../api/client.ts';
import type { Node, Pod } from '../../api/types.ts';
import type { Cmd } from '../../driver/command.ts';
import { createRunner, type Runner } from '../../driver/runner.ts';
import { clusterDir, hostNetns, isPodNetns, netnsPrefix, OWNER_ENV, paths, stateRoot, validateClusterName } from '../../naming.ts';
import { alive, findMarked, type ProcRef, startTime, stopProcess, waitFor } from '../../util/proc.ts';
import { type ClusterConfig, makeConfig, type Overlay, type ProxyMode, readConfig } from '../config.ts';
import { preflight } from '../preflight.ts';
import { IPVS_MISSING, ipvsAvailable } from '../../proxy/ipvs.ts';
import { joinNodeCommands, topologyCommands, topologyNamespaces } from './topology.ts';

/** The daemons run from the bundle in dist/ (built here if the sources changed since the last build). */
function daemonEntry(): string {
  execFileSync(process.execPath, [path.join(repoRoot(), 'scripts/build.mjs')], { stdio: 'inherit' });
  return path.join(repoRoot(), 'dist/daemons.mjs');
}

export interface UpOptions {
  name: string;
  nodes?: number;
  overlay?: Overlay;
  proxyMode?: ProxyMode;
  progress?: (line: string) => void;
  echo?: boolean;
}

export class ClusterError extends Error {}

function runnerFor(cluster: string, echo = false): Runner {
  return createRunner({ transcript: paths.transcript(cluster), component: 'provider/embedded', echo });
}

export function listNetns(): string[] {
  try {
    return readdirSync('/run/netns');
  } catch {
    return [];
  }
}

export function clusterNetns(cluster: string): string[] {
  return listNetns().filter((n) => n.startsWith(netnsPrefix(cluster)));
}

/** The daemons of a cluster: etcd and the API server on the control node, a node daemon per node. */
function daemonSpecs(cfg: ClusterConfig): { component: string; netns: string; argv: string[]; why: string }[] {
  const control = hostNetns(cfg.name, 'control');
  const etcdUrl = 'http://127.0.0.1';
  const daemon = daemonEntry();
  return [
    {
      component: 'etcd',
      netns: control,
      argv: [
        'etcd', '--name', 'control', '--data-dir', paths.etcdData(cfg.name),
        '--listen-client-urls', `${etcdUrl}:2379`, '--advertise-client-urls', `${etcdUrl}:2379`,
        '--listen-peer-urls', `${etcdUrl}:2380`, '--initial-advertise-peer-urls', `${etcdUrl}:2380`,
        '--initial-cluster', `control=${etcdUrl}:2380`, '--logger', 'zap', '--log-level', 'warn',
      ],
      why: 'etcd, the cluster\'s store, on the control node\'s loopback',
    },
    {
      component: 'apiserver',
      netns: control,
      argv: [process.execPath, '--enable-source-maps', daemon, 'apiserver', '--cluster', cfg.name],
      why: 'the API server and the controllers',
    },
    {
      component: 'ext-dns',
      netns: hostNetns(cfg.name, 'ext'),
      argv: [process.execPath, path.join(repoRoot(), 'dist/dns.mjs'), 'upstream', '--listen', `${cfg.externalHostIP}:53`],
      why: "the internet's resolver on the external host: example.com and friends, for the labs",
    },
    ...cfg.nodes.map((n) => ({
      component: `node-${n.name}`,
      netns: hostNetns(cfg.name, n.name),
      argv: [process.execPath, '--enable-source-maps', daemon, 'node', '--cluster', cfg.name, '--node', n.name],
      why: `the node daemon of ${n.name} (kubelet, CNI and flanneld's jobs)`,
    })),
  ];
}

function readPid(cluster: string, component: string): ProcRef | undefined {
  try {
    const [pid, st] = readFileSync(paths.pidFile(cluster, component), 'utf8').trim().split(' ').map(Number);
    return pid && st ? { pid, startTime: st } : undefined;
  } catch {
    return undefined;
  }
}

/** Starts every daemon that is not already running (all of them on a fresh cluster). */
async function ensureDaemons(cfg: ClusterConfig, runner: Runner, progress: (l: string) => void): Promise<void> {
  mkdirSync(paths.pidDir(cfg.name), { recursive: true });
  // The lab's images (busybox, agnhost, kubelab/dns) are made here, once per host, before any node
  // daemon needs them: the first time this takes a few seconds.
  await ensureLabImages(new ImageStore());
  for (const d of daemonSpecs(cfg)) {
    const ref = readPid(cfg.name, d.component);
    if (ref && alive(ref)) continue;
    // nsenter joins only the network namespace: `ip netns exec` would give the daemon a private mount
    // namespace, and the pod namespaces it mounts under /run/netns would not be seen outside it.
    const cmd: Cmd = { argv: ['nsenter', `--net=/run/netns/${d.netns}`, '--', ...d.argv], why: d.why, owner: `daemon/${d.component}` };
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      [OWNER_ENV]: cfg.name,
      KUBELAB_STATE_DIR: stateRoot(),
      HOME: '/root',
      // The image store the nodes run pods from: the one the CLI uses (tests point both elsewhere).
      ...(process.env.KUBELAB_IMAGES_DIR ? { KUBELAB_IMAGES_DIR: process.env.KUBELAB_IMAGES_DIR } : {}),
    };
    const child = runner.spawn(cmd, { env, logFile: paths.logFile(cfg.name, d.component) });
    child.unref();
    const st = startTime(child.pid!);
    writeFileSync(paths.pidFile(cfg.name, d.component), `${child.pid} ${st}\n`);
    progress(`started ${d.component} (pid ${child.pid})`);
  }
}

export function apiClient(cluster: string): ApiClient {
  const token = readFileSync(paths.token(cluster), 'utf8').trim();
  return new ApiClient({ socketPath: paths.apiSocket(cluster) }, token);
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function waitReady(cfg: ClusterConfig, timeoutMs: number): Promise<void> {
  const client = apiClient(cfg.name);
  const apiUp = await waitFor(() => existsSync(paths.apiSocket(cfg.name)) && client.health(), timeoutMs, 100);
  if (!apiUp) throw new ClusterError(`the API server did not come up; its log ends:\n${tail(paths.logFile(cfg.name, 'apiserver'))}\netcd's log ends:\n${tail(paths.logFile(cfg.name, 'etcd'))}`);
  let last: Node[] = [];
  const ok = await waitFor(async () => {
    last = (await client.list<Node>('Node')).items;
    return cfg.nodes.every((n) => last.find((x) => x.metadata.name === n.name && x.spec.podCIDR && x.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')));
  }, timeoutMs, 100);
  if (!ok) {
    const missing = cfg.nodes.filter((n) => !last.find((x) => x.metadata.name === n.name)).map((n) => n.name);
    const logs = missing.map((m) => `node ${m}'s log ends:\n${tail(paths.logFile(cfg.name, `node-${m}`))}`).join('\n');
    throw new ClusterError(`nodes did not become ready in time (missing: ${missing.join(', ') || 'none'})\n${logs}`);
  }
}

export async function up(opts: UpOptions): Promise<ClusterConfig> {
  const progress = opts.progress ?? (() => {});
  validateClusterName(opts.name);
  preflight();
  if (existsSync(paths.config(opts.name))) {
    // The cluster exists: bring back whatever died, change nothing else.
    let cfg = readConfig(opts.name);
    if (opts.overlay && opts.overlay !== cfg.overlay) throw new ClusterError(`cluster ${opts.name} runs the ${cfg.overlay} overlay; run ./kubelab down --name ${opts.name} first to change it`);
    const missing = topologyNamespaces(cfg).filter((n) => !existsSync(`/run/netns/${n}`));
    if (missing.length) throw new ClusterError(`cluster ${opts.name} is damaged (namespaces ${missing.join(', ')} are gone): run ./kubelab down --name ${opts.name} and up again`);
    const runner = runnerFor(cfg.name, opts.echo);
    await ensureDaemons(cfg, runner, progress);
    await waitReady(cfg, 60_000);
    if (opts.nodes !== undefined && opts.nodes !== cfg.nodes.length - 1) cfg = await scale(cfg, opts.nodes, runner, progress);
    await waitReady(cfg, 60_000);
    progress(`cluster ${cfg.name} is up`);
    return cfg;
  }
  const leftovers = clusterNetns(opts.name);
  if (leftovers.length) throw new ClusterError(`namespaces of a cluster named ${opts.name} exist without its state (${leftovers.join(', ')}): run ./kubelab down --name ${opts.name} first`);

  if (opts.proxyMode === 'ipvs' && !ipvsAvailable()) throw new ClusterError(IPVS_MISSING);
  if (opts.proxyMode === 'ipvs') throw new ClusterError('proxy mode ipvs is proven in a qemu guest (test/integration/vm) but not yet wired into the node daemons: use --proxy-mode iptables or nftables');
  const cfg = makeConfig(opts.name, opts.nodes ?? 2, opts.overlay ?? 'vxlan', opts.proxyMode);
  try {
    mkdirSync(clusterDir(cfg.name), { recursive: true, mode: 0o700 });
    writeFileSync(paths.token(cfg.name), randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
    writeFileSync(paths.config(cfg.name), JSON.stringify(cfg, null, 2) + '\n');
    const runner = runnerFor(cfg.name, opts.echo);
    await runner.runAll(topologyCommands(cfg));
    progress(`topology: ${topologyNamespaces(cfg).length} namespaces (${cfg.nodes.map((n) => n.name).join(', ')}, switch, router, ext)`);
    await ensureDaemons(cfg, runner, progress);
    await waitReady(cfg, 60_000);
    progress(`cluster ${cfg.name} is up: ${cfg.nodes.length} nodes`);
    return cfg;
  } catch (e) {
    // A failed up leaves nothing behind.
    const report = await down(cfg.name).catch((err) => ({ errors: [String(err)] }));
    if (report.errors.length) (e as Error).message += `\n(cleanup after the failure also reported: ${report.errors.join('; ')})`;
    throw e;
  }
}

/**
 * Changes the number of worker nodes of a running cluster. A node that joins gets its namespace,
 * its switch port and its daemon, and registers; one that leaves has its pods removed, its Node
 * deleted (so every peer drops its routes), its daemon stopped and its namespaces deleted.
 */
async function scale(cfg: ClusterConfig, workers: number, runner: Runner, progress: (l: string) => void): Promise<ClusterConfig> {
  const target = makeConfig(cfg.name, workers, cfg.overlay, cfg.proxyMode);
  const joining = target.nodes.filter((n) => !cfg.nodes.some((c) => c.name === n.name));
  const leaving = cfg.nodes.filter((n) => !target.nodes.some((c) => c.name === n.name));
  const client = apiClient(cfg.name);
  for (const n of leaving) {
    const pods = (await client.list<Pod>('Pod', { fieldSelector: `spec.nodeName=${n.name}` })).items;
    for (const p of pods) await client.delete('Pod', p.metadata.name, p.metadata.namespace).catch(() => {});
    await waitFor(async () => (await client.list('Pod', { fieldSelector: `spec.nodeName=${n.name}` })).items.length === 0, 60_000, 100);
    const ref = readPid(cfg.name, `node-${n.name}`);
    if (ref) await stopProcess(ref, 3000);
    rmSync(paths.pidFile(cfg.name, `node-${n.name}`), { force: true });
    await client.delete('Node', n.name).catch(() => {});
    await runner.run({ argv: ['ip', 'link', 'del', n.name], netns: hostNetns(cfg.name, 'switch'), why: `unplug ${n.name} from the underlay switch`, owner: `node/${n.name}`, okStderr: /Cannot find/ });
    await runner.run({ argv: ['ip', 'netns', 'delete', hostNetns(cfg.name, n.name)], why: `remove node ${n.name}`, owner: `node/${n.name}`, okStderr: /No such file/ });
    rmSync(paths.nodeDir(cfg.name, n.name), { recursive: true, force: true });
    progress(`node ${n.name} left the cluster`);
  }
  const next: ClusterConfig = { ...cfg, nodes: [...cfg.nodes.filter((n) => !leaving.includes(n)), ...joining] };
  writeFileSync(paths.config(cfg.name), JSON.stringify(next, null, 2) + '\n');
  for (const n of joining) await runner.runAll(joinNodeCommands(next, n));
  await ensureDaemons(next, runner, progress);
  await waitReady(next, 60_000);
  for (const n of joining) progress(`node ${n.name} joined the cluster`);
  return next;
}

export interface DownReport {
  processes: number;
  namespaces: number;
  errors: string[];
}

/**
 * Removes a cluster whatever state it is in: processes first (found by their mark and by the
 * namespaces they sit in), then pod namespaces, then the topology, then the files.
 */
export async function down(cluster: string): Promise<DownReport> {
  validateClusterName(cluster);
  const errors: string[] = [];
  // Processes: the daemons first, so that no node daemon restarts a container behind our back; then,
  // until none is left, every process carrying our mark and every process inside one of our namespaces.
  const daemonRefs = readdirSafe(paths.pidDir(cluster))
    .map((f) => readPid(cluster, f.replace(/\.pid$/, '')))
    .filter((r): r is ProcRef => !!r && alive(r));
  await Promise.all(daemonRefs.map((r) => stopProcess(r, 3000).catch((e) => errors.push(`stop daemon pid ${r.pid}: ${e}`))));
  let stopped = daemonRefs.length;
  for (let round = 0; round < 5; round++) {
    const refs = new Map<number, ProcRef>();
    for (const r of findMarked(OWNER_ENV, cluster)) refs.set(r.pid, r);
    for (const n of clusterNetns(cluster)) {
      for (const pid of readNetnsPids(n)) {
        const st = startTime(pid);
        if (st !== undefined) refs.set(pid, { pid, startTime: st });
      }
    }
    if (refs.size === 0) break;
    stopped += refs.size;
    await Promise.all([...refs.values()].map((r) => stopProcess(r, 3000).catch((e) => errors.push(`stop pid ${r.pid}: ${e}`))));
  }
  const left = findMarked(OWNER_ENV, cluster);
  if (left.length) errors.push(`processes still running: ${left.map((r) => r.pid).join(' ')}`);

  // Cgroups: the containers' (kubelab/<cluster>/... on every hierarchy), removable now that their
  // processes are gone; then the shared kubelab/ parent when no other cluster uses it.
  const layout = detectCgroups();
  const leftCgroups = removeCgroupTree(layout, clusterCgroupPath(cluster));
  if (leftCgroups.length) errors.push(`cgroups still in use: ${leftCgroups.join(' ')}`);
  for (const d of hierarchyDirs(layout, 'kubelab')) {
    try {
      rmdirSync(d);
    } catch {
      /* another cluster's, or none */
    }
  }

  const runner = createRunner({ component: 'provider/embedded' });
  // Listed again now, and until none is left: a daemon stopped in the middle of making a pod's
  // namespace may have finished making it after the first look.
  let deleted = 0;
  for (let round = 0; round < 3; round++) {
    const netns = clusterNetns(cluster);
    if (netns.length === 0) break;
    const ordered = [...netns.filter((n) => isPodNetns(cluster, n)), ...netns.filter((n) => !isPodNetns(cluster, n))];
    for (const n of ordered) {
      try {
        await runner.run({ argv: ['ip', 'netns', 'delete', n], why: `remove ${n}`, okStderr: /No such file/ });
        deleted++;
      } catch (e) {
        if (round === 2) errors.push(`delete namespace ${n}: ${(e as Error).message}`);
      }
    }
  }
  try {
    for (const d of readdirSync('/etc/netns')) if (d.startsWith(netnsPrefix(cluster))) rmSync(path.join('/etc/netns', d), { recursive: true, force: true });
    if (existsSync('/etc/netns') && readdirSync('/etc/netns').length === 0) rmSync('/etc/netns', { recursive: true, force: true });
  } catch {
    /* no /etc/netns */
  }
  rmSync(clusterDir(cluster), { recursive: true, force: true });
  try {
    if (existsSync(stateRoot()) && readdirSync(stateRoot()).length === 0) rmSync(stateRoot(), { recursive: true, force: true });
  } catch {
    /* shared root */
  }
  return { processes: stopped, namespaces: deleted, errors };
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** PIDs of processes whose network namespace is the named one (what `ip netns pids` prints). */
function readNetnsPids(netns: string): number[] {
  const target = inode(`/run/netns/${netns}`);
  if (target === undefined) return [];
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    if (inode(`/proc/${e}/ns/net`) === target) pids.push(Number(e));
  }
  return pids;
}

function inode(file: string): string | undefined {
  try {
    // statSync follows the /proc/PID/ns/net magic link to the namespace's inode.
    const st = statSync(file);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}



export interface ClusterStatus {
  name: string;
  config: ClusterConfig;
  daemons: { component: string; pid?: number; running: boolean }[];
  api: boolean;
  nodes: { name: string; ip: string; podCIDR?: string; ready: boolean }[];
  pods: number;
}

export async function status(cluster: string): Promise<ClusterStatus> {
  const cfg = readConfig(cluster);
  const daemons = daemonSpecs(cfg).map((d) => {
    const ref = readPid(cluster, d.component);
    return { component: d.component, pid: ref?.pid, running: !!ref && alive(ref) };
  });
  const client = apiClient(cluster);
  const api = await client.health();
  let nodes: ClusterStatus['nodes'] = [];
  let pods = 0;
  if (api) {
    nodes = (await client.list<Node>('Node')).items.map((n) => ({
      name: n.metadata.name,
      ip: n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '',
      podCIDR: n.spec.podCIDR,
      ready: !!n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    }));
    pods = (await client.list('Pod')).items.length;
  }
  return { name: cluster, config: cfg, daemons, api, nodes, pods };
}

/** Names of clusters with state on this host. */
export function clusters(): string[] {
  try {
    return readdirSync(stateRoot()).filter((d) => existsSync(paths.config(d)));
  } catch {
    return [];
  }
}
