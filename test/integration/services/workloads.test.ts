// Deployments, ReplicaSets and DaemonSets through the real cluster: replicas spread over the nodes,
// scale up and down, a rolling update that never drops below the replica count (maxUnavailable 0)
// with the service's endpoints following it live, rollback, and a DaemonSet that follows the nodes.
import { readFileSync } from 'node:fs';
import test from 'ava';
import type { ApiClient } from '../../../src/api/client.ts';
import type { Pod } from '../../../src/api/types.ts';
import { HASH_LABEL, REVISION } from '../../../src/controllers/workloads.ts';
import { waitFor } from '../../../src/util/proc.ts';
import { downCluster, isRoot, kubelab, randomName, REPO, rootOrSkip } from '../helpers.ts';

const name = randomName('wl');
let client: ApiClient;

const webPods = async () => (await client.list<Pod>('Pod', { labelSelector: 'app=web' })).items.filter((p) => !p.metadata.deletionTimestamp);
const readyEndpoints = async () => (((await client.find('Endpoints', 'web')) as any)?.subsets ?? []).flatMap((s: any) => s.addresses ?? []).length as number;

test.before(async () => {
  if (!isRoot()) return;
  await kubelab(name, ['up', '--nodes', '2']);
  const { apiClient } = await import('../../../src/provider/embedded/cluster.ts');
  client = apiClient(name);
  await kubelab(name, ['apply', '-f', `${REPO}/examples/deployment.yaml`]);
  await kubelab(name, ['rollout', 'status', 'deployment/web']);
});
test.after.always(async () => {
  if (isRoot()) await downCluster(name);
});

test.serial('a Deployment of 3 becomes 3 ready pods on both workers, none on the control plane', async (t) => {
  if (!rootOrSkip(t)) return;
  const pods = await webPods();
  t.is(pods.length, 3);
  t.deepEqual([...new Set(pods.map((p) => p.spec.nodeName))].sort(), ['node1', 'node2']);
  t.is(await readyEndpoints(), 3);
  const rs = (await client.list('ReplicaSet')).items;
  t.is(rs.length, 1);
  t.is(rs[0]!.metadata.annotations?.[REVISION], '1');
  t.true(pods.every((p) => p.metadata.labels?.[HASH_LABEL] === rs[0]!.metadata.labels?.[HASH_LABEL]));
});

test.serial('scale to 5 and to 1', async (t) => {
  if (!rootOrSkip(t)) return;
  await kubelab(name, ['scale', 'deployment/web', '--replicas', '5']);
  await kubelab(name, ['rollout', 'status', 'deployment/web']);
  t.is((await webPods()).length, 5);
  await kubelab(name, ['scale', 'deployment/web', '--replicas', '1']);
  t.true(await waitFor(async () => (await webPods()).length === 1, 60_000));
  await kubelab(name, ['scale', 'deployment/web', '--replicas', '3']);
  await kubelab(name, ['rollout', 'status', 'deployment/web']);
});

test.serial('a rolling update with maxUnavailable 0 never has fewer than 3 ready endpoints, and ends with only new pods', async (t) => {
  if (!rootOrSkip(t)) return;
  const before = new Set((await webPods()).map((p) => p.metadata.name));
  const manifest = readFileSync(`${REPO}/examples/deployment.yaml`, 'utf8').replace('args: [netexec, --http-port=8080]', 'args: [netexec, --http-port=8080, --udp-port=8082]');
  await kubelab(name, ['apply', '-f', '-'], { input: manifest });
  let min = Infinity;
  let done = false;
  const sampler = (async () => {
    while (!done) {
      min = Math.min(min, await readyEndpoints());
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  await kubelab(name, ['rollout', 'status', 'deployment/web', '--timeout', '180']);
  done = true;
  await sampler;
  t.true(min >= 3, `the fewest ready endpoints seen during the rollout: ${min}`);
  const after = await webPods();
  t.is(after.length, 3);
  t.false(after.some((p) => before.has(p.metadata.name)), 'only new pods');
  t.true(after.every((p) => p.spec.containers[0]!.args?.includes('--udp-port=8082')));
  const history = (await kubelab(name, ['rollout', 'history', 'deployment/web'])).stdout;
  t.regex(history, /^1 .*\n2 /m);
});

test.serial('rollback to revision 1', async (t) => {
  if (!rootOrSkip(t)) return;
  const r = await kubelab(name, ['rollout', 'undo', 'deployment/web', '--to-revision', '1']);
  t.regex(r.stdout, /rolled back to revision 1/);
  await kubelab(name, ['rollout', 'status', 'deployment/web', '--timeout', '180']);
  t.true(await waitFor(async () => (await webPods()).every((p) => !p.spec.containers[0]!.args?.includes('--udp-port=8082')) && (await webPods()).length === 3, 60_000));
  const sets = (await client.list('ReplicaSet')).items;
  const newest = sets.sort((a, b) => Number(b.metadata.annotations?.[REVISION]) - Number(a.metadata.annotations?.[REVISION]))[0]!;
  t.is(newest.metadata.annotations?.[REVISION], '3', 'the old template came back as the newest revision');
  t.is(newest.spec.replicas, 3);
});

test.serial('a DaemonSet runs one pod per worker, and one on a node that joins', async (t) => {
  if (!rootOrSkip(t)) return;
  const agents = async () => (await client.list<Pod>('Pod', { labelSelector: 'app=node-agent' })).items.filter((p) => !p.metadata.deletionTimestamp);
  t.deepEqual((await agents()).map((p) => p.spec.nodeName).sort(), ['node1', 'node2']);
  await kubelab(name, ['up', '--nodes', '3']);
  t.true(await waitFor(async () => (await agents()).map((p) => p.spec.nodeName).sort().join() === 'node1,node2,node3', 60_000));
});

test.serial('deleting a Deployment removes its ReplicaSets and pods', async (t) => {
  if (!rootOrSkip(t)) return;
  await kubelab(name, ['delete', 'deployment', 'web']);
  t.true(await waitFor(async () => (await webPods()).length === 0 && (await client.list('ReplicaSet')).items.length === 0, 60_000));
});
