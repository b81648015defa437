// Benchmark of the packet walk: the wall time of one walk across nodes over VXLAN (captures started
// on 12 interfaces, one TCP exchange, captures stopped, decoded and analysed), beside the bare
// exchange alone (the same wget from the same pod, no captures) as the baseline.
// Run as root: node --import tsx bench/walk.ts [--runs N]
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { podNetns } from '../src/naming.ts';
import { apiClient } from '../src/provider/embedded/cluster.ts';
import { waitFor } from '../src/util/proc.ts';

const KUBELAB = new URL('../kubelab', import.meta.url).pathname;
const at = process.argv.indexOf('--runs');
const runs = at > 0 ? Number(process.argv[at + 1]) : 5;
const name = `wbench${randomBytes(2).toString('hex')}`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const manifest = ['a:node1', 'c:node2']
  .map((x) => x.split(':'))
  .map(([pod, node]) => `apiVersion: v1\nkind: Pod\nmetadata: {name: ${pod}}\nspec:\n  nodeName: ${node}\n  containers: [{name: main, image: agnhost, readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}}]\n`)
  .join('---\n');

try {
  await execa(KUBELAB, ['--name', name, 'up', '--nodes', '2', '--overlay', 'vxlan']);
  await execa(KUBELAB, ['--name', name, 'apply', '-f', '-'], { input: manifest });
  const client = apiClient(name);
  await waitFor(async () => (await client.list('Pod')).items.every((p: any) => p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True')), 60_000, 50);
  const target = ((await client.get('Pod', 'c')) as any).status.podIP;
  const walks: number[] = [];
  const inside: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    const r = await execa(KUBELAB, ['--name', name, 'walk', 'a', 'c', '--json']);
    walks.push(performance.now() - t);
    inside.push(JSON.parse(r.stdout).durationMs);
    t = performance.now();
    await execa('ip', ['netns', 'exec', podNetns(name, 'default', 'a'), 'busybox', 'wget', '-qO-', `http://${target}:8080/`]);
    bare.push(performance.now() - t);
  }
  console.log(`kubelab bench: packet walk across nodes over vxlan (${runs} runs, medians)`);
  console.log(`  ./kubelab walk a c (whole command)     ${median(walks).toFixed(0)} ms   (aim: < 2000 ms)`);
  console.log(`  of which the walk itself (durationMs)  ${median(inside).toFixed(0)} ms`);
  console.log(`  the bare exchange, no captures         ${median(bare).toFixed(0)} ms`);
  console.log(`  ratio walk / bare exchange             ${(median(inside) / median(bare)).toFixed(1)}x`);
} finally {
  await execa(KUBELAB, ['--name', name, 'down'], { reject: false });
}
