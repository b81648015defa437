// Benchmark of the cluster core, in one run:
//   1. `up` of 2 worker nodes and 10 ready pods (wall time, through the real CLI);
//   2. per-pod network set-up as kubelab does it (from its own transcript: netns add, the node-side
//      and the pod-side ip batches, as execa runs them), for pods created one at a time so that no
//      other pod's set-up competes for the two cores, beside a raw baseline that makes the same
//      namespaces, veths, bridge, addresses and routes with a plain `ip -batch` script of the same shape.
// Run as root: node --import tsx bench/cluster-up.ts
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import type { TranscriptEntry } from '../src/driver/runner.ts';
import { paths } from '../src/naming.ts';
import { apiClient } from '../src/provider/embedded/cluster.ts';
import { waitFor } from '../src/util/proc.ts';

const PODS = 10;
const KUBELAB = new URL('../kubelab', import.meta.url).pathname;
const name = `bench${randomBytes(2).toString('hex')}`;

function podsManifest(): string {
  return Array.from({ length: PODS }, (_, i) =>
    [
      'apiVersion: v1',
      'kind: Pod',
      `metadata: {name: web-${i}}`,
      'spec:',
      '  containers:',
      '    - name: httpd',
      '      image: busybox',
      '      command: [httpd, -f, -p, "80"]',
    ].join('\n'),
  ).join('\n---\n');
}

const SEQUENTIAL = 8;

async function measureUp(): Promise<{ upMs: number; readyMs: number; perPodMs: number[] }> {
  const t0 = performance.now();
  await execa(KUBELAB, ['--name', name, 'up', '--nodes', '2']);
  const upMs = performance.now() - t0;
  await execa(KUBELAB, ['--name', name, 'apply', '-f', '-'], { input: podsManifest() });
  const client = apiClient(name);
  const ok = await waitFor(async () => {
    const pods = (await client.list('Pod', { namespace: 'default' })).items;
    return pods.length === PODS && pods.every((p: any) => p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
  }, 120_000, 20);
  if (!ok) throw new Error('pods did not become ready');
  const readyMs = performance.now() - t0;
  // Then pods one at a time, each waited for, for the per-pod set-up cost without contention.
  for (let i = 0; i < SEQUENTIAL; i++) {
    await client.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `seq-${i}`, namespace: 'default' }, spec: { nodeName: 'node1', containers: [{ name: 'c', image: 'busybox', command: ['httpd', '-f', '-p', '80'] }] } });
    await waitFor(async () => !!(await client.get<any>('Pod', `seq-${i}`)).status?.podIP, 60_000, 10);
  }
  // Per-pod network set-up: the sandbox commands each pod's node ran, summed per pod.
  const entries = readFileSync(paths.transcript(name), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TranscriptEntry);
  const perPod = new Map<string, number>();
  for (const e of entries) {
    if (!e.owner?.startsWith('pod/default/seq-') || e.why.startsWith('start container')) continue;
    perPod.set(e.owner, (perPod.get(e.owner) ?? 0) + e.ms);
  }
  return { upMs, readyMs, perPodMs: [...perPod.values()] };
}

/** The same kernel objects by hand: a node namespace with a bridge, then per pod the same three ip calls. */
async function rawBaseline(): Promise<number[]> {
  const node = `klbench-${randomBytes(2).toString('hex')}`;
  const made: string[] = [node];
  const times: number[] = [];
  try {
    await execa('ip', ['netns', 'add', node]);
    await execa('ip', ['-n', node, '-batch', '-'], { input: 'link add cni0 type bridge\naddr add 10.244.9.1/24 dev cni0\nlink set cni0 up\n' });
    for (let i = 0; i < PODS; i++) {
      const pod = `${node}-p${i}`;
      const t = performance.now();
      await execa('ip', ['netns', 'add', pod]);
      made.push(pod);
      await execa('ip', ['-n', node, '-batch', '-'], { input: `link add vethb${i} type veth peer name eth0 netns ${pod}\nlink set vethb${i} master cni0 up\n` });
      await execa('ip', ['-n', pod, '-batch', '-'], { input: `link set lo up\naddr add 10.244.9.${i + 2}/24 dev eth0\nlink set eth0 up\nroute add default via 10.244.9.1\n` });
      times.push(performance.now() - t);
    }
  } finally {
    for (const ns of made.reverse()) await execa('ip', ['netns', 'delete', ns], { reject: false });
  }
  return times;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

try {
  const raw = await rawBaseline();
  const run = await measureUp();
  const ours = median(run.perPodMs);
  const base = median(raw);
  console.log(`kubelab bench: cluster core (${PODS} pods, 2 workers + control)`);
  console.log(`  up (3 nodes ready)                 ${fmt(run.upMs)}`);
  console.log(`  up + ${PODS} pods ready                 ${fmt(run.readyMs)}   (aim: < 5000 ms)`);
  console.log(`  per-pod network set-up, kubelab    ${fmt(ours)} median (${run.perPodMs.length} pods, one at a time)`);
  console.log(`  per-pod network set-up, raw ip     ${fmt(base)} median`);
  console.log(`  ratio kubelab / raw                ${(ours / base).toFixed(2)}x   (aim: <= 1.5x)`);
} finally {
  await execa(KUBELAB, ['--name', name, 'down'], { reject: false });
}
