// The life of a cluster: down leaves nothing of ours and the host's own namespace is unchanged;
// SIGKILL of every daemon and `up` again recovers with the same addresses and no duplicated state.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import test from 'ava';
import { execa } from 'execa';

import { clusterDir, hostNetns, netnsPrefix, OWNER_ENV, paths } from '../../../src/naming.ts';
import { apiClient } from '../../../src/provider/embedded/cluster.ts';
import { findMarked } from '../../../src/util/proc.ts';
import { downCluster, kubelab, podYaml, randomName, rootOrSkip, SLEEPER, upCluster, waitPodsReady } from '../helpers.ts';

async function hostSnapshot(): Promise<string> {
  const parts = await Promise.all([
    execa('ip', ['-d', 'addr']),
    execa('ip', ['route']),
    execa('iptables-save'),
    execa('/usr/sbin/nft', ['list', 'ruleset']), // by path: npm's node_modules/.bin has an unrelated "nft"
  ]);
  // iptables-save stamps its output with the time; everything else must be identical.
  return parts.map((p) => String(p.stdout).replace(/^# (Generated|Completed) .*$/gm, '')).join('\n----\n');
}

function leftovers(name: string): string[] {
  const found: string[] = [];
  const ns = existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith(netnsPrefix(name))) : [];
  if (ns.length) found.push(`namespaces: ${ns.join(' ')}`);
  if (existsSync(clusterDir(name))) found.push(`state: ${clusterDir(name)}`);
  const procs = findMarked(OWNER_ENV, name);
  if (procs.length) found.push(`processes: ${procs.map((p) => p.pid).join(' ')}`);
  const etc = existsSync('/etc/netns') ? readdirSync('/etc/netns').filter((n) => n.startsWith(netnsPrefix(name))) : [];
  if (etc.length) found.push(`/etc/netns: ${etc.join(' ')}`);
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(`/run/netns/${netnsPrefix(name)}`));
  if (mounts.length) found.push(`mounts: ${mounts.length}`);
  return found;
}




test('up, traffic and down leave the host namespace byte-for-byte unchanged and nothing of ours behind', async (t) => {
  if (!rootOrSkip(t)) return;
  const name = randomName('life');
  t.teardown(() => downCluster(name));
  const before = await hostSnapshot();
  const client = await upCluster(name, 2);
  await kubelab(name, ['apply', '-f', '-'], { input: [podYaml('srv', { node: 'node2' }), podYaml('cli', { node: 'node1', image: 'busybox', command: SLEEPER })].join('---\n') });
  const pods = await waitPodsReady(client, ['srv', 'cli']);
  const r = await kubelab(name, ['exec', 'cli', '--', 'wget', '-qO-', `http://${pods.get('srv')!.status!.podIP}:8080/`]);
  t.is(JSON.parse(r.stdout).clientIP, pods.get('cli')!.status!.podIP);
  const down = await kubelab(name, ['down']);
  t.regex(down.stderr, /removed/);
  t.deepEqual(leftovers(name), []);
  t.is(await hostSnapshot(), before);
});

test('SIGKILL of every daemon, then up: same pod addresses, no duplicated kernel state, traffic flows', async (t) => {
  if (!rootOrSkip(t)) return;
  const name = randomName('crash');
  t.teardown(() => downCluster(name));
  let client = await upCluster(name, 2);
  await kubelab(name, ['apply', '-f', '-'], { input: [podYaml('srv', { node: 'node2' }), podYaml('cli', { node: 'node1', image: 'busybox', command: SLEEPER })].join('---\n') });
  const before = await waitPodsReady(client, ['srv', 'cli']);
  const kernel = async () =>
    (
      await Promise.all(
        ['node1', 'node2'].flatMap((n) => [
          execa('ip', ['-n', hostNetns(name, n), 'route']),
          execa('ip', ['-n', hostNetns(name, n), '-br', 'link']),
          execa('ip', ['-n', hostNetns(name, n), '-br', 'addr']),
          // The lab's backend is iptables-legacy (src/driver/iptables.ts); the nft one must stay empty.
          execa('ip', ['netns', 'exec', hostNetns(name, n), 'iptables-legacy-save']),
          execa('ip', ['netns', 'exec', hostNetns(name, n), 'iptables-nft-save']),
        ]),
      )
    )
      // Time stamps and packet counters move with traffic; the objects and rules must not.
      .map((p) => String(p.stdout).replace(/^# (Generated|Completed) .*$/gm, '').replace(/\[\d+:\d+\]/g, '[-]'))
      .join('\n');
  // The node daemons program their rules asynchronously: compare only a state that has settled.
  const settled = async () => {
    let last = await kernel();
    for (let i = 0; i < 30; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      const now = await kernel();
      if (now === last) return now;
      last = now;
    }
    return last;
  };
  const kernelBefore = await settled();
  const netnsBefore = readdirSync('/run/netns').filter((n) => n.startsWith(netnsPrefix(name))).sort();

  for (const f of readdirSync(paths.pidDir(name))) {
    const pid = Number(readFileSync(`${paths.pidDir(name)}/${f}`, 'utf8').split(' ')[0]);
    process.kill(pid, 'SIGKILL');
  }
  const status = await kubelab(name, ['status'], { reject: false });
  t.is(status.exitCode, 1);
  t.regex(status.stdout, /STOPPED/);

  await kubelab(name, ['up', '--nodes', '2']);
  client = apiClient(name);
  const after = await waitPodsReady(client, ['srv', 'cli']);
  t.is(after.get('srv')!.status!.podIP, before.get('srv')!.status!.podIP);
  t.is(after.get('cli')!.status!.podIP, before.get('cli')!.status!.podIP);
  // The containers kept running through the crash, as they do under a real kubelet.
  t.is(after.get('srv')!.status!.containerStatuses![0]!.restartCount, 0);
  t.is(await settled(), kernelBefore);
  t.deepEqual(readdirSync('/run/netns').filter((n) => n.startsWith(netnsPrefix(name))).sort(), netnsBefore);
  const r = await kubelab(name, ['exec', 'cli', '--', 'wget', '-qO-', `http://${after.get('srv')!.status!.podIP}:8080/`]);
  t.is(JSON.parse(r.stdout).pod, 'srv');

  // A pod deleted while its node's daemon is down is cleaned up when the daemon returns.
  const node2Pid = Number(readFileSync(paths.pidFile(name, 'node-node2'), 'utf8').split(' ')[0]);
  process.kill(node2Pid, 'SIGKILL');
  await client.delete('Pod', 'srv', 'default', { gracePeriodSeconds: 0 });
  await kubelab(name, ['up', '--nodes', '2']);
  const gone = await import('../../../src/util/proc.ts').then((m) => m.waitFor(() => !existsSync(`/run/netns/kl-${name}-pod-default-srv`), 20_000));
  t.true(gone, 'the orphaned sandbox was removed');

  // And after a second crash, down still removes everything.
  for (const f of readdirSync(paths.pidDir(name))) {
    const pid = Number(readFileSync(`${paths.pidDir(name)}/${f}`, 'utf8').split(' ')[0]);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await kubelab(name, ['down']);
  t.deepEqual(leftovers(name), []);
});

test('two clusters run side by side and down removes only its own', async (t) => {
  if (!rootOrSkip(t)) return;
  const [a, b] = [randomName('sidea'), randomName('sideb')];
  t.teardown(async () => {
    await downCluster(a);
    await downCluster(b);
  });
  await Promise.all([upCluster(a, 1), upCluster(b, 1)]);
  await kubelab(a, ['down']);
  t.deepEqual(leftovers(a), []);
  const s = await kubelab(b, ['status']);
  t.regex(s.stdout, /API up/);
  const pod = podYaml('p', { node: 'node1', image: 'busybox', command: SLEEPER });
  await kubelab(b, ['apply', '-f', '-'], { input: pod });
  const ready = await waitPodsReady(apiClient(b), ['p']);
  t.regex(ready.get('p')!.status!.podIP!, /^10\.244\.1\./);
});


