import test from 'ava';
import type { KubeObject, Pod } from '../../../src/api/types.ts';
import { deletionOrder, HASH_LABEL, reconcileDeployment, reconcileReplicaSet, REVISION, rollingParams, templateHash } from '../../../src/controllers/workloads.ts';

const deploy = (replicas: number, surge?: number | string, unavailable?: number | string, args: string[] = []): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default', uid: 'd1' },
  spec: { replicas, selector: { matchLabels: { app: 'web' } }, strategy: { rollingUpdate: { maxSurge: surge, maxUnavailable: unavailable } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'agnhost', args }] } } },
});
const pod = (name: string, ready: boolean, node = 'node1', created = '2026-01-01T00:00:00Z'): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', creationTimestamp: created },
  spec: { containers: [], ...(node ? { nodeName: node } : {}) },
  status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: '2026-01-01T00:00:00Z' }] },
});
const rs = (d: KubeObject, replicas: number, revision: number): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: { name: `web-${templateHash(d.spec.template)}`, labels: { [HASH_LABEL]: templateHash(d.spec.template) }, annotations: { [REVISION]: String(revision) } },
  spec: { replicas },
});

// Kubernetes: maxSurge rounds up, maxUnavailable rounds down; the defaults are 25% each.
for (const [replicas, surge, unavailable, want] of [
  [10, undefined, undefined, { maxSurge: 3, maxUnavailable: 2 }],
  [3, '25%', '25%', { maxSurge: 1, maxUnavailable: 0 }],
  [4, 1, 0, { maxSurge: 1, maxUnavailable: 0 }],
  [5, '50%', '50%', { maxSurge: 3, maxUnavailable: 2 }],
] as const) {
  test(`rolling parameters for ${replicas} replicas, surge ${surge}, unavailable ${unavailable}`, (t) => {
    t.deepEqual(rollingParams(deploy(replicas, surge, unavailable)), want);
  });
}

test('a ReplicaSet deletes unscheduled, then unready, then the newest ready pods first', (t) => {
  const order = deletionOrder([pod('old-ready', true, 'node1', '2026-01-01T00:00:00Z'), pod('new-ready', true, 'node1', '2026-01-02T00:00:00Z'), pod('unready', false), pod('unscheduled', false, '')]);
  t.deepEqual(order.map((p) => p.metadata.name), ['unscheduled', 'unready', 'new-ready', 'old-ready']);
  t.deepEqual(reconcileReplicaSet({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'x' }, spec: { replicas: 3 } }, [pod('a', true)]), { create: 2, delete: [] });
});

test('a new template makes a new ReplicaSet at the next revision, surging by maxSurge', (t) => {
  const v1 = deploy(3, 1, 0);
  const v2 = deploy(3, 1, 0, ['--x']);
  const steps = reconcileDeployment(v2, [{ rs: rs(v1, 3, 1), pods: [pod('a', true), pod('b', true), pod('c', true)] }], Date.now());
  t.deepEqual(steps, [{ kind: 'create-rs', name: `web-${templateHash(v2.spec.template)}`, hash: templateHash(v2.spec.template), revision: 2, replicas: 1 }]);
});

test('with maxUnavailable 0 an old ReplicaSet shrinks only as new pods become ready', (t) => {
  const v1 = deploy(3, 1, 0);
  const v2 = deploy(3, 1, 0, ['--x']);
  const old = { rs: rs(v1, 3, 1), pods: [pod('a', true), pod('b', true), pod('c', true)] };
  // The new pod is not ready yet: nothing may go.
  t.deepEqual(reconcileDeployment(v2, [old, { rs: rs(v2, 1, 2), pods: [pod('n1', false)] }], Date.now()), []);
  // It is ready: one old pod may go.
  t.deepEqual(reconcileDeployment(v2, [old, { rs: rs(v2, 1, 2), pods: [pod('n1', true)] }], Date.now()), [{ kind: 'scale', rs: old.rs.metadata.name, replicas: 2 }]);
});

test('a rollback makes the old ReplicaSet the newest revision', (t) => {
  const v1 = deploy(3, 1, 0);
  const v2 = deploy(3, 1, 0, ['--x']);
  const steps = reconcileDeployment(v1, [{ rs: rs(v1, 0, 1), pods: [] }, { rs: rs(v2, 3, 2), pods: [pod('a', true), pod('b', true), pod('c', true)] }], Date.now());
  t.deepEqual(steps[0], { kind: 'revision', rs: `web-${templateHash(v1.spec.template)}`, revision: 3 });
  t.deepEqual(steps[1], { kind: 'scale', rs: `web-${templateHash(v1.spec.template)}`, replicas: 1 });
});
