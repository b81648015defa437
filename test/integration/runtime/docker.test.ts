// `kubelab docker`: the four network modes and -p publishing behave as Docker's do.
import { existsSync } from 'node:fs';
import test from 'ava';
import { execa } from 'execa';
import { hostNetns } from '../../../src/naming.ts';
import { waitFor } from '../../../src/util/proc.ts';
import { downCluster, isRoot, kubelab, randomName, rootOrSkip, upCluster } from '../helpers.ts';

const name = randomName('dk');
const NODE1_IP = '192.168.56.11';

test.before(async () => {
  if (isRoot()) await upCluster(name, 2);
});
test.after.always(async () => {
  if (isRoot()) await downCluster(name);
});

const docker = (args: string[]) => kubelab(name, ['docker', ...args], { reject: false });
const dexec = (c: string, argv: string[]) => docker(['exec', c, '--', ...argv]);
const inNs = (host: string, argv: string[]) => execa('ip', ['netns', 'exec', hostNetns(name, host), ...argv], { reject: false, timeout: 10_000 });
const fetch = (host: string, url: string) => inNs(host, ['busybox', 'wget', '-qO-', url]);

test.serial('bridge: an address on docker0, a default route via 172.17.0.1, egress masqueraded', async (t) => {
  if (!rootOrSkip(t)) return;
  // The web server answers with a file that names the container.
  const r = await docker(['run', '--cname', 'web', '-p', '8080:80', 'busybox', '--', 'sh', '-c', 'mkdir /www; echo web > /www/id; exec httpd -f -p 80 -h /www']);
  t.is(r.exitCode, 0, r.all);
  t.is((await docker(['run', '--cname', 'client', 'busybox', '--', 'sleep', '3600'])).exitCode, 0);
  const addr = (await dexec('web', ['ip', '-4', '-o', 'addr', 'show', 'eth0'])).stdout;
  t.regex(addr, /inet 172\.17\.0\.2\/16/);
  t.regex((await dexec('web', ['ip', 'route'])).stdout, /default via 172\.17\.0\.1 dev eth0/);
  // The node has docker0 with the gateway address.
  t.regex((await inNs('node1', ['ip', '-4', '-o', 'addr', 'show', 'docker0'])).stdout, /172\.17\.0\.1\/16/);
  // Container to container over the bridge.
  t.is((await dexec('client', ['wget', '-qO-', 'http://172.17.0.2/id'])).stdout.trim(), 'web');
  // Egress to the external host leaves masqueraded as the node (the router knows no 172.17/16).
  const ping = await dexec('client', ['ping', '-c', '1', '-W', '2', '203.0.113.100']);
  t.is(ping.exitCode, 0, ping.all);
  const nat = (await inNs('node1', ['iptables-legacy', '-t', 'nat', '-S', 'POSTROUTING'])).stdout;
  t.regex(nat, /-A POSTROUTING -s 172\.17\.0\.0\/16 ! -o docker0 -j MASQUERADE/);
});

test.serial('-p 8080:80: reachable on the node address from another node, from the node itself, and hairpinned from a container', async (t) => {
  if (!rootOrSkip(t)) return;
  t.is((await fetch('node2', `http://${NODE1_IP}:8080/id`)).stdout.trim(), 'web', 'from node2 (PREROUTING DNAT)');
  t.is((await fetch('node1', `http://${NODE1_IP}:8080/id`)).stdout.trim(), 'web', 'from node1 itself (OUTPUT DNAT)');
  t.is((await dexec('client', ['wget', '-qO-', `http://${NODE1_IP}:8080/id`])).stdout.trim(), 'web', 'container to the published port');
  t.is((await dexec('web', ['wget', '-qO-', `http://${NODE1_IP}:8080/id`])).stdout.trim(), 'web', 'hairpin: the container reaches itself');
  const rules = (await inNs('node1', ['iptables-legacy', '-t', 'nat', '-S', 'DOCKER'])).stdout;
  t.regex(rules, /-A DOCKER -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172\.17\.0\.2:80/);
  // An unpublished port of the container is not reachable through the node.
  t.not((await fetch('node2', `http://${NODE1_IP}:8081/id`)).exitCode, 0);
});

test.serial('host: the container sees the node\'s interfaces and serves on the node\'s address', async (t) => {
  if (!rootOrSkip(t)) return;
  t.is((await docker(['run', '--cname', 'hostnet', '--network', 'host', 'busybox', '--', 'sh', '-c', 'mkdir /www; echo hostnet > /www/id; exec httpd -f -p 9090 -h /www'])).exitCode, 0);
  const links = (await dexec('hostnet', ['ip', '-o', 'link'])).stdout;
  t.regex(links, /docker0/);
  t.regex(links, /eth0/);
  t.true(await waitFor(async () => (await fetch('node2', `http://${NODE1_IP}:9090/id`)).stdout.trim() === 'hostnet', 10_000, 200));
});

test.serial('none: only loopback', async (t) => {
  if (!rootOrSkip(t)) return;
  t.is((await docker(['run', '--cname', 'iso', '--network', 'none', 'busybox', '--', 'sleep', '3600'])).exitCode, 0);
  const links = (await dexec('iso', ['ip', '-o', 'link'])).stdout.trim().split('\n');
  t.is(links.length, 1);
  t.regex(links[0]!, /^1: lo:/);
  t.not((await dexec('iso', ['ping', '-c', '1', '-W', '1', '172.17.0.1'])).exitCode, 0);
});

test.serial('container:web: shares web\'s network namespace (same address, its localhost)', async (t) => {
  if (!rootOrSkip(t)) return;
  t.is((await docker(['run', '--cname', 'side', '--network', 'container:web', 'busybox', '--', 'sleep', '3600'])).exitCode, 0);
  t.regex((await dexec('side', ['ip', '-4', '-o', 'addr', 'show', 'eth0'])).stdout, /inet 172\.17\.0\.2\/16/);
  t.is((await dexec('side', ['wget', '-qO-', 'http://127.0.0.1/id'])).stdout.trim(), 'web');
  // But not its processes.
  t.notRegex((await dexec('side', ['ps', '-o', 'comm'])).stdout, /httpd/);
});

test.serial('bad input: unknown mode, bad -p, a missing image, a taken name', async (t) => {
  if (!rootOrSkip(t)) return;
  let r = await docker(['run', '--cname', 'x1', '--network', 'overlay', 'busybox', '--', 'true']);
  t.regex(r.stderr, /--network "overlay": expected bridge, host, none or container:NAME/);
  r = await docker(['run', '--cname', 'x2', '-p', '99999:80', 'busybox', '--', 'true']);
  t.regex(r.stderr, /-p 99999:80: invalid host port "99999"/);
  r = await docker(['run', '--cname', 'x3', 'nosuch/image', '--', 'true']);
  t.regex(r.stderr, /nosuch\/image/);
  r = await docker(['run', '--cname', 'web', 'busybox', '--', 'true']);
  t.regex(r.stderr, /already in use/);
  const ps = (await docker(['ps', '-a'])).stdout;
  t.notRegex(ps, /\bx[123]\b/, 'nothing was made for the refused runs');
});

test.serial('rm -f removes the container, its namespace, veth and published rules', async (t) => {
  if (!rootOrSkip(t)) return;
  for (const c of ['side', 'hostnet', 'iso', 'client', 'web']) t.is((await docker(['rm', '-f', '-t', '1', c])).exitCode, 0, c);
  t.false(existsSync(`/run/netns/kl-${name}-dkr-node1-web`));
  t.notRegex((await inNs('node1', ['ip', '-o', 'link'])).stdout, /veth[0-9a-f]{7}@/);
  t.notRegex((await inNs('node1', ['iptables-legacy', '-t', 'nat', '-S', 'DOCKER'])).stdout, /DNAT/);
  t.is((await docker(['ps', '-a'])).stdout.trim().split('\n').length, 1);
});
