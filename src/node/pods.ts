// The pod side of the node daemon (the kubelet's job, plus the CNI bridge plugin's): for each pod
// bound to this node it makes the sandbox (network namespace, veth into cni0, address, route,
// resolv.conf and hosts), starts the containers in it, watches them, restarts them by policy,
// reports status, and on deletion stops them and removes every trace.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ApiError, type ApiClient } from '../api/client.ts';
import type { Container, ContainerStatus, Pod, PodStatus } from '../api/types.ts';
import type { Runner } from '../driver/runner.ts';
import { OWNER_ENV, paths, podHostVeth, podNetns } from '../naming.ts';
import { alive, startTime, stopProcess, waitFor } from '../util/proc.ts';
import { containerCgroupPath, detectCgroups, drainCgroupTree, readCgroupStats, removeCgroupTree, type CgroupLayout } from '../runtime/cgroups.ts';
import { prepareContainer } from '../runtime/containers.ts';
import { ImageUnavailable, type RunnableImage } from '../runtime/images.ts';
import { initArgv, type Bind } from '../runtime/launch.ts';
import { podQOSClass, type QOSClass } from '../runtime/spec/qos.ts';
import { cgroupSettings } from '../runtime/spec/resources.ts';
import { gatewayOf, type HostLocalIpam } from './ipam.ts';
import { podHosts, podResolvConf, sandboxCommands, sandboxDeleteCommands } from './podnet.ts';
import { ProbeState, runProbe } from './probes.ts';
import type { ContainerRecord, SandboxRecord, SandboxStore } from './sandbox.ts';

export interface PodContext {
  cluster: string;
  node: string;
  nodeIP: string;
  nodeNetns: string;
  runner: Runner;
  client: ApiClient;
  ipam: HostLocalIpam;
  store: SandboxStore;
  podCIDR: () => string | undefined;
  podMTU: () => number;
  log: (line: string) => void;
  /** Whether any Endpoints object still lists the pod (by uid) as an address. */
  inEndpoints?: (uid: string) => boolean;
  /** The local image store, as the runtime needs it. */
  images: { runnable(ref: string): Promise<RunnableImage> };
}

const BACKOFF_START = 10;
const BACKOFF_MAX = 300;
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const ownerOf = (pod: { metadata: { namespace?: string; name: string } }) => `pod/${pod.metadata.namespace}/${pod.metadata.name}`;

export class PodManager {
  /** One queue per pod: work on one pod never interleaves, different pods proceed in parallel. */
  private readonly queues = new Map<string, Promise<void>>();
  private readonly exits = new Map<string, { code: number | null; signal: NodeJS.Signals | null }>();
  private readonly probes = new Map<string, { readiness?: ProbeState; liveness?: ProbeState; startup?: ProbeState }>();
  private readonly lastStatus = new Map<string, string>();
  /** Sandboxes checked against the kernel since this daemon started (after a crash, trust nothing). */
  private readonly verified = new Set<string>();

  constructor(private readonly ctx: PodContext) {}

  enqueue(uid: string, work: () => Promise<void>): Promise<void> {
    const prev = this.queues.get(uid) ?? Promise.resolve();
    const next = prev.then(work).catch((e) => this.ctx.log(`pod ${uid}: ${describeError(e)}`));
    this.queues.set(uid, next);
    void next.finally(() => {
      if (this.queues.get(uid) === next) this.queues.delete(uid);
    });
    return next;
  }

  /** UIDs of pods deleted from the API, most recent last (bounded). */
  private readonly gone = new Set<string>();

  setEndpointsCheck(check: (uid: string) => boolean): void {
    this.ctx.inEndpoints = check;
  }

  /** Brings one pod in line with its object. */
  sync(pod: Pod): Promise<void> {
    const uid = pod.metadata.uid!;
    return this.enqueue(uid, async () => {
      // A sync queued from a stale copy (a probe that finished after the delete event) must not
      // bring a deleted pod's sandbox back: a UID, once gone, never returns.
      if (this.gone.has(uid)) return;
      if (pod.metadata.deletionTimestamp) return this.terminate(pod);
      const rec = await this.ensureSandbox(pod);
      if (!rec) return;
      await this.ensureContainers(pod, rec);
      await this.reportStatus(pod, rec);
    });
  }

  /** The pod object is gone (deleted with grace 0): remove its sandbox if one is left. */
  forget(uid: string): Promise<void> {
    this.gone.add(uid);
    if (this.gone.size > 10_000) this.gone.delete(this.gone.values().next().value!);
    return this.enqueue(uid, async () => {
      const rec = this.ctx.store.load(uid);
      if (rec) await this.teardown(rec);
    });
  }

  /** Removes sandboxes whose pods are gone from the API (deleted while this daemon was down). */
  async collectOrphans(live: Set<string>): Promise<void> {
    for (const rec of this.ctx.store.all()) {
      if (live.has(rec.uid)) continue;
      await this.enqueue(rec.uid, () => this.teardown(rec));
    }
  }

  private newRecord(pod: Pod): SandboxRecord {
    const { namespace = 'default', name } = pod.metadata;
    return {
      uid: pod.metadata.uid!,
      namespace,
      name,
      netns: podNetns(this.ctx.cluster, namespace, name),
      hostVeth: podHostVeth(namespace, name),
      hostname: pod.spec.hostname ?? name,
      networkReady: false,
      startTime: now(),
      containers: {},
    };
  }

  private linkExists(dev: string): boolean {
    // This daemon runs inside the node's network namespace: /proc/net/dev lists that namespace's links.
    return new RegExp(`^\\s*${dev}:`, 'm').test(requireText('/proc/net/dev'));
  }

  private async ensureSandbox(pod: Pod): Promise<SandboxRecord | undefined> {
    const { store, ipam } = this.ctx;
    let rec = store.load(pod.metadata.uid!);
    if (rec && rec.networkReady && this.verified.has(rec.uid)) return rec;
    const cidr = this.ctx.podCIDR();
    if (!cidr) return undefined; // no subnet yet: the node update will call us again
    rec ??= this.newRecord(pod);
    store.save(rec); // write-ahead: a crash from here on leaves a record to finish or undo
    const owner = ownerOf(pod);
    rec.ip = ipam.allocate(cidr, `${owner} ${rec.uid}`);
    store.save(rec);
    const have = { netns: existsSync(`/run/netns/${rec.netns}`), veth: this.linkExists(rec.hostVeth) };
    const cmds = sandboxCommands(
      {
        cluster: this.ctx.cluster,
        owner,
        nodeNetns: this.ctx.nodeNetns,
        podNetns: rec.netns,
        hostVeth: rec.hostVeth,
        ip: rec.ip,
        prefixLength: Number(cidr.split('/')[1]),
        gateway: gatewayOf(cidr),
        mtu: this.ctx.podMTU(),
      },
      have,
    );
    await this.ctx.runner.runAll(cmds);
    const etc = paths.netnsEtc(rec.netns);
    mkdirSync(etc, { recursive: true });
    writeFileSync(path.join(etc, 'resolv.conf'), podResolvConf(rec.namespace));
    writeFileSync(path.join(etc, 'hosts'), podHosts(rec.ip, rec.hostname));
    writeFileSync(path.join(etc, 'hostname'), rec.hostname + '\n');
    await this.ensurePause(rec, owner);
    rec.networkReady = true;
    store.save(rec);
    this.verified.add(rec.uid);
    if (!have.netns || !have.veth) this.ctx.log(`pod ${owner}: sandbox ${rec.netns} ${rec.ip} on ${rec.hostVeth}`);
    return rec;
  }

  /** Starts the pod's sandbox holder unless it runs: PID 1 of its own namespaces, in the pod's network. */
  private async ensurePause(rec: SandboxRecord, owner: string): Promise<void> {
    if (rec.pause && alive(rec.pause)) return;
    const argv = initArgv({ netns: `/run/netns/${rec.netns}`, hostname: rec.hostname, pause: true });
    const child = this.ctx.runner.spawn(
      { argv, why: `start the sandbox holder (pause) of pod ${rec.namespace}/${rec.name}`, owner },
      { env: { [OWNER_ENV]: this.ctx.cluster, KUBELAB_POD_UID: rec.uid, PATH: process.env.PATH ?? '/usr/bin:/bin' }, logFile: path.join(this.ctx.store.dirOf(rec.uid), 'pause.log') },
    );
    child.unref();
    const st = startTime(child.pid!);
    if (st !== undefined) rec.pause = { pid: child.pid!, startTime: st };
  }

  private restartAllowed(pod: Pod, cr: ContainerRecord): boolean {
    const policy = pod.spec.restartPolicy ?? 'Always';
    if (policy === 'Always') return true;
    if (policy === 'OnFailure') return (cr.state.terminated?.exitCode ?? 1) !== 0;
    return false;
  }

  private async ensureContainers(pod: Pod, rec: SandboxRecord): Promise<void> {
    let changed = false;
    for (const c of pod.spec.containers) {
      const cr: ContainerRecord = (rec.containers[c.name] ??= { name: c.name, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } });
      if (cr.pid && cr.startTime && alive({ pid: cr.pid, startTime: cr.startTime })) {
        // A failing liveness probe restarts the container, as the kubelet does.
        const lp = this.probes.get(`${rec.uid}/${c.name}`)?.liveness;
        if (lp && !lp.passing) {
          this.ctx.log(`pod ${ownerOf(pod)}: container ${c.name} failed liveness probe, will be restarted: ${lp.lastMessage}`);
          await stopProcess({ pid: cr.pid, startTime: cr.startTime }, (pod.spec.terminationGracePeriodSeconds ?? 30) * 1000);
        } else {
          if (!cr.containerPid && (cr.containerPid = readPidFile(this.pidFileOf(rec, c.name)))) changed = true;
          continue;
        }
      }
      if (cr.pid) {
        // It ran and has ended.
        const exit = this.exits.get(`${rec.uid}/${c.name}/${cr.pid}`);
        const exitCode = exit ? (exit.code ?? 128 + signalNumber(exit.signal)) : 0;
        // The kernel's OOM killer leaves its count in the container's memory cgroup.
        const rel = this.cgroupRel(pod, rec, c.name);
        const oom = (readCgroupStats(this.cgroups, rel)?.oomKills ?? 0) > 0;
        removeCgroupTree(this.cgroups, rel);
        const reason = oom ? 'OOMKilled' : exitCode === 0 ? 'Completed' : 'Error';
        cr.lastState = undefined;
        cr.state = { terminated: { exitCode, reason, startedAt: cr.startedAt, finishedAt: now(), ...(exit?.signal ? { signal: signalNumber(exit.signal) } : {}) } };
        cr.pid = undefined;
        cr.containerPid = undefined;
        cr.startTime = undefined;
        changed = true;
      }
      if (cr.state.terminated) {
        if (!this.restartAllowed(pod, cr)) continue;
        const ms = Date.now();
        if (cr.nextStart === undefined) {
          cr.backoffSeconds = cr.backoffSeconds === undefined ? 0 : Math.min(Math.max(cr.backoffSeconds * 2, BACKOFF_START), BACKOFF_MAX);
          cr.nextStart = ms + cr.backoffSeconds * 1000;
        }
        if (ms < cr.nextStart) {
          cr.lastState = { terminated: cr.state.terminated };
          changed = true;
          continue;
        }
        cr.lastState = { terminated: cr.state.terminated };
        cr.restartCount++;
        cr.nextStart = undefined;
      }
      await this.startContainer(pod, rec, c, cr);
      changed = true;
    }
    if (changed) this.ctx.store.save(rec);
  }

  private readonly cgroups: CgroupLayout = detectCgroups();

  private qos(pod: Pod): QOSClass {
    try {
      return podQOSClass(pod.spec as never);
    } catch {
      return 'BestEffort';
    }
  }

  private cgroupRel(pod: Pod, rec: SandboxRecord, container: string): string {
    return containerCgroupPath(this.ctx.cluster, this.qos(pod), rec.uid, container);
  }

  /** The pod's volumes as bind mounts for one container (hostPath as is, emptyDir a directory of the pod). */
  private volumeBinds(pod: Pod, rec: SandboxRecord, c: Container): Bind[] {
    const binds: Bind[] = [];
    const volumes = (pod.spec.volumes ?? []) as { name: string; hostPath?: { path: string; type?: string }; emptyDir?: object }[];
    for (const m of (c.volumeMounts ?? []) as { name: string; mountPath: string; readOnly?: boolean }[]) {
      const v = volumes.find((x) => x.name === m.name);
      if (!v) continue;
      let source: string;
      if (v.hostPath) {
        source = v.hostPath.path;
        if (v.hostPath.type === 'DirectoryOrCreate') mkdirSync(source, { recursive: true });
        else if (!existsSync(source)) throw new StartError(`hostPath ${source} of volume ${v.name} does not exist`);
      } else {
        source = path.join(this.ctx.store.dirOf(rec.uid), 'volumes', v.name);
        mkdirSync(source, { recursive: true });
      }
      binds.push({ source, target: m.mountPath, readOnly: m.readOnly });
    }
    return binds;
  }

  private async startContainer(pod: Pod, rec: SandboxRecord, c: Container, cr: ContainerRecord): Promise<void> {
    let image: RunnableImage;
    try {
      image = await this.ctx.images.runnable(c.image);
    } catch (e) {
      if (e instanceof ImageUnavailable) {
        cr.state = { waiting: { reason: e.reason, message: e.message } };
        return;
      }
      throw e;
    }
    const index = pod.spec.containers.indexOf(c);
    const etc = paths.netnsEtc(rec.netns);
    let prepared;
    try {
      prepared = prepareContainer({
        dir: path.join(this.ctx.store.dirOf(rec.uid), 'containers', c.name),
        layers: image.layers,
        image: image.config,
        container: c as never,
        options: { podSecurityContext: pod.spec.securityContext as never, path: `spec.containers[${index}]` },
        hostname: rec.hostname,
        netns: `/run/netns/${rec.netns}`,
        binds: [
          { source: path.join(etc, 'hosts'), target: '/etc/hosts' },
          { source: path.join(etc, 'hostname'), target: '/etc/hostname' },
          { source: path.join(etc, 'resolv.conf'), target: '/etc/resolv.conf' },
          ...this.volumeBinds(pod, rec, c),
        ],
        extraEnv: { HOSTNAME: rec.hostname, KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
        cgroup: { layout: this.cgroups, rel: this.cgroupRel(pod, rec, c.name), settings: cgroupSettings(c.resources as never, `spec.containers[${index}].resources`) },
        owner: ownerOf(pod),
        why: `start container ${c.name} (${c.image}) of pod ${rec.namespace}/${rec.name}`,
      });
    } catch (e) {
      // A spec the runtime cannot run (unknown user, no command): the container never starts.
      cr.state = { waiting: { reason: 'CreateContainerConfigError', message: e instanceof Error ? e.message : String(e) } };
      return;
    }
    removeCgroupTree(this.cgroups, this.cgroupRel(pod, rec, c.name)); // a fresh one: OOM counts start at 0
    const logFile = path.join(this.ctx.store.dirOf(rec.uid), `${c.name}.log`);
    const marks = { [OWNER_ENV]: this.ctx.cluster, KUBELAB_POD_UID: rec.uid, KUBELAB_CONTAINER: c.name, PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };
    const child = this.ctx.runner.spawn(prepared.cmd, { env: marks, logFile });
    const pid = child.pid!;
    child.on('exit', (code, signal) => {
      this.exits.set(`${rec.uid}/${c.name}/${pid}`, { code, signal });
      setTimeout(() => this.ctx.log(`pod ${ownerOf(pod)}: container ${c.name} exited (${code ?? signal})`), 0);
      this.onExit?.(rec.uid);
    });
    child.unref();
    cr.pid = pid;
    cr.startTime = startTime(pid);
    cr.startedAt = now();
    // The shim writes the container's own PID (PID 1 inside) once it has forked; on a loaded node
    // that can take a while, and a PID that comes later is picked up by refreshPids.
    await waitFor(() => existsSync(prepared.pidFile) || !alive({ pid, startTime: cr.startTime ?? -1 }), 15_000, 5);
    cr.containerPid = readPidFile(prepared.pidFile);
    cr.state = { running: { startedAt: cr.startedAt } };
    const key = `${rec.uid}/${c.name}`;
    this.probes.set(key, {
      readiness: c.readinessProbe ? new ProbeState(c.readinessProbe, false) : undefined,
      liveness: c.livenessProbe ? new ProbeState(c.livenessProbe, true) : undefined,
      startup: c.startupProbe ? new ProbeState(c.startupProbe, false) : undefined,
    });
  }

  /** Statistics of a running container's cgroup (for `top` and `describe`). */
  containerStats(pod: Pod, rec: SandboxRecord, name: string) {
    return readCgroupStats(this.cgroups, this.cgroupRel(pod, rec, name));
  }

  /** Called when a container of a pod exits, so the daemon can re-sync that pod at once. */
  onExit?: (uid: string) => void;

  /** Where prepareContainer has the shim write the container's PID (the container's dir/pid). */
  private pidFileOf(rec: SandboxRecord, container: string): string {
    return path.join(this.ctx.store.dirOf(rec.uid), 'containers', container, 'pid');
  }

  /**
   * True when a running container's PID, missing at its start (the shim wrote it late), is now
   * known: the pod must be synced (which records it) and its status reported again, since `exec`
   * and probes enter the container by it. Read-only: records change only inside the pod's queue.
   */
  refreshPids(pod: Pod): boolean {
    const rec = this.ctx.store.load(pod.metadata.uid!);
    if (!rec) return false;
    return pod.spec.containers.some((c) => {
      const cr = rec.containers[c.name];
      return !!cr?.pid && !!cr.state.running && !cr.containerPid && readPidFile(this.pidFileOf(rec, c.name)) !== undefined;
    });
  }

  /** Runs the probes that are due; returns true when a result changed readiness. */
  async runProbes(pod: Pod): Promise<boolean> {
    const rec = this.ctx.store.load(pod.metadata.uid!);
    if (!rec?.ip) return false;
    let changed = false;
    for (const c of pod.spec.containers) {
      const cr = rec.containers[c.name];
      const st = this.probes.get(`${rec.uid}/${c.name}`);
      if (!cr?.pid || !st || !cr.startedAt) continue;
      const started = Date.parse(cr.startedAt);
      const t = Date.now();
      for (const kind of ['startup', 'readiness', 'liveness'] as const) {
        const p = st[kind];
        if (!p || !p.due(t, started)) continue;
        if (kind !== 'startup' && st.startup && !st.startup.passing) continue;
        if (kind === 'startup' && p.passing) continue;
        const before = p.passing;
        // An exec probe needs the container's PID; one reported late is recorded by the next sync.
        if (p.probe.exec && !cr.containerPid) continue;
        p.record(await runProbe(p.probe, c, rec.ip, cr.containerPid), t);
        if (p.passing !== before) changed = true;
      }
    }
    return changed;
  }

  private containerStatus(pod: Pod, rec: SandboxRecord, c: Container): ContainerStatus {
    const cr = rec.containers[c.name];
    const st = this.probes.get(`${rec.uid}/${c.name}`);
    const running = !!cr?.state.running;
    const started = running && (!st?.startup || st.startup.passing);
    const ready = started && (!st?.readiness || st.readiness.passing);
    let state = cr?.state ?? { waiting: { reason: 'ContainerCreating' } };
    if (cr?.state.terminated && cr.nextStart && this.restartAllowed(pod, cr)) {
      state = { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${cr.backoffSeconds}s restarting failed container=${c.name} pod=${rec.name}` } };
    }
    return {
      name: c.name,
      image: c.image,
      ready,
      started,
      restartCount: cr?.restartCount ?? 0,
      state,
      ...(cr?.lastState ? { lastState: cr.lastState } : {}),
      ...(cr?.containerPid && cr.state.running ? { pid: cr.containerPid } : {}),
    };
  }

  async reportStatus(pod: Pod, rec?: SandboxRecord): Promise<void> {
    rec ??= this.ctx.store.load(pod.metadata.uid!);
    if (!rec || pod.metadata.deletionTimestamp) return;
    const statuses = pod.spec.containers.map((c) => this.containerStatus(pod, rec!, c));
    const allReady = statuses.every((s) => s.ready);
    const anyRunning = statuses.some((s) => s.state.running);
    const allTerminated = statuses.every((s) => s.state.terminated);
    let phase: PodStatus['phase'] = 'Pending';
    if (anyRunning) phase = 'Running';
    else if (allTerminated && (pod.spec.restartPolicy ?? 'Always') !== 'Always') {
      phase = statuses.every((s) => s.state.terminated!.exitCode === 0) ? 'Succeeded' : (pod.spec.restartPolicy === 'Never' ? 'Failed' : 'Running');
    } else if (statuses.some((s) => s.restartCount > 0 || s.lastState)) phase = 'Running';
    const previous = new Map((pod.status?.conditions ?? []).map((c) => [c.type, c]));
    const cond = (type: string, ok: boolean) => {
      const status = ok ? 'True' : 'False';
      const before = previous.get(type);
      return { type, status: status as 'True' | 'False', lastTransitionTime: before?.status === status ? before.lastTransitionTime : now() };
    };
    const status: PodStatus = {
      phase,
      hostIP: this.ctx.nodeIP,
      ...(rec.ip ? { podIP: rec.ip, podIPs: [{ ip: rec.ip }] } : {}),
      startTime: rec.startTime,
      conditions: [cond('PodScheduled', true), cond('Initialized', true), cond('ContainersReady', allReady), cond('Ready', allReady)],
      containerStatuses: statuses,
      qosClass: this.qos(pod),
    };
    const comparable = JSON.stringify({ ...status, conditions: status.conditions!.map((c) => [c.type, c.status]) });
    if (this.lastStatus.get(rec.uid) === comparable) return;
    try {
      await this.ctx.client.patch('Pod', pod.metadata.name, pod.metadata.namespace, { status }, 'status');
      this.lastStatus.set(rec.uid, comparable);
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 404)) throw e;
    }
  }

  /** Graceful deletion: SIGTERM, the grace period, SIGKILL; then the network; then the API object. */
  private async terminate(pod: Pod): Promise<void> {
    const rec = this.ctx.store.load(pod.metadata.uid!);
    if (rec) {
      // The pod leaves its services' endpoints before its containers get SIGTERM (bounded wait), so
      // no new connection is sent to a process that is shutting down.
      if (this.ctx.inEndpoints) await waitFor(() => !this.ctx.inEndpoints!(pod.metadata.uid!), 5000, 50);
      const graceMs = Math.max(0, Date.parse(pod.metadata.deletionTimestamp!) - Date.now());
      await this.stopContainers(rec, graceMs);
      await this.teardown(rec);
    }
    try {
      await this.ctx.client.delete('Pod', pod.metadata.name, pod.metadata.namespace, { gracePeriodSeconds: 0 });
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 404)) throw e;
    }
  }

  private async stopContainers(rec: SandboxRecord, graceMs: number): Promise<void> {
    await Promise.all(
      Object.values(rec.containers).map(async (cr) => {
        if (cr.pid && cr.startTime) await stopProcess({ pid: cr.pid, startTime: cr.startTime }, graceMs);
      }),
    );
  }

  /** Removes every trace of a sandbox: processes, namespace (and veth), address, files. */
  async teardown(rec: SandboxRecord): Promise<void> {
    await this.stopContainers(rec, 2000);
    if (rec.pause) await stopProcess(rec.pause, 2000);
    // The containers' mounts died with their mount namespaces; their directories and cgroups remain.
    rmSync(path.join(this.ctx.store.dirOf(rec.uid), 'containers'), { recursive: true, force: true });
    for (const qos of ['guaranteed', 'burstable', 'besteffort']) {
      const left = await drainCgroupTree(this.cgroups, `kubelab/${this.ctx.cluster}/${qos}/pod${rec.uid}`);
      if (left.length) this.ctx.log(`pod ${rec.namespace}/${rec.name}: cgroups still busy, left for down to sweep: ${left.join(' ')}`);
    }
    const owner = `pod/${rec.namespace}/${rec.name}`;
    await this.ctx.runner.runAll(sandboxDeleteCommands({ podNetns: rec.netns, nodeNetns: this.ctx.nodeNetns, hostVeth: rec.hostVeth, owner }));
    rmSync(paths.netnsEtc(rec.netns), { recursive: true, force: true });
    this.ctx.ipam.release(`${owner} ${rec.uid}`);
    this.ctx.store.remove(rec.uid);
    this.verified.delete(rec.uid);
    this.lastStatus.delete(rec.uid);
    for (const key of this.probes.keys()) if (key.startsWith(`${rec.uid}/`)) this.probes.delete(key);
    this.ctx.log(`pod ${owner}: sandbox removed, ${rec.ip ?? 'no address'} released`);
  }
}

/** A container that cannot be started as specified (a missing hostPath, ...). */
class StartError extends Error {}

/** The PID the shim wrote (written to a temporary file and renamed, so never half a number). */
function readPidFile(file: string): number | undefined {
  try {
    return Number(readFileSync(file, 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}

function requireText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function signalNumber(signal: NodeJS.Signals | null): number {
  const table: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };
  return signal ? (table[signal] ?? 0) : 0;
}

export function describeError(e: unknown): string {
  const d = e as { message?: string; describe?: () => string };
  if (d && typeof d.describe === 'function') return `${d.message}\n${d.describe()}`;
  return e instanceof Error ? e.message : String(e);
}
