// Docker's networking plan: -p and --network parsing, addresses, and the DOCKER chains dockerd writes.
import test from 'ava';
import { allocateAddress, dockerChains, DockerUsageError, parseNetworkMode, parsePublish } from '../../../src/docker/plan.ts';

test('-p forms, as docker run accepts them', (t) => {
  t.deepEqual(parsePublish('8080:80'), { hostPort: 8080, containerPort: 80, protocol: 'tcp' });
  t.deepEqual(parsePublish('53:53/udp'), { hostPort: 53, containerPort: 53, protocol: 'udp' });
  t.deepEqual(parsePublish('80'), { hostPort: 80, containerPort: 80, protocol: 'tcp' });
  t.deepEqual(parsePublish('192.168.56.11:8080:80'), { hostIP: '192.168.56.11', hostPort: 8080, containerPort: 80, protocol: 'tcp' });
});

test('-p errors name the part at fault', (t) => {
  t.throws(() => parsePublish('0:80'), { instanceOf: DockerUsageError, message: /invalid host port "0"/ });
  t.throws(() => parsePublish('80:x'), { message: /invalid container port "x"/ });
  t.throws(() => parsePublish('80:80/sctp'), { message: /protocol must be tcp or udp/ });
  t.throws(() => parsePublish('a.b:1:2'), { message: /not an IPv4 address/ });
});

test('--network modes', (t) => {
  t.deepEqual(parseNetworkMode('bridge'), { kind: 'bridge' });
  t.deepEqual(parseNetworkMode('host'), { kind: 'host' });
  t.deepEqual(parseNetworkMode('none'), { kind: 'none' });
  t.deepEqual(parseNetworkMode('container:web'), { kind: 'container', name: 'web' });
  t.throws(() => parseNetworkMode('container:'), { message: /expected bridge, host, none or container:NAME/ });
});

test('addresses: the first free one after the gateway, across the /16', (t) => {
  t.is(allocateAddress([]), '172.17.0.2');
  t.is(allocateAddress(['172.17.0.2', '172.17.0.3']), '172.17.0.4');
  const full = Array.from({ length: 254 }, (_, i) => `172.17.0.${i + 2}`);
  t.is(allocateAddress(full), '172.17.1.0');
});

test('DOCKER chains: a DNAT per published port, the hairpin MASQUERADE and the filter ACCEPT, in one restore', (t) => {
  const payload = dockerChains([{ ip: '172.17.0.2', ports: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }, { hostIP: '192.168.56.11', hostPort: 5353, containerPort: 53, protocol: 'udp' }] }]);
  const lines = payload.split('\n');
  t.is(lines[0], '*nat');
  t.true(lines.includes(':DOCKER - [0:0]'));
  t.true(lines.includes('-A DOCKER -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80'));
  t.true(lines.includes('-A DOCKER -d 192.168.56.11/32 -p udp -m udp --dport 5353 -j DNAT --to-destination 172.17.0.2:53'));
  t.true(lines.includes('-A DOCKER-POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE'));
  t.true(lines.includes('-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT'));
  t.is(lines.filter((l) => l === 'COMMIT').length, 2);
  // Nothing published: the chains are declared (so flushed) and left empty.
  t.deepEqual(dockerChains([]).split('\n').filter((l) => l.startsWith('-A')), []);
});
