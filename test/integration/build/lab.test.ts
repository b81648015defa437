// Built images in the lab: an image built by `./kubelab build` runs as a pod and answers on the port
// its Dockerfile EXPOSEs; a build with `--network lab` reaches a service of the cluster by its DNS
// name from a RUN step. The cluster and the build share a temporary image store.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import type { ApiClient } from '../../../src/api/client.ts';
import type { Pod } from '../../../src/api/types.ts';
import { apiClient } from '../../../src/provider/embedded/cluster.ts';
import { isRoot, KUBELAB, randomName, REPO, rootOrSkip, waitPodsReady } from '../helpers.ts';
import { labIn } from './helpers.ts';
import { waitFor } from '../../../src/util/proc.ts';

const name = randomName('bld');
const dir = mkdtempSync(path.join(os.tmpdir(), 'kltest-buildlab-'));
const lab = labIn(dir);
const env = { KUBELAB_IMAGES_DIR: lab.store.root };
let client: ApiClient;

const kl = (args: string[], input?: string) => execa(KUBELAB, ['--name', name, ...args], { env, input, reject: false, all: true });

test.before(async () => {
  if (!isRoot()) return;
  const up = await kl(['up', '--nodes', '1']);
  if (up.exitCode !== 0) throw new Error(`up failed: ${up.all}`);
  client = apiClient(name);
});
test.after.always(async () => {
  if (isRoot()) await kl(['down']);
  rmSync(dir, { recursive: true, force: true });
});

test.serial('examples/build: the image runs as a pod, as its USER, in its WORKDIR, answering on its EXPOSEd port', async (t) => {
  if (!rootOrSkip(t)) return;
  const example = path.join(REPO, 'examples/build');
  const r = await lab.build(['-t', 'web:1', example], { env });
  t.deepEqual(r.json!.tags, ['web:1']);
  const port = Number(Object.keys((await lab.config('web:1')).config!.ExposedPorts!)[0]!.split('/')[0]);
  t.is(port, 8080);
  const applied = await kl(['apply', '-f', path.join(example, 'pod.yaml')]);
  t.is(applied.exitCode, 0, applied.all);
  const client = await kl(['apply', '-f', '-'], `apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers:
    - {name: main, image: busybox, command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done']}
`);
  t.is(client.exitCode, 0, client.all);
  const pods = await waitPodsReady(apiClient(name), ['built-web', 'client']);
  const ip = pods.get('built-web')!.status!.podIP!;
  const site = readFileSync(path.join(example, 'site/index.html'), 'utf8').trim();
  t.is((await kl(['exec', 'client', '--', 'wget', '-qO-', `http://${ip}:${port}/`])).stdout, site);
  // Through its service, by name, from another pod (once the endpoints reached the proxy).
  let viaService = '';
  await waitFor(async () => (viaService = (await kl(['exec', 'client', '--', 'wget', '-qO-', 'http://built-web/'])).stdout) === site, 15_000, 200);
  t.is(viaService, site);
  // The container runs the image's CMD, as its USER, in its WORKDIR; RUN's file is there.
  t.is((await kl(['exec', 'built-web', '--', 'cat', '/proc/1/cmdline'])).stdout.replace(/\0/g, ' ').trim(), 'httpd -f -p 8080 -h /www');
  t.is((await kl(['exec', 'built-web', '--', 'id', '-u'])).stdout.trim(), '1001');
  t.is((await kl(['exec', 'built-web', '--', 'pwd'])).stdout.trim(), '/www');
  t.regex((await kl(['exec', 'built-web', '--', 'cat', 'build.txt'])).stdout, /^built by kubelab on \d{4}-\d\d-\d\d$/);
});

test.serial('--network lab: a RUN step reaches a service of the cluster by its DNS name', async (t) => {
  if (!rootOrSkip(t)) return;
  const web = await client.find<Pod>('Pod', 'built-web');
  t.truthy(web, 'the previous test made the service');
  const ctx = lab.context('fetch', { Dockerfile: 'FROM busybox\nRUN wget -qO- http://built-web/ > /fetched && cat /etc/resolv.conf > /resolv\n' });
  const offline = await lab.build(['-t', 'lab/fetch:1', ctx], { env, reject: false });
  t.is(offline.exitCode, 1, 'without --network lab the step has no network');
  t.regex(offline.stderr, /Dockerfile:2: RUN wget .* exit code: 1/);
  const r = await execa(KUBELAB, ['--name', name, 'build', '--json', '--network', 'lab', '-t', 'lab/fetch:1', ctx], { env });
  t.is(JSON.parse(r.stdout).digest, (await lab.store.resolve('lab/fetch:1')).digest);
  const dirs = await lab.store.layerDirs(await lab.store.resolve('lab/fetch:1'));
  const read = (rel: string) => readFileSync(dirs.map((d) => path.join(d, rel)).find(existsSync)!, 'utf8');
  t.is(read('fetched'), readFileSync(path.join(REPO, 'examples/build/site/index.html'), 'utf8'));
  // The network was only there while the step ran: resolv.conf was bound, not written into the layer.
  t.false(dirs.some((d) => existsSync(path.join(d, 'etc/resolv.conf'))));
  t.regex(read('resolv'), /nameserver 10\.96\.0\.10/);
});
