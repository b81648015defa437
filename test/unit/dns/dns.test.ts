// Cluster DNS answers, checked with dig (a real client) against the server on loopback, with a fixed
// view of the cluster: the records the Kubernetes DNS specification lists, NXDOMAIN vs NODATA,
// forwarding to an upstream, TCP, and truncation of large UDP answers.
import { existsSync } from 'node:fs';
import test from 'ava';
import { execa } from 'execa';
import type { ClusterView } from '../../../src/dns/records.ts';
import { startDnsServer } from '../../../src/dns/server.ts';
import { startUpstream } from '../../../src/dns/upstream.ts';

const many = Array.from({ length: 40 }, (_, i) => ({ ip: `10.244.1.${i + 10}`, ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }));
const VIEW: ClusterView = {
  namespaces: ['default', 'kube-system', 'prod'],
  pods: [
    { namespace: 'default', ip: '10.244.1.5' },
    { namespace: 'prod', ip: '10.244.2.7' },
  ],
  services: [
    { namespace: 'default', name: 'web', type: 'ClusterIP', clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }], endpoints: [] },
    {
      namespace: 'prod',
      name: 'db',
      type: 'ClusterIP',
      clusterIP: 'None',
      ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
      endpoints: [
        { ip: '10.244.2.7', hostname: 'db-0', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] },
        { ip: '10.244.1.8', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] },
      ],
    },
    { namespace: 'default', name: 'ext', type: 'ExternalName', externalName: 'www.example.com', ports: [], endpoints: [] },
    { namespace: 'default', name: 'big', type: 'ClusterIP', clusterIP: 'None', ports: [{ name: 'http', port: 80, protocol: 'TCP' }], endpoints: many },
  ],
};

let port = 0;
let close: (() => Promise<void>)[] = [];
const hasDig = existsSync('/usr/bin/dig');

test.before(async () => {
  const up = await startUpstream({ host: '127.0.0.1', port: 0 });
  const s = await startDnsServer({ host: '127.0.0.1', port: 0, view: () => VIEW, upstream: { host: '127.0.0.1', port: up.port } });
  port = s.port;
  close = [s.close, up.close];
});
test.after.always(async () => {
  for (const c of close) await c();
});

async function dig(name: string, type = 'A', ...extra: string[]): Promise<{ status: string; answer: string[]; authority: string[]; flags: string }> {
  const r = await execa('dig', ['@127.0.0.1', '-p', String(port), name, type, '+noall', '+comments', '+answer', '+authority', '+tries=1', '+time=3', ...extra]);
  const out = String(r.stdout);
  const section = (title: string) => {
    const m = new RegExp(`;; ${title} SECTION:\\n([\\s\\S]*?)(\\n\\n|$)`).exec(out);
    return m ? m[1]!.split('\n').filter(Boolean).map((l) => l.replace(/\s+/g, ' ').trim()) : [];
  };
  return { status: /status: (\w+)/.exec(out)?.[1] ?? '?', answer: section('ANSWER'), authority: section('AUTHORITY'), flags: /flags: ([^;]*);/.exec(out)?.[1] ?? '' };
}

const skip = (t: { log: (m: string) => void; pass: () => void }) => {
  if (hasDig) return false;
  if (process.env.CI === 'true') throw new Error('dig is required in CI (dnsutils)');
  t.log('skipped: dig (dnsutils) is not installed');
  t.pass();
  return true;
};

test('a ClusterIP service answers its ClusterIP', async (t) => {
  if (skip(t)) return;
  const r = await dig('web.default.svc.cluster.local');
  t.is(r.status, 'NOERROR');
  t.deepEqual(r.answer, ['web.default.svc.cluster.local. 30 IN A 10.96.0.20']);
  t.regex(r.flags, /\baa\b/);
});

test('a headless service answers with its ready endpoints, and endpoints with a hostname have their own name', async (t) => {
  if (skip(t)) return;
  const r = await dig('db.prod.svc.cluster.local');
  t.deepEqual(r.answer.map((l) => l.split(' ').at(-1)).sort(), ['10.244.1.8', '10.244.2.7']);
  t.deepEqual((await dig('db-0.db.prod.svc.cluster.local')).answer, ['db-0.db.prod.svc.cluster.local. 30 IN A 10.244.2.7']);
});

test('SRV for named ports: to the service for a ClusterIP, to each endpoint for a headless service', async (t) => {
  if (skip(t)) return;
  t.deepEqual((await dig('_http._tcp.web.default.svc.cluster.local', 'SRV')).answer, ['_http._tcp.web.default.svc.cluster.local. 30 IN SRV 0 100 80 web.default.svc.cluster.local.']);
  t.deepEqual((await dig('_dns._udp.web.default.svc.cluster.local', 'SRV')).answer, ['_dns._udp.web.default.svc.cluster.local. 30 IN SRV 0 100 53 web.default.svc.cluster.local.']);
  const headless = (await dig('_pg._tcp.db.prod.svc.cluster.local', 'SRV')).answer.map((l) => l.split(' ').slice(-2).join(' ')).sort();
  t.deepEqual(headless, ['5432 10-244-1-8.db.prod.svc.cluster.local.', '5432 db-0.db.prod.svc.cluster.local.']);
  t.is((await dig('_nope._tcp.web.default.svc.cluster.local', 'SRV')).status, 'NXDOMAIN');
});

test('PTR for a ClusterIP, a headless endpoint and a pod', async (t) => {
  if (skip(t)) return;
  t.deepEqual((await dig('-x', '10.96.0.20')).answer.map((l) => l.split(' ').at(-1)), ['web.default.svc.cluster.local.']);
  t.deepEqual((await dig('-x', '10.244.2.7')).answer.map((l) => l.split(' ').at(-1)), ['db-0.db.prod.svc.cluster.local.']);
  t.deepEqual((await dig('-x', '10.244.1.5')).answer.map((l) => l.split(' ').at(-1)), ['10-244-1-5.default.pod.cluster.local.']);
});

test('CNAME for an ExternalName service', async (t) => {
  if (skip(t)) return;
  const r = await dig('ext.default.svc.cluster.local');
  t.is(r.answer[0], 'ext.default.svc.cluster.local. 30 IN CNAME www.example.com.');
});

test('pod A records, verified against the pods of that namespace', async (t) => {
  if (skip(t)) return;
  t.deepEqual((await dig('10-244-1-5.default.pod.cluster.local')).answer, ['10-244-1-5.default.pod.cluster.local. 30 IN A 10.244.1.5']);
  t.is((await dig('10-244-1-5.prod.pod.cluster.local')).status, 'NXDOMAIN');
});

test('the schema version record', async (t) => {
  if (skip(t)) return;
  t.deepEqual((await dig('dns-version.cluster.local', 'TXT')).answer, ['dns-version.cluster.local. 30 IN TXT "1.1.0"']);
});

test('NXDOMAIN for names that do not exist, NODATA (with the SOA) for a type a name does not have', async (t) => {
  if (skip(t)) return;
  const nx = await dig('nope.default.svc.cluster.local');
  t.is(nx.status, 'NXDOMAIN');
  t.regex(nx.authority[0]!, /^cluster\.local\. 30 IN SOA ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\./);
  t.is((await dig('web.nosuchns.svc.cluster.local')).status, 'NXDOMAIN');
  const nodata = await dig('web.default.svc.cluster.local', 'AAAA');
  t.is(nodata.status, 'NOERROR');
  t.deepEqual(nodata.answer, []);
  t.is(nodata.authority.length, 1);
  t.is((await dig('default.svc.cluster.local')).status, 'NOERROR');
});

test('names outside cluster.local go to the upstream', async (t) => {
  if (skip(t)) return;
  t.deepEqual((await dig('www.example.com')).answer, ['www.example.com. 300 IN A 203.0.113.100']);
  t.is((await dig('nothing.example.net')).status, 'NXDOMAIN');
});

test('over TCP too, and a large UDP answer is truncated so the client retries over TCP', async (t) => {
  if (skip(t)) return;
  t.deepEqual((await dig('web.default.svc.cluster.local', 'A', '+tcp')).answer, ['web.default.svc.cluster.local. 30 IN A 10.96.0.20']);
  const truncated = await dig('big.default.svc.cluster.local', 'A', '+notcp', '+ignore', '+noedns');
  t.regex(truncated.flags, /\btc\b/);
  t.deepEqual(truncated.answer, []);
  const full = await dig('big.default.svc.cluster.local', 'A', '+noedns');
  t.is(full.answer.length, 40, 'dig retried over TCP and got every endpoint');
});
