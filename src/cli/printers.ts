// How objects look on a terminal: kubectl's tables (`get`, `-o wide`) and a readable `describe`.
import type { CgroupStats } from '../runtime/cgroups.ts';
import { stringify } from 'yaml';
import type { KubeObject, Node, Pod } from '../api/types.ts';

export function age(ts: string | undefined, now = Date.now()): string {
  if (!ts) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(ts)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h}h` : `${Math.floor(h / 24)}d`;
}

export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('').trimEnd()).join('\n') + '\n';
}

/** The STATUS column of `kubectl get pods`: the reason of the first container that is not running. */
export function podStatusText(p: Pod): string {
  if (p.metadata.deletionTimestamp) return 'Terminating';
  for (const cs of p.status?.containerStatuses ?? []) {
    if (cs.state.waiting && cs.state.waiting.reason !== 'ContainerCreating') return cs.state.waiting.reason;
    if (cs.state.terminated && p.status?.phase !== 'Succeeded') return cs.state.terminated.reason;
  }
  if (p.status?.phase === 'Pending' && p.spec.nodeName && p.status?.conditions) return 'ContainerCreating';
  return p.status?.phase ?? 'Pending';
}

function podRow(p: Pod, wide: boolean, allNs: boolean): string[] {
  const cs = p.status?.containerStatuses ?? [];
  const ready = `${cs.filter((c) => c.ready).length}/${p.spec.containers.length}`;
  const restarts = String(cs.reduce((n, c) => n + c.restartCount, 0));
  const row = [p.metadata.name, ready, podStatusText(p), restarts, age(p.metadata.creationTimestamp)];
  if (wide) row.push(p.status?.podIP ?? '<none>', p.spec.nodeName ?? '<none>');
  return allNs ? [p.metadata.namespace ?? '', ...row] : row;
}

function nodeRow(n: Node, wide: boolean): string[] {
  const ready = n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  const roles = Object.keys(n.metadata.labels ?? {}).filter((k) => k.startsWith('node-role.kubernetes.io/')).map((k) => k.split('/')[1]).join(',') || '<none>';
  const row = [n.metadata.name, ready ? 'Ready' : 'NotReady', roles, age(n.metadata.creationTimestamp), 'v1.30.0-kubelab'];
  if (wide) row.push(n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '<none>', n.spec.podCIDR ?? '<none>');
  return row;
}

export function printTable(kind: string, items: KubeObject[], opts: { wide: boolean; allNamespaces: boolean }): string {
  if (items.length === 0) return '';
  const ns = opts.allNamespaces ? ['NAMESPACE'] : [];
  switch (kind) {
    case 'Pod':
      return table([
        [...ns, 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', ...(opts.wide ? ['IP', 'NODE'] : [])],
        ...items.map((p) => podRow(p as Pod, opts.wide, opts.allNamespaces)),
      ]);
    case 'Node':
      return table([['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION', ...(opts.wide ? ['INTERNAL-IP', 'POD-CIDR'] : [])], ...items.map((n) => nodeRow(n as Node, opts.wide))]);
    case 'Service':
      return table([
        [...ns, 'NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE'],
        ...items.map((s) => [
          ...(opts.allNamespaces ? [s.metadata.namespace ?? ''] : []),
          s.metadata.name,
          s.spec?.type ?? 'ClusterIP',
          s.spec?.clusterIP ?? '<none>',
          s.spec?.type === 'ExternalName' ? s.spec.externalName : (s.status?.loadBalancer?.ingress ?? []).map((i: any) => i.ip).join(',') || (s.spec?.type === 'LoadBalancer' ? '<pending>' : '<none>'),
          (s.spec?.ports ?? []).map((p: any) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',') || '<none>',
          age(s.metadata.creationTimestamp),
        ]),
      ]);
    case 'Endpoints':
      return table([
        [...ns, 'NAME', 'ENDPOINTS', 'AGE'],
        ...items.map((e) => {
          const list = ((e.subsets as any[]) ?? []).flatMap((s) => (s.addresses ?? []).flatMap((a: any) => (s.ports ?? []).map((p: any) => `${a.ip}:${p.port}`)));
          return [...(opts.allNamespaces ? [e.metadata.namespace ?? ''] : []), e.metadata.name, list.length ? list.slice(0, 3).join(',') + (list.length > 3 ? ` + ${list.length - 3} more...` : '') : '<none>', age(e.metadata.creationTimestamp)];
        }),
      ]);
    case 'Deployment':
      return table([
        [...ns, 'NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE'],
        ...items.map((d) => [...(opts.allNamespaces ? [d.metadata.namespace ?? ''] : []), d.metadata.name, `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 1}`, String(d.status?.updatedReplicas ?? 0), String(d.status?.availableReplicas ?? 0), age(d.metadata.creationTimestamp)]),
      ]);
    case 'ReplicaSet':
      return table([
        [...ns, 'NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE'],
        ...items.map((r) => [...(opts.allNamespaces ? [r.metadata.namespace ?? ''] : []), r.metadata.name, String(r.spec?.replicas ?? 1), String(r.status?.replicas ?? 0), String(r.status?.readyReplicas ?? 0), age(r.metadata.creationTimestamp)]),
      ]);
    case 'DaemonSet':
      return table([
        [...ns, 'NAME', 'DESIRED', 'CURRENT', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE'],
        ...items.map((d) => [...(opts.allNamespaces ? [d.metadata.namespace ?? ''] : []), d.metadata.name, String(d.status?.desiredNumberScheduled ?? 0), String(d.status?.currentNumberScheduled ?? 0), String(d.status?.numberReady ?? 0), String(d.status?.updatedNumberScheduled ?? 0), String(d.status?.numberAvailable ?? 0), age(d.metadata.creationTimestamp)]),
      ]);
    case 'Namespace':
      return table([['NAME', 'STATUS', 'AGE'], ...items.map((n) => [n.metadata.name, (n.status as any)?.phase ?? 'Active', age(n.metadata.creationTimestamp)])]);
    default:
      return table([[...ns, 'NAME', 'AGE'], ...items.map((o) => [...(opts.allNamespaces ? [o.metadata.namespace ?? ''] : []), o.metadata.name, age(o.metadata.creationTimestamp)])]);
  }
}

export function printObjects(items: KubeObject[], format: 'json' | 'yaml', asList: boolean): string {
  const value = asList ? { apiVersion: 'v1', kind: 'List', items } : items[0];
  return format === 'json' ? JSON.stringify(value, null, 2) + '\n' : stringify(value);
}

export function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)}Gi`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)}Mi`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)}Ki`;
  return `${n}B`;
}

const indent = (text: string, n = 2) => text.split('\n').map((l) => ' '.repeat(n) + l).join('\n');

/** A container's cgroup numbers, when the caller can read them (the embedded provider can). */
export type StatsOf = (pod: Pod, container: string) => CgroupStats | undefined;

export function describe(obj: KubeObject, statsOf?: StatsOf): string {
  const lines: string[] = [];
  const m = obj.metadata;
  lines.push(`Name:         ${m.name}`);
  if (m.namespace) lines.push(`Namespace:    ${m.namespace}`);
  lines.push(`Labels:       ${Object.entries(m.labels ?? {}).map(([k, v]) => `${k}=${v}`).join('\n              ') || '<none>'}`);
  lines.push(`Annotations:  ${Object.entries(m.annotations ?? {}).map(([k, v]) => `${k}: ${v}`).join('\n              ') || '<none>'}`);
  lines.push(`Created:      ${m.creationTimestamp}`);
  if (obj.kind === 'Pod') {
    const p = obj as Pod;
    lines.push(`Node:         ${p.spec.nodeName ?? '<none>'}${p.status?.hostIP ? `/${p.status.hostIP}` : ''}`);
    lines.push(`Status:       ${podStatusText(p)}`);
    lines.push(`IP:           ${p.status?.podIP ?? '<none>'}`);
    if (p.status?.message) lines.push(`Message:      ${p.status.message}`);
    lines.push('Containers:');
    for (const c of p.spec.containers) {
      const cs = p.status?.containerStatuses?.find((s) => s.name === c.name);
      lines.push(`  ${c.name}:`);
      lines.push(`    Image:          ${c.image}`);
      if (c.command) lines.push(`    Command:        ${c.command.join(' ')}`);
      if (c.args) lines.push(`    Args:           ${c.args.join(' ')}`);
      for (const port of c.ports ?? []) lines.push(`    Port:           ${port.containerPort}/${port.protocol ?? 'TCP'}${port.name ? ` (${port.name})` : ''}`);
      if (cs) {
        const [stateName, detail] = Object.entries(cs.state)[0] ?? ['unknown', {}];
        lines.push(`    State:          ${stateName[0]!.toUpperCase()}${stateName.slice(1)}`);
        for (const [k, v] of Object.entries(detail ?? {})) lines.push(`      ${k}: ${v}`);
        if (cs.lastState?.terminated) lines.push(`    Last State:     Terminated (${cs.lastState.terminated.reason}, exit ${cs.lastState.terminated.exitCode})`);
        lines.push(`    Ready:          ${cs.ready}`);
        lines.push(`    Restart Count:  ${cs.restartCount}`);
        if (cs.pid) lines.push(`    PID on node:    ${cs.pid}`);
      }
      const res = c.resources as { limits?: Record<string, string>; requests?: Record<string, string> } | undefined;
      for (const kind of ['limits', 'requests'] as const) {
        const list = Object.entries(res?.[kind] ?? {});
        if (list.length) lines.push(`    ${kind[0]!.toUpperCase()}${kind.slice(1)}:${' '.repeat(15 - kind.length)}${list.map(([k, v]) => `${k}=${v}`).join(', ')}`);
      }
      const st = cs?.state.running ? statsOf?.(p, c.name) : undefined;
      if (st) {
        lines.push(`    CPU used:       ${(st.cpuUsageNs / 1e9).toFixed(2)}s, throttled in ${st.nrThrottled} of ${st.nrPeriods} periods (${(st.throttledNs / 1e9).toFixed(2)}s)`);
        lines.push(`    Memory:         ${formatBytes(st.memoryBytes)} of ${st.memoryLimitBytes === null ? 'no limit' : formatBytes(st.memoryLimitBytes)}${st.oomKills ? `, ${st.oomKills} OOM kill(s)` : ''}`);
      }
      for (const kind of ['readinessProbe', 'livenessProbe', 'startupProbe'] as const) {
        const pr = c[kind];
        if (!pr) continue;
        const how = pr.httpGet ? `http-get :${pr.httpGet.port}${pr.httpGet.path ?? '/'}` : pr.tcpSocket ? `tcp-socket :${pr.tcpSocket.port}` : `exec [${pr.exec?.command.join(' ')}]`;
        lines.push(`    ${kind.replace('Probe', '')}:${' '.repeat(16 - kind.length + 5)}${how} delay=${pr.initialDelaySeconds ?? 0}s period=${pr.periodSeconds ?? 10}s #failure=${pr.failureThreshold ?? 3}`);
      }
    }
    lines.push('Conditions:');
    for (const c of p.status?.conditions ?? []) lines.push(`  ${c.type.padEnd(18)}${c.status}`);
    if (p.status?.qosClass) lines.push(`QoS Class:    ${p.status.qosClass}`);
    if (p.spec.nodeSelector) lines.push(`Node-Selectors: ${Object.entries(p.spec.nodeSelector).map(([k, v]) => `${k}=${v}`).join(',')}`);
  } else if (obj.kind === 'Node') {
    const n = obj as Node;
    lines.push(`PodCIDR:      ${n.spec.podCIDR ?? '<none>'}`);
    lines.push(`Taints:       ${(n.spec.taints ?? []).map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`).join(', ') || '<none>'}`);
    lines.push('Addresses:');
    for (const a of n.status?.addresses ?? []) lines.push(`  ${a.type}: ${a.address}`);
    lines.push('Conditions:');
    for (const c of n.status?.conditions ?? []) lines.push(`  ${c.type.padEnd(10)}${c.status}  ${c.reason ?? ''}  ${c.lastHeartbeatTime ?? ''}`);
  } else {
    if (obj.spec) lines.push(`Spec:\n${indent(stringify(obj.spec).trimEnd())}`);
    if (obj.status) lines.push(`Status:\n${indent(stringify(obj.status).trimEnd())}`);
  }
  return lines.join('\n') + '\n';
}
