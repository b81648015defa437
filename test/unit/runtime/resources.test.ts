import test from 'ava';
import { SpecError } from '../../../src/runtime/spec/errors.ts';
import {
  cgroupSettings,
  defaultRequests,
  milliCpuToQuota,
  milliCpuToShares,
  parseResources,
  sharesToWeight,
  type ResourceRequirements,
} from '../../../src/runtime/spec/resources.ts';

// kubelet's MilliCPUToShares: milli × 1024 / 1000, truncated, clamped to the kernel's [2, 262144].
const SHARES: [number, number][] = [
  [0, 2],
  [1, 2],
  [2, 2], // 2.048 → 2
  [100, 102], // 102.4
  [250, 256],
  [500, 512],
  [1000, 1024],
  [1500, 1536],
  [4000, 4096],
  [256000, 262144],
  [300000, 262144], // capped at MAX_SHARES
];
for (const [milli, shares] of SHARES) {
  test(`${milli}m cpu requested is ${shares} shares`, (t) => t.is(milliCpuToShares(milli), shares));
}

// kubelet's MilliCPUToQuota: milli × 100000 / 1000 µs per 100ms period, at least 1ms; 0 means no quota.
const QUOTAS: [number, number][] = [
  [0, 0],
  [1, 1000],
  [9, 1000],
  [10, 1000],
  [11, 1100],
  [100, 10000],
  [250, 25000],
  [1000, 100000],
  [2500, 250000],
];
for (const [milli, quota] of QUOTAS) {
  test(`${milli}m cpu limit is a quota of ${quota}µs`, (t) => t.is(milliCpuToQuota(milli), quota));
}

// runc/crun's linear map of [2, 262144] shares onto [1, 10000] weight: 1 + ((shares - 2) × 9999) / 262142.
const WEIGHTS: [number, number][] = [
  [2, 1],
  [102, 4], // 1 + 999900/262142 = 1 + 3.8
  [1024, 39], // 1 + 10218978/262142 = 1 + 38.98
  [2048, 79], // 1 + 20457954/262142 = 1 + 78.04
  [262144, 10000],
];
for (const [shares, weight] of WEIGHTS) {
  test(`${shares} shares is cpu.weight ${weight} (linear)`, (t) => t.is(sharesToWeight(shares), weight));
}

test('the quadratic conversion passes through its three documented points', (t) => {
  // runc PR 4785: a quadratic (in log2 shares) fitted to the minimum, the default and the maximum.
  t.is(sharesToWeight(2, 'quadratic'), 1);
  t.is(sharesToWeight(1024, 'quadratic'), 100);
  t.is(sharesToWeight(262144, 'quadratic'), 10000);
  t.is(sharesToWeight(0, 'quadratic'), 0);
  // Monotonic between them.
  let prev = 0;
  for (let s = 2; s <= 262144; s *= 2) {
    const w = sharesToWeight(s, 'quadratic');
    t.true(w >= prev, `${s} → ${w}`);
    prev = w;
  }
});

interface CgroupCase {
  name: string;
  resources?: ResourceRequirements;
  v1: Record<string, string>;
  v2: Record<string, string>;
}

const CGROUPS: CgroupCase[] = [
  {
    name: 'no resources: minimum shares, no quota, no memory limit',
    resources: undefined,
    v1: { 'cpu.shares': '2', 'cpu.cfs_period_us': '100000', 'cpu.cfs_quota_us': '-1', 'memory.limit_in_bytes': '-1' },
    v2: { 'cpu.weight': '1', 'cpu.max': 'max 100000', 'memory.max': 'max' },
  },
  {
    name: '100m cpu request and limit, 500Mi memory',
    resources: { requests: { cpu: '100m', memory: '500Mi' }, limits: { cpu: '100m', memory: '500Mi' } },
    v1: { 'cpu.shares': '102', 'cpu.cfs_period_us': '100000', 'cpu.cfs_quota_us': '10000', 'memory.limit_in_bytes': '524288000' },
    v2: { 'cpu.weight': '4', 'cpu.max': '10000 100000', 'memory.max': '524288000' },
  },
  {
    name: '1 cpu requested, no limits',
    resources: { requests: { cpu: '1' } },
    v1: { 'cpu.shares': '1024', 'cpu.cfs_period_us': '100000', 'cpu.cfs_quota_us': '-1', 'memory.limit_in_bytes': '-1' },
    v2: { 'cpu.weight': '39', 'cpu.max': 'max 100000', 'memory.max': 'max' },
  },
  {
    name: 'limits only: the request defaults to the limit',
    resources: { limits: { cpu: '500m', memory: '1Gi' } },
    v1: { 'cpu.shares': '512', 'cpu.cfs_period_us': '100000', 'cpu.cfs_quota_us': '50000', 'memory.limit_in_bytes': '1073741824' },
    v2: { 'cpu.weight': '20', 'cpu.max': '50000 100000', 'memory.max': '1073741824' },
  },
  {
    name: 'a tiny limit still gets the 1ms minimum quota',
    resources: { limits: { cpu: '1m' } },
    v1: { 'cpu.shares': '2', 'cpu.cfs_period_us': '100000', 'cpu.cfs_quota_us': '1000', 'memory.limit_in_bytes': '-1' },
    v2: { 'cpu.weight': '1', 'cpu.max': '1000 100000', 'memory.max': 'max' },
  },
  {
    name: 'numbers from YAML (cpu: 2, cpu: 0.5)',
    resources: { requests: { cpu: 0.5 }, limits: { cpu: 2 } },
    v1: { 'cpu.shares': '512', 'cpu.cfs_period_us': '100000', 'cpu.cfs_quota_us': '200000', 'memory.limit_in_bytes': '-1' },
    v2: { 'cpu.weight': '20', 'cpu.max': '200000 100000', 'memory.max': 'max' },
  },
  {
    name: 'a zero limit is no limit, as in kubelet',
    resources: { requests: { cpu: '0', memory: '0' }, limits: { cpu: '0', memory: '0' } },
    v1: { 'cpu.shares': '2', 'cpu.cfs_period_us': '100000', 'cpu.cfs_quota_us': '-1', 'memory.limit_in_bytes': '-1' },
    v2: { 'cpu.weight': '1', 'cpu.max': 'max 100000', 'memory.max': 'max' },
  },
  {
    name: 'a memory request alone sets nothing in the cgroup',
    resources: { requests: { memory: '64Mi', 'ephemeral-storage': '1Gi' } },
    v1: { 'cpu.shares': '2', 'cpu.cfs_period_us': '100000', 'cpu.cfs_quota_us': '-1', 'memory.limit_in_bytes': '-1' },
    v2: { 'cpu.weight': '1', 'cpu.max': 'max 100000', 'memory.max': 'max' },
  },
];

for (const c of CGROUPS) {
  test(`cgroup files: ${c.name}`, (t) => {
    const s = cgroupSettings(c.resources, 'spec.containers[0].resources');
    t.deepEqual(s.v1, c.v1);
    t.deepEqual(s.v2, c.v2);
    // The numeric view agrees with the files.
    t.is(String(s.cpuShares), c.v1['cpu.shares']);
    t.is(String(s.cpuQuotaUs), c.v1['cpu.cfs_quota_us']);
    t.is(s.memoryLimitBytes === null ? '-1' : String(s.memoryLimitBytes), c.v1['memory.limit_in_bytes']);
  });
}

test('cgroup v2 weight can use the quadratic conversion', (t) => {
  const s = cgroupSettings({ requests: { cpu: '1' } }, 'r', { weightFormula: 'quadratic' });
  t.is(s.v2['cpu.weight'], '100');
  t.is(s.v1['cpu.shares'], '1024');
});

test('the numeric view: millicores and bytes', (t) => {
  const s = cgroupSettings({ requests: { cpu: '250m' }, limits: { cpu: '1.5', memory: '128974848000m' } });
  t.is(s.cpuRequestMilli, 250);
  t.is(s.cpuLimitMilli, 1500);
  t.is(s.memoryLimitBytes, 128974848n);
  t.is(s.cpuPeriodUs, 100000);
  const none = cgroupSettings({});
  t.is(none.cpuLimitMilli, null);
  t.is(none.memoryLimitBytes, null);
});

test('defaulting copies limits to missing requests and keeps explicit ones', (t) => {
  t.deepEqual(defaultRequests({ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m' } }), {
    limits: { cpu: '1', memory: '1Gi' },
    requests: { cpu: '500m', memory: '1Gi' },
  });
  t.deepEqual(defaultRequests(undefined), { requests: {} });
  const parsed = parseResources({ limits: { memory: '1Gi' } });
  t.deepEqual(Object.keys(parsed.requests), ['memory']);
});

test('known names: cpu, memory, ephemeral-storage, hugepages-<size>', (t) => {
  t.notThrows(() =>
    parseResources({ limits: { cpu: '1', memory: '1Gi', 'ephemeral-storage': '2Gi', 'hugepages-2Mi': '100Mi', 'hugepages-1Gi': '2Gi' } }),
  );
});

const INVALID: [string, ResourceRequirements, string][] = [
  [
    'a request above its limit',
    { requests: { cpu: '2' }, limits: { cpu: '1' } },
    'spec.containers[0].resources.requests.cpu: 2 must be less than or equal to cpu limit of 1',
  ],
  [
    'a memory request above its limit, written in other units',
    { requests: { memory: '1.5Gi' }, limits: { memory: '1G' } },
    'spec.containers[0].resources.requests.memory: 1536Mi must be less than or equal to memory limit of 1G',
  ],
  [
    'an unknown resource name',
    { limits: { gpu: '1' } },
    'spec.containers[0].resources.limits.gpu: unknown resource "gpu": supported are cpu, memory, ephemeral-storage and hugepages-<size>',
  ],
  [
    'an extended resource',
    { requests: { 'nvidia.com/gpu': '1' } },
    'spec.containers[0].resources.requests.nvidia.com/gpu: unknown resource "nvidia.com/gpu": supported are cpu, memory, ephemeral-storage and hugepages-<size>',
  ],
  [
    'a hugepages name without a size',
    { limits: { 'hugepages-big': '1Gi' } },
    'spec.containers[0].resources.limits.hugepages-big: unknown resource "hugepages-big": supported are cpu, memory, ephemeral-storage and hugepages-<size>',
  ],
  [
    'a negative request',
    { requests: { memory: '-1Mi' } },
    'spec.containers[0].resources.requests.memory: -1Mi must be greater than or equal to 0',
  ],
];

for (const [name, resources, message] of INVALID) {
  test(`rejects ${name}, naming the field`, (t) => {
    const err = t.throws(() => cgroupSettings(resources, 'spec.containers[0].resources'), { instanceOf: SpecError });
    t.is(err!.message, message);
  });
}

test('an invalid quantity is reported with its field path', (t) => {
  const err = t.throws(() => parseResources({ limits: { memory: '12 Gigs' } }, 'spec.containers[0].resources'), { instanceOf: SpecError });
  t.regex(err!.message, /^spec\.containers\[0\]\.resources\.limits\.memory: invalid quantity "12 Gigs"/);
});

test('every problem is reported at once', (t) => {
  const err = t.throws(
    () =>
      parseResources(
        { requests: { cpu: '3', gpu: '1' }, limits: { cpu: '2', memory: 'lots' } },
        'spec.containers[1].resources',
      ),
    { instanceOf: SpecError },
  ) as SpecError;
  t.deepEqual(
    err.problems.map((p) => p.path).sort(),
    ['spec.containers[1].resources.limits.memory', 'spec.containers[1].resources.requests.cpu', 'spec.containers[1].resources.requests.gpu'],
  );
});

test('requests and limits must be maps', (t) => {
  const err = t.throws(() => parseResources({ limits: ['1'] as unknown as Record<string, string> }, 'r'), { instanceOf: SpecError });
  t.is(err!.message, 'r.limits: expected a map of resource name to quantity');
});
