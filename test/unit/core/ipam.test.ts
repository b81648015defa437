import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { allocatePodCIDR } from '../../../src/controllers/podcidr.ts';
import { gatewayOf, HostLocalIpam, nextFreeAddress } from '../../../src/node/ipam.ts';

test('the first pod address of a /24 is .2: .0 is the network, .1 the bridge', (t) => {
  t.is(nextFreeAddress('10.244.1.0/24', new Set()), '10.244.1.2');
  t.is(gatewayOf('10.244.1.0/24'), '10.244.1.1');
});

test('allocation continues after the last reserved address and wraps, skipping the broadcast', (t) => {
  t.is(nextFreeAddress('10.244.1.0/24', new Set(['10.244.1.2']), '10.244.1.2'), '10.244.1.3');
  t.is(nextFreeAddress('10.244.1.0/24', new Set(), '10.244.1.254'), '10.244.1.2');
  const full = new Set(Array.from({ length: 253 }, (_, i) => `10.244.1.${i + 2}`));
  t.is(nextFreeAddress('10.244.1.0/24', full), undefined);
});

test('host-local IPAM keeps an owner on its address across instances and frees it on release', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ipam-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const a = new HostLocalIpam(dir);
  const ip1 = a.allocate('10.244.2.0/24', 'pod/default/a');
  const ip2 = a.allocate('10.244.2.0/24', 'pod/default/b');
  t.not(ip1, ip2);
  const restarted = new HostLocalIpam(dir);
  t.is(restarted.allocate('10.244.2.0/24', 'pod/default/a'), ip1);
  restarted.release('pod/default/a');
  t.is(restarted.addressOf('pod/default/a'), undefined);
  // host-local does not hand a freed address straight back out.
  t.not(restarted.allocate('10.244.2.0/24', 'pod/default/c'), ip1);
});

test('node subnets: the preferred index when free, else the lowest free /24', (t) => {
  t.is(allocatePodCIDR('10.244.0.0/16', 24, [], 1), '10.244.1.0/24');
  t.is(allocatePodCIDR('10.244.0.0/16', 24, ['10.244.1.0/24'], 1), '10.244.0.0/24');
  t.is(allocatePodCIDR('10.244.0.0/16', 24, ['10.244.0.0/24', '10.244.1.0/24']), '10.244.2.0/24');
  t.throws(() => allocatePodCIDR('10.244.0.0/23', 24, ['10.244.0.0/24', '10.244.1.0/24']), { message: /no free \/24/ });
});
