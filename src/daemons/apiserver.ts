// The control-plane daemon: the API server (unix socket for the CLI, the underlay for the nodes)
// over etcd, and the controllers, which use the API like any other client.
import { existsSync, rmSync } from 'node:fs';
import { ApiClient, ApiError } from '../api/client.ts';
import { ApiServer } from '../api/server.ts';
import { ControllerManager } from '../controllers/manager.ts';
import { paths } from '../naming.ts';
import { readConfig, readToken } from '../provider/config.ts';
import { waitFor } from '../util/proc.ts';

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
  const controllers = new ControllerManager(client, log);
  await controllers.start();
  log('controllers started: node pod-subnet allocation, scheduler, namespace termination');

  const stop = () => {
    controllers.stop();
    void server.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
