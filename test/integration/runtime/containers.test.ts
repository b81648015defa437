// Pods as real containers: PID, mount, UTS and IPC namespaces, an image's files through overlayfs,
// cgroups from resources (an OOM kill, CPU throttling), probes and endpoints, clear errors for bad
// specs, and nothing left behind.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import test from 'ava';
import { execa } from 'execa';
import type { ApiClient } from '../../../src/api/client.ts';
import type { Pod } from '../../../src/api/types.ts';
import { detectCgroups, readCgroupStats } from '../../../src/runtime/cgroups.ts';
import { waitFor } from '../../../src/util/proc.ts';
import { downCluster, isRoot, kubelab, randomName, rootOrSkip, upCluster, waitPodsReady } from '../helpers.ts';

const name = randomName('rt');
let client: ApiClient;

test.before(async () => {
  if (isRoot()) client = await upCluster(name, 1);
});
test.after.always(async () => {
  if (isRoot()) await downCluster(name);
});

const exec = (pod: string, argv: string[], container?: string) =>
  kubelab(name, ['exec', pod, ...(container ? ['-c', container] : []), '--', ...argv], { reject: false });

const apply = (yaml: string) => kubelab(name, ['apply', '-f', '-'], { input: yaml });

const pod = (podName: string, containers: string, extra = '') => `apiVersion: v1
kind: Pod
metadata: {name: ${podName}, labels: {app: ${podName}}}
spec:
${extra}  containers:
${containers}`;

const LOOP = `['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done']`;

test.serial('PID 1 is the command, the hostname is the pod\'s, image files are there and writes stay in the container', async (t) => {
  if (!rootOrSkip(t)) return;
  await apply(pod('iso', `  - {name: main, image: busybox, command: ${LOOP}}\n`));
  await waitPodsReady(client, ['iso']);
  const ps = await exec('iso', ['cat', '/proc/1/cmdline']);
  t.is(ps.stdout.replace(/\0/g, ' ').trim(), 'sh -c trap "exit 0" TERM; while true; do sleep 1; done');
  t.is((await exec('iso', ['hostname'])).stdout.trim(), 'iso');
  // The image's /etc/passwd (busybox image: root, user, nobody), not the node's.
  t.regex((await exec('iso', ['cat', '/etc/passwd'])).stdout, /^user:x:1000:1000:/m);
  t.is((await exec('iso', ['sh', '-c', 'echo changed > /bin/marker; rm /etc/group; cat /bin/marker'])).stdout.trim(), 'changed');
  // The image's unpacked layers are unchanged: the writes went to the container's upper dir.
  const store = '/var/lib/kubelab/images/layers';
  for (const layer of readdirSync(store)) {
    t.false(existsSync(`${store}/${layer}/bin/marker`), `layer ${layer} was written`);
  }
  t.true(readdirSync(store).some((l) => existsSync(`${store}/${l}/etc/group`)));
  // Its own mount table: the root is an overlay, /proc is its own PID namespace's.
  t.regex((await exec('iso', ['cat', '/proc/mounts'])).stdout, /^overlay \/ overlay /m);
});

test.serial('two containers of a pod share localhost but not their processes', async (t) => {
  if (!rootOrSkip(t)) return;
  await apply(
    pod(
      'duo',
      `  - {name: web, image: busybox, command: ['sh', '-c', 'echo from-web > /tmp/index.html; exec httpd -f -p 8080 -h /tmp']}
  - {name: side, image: busybox, command: ${LOOP}}
`,
    ),
  );
  await waitPodsReady(client, ['duo']);
  const got = await waitFor(async () => (await exec('duo', ['wget', '-qO-', 'http://127.0.0.1:8080/'], 'side')).stdout.trim() === 'from-web', 10_000, 200);
  t.true(got, 'side reaches web on localhost');
  const procs = (await exec('duo', ['ps', '-o', 'comm'], 'side')).stdout;
  t.notRegex(procs, /httpd/, 'side must not see web\'s processes');
  t.regex((await exec('duo', ['ps', '-o', 'comm'], 'web')).stdout, /httpd/);
  // Different mount namespaces: the file web wrote is not in side's /tmp.
  t.not((await exec('duo', ['cat', '/tmp/index.html'], 'side')).exitCode, 0);
});

test.serial('a 32Mi memory limit OOM-kills a process that allocates more; the pod shows OOMKilled and restarts', async (t) => {
  if (!rootOrSkip(t)) return;
  // busybox has no allocator tool: a shell variable that doubles past the limit does it.
  await apply(
    pod(
      'hog',
      `  - name: main
    image: busybox
    command: ['sh', '-c', 'x=0123456789abcdef; while true; do x="$x$x"; done']
    resources: {limits: {memory: 32Mi}}
`,
      '  restartPolicy: OnFailure\n',
    ),
  );
  const seen = await waitFor(async () => {
    const p = await client.find<Pod>('Pod', 'hog');
    const s = p?.status?.containerStatuses?.[0];
    return s?.lastState?.terminated?.reason === 'OOMKilled' || s?.state.terminated?.reason === 'OOMKilled';
  }, 60_000, 200);
  t.true(seen, 'the container is reported OOMKilled');
  const p = (await client.find<Pod>('Pod', 'hog'))!;
  const s = p.status!.containerStatuses![0]!;
  const term = s.lastState?.terminated ?? s.state.terminated!;
  t.is(term.exitCode, 137);
  t.is(p.status!.qosClass, 'Burstable');
  // OnFailure: it is restarted.
  t.true(await waitFor(async () => ((await client.find<Pod>('Pod', 'hog'))?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, 60_000, 200));
  const d = await kubelab(name, ['describe', 'pod', 'hog']);
  t.regex(d.stdout, /OOMKilled/);
  await kubelab(name, ['delete', 'pod', 'hog', '--grace-period', '0']);
});

test.serial('a CPU limit of 100m throttles a busy loop: cgroup statistics show throttled periods', async (t) => {
  if (!rootOrSkip(t)) return;
  await apply(
    pod(
      'busy',
      `  - name: main
    image: busybox
    command: ['sh', '-c', 'while true; do :; done']
    resources: {requests: {cpu: 100m, memory: 16Mi}, limits: {cpu: 100m, memory: 16Mi}}
`,
    ),
  );
  const p = (await waitPodsReady(client, ['busy'])).get('busy')!;
  t.is(p.status!.qosClass, 'Guaranteed');
  const layout = detectCgroups();
  const rel = `kubelab/${name}/guaranteed/pod${p.metadata.uid}/main`;
  const quota = layout.version === 1 ? readFileSync(`${layout.root}/cpu/${rel}/cpu.cfs_quota_us`, 'utf8').trim() : readFileSync(`${layout.root}/${rel}/cpu.max`, 'utf8').trim();
  t.is(quota, layout.version === 1 ? '10000' : '10000 100000');
  const throttled = await waitFor(() => (readCgroupStats(layout, rel)?.nrThrottled ?? 0) >= 5, 30_000, 200);
  t.true(throttled, 'throttled periods were counted');
  const st = readCgroupStats(layout, rel)!;
  // Used CPU per elapsed period stays near the quota: at most 10 ms of each 100 ms (plus slack for
  // the period in progress).
  t.true(st.cpuUsageNs <= (st.nrPeriods + 2) * 10_000_000 * 1.5, `usage ${st.cpuUsageNs} ns in ${st.nrPeriods} periods`);
  const top = await kubelab(name, ['top', 'pods']);
  t.regex(top.stdout, /busy\s+main\s+\d+m\s+\S+\s+\d+\/\d+/);
  await kubelab(name, ['delete', 'pod', 'busy', '--grace-period', '0']);
});

test.serial('a failing readiness probe takes the pod out of its service\'s endpoints', async (t) => {
  if (!rootOrSkip(t)) return;
  await apply(`${pod(
    'ready',
    `  - name: main
    image: busybox
    command: ['sh', '-c', 'touch /tmp/ready; exec httpd -f -p 8080 -h /tmp']
    readinessProbe: {exec: {command: ['cat', '/tmp/ready']}, periodSeconds: 1, failureThreshold: 1}
`,
  )}---
apiVersion: v1
kind: Service
metadata: {name: ready}
spec: {selector: {app: ready}, ports: [{port: 80, targetPort: 8080}]}
`);
  const p = (await waitPodsReady(client, ['ready'])).get('ready')!;
  const listed = async () => ((await client.find<any>('Endpoints', 'ready'))?.subsets ?? []).some((s: any) => (s.addresses ?? []).some((a: any) => a.ip === p.status!.podIP));
  t.true(await waitFor(listed, 20_000, 200), 'ready pod is an endpoint');
  await exec('ready', ['rm', '/tmp/ready']);
  t.true(await waitFor(async () => !(await listed()), 20_000, 200), 'the pod left the endpoints');
  const s = (await client.find<Pod>('Pod', 'ready'))!.status!;
  t.is(s.conditions!.find((c) => c.type === 'Ready')!.status, 'False');
  t.truthy(s.containerStatuses![0]!.state.running, 'readiness does not restart the container');
  await kubelab(name, ['delete', 'pod', 'ready', '--grace-period', '0']);
  await kubelab(name, ['delete', 'service', 'ready']);
});

test.serial('a failing liveness probe restarts the container; a startup probe holds readiness and liveness back until it passes', async (t) => {
  if (!rootOrSkip(t)) return;
  await apply(
    pod(
      'probed',
      `  - name: main
    image: busybox
    command: ['sh', '-c', 'touch /tmp/alive; trap "exit 0" TERM; while true; do sleep 1; done']
    startupProbe: {exec: {command: [test, -f, /tmp/started]}, periodSeconds: 1, failureThreshold: 60}
    readinessProbe: {exec: {command: ['true']}, periodSeconds: 1}
    livenessProbe: {exec: {command: [test, -f, /tmp/alive]}, periodSeconds: 1, failureThreshold: 2}
`,
    ),
  );
  const status = async () => (await client.find<Pod>('Pod', 'probed'))?.status?.containerStatuses?.[0];
  t.true(await waitFor(async () => !!(await status())?.state.running, 30_000, 100), 'running');
  // Not started yet: neither ready nor probed for liveness (its failure would not count).
  await new Promise((r) => setTimeout(r, 2500));
  let s = (await status())!;
  t.false(s.started);
  t.false(s.ready);
  await exec('probed', ['touch', '/tmp/started']);
  t.true(await waitFor(async () => !!(await status())?.ready, 20_000, 100), 'ready once started');
  t.true((await status())!.started);
  // Liveness: take the file away; after two failures the container is killed and started again.
  await exec('probed', ['rm', '/tmp/alive']);
  t.true(await waitFor(async () => ((await status())?.restartCount ?? 0) >= 1, 60_000, 200), 'restarted');
  s = (await status())!;
  t.is(s.lastState?.terminated?.exitCode, 0, 'the loop exits on SIGTERM');
  // The new container starts from the image again: not started until the startup probe passes.
  t.true(await waitFor(async () => (await status())?.state.running !== undefined && (await status())?.started === false, 20_000, 100));
  await kubelab(name, ['delete', 'pod', 'probed', '--grace-period', '0']);
});

test.serial('a container that keeps failing goes into CrashLoopBackOff with growing restarts and its last termination', async (t) => {
  if (!rootOrSkip(t)) return;
  await apply(pod('crashy', `  - {name: main, image: busybox, command: ['sh', '-c', 'echo bye; exit 3']}\n`));
  const status = async () => (await client.find<Pod>('Pod', 'crashy'))?.status?.containerStatuses?.[0];
  t.true(await waitFor(async () => (await status())?.state.waiting?.reason === 'CrashLoopBackOff', 60_000, 200), 'CrashLoopBackOff');
  const s = (await status())!;
  t.true(s.restartCount >= 1);
  t.is(s.lastState?.terminated?.exitCode, 3);
  t.is(s.lastState?.terminated?.reason, 'Error');
  t.regex(s.state.waiting!.message!, /back-off \d+s restarting failed container=main pod=crashy/);
  const get = await kubelab(name, ['get', 'pods', 'crashy']);
  t.regex(get.stdout, /crashy\s+0\/1\s+CrashLoopBackOff\s+\d+/);
  const d = await kubelab(name, ['describe', 'pod', 'crashy']);
  t.regex(d.stdout, /Last State:\s+Terminated \(Error, exit 3\)/);
  t.regex((await kubelab(name, ['logs', 'crashy'])).stdout, /bye/);
  // restartPolicy Never: it stays terminated, and the pod Failed.
  await apply(pod('once', `  - {name: main, image: busybox, command: ['sh', '-c', 'exit 4']}\n`, '  restartPolicy: Never\n'));
  t.true(await waitFor(async () => (await client.find<Pod>('Pod', 'once'))?.status?.phase === 'Failed', 30_000, 200));
  t.is((await client.find<Pod>('Pod', 'once'))!.status!.containerStatuses![0]!.restartCount, 0);
  await kubelab(name, ['delete', 'pod', 'crashy', 'once', '--grace-period', '0']);
});

test.serial('capabilities: Docker\'s default set, with add and drop', async (t) => {
  if (!rootOrSkip(t)) return;
  // Each container tries a NET_ADMIN operation as its own PID 1 and records the outcome.
  const tryAdmin = `['sh', '-c', 'if ip link set lo mtu 60000 2>/dev/null; then echo allowed; else echo denied; fi > /tmp/r; trap "exit 0" TERM; while true; do sleep 1; done']`;
  await apply(
    pod(
      'caps',
      `  - name: main
    image: busybox
    command: ${tryAdmin}
    securityContext: {capabilities: {add: [NET_ADMIN], drop: [NET_RAW, CHOWN]}}
  - {name: plain, image: busybox, command: ${tryAdmin}}
`,
    ),
  );
  await waitPodsReady(client, ['caps']);
  const eff = async (c: string) => BigInt('0x' + /CapEff:\s+([0-9a-f]+)/.exec((await exec('caps', ['cat', '/proc/1/status'], c)).stdout)![1]);
  // Docker's default set (moby's oci/caps/defaults.go): bits 0 1 3 4 5 6 7 8 10 13 18 27 29 31.
  const dockerDefault = [0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31].reduce((m, b) => m | (1n << BigInt(b)), 0n);
  t.is(await eff('plain'), dockerDefault);
  t.is(await eff('main'), (dockerDefault | (1n << 12n)) & ~(1n << 13n) & ~(1n << 0n));
  // The consequence a learner sees: NET_ADMIN lets main change a link; plain may not.
  t.is((await exec('caps', ['cat', '/tmp/r'], 'main')).stdout.trim(), 'allowed');
  t.is((await exec('caps', ['cat', '/tmp/r'], 'plain')).stdout.trim(), 'denied');
});

test.serial('runAsUser and the image user: the process runs with those ids', async (t) => {
  if (!rootOrSkip(t)) return;
  await apply(pod('who', `  - {name: main, image: busybox, command: ${LOOP}, securityContext: {runAsUser: 1000}}\n`));
  await waitPodsReady(client, ['who']);
  t.is((await exec('who', ['cat', '/proc/1/status'])).stdout.match(/^Uid:\s+(\d+)/m)![1], '1000');
  // kubectl exec (and docker exec) run as the container's own user, not as root.
  t.regex((await exec('who', ['id'])).stdout, /^uid=1000\b/);
});

test.serial('bad specs get clear errors and change nothing', async (t) => {
  if (!rootOrSkip(t)) return;
  const bad = await kubelab(name, ['apply', '-f', '-'], {
    reject: false,
    input: pod('bad', `  - {name: main, image: busybox, resources: {limits: {memory: 12 Gigs}}, securityContext: {capabilities: {add: [NET_FLY]}}}\n`),
  });
  t.is(bad.exitCode, 1);
  t.regex(bad.stderr, /spec\.containers\[0\]\.resources\.limits\.memory/);
  t.regex(bad.stderr, /12 Gigs/);
  t.regex(bad.stderr, /spec\.containers\[0\]\.securityContext\.capabilities\.add\[0\]: unknown capability "NET_FLY"/);
  t.is(await client.find('Pod', 'bad'), undefined);
  // A missing image: the pod is accepted (as Kubernetes does) and waits with the reason.
  await apply(pod('noimg', `  - {name: main, image: nosuch/image:1.0}\n`));
  const waiting = await waitFor(async () => (await client.find<Pod>('Pod', 'noimg'))?.status?.containerStatuses?.[0]?.state.waiting?.reason === 'ErrImageNeverPull', 30_000, 200);
  t.true(waiting);
  const msg = (await client.find<Pod>('Pod', 'noimg'))!.status!.containerStatuses![0]!.state.waiting!.message!;
  t.regex(msg, /nosuch\/image:1\.0/);
  await kubelab(name, ['delete', 'pod', 'noimg', '--grace-period', '0']);
});

test.serial('deleting pods and down leave no mount, cgroup or process', async (t) => {
  if (!rootOrSkip(t)) return;
  const pods = ((await client.list<Pod>('Pod', { namespace: 'default' })).items ?? []).map((p) => p.metadata.name);
  await kubelab(name, ['delete', 'pod', ...pods, '--grace-period', '0']);
  const layout = detectCgroups();
  const podCgroups = () =>
    (layout.version === 1 ? ['cpu', 'memory', 'pids'].map((c) => `${layout.root}/${c}/kubelab/${name}`) : [`${layout.root}/kubelab/${name}`]).flatMap((d) =>
      ['guaranteed', 'burstable', 'besteffort'].flatMap((q) => (existsSync(`${d}/${q}`) ? readdirSync(`${d}/${q}`).filter((e) => e.startsWith('pod')) : [])),
    );
  // The DNS add-on's pods stay (kube-system): only default's are checked here.
  const uids = new Set(((await client.list<Pod>('Pod', { namespace: 'kube-system' })).items ?? []).map((p) => `pod${p.metadata.uid}`));
  t.true(await waitFor(() => podCgroups().every((c) => uids.has(c)), 30_000, 200), `left: ${podCgroups().join(' ')}`);
  await downCluster(name);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  t.notRegex(mounts, new RegExp(`kubelab/${name}/`));
  for (const d of layout.version === 1 ? ['cpu', 'memory', 'pids', 'cpuacct'].map((c) => `${layout.root}/${c}/kubelab/${name}`) : [`${layout.root}/kubelab/${name}`]) t.false(existsSync(d), d);
  const ps = await execa('ps', ['-eo', 'args']);
  t.notRegex(ps.stdout, new RegExp(`kubelab-init .*${name}`));
});
