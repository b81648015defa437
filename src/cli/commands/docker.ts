// `kubelab docker ...`: the Docker-shaped engine of src/docker on one node, for the seed lesson on
// Docker's networking (bridge, host, none, container:NAME, -p). Containers run with the same
// runtime as pods; their commands land in the cluster's transcript like every other change.
import { spawn } from 'node:child_process';
import os from 'node:os';
import { createRunner } from '../../driver/runner.ts';
import { DockerEngine } from '../../docker/engine.ts';
import { parseNetworkMode, parsePublish } from '../../docker/plan.ts';
import { paths } from '../../naming.ts';
import { readConfig } from '../../provider/config.ts';
import { RuntimeImages } from '../../runtime/images.ts';
import { enterArgs, environ } from '../../util/proc.ts';
import { table } from '../printers.ts';
import { clusterName, out } from '../context.ts';

function engine(opts: { name?: string; verbose?: boolean }): DockerEngine {
  const cluster = clusterName(opts);
  const cfg = readConfig(cluster);
  const runner = createRunner({ transcript: paths.transcript(cluster), component: 'cli/docker', echo: opts.verbose });
  return new DockerEngine(cluster, runner, new RuntimeImages(), cfg.iptablesBackend);
}

export async function dockerRun(image: string, command: string[], o: { name?: string; verbose?: boolean; cname?: string; node: string; network: string; publish: string[]; env: string[]; memory?: string; cpus?: string }): Promise<void> {
  const network = parseNetworkMode(o.network);
  const ports = o.publish.map(parsePublish);
  const name = o.cname ?? `c${Date.now().toString(36)}`;
  const c = await engine(o).run({ name, node: o.node, image, command, network, ports, env: o.env, memory: o.memory, cpus: o.cpus });
  out(`${c.name}\n`);
}

export async function dockerPs(o: { name?: string; node?: string; all?: boolean }): Promise<void> {
  const e = engine(o);
  const rows = e
    .list(o.node)
    .filter((c) => o.all || e.running(c))
    .map((c) => [
      c.name,
      c.node,
      c.image,
      JSON.stringify(c.argv.join(' ').slice(0, 30)),
      e.running(c) ? 'Up' : 'Exited',
      c.network.kind === 'container' ? `container:${c.network.name}` : c.network.kind,
      c.ip ?? '-',
      c.ports.map((p) => `${p.hostIP ?? '0.0.0.0'}:${p.hostPort}->${p.containerPort}/${p.protocol}`).join(', ') || '-',
    ]);
  out(table([['NAME', 'NODE', 'IMAGE', 'COMMAND', 'STATUS', 'NETWORK', 'IP', 'PORTS'], ...rows]));
}

export async function dockerRm(names: string[], o: { name?: string; node: string; force?: boolean; time?: string }): Promise<void> {
  const e = engine(o);
  for (const n of names) {
    await e.remove(o.node, n, { force: o.force, graceMs: Number(o.time ?? 10) * 1000 });
    out(`${n}\n`);
  }
}

export async function dockerLogs(name: string, o: { name?: string; node: string }): Promise<void> {
  out(engine(o).logs(o.node, name));
}

export async function dockerExec(name: string, argv: string[], o: { name?: string; node: string }): Promise<void> {
  const e = engine(o);
  const c = e.get(o.node, name);
  if (!e.running(c) || !c.containerPid) throw new Error(`container ${name} is not running`);
  const child = spawn('nsenter', [...enterArgs(c.containerPid), '--', ...argv], { stdio: 'inherit', env: Object.fromEntries(environ(c.containerPid)) });
  process.exitCode = await new Promise<number>((resolve) => {
    child.on('exit', (code, s) => resolve(code ?? 128 + (s ? os.constants.signals[s] : 0)));
    child.on('error', () => resolve(127));
  });
}

export async function dockerInspect(name: string, o: { name?: string; node: string }): Promise<void> {
  const e = engine(o);
  const c = e.get(o.node, name);
  out(JSON.stringify({ ...c, running: e.running(c) }, null, 2) + '\n');
}
