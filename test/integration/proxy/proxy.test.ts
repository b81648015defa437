// Loads the generated rulesets into the kernel, inside throwaway network namespaces named
// kltest-<6 hex>: the host's own namespace is never touched (every command runs through `ip -n` or
// `ip netns exec`). Checks that full and partial syncs load, that the kernel then holds exactly what a
// fresh full sync gives, and that a connection to a ClusterIP and a NodePort really reaches an endpoint.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { execa, type ResultPromise } from 'execa';
import { iptablesJumpRules, iptablesSync, jumpRuleArgv } from '../../../src/proxy/iptables.ts';
import { nftablesSync } from '../../../src/proxy/nftables.ts';
import type { ProxyInput, ProxyOptions, Service } from '../../../src/proxy/types.ts';

const opts: ProxyOptions = { cluster: 'kltest' };

function canRun(t: ExecutionContext): boolean {
  if (process.getuid?.() === 0) return true;
  if (process.env.CI === 'true') {
    t.fail('the proxy integration tests need root (network namespaces, iptables, nft); CI must run them as root');
  } else {
    t.log('skipped: needs root to create network namespaces and load iptables/nft rules');
    t.pass();
  }
  return false;
}

/** A throwaway namespace, deleted in teardown whatever happens. */
async function netns(t: ExecutionContext): Promise<string> {
  const name = `kltest-${randomBytes(3).toString('hex')}`;
  await execa('ip', ['netns', 'add', name]);
  t.teardown(async () => {
    await execa('ip', ['netns', 'del', name], { reject: false });
  });
  await execa('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

/**
 * The system's binary, never node_modules/.bin: under npx, PATH starts there, and @vercel/nft (an ava
 * dependency) installs a `nft` command that is not nftables.
 */
function systemBinary(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    if (dir && !dir.includes('node_modules') && existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  return name;
}
const NFT = systemBinary('nft');

function inNs(ns: string, argv: string[], input?: string) {
  const [cmd, ...rest] = argv;
  return execa('ip', ['netns', 'exec', ns, cmd === 'nft' ? NFT : cmd!, ...rest], { input });
}

async function ensureJumps(ns: string): Promise<void> {
  for (const rule of iptablesJumpRules(opts.cluster)) {
    const check = await execa('ip', ['netns', 'exec', ns, ...jumpRuleArgv(rule, '-C')], { reject: false });
    if (check.exitCode !== 0) await inNs(ns, jumpRuleArgv(rule, '-I'));
  }
}

/** iptables-save of one table as chain -> rules, without counters and generator comments. */
async function saved(ns: string, table: string): Promise<Record<string, string[]>> {
  const { stdout } = await inNs(ns, ['iptables-save', '-t', table]);
  const chains: Record<string, string[]> = {};
  for (const line of stdout.split('\n')) {
    if (line.startsWith(':')) chains[line.slice(1).split(' ')[0]!] ??= [];
    else if (line.startsWith('-A ')) (chains[line.split(' ')[1]!] ??= []).push(line);
  }
  return Object.fromEntries(Object.entries(chains).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** `nft -j list table` reduced to what matters: non-empty chains with their rules, and set contents. */
async function nftListed(ns: string): Promise<unknown> {
  const { stdout } = await inNs(ns, ['nft', '-j', 'list', 'table', 'ip', 'kube-proxy']);
  const items = JSON.parse(stdout).nftables as Record<string, any>[];
  const rules: Record<string, string[]> = {};
  const sets: Record<string, string[]> = {};
  for (const item of items) {
    if (item.rule) (rules[item.rule.chain] ??= []).push(JSON.stringify(item.rule.expr) + (item.rule.comment ?? ''));
    const set = item.set ?? item.map;
    if (set) sets[set.name] = (set.elem ?? []).map((e: unknown) => JSON.stringify(e)).sort();
  }
  const sortKeys = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
  return { rules: sortKeys(rules), sets: sortKeys(sets) };
}

const node = { name: 'node1', ips: ['192.168.56.11'], clusterCIDR: '10.244.0.0/16', serviceCIDRs: ['10.96.0.0/12'], masqueradeMark: '0x4000' };

function world(webEndpoints: number, withDb = true): ProxyInput {
  const services: Service[] = [
    { namespace: 'default', name: 'kubernetes', type: 'ClusterIP', clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP' }] },
    {
      namespace: 'default', name: 'web', type: 'NodePort', clusterIP: '10.96.0.10', sessionAffinity: 'ClientIP',
      ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }],
    },
    {
      namespace: 'default', name: 'lb', type: 'LoadBalancer', clusterIP: '10.96.0.30', externalTrafficPolicy: 'Local',
      loadBalancerIngressIPs: ['203.0.113.10'], loadBalancerSourceRanges: ['203.0.113.0/24'],
      ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30081 }],
    },
    { namespace: 'kube-system', name: 'kube-dns', type: 'ClusterIP', clusterIP: '10.96.0.53', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] },
  ];
  if (withDb) services.push({ namespace: 'default', name: 'db', type: 'ClusterIP', clusterIP: '10.96.0.20', internalTrafficPolicy: 'Local', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] });
  const ep = (i: number, nodeName: string) => ({ ip: `10.244.${nodeName === 'node1' ? 1 : 2}.${i}`, port: 8080, ready: true, nodeName });
  return {
    node,
    services,
    endpoints: {
      'default/kubernetes:https': [{ ip: '192.168.56.10', port: 6443, ready: true, nodeName: 'control' }],
      'default/web:http': Array.from({ length: webEndpoints }, (_, i) => ep(10 + i, i % 2 ? 'node1' : 'node2')),
      'default/lb:http': [ep(30, 'node1'), ep(31, 'node2')],
      'default/db:pg': [ep(40, 'node1')],
    },
  };
}

test.serial('iptables: full sync loads, jump rules hook in, partial sync leaves what a full sync gives', async (t) => {
  if (!canRun(t)) return;
  const ns = await netns(t);
  const first = iptablesSync(world(2), opts);
  await inNs(ns, ['iptables-restore', '-w', '--noflush'], first.payload);
  await ensureJumps(ns);
  await ensureJumps(ns); // ensuring twice adds nothing
  const nat = await saved(ns, 'nat');
  for (const chain of ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ', 'KUBE-SVC-NPX46M4PTMTKRN6Y']) t.truthy(nat[chain], chain);
  t.true(Object.keys(nat).some((c) => c.startsWith('KUBE-SEP-')));
  t.true(Object.keys(nat).some((c) => c.startsWith('KUBE-FW-')));
  t.is(nat.PREROUTING!.filter((r) => r.includes('kubelab:kltest kubernetes service portals')).length, 1);
  t.is(nat.POSTROUTING!.filter((r) => r.includes('-j KUBE-POSTROUTING')).length, 1);
  const filter = await saved(ns, 'filter');
  t.true(filter['KUBE-FORWARD']!.length >= 3);

  // Partial syncs on top: more web endpoints, then db removed.
  let state = first.state;
  for (const next of [world(3), world(3, false), world(1, false)]) {
    const partial = iptablesSync(next, opts, state);
    t.false(partial.full);
    await inNs(ns, ['iptables-restore', '-w', '--noflush'], partial.payload);
    state = partial.state;
    const fresh = await netns(t);
    await inNs(fresh, ['iptables-restore', '-w', '--noflush'], iptablesSync(next, opts).payload);
    await ensureJumps(fresh);
    t.deepEqual(await saved(ns, 'nat'), await saved(fresh, 'nat'));
    t.deepEqual(await saved(ns, 'filter'), await saved(fresh, 'filter'));
  }
});

test.serial('nftables: full sync loads, partial syncs with cleanup leave what a full sync gives', async (t) => {
  if (!canRun(t)) return;
  const ns = await netns(t);
  const first = nftablesSync(world(2), opts);
  const dir = mkdtempSync(path.join(tmpdir(), 'kltest-nft-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const load = async (target: string, script: string, name: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, script);
    await inNs(target, ['nft', '-f', file]);
  };
  await load(ns, first.script, 'full.nft');
  const { stdout } = await inNs(ns, ['nft', 'list', 'table', 'ip', 'kube-proxy']);
  t.regex(stdout, /map service-ips/);
  t.regex(stdout, /chain service-[A-Z2-7]{8}-default\/web\/tcp\/http/);
  t.regex(stdout, /numgen random mod 2 (== )?0 goto endpoint-/); // nft lists `== 0` as ` 0`
  t.regex(stdout, /set affinity-[A-Z2-7]{8}-default\/web\/tcp\/http__10\.244\.2\.10\/8080/);

  let state = first.state;
  for (const [i, next] of [world(3), world(3, false), world(1, false)].entries()) {
    const partial = nftablesSync(next, opts, state);
    t.false(partial.full);
    if (partial.cleanup) await load(ns, partial.cleanup, `cleanup-${i}.nft`);
    await load(ns, partial.script, `partial-${i}.nft`);
    state = partial.state;
    const fresh = await netns(t);
    await load(fresh, nftablesSync(next, opts).script, `fresh-${i}.nft`);
    t.deepEqual(await nftListed(ns), await nftListed(fresh));
  }
});

/**
 * A node namespace (the router) between a client outside the cluster and an endpoint pod, each in
 * its own namespace, joined by veth pairs created inside the node namespace.
 */
async function topology(t: ExecutionContext) {
  const [router, client, pod] = [await netns(t), await netns(t), await netns(t)];
  await execa('ip', ['-n', router, 'link', 'add', 'kl-c', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', client]);
  await execa('ip', ['-n', router, 'link', 'add', 'kl-p', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod]);
  const cmds: string[][] = [
    [router, 'addr', 'add', '192.168.56.11/24', 'dev', 'kl-c'],
    [router, 'addr', 'add', '10.244.1.1/24', 'dev', 'kl-p'],
    [router, 'link', 'set', 'kl-c', 'up'],
    [router, 'link', 'set', 'kl-p', 'up'],
    [client, 'addr', 'add', '192.168.56.50/24', 'dev', 'eth0'],
    [client, 'link', 'set', 'eth0', 'up'],
    [client, 'route', 'add', 'default', 'via', '192.168.56.11'],
    [pod, 'addr', 'add', '10.244.1.5/24', 'dev', 'eth0'],
    [pod, 'link', 'set', 'eth0', 'up'],
    [pod, 'route', 'add', 'default', 'via', '10.244.1.1'],
  ];
  for (const [ns, ...args] of cmds) await execa('ip', ['-n', ns!, ...args]);
  await inNs(router, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);

  // The endpoint: busybox httpd answering with the client address it saw (a CGI script).
  const www = mkdtempSync(path.join(tmpdir(), 'kltest-www-'));
  t.teardown(() => rmSync(www, { recursive: true, force: true }));
  mkdirSync(path.join(www, 'cgi-bin'));
  writeFileSync(path.join(www, 'cgi-bin', 'who'), '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\nendpoint=10.244.1.5 client=%s\\n" "$REMOTE_ADDR"\n');
  chmodSync(path.join(www, 'cgi-bin', 'who'), 0o755);
  const server: ResultPromise = execa('ip', ['netns', 'exec', pod, 'busybox', 'httpd', '-f', '-p', '0.0.0.0:8080', '-h', www], { reject: false });
  t.teardown(async () => {
    server.kill('SIGTERM');
    await server;
  });
  return { router, client, pod };
}

const dnatWorld: ProxyInput = {
  node,
  services: [{ namespace: 'default', name: 'web', type: 'NodePort', clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }] }],
  endpoints: { 'default/web:http': [{ ip: '10.244.1.5', port: 8080, ready: true, nodeName: 'node1' }] },
};

async function fetchFrom(client: string, url: string): Promise<string> {
  // A few tries: httpd may still be starting.
  let last = '';
  for (let i = 0; i < 20; i++) {
    // `timeout` rather than wget's own -T, which crashes busybox 1.35's wget.
    const r = await execa('ip', ['netns', 'exec', client, 'timeout', '3', 'busybox', 'wget', '-q', '-O', '-', url], { reject: false });
    if (r.exitCode === 0) return r.stdout.trim();
    last = r.stderr;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`wget ${url} from ${client} failed: ${last}`);
}

for (const mode of ['iptables', 'nftables'] as const) {
  test.serial(`${mode}: a connection to the ClusterIP and the NodePort reaches the endpoint, masqueraded`, async (t) => {
    if (!canRun(t)) return;
    const { router, client } = await topology(t);
    if (mode === 'iptables') {
      await inNs(router, ['iptables-restore', '-w', '--noflush'], iptablesSync(dnatWorld, opts).payload);
      await ensureJumps(router);
    } else {
      const dir = mkdtempSync(path.join(tmpdir(), 'kltest-nft-'));
      t.teardown(() => rmSync(dir, { recursive: true, force: true }));
      writeFileSync(path.join(dir, 'full.nft'), nftablesSync(dnatWorld, opts).script);
      await inNs(router, ['nft', '-f', path.join(dir, 'full.nft')]);
    }
    // The client is off the pod network, so the node masquerades it: the endpoint sees the node's
    // address on its side (10.244.1.1), and the reply finds its way back through the DNAT.
    t.is(await fetchFrom(client, 'http://10.96.0.10/cgi-bin/who'), 'endpoint=10.244.1.5 client=10.244.1.1');
    t.is(await fetchFrom(client, 'http://192.168.56.11:30080/cgi-bin/who'), 'endpoint=10.244.1.5 client=10.244.1.1');
  });
}
