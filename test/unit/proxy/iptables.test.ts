import test from 'ava';
import { iptablesJumpRules, iptablesSync, jumpRuleArgv } from '../../../src/proxy/iptables.ts';
import { ProxyInputError } from '../../../src/proxy/model.ts';
import { base32Reference, sha256, applyRestore, dnatDistribution, eps, input, node, opt, svc, target } from './helpers.ts';
import type { ProxyInput, ProxyOptions } from '../../../src/proxy/types.ts';

const opts: ProxyOptions = { cluster: 'demo' };

function svcChain(spn: string, proto = 'tcp'): string {
  return `KUBE-SVC-${base32Reference(sha256(spn + proto)).slice(0, 16)}`;
}

function tablesOf(i: ProxyInput, o = opts) {
  const r = iptablesSync(i, o);
  const tables = applyRestore(r.payload);
  return { r, nat: tables.get('nat')!, filter: tables.get('filter')! };
}

/** The KUBE-SERVICES rule that captures `ip:port/proto`. */
function capture(chain: string[][], ip: string, port: number, proto = 'tcp') {
  return chain.find((r) => opt(r, '-d') === ip && opt(r, '--dport') === String(port) && opt(r, '-p') === proto);
}

test('every service port with endpoints is reachable from KUBE-SERVICES and reaches only its ready endpoints', (t) => {
  const services = [
    svc('web', '10.96.0.10', { ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }] }),
    svc('api', '10.96.0.11', { ports: [{ name: '', port: 443, protocol: 'TCP' }] }),
  ];
  const notReady = { ip: '10.244.2.99', port: 8080, ready: false, nodeName: 'node2' };
  const endpoints = { 'default/web:http': eps(3), 'default/web:dns': eps(2, 0, 50), 'default/api': [...eps(1, 1), notReady] };
  const { nat } = tablesOf(input(services, endpoints));
  const cases: [string, number, string, string][] = [
    ['10.96.0.10', 80, 'tcp', 'default/web:http'],
    ['10.96.0.10', 53, 'udp', 'default/web:dns'],
    ['10.96.0.11', 443, 'tcp', 'default/api'],
  ];
  for (const [ip, port, proto, spn] of cases) {
    const rule = capture(nat.get('KUBE-SERVICES')!, ip, port, proto);
    t.truthy(rule, `${spn} captured`);
    t.is(target(rule!), svcChain(spn, proto));
    const reached = [...dnatDistribution(nat, target(rule!)!).keys()].sort();
    const expected = endpoints[spn as keyof typeof endpoints].filter((e) => e.ready).map((e) => `${e.ip}:${e.port}`).sort();
    t.deepEqual(reached, expected, spn);
  }
  // The NodePort catch-all comes last, after every service's capture rule.
  t.is(target(nat.get('KUBE-SERVICES')!.at(-1)!), 'KUBE-NODEPORTS');
});

for (const n of [1, 2, 3, 4, 5, 7, 10, 32]) {
  test(`${n} endpoints each get probability 1/${n}, printed as kube-proxy's %0.10f`, (t) => {
    const { nat } = tablesOf(input([svc('web', '10.96.0.10')], { 'default/web:http': eps(n) }));
    const chain = nat.get(svcChain('default/web:http'))!;
    for (const p of chain.map((r) => opt(r, '--probability')).filter((p) => p !== undefined)) t.regex(p!, /^0\.\d{10}$|^1\.0{10}$/);
    const dist = dnatDistribution(nat, svcChain('default/web:http'));
    t.is(dist.size, n);
    let total = 0;
    for (const [, p] of dist) {
      t.true(Math.abs(p - 1 / n) < 1e-8, `P=${p} for n=${n}`);
      total += p;
    }
    t.true(Math.abs(total - 1) < 1e-9);
  });
}

test('ClientIP affinity: recent checks with timeout and reap in the service chain, --set in each endpoint chain', (t) => {
  const { nat } = tablesOf(input([svc('web', '10.96.0.10', { sessionAffinity: 'ClientIP', sessionAffinityTimeoutSeconds: 42 })], { 'default/web:http': eps(3) }));
  const chain = nat.get(svcChain('default/web:http'))!;
  const checks = chain.filter((r) => r.includes('--rcheck'));
  t.is(checks.length, 3);
  for (const r of checks) {
    t.is(opt(r, '--seconds'), '42');
    t.true(r.includes('--reap'));
    // The recent list is named after the endpoint chain it leads to, and that chain records it.
    t.is(opt(r, '--name'), target(r));
    const sep = nat.get(target(r)!)!;
    const dnat = sep.find((x) => target(x) === 'DNAT')!;
    t.true(dnat.includes('--set'));
    t.is(opt(dnat, '--name'), target(r));
  }
  // Affinity checks come before the random choice.
  const lastCheck = chain.map((r) => r.includes('--rcheck')).lastIndexOf(true);
  t.true(chain.findIndex((r) => r.includes('statistic')) > lastCheck);
});

test('affinity timeout defaults to Kubernetes default of 10800 seconds', (t) => {
  const { nat } = tablesOf(input([svc('web', '10.96.0.10', { sessionAffinity: 'ClientIP' })], { 'default/web:http': eps(1) }));
  t.is(opt(nat.get(svcChain('default/web:http'))!.find((r) => r.includes('--rcheck'))!, '--seconds'), '10800');
});

test('hairpin: each endpoint chain masquerades traffic from the endpoint itself', (t) => {
  const { nat } = tablesOf(input([svc('web', '10.96.0.10')], { 'default/web:http': eps(3) }));
  for (const ep of eps(3)) {
    const sepName = `KUBE-SEP-${base32Reference(sha256(`default/web:httptcp${ep.ip}:${ep.port}`)).slice(0, 16)}`;
    const sep = nat.get(sepName)!;
    t.truthy(sep, sepName);
    t.truthy(sep.find((r) => opt(r, '-s') === ep.ip && target(r) === 'KUBE-MARK-MASQ'));
    t.truthy(sep.find((r) => target(r) === 'DNAT' && opt(r, '--to-destination') === `${ep.ip}:${ep.port}`));
  }
});

test('traffic to a ClusterIP from outside the pod network is marked for masquerade; --masquerade-all marks all', (t) => {
  const i = input([svc('web', '10.96.0.10')], { 'default/web:http': eps(2) });
  const first = tablesOf(i).nat.get(svcChain('default/web:http'))![0]!;
  t.is(target(first), 'KUBE-MARK-MASQ');
  t.is(first[first.indexOf('-s') - 1], '!');
  t.is(opt(first, '-s'), node.clusterCIDR);
  const all = tablesOf(i, { ...opts, masqueradeAll: true }).nat.get(svcChain('default/web:http'))![0]!;
  t.is(target(all), 'KUBE-MARK-MASQ');
  t.is(opt(all, '-s'), undefined);
});

test('KUBE-POSTROUTING and KUBE-MARK-MASQ use the node mark as kube-proxy writes them', (t) => {
  const { nat } = tablesOf(input([], {}));
  t.deepEqual(nat.get('KUBE-MARK-MASQ'), [['-j', 'MARK', '--or-mark', '0x4000']]);
  const post = nat.get('KUBE-POSTROUTING')!;
  t.deepEqual(post[0], ['-m', 'mark', '!', '--mark', '0x4000/0x4000', '-j', 'RETURN']);
  t.deepEqual(post[1], ['-j', 'MARK', '--xor-mark', '0x4000']);
  t.deepEqual(post[2], ['-m', 'comment', '--comment', 'kubernetes service traffic requiring SNAT', '-j', 'MASQUERADE', '--random-fully']);
});

test('a service without ready endpoints is rejected in the filter table and has no nat chains', (t) => {
  const s = svc('web', '10.96.0.10', { type: 'NodePort', ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }] });
  const { nat, filter } = tablesOf(input([s], { 'default/web:http': [{ ip: '10.244.2.1', port: 8080, ready: false }] }));
  const reject = capture(filter.get('KUBE-SERVICES')!, '10.96.0.10', 80)!;
  t.is(target(reject), 'REJECT');
  t.is(opt(reject, '--comment'), 'default/web:http has no endpoints');
  const np = filter.get('KUBE-EXTERNAL-SERVICES')!.find((r) => opt(r, '--dport') === '30080')!;
  t.is(target(np), 'REJECT');
  t.falsy(capture(nat.get('KUBE-SERVICES')!, '10.96.0.10', 80));
  t.false([...nat.keys()].some((c) => c.startsWith('KUBE-SVC-') || c.startsWith('KUBE-SEP-')));
});

test('externalTrafficPolicy Local: NodePort traffic keeps its source and reaches only local endpoints', (t) => {
  const s = svc('web', '10.96.0.10', { type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }] });
  const all = eps(3, 1);
  const { nat } = tablesOf(input([s], { 'default/web:http': all }));
  const np = nat.get('KUBE-NODEPORTS')!.find((r) => opt(r, '--dport') === '30080')!;
  const ext = nat.get(target(np)!)!;
  t.true(target(np)!.startsWith('KUBE-EXT-'));
  // No unconditional masquerade: only host-originated (src-type LOCAL) traffic is marked.
  for (const r of ext.filter((r) => target(r) === 'KUBE-MARK-MASQ')) t.true(r.includes('--src-type'));
  // External clients (neither pods nor the host) fall through to the Local chain.
  const last = ext.at(-1)!;
  t.true(target(last)!.startsWith('KUBE-SVL-'));
  t.deepEqual([...dnatDistribution(nat, target(last)!).keys()], [`${all[0]!.ip}:8080`]);
  // ClusterIP traffic still uses every endpoint.
  t.is(dnatDistribution(nat, target(capture(nat.get('KUBE-SERVICES')!, '10.96.0.10', 80)!)!).size, 3);
});

test('externalTrafficPolicy Local without local endpoints drops external traffic, keeps the ClusterIP working', (t) => {
  const s = svc('web', '10.96.0.10', { type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }] });
  const { nat, filter } = tablesOf(input([s], { 'default/web:http': eps(2, 0) }));
  const drop = filter.get('KUBE-EXTERNAL-SERVICES')!.find((r) => opt(r, '--dport') === '30080')!;
  t.is(target(drop), 'DROP');
  t.is(opt(drop, '--comment'), 'default/web:http has no local endpoints');
  const ext = nat.get(target(nat.get('KUBE-NODEPORTS')![0]!)!)!;
  t.false(ext.some((r) => target(r)?.startsWith('KUBE-SVL-')));
  t.is(dnatDistribution(nat, target(capture(nat.get('KUBE-SERVICES')!, '10.96.0.10', 80)!)!).size, 2);
});

test('internalTrafficPolicy Local: ClusterIP goes to local endpoints only, or is dropped without them', (t) => {
  const s = svc('web', '10.96.0.10', { internalTrafficPolicy: 'Local' });
  const some = tablesOf(input([s], { 'default/web:http': eps(3, 2) }));
  const rule = capture(some.nat.get('KUBE-SERVICES')!, '10.96.0.10', 80)!;
  t.true(target(rule)!.startsWith('KUBE-SVL-'));
  t.deepEqual([...dnatDistribution(some.nat, target(rule)!).keys()].sort(), ['10.244.1.10:8080', '10.244.1.11:8080']);
  t.false([...some.nat.keys()].some((c) => c.startsWith('KUBE-SVC-')), 'no Cluster chain is needed');

  const none = tablesOf(input([s], { 'default/web:http': eps(2, 0) }));
  const drop = capture(none.filter.get('KUBE-SERVICES')!, '10.96.0.10', 80)!;
  t.is(target(drop), 'DROP');
  t.falsy(capture(none.nat.get('KUBE-SERVICES')!, '10.96.0.10', 80));
});

test('LoadBalancer with source ranges goes through KUBE-FW, other sources are dropped by KUBE-PROXY-FIREWALL', (t) => {
  const s = svc('lb', '10.96.0.30', {
    type: 'LoadBalancer',
    loadBalancerIngressIPs: ['203.0.113.10'],
    loadBalancerSourceRanges: ['198.51.100.0/24'],
    ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30081 }],
  });
  const { nat, filter } = tablesOf(input([s], { 'default/lb:http': eps(2) }));
  const lb = capture(nat.get('KUBE-SERVICES')!, '203.0.113.10', 80)!;
  t.true(target(lb)!.startsWith('KUBE-FW-'));
  const fw = nat.get(target(lb)!)!;
  t.deepEqual(fw.filter((r) => target(r)).map((r) => opt(r, '-s')), ['198.51.100.0/24']);
  t.true(target(fw[0]!)!.startsWith('KUBE-EXT-'));
  t.is(target(capture(filter.get('KUBE-PROXY-FIREWALL')!, '203.0.113.10', 80)!), 'DROP');
  // The load balancer IP without source ranges jumps straight to the EXT chain.
  const open = tablesOf(input([{ ...s, loadBalancerSourceRanges: [] }], { 'default/lb:http': eps(2) }));
  t.true(target(capture(open.nat.get('KUBE-SERVICES')!, '203.0.113.10', 80)!)!.startsWith('KUBE-EXT-'));
});

test('headless and ExternalName services get no rules', (t) => {
  const services = [svc('headless', 'None'), svc('ext', '', { type: 'ExternalName' })];
  const { r } = tablesOf(input(services, { 'default/headless:http': eps(2) }));
  t.notRegex(r.payload, /default\/(headless|ext)/);
});

test('no chain name is longer than 28 characters', (t) => {
  const services = Array.from({ length: 20 }, (_, i) =>
    svc(`service-with-a-long-name-${i}`, `10.96.1.${i}`, { type: 'LoadBalancer', externalTrafficPolicy: 'Local', loadBalancerIngressIPs: [`203.0.113.${i}`], loadBalancerSourceRanges: ['0.0.0.0/0'], ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30000 + i }] }),
  );
  const endpoints = Object.fromEntries(services.map((s) => [`default/${s.name}:http`, eps(3, 1)]));
  const { r } = tablesOf(input(services, endpoints));
  const chains = [...r.payload.matchAll(/^:(\S+)/gm)].map((m) => m[1]!);
  t.true(chains.length > 100);
  for (const c of chains) t.true(c.length <= 28, c);
});

test('above the large-cluster threshold, per-endpoint comments are dropped as kube-proxy does', (t) => {
  const i = input([svc('web', '10.96.0.10')], { 'default/web:http': eps(3) });
  const small = tablesOf(i).nat;
  const large = tablesOf(i, { ...opts, largeClusterEndpointsThreshold: 2 }).nat;
  const sepOf = (nat: typeof small) => [...nat].filter(([c]) => c.startsWith('KUBE-SEP-') || c.startsWith('KUBE-SVC-'));
  t.true(sepOf(small).flatMap(([, rules]) => rules).filter((r) => target(r) !== 'KUBE-MARK-MASQ' || !r.includes('!')).every((r) => r.includes('comment')));
  t.true(sepOf(large).flatMap(([, rules]) => rules).filter((r) => !r.includes('!')).every((r) => !r.includes('comment')));
  // Behaviour is unchanged.
  t.deepEqual(dnatDistribution(large, svcChain('default/web:http')), dnatDistribution(small, svcChain('default/web:http')));
});

test('nodePortAddresses=nodeIPs sends only the node IPs to KUBE-NODEPORTS', (t) => {
  const { nat } = tablesOf(input([], {}), { ...opts, nodePortAddresses: 'nodeIPs' });
  const tail = nat.get('KUBE-SERVICES')!.filter((r) => target(r) === 'KUBE-NODEPORTS');
  t.deepEqual(tail.map((r) => opt(r, '-d')), node.ips);
});

test('invalid input is rejected with the field at fault', (t) => {
  const bad: [ProxyInput, RegExp][] = [
    [input([svc('web', '10.96.0.300')], {}), /services\[0\] \(default\/web\)\.clusterIP/],
    [input([svc('web', '10.96.0.1', { ports: [{ name: 'a', port: 0, protocol: 'TCP' }] })], {}), /ports\[0\]\.port/],
    [input([svc('web', '10.96.0.1', { ports: [{ name: 'a', port: 80, protocol: 'ICMP' as 'TCP' }] })], {}), /ports\[0\]\.protocol/],
    [input([svc('web', '10.96.0.1'), svc('web', '10.96.0.2')], {}), /services\[1\]: duplicate service default\/web/],
    [input([svc('web', '10.96.0.1')], { 'default/web:http': [{ ip: 'nope', port: 80, ready: true }] }), /endpoints\["default\/web:http"\]\[0\]\.ip/],
  ];
  for (const [i, re] of bad) t.throws(() => iptablesSync(i, opts), { instanceOf: ProxyInputError, message: re });
});

test('jump rules from the built-in chains carry the kubelab tag and kube-proxy comment', (t) => {
  const rules = iptablesJumpRules('demo');
  const nat = rules.filter((r) => r.table === 'nat').map((r) => [r.chain, target(r.rule)]);
  t.deepEqual(nat, [
    ['OUTPUT', 'KUBE-SERVICES'],
    ['PREROUTING', 'KUBE-SERVICES'],
    ['POSTROUTING', 'KUBE-POSTROUTING'],
  ]);
  for (const r of rules) t.regex(opt(r.rule, '--comment')!, /^kubelab:demo kubernetes /);
  t.deepEqual(jumpRuleArgv(rules[9]!, '-C').slice(0, 6), ['iptables', '-w', '-t', 'nat', '-C', 'OUTPUT']);
});

// Partial sync: the services, the change, and the equivalence with a full sync.
function world(webEndpoints: number, withOther = true): ProxyInput {
  const services = [svc('web', '10.96.0.10'), svc('db', '10.96.0.20', { ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] })];
  if (withOther) services.push(svc('other', '10.96.0.30'));
  return input(services, {
    'default/web:http': eps(webEndpoints),
    'default/db:pg': eps(2, 0, 40),
    'default/other:http': eps(2, 0, 60),
  });
}

test('partial sync rewrites only the changed service and keeps KUBE-SERVICES complete', (t) => {
  const first = iptablesSync(world(2), opts);
  const second = iptablesSync(world(3), opts, first.state);
  t.false(second.full);
  t.deepEqual(second.changedServices, ['default/web']);
  const declared = [...second.payload.split('*nat')[1]!.matchAll(/^:(\S+)/gm)].map((m) => m[1]!);
  t.true(declared.includes(svcChain('default/web:http')));
  t.false(declared.includes(svcChain('default/db:pg')), 'an unchanged service chain is not declared (that would flush it)');
  t.notRegex(second.payload, /-A KUBE-SEP-\S+ -m comment --comment default\/db:pg/, 'no rule of an unchanged service chain');
  const services = applyRestore(second.payload, applyRestore(first.payload)).get('nat')!.get('KUBE-SERVICES')!;
  for (const ip of ['10.96.0.10', '10.96.0.20', '10.96.0.30']) t.truthy(services.find((r) => opt(r, '-d') === ip), ip);
});

test('a partial sync applied on top of the previous state equals a full sync of the new state', (t) => {
  const steps = [world(2), world(3), world(1), world(1, false), world(4, true)];
  let state = iptablesSync(steps[0]!, opts);
  let kernel = applyRestore(state.payload);
  for (const next of steps.slice(1)) {
    const partial = iptablesSync(next, opts, state.state);
    t.false(partial.full);
    kernel = applyRestore(partial.payload, kernel);
    const fresh = applyRestore(iptablesSync(next, opts).payload);
    t.deepEqual(Object.fromEntries([...kernel.get('nat')!].sort()), Object.fromEntries([...fresh.get('nat')!].sort()));
    t.deepEqual(kernel.get('filter'), fresh.get('filter'));
    state = partial;
  }
});

test('removing a service deletes its chains with -X', (t) => {
  const first = iptablesSync(world(2), opts);
  const second = iptablesSync(world(2, false), opts, first.state);
  t.deepEqual(second.changedServices, ['default/other']);
  const otherChains = [...first.state.natChains].filter((c) => !second.state.natChains.has(c));
  t.is(otherChains.length, 3); // KUBE-SVC + 2 KUBE-SEP
  t.deepEqual(second.deletedChains, [...otherChains].sort());
  for (const c of otherChains) t.true(second.payload.includes(`-X ${c}\n`));
});

test('an unchanged input gives a partial sync that touches no service chain', (t) => {
  const first = iptablesSync(world(2), opts);
  const again = iptablesSync(world(2), opts, first.state);
  t.deepEqual(again.changedServices, []);
  t.notRegex(again.payload, /KUBE-(SVC|SEP|EXT|SVL|FW)-\S+ - \[0:0\]/);
});

test('changed node facts force a full sync', (t) => {
  const first = iptablesSync(world(2), opts);
  const moved = { ...world(2), node: { ...node, clusterCIDR: '10.245.0.0/16' } };
  const second = iptablesSync(moved, opts, first.state);
  t.true(second.full);
  t.deepEqual(second.changedServices, ['default/db', 'default/other', 'default/web']);
});
