import test from 'ava';
import { renderShell, resolveArgv } from '../../../src/driver/command.ts';
import { makeConfig } from '../../../src/provider/config.ts';
import { topologyCommands } from '../../../src/provider/embedded/topology.ts';
import { HostGwBackend } from '../../../src/node/backends/hostgw.ts';
import { sandboxCommands } from '../../../src/node/podnet.ts';

test('the topology never runs a networking command in the host namespace', (t) => {
  const cmds = topologyCommands(makeConfig('demo', 2));
  for (const c of cmds) {
    const isNetnsAdd = c.argv[0] === 'ip' && c.argv[1] === 'netns' && c.argv[2] === 'add';
    t.true(isNetnsAdd || (c.netns ?? '').startsWith('kl-demo-'), renderShell(c));
  }
});

test('the addressing plan follows DESIGN.md', (t) => {
  const cfg = makeConfig('demo', 2);
  t.deepEqual(cfg.nodes.map((n) => `${n.name}=${n.ip}`), ['control=192.168.56.10', 'node1=192.168.56.11', 'node2=192.168.56.12']);
  t.is(cfg.clusterCIDR, '10.244.0.0/16');
  t.is(cfg.serviceCIDR, '10.96.0.0/12');
  t.throws(() => makeConfig('demo', 0), { message: /--nodes/ });
});

test('ip commands run with -n, others through ip netns exec', (t) => {
  t.deepEqual(resolveArgv({ argv: ['ip', 'route'], netns: 'kl-x-node1', why: '' }), ['ip', '-n', 'kl-x-node1', 'route']);
  t.deepEqual(resolveArgv({ argv: ['iptables-save'], netns: 'kl-x-node1', why: '' }), ['ip', 'netns', 'exec', 'kl-x-node1', 'iptables-save']);
});

test('a sandbox that exists is not created twice: only idempotent verbs remain', (t) => {
  const plan = { cluster: 'x', owner: 'pod/default/a', nodeNetns: 'kl-x-node1', podNetns: 'kl-x-pod-default-a', hostVeth: 'veth12345678', ip: '10.244.1.2', prefixLength: 24, gateway: '10.244.1.1', mtu: 1500 };
  const fresh = sandboxCommands(plan, { netns: false, veth: false }).map(renderShell).join('\n');
  const again = sandboxCommands(plan, { netns: true, veth: true }).map(renderShell).join('\n');
  t.regex(fresh, /ip netns add kl-x-pod-default-a/);
  t.regex(fresh, /link add veth12345678 .*peer name eth0/);
  t.notRegex(again, /netns add|link add|addr add|route add/);
});

test('host-gw routes every peer subnet via its underlay address and drops routes of nodes that left', (t) => {
  const backend = new HostGwBackend('kl-x-node1', 'eth0', () => '10.244.1.0/24');
  const cmds = backend.syncCommands(
    [{ name: 'node2', ip: '192.168.56.12', podCIDR: '10.244.2.0/24', annotations: {} }],
    {
      routes: [
        { dst: '10.244.1.0/24', dev: 'cni0' },
        { dst: '10.244.3.0/24', gateway: '192.168.56.13', dev: 'eth0' },
      ],
      neighbours: [],
      fdb: [],
    },
  );
  t.deepEqual(cmds[0]!.input!.trim().split('\n'), ['route del 10.244.3.0/24', 'route replace 10.244.2.0/24 via 192.168.56.12 dev eth0']);
  t.deepEqual(backend.syncCommands([{ name: 'node2', ip: '192.168.56.12', podCIDR: '10.244.2.0/24', annotations: {} }], { routes: [{ dst: '10.244.2.0/24', gateway: '192.168.56.12', dev: 'eth0' }], neighbours: [], fdb: [] }), []);
});

test('vxlan programs flannel\'s three entries per peer: route onlink, permanent neighbour, FDB to the underlay IP', async (t) => {
  const { VxlanBackend, BACKEND_DATA } = await import('../../../src/node/backends/vxlan.ts');
  const backend = new VxlanBackend('kl-x-node1', 'eth0', '192.168.56.11', () => '10.244.1.0/24', undefined as any);
  const peer = { name: 'node2', ip: '192.168.56.12', podCIDR: '10.244.2.0/24', annotations: { [BACKEND_DATA]: JSON.stringify({ VNI: 1, VtepMAC: 'AA:BB:CC:00:00:02' }) } };
  const cmds = backend.syncCommands([peer], { routes: [{ dst: '10.244.9.0/24', gateway: '10.244.9.0', dev: 'flannel.1' }], neighbours: [{ dst: '10.244.9.0', lladdr: 'aa:bb:cc:00:00:09', dev: 'flannel.1' }], fdb: [{ mac: 'aa:bb:cc:00:00:09', dst: '192.168.56.19', dev: 'flannel.1' }] });
  const text = cmds.map((c) => c.input).join('');
  t.regex(text, /route replace 10\.244\.2\.0\/24 via 10\.244\.2\.0 dev flannel\.1 onlink/);
  t.regex(text, /neigh replace 10\.244\.2\.0 lladdr aa:bb:cc:00:00:02 dev flannel\.1 nud permanent/);
  t.regex(text, /fdb replace aa:bb:cc:00:00:02 dev flannel\.1 dst 192\.168\.56\.12 self permanent/);
  // The node that left loses all three.
  t.regex(text, /route del 10\.244\.9\.0\/24/);
  t.regex(text, /neigh del 10\.244\.9\.0 dev flannel\.1/);
  t.regex(text, /fdb del aa:bb:cc:00:00:09 dev flannel\.1 dst 192\.168\.56\.19/);
  // A peer that has not published its VTEP MAC yet gets nothing (no half-programmed path).
  t.deepEqual(backend.syncCommands([{ ...peer, annotations: {} }], { routes: [], neighbours: [], fdb: [] }), []);
});
