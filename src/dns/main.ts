// The DNS add-on's entry point (image kubelab/dns):
//   dns.mjs cluster --api HOST:PORT --token-file FILE [--listen 0.0.0.0] [--upstream 203.0.113.100]
//   dns.mjs upstream [--listen 203.0.113.100]
// `cluster` answers cluster.local from the API's Services, Endpoints, Pods and Namespaces (kept in step
// by informers) and forwards the rest; `upstream` is the lab's "internet" resolver.
import { readFileSync } from 'node:fs';
import { ApiClient } from '../api/client.ts';
import { inform } from '../api/informer.ts';
import type { KubeObject, Pod } from '../api/types.ts';
import type { ClusterView, ServiceView } from './records.ts';
import { startDnsServer } from './server.ts';
import { startUpstream } from './upstream.ts';

function flag(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`missing --${name}`);
  return v;
}

const hostPort = (v: string, port: number) => {
  const [host, p] = v.split(':');
  return { host: host!, port: p ? Number(p) : port };
};

/** Pure: the resolver's view from API objects. */
export function clusterView(services: KubeObject[], endpoints: KubeObject[], pods: Pod[], namespaces: KubeObject[]): ClusterView {
  const eps = new Map(endpoints.map((e) => [`${e.metadata.namespace}/${e.metadata.name}`, e]));
  const svcs: ServiceView[] = services.map((s) => {
    const ep: any = eps.get(`${s.metadata.namespace}/${s.metadata.name}`);
    return {
      namespace: s.metadata.namespace!,
      name: s.metadata.name,
      type: s.spec?.type ?? 'ClusterIP',
      clusterIP: s.spec?.clusterIP,
      externalName: s.spec?.externalName,
      ports: (s.spec?.ports ?? []).map((p: any) => ({ name: p.name, port: p.port, protocol: p.protocol ?? 'TCP' })),
      endpoints: (ep?.subsets ?? []).flatMap((sub: any) =>
        (sub.addresses ?? []).map((a: any) => ({ ip: a.ip, hostname: a.hostname, ports: (sub.ports ?? []).map((p: any) => ({ name: p.name, port: p.port, protocol: p.protocol ?? 'TCP' })) })),
      ),
    };
  });
  return {
    services: svcs,
    pods: pods.filter((p) => p.status?.podIP).map((p) => ({ namespace: p.metadata.namespace!, ip: p.status!.podIP! })),
    namespaces: namespaces.map((n) => n.metadata.name),
  };
}

async function main(): Promise<void> {
  const mode = process.argv[2];
  const log = (l: string) => void process.stdout.write(`${new Date().toISOString()} ${l}\n`);
  process.on('SIGTERM', () => process.exit(0));
  if (mode === 'upstream') {
    const s = await startUpstream(hostPort(flag('listen', '0.0.0.0'), 53));
    log(`upstream resolver on port ${s.port}`);
    return;
  }
  if (mode !== 'cluster') throw new Error(`usage: dns cluster|upstream ... (got ${mode})`);
  const client = new ApiClient(hostPort(flag('api'), 6443), readFileSync(flag('token-file'), 'utf8').trim());
  const err = (e: Error) => log(`watch: ${e.message}`);
  const services = inform<KubeObject>(client, 'Service', {}, () => {}, err);
  const endpoints = inform<KubeObject>(client, 'Endpoints', {}, () => {}, err);
  const pods = inform<Pod>(client, 'Pod', {}, () => {}, err);
  const namespaces = inform<KubeObject>(client, 'Namespace', {}, () => {}, err);
  await Promise.all([services.synced, endpoints.synced, pods.synced, namespaces.synced]);
  const upstream = process.argv.includes('--upstream') ? hostPort(flag('upstream'), 53) : undefined;
  const server = await startDnsServer({
    ...hostPort(flag('listen', '0.0.0.0'), 53),
    upstream,
    view: () => clusterView([...services.cache.values()], [...endpoints.cache.values()], [...pods.cache.values()], [...namespaces.cache.values()]),
  });
  log(`cluster DNS on port ${server.port}, upstream ${upstream ? `${upstream.host}:${upstream.port}` : 'none'}`);
}

main().catch((e) => {
  process.stderr.write(`dns: ${(e as Error).stack}\n`);
  process.exit(1);
});
