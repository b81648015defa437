// The control-plane daemon: the API server (unix socket for the CLI, the underlay for the nodes)
// over etcd, and the controllers, which use the API like any other client.
import { existsSync, rmSync } from 'node:fs';
import { ApiClient, ApiError } from '../api/client.ts';
import { ApiServer } from '../api/server.ts';
import { ControllerManager } from '../controllers/manager.ts';
import { hostNetns, paths } from '../naming.ts';
import type { KubeObject } from '../api/types.ts';
import { createRunner } from '../driver/runner.ts';
import { readConfig, readToken } from '../provider/config.ts';
import { waitFor } from '../util/proc.ts';

async function ensureObject(client: ApiClient, obj: KubeObject): Promise<void> {
  try {
    await client.create(obj);
  } catch (e) {
    if (!(e instanceof ApiError && e.code === 409)) throw e;
  }
}

/**
 * The cluster DNS add-on: the Service kube-system/kube-dns on 10.96.0.10 (53/UDP and 53/TCP) in front of
 * two pods of the kubelab/dns image, which read the API and forward other names to the lab's internet
 * resolver on the external host.
 */
async function ensureDnsAddon(client: ApiClient, cluster: string, api: { host: string; port: number }, upstream: string): Promise<void> {
  const labels = { 'k8s-app': 'kube-dns' };
  await ensureObject(client, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { ...labels, 'kubernetes.io/name': 'CoreDNS' } },
    spec: { selector: labels, clusterIP: '10.96.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 }, { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 }] },
  });
  for (const i of [0, 1]) {
    await ensureObject(client, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `coredns-${i}`, namespace: 'kube-system', labels },
      spec: {
        containers: [
          {
            name: 'dns',
            image: 'kubelab/dns',
            args: ['cluster', '--api', `${api.host}:${api.port}`, '--token-file', '/var/run/secrets/kubelab/token', '--listen', '0.0.0.0:53', '--upstream', `${upstream}:53`],
            // The API token reaches the container as a read-only hostPath file (Kubernetes would
            // project a service-account token here).
            volumeMounts: [{ name: 'token', mountPath: '/var/run/secrets/kubelab/token', readOnly: true }],
            ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }, { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' }],
            readinessProbe: { tcpSocket: { port: 53 }, periodSeconds: 1 },
          },
        ],
        dnsPolicy: 'Default',
        volumes: [{ name: 'token', hostPath: { path: paths.token(cluster), type: 'File' } }],
      },
    });
  }
}

export async function runApiServer(cluster: string): Promise<void> {
  const cfg = readConfig(cluster);
  const token = readToken(cluster);
  const log = (line: string): void => void process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  const server = new ApiServer({ etcdEndpoint: cfg.etcdEndpoint, token, log });
  // etcd may still be starting: wait until it answers.
  const etcdUp = await waitFor(async () => {
    try {
      await server.store.list('/registry/namespaces/');
      return true;
    } catch {
      return false;
    }
  }, 60_000, 100);
  if (!etcdUp) throw new Error(`etcd at ${cfg.etcdEndpoint} did not answer within 60 s`);
  const socket = paths.apiSocket(cluster);
  if (existsSync(socket)) rmSync(socket);
  await server.listen({ socketPath: socket });
  await server.listen(cfg.apiServer);
  log(`API server on ${socket} and ${cfg.apiServer.host}:${cfg.apiServer.port}`);

  const client = new ApiClient({ socketPath: socket }, token);
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    try {
      await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 409)) throw e;
    }
  }
  // The kubernetes service: 10.96.0.1:443 in front of the API server, with hand-managed endpoints.
  await ensureObject(client, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } }, spec: { type: 'ClusterIP', clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: cfg.apiServer.port }] } });
  await ensureObject(client, { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'kubernetes', namespace: 'default' }, subsets: [{ addresses: [{ ip: cfg.apiServer.host }], ports: [{ name: 'https', port: cfg.apiServer.port, protocol: 'TCP' }] }] });
  await ensureDnsAddon(client, cluster, cfg.apiServer, cfg.externalHostIP);
  const runner = createRunner({ transcript: paths.transcript(cluster), component: 'controllers' });
  const controllers = new ControllerManager(client, log, { cluster, routerNetns: hostNetns(cluster, 'router'), underlayCIDR: cfg.underlayCIDR, runner, iptables: cfg.iptablesBackend });
  await controllers.start();
  log('controllers started: node pod-subnet allocation, scheduler, namespace termination');

  const stop = () => {
    controllers.stop();
    void server.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
