import test from 'ava';
import { nftablesCleanupScript, nftablesFullSync, nftablesSync } from '../../../src/proxy/nftables.ts';
import { applyNft, base32Reference, eps, input, nftView, node, sha256, svc } from './helpers.ts';
import type { ProxyInput } from '../../../src/proxy/types.ts';

const opts = { cluster: 'demo' };

function serviceChain(ns: string, name: string, proto: string, port: string): string {
  const readable = `${ns}/${name}/${proto}/${port}`;
  return `service-${base32Reference(sha256(readable)).slice(0, 8)}-${readable}`;
}

test('everything lives in table ip kube-proxy: the first sync replaces it in one transaction, later ones re-fill it', (t) => {
  const first = nftablesSync(input([svc('web', '10.96.0.10')], { 'default/web:http': eps(2) }), opts);
  for (const line of first.script.trim().split('\n')) t.regex(line, /^(add|flush|delete) (table|chain|rule|set|map|element) ip kube-proxy\b/);
  // What an earlier run left goes with the same transaction that writes the new table.
  t.deepEqual(first.script.split('\n').slice(0, 3), ['add table ip kube-proxy', 'delete table ip kube-proxy', 'add table ip kube-proxy { comment "rules for kube-proxy" ; }']);
  t.notRegex(first.script, /^flush /m, 'nothing to flush in a table made in this transaction');
  // Base chains hook into netfilter with kube-proxy's priorities (dstnat = -100, srcnat = 100).
  t.regex(first.script, /add chain ip kube-proxy nat-prerouting \{ type nat hook prerouting priority -100 ; \}/);
  t.regex(first.script, /add chain ip kube-proxy nat-postrouting \{ type nat hook postrouting priority 100 ; \}/);
  t.regex(first.script, /add chain ip kube-proxy filter-forward \{ type filter hook forward priority -110 ; \}/);
  // A later full sync (settings changed) keeps the table: add + flush, as kube-proxy does.
  const again = nftablesFullSync(input([svc('web', '10.96.0.10')], { 'default/web:http': eps(2) }), opts, first.state);
  t.notRegex(again.script, /delete table/);
  t.regex(again.script, /^flush chain ip kube-proxy nat-prerouting$/m);
  t.deepEqual(nftView(applyNft(again.script, applyNft(first.script))), nftView(applyNft(first.script)));
});

test('ClusterIP dispatch: service-ips maps ip . proto . port to the service chain', (t) => {
  const services = [
    svc('web', '10.96.0.10', { ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }] }),
  ];
  const table = applyNft(nftablesSync(input(services, { 'default/web:http': eps(2), 'default/web:dns': eps(1) }), opts).script);
  const map = table.sets.get('service-ips')!;
  t.is(map.get('10.96.0.10 . tcp . 80'), `goto ${serviceChain('default', 'web', 'tcp', 'http')}`);
  t.is(map.get('10.96.0.10 . udp . 53'), `goto ${serviceChain('default', 'web', 'udp', 'dns')}`);
  t.deepEqual([...table.sets.get('cluster-ips')!.keys()], ['10.96.0.10']);
  t.true(table.chains.get('services')!.some((r) => r.includes('vmap @service-ips')));
});

/**
 * The probability of reaching each chain from a service chain's endpoint-choice rules, computed
 * from the rules' text: `numgen random mod M == 0 goto X` takes 1/M of what reaches it, `goto X`
 * the rest, `numgen random mod N vmap { i : goto X ... }` 1/N per entry.
 */
function choiceProbabilities(rules: string[]): Map<string, number> {
  const p = new Map<string, number>();
  let left = 1;
  for (const r of rules) {
    let m = /^numgen random mod (\d+) == 0 goto (\S+)$/.exec(r);
    if (m) {
      p.set(m[2]!, (p.get(m[2]!) ?? 0) + left / Number(m[1]));
      left -= left / Number(m[1]);
      continue;
    }
    m = /^goto (\S+)$/.exec(r);
    if (m) {
      p.set(m[1]!, (p.get(m[1]!) ?? 0) + left);
      left = 0;
      continue;
    }
    m = /^numgen random mod (\d+) vmap \{ (.*) \}$/.exec(r);
    if (m) {
      const entries = m[2]!.split(' , ').map((e) => /^(\d+) : goto (\S+)$/.exec(e)!);
      for (const e of entries) p.set(e[2]!, (p.get(e[2]!) ?? 0) + left / Number(m[1]));
      left -= (left * entries.length) / Number(m[1]);
    }
  }
  return p;
}

for (const selection of ['cascade', 'vmap'] as const) {
  for (const n of [1, 2, 3, 5, 8]) {
    test(`${selection}: with ${n} endpoints each endpoint chain is chosen with probability exactly 1/${n}`, (t) => {
      const table = applyNft(nftablesSync(input([svc('web', '10.96.0.10')], { 'default/web:http': eps(n) }), { ...opts, nftEndpointSelection: selection }).script);
      const chain = table.chains.get(serviceChain('default', 'web', 'tcp', 'http'))!;
      const choice = chain.filter((r) => r.startsWith('numgen') || r.startsWith('goto '));
      if (selection === 'vmap') t.regex(choice[0]!, new RegExp(`^numgen random mod ${n} vmap`));
      else t.is(choice.length, n, 'one rule per endpoint');
      const probabilities = choiceProbabilities(choice);
      t.is(probabilities.size, n);
      for (const pr of probabilities.values()) t.true(Math.abs(pr - 1 / n) < 1e-12, `got ${pr}`);
      // Each endpoint chain DNATs to one distinct ready endpoint.
      const dests = [...probabilities.keys()].map((c) => /dnat to (\S+)$/.exec(table.chains.get(c)!.at(-1)!)![1]);
      t.deepEqual(dests.sort(), eps(n).map((e) => `${e.ip}:${e.port}`).sort());
    });
  }
}

test('masquerade via the mark: mark-for-masquerade ORs it in, masquerading clears it and masquerades', (t) => {
  const table = applyNft(nftablesSync(input([svc('web', '10.96.0.10')], { 'default/web:http': eps(1) }), opts).script);
  t.deepEqual(table.chains.get('mark-for-masquerade'), ['mark set mark or 0x4000']);
  t.deepEqual(table.chains.get('masquerading'), ['mark and 0x4000 == 0 return', 'mark set mark xor 0x4000', 'masquerade fully-random']);
  const svcRules = table.chains.get(serviceChain('default', 'web', 'tcp', 'http'))!;
  t.is(svcRules[0], `ip daddr 10.96.0.10 tcp dport 80 ip saddr != ${node.clusterCIDR} jump mark-for-masquerade`);
  const ep = [...table.chains].find(([c]) => c.startsWith('endpoint-'))![1];
  t.is(ep[0], `ip saddr ${eps(1)[0]!.ip} jump mark-for-masquerade`, 'hairpin');
});

test('ClientIP affinity uses one timed set per endpoint, checked before the random choice', (t) => {
  const s = svc('web', '10.96.0.10', { sessionAffinity: 'ClientIP', sessionAffinityTimeoutSeconds: 300 });
  const { script } = nftablesSync(input([s], { 'default/web:http': eps(2) }), opts);
  const table = applyNft(script);
  const sets = [...table.sets.keys()].filter((k) => k.startsWith('affinity-'));
  t.is(sets.length, 2);
  for (const set of sets) t.regex(script, new RegExp(`add set ip kube-proxy ${set.replaceAll('.', '\\.')} \\{ type ipv4_addr ; flags dynamic,timeout ; timeout 300s ; \\}`));
  const chain = table.chains.get(serviceChain('default', 'web', 'tcp', 'http'))!;
  const checks = chain.filter((r) => r.startsWith('ip saddr @affinity-'));
  t.is(checks.length, 2);
  t.true(chain.indexOf(checks.at(-1)!) < chain.findIndex((r) => r.startsWith('numgen')));
  for (const check of checks) {
    const [, set, ep] = /^ip saddr @(\S+) goto (\S+)$/.exec(check)!;
    t.true(table.chains.get(ep!)!.includes(`update @${set} { ip saddr }`));
  }
});

test('services without endpoints are rejected through no-endpoint-services; Local without local endpoints drops', (t) => {
  const empty = svc('empty', '10.96.0.40', { type: 'NodePort', ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30040 }] });
  const local = svc('local', '10.96.0.41', { type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30041 }] });
  const table = applyNft(nftablesSync(input([empty, local], { 'default/local:http': eps(2, 0) }), opts).script);
  t.is(table.sets.get('no-endpoint-services')!.get('10.96.0.40 . tcp . 80'), 'goto reject-chain');
  t.is(table.sets.get('no-endpoint-nodeports')!.get('tcp . 30040'), 'goto reject-chain');
  t.is(table.sets.get('no-endpoint-nodeports')!.get('tcp . 30041'), 'drop');
  t.truthy(table.sets.get('service-ips')!.get('10.96.0.41 . tcp . 80'), 'the ClusterIP still works');
});

test('externalTrafficPolicy Local: the external chain short-circuits pods and the host, else goes to local endpoints', (t) => {
  const s = svc('web', '10.96.0.10', { type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }] });
  const table = applyNft(nftablesSync(input([s], { 'default/web:http': eps(3, 1) }), opts).script);
  const ext = table.sets.get('service-nodeports')!.get('tcp . 30080')!.replace('goto ', '');
  t.true(ext.startsWith('external-'));
  const rules = table.chains.get(ext)!;
  t.false(rules.some((r) => r === 'jump mark-for-masquerade'), 'no unconditional masquerade');
  const last = rules.at(-1)!.replace('goto ', '');
  t.true(last.startsWith('local-'));
  const local = table.chains.get(last)!;
  t.regex(local.at(-1)!, /^goto endpoint-/, 'one local endpoint: no random choice left');
});

test('chain and set names stay within nft limits', (t) => {
  const long = 'n'.repeat(63);
  const s = { ...svc(long, '10.96.0.10', { sessionAffinity: 'ClientIP', ports: [{ name: long.slice(0, 15), port: 80, protocol: 'SCTP' }] }), namespace: long };
  const table = applyNft(nftablesSync(input([s], { [`${long}/${long}:${long.slice(0, 15)}`]: eps(2) }), opts).script);
  for (const name of [...table.chains.keys(), ...table.sets.keys()]) t.true(name.length <= 256, name);
});

function world(webEndpoints: number, withOther = true): ProxyInput {
  const services = [svc('web', '10.96.0.10', { sessionAffinity: 'ClientIP' }), svc('db', '10.96.0.20', { ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] })];
  if (withOther) services.push(svc('other', '10.96.0.30', { type: 'NodePort', ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30030 }] }));
  return input(services, { 'default/web:http': eps(webEndpoints), 'default/db:pg': eps(2, 0, 40), 'default/other:http': eps(2, 0, 60) });
}

test('incremental update of one service touches only its chains and map elements', (t) => {
  const first = nftablesSync(world(2), opts);
  const second = nftablesSync(world(3), opts, first.state);
  t.false(second.full);
  t.deepEqual(second.changedServices, ['default/web']);
  for (const line of second.script.trim().split('\n')) {
    t.regex(line, /default\/web\/|affinity-/, line);
  }
  t.notRegex(second.script, /flush map|add map|add table/);
});

test('incremental syncs applied in turn equal a full sync of the final state', (t) => {
  const steps = [world(2), world(3), world(1), world(0), world(1, false), world(4)];
  let sync = nftablesSync(steps[0]!, opts);
  let table = applyNft(sync.script);
  for (const next of steps.slice(1)) {
    const partial = nftablesSync(next, opts, sync.state);
    t.false(partial.full);
    if (partial.cleanup) table = applyNft(partial.cleanup, table);
    table = applyNft(partial.script, table);
    t.deepEqual(nftView(table), nftView(applyNft(nftablesSync(next, opts).script)));
    sync = partial;
  }
});

test('a removed service has its chains flushed now and deleted by the next sync', (t) => {
  const first = nftablesSync(world(2), opts);
  const second = nftablesSync(world(2, false), opts, first.state);
  const gone = [...first.state.chains].filter((c) => c.includes('default/other/'));
  t.is(gone.length, 4); // service, external, two endpoints
  for (const c of gone) t.true(second.script.includes(`flush chain ip kube-proxy ${c}\n`));
  t.true(second.script.includes('delete element ip kube-proxy service-nodeports { tcp . 30030 }'));
  t.deepEqual([...second.state.staleChains].sort(), gone.sort());
  const third = nftablesSync(world(2, false), opts, second.state);
  for (const c of gone) t.true(third.cleanup!.includes(`delete chain ip kube-proxy ${c}\n`));
  let table = applyNft(first.script);
  table = applyNft(second.script, table);
  table = applyNft(third.cleanup!, table);
  table = applyNft(third.script, table);
  for (const c of gone) t.false(table.chains.has(c));
});

test('a full sync with a previous state re-creates everything and flushes what is gone', (t) => {
  const first = nftablesSync(world(2), opts);
  const full = nftablesFullSync(world(2, false), opts, first.state);
  t.true(full.full);
  let table = applyNft(first.script);
  table = applyNft(full.script, table);
  t.deepEqual(nftView(table), nftView(applyNft(nftablesSync(world(2, false), opts).script)));
  t.is(nftablesCleanupScript(), 'add table ip kube-proxy\ndelete table ip kube-proxy\n');
});
