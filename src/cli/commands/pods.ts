// `exec` and `logs`: into a pod's container, and out of its log. In the embedded provider the
// container is a process on this host: exec joins its namespaces and working directory with nsenter, with the
// container's own environment, as `docker exec` does.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Pod } from '../../api/types.ts';
import { paths } from '../../naming.ts';
import { enterArgs, environ } from '../../util/proc.ts';
import { clusterName, connect } from '../context.ts';

async function containerOf(opts: { name?: string; namespace?: string; container?: string }, podName: string) {
  const cluster = clusterName(opts);
  const pod = await connect(cluster).get<Pod>('Pod', podName, opts.namespace ?? 'default');
  const cname = opts.container ?? pod.spec.containers[0]!.name;
  const spec = pod.spec.containers.find((c) => c.name === cname);
  if (!spec) throw new Error(`container ${cname} is not valid for pod ${podName} (containers: ${pod.spec.containers.map((c) => c.name).join(', ')})`);
  const status = pod.status?.containerStatuses?.find((c) => c.name === cname);
  return { cluster, pod, cname, status };
}

export async function execCommand(podName: string, argv: string[], opts: { name?: string; namespace?: string; container?: string }): Promise<void> {
  if (argv.length === 0) throw new Error('exec needs a command after --, e.g. ./kubelab exec web -- ip addr');
  let { pod, cname, status } = await containerOf(opts, podName);
  // A container the node has just started is running before its PID is reported: give the node
  // daemon a few seconds (it re-reports within one) rather than failing.
  for (const deadline = Date.now() + 10_000; status?.state.running && !status.pid && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 200));
    ({ pod, cname, status } = await containerOf(opts, podName));
  }
  if (!status?.state.running) {
    const why = status?.state.waiting?.reason ?? (status?.state.terminated ? `terminated: ${status.state.terminated.reason}` : (pod.status?.phase ?? 'Pending'));
    throw new Error(`container ${cname} of pod ${podName} is not running (${why})`);
  }
  if (!status.pid) throw new Error(`container ${cname} of pod ${podName} is running but its node has not reported its process yet: try again`);
  const env = Object.fromEntries(environ(status.pid));
  if (!env.PATH) throw new Error(`container ${cname} of pod ${podName} has ended`);
  const child = spawn('nsenter', [...enterArgs(status.pid), '--', ...argv], { stdio: 'inherit', env });
  const code = await new Promise<number>((resolve) => {
    child.on('exit', (c, s) => resolve(c ?? 128 + (s ? os.constants.signals[s] : 0)));
    child.on('error', () => resolve(127));
  });
  process.exitCode = code;
}

export async function logsCommand(podName: string, opts: { name?: string; namespace?: string; container?: string; follow?: boolean; tail?: string }): Promise<void> {
  const { cluster, pod, cname } = await containerOf(opts, podName);
  if (!pod.spec.nodeName) throw new Error(`pod ${podName} is not scheduled yet`);
  const file = path.join(paths.podDir(cluster, pod.spec.nodeName, pod.metadata.uid!), `${cname}.log`);
  if (!existsSync(file)) throw new Error(`container ${cname} of pod ${podName} has no log yet (${pod.status?.phase ?? 'Pending'})`);
  let text = readFileSync(file, 'utf8');
  if (opts.tail !== undefined) text = text.split('\n').slice(-(Number(opts.tail) + 1)).join('\n');
  process.stdout.write(text);
  if (!opts.follow) return;
  let offset = statSync(file).size;
  for (;;) {
    await new Promise((r) => setTimeout(r, 250));
    if (!existsSync(file)) return;
    const size = statSync(file).size;
    if (size > offset) {
      const fd = openSync(file, 'r');
      const buf = Buffer.alloc(size - offset);
      readSync(fd, buf, 0, buf.length, offset);
      closeSync(fd);
      process.stdout.write(buf);
      offset = size;
    }
  }
}
