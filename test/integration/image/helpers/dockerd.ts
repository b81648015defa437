// A real Docker engine (Debian's docker.io, dockerd 20.10) for tests, shut in a network namespace of
// its own and in temporary directories of its own, so it touches nothing of the host's:
//   netns       kltest-dkr-<random>, with only lo (up); entered with nsenter --net, not `ip netns
//               exec`, whose remount of /sys makes dockerd fail
//   mounts      a private mount namespace (unshare --mount --propagation private) with a tmpfs of its
//               own on /run: dockerd hard-codes /run/docker/plugins and containerd its shim sockets
//               under /run/containerd; there they vanish with the namespace, as do dockerd's mounts
//   files       --data-root, --exec-root, --pidfile, -H unix://<dir>/docker.sock, --config-file with
//               only "deprecated-key-path" (else dockerd writes /etc/docker/key.json; 20.10 has no
//               flag for it)
//   network     --iptables=false --ip6tables=false --bridge=none --ip-forward=false --ip-masq=false:
//               no docker0, no rules, no sysctls (those would be the netns' own anyway)
// dockerd starts its own containerd (state under the exec root); stop() ends both by PID, unmounts
// anything still mounted under its directories (none should be, being in its own mount namespace),
// removes them and the netns. Containers, if a
// test runs any, have no network but the namespace's (`--network none` or `host`).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import Dockerode from 'dockerode';
import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { atExit, childrenOf, killNow, running, spawnDaemon, stopDaemon, waitExit, waitReady, type Daemon } from './processes.ts';
import type { ProcRef } from '../../../../src/util/proc.ts';

export const DOCKERD = '/usr/sbin/dockerd';
/** The CLI of the same package (20.10), matching the daemon's API. */
export const DOCKER_CLI = '/usr/bin/docker';

export interface TestDockerd {
  name: string;
  netns: string;
  dir: string;
  socket: string;
  daemon: Daemon;
  docker: Dockerode;
  /** `docker --host unix://<socket> ARGS` with the package's CLI. */
  cli(args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }>;
  /** Everything removed: processes, mounts, directories, netns. Problems are collected, then thrown. */
  stop(): Promise<void>;
}

/** Why dockerd cannot run here, or undefined when it can (root, the binaries, nsenter, ip). */
export function dockerdUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  for (const bin of [DOCKERD, DOCKER_CLI, '/usr/bin/containerd', '/usr/bin/nsenter', '/usr/bin/unshare', '/usr/sbin/ip']) {
    if (!existsSync(bin)) return `${bin} is missing (apt-get install docker.io iproute2 util-linux)`;
  }
  return undefined;
}

/** Skips with the reason locally, fails in CI (CI=true), when dockerd cannot run. */
export function dockerdOrSkip(t: ExecutionContext): boolean {
  const why = dockerdUnavailable();
  if (!why) return true;
  if (process.env.CI === 'true') t.fail(`dockerd cannot run: ${why}`);
  else t.log(`skipped: dockerd cannot run: ${why}`);
  t.pass();
  return false;
}

/** Mount points at or under `dir`, deepest first (mountinfo's field 5, octal escapes decoded). */
function mountsUnder(dir: string): string[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p)
    .map(unescape)
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

async function removeNetns(name: string): Promise<void> {
  const r = await execa('ip', ['netns', 'del', name], { reject: false });
  if (r.exitCode !== 0 && existsSync(`/run/netns/${name}`)) throw new Error(`ip netns del ${name}: ${r.stderr.trim()}`);
}

export async function startDockerd(opts: { storageDriver?: string; readyTimeoutMs?: number } = {}): Promise<TestDockerd> {
  const name = `kltest-dkr-${randomBytes(3).toString('hex')}`;
  // Short, since unix socket paths are limited to 108 bytes and containerd nests its own below.
  const dir = mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  const socket = path.join(dir, 'docker.sock');
  const dataRoot = path.join(dir, 'data');
  const execRoot = path.join(dir, 'exec');
  mkdirSync(dataRoot);
  mkdirSync(execRoot);
  writeFileSync(path.join(dir, 'daemon.json'), `${JSON.stringify({ 'deprecated-key-path': path.join(dir, 'key.json') })}\n`);
  let daemon: Daemon | undefined;
  let containerd: ProcRef[] = [];
  let netnsMade = false;
  // If the test process ends before stop() ran: kill by PID, then what needs no waiting.
  const unhook = atExit(() => {
    if (daemon) for (const c of [daemon, ...childrenOf(daemon), ...containerd]) killNow(c);
    for (const m of mountsUnder(dir)) execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
    if (netnsMade) execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  });

  const stop = async () => {
    const problems: string[] = [];
    if (daemon) {
      // containerd is dockerd's child: note it before dockerd goes, so it can be waited for after.
      containerd = [...containerd, ...childrenOf(daemon).filter((c) => !containerd.some((k) => k.pid === c.pid))];
      const how = await stopDaemon(daemon, 20_000);
      if (how === 'survived') problems.push(`dockerd ${daemon.pid} survived SIGKILL`);
      if (how === 'killed') problems.push(`dockerd ${daemon.pid} needed SIGKILL (log: ${daemon.logTail(5)})`);
    }
    for (const c of containerd) {
      if (await waitExit(c, 5000)) continue;
      const how = await stopDaemon(c, 5000);
      problems.push(`containerd ${c.pid} outlived dockerd (${how})`);
    }
    for (const m of mountsUnder(dir)) {
      const r = await execa('umount', [m], { reject: false });
      if (r.exitCode !== 0) {
        const lazy = await execa('umount', ['-l', m], { reject: false });
        if (lazy.exitCode !== 0) problems.push(`umount ${m}: ${lazy.stderr.trim()}`);
      }
    }
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch (e) {
      problems.push(`rm -r ${dir}: ${(e as Error).message}`);
    }
    if (netnsMade) await removeNetns(name).catch((e: Error) => problems.push(e.message));
    unhook();
    if (problems.length) throw new Error(`dockerd teardown (${name}):\n  ${problems.join('\n  ')}`);
  };

  try {
    await execa('ip', ['netns', 'add', name]);
    netnsMade = true;
    await execa('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    const argv = [
      '/usr/bin/nsenter',
      `--net=/run/netns/${name}`,
      // nsenter, unshare (no --fork) and sh each exec the next in place: the PID we hold is dockerd's.
      '/usr/bin/unshare',
      '--mount',
      '--propagation',
      'private',
      '/bin/sh',
      '-c',
      'mount -t tmpfs -o mode=0755,size=64m kltest-dockerd-run /run && exec "$@"',
      'sh',
      DOCKERD,
      `--config-file=${path.join(dir, 'daemon.json')}`,
      `--data-root=${dataRoot}`,
      `--exec-root=${execRoot}`,
      `--pidfile=${path.join(dir, 'docker.pid')}`,
      `--host=unix://${socket}`,
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
      '--ip-forward=false',
      '--ip-masq=false',
      '--userland-proxy=false',
      `--storage-driver=${opts.storageDriver ?? 'overlay2'}`,
      '--log-level=warn',
    ];
    const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', KUBELAB_TEST: name };
    const d = spawnDaemon(argv, path.join(dir, 'dockerd.log'), env);
    daemon = d;
    const docker = new Dockerode({ socketPath: socket, timeout: 60_000 });
    const ping = new Dockerode({ socketPath: socket, timeout: 1000 });
    const ready = await waitReady(async () => existsSync(socket) && String(await ping.ping()) === 'OK', () => running(d), opts.readyTimeoutMs ?? 30_000);
    if (!ready) throw new Error(`dockerd did not answer on ${socket}${running(d) ? '' : ' (it exited)'}:\n${d.logTail()}`);
    containerd = childrenOf(d);
    return {
      name,
      netns: name,
      dir,
      socket,
      daemon: d,
      docker,
      cli: async (args) => {
        const r = await execa(DOCKER_CLI, ['--host', `unix://${socket}`, ...args], { reject: false, env: { DOCKER_CONFIG: path.join(dir, 'cli-config') } });
        return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode ?? -1 };
      },
      stop,
    };
  } catch (e) {
    await stop().catch((te: Error) => {
      (e as Error).message += `\n(and ${te.message})`;
    });
    throw e;
  }
}
