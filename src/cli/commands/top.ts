// `kubelab top pods`: CPU and memory of each container, read from its cgroup (as metrics-server
// reads the kubelet's cAdvisor numbers), with the CFS throttling a CPU limit causes. CPU is a rate:
// two samples half a second apart.
import type { Pod } from '../../api/types.ts';
import { containerCgroupPath, detectCgroups, readCgroupStats, type CgroupStats } from '../../runtime/cgroups.ts';
import { formatBytes, table } from '../printers.ts';
import { clusterName, connect, out } from '../context.ts';

export function containerStats(cluster: string, pod: Pod, container: string): CgroupStats | undefined {
  if (!pod.status?.qosClass || !pod.metadata.uid) return undefined;
  return readCgroupStats(detectCgroups(), containerCgroupPath(cluster, pod.status.qosClass, pod.metadata.uid, container));
}

export async function topPodsCommand(opts: { name?: string; namespace?: string; allNamespaces?: boolean }): Promise<void> {
  const cluster = clusterName(opts);
  const client = connect(cluster);
  const pods = (await client.list<Pod>('Pod', opts.allNamespaces ? {} : { namespace: opts.namespace ?? 'default' })).items ?? [];
  const targets = pods.flatMap((p) => (p.status?.containerStatuses ?? []).filter((c) => c.state.running).map((c) => ({ pod: p, container: c.name })));
  const first = targets.map((x) => containerStats(cluster, x.pod, x.container));
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, 500));
  const elapsedNs = Number(process.hrtime.bigint() - t0);
  const rows = targets.map((x, i) => {
    const a = first[i];
    const b = containerStats(cluster, x.pod, x.container);
    const cpu = a && b ? Math.round(((b.cpuUsageNs - a.cpuUsageNs) / elapsedNs) * 1000) : 0;
    return [
      ...(opts.allNamespaces ? [x.pod.metadata.namespace ?? 'default'] : []),
      x.pod.metadata.name,
      x.container,
      `${cpu}m`,
      b ? formatBytes(b.memoryBytes) : '-',
      b ? `${b.nrThrottled}/${b.nrPeriods}` : '-',
      b?.memoryLimitBytes ? formatBytes(b.memoryLimitBytes) : '-',
    ];
  });
  out(table([[...(opts.allNamespaces ? ['NAMESPACE'] : []), 'NAME', 'CONTAINER', 'CPU', 'MEMORY', 'THROTTLED/PERIODS', 'MEM LIMIT'], ...rows]));
}
