import test from 'ava';
import { SpecError } from '../../../src/runtime/spec/errors.ts';
import { podQOSClass, type QOSClass, type QOSPodSpec } from '../../../src/runtime/spec/qos.ts';
import type { ResourceRequirements } from '../../../src/runtime/spec/resources.ts';

const c = (resources?: ResourceRequirements) => ({ name: 'c', resources });

// The first five are the examples of "Configure Quality of Service for Pods"; the rest follow the
// rules it states (and kubelet's GetPodQOS implements).
const CASES: [string, QOSPodSpec, QOSClass][] = [
  [
    'qos-demo: cpu and memory requests equal limits',
    { containers: [c({ limits: { memory: '200Mi', cpu: '700m' }, requests: { memory: '200Mi', cpu: '700m' } })] },
    'Guaranteed',
  ],
  [
    'limits without requests: requests default to the limits',
    { containers: [c({ limits: { memory: '200Mi', cpu: '700m' } })] },
    'Guaranteed',
  ],
  ['qos-demo-2: memory request below its limit', { containers: [c({ limits: { memory: '200Mi' }, requests: { memory: '100Mi' } })] }, 'Burstable'],
  ['qos-demo-3: no requests or limits', { containers: [c()] }, 'BestEffort'],
  [
    'qos-demo-4: one container with a memory request, one with nothing',
    { containers: [c({ requests: { memory: '200Mi' } }), c()] },
    'Burstable',
  ],
  [
    'two Guaranteed containers',
    {
      containers: [c({ limits: { cpu: '1', memory: '1Gi' } }), c({ limits: { cpu: '100m', memory: '64Mi' }, requests: { cpu: '100m', memory: '64Mi' } })],
    },
    'Guaranteed',
  ],
  [
    'equal values written in different units still match',
    { containers: [c({ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '1000m', memory: '1024Mi' } })] },
    'Guaranteed',
  ],
  ['a cpu limit alone (request defaulted) is not enough for Guaranteed', { containers: [c({ limits: { cpu: '1' } })] }, 'Burstable'],
  [
    'a Guaranteed container beside a BestEffort one',
    { containers: [c({ limits: { cpu: '1', memory: '1Gi' } }), c()] },
    'Burstable',
  ],
  [
    'init containers count: a BestEffort init container spoils Guaranteed',
    { containers: [c({ limits: { cpu: '1', memory: '1Gi' } })], initContainers: [c()] },
    'Burstable',
  ],
  [
    'init containers count: requests only in an init container',
    { containers: [c()], initContainers: [c({ requests: { cpu: '100m' } })] },
    'Burstable',
  ],
  [
    'a Guaranteed init container beside a Guaranteed container',
    { containers: [c({ limits: { cpu: '1', memory: '1Gi' } })], initContainers: [c({ limits: { cpu: '500m', memory: '128Mi' } })] },
    'Guaranteed',
  ],
  ['zero requests count as none', { containers: [c({ requests: { cpu: '0', memory: '0' } })] }, 'BestEffort'],
  [
    'zero limits count as none',
    { containers: [c({ limits: { cpu: '0', memory: '0' }, requests: { cpu: '0', memory: '0' } })] },
    'BestEffort',
  ],
  ['ephemeral-storage does not count', { containers: [c({ requests: { 'ephemeral-storage': '1Gi' }, limits: { 'ephemeral-storage': '1Gi' } })] }, 'BestEffort'],
  [
    'hugepages do not count',
    { containers: [c({ limits: { cpu: '1', memory: '1Gi', 'hugepages-2Mi': '100Mi' }, requests: { 'hugepages-2Mi': '100Mi' } })] },
    'Guaranteed',
  ],
  [
    'cpu request below its limit, memory equal',
    { containers: [c({ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m', memory: '1Gi' } })] },
    'Burstable',
  ],
];

for (const [name, spec, expected] of CASES) {
  test(`${expected}: ${name}`, (t) => t.is(podQOSClass(spec), expected));
}

test('invalid resources are reported with the container path', (t) => {
  const err = t.throws(() => podQOSClass({ containers: [c(), c({ limits: { cpu: 'fast' } })] }), { instanceOf: SpecError });
  t.regex(err!.message, /^spec\.containers\[1\]\.resources\.limits\.cpu: invalid quantity "fast"/);
  const err2 = t.throws(() => podQOSClass({ containers: [c()], initContainers: [c({ requests: { cpu: '2' }, limits: { cpu: '1' } })] }));
  t.is(err2!.message, 'spec.initContainers[0].resources.requests.cpu: 2 must be less than or equal to cpu limit of 1');
});
