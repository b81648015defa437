import test from 'ava';
import { hostNetns, IFNAMSIZ, isPodNetns, podHostVeth, podNetns, validateClusterName } from '../../../src/naming.ts';

test('every derived interface name fits the kernel limit of 15 bytes', (t) => {
  for (const [ns, name] of [['default', 'web'], ['a-very-long-namespace-name-indeed', 'x'.repeat(253)]] as const) {
    t.true(podHostVeth(ns, name).length <= IFNAMSIZ);
  }
});

test('host veth names differ between pods and are stable for one pod', (t) => {
  t.is(podHostVeth('default', 'web'), podHostVeth('default', 'web'));
  t.not(podHostVeth('default', 'web'), podHostVeth('other', 'web'));
});

test('namespace names carry the cluster, and pod namespaces are told apart from hosts', (t) => {
  t.true(hostNetns('demo', 'node1').startsWith('kl-demo-'));
  t.true(isPodNetns('demo', podNetns('demo', 'default', 'web')));
  t.false(isPodNetns('demo', hostNetns('demo', 'node1')));
  t.false(isPodNetns('other', podNetns('demo', 'default', 'web')));
});

for (const bad of ['', 'Upper', '1abc', 'has-dash', 'waytoolongname1']) {
  test(`cluster name ${JSON.stringify(bad)} is refused with the rule`, (t) => {
    t.throws(() => validateClusterName(bad), { message: /invalid cluster name/ });
  });
}
