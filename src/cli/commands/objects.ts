// `apply`, `create`, `get`, `describe`, `delete`: kubectl's verbs over the API.
import { containerStats } from './top.ts';
import { ApiError, type ApiClient } from '../../api/client.ts';
import { findKind, KINDS } from '../../api/kinds.ts';
import type { KubeObject } from '../../api/types.ts';
import { loadManifests, ManifestError } from '../../manifests/load.ts';
import { waitFor } from '../../util/proc.ts';
import { clusterName, connect, out } from '../context.ts';
import { describe, printObjects, printTable } from '../printers.ts';

const ORDER = ['Namespace', 'Node'];
const rank = (o: KubeObject) => (ORDER.includes(o.kind) ? ORDER.indexOf(o.kind) : ORDER.length);
const ref = (o: KubeObject) => `${o.kind.toLowerCase()}/${o.metadata.name}`;
const nsOf = (o: KubeObject, fallback: string) => o.metadata.namespace ?? fallback;

function kindOrThrow(word: string) {
  const info = findKind(word);
  if (!info) throw new Error(`the server doesn't have a resource type "${word}" (kubelab serves ${KINDS.map((k) => k.plural).join(', ')})`);
  return info;
}

/** kubectl's record of what was last applied: an apply compares the manifest with it, not with the live object. */
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

function lastApplied(o: KubeObject): string {
  const { metadata, ...rest } = o;
  const { [LAST_APPLIED]: _drop, ...annotations } = metadata.annotations ?? {};
  const meta = { ...metadata, annotations: Object.keys(annotations).length ? annotations : undefined };
  return JSON.stringify({ ...rest, metadata: meta });
}

/**
 * Checks every object with the server (a dry run) before writing any, so that one bad object in a
 * file leaves the cluster unchanged.
 */
async function preflightObjects(client: ApiClient, loaded: { object: KubeObject; file: string; line: number }[], namespace: string, mode: 'apply' | 'create') {
  const problems: string[] = [];
  const newNamespaces = new Set(loaded.filter((l) => l.object.kind === 'Namespace').map((l) => l.object.metadata.name));
  // Every object is checked at once (a lookup and a server-side dry run each), in parallel.
  const plans = await Promise.all(
    loaded.map(async ({ object, file, line }) => {
      const info = kindOrThrow(object.kind);
      const ns = info.namespaced ? nsOf(object, namespace) : undefined;
      const existing = await client.find(object.kind, object.metadata.name, ns);
      if (existing && mode === 'create') {
        problems.push(`${file}:${line}: ${info.plural} "${object.metadata.name}" already exists`);
        return { object, existing };
      }
      if (!existing && !(ns && newNamespaces.has(ns) && !(await client.find('Namespace', ns)))) {
        try {
          await client.create({ ...object, metadata: { ...object.metadata, ...(ns ? { namespace: ns } : {}) } }, { dryRun: true });
        } catch (e) {
          if (e instanceof ApiError) problems.push(`${file}:${line}: ${e.status.message}`);
          else throw e;
        }
      }
      return { object, existing };
    }),
  );
  if (problems.length) throw new ManifestError(problems);
  return plans;
}

export async function applyCommand(opts: { name?: string; filename: string[]; namespace?: string }, mode: 'apply' | 'create' = 'apply'): Promise<void> {
  // Manifests are checked before anything else, so a broken file is reported even with no cluster up.
  const loaded = loadManifests(opts.filename).sort((a, b) => rank(a.object) - rank(b.object));
  const client = connect(clusterName(opts));
  const namespace = opts.namespace ?? 'default';
  const plans = await preflightObjects(client, loaded, namespace, mode);
  for (const { object, existing } of plans) {
    const info = kindOrThrow(object.kind);
    const ns = info.namespaced ? nsOf(object, namespace) : undefined;
    const obj = { ...object, metadata: { ...object.metadata, ...(ns ? { namespace: ns } : {}) } };
    const applied = lastApplied(obj);
    const annotations = { ...obj.metadata.annotations, ...(mode === 'apply' ? { [LAST_APPLIED]: applied } : {}) };
    if (!existing) {
      await client.create({ ...obj, metadata: { ...obj.metadata, annotations } });
      out(`${ref(obj)} created\n`);
    } else if (existing.metadata.annotations?.[LAST_APPLIED] === applied) {
      out(`${ref(obj)} unchanged\n`);
    } else {
      // Fields the manifest sets replace the live ones; fields the server set (nodeName, defaults) stay.
      const spec = obj.spec === undefined ? existing.spec : { ...existing.spec, ...obj.spec };
      await client.update({ ...existing, spec, metadata: { ...existing.metadata, labels: obj.metadata.labels, annotations } });
      out(`${ref(obj)} configured\n`);
    }
  }
}

export async function getCommand(kind: string, names: string[], opts: { name?: string; namespace?: string; allNamespaces?: boolean; output?: string; selector?: string }): Promise<void> {
  const client = connect(clusterName(opts));
  const info = kindOrThrow(kind);
  const namespace = info.namespaced && !opts.allNamespaces ? (opts.namespace ?? 'default') : undefined;
  let items: KubeObject[];
  if (names.length) items = await Promise.all(names.map((n) => client.get(info.kind, n, namespace)));
  else items = (await client.list(info.kind, { namespace, labelSelector: opts.selector })).items;
  items.sort((a, b) => (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') || a.metadata.name.localeCompare(b.metadata.name));
  const format = opts.output;
  if (format === 'json' || format === 'yaml') return out(printObjects(items, format, names.length !== 1));
  if (format === 'name') return out(items.map((o) => `${info.kind.toLowerCase()}/${o.metadata.name}\n`).join(''));
  if (format && format !== 'wide') throw new Error(`unknown output format ${JSON.stringify(format)}: use wide, json, yaml or name`);
  if (items.length === 0) {
    process.stderr.write(namespace ? `No resources found in ${namespace} namespace.\n` : 'No resources found\n');
    return;
  }
  out(printTable(info.kind, items, { wide: format === 'wide', allNamespaces: !!opts.allNamespaces && info.namespaced }));
}

export async function describeCommand(kind: string, name: string, opts: { name?: string; namespace?: string }): Promise<void> {
  const client = connect(clusterName(opts));
  const info = kindOrThrow(kind);
  out(describe(await client.get(info.kind, name, info.namespaced ? (opts.namespace ?? 'default') : undefined), (pod, c) => containerStats(clusterName(opts), pod, c)));
}

export async function deleteCommand(
  kind: string | undefined,
  names: string[],
  opts: { name?: string; namespace?: string; filename?: string[]; wait: boolean; gracePeriod?: string; now?: boolean; ignoreNotFound?: boolean },
): Promise<void> {
  const client = connect(clusterName(opts));
  const targets: { kind: string; name: string; namespace?: string }[] = [];
  if (opts.filename?.length) {
    for (const { object } of loadManifests(opts.filename)) {
      const info = kindOrThrow(object.kind);
      targets.push({ kind: info.kind, name: object.metadata.name, namespace: info.namespaced ? nsOf(object, opts.namespace ?? 'default') : undefined });
    }
    targets.sort((a, b) => (a.kind === 'Namespace' ? 1 : 0) - (b.kind === 'Namespace' ? 1 : 0));
  } else {
    if (!kind || names.length === 0) throw new Error('delete needs KIND NAME... or -f FILE');
    const info = kindOrThrow(kind);
    for (const n of names) targets.push({ kind: info.kind, name: n, namespace: info.namespaced ? (opts.namespace ?? 'default') : undefined });
  }
  const grace = opts.now ? 1 : opts.gracePeriod !== undefined ? Number(opts.gracePeriod) : undefined;
  for (const t of targets) {
    try {
      await client.delete(t.kind, t.name, t.namespace, { gracePeriodSeconds: grace });
    } catch (e) {
      if (e instanceof ApiError && e.code === 404 && opts.ignoreNotFound) continue;
      throw e;
    }
    out(`${t.kind.toLowerCase()} "${t.name}" deleted\n`);
  }
  if (opts.wait) {
    for (const t of targets) {
      const gone = await waitFor(async () => !(await client.find(t.kind, t.name, t.namespace)), 120_000, 100);
      if (!gone) throw new Error(`${t.kind.toLowerCase()}/${t.name} is still terminating after 120 s`);
    }
  }
}
