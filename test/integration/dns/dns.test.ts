// The DNS add-on in a real cluster: pods behind 10.96.0.10 answer dig from inside a pod for every
// record kind, pods resolve short names through their resolv.conf search path, names outside the
// cluster are forwarded to the lab's internet resolver, and a walk to a service by name shows the lookup.
import test from 'ava';
import { execa } from 'execa';
import type { ApiClient } from '../../../src/api/client.ts';
import { podNetns } from '../../../src/naming.ts';
import { downCluster, isRoot, kubelab, randomName, rootOrSkip, SLEEPER, waitPodsReady } from '../helpers.ts';

const name = randomName('dns');
let client: ApiClient;

const MANIFEST = `apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  nodeName: node1
  containers: [{name: shell, image: busybox, command: ${JSON.stringify(SLEEPER)}}]
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, labels: {app: db}}
spec:
  hostname: db-0
  subdomain: db
  nodeName: node2
  containers: [{name: agnhost, image: agnhost, ports: [{name: pg, containerPort: 8080}], readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: db}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: pg, port: 5432, targetPort: pg}]
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec:
  type: ExternalName
  externalName: www.example.com
`;

test.before(async () => {
  if (!isRoot()) return;
  await kubelab(name, ['up', '--nodes', '2']);
  const { apiClient } = await import('../../../src/provider/embedded/cluster.ts');
  client = apiClient(name);
  await kubelab(name, ['apply', '-f', '-'], { input: MANIFEST });
  await waitPodsReady(client, ['client', 'db-0']);
  await waitPodsReady(client, ['coredns-0', 'coredns-1'], 'kube-system');
});
test.after.always(async () => {
  if (isRoot()) await downCluster(name);
});

async function dig(...args: string[]): Promise<string[]> {
  const r = await execa('ip', ['netns', 'exec', podNetns(name, 'default', 'client'), 'dig', '@10.96.0.10', '+short', '+tries=2', '+time=3', ...args]);
  return String(r.stdout).split('\n').filter(Boolean);
}

test.serial('the DNS service is 10.96.0.10 with two ready pods behind it, and pods use it', async (t) => {
  if (!rootOrSkip(t)) return;
  const svc: any = await client.get('Service', 'kube-dns', 'kube-system');
  t.is(svc.spec.clusterIP, '10.96.0.10');
  const ep: any = await client.get('Endpoints', 'kube-dns', 'kube-system');
  t.is(ep.subsets[0].addresses.length, 2);
  // busybox nslookup walks the whole search path and exits 1 for the names that do not exist.
  const r = await kubelab(name, ['exec', 'client', '--', 'nslookup', 'web'], { reject: false });
  t.regex(r.stdout, /Name:\s+web\.default\.svc\.cluster\.local\s+Address: 10\.96\./);
});

test.serial('A, headless, SRV, PTR, CNAME and pod records, with dig from a pod', async (t) => {
  if (!rootOrSkip(t)) return;
  const web: any = await client.get('Service', 'web');
  const db0: any = await client.get('Pod', 'db-0');
  const podIP = db0.status.podIP as string;
  t.deepEqual(await dig('web.default.svc.cluster.local'), [web.spec.clusterIP]);
  t.deepEqual(await dig('db.default.svc.cluster.local'), [podIP]);
  t.deepEqual(await dig('db-0.db.default.svc.cluster.local'), [podIP]);
  t.deepEqual(await dig('_http._tcp.web.default.svc.cluster.local', 'SRV'), ['0 100 80 web.default.svc.cluster.local.']);
  t.deepEqual(await dig('_pg._tcp.db.default.svc.cluster.local', 'SRV'), ['0 100 8080 db-0.db.default.svc.cluster.local.']);
  t.deepEqual(await dig('-x', web.spec.clusterIP), ['web.default.svc.cluster.local.']);
  t.deepEqual(await dig('-x', podIP), ['db-0.db.default.svc.cluster.local.']);
  t.deepEqual((await dig('ext.default.svc.cluster.local'))[0], 'www.example.com.');
  t.deepEqual(await dig(`${podIP.replace(/\./g, '-')}.default.pod.cluster.local`), [podIP]);
  t.deepEqual(await dig('dns-version.cluster.local', 'TXT'), ['"1.1.0"']);
  t.deepEqual(await dig('web.default.svc.cluster.local', '+tcp'), [web.spec.clusterIP]);
});

test.serial('NXDOMAIN and NODATA', async (t) => {
  if (!rootOrSkip(t)) return;
  const run = async (...a: string[]) => String((await execa('ip', ['netns', 'exec', podNetns(name, 'default', 'client'), 'dig', '@10.96.0.10', '+tries=2', '+time=3', ...a])).stdout);
  t.regex(await run('nope.default.svc.cluster.local'), /status: NXDOMAIN/);
  const nodata = await run('web.default.svc.cluster.local', 'AAAA');
  t.regex(nodata, /status: NOERROR/);
  t.regex(nodata, /ANSWER: 0/);
  t.regex(nodata, /AUTHORITY: 1/);
});

test.serial('names outside the cluster are forwarded to the internet resolver on the external host', async (t) => {
  if (!rootOrSkip(t)) return;
  t.deepEqual(await dig('www.example.com'), ['203.0.113.100']);
  const r = await kubelab(name, ['exec', 'client', '--', 'nslookup', 'example.com']);
  t.regex(r.stdout, /Address: 203\.0\.113\.100/);
});

test.serial('a walk to a service by name shows the DNS lookup before the connection', async (t) => {
  if (!rootOrSkip(t)) return;
  const r = JSON.parse((await kubelab(name, ['walk', 'client', 'web', '--json'])).stdout);
  t.true(r.exchange.ok, r.exchange.output);
  const web: any = await client.get('Service', 'web');
  const answer = r.dns.find((d: any) => d.direction === 'answer' && d.type === 'A' && d.name === 'web.default.svc.cluster.local');
  t.truthy(answer, JSON.stringify(r.dns));
  t.deepEqual(answer.answers, [`A ${web.spec.clusterIP}`]);
  t.is(answer.server, '10.96.0.10');
  t.true(r.dns[0].ts < r.hops[0].ts, 'the lookup comes first');
});
