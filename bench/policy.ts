// Benchmark of NetworkPolicy: (1) compiling and loading 1,000 policies over 100 pods for one node
// (50 local pods), beside the bare iptables-legacy-restore of the same payload; (2) the 324-probe
// `policy verify` of the e2e layout (9 pods, 2 ports, 2 protocols) in a real cluster.
// Run as root: node --import tsx bench/policy.ts
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { compileNode } from '../src/policy/compile.ts';
import type { Cluster } from '../src/policy/model.ts';

const KUBELAB = new URL('../kubelab', import.meta.url).pathname;

function world(): Cluster {
  const namespaces = Array.from({ length: 10 }, (_, i) => ({ metadata: { name: `ns${i}`, labels: { team: `t${i % 3}` } } }));
  const pods = Array.from({ length: 100 }, (_, i) => ({
    metadata: { name: `p${i}`, namespace: `ns${i % 10}`, labels: { app: `app${i % 7}`, tier: i % 2 ? 'web' : 'db' } },
    spec: { nodeName: i % 2 ? 'node1' : 'node2', containers: [{ ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }] },
    status: { podIP: `10.244.${1 + (i % 2)}.${10 + Math.floor(i / 2)}` },
  }));
  const policies = Array.from({ length: 1000 }, (_, i) => ({
    metadata: { name: `np${i}`, namespace: `ns${i % 10}` },
    spec: {
      podSelector: { matchLabels: { app: `app${i % 7}` } },
      policyTypes: (i % 3 === 0 ? ['Ingress', 'Egress'] : ['Ingress']) as ('Ingress' | 'Egress')[],
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: `t${i % 3}` } }, podSelector: { matchLabels: { tier: 'web' } } }], ports: [{ port: 'http' as const }, { port: 9000 + (i % 50), endPort: 9100 }] }],
      egress: [{ to: [{ ipBlock: { cidr: '10.244.0.0/16', except: [`10.244.${i % 3}.0/24`] } }] }],
    },
  }));
  return { policies, namespaces, pods };
}

const ns = `klbench-${randomBytes(2).toString('hex')}`;
try {
  const cluster = world();
  const local = cluster.pods.filter((p: any) => p.spec.nodeName === 'node1');
  let t = performance.now();
  const compiled = compileNode(cluster, local, 'kubelab:bench');
  const compileMs = performance.now() - t;
  const rules = compiled.restore.split('\n').filter((l) => l.startsWith('-A')).length;
  await execa('ip', ['netns', 'add', ns]);
  t = performance.now();
  await execa('ip', ['netns', 'exec', ns, 'iptables-legacy-restore', '-w', '--noflush'], { input: compiled.restore });
  const loadMs = performance.now() - t;
  await execa('ip', ['netns', 'del', ns]);
  await execa('ip', ['netns', 'add', ns]);
  t = performance.now();
  await execa('ip', ['netns', 'exec', ns, 'iptables-legacy-restore', '-w', '--noflush'], { input: compiled.restore });
  const bareMs = performance.now() - t;
  console.log('kubelab bench: NetworkPolicy');
  console.log(`  1,000 policies over 100 pods (50 on the node): ${rules} rules in ${compiled.chains.length} chains`);
  console.log(`  sync (compile + iptables-legacy-restore)      ${(compileMs + loadMs).toFixed(0)} ms (compile ${compileMs.toFixed(0)} ms)`);
  console.log(`  bare iptables-legacy-restore of the payload   ${bareMs.toFixed(0)} ms   ratio ${((compileMs + loadMs) / bareMs).toFixed(2)}x`);
} finally {
  await execa('ip', ['netns', 'del', ns], { reject: false });
}

const name = `pbench${randomBytes(2).toString('hex')}`;
try {
  await execa(KUBELAB, ['--name', name, 'up', '--nodes', '2']);
  await execa(KUBELAB, ['--name', name, 'apply', '-f', new URL('../examples/policy/pods.yaml', import.meta.url).pathname]);
  for (let i = 0; i < 120; i++) {
    const r = await execa(KUBELAB, ['--name', name, 'get', 'pods', '-A', '-o', 'json']);
    const pods = JSON.parse(r.stdout).items.filter((p: any) => ['x', 'y', 'z'].includes(p.metadata.namespace));
    if (pods.length === 9 && pods.every((p: any) => p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'))) break;
    await new Promise((res) => setTimeout(res, 500));
  }
  const t = performance.now();
  const r = await execa(KUBELAB, ['--name', name, 'policy', 'verify', '--json', '--namespace', 'x', 'y', 'z']);
  const wall = performance.now() - t;
  const v = JSON.parse(r.stdout);
  console.log(`  policy verify: ${v.probes} probes, ${v.mismatches} mismatches, ${(wall / 1000).toFixed(2)} s for the whole command (${v.seconds} s probing)   (aim: < 10 s)`);
} finally {
  await execa(KUBELAB, ['--name', name, 'down'], { reject: false });
}
