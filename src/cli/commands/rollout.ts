// `scale` and `rollout status|history|undo`: kubectl's verbs for Deployments (and ReplicaSets).
import type { KubeObject } from '../../api/types.ts';
import { HASH_LABEL, REVISION } from '../../controllers/workloads.ts';
import { waitFor } from '../../util/proc.ts';
import { clusterName, connect, out } from '../context.ts';

function parseTarget(target: string): { kind: string; name: string } {
  const [kind, name] = target.split('/');
  const k = (kind ?? '').toLowerCase();
  const map: Record<string, string> = { deployment: 'Deployment', deployments: 'Deployment', deploy: 'Deployment', replicaset: 'ReplicaSet', rs: 'ReplicaSet', daemonset: 'DaemonSet', ds: 'DaemonSet' };
  if (!name || !map[k]) throw new Error(`expected deployment/NAME (or replicaset/NAME, daemonset/NAME), got ${JSON.stringify(target)}`);
  return { kind: map[k]!, name };
}

export async function scaleCommand(target: string, opts: { name?: string; namespace?: string; replicas: string }): Promise<void> {
  const { kind, name } = parseTarget(target);
  const replicas = Number(opts.replicas);
  if (!Number.isInteger(replicas) || replicas < 0) throw new Error(`--replicas must be a whole number >= 0 (got ${opts.replicas})`);
  if (kind === 'DaemonSet') throw new Error('a DaemonSet runs one pod per node; it cannot be scaled');
  await connect(clusterName(opts)).patch(kind, name, opts.namespace ?? 'default', { spec: { replicas } });
  out(`${kind.toLowerCase()}.apps/${name} scaled\n`);
}

async function replicaSetsOf(client: ReturnType<typeof connect>, d: KubeObject): Promise<KubeObject[]> {
  const all = (await client.list('ReplicaSet', { namespace: d.metadata.namespace })).items;
  return all
    .filter((rs) => rs.metadata.ownerReferences?.some((r) => r.uid === d.metadata.uid))
    .sort((a, b) => Number(a.metadata.annotations?.[REVISION] ?? 0) - Number(b.metadata.annotations?.[REVISION] ?? 0));
}

export async function rolloutCommand(action: string, target: string, opts: { name?: string; namespace?: string; toRevision?: string; timeout?: string }): Promise<void> {
  const { kind, name } = parseTarget(target);
  if (kind !== 'Deployment') throw new Error('rollout works on deployments here');
  const client = connect(clusterName(opts));
  const ns = opts.namespace ?? 'default';
  const d = await client.get(kind, name, ns);
  if (action === 'history') {
    out('REVISION  CHANGE\n');
    for (const rs of await replicaSetsOf(client, d)) out(`${(rs.metadata.annotations?.[REVISION] ?? '?').padEnd(10)}${rs.metadata.name} ${JSON.stringify(rs.spec.template.spec.containers.map((c: any) => [c.image, ...(c.args ?? [])].join(' ')))}\n`);
    return;
  }
  if (action === 'undo') {
    const sets = await replicaSetsOf(client, d);
    const current = sets.at(-1);
    const wanted = opts.toRevision ? sets.find((rs) => rs.metadata.annotations?.[REVISION] === opts.toRevision) : sets.filter((rs) => rs !== current).at(-1);
    if (!wanted) throw new Error(opts.toRevision ? `revision ${opts.toRevision} not found in the history of deployment/${name}` : `deployment/${name} has no previous revision`);
    const template = JSON.parse(JSON.stringify(wanted.spec.template));
    delete template.metadata?.labels?.[HASH_LABEL];
    await client.update({ ...d, spec: { ...d.spec, template } });
    out(`deployment.apps/${name} rolled back to revision ${wanted.metadata.annotations?.[REVISION]}\n`);
    return;
  }
  if (action === 'status') {
    const timeoutMs = Number(opts.timeout ?? 120) * 1000;
    let last = '';
    const done = await waitFor(async () => {
      const x = await client.get(kind, name, ns);
      const want = x.spec.replicas ?? 1;
      const s = x.status ?? {};
      const line = `${s.updatedReplicas ?? 0} of ${want} updated replicas are available (${s.availableReplicas ?? 0} available, ${s.replicas ?? 0} total)`;
      if (line !== last) process.stderr.write(`Waiting for deployment "${name}" rollout to finish: ${line}\n`);
      last = line;
      return (s.observedGeneration ?? 0) >= (x.metadata.generation ?? 1) && s.updatedReplicas === want && s.availableReplicas === want && s.replicas === want;
    }, timeoutMs, 250);
    if (!done) throw new Error(`deployment "${name}" did not finish rolling out within ${timeoutMs / 1000} s`);
    out(`deployment "${name}" successfully rolled out\n`);
    return;
  }
  throw new Error(`unknown rollout action ${action}: use status, history or undo`);
}
