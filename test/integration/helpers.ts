// Shared pieces of the integration tests: each test file brings up its own small cluster with a
// random name, drives it through the real CLI (./kubelab), and always removes it.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import { execa } from 'execa';
import { ApiClient } from '../../src/api/client.ts';
import type { Pod } from '../../src/api/types.ts';
import { apiClient } from '../../src/provider/embedded/cluster.ts';
import { waitFor } from '../../src/util/proc.ts';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const KUBELAB = path.join(REPO, 'kubelab');

/** Integration tests need root; locally they skip with the reason, in CI a missing root fails. */
export function rootOrSkip(t: ExecutionContext): boolean {
  if (process.getuid?.() === 0) return true;
  if (process.env.CI === 'true') t.fail('integration tests must run as root in CI');
  else t.log('skipped: needs root');
  t.pass();
  return false;
}

export const isRoot = () => process.getuid?.() === 0;

export function randomName(prefix = 't'): string {
  return `${prefix}${randomBytes(3).toString('hex')}`;
}

export async function kubelab(name: string, args: string[], opts: { reject?: boolean; input?: string } = {}) {
  return execa(KUBELAB, ['--name', name, ...args], { reject: opts.reject ?? true, input: opts.input, all: true });
}

export async function upCluster(name: string, nodes = 2, overlay: 'vxlan' | 'host-gw' = 'vxlan'): Promise<ApiClient> {
  await kubelab(name, ['up', '--nodes', String(nodes), '--overlay', overlay]);
  return apiClient(name);
}

export async function downCluster(name: string): Promise<void> {
  await kubelab(name, ['down'], { reject: false });
}

export async function waitPodsReady(client: ApiClient, names: string[], namespace = 'default', timeoutMs = 60_000): Promise<Map<string, Pod>> {
  const pods = new Map<string, Pod>();
  const ok = await waitFor(async () => {
    for (const n of names) {
      const p = await client.find<Pod>('Pod', n, namespace);
      if (!p?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return false;
      pods.set(n, p);
    }
    return true;
  }, timeoutMs, 100);
  if (!ok) throw new Error(`pods ${names.join(', ')} not ready in ${timeoutMs} ms`);
  return pods;
}

export function podYaml(name: string, opts: { node?: string; image?: string; command?: string[]; args?: string[]; labels?: Record<string, string>; extra?: string; namespace?: string } = {}): string {
  const lines = ['apiVersion: v1', 'kind: Pod', 'metadata:', `  name: ${name}`];
  if (opts.namespace) lines.push(`  namespace: ${opts.namespace}`);
  if (opts.labels) lines.push(`  labels: ${JSON.stringify(opts.labels)}`);
  lines.push('spec:');
  if (opts.node) lines.push(`  nodeName: ${opts.node}`);
  lines.push('  containers:', `    - name: main`, `      image: ${opts.image ?? 'agnhost'}`);
  if (opts.command) lines.push(`      command: ${JSON.stringify(opts.command)}`);
  if (opts.args) lines.push(`      args: ${JSON.stringify(opts.args)}`);
  if ((opts.image ?? 'agnhost') === 'agnhost') lines.push('      readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}');
  if (opts.extra) lines.push(opts.extra);
  return lines.join('\n') + '\n';
}

export const SLEEPER = ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'];
