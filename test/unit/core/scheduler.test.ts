import test from 'ava';
import type { Node, Pod } from '../../../src/api/types.ts';
import { schedule } from '../../../src/controllers/scheduler.ts';

const node = (name: string, extra: Partial<Node['spec']> = {}, labels: Record<string, string> = {}): Node => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
  spec: { podCIDR: '10.244.1.0/24', ...extra },
});
const pod = (spec: Partial<Pod['spec']> = {}): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec } });

test('spreads pods: the node with fewest pods wins', (t) => {
  t.deepEqual(schedule(pod(), [node('node1'), node('node2')], new Map([['node1', 3]])), { node: 'node2' });
});

test('nodeSelector picks the matching node', (t) => {
  t.deepEqual(schedule(pod({ nodeSelector: { disk: 'ssd' } }), [node('node1'), node('node2', {}, { disk: 'ssd' })], new Map([['node2', 9]])), { node: 'node2' });
});

test('a control-plane taint keeps pods off unless tolerated', (t) => {
  const control = node('control', { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] });
  const d = schedule(pod(), [control], new Map());
  t.true('unschedulable' in d && /untolerated taint/.test(d.unschedulable));
  t.deepEqual(schedule(pod({ tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }] }), [control], new Map()), { node: 'control' });
});

test('no fitting node gives the scheduler message with the reasons counted', (t) => {
  const d = schedule(pod({ nodeSelector: { gpu: 'yes' } }), [node('node1'), node('node2', { unschedulable: true })], new Map());
  t.deepEqual(d, { unschedulable: "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) were unschedulable." });
});
