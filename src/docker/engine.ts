// `kubelab docker`: a Docker-shaped engine on one node of the lab. It applies src/docker/plan.ts
// through the runner (every command in the cluster's transcript) and starts containers with the same
// runtime the pods use (src/runtime). State: one JSON file per container under
// <cluster dir>/docker/<node>/; processes carry the cluster's mark, so `down` removes everything.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Runner } from '../driver/runner.ts';
import { iptablesTool, type IptablesBackend } from '../driver/iptables.ts';
import { clusterDir, hostNetns, OWNER_ENV } from '../naming.ts';
import { detectCgroups, removeCgroupTree } from '../runtime/cgroups.ts';
import { prepareContainer } from '../runtime/containers.ts';
import type { RuntimeImages } from '../runtime/images.ts';
import { cgroupSettings } from '../runtime/spec/resources.ts';
import { alive, startTime, stopProcess, waitFor } from '../util/proc.ts';
import {
  allocateAddress,
  attachBatch,
  baseRules,
  bridgeBatch,
  dockerChains,
  dockerHostVeth,
  dockerNetns,
  DockerUsageError,
  hairpinJump,
  validateContainerName,
  DOCKER_BRIDGE,
  type NetworkMode,
  type PortMapping,
} from './plan.ts';

export interface DockerContainer {
  name: string;
  node: string;
  image: string;
  argv: string[];
  network: NetworkMode;
  /** The network namespace the container uses (its own, the node's, or another container's). */
  netnsPath: string;
  /** Its own named namespace (bridge and none modes). */
  netns?: string;
  hostVeth?: string;
  ip?: string;
  ports: PortMapping[];
  shim?: { pid: number; startTime: number };
  containerPid?: number;
  created: string;
}

export interface RunOptions {
  name: string;
  node: string;
  image: string;
  command: string[];
  network: NetworkMode;
  ports: PortMapping[];
  env?: string[];
  memory?: string;
  cpus?: string;
}

export class DockerEngine {
  private readonly dir: string;

  constructor(
    private readonly cluster: string,
    private readonly runner: Runner,
    private readonly images: RuntimeImages,
    private readonly iptables: IptablesBackend,
  ) {
    this.dir = path.join(clusterDir(cluster), 'docker');
  }

  private file(node: string, name: string) {
    return path.join(this.dir, node, `${name}.json`);
  }

  list(node?: string): DockerContainer[] {
    const out: DockerContainer[] = [];
    for (const n of existsSync(this.dir) ? readdirSync(this.dir) : []) {
      if (node && n !== node) continue;
      for (const f of readdirSync(path.join(this.dir, n)).filter((x) => x.endsWith('.json'))) out.push(JSON.parse(readFileSync(path.join(this.dir, n, f), 'utf8')));
    }
    return out;
  }

  get(node: string, name: string): DockerContainer {
    const f = this.file(node, name);
    if (!existsSync(f)) throw new DockerUsageError(`no such container: ${name} on ${node} (./kubelab docker ps lists them)`);
    return JSON.parse(readFileSync(f, 'utf8'));
  }

  running(c: DockerContainer): boolean {
    return !!c.shim && alive(c.shim);
  }

  private save(c: DockerContainer): void {
    mkdirSync(path.dirname(this.file(c.node, c.name)), { recursive: true });
    writeFileSync(this.file(c.node, c.name), JSON.stringify(c, null, 2));
  }

  private async ensureBridge(node: string): Promise<void> {
    const nodeNs = hostNetns(this.cluster, node);
    const have = await this.runner.run({ argv: ['ip', 'link', 'show', DOCKER_BRIDGE], netns: nodeNs, why: 'is docker0 there?', readOnly: true, okExit: [1] });
    if (have.exitCode !== 0) await this.runner.run({ argv: ['ip', '-batch', '-'], netns: nodeNs, input: bridgeBatch(), why: `docker0, the Docker bridge of ${node}`, owner: `docker/${node}` });
  }

  /** Rewrites the DOCKER chains from every published container of the node, then makes sure of the jumps. */
  private async syncRules(node: string): Promise<void> {
    const nodeNs = hostNetns(this.cluster, node);
    const published = this.list(node).filter((c) => c.ip && c.ports.length && this.running(c));
    await this.runner.run({
      argv: [iptablesTool(this.iptables, 'iptables-restore'), '-w', '--noflush'],
      netns: nodeNs,
      input: dockerChains(published.map((c) => ({ ip: c.ip!, ports: c.ports }))),
      why: `Docker's DOCKER chains on ${node}: ${published.flatMap((c) => c.ports.map((p) => `${p.hostPort}->${c.name}:${p.containerPort}`)).join(', ') || 'no published port'}`,
      owner: `docker/${node}`,
    });
    for (const rule of [...baseRules(), hairpinJump()]) {
      const check = rule.map((a) => (a === '-A' ? '-C' : a));
      const r = await this.runner.run({ argv: [iptablesTool(this.iptables, 'iptables'), '-w', ...check], netns: nodeNs, why: 'is the Docker rule there?', readOnly: true, okExit: [1] });
      if (r.exitCode !== 0) await this.runner.run({ argv: [iptablesTool(this.iptables, 'iptables'), '-w', ...rule], netns: nodeNs, why: `Docker base rule on ${node}`, owner: `docker/${node}` });
    }
  }

  async run(o: RunOptions): Promise<DockerContainer> {
    validateContainerName(o.name);
    if (existsSync(this.file(o.node, o.name))) throw new DockerUsageError(`the container name ${JSON.stringify(o.name)} is already in use on ${o.node} (./kubelab docker rm -f ${o.name})`);
    if (o.ports.length && o.network.kind !== 'bridge') throw new DockerUsageError(`-p needs --network bridge: in ${o.network.kind} mode there is nothing to publish (as Docker, which ignores it)`);
    const image = await this.images.runnable(o.image); // a missing image fails here, before any change
    const nodeNs = hostNetns(this.cluster, o.node);
    if (!existsSync(`/run/netns/${nodeNs}`)) throw new DockerUsageError(`node ${o.node} does not exist in cluster ${this.cluster}`);
    const c: DockerContainer = { name: o.name, node: o.node, image: o.image, argv: o.command, network: o.network, netnsPath: '', ports: o.ports, created: new Date().toISOString() };
    const owner = `docker/${o.node}/${o.name}`;
    switch (o.network.kind) {
      case 'host':
        c.netnsPath = `/run/netns/${nodeNs}`;
        break;
      case 'container': {
        const other = this.get(o.node, o.network.name);
        if (!this.running(other) || !other.containerPid) throw new DockerUsageError(`container ${o.network.name} is not running: cannot join its network namespace`);
        c.netnsPath = `/proc/${other.containerPid}/ns/net`;
        break;
      }
      case 'none':
      case 'bridge': {
        c.netns = dockerNetns(this.cluster, o.node, o.name);
        c.netnsPath = `/run/netns/${c.netns}`;
        this.save(c); // write-ahead: `rm` and `down` can undo a half-made container
        await this.runner.run({ argv: ['ip', 'netns', 'add', c.netns], why: `network namespace of Docker container ${o.name}`, owner });
        if (o.network.kind === 'none') {
          await this.runner.run({ argv: ['ip', 'link', 'set', 'lo', 'up'], netns: c.netns, why: 'none mode: only loopback', owner });
          break;
        }
        await this.ensureBridge(o.node);
        c.ip = allocateAddress(this.list(o.node).map((x) => x.ip).filter((x): x is string => !!x));
        c.hostVeth = dockerHostVeth(o.node, o.name);
        this.save(c);
        const b = attachBatch(c.netns, c.hostVeth, c.ip);
        await this.runner.run({ argv: ['ip', '-batch', '-'], netns: nodeNs, input: b.node, why: `veth of ${o.name} into docker0`, owner });
        await this.runner.run({ argv: ['ip', '-batch', '-'], netns: c.netns, input: b.container, why: `${o.name}: ${c.ip}/16, default route via docker0`, owner });
        break;
      }
    }
    this.save(c);
    const dir = path.join(this.dir, o.node, '.containers', o.name);
    const layout = detectCgroups();
    const prepared = prepareContainer({
      dir,
      layers: image.layers,
      image: image.config,
      container: { name: o.name, command: o.command.length ? o.command : undefined, env: (o.env ?? []).map((e) => ({ name: e.split('=')[0]!, value: e.slice(e.indexOf('=') + 1) })) },
      options: { path: 'docker run' },
      hostname: o.network.kind === 'host' ? o.node : o.name.slice(0, 63),
      netns: c.netnsPath,
      cgroup: { layout, rel: `kubelab/${this.cluster}/docker/${o.node}-${o.name}`, settings: cgroupSettings({ limits: { ...(o.memory ? { memory: o.memory } : {}), ...(o.cpus ? { cpu: o.cpus } : {}) } }, '--memory/--cpus') },
      owner,
      why: `docker run ${o.name} (${o.image}) on ${o.node}, network ${o.network.kind}`,
    });
    const child = this.runner.spawn(prepared.cmd, { env: { [OWNER_ENV]: this.cluster, PATH: process.env.PATH ?? '/usr/bin:/bin' }, logFile: path.join(this.dir, o.node, `${o.name}.log`) });
    child.unref();
    const st = startTime(child.pid!);
    if (st !== undefined) c.shim = { pid: child.pid!, startTime: st };
    await waitFor(() => existsSync(prepared.pidFile) || !this.running(c), 5000, 5);
    if (existsSync(prepared.pidFile)) c.containerPid = Number(readFileSync(prepared.pidFile, 'utf8').trim());
    this.save(c);
    if (c.ports.length) await this.syncRules(o.node);
    return c;
  }

  logs(node: string, name: string): string {
    this.get(node, name);
    const f = path.join(this.dir, node, `${name}.log`);
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }

  /** Stops the container (SIGTERM, then SIGKILL after `graceMs`) and removes every trace of it. */
  async remove(node: string, name: string, opts: { force?: boolean; graceMs?: number } = {}): Promise<void> {
    const c = this.get(node, name);
    if (this.running(c) && !opts.force) throw new DockerUsageError(`container ${name} is running: stop it first or use -f`);
    if (c.shim) await stopProcess(c.shim, opts.graceMs ?? 10_000);
    const owner = `docker/${node}/${name}`;
    if (c.hostVeth) await this.runner.run({ argv: ['ip', 'link', 'del', c.hostVeth], netns: hostNetns(this.cluster, node), why: `remove ${name}'s veth`, owner, okStderr: /Cannot find device/ });
    if (c.netns) await this.runner.run({ argv: ['ip', 'netns', 'delete', c.netns], why: `remove ${name}'s network namespace`, owner, okStderr: /No such file/ });
    removeCgroupTree(detectCgroups(), `kubelab/${this.cluster}/docker/${node}-${name}`);
    rmSync(path.join(this.dir, node, '.containers', name), { recursive: true, force: true });
    rmSync(path.join(this.dir, node, `${name}.log`), { force: true });
    rmSync(this.file(node, name), { force: true });
    if (c.ports.length) await this.syncRules(node);
  }
}
