// kubelab's command line: kubectl-like verbs over the API, plus the lab's own verbs.
// Each verb lives in src/cli/commands/; from there the path to the kernel is: API object ->
// node daemon (src/node) -> plan (src/node/podnet.ts, backends) -> runner (src/driver).
import { Command, Option } from 'commander';
import { applyCommand, deleteCommand, describeCommand, getCommand } from './commands/objects.ts';
import { downCommand, statusCommand, upCommand } from './commands/cluster.ts';
import { execCommand, logsCommand } from './commands/pods.ts';
import { explainCommand } from './commands/explain.ts';
import { walkCommand } from './commands/walk.ts';
import { rolloutCommand, scaleCommand } from './commands/rollout.ts';
import { policyExplainCommand, policyVerifyCommand } from './commands/policy.ts';
import { reportError } from './context.ts';
import { topPodsCommand } from './commands/top.ts';
import { imageExportCommand, imageImportCommand, imagePushCommand, imageRemoveCommand, imagesCommand } from './commands/images.ts';
import { buildCommand } from './commands/build.ts';
import { dockerExec, dockerInspect, dockerLogs, dockerPs, dockerRm, dockerRun } from './commands/docker.ts';

const program = new Command();
program
  .name('kubelab')
  .description('A Kubernetes networking and container-runtime lab built from Linux primitives')
  .option('--name <cluster>', 'the cluster to act on (default: lab, or $KUBELAB_NAME)')
  .option('-v, --verbose', 'print each kernel command as it runs, and stack traces on errors')
  .showHelpAfterError();

const g = () => program.opts<{ name?: string; verbose?: boolean }>();
const action =
  <A extends unknown[]>(fn: (...args: A) => Promise<void>) =>
  async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      reportError(e, !!g().verbose);
    }
  };

program
  .command('up')
  .description('bring a cluster up (nodes, underlay switch, router and external host as network namespaces)')
  .option('--nodes <n>', 'worker nodes besides the control node (default 2); on a running cluster, nodes join or leave')
  .addOption(new Option('--overlay <backend>', 'how pod traffic crosses nodes (default vxlan)').choices(['host-gw', 'vxlan']))
  .addOption(new Option('--proxy-mode <mode>', 'the service proxy').choices(['iptables', 'nftables', 'ipvs']).default('iptables'))
  .action(action(async (o) => upCommand({ ...g(), ...o })));

program
  .command('down')
  .description('remove the cluster: every namespace, link, rule, process and file of it')
  .option('--all', 'every kubelab cluster on this host')
  .action(action(async (o) => downCommand({ ...g(), ...o })));

program
  .command('status')
  .description('daemons, nodes and pods of the cluster')
  .option('-o, --output <format>', 'json')
  .action(action(async (o) => statusCommand({ ...g(), ...o })));

program
  .command('apply')
  .description('create or update objects from Kubernetes YAML manifests')
  .requiredOption('-f, --filename <path...>', 'file, directory or - for stdin')
  .option('-n, --namespace <ns>', 'namespace for objects that name none')
  .action(action(async (o) => applyCommand({ ...g(), ...o }, 'apply')));

program
  .command('create')
  .description('create objects from manifests; an object that exists is an error')
  .requiredOption('-f, --filename <path...>', 'file, directory or - for stdin')
  .option('-n, --namespace <ns>', 'namespace for objects that name none')
  .action(action(async (o) => applyCommand({ ...g(), ...o }, 'create')));

program
  .command('get')
  .description('list objects: pods, nodes, namespaces')
  .argument('<kind>')
  .argument('[names...]')
  .option('-n, --namespace <ns>', 'namespace', undefined)
  .option('-A, --all-namespaces', 'objects of every namespace')
  .option('-l, --selector <selector>', 'label selector, e.g. app=web')
  .option('-o, --output <format>', 'wide, json, yaml or name')
  .action(action(async (kind, names, o) => getCommand(kind, names, { ...g(), ...o })));

program
  .command('describe')
  .description('an object in detail')
  .argument('<kind>')
  .argument('<name>')
  .option('-n, --namespace <ns>', 'namespace')
  .action(action(async (kind, name, o) => describeCommand(kind, name, { ...g(), ...o })));

program
  .command('delete')
  .description('delete objects by KIND NAME... or -f FILE; waits until they are gone')
  .argument('[kind]')
  .argument('[names...]')
  .option('-f, --filename <path...>', 'the manifests whose objects to delete')
  .option('-n, --namespace <ns>', 'namespace')
  .option('--grace-period <seconds>', 'seconds a pod gets between SIGTERM and SIGKILL')
  .option('--now', 'grace period of 1 s')
  .option('--ignore-not-found', 'a missing object is not an error')
  .option('--no-wait', 'return without waiting for the objects to be gone')
  .action(action(async (kind, names, o) => deleteCommand(kind, names, { ...g(), ...o })));

program
  .command('exec')
  .description('run a command in a container of a pod: ./kubelab exec POD -- CMD ...')
  .argument('<pod>')
  .argument('<command...>')
  .option('-n, --namespace <ns>', 'namespace')
  .option('-c, --container <name>', 'container (default: the first)')
  .action(action(async (pod, cmd, o) => execCommand(pod, cmd, { ...g(), ...o })));

program
  .command('top')
  .description("containers' CPU, memory and CPU throttling, from their cgroups: ./kubelab top pods")
  .argument('<what>', 'pods')
  .option('-n, --namespace <ns>', 'namespace')
  .option('-A, --all-namespaces', 'every namespace')
  .action(
    action(async (what, o) => {
      if (what !== 'pods' && what !== 'pod' && what !== 'po') throw new Error(`top ${what}: kubelab's top knows pods`);
      await topPodsCommand({ ...g(), ...o });
    }),
  );

const many = (v: string, prev: string[]) => [...prev, v];
program
  .command('build')
  .description('build an image from a Dockerfile into the local store: ./kubelab build -t web:1 examples/build')
  .argument('<context>', 'the build context directory')
  .option('-t, --tag <name:tag>', 'name the image (repeatable)', many, [])
  .option('-f, --file <Dockerfile>', 'the Dockerfile (default CONTEXT/Dockerfile; - reads stdin)')
  .option('--target <stage>', 'build up to this stage')
  .option('--build-arg <NAME=value>', 'a value for an ARG (repeatable)', many, [])
  .option('--no-cache', 'run every step again')
  .option('--network <mode>', 'RUN steps: none (default) or lab (a node of the cluster: pods, services, DNS)')
  .option('--output <spec>', 'also write oci:DIR or docker-archive:FILE (repeatable)', many, [])
  .option('--load', 'hand the image to a running Docker engine (docker load)')
  .option('--docker-host <unix://path>', 'the Docker engine for --load and FROM docker-daemon: (default $DOCKER_HOST)')
  .option('-q, --quiet', 'no progress, only the result')
  .option('--json', 'the result as JSON (kubelab.build/v1: ref, digest, layers, steps with cache hits)')
  .action(
    action(async (context, o) =>
      buildCommand(context, { ...g(), ...o, noCache: o.cache === false, tag: o.tag, buildArg: o.buildArg, output: o.output }),
    ),
  );

program
  .command('images')
  .description("the local image store's images (an OCI layout under /var/lib/kubelab/images)")
  .action(action(async () => imagesCommand()));
const image = program.command('image').description('the local image store: import, pull, push, export, rm');
image
  .command('import')
  .description('bring an image into the store: oci:DIR[:REF] | docker-archive:FILE | docker-daemon:REF | HOST:PORT/REPO:TAG')
  .argument('<source>')
  .option('--tag <ref>', 'the name to store it under (default: the names it carries)')
  .option('--platform <os/arch>', 'which image of a multi-platform index (default linux/amd64)')
  .option('--docker-host <unix://path>', 'the Docker engine for docker-daemon: (default $DOCKER_HOST)')
  .option('--insecure', 'plain HTTP to the registry (always so for localhost)')
  .action(action(async (source, o) => imageImportCommand(source, o)));
image
  .command('pull')
  .description('pull from a registry (credentials from Docker\'s config.json): ./kubelab image pull 127.0.0.1:5000/lab/web:1')
  .argument('<reference>')
  .option('--tag <ref>', 'the name to store it under')
  .option('--platform <os/arch>', 'which image of a multi-platform index (default linux/amd64)')
  .option('--insecure', 'plain HTTP to the registry (always so for localhost)')
  .action(action(async (ref, o) => imageImportCommand(ref, o)));
image
  .command('push')
  .description('push a stored image to a registry: ./kubelab image push lab/web:1 127.0.0.1:5000/lab/web:1')
  .argument('<image>')
  .argument('<reference>')
  .option('--insecure', 'plain HTTP to the registry (always so for localhost)')
  .action(action(async (local, remote, o) => imagePushCommand(local, remote, o)));
image
  .command('export')
  .description('write stored images out: ./kubelab image export lab/web:1 oci:DIR | docker-archive:FILE')
  .argument('<images...>')
  .requiredOption('-o, --output <dest>', 'oci:DIR or docker-archive:FILE')
  .action(action(async (refs, o) => imageExportCommand(refs, o.output)));
image
  .command('rm')
  .description('remove tags from the store (layers stay for the build cache)')
  .argument('<images...>')
  .action(action(async (refs) => imageRemoveCommand(refs)));

const docker = program.command('docker').description("Docker's networking model on one node: docker0, --network bridge|host|none|container:NAME, -p");
const collect = (v: string, prev: string[]) => [...prev, v];
docker
  .command('run')
  .description('start a detached container: ./kubelab docker run --cname web -p 8080:80 busybox -- httpd -f -p 80')
  .argument('<image>')
  .argument('[command...]')
  .option('--cname <container>', "the container's name (Docker's --name; kubelab's --name is the cluster)")
  .option('--node <node>', 'the node whose Docker engine runs it', 'node1')
  .option('--network <mode>', 'bridge, host, none or container:NAME', 'bridge')
  .option('-p, --publish <spec>', 'publish [IP:]HOSTPORT:CONTAINERPORT[/tcp|udp] (repeatable)', collect, [])
  .option('-e, --env <NAME=value>', 'environment (repeatable)', collect, [])
  .option('-m, --memory <quantity>', 'memory limit (a Kubernetes quantity, e.g. 64Mi)')
  .option('--cpus <quantity>', 'CPU limit (e.g. 500m or 0.5)')
  .action(action(async (image, cmd, o) => dockerRun(image, cmd, { ...g(), ...o })));
docker
  .command('ps')
  .description('containers of the node(s)')
  .option('--node <node>', 'only this node')
  .option('-a, --all', 'also stopped ones')
  .action(action(async (o) => dockerPs({ ...g(), ...o })));
docker
  .command('rm')
  .description('remove containers (-f stops running ones first)')
  .argument('<containers...>')
  .option('--node <node>', 'node', 'node1')
  .option('-f, --force', 'stop it if it runs')
  .option('-t, --time <seconds>', 'grace period before SIGKILL', '10')
  .action(action(async (names, o) => dockerRm(names, { ...g(), ...o })));
docker
  .command('logs')
  .argument('<container>')
  .option('--node <node>', 'node', 'node1')
  .action(action(async (n, o) => dockerLogs(n, { ...g(), ...o })));
docker
  .command('exec')
  .description('run a command in a container: ./kubelab docker exec web -- ip addr')
  .argument('<container>')
  .argument('<command...>')
  .option('--node <node>', 'node', 'node1')
  .action(action(async (n, cmd, o) => dockerExec(n, cmd, { ...g(), ...o })));
docker
  .command('inspect')
  .argument('<container>')
  .option('--node <node>', 'node', 'node1')
  .action(action(async (n, o) => dockerInspect(n, { ...g(), ...o })));

program
  .command('logs')
  .description("a container's output")
  .argument('<pod>')
  .option('-n, --namespace <ns>', 'namespace')
  .option('-c, --container <name>', 'container (default: the first)')
  .option('-f, --follow', 'keep printing as it grows')
  .option('--tail <lines>', 'only the last lines')
  .action(action(async (pod, o) => logsCommand(pod, { ...g(), ...o })));

program
  .command('scale')
  .description('set the replicas of a deployment or replicaset: ./kubelab scale deployment/web --replicas 5')
  .argument('<target>', 'deployment/NAME or replicaset/NAME')
  .requiredOption('--replicas <n>', 'the number of pods')
  .option('-n, --namespace <ns>', 'namespace')
  .action(action(async (target, o) => scaleCommand(target, { ...g(), ...o })));

program
  .command('rollout')
  .description('rollout status|history|undo deployment/NAME [--to-revision N]')
  .argument('<action>', 'status, history or undo')
  .argument('<target>', 'deployment/NAME')
  .option('-n, --namespace <ns>', 'namespace')
  .option('--to-revision <n>', 'undo: the revision to go back to (default: the previous one)')
  .option('--timeout <seconds>', 'status: how long to wait', '120')
  .action(action(async (act, target, o) => rolloutCommand(act, target, { ...g(), ...o })));

program
  .command('walk')
  .description('send one exchange between pods and show every hop, there and back, from captures on every interface')
  .argument('<from>', 'the source pod (NAME or NS/NAME)')
  .argument('<to>', 'a pod (NAME or NS/NAME) or a pod IP, with an optional :PORT')
  .option('-n, --namespace <ns>', 'namespace of pods named without one')
  .option('--udp', 'a UDP datagram instead of a TCP connection')
  .option('--icmp', 'an ICMP echo (ping) instead of a TCP connection')
  .option('--json', 'the report as JSON (schema kubelab.walk/v1)')
  .option('--pcap-dir <dir>', 'keep the capture of every hop here, for Wireshark')
  .option('--html <file>', 'write a self-contained page that draws the path')
  .option('--no-arp', "keep the pods' neighbour caches (the walk then shows no ARP)")
  .action(action(async (from, to, o) => walkCommand(from, to, { ...g(), ...o })));

const policy = program.command('policy').description('NetworkPolicy: the truth table and its reasons');
policy
  .command('verify')
  .description('probe every pod pair on every port and protocol and compare with the policy model')
  .option('--ports <list>', 'ports to probe', '80,81')
  .option('--protocols <list>', 'tcp and/or udp', 'tcp,udp')
  .option('--namespace <ns...>', 'only pods of these namespaces')
  .option('--json', 'the results as JSON')
  .action(action(async (o) => policyVerifyCommand({ ...g(), ...o })));
policy
  .command('explain')
  .description("the model's reasoning for one connection, and the kernel chains that decide it")
  .argument('<from>', 'the source pod')
  .argument('<to>', 'the destination pod and port, POD:PORT')
  .option('-n, --namespace <ns>', 'namespace of pods named without one')
  .option('--udp', 'UDP instead of TCP')
  .action(action(async (from, to, o) => policyExplainCommand(from, to, { ...g(), ...o })));

program
  .command('explain')
  .description('the kernel objects behind pod/NAME or node/NAME and the commands that made them')
  .argument('<target>', 'pod/NAME or node/NAME')
  .option('-n, --namespace <ns>', 'namespace')
  .action(action(async (target, o) => explainCommand(target, { ...g(), ...o })));

await program.parseAsync(process.argv);
